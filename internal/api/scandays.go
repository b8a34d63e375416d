package api

import (
	"context"
	"errors"
	"time"

	"github.com/counterspy/counterspy/internal/query"
)

// scanDays runs q over [start, end) a day at a time, newest day first (the
// order the engine pages in, so an answer cut short covers the most recent
// part of the window), and hands every page to fn until fn returns false
// or the window is done. A query the engine refuses is an
// InvalidRequestException; other errors are returned as they are.
func (a *API) scanDays(ctx context.Context, q query.Query, start, end time.Time, pageSize int, fn func(*query.Page) bool) error {
	opts := a.opts.Query
	opts.PageSize = pageSize
	eng := query.New(a.summaries, opts)
	const day = 24 * time.Hour
	for to := end; to.After(start); to = to.Add(-day) {
		q.Start, q.End, q.Cursor = to.Add(-day), to, ""
		if q.Start.Before(start) {
			q.Start = start
		}
		for {
			page, err := eng.Run(ctx, q)
			if err != nil {
				var ie *query.InvalidError
				if errors.As(err, &ie) {
					return invalid("%s", ie.Msg)
				}
				return err
			}
			if !fn(page) {
				return nil
			}
			if page.NextToken == "" {
				break
			}
			q.Cursor = page.NextToken
		}
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/server"
)

// Demo traffic: the seed scenario (S3 upload → SNS → three Lambda functions →
// DynamoDB). The last hour is backfilled at once, so a newcomer sees a
// history; then one upload every few seconds arrives live, over UDP, the way
// an SDK would send it.
const (
	demoBackfill       = time.Hour
	demoUploadInterval = 5 * time.Second
)

func runDemo(ctx context.Context, srv *server.Server, log *slog.Logger) {
	sc, err := loadgen.New("seed", uint64(time.Now().UnixNano()))
	if err != nil {
		log.Error("demo: no seed scenario", "err", err)
		return
	}
	if err := backfill(ctx, srv, sc, time.Now().Add(-demoBackfill), time.Now()); err != nil && ctx.Err() == nil {
		log.Error("demo: backfill failed", "err", err)
	}
	rate := 3 / demoUploadInterval.Seconds() // three traces per upload
	_, err = loadgen.Run(ctx, loadgen.Config{
		Addr: srv.UDPAddr(), Protocol: "udp", Scenario: sc, Rate: rate, Realtime: true, Senders: 1,
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		log.Error("demo: live traffic stopped", "err", err)
	}
}

// backfill stores traces that started between from and to, one upload every
// demoUploadInterval, through the same decode and ingest path as live traffic.
func backfill(ctx context.Context, srv *server.Server, sc loadgen.Scenario, from, to time.Time) error {
	dec := segment.NewDecoder(0)
	group := 1
	if g, ok := sc.(loadgen.Grouped); ok {
		group = g.GroupSize()
	}
	i := 0
	for at := from; at.Before(to); at = at.Add(demoUploadInterval) {
		var segs []segment.Segment
		for range group {
			tr := sc.Trace(i, at)
			i++
			for _, d := range tr.Docs {
				var err error
				if segs, err = dec.Decode(segs, d.JSON); err != nil {
					return fmt.Errorf("demo trace %s: %w", tr.ID, err)
				}
			}
		}
		if err := srv.Pipeline().SubmitWait(ctx, segs); err != nil {
			return err
		}
	}
	return nil
}

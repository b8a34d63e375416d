package query

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// A long scan spends most of its time decoding summaries. fanOut spreads
// that over Options.Workers goroutines while keeping the page exactly what
// a serial scan gives: a reader copies rows into numbered chunks, workers
// judge whole chunks, and the caller applies the verdicts in chunk order
// through the same pager. Work done past the row that ends the page is
// thrown away.
const chunkRows = 64

// chunk is a run of consecutive rows of the scan.
type chunk struct {
	seq      int
	pos      []store.Position
	ids      []xrayid.TraceID
	ends     []int  // ends[i] is where row i's bytes end in buf
	skipped  []bool // skipped[i]: the backend skipped row i by Where (no bytes)
	folded   []int  // folded[i]: the rows row i stands for (store.SummaryRow.Folded)
	buf      []byte
	verdicts []verdict
}

func (c *chunk) reset(seq int) {
	c.seq = seq
	c.pos, c.ids, c.ends, c.buf, c.skipped, c.folded = c.pos[:0], c.ids[:0], c.ends[:0], c.buf[:0], c.skipped[:0], c.folded[:0]
	clear(c.verdicts) // drop the summaries the results took
}

func (c *chunk) add(row store.SummaryRow) {
	c.pos = append(c.pos, row.Pos)
	c.ids = append(c.ids, row.TraceID)
	c.buf = append(c.buf, row.Summary...)
	c.ends = append(c.ends, len(c.buf))
	c.skipped = append(c.skipped, row.Summary == nil)
	c.folded = append(c.folded, row.Folded)
}

// bytes is row i's summary: nil for a row the backend skipped (Where).
func (c *chunk) bytes(i int) []byte {
	if c.skipped[i] {
		return nil
	}
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.buf[start:c.ends[i]]
}

func (e *Engine) fanOut(ctx context.Context, scan store.SummaryScan, pg *pager, q *Query, w *window, p Plan) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := e.opts.Workers
	// The reader fills chunks taken from free and the merger returns them
	// once applied: the maxInFlight chunks bound the read-ahead and are
	// reused, and done never holds more than all of them, so no send on it
	// blocks.
	maxInFlight := 2*workers + 2
	free := make(chan *chunk, maxInFlight)
	for range maxInFlight {
		free <- new(chunk)
	}
	work := make(chan *chunk)
	done := make(chan *chunk, maxInFlight)
	var readErr error

	go func() {
		defer close(work)
		seq := 0
		var c *chunk
		take := func() bool {
			select {
			case c = <-free:
				c.reset(seq)
				seq++
				return true
			case <-ctx.Done():
				return false
			}
		}
		send := func() bool {
			select {
			case work <- c:
				c = nil
				return true
			case <-ctx.Done():
				return false
			}
		}
		for row, err := range e.st.ScanSummaries(ctx, scan) {
			if err != nil {
				readErr = err
				return
			}
			if c == nil && !take() {
				return
			}
			if c.add(row); len(c.pos) == chunkRows && !send() {
				return
			}
		}
		if c != nil {
			send()
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := judge{q: q, w: w, checks: p.Checks, scratch: new(summary.Summary)}
			for c := range work {
				if cap(c.verdicts) < len(c.pos) {
					c.verdicts = make([]verdict, len(c.pos))
				}
				c.verdicts = c.verdicts[:len(c.pos)]
				for i := range c.pos {
					if ctx.Err() != nil {
						break // the merger has stopped: the verdicts are not read
					}
					c.verdicts[i] = j.row(c.pos[i], c.ids[i], c.bytes(i))
					c.verdicts[i].folded = c.folded[i]
				}
				done <- c
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	// Apply chunks in order; after the page stops, one more row (or the end
	// of the scan) decides whether there is more.
	pending := make(map[int]*chunk)
	next := 0
	var err error
	finished := false
	for c := range done {
		if finished {
			continue // draining
		}
		pending[c.seq] = c
		for c, ok := pending[next]; ok && !finished; c, ok = pending[next] {
			delete(pending, next)
			next++
			for i := range c.verdicts {
				if pg.stop {
					pg.more = true
					break
				}
				if err = pg.add(ctx, &c.verdicts[i]); err != nil {
					break
				}
			}
			free <- c
			if pg.more || err != nil {
				finished = true
				cancel()
			}
		}
	}
	switch {
	case err != nil:
		return err
	case finished:
		return nil
	case readErr != nil && !errors.Is(readErr, context.Canceled):
		return fmt.Errorf("scan summaries %s: %w", p, readErr)
	}
	// The scan ended; the pager's stop (if set) was on its last row.
	return context.Cause(ctx)
}

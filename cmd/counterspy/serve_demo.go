package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	sc = withDemoLogs(ctx, sc, srv.Store(), log) // the functions' log lines beside each trace
	// Backfill only what an earlier run did not feed, so a restart does not
	// store the same hour twice (and double every rate on the map).
	marker := demoMarker{filepath.Join(srv.DataDir(), demoMarkerFile)}
	now := time.Now()
	from := now.Add(-demoBackfill)
	if fed := marker.read(); fed.After(from) {
		from = fed
	}
	if err := backfill(ctx, srv, sc, from, now); err != nil {
		if ctx.Err() == nil {
			log.Error("demo: backfill failed", "err", err)
		}
		return
	}
	marker.write(now, log)
	go func() {
		t := time.NewTicker(demoUploadInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-t.C:
				marker.write(at, log)
			}
		}
	}()
	rate := 3 / demoUploadInterval.Seconds() // three traces per upload
	_, err = loadgen.Run(ctx, loadgen.Config{
		Addr: srv.UDPAddr(), Protocol: "udp", Scenario: sc, Rate: rate, Realtime: true, Senders: 1,
	})
	if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		log.Error("demo: live traffic stopped", "err", err)
	}
}

// demoDataDir is where serve --demo keeps its store when no --data-dir is
// given: beside the user's, never in it.
func demoDataDir(dir string) string { return filepath.Clean(dir) + "-demo" }

// demoMarkerFile records, in the data directory, until when demo traffic
// was fed.
const demoMarkerFile = "demo-fed-until"

type demoMarker struct{ path string }

// read returns when the last run stopped feeding (zero if never).
func (m demoMarker) read() time.Time {
	b, err := os.ReadFile(m.path)
	if err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}
	}
	return t
}

func (m demoMarker) write(at time.Time, log *slog.Logger) {
	if err := os.WriteFile(m.path, []byte(at.UTC().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		log.Warn("demo: cannot record how far the demo was fed; a restart may backfill again", "err", err)
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

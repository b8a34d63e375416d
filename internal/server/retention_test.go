package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/server"
)

// TestRetentionDropsExactlyWhatIsPastItsWindow runs the server's retention
// on a clock the test moves, over traces placed around the cutoff. The
// rule (store.Store.DropBefore, the Pebble backend's minute partitions): a
// trace whose ID's start second is before the minute that holds
// now − retention is gone; one from that minute on stays.
func TestRetentionDropsExactlyWhatIsPastItsWindow(t *testing.T) {
	const retention = 2 * time.Hour
	base := time.Now().Truncate(time.Minute)
	var offset atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	srv, err := server.Start(server.Config{
		Addr:              "127.0.0.1:0",
		DataDir:           t.TempDir(),
		FlushInterval:     10 * time.Millisecond,
		Retention:         retention,
		Now:               clock,
		RetentionInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	client := xrayClient(srv)
	ctx := context.Background()

	// After the clock moves 10 minutes and 30 seconds, the cutoff is
	// halfway through minute m.
	const move = 10*time.Minute + 30*time.Second
	cutoff := base.Add(move - retention)
	m := cutoff.Truncate(time.Minute)
	cases := []struct {
		start time.Time
		kept  bool
	}{
		{m.Add(-61 * time.Second), false},
		{m.Add(-time.Second), false},     // the last second before the cutoff's minute
		{m, true},                        // the cutoff's minute stays whole
		{cutoff.Add(-time.Second), true}, // older than the cutoff, same minute
		{cutoff, true},
		{cutoff.Add(time.Second), true},
		{m.Add(time.Minute), true},
	}
	ids := make([]string, len(cases))
	docs := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = fmt.Sprintf("1-%08x-%024x", c.start.Unix(), 0xabc000+i)
		docs[i] = fmt.Sprintf(`{"name":"svc","id":"%016x","trace_id":"%s","start_time":%d,"end_time":%d}`,
			0x100+i, ids[i], c.start.Unix(), c.start.Unix()+1)
	}
	out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("rejected: %+v", out.UnprocessedTraceSegments)
	}
	present := func() map[string]bool {
		got := map[string]bool{}
		for i := 0; i < len(ids); i += 5 {
			out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids[i:min(i+5, len(ids))]})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range out.Traces {
				got[aws.ToString(tr.Id)] = true
			}
		}
		return got
	}
	// Retention runs every 20 ms on the unmoved clock: everything stays.
	time.Sleep(100 * time.Millisecond)
	if got := present(); len(got) != len(ids) {
		t.Fatalf("before the clock moved, %d of %d traces present", len(got), len(ids))
	}

	offset.Store(int64(move))
	deadline := time.Now().Add(10 * time.Second)
	for present()[ids[1]] {
		if time.Now().After(deadline) {
			t.Fatal("retention did not drop the trace before the cutoff's minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more passes on the same clock change nothing
	got := present()
	for i, c := range cases {
		if got[ids[i]] != c.kept {
			t.Errorf("trace starting %s (cutoff %s): present %v, want %v", c.start.Format(time.RFC3339), cutoff.Format(time.RFC3339), got[ids[i]], c.kept)
		}
	}
}

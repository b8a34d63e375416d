package clickhouse

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Writes back off after failures, doubling up to maxBackoff, and resume
// at the first success.
func TestBackoff(t *testing.T) {
	var h health
	ctx := context.Background()
	now := time.Unix(1000, 0)
	if err := h.admit(now); err != nil {
		t.Fatalf("admit before any failure: %v", err)
	}
	down := errors.New("connection refused")
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	for _, wait := range want {
		h.done(ctx, now, now, down)
		if err := h.admit(now.Add(wait - time.Millisecond)); err == nil || !errors.Is(err, down) {
			t.Fatalf("admit %v after a failure: %v, want the back-off wrapping the last error", wait-time.Millisecond, err)
		}
		now = now.Add(wait)
		if err := h.admit(now); err != nil {
			t.Fatalf("admit %v after a failure: %v, want an attempt", wait, err)
		}
	}
	for range 20 {
		h.done(ctx, now, now, down)
	}
	if err := h.admit(now.Add(maxBackoff)); err != nil {
		t.Fatalf("back-off beyond %v: %v", maxBackoff, err)
	}
	// A cancelled caller says nothing about the server.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	n := h.failures
	h.done(cctx, now, now, context.Canceled)
	if h.failures != n {
		t.Fatal("a cancelled write counted as a server failure")
	}
	h.done(ctx, now, now.Add(time.Millisecond), nil)
	if err := h.admit(now); err != nil {
		t.Fatalf("admit after a success: %v", err)
	}
}

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

// Back-off of writes while ClickHouse fails them: after a failed Write,
// the next ones fail at once (naming the last error) until a retry time
// that doubles with each failure, from minBackoff up to maxBackoff. The
// ingest pipeline counts what it could not store (UDP segments as dropped
// with reason store_error, API calls get the error), so a dead server
// costs neither a connection attempt per batch nor memory: the pipeline's
// queue stays bounded and sheds what does not fit. The first Write after
// the retry time is a real attempt; its success ends the back-off.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// slowWrite is how long a Write may take before Health calls the
	// server slow.
	slowWrite = 10 * time.Second
	// recentFailure is how long a failed Write keeps Health unhealthy
	// when nothing has been written since.
	recentFailure = 30 * time.Second
)

// health tracks the outcome of writes for the back-off and Health.
type health struct {
	mu       sync.Mutex
	failures int       // consecutive failed Writes
	lastErr  error     // of the last failed Write
	failedAt time.Time // when it failed
	retryAt  time.Time // no attempt before
	// slowFor is how long the last successful Write took, if over
	// slowWrite.
	slowFor time.Duration
}

// admit returns an error if writes are backing off.
func (h *health) admit(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures == 0 || !now.Before(h.retryAt) {
		return nil
	}
	err := fmt.Errorf("clickhouse: not writing for %v after %d failed writes (last %v ago: %w)",
		h.retryAt.Sub(now).Round(time.Millisecond), h.failures, now.Sub(h.failedAt).Round(time.Millisecond), h.lastErr)
	if !errors.Is(err, store.ErrUnavailable) {
		err = fmt.Errorf("%w (%w)", err, store.ErrUnavailable)
	}
	return err
}

// done records a Write attempt's outcome. A cancelled context is the
// caller's doing, not the server's.
func (h *health) done(ctx context.Context, start, now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failures, h.lastErr = 0, nil
		h.slowFor = 0
		if d := now.Sub(start); d > slowWrite {
			h.slowFor = d
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	h.failures++
	h.lastErr, h.failedAt = err, now
	backoff := minBackoff << min(h.failures-1, 10)
	h.retryAt = now.Add(min(backoff, maxBackoff))
}

// Health says why writes are failing or slow (for /healthz and the
// counterspy_store_healthy gauge); nil when the last Write succeeded in
// time.
func (s *Store) Health() error {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures > 0 && time.Since(h.failedAt) < recentFailure {
		return fmt.Errorf("clickhouse %s: %d writes failed in a row, the last %v ago: %v", s.opts.Addr, h.failures, time.Since(h.failedAt).Round(time.Second), h.lastErr)
	}
	if h.slowFor > 0 {
		return fmt.Errorf("clickhouse %s is slow: the last write took %v", s.opts.Addr, h.slowFor.Round(time.Millisecond))
	}
	return nil
}

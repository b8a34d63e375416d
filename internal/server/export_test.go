package server

import "time"

// WithAuthClock sets the clock the server checks X-Amz-Date against.
func WithAuthClock(cfg Config, now func() time.Time) Config {
	cfg.authNow = now
	return cfg
}

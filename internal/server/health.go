package server

import (
	"net/http"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

// healthChecker is a store that can say why it cannot do its job.
type healthChecker interface{ Health() error }

// healthz answers 200 "ok" while the store can read and write, else 503
// with the reasons (a full disk, a failed write, reads failing on damaged
// data), one a line.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.Stats(r.Context()); err != nil {
		http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if h, ok := s.store.(healthChecker); ok {
		if err := h.Health(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ok\n"))
}

// faultCounter is a store that counts reads failed on damaged data and
// acknowledged records it lost (the embedded store).
type faultCounter interface {
	CorruptReads() int64
	LostRecords() (int64, error)
}

// storeHealthMetrics exposes the store's fault counters, for the backends
// that keep them.
func (s *Server) storeHealthMetrics(st store.Store) {
	if fc, ok := st.(faultCounter); ok {
		s.metrics.NewGauge(`counterspy_store_corrupt_reads`, func() float64 { return float64(fc.CorruptReads()) })
		s.metrics.NewGauge(`counterspy_store_lost_records`, func() float64 {
			n, _ := fc.LostRecords()
			return float64(n)
		})
	}
	if h, ok := st.(healthChecker); ok {
		s.metrics.NewGauge(`counterspy_store_healthy`, func() float64 {
			if h.Health() != nil {
				return 0
			}
			return 1
		})
	}
}

// now is the server's clock (Config.Now, tests move it).
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

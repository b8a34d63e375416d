package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// redirect is where a trace with an implausible ID epoch was placed.
type redirect struct {
	sec uint32
	// durable is set once a Write carrying the redirect key has committed.
	// Until then every Write that places the trace writes the key again,
	// so that it is on disk whichever of them commits.
	durable bool
}

// redirectCache remembers recent redirects, so that later batches of a
// trace place it without a read. Two generations approximate LRU: when cur
// fills up it becomes prev, and a hit in prev moves back to cur.
type redirectCache struct {
	cur, prev map[xrayid.TraceID]redirect
	limit     int
}

func (c *redirectCache) get(id xrayid.TraceID) (redirect, bool) {
	if r, ok := c.cur[id]; ok {
		return r, true
	}
	r, ok := c.prev[id]
	if ok {
		c.put(id, r)
	}
	return r, ok
}

func (c *redirectCache) put(id xrayid.TraceID, r redirect) {
	if c.limit <= 0 {
		return
	}
	if c.cur == nil || len(c.cur) >= c.limit {
		c.prev, c.cur = c.cur, make(map[xrayid.TraceID]redirect, min(c.limit, 1024))
	}
	c.cur[id] = r
}

func (c *redirectCache) dropBefore(sec uint32) {
	for _, m := range []map[xrayid.TraceID]redirect{c.cur, c.prev} {
		for id, r := range m {
			if r.sec < sec {
				delete(m, id)
			}
		}
	}
}

// arrivalSec returns the second a record arrived, for placement. A server
// cannot receive something in the future, and an unset Received means now:
// clamping to now keeps placements at most EpochFuture after the write time,
// which retention relies on.
func arrivalSec(received, now int64) int64 {
	if received <= 0 || received > now {
		received = now
	}
	return received / int64(time.Second)
}

// placeLocked returns the placement second of trace id first seen (in this
// batch) at arrival, and whether the Write must store its redirect. The
// caller holds s.mu.
func (s *Store) placeLocked(id xrayid.TraceID, arrival int64) (sec uint32, writeRedirect bool, err error) {
	// A redirect wins even for a plausible epoch: a trace first seen when
	// its epoch looked too far in the future stays where it was placed.
	if r, ok := s.redirects.get(id); ok {
		return r.sec, !r.durable, nil
	}
	e := int64(id.Epoch())
	if e >= arrival-int64(s.opts.EpochPast/time.Second) && e <= arrival+int64(s.opts.EpochFuture/time.Second) {
		return uint32(e), false, nil
	}
	sec, found, err := s.readRedirect(id)
	if err != nil {
		return 0, false, err
	}
	if found {
		s.redirects.put(id, redirect{sec: sec, durable: true})
		return sec, false, nil
	}
	sec = uint32(min(max(arrival, 0), math.MaxUint32))
	if sec < s.dropCutoff {
		// A DropBefore is listing the redirects below its cutoff from a
		// snapshot taken before this one: it deletes it with the late ones.
		s.dropLate = append(s.dropLate, id)
	}
	s.rfilter.add(id) // before the Write that stores the key commits
	s.redirects.put(id, redirect{sec: sec})
	return sec, true, nil
}

// readRedirect reads the redirect key of id from disk.
func (s *Store) readRedirect(id xrayid.TraceID) (sec uint32, found bool, err error) {
	if !s.rfilter.mayContain(id) {
		return 0, false, nil
	}
	v, closer, err := s.db.Get(redirectKey(make([]byte, 0, redirectKeyLen), id))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read redirect of trace %s: %w", id, err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return 0, false, fmt.Errorf("redirect of trace %s: %d-byte value, want 4", id, len(v))
	}
	return binary.BigEndian.Uint32(v), true, nil
}

// redirectOf returns where trace id was redirected, if it was: from the
// cache, else from disk.
func (s *Store) redirectOf(id xrayid.TraceID) (uint32, bool, error) {
	s.mu.Lock()
	r, ok := s.redirects.get(id)
	s.mu.Unlock()
	if ok {
		return r.sec, true, nil
	}
	return s.readRedirect(id)
}

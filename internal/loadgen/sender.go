package loadgen

import (
	"container/heap"
	"context"
	"time"
)

// minSleep is the shortest wait worth a timer; earlier work is done at once,
// so pacing is exact on average and only jitters by this much.
const minSleep = 100 * time.Microsecond

// sender is one sending goroutine: it owns a transport, and in realtime
// mode a queue of documents waiting for their time.
type sender struct {
	r      *runner
	ctx    context.Context
	t      transport
	timer  *time.Timer
	queue  docQueue
	seq    uint64
	logged bool
}

// sender sends groups k, k+n, k+2n, … of the run, n being the sender count.
func (r *runner) sender(ctx context.Context, k int, t transport) {
	s := &sender{r: r, ctx: ctx, t: t, timer: time.NewTimer(time.Hour)}
	s.timer.Stop()
	defer s.timer.Stop()
	cfg := &r.cfg
	for g := k; ; g += cfg.Senders {
		first := g * r.group
		if cfg.Traces > 0 && first >= cfg.Traces {
			break
		}
		var due time.Time
		if cfg.Rate > 0 {
			due = r.begin.Add(seconds(float64(first) / cfg.Rate))
			if !s.waitUntil(due) {
				break
			}
		} else if s.stopped(time.Now()) {
			break
		}
		wall := due
		if wall.IsZero() {
			wall = time.Now()
		}
		start := wall
		if !cfg.Start.IsZero() {
			spacing := virtualSpacing
			if cfg.Rate > 0 {
				spacing = seconds(1 / cfg.Rate)
			}
			start = cfg.Start.Add(time.Duration(first) * spacing)
		}
		var sent tally
		traces := int64(0)
		for j := 0; j < r.group && (cfg.Traces == 0 || first+j < cfg.Traces); j++ {
			tr := cfg.Scenario.Trace(first+j, start)
			traces++
			for _, d := range tr.Docs {
				if cfg.Realtime {
					s.seq++
					heap.Push(&s.queue, queued{at: wall.Add(d.At.Sub(start)), seq: s.seq, doc: d.JSON})
					continue
				}
				sent.add(s.t.send(ctx, d.JSON))
			}
		}
		s.report(sent, traces)
	}
	s.drain()
	// Deliver the last partial batch even when the run was cancelled: its
	// documents were generated and would otherwise vanish uncounted.
	s.report(s.t.flush(context.WithoutCancel(ctx)), 0)
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

// stopped reports whether no new trace may start.
func (s *sender) stopped(now time.Time) bool {
	if s.ctx.Err() != nil {
		return true
	}
	return !s.r.deadline.IsZero() && !now.Before(s.r.deadline)
}

// waitUntil waits for due, sending queued documents that fall due before
// it. It returns false when the run must stop instead.
func (s *sender) waitUntil(due time.Time) bool {
	for {
		now := time.Now()
		if s.stopped(now) {
			return false
		}
		next := due
		if len(s.queue) > 0 && s.queue[0].at.Before(next) {
			next = s.queue[0].at
		}
		if next.Sub(now) >= minSleep {
			// Nothing to do for a while: hand over a partial batch
			// rather than hold documents back.
			s.report(s.t.flush(s.ctx), 0)
			if !s.sleep(next) {
				return false
			}
			continue
		}
		if len(s.queue) == 0 || s.queue[0].at.After(due) {
			return true
		}
		s.sendDue(now.Add(minSleep))
	}
}

// sleep waits until t, the deadline or the context, whichever is first.
func (s *sender) sleep(t time.Time) bool {
	if !s.r.deadline.IsZero() && s.r.deadline.Before(t) {
		t = s.r.deadline
	}
	s.timer.Reset(time.Until(t))
	select {
	case <-s.timer.C:
		return true
	case <-s.ctx.Done():
		s.timer.Stop()
		return false
	}
}

// sendDue sends queued documents due by t.
func (s *sender) sendDue(t time.Time) {
	var sent tally
	for len(s.queue) > 0 && !s.queue[0].at.After(t) {
		q := heap.Pop(&s.queue).(queued)
		sent.add(s.t.send(s.ctx, q.doc))
	}
	s.report(sent, 0)
}

// drain sends what is still queued: at its time, or at once when the run's
// duration is over. A done context drops it.
func (s *sender) drain() {
	for len(s.queue) > 0 {
		if s.ctx.Err() != nil {
			return
		}
		now := time.Now()
		if !s.r.deadline.IsZero() && !now.Before(s.r.deadline) {
			s.sendDue(s.queue[len(s.queue)-1].at.Add(time.Hour))
			continue
		}
		next := s.queue[0].at
		if next.Sub(now) >= minSleep {
			s.report(s.t.flush(s.ctx), 0)
			s.sleep(next)
			continue
		}
		s.sendDue(now.Add(minSleep))
	}
}

func (s *sender) report(t tally, traces int64) {
	if t.segments|t.errors|traces == 0 && t.err == nil {
		return
	}
	s.r.count(t, traces)
	if t.err != nil && !s.logged && s.r.cfg.Logger != nil {
		// One line per sender: a dead server would otherwise flood the log;
		// the progress lines keep counting errors.
		s.logged = true
		s.r.cfg.Logger.Warn("loadgen send failed", "err", t.err)
	}
}

// queued is a document waiting for its time (realtime mode).
type queued struct {
	at  time.Time
	seq uint64 // keeps a trace's documents in order when times tie
	doc []byte
}

// docQueue is a min-heap of queued documents by time.
type docQueue []queued

func (q docQueue) Len() int { return len(q) }
func (q docQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q docQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *docQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *docQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = queued{}
	*q = old[:len(old)-1]
	return x
}

package instance

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
)

// barrierPrefix starts an attribution barrier in an output pipe:
// prefix + nonce + ":" + number + NUL. The nonce is per process, so a
// function cannot forge one by accident.
const barrierPrefix = "\x00counterspy-barrier:"

// MaxLine is the longest line kept whole; longer output is split, as
// Lambda splits log events.
const MaxLine = 256 << 10

// reader turns one output pipe into lines.
type reader struct {
	f      *os.File
	stream logs.Stream
	marker []byte
	out    func(Line)
	attr   func(int) Attribution
	done   chan struct{}

	cur Attribution // only touched by run

	mu      sync.Mutex
	waiters map[int]chan struct{}
}

func newReader(f *os.File, stream logs.Stream, nonce string, out func(Line), attr func(int) Attribution) *reader {
	if out == nil {
		out = func(Line) {}
	}
	return &reader{f: f, stream: stream, marker: []byte(barrierPrefix + nonce + ":"), out: out, attr: attr,
		done: make(chan struct{}), waiters: map[int]chan struct{}{}}
}

// expect registers a waiter for barrier n.
func (r *reader) expect(n int) <-chan struct{} {
	ch := make(chan struct{})
	r.mu.Lock()
	r.waiters[n] = ch
	r.mu.Unlock()
	return ch
}

func (r *reader) forget(n int) {
	r.mu.Lock()
	delete(r.waiters, n)
	r.mu.Unlock()
}

func (r *reader) run() {
	defer close(r.done)
	defer r.f.Close()
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := r.f.Read(buf)
		if n > 0 {
			pending = r.process(append(pending, buf[:n]...), false)
		}
		if err != nil {
			r.process(pending, true)
			r.mu.Lock()
			for n, ch := range r.waiters {
				close(ch)
				delete(r.waiters, n)
			}
			r.mu.Unlock()
			return
		}
	}
}

// process emits the complete lines of p and applies barriers; it returns
// what is left for the next read.
func (r *reader) process(p []byte, eof bool) []byte {
	now := time.Now()
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		mk := bytes.Index(p, r.marker)
		if mk >= 0 && (nl < 0 || mk < nl) {
			rest := p[mk+len(r.marker):]
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				if !eof {
					return p // the rest of the barrier is still coming
				}
				r.emit(p, now)
				return nil
			}
			if mk > 0 {
				// A line the process left unfinished belongs to the phase
				// that wrote it.
				r.emit(p[:mk], now)
			}
			if n, err := strconv.Atoi(string(rest[:end])); err == nil {
				r.cur = r.attr(n)
				r.mu.Lock()
				if ch, ok := r.waiters[n]; ok {
					close(ch)
					delete(r.waiters, n)
				}
				r.mu.Unlock()
			}
			p = rest[end+1:]
			continue
		}
		if nl >= 0 {
			r.emit(p[:nl], now)
			p = p[nl+1:]
			continue
		}
		if eof {
			r.emit(p, now)
			return nil
		}
		if len(p) >= MaxLine {
			r.emit(p[:MaxLine], now)
			p = p[MaxLine:]
			continue
		}
		return p
	}
	return nil
}

func (r *reader) emit(line []byte, at time.Time) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	// The Lambda runtime clients write a multi-line record (a traceback,
	// a logged object) on stdout with its newlines as "\r", so that it
	// stays one record (awslambdaric's StandardLogSink, the Node client's
	// LogPatch); CloudWatch shows it as one event of several lines.
	line = bytes.ReplaceAll(line, []byte("\r"), []byte("\n"))
	r.out(Line{Stream: r.stream, Time: at, Text: string(line), Attr: r.cur})
}

package lambda_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if builtDir != "" {
			os.RemoveAll(builtDir)
		}
		os.Exit(code)
	}))
}

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

// buildFunction builds ./testdata/<name> (a main package using
// aws-lambda-go) into a temporary directory once per test binary.
// testdata is its own module (testdata/go.mod), so aws-lambda-go and the
// X-Ray SDK stay out of the main module's dependencies.
func buildFunction(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "counterspy-lambda-fn-")
		if err != nil {
			t.Fatal(err)
		}
		builtDir = d
	}
	out := filepath.Join(builtDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./"+name)
	cmd.Dir = "testdata"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/%s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// daemon is a UDP listener standing in for the X-Ray daemon: it keeps every
// decoded document.
type daemon struct {
	t    testing.TB
	conn *net.UDPConn
	mu   sync.Mutex
	segs []segment.Segment
	bad  []string
	ch   chan struct{}
	done chan struct{}
}

func newDaemon(t testing.TB) *daemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, conn: conn, ch: make(chan struct{}), done: make(chan struct{})}
	go d.run()
	t.Cleanup(func() {
		conn.Close()
		<-d.done
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, b := range d.bad {
			t.Errorf("undecodable datagram: %s", b)
		}
	})
	return d
}

func (d *daemon) addr() string { return d.conn.LocalAddr().String() }

func (d *daemon) run() {
	defer close(d.done)
	dec := segment.NewDecoder(0)
	buf := make([]byte, 65536)
	for {
		n, err := d.conn.Read(buf)
		if err != nil {
			return
		}
		header, body, ok := bytes.Cut(buf[:n], []byte("\n"))
		d.mu.Lock()
		if !ok || !bytes.Contains(header, []byte(`"format"`)) {
			d.bad = append(d.bad, string(buf[:n]))
		} else if segs, err := dec.Decode(nil, append([]byte(nil), body...)); err != nil {
			d.bad = append(d.bad, err.Error()+": "+string(body))
		} else {
			d.segs = append(d.segs, segs...)
		}
		close(d.ch)
		d.ch = make(chan struct{})
		d.mu.Unlock()
	}
}

// wait returns the documents once done accepts them.
func (d *daemon) wait(what string, done func([]segment.Segment) bool) []segment.Segment {
	d.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		segs := append([]segment.Segment(nil), d.segs...)
		ch := d.ch
		d.mu.Unlock()
		if done(segs) {
			return segs
		}
		select {
		case <-ch:
		case <-deadline.C:
			var names []string
			for _, s := range segs {
				names = append(names, s.Root().Name+"/"+s.Root().Origin)
			}
			d.t.Fatalf("timed out waiting for %s; have %d documents: %v", what, len(segs), names)
		}
	}
}

// invocation is the documents of one request.
type invocation struct {
	svc  *segment.Segment
	fns  []*segment.Segment // one per attempt
	subs []*segment.Segment // independent subsegments under a function segment
}

// find gathers the documents of requestID from segs.
func find(segs []segment.Segment, requestID string) invocation {
	var inv invocation
	for i := range segs {
		s := &segs[i]
		if s.Root().Origin == "AWS::Lambda" && s.Root().AWS.RequestID == requestID {
			if inv.svc == nil || !s.Root().InProgress {
				inv.svc = s
			}
		}
	}
	if inv.svc == nil {
		return inv
	}
	for i := range segs {
		s := &segs[i]
		if s.Root().Origin == "AWS::Lambda::Function" && s.ParentID == inv.svc.ID() {
			inv.fns = append(inv.fns, s)
		}
	}
	for i := range segs {
		s := &segs[i]
		for _, f := range inv.fns {
			if s.Independent && s.ParentID == f.ID() {
				inv.subs = append(inv.subs, s)
			}
		}
	}
	return inv
}

// child returns the subsegment named name directly under the root.
func child(s *segment.Segment, name string) *segment.Entity {
	for i := range s.Entities {
		if s.Entities[i].Parent == 0 && s.Entities[i].Name == name {
			return &s.Entities[i]
		}
	}
	return nil
}

func startEmulator(t testing.TB, cfg lambda.Config) (*lambda.Emulator, *lambdalog.Memory, string) {
	t.Helper()
	mem := lambdalog.NewMemory()
	cfg.Logs = mem
	e, err := lambda.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return e, mem, srv.URL
}

// logsOf waits for a request's log records, up to its REPORT line (and
// XRAY line when traced).
func logsOf(t testing.TB, e *lambda.Emulator, mem *lambdalog.Memory, requestID string, traced bool) []logs.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := mem.Wait(ctx, func(r logs.Record) bool { return r.RequestID == requestID }, func(rs []logs.Record) bool {
		for _, r := range rs {
			if traced && strings.HasPrefix(r.Message, "XRAY ") || !traced && strings.HasPrefix(r.Message, "REPORT ") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("logs of %s: %v; have %+v", requestID, err, recs)
	}
	return recs
}

func line(recs []logs.Record, prefix string) *logs.Record {
	for i := range recs {
		if strings.HasPrefix(recs[i].Message, prefix) {
			return &recs[i]
		}
	}
	return nil
}

// reportField reads "Name: 12.34 ms" from a REPORT or INIT_REPORT line.
func reportField(t testing.TB, msg, name string) (float64, bool) {
	t.Helper()
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "INIT_REPORT "), "REPORT ")
	for f := range strings.SplitSeq(msg, "\t") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), name+": "); ok {
			v = strings.TrimSuffix(strings.TrimSuffix(v, " ms"), " MB")
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s in %q: %v", name, msg, err)
			}
			return n, true
		}
	}
	return 0, false
}

func ms(e *segment.Entity) float64 { return (e.End - e.Start) * 1000 }

func mustTrace(t testing.TB, s string) xrayid.TraceID {
	t.Helper()
	id, err := xrayid.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

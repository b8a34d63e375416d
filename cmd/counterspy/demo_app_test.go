package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/segment"
)

// udpCapture stands in for the X-Ray daemon.
type udpCapture struct {
	conn *net.UDPConn
	mu   sync.Mutex
	segs []segment.Segment
	done chan struct{}
}

func newUDPCapture(t *testing.T) *udpCapture {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := &udpCapture{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		dec := segment.NewDecoder(0)
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			_, body, _ := bytes.Cut(buf[:n], []byte("\n"))
			segs, err := dec.Decode(nil, append([]byte(nil), body...))
			if err != nil {
				t.Errorf("bad segment: %v", err)
				continue
			}
			c.mu.Lock()
			c.segs = append(c.segs, segs...)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

func (c *udpCapture) waitFor(t *testing.T, what string, ok func([]segment.Segment) bool) []segment.Segment {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		segs := append([]segment.Segment(nil), c.segs...)
		c.mu.Unlock()
		if ok(segs) {
			return segs
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return nil
}

// TestDemoApp runs the seed's sample app: an upload reaches the Go example
// function through S3 → SNS → Lambda, which writes the key to the DynamoDB
// stand-in, and the trace holds the DynamoDB call as the items table.
func TestDemoApp(t *testing.T) {
	ctx := context.Background()
	bin, cleanup, err := buildExample(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	udp := newUDPCapture(t)
	mem := lambdalog.NewMemory()
	app, err := startDemoApp(ctx, demoOptions{FunctionBin: bin, Addr: "127.0.0.1:0", XRayAddr: udp.conn.LocalAddr().String(), Logs: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	res, err := app.Upload("photos/my cat.jpg", []byte("meow"))
	if err != nil || len(res.Invocations) != 1 || res.Invocations[0].Function != demoFunction {
		t.Fatalf("upload: %+v %v", res, err)
	}
	reqID := res.Invocations[0].RequestID
	var svc, fn, ddb *segment.Segment
	segs := udp.waitFor(t, "the upload's trace with its DynamoDB call", func(segs []segment.Segment) bool {
		svc, fn, ddb = nil, nil, nil
		for i := range segs {
			if r := segs[i].Root(); r.Origin == "AWS::Lambda" && r.AWS.RequestID == reqID && !r.InProgress {
				svc = &segs[i]
			}
		}
		for i := range segs {
			if svc != nil && segs[i].Root().Origin == "AWS::Lambda::Function" && segs[i].ParentID == svc.ID() {
				fn = &segs[i]
			}
		}
		for i := range segs {
			if fn != nil && segs[i].Independent && segs[i].ParentID == fn.ID() {
				ddb = &segs[i]
			}
		}
		return ddb != nil
	})
	if svc.Root().HTTP.Status != 202 || child(svc, "Dwell Time") == nil || child(svc, "Attempt #1") == nil {
		t.Errorf("service segment: %+v", svc.Root())
	}
	if child(fn, "Initialization") == nil {
		t.Error("the first upload was not a cold start")
	}
	checkEmulatorProfile(t, svc.TraceID, segs)
	d := ddb.Root()
	if d.Name != "DynamoDB" || d.Namespace != "aws" || d.AWS.Operation != "PutItem" || d.AWS.TableName != demoTable || d.HTTP.Status != 200 || d.Fault || d.Error {
		t.Errorf("DynamoDB subsegment: %+v", d)
	}
	items := app.ddb.Items(demoTable)
	if len(items) != 1 || items[0]["id"]["S"] != "photos/my cat.jpg" {
		t.Errorf("items: %v", items)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	recs, err := mem.Wait(waitCtx, func(r logs.Record) bool { return r.RequestID == reqID }, func(rs []logs.Record) bool {
		for _, r := range rs {
			if strings.HasPrefix(r.Message, "XRAY ") {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range recs {
		msgs = append(msgs, r.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"storing photos/my cat.jpg from bucket " + demoBucket, "Init Duration: ", "XRAY TraceId: " + svc.TraceID.String()} {
		if !strings.Contains(all, w) {
			t.Errorf("logs lack %q:\n%s", w, all)
		}
	}
}

func child(s *segment.Segment, name string) *segment.Entity {
	for i := range s.Entities {
		if s.Entities[i].Parent == 0 && s.Entities[i].Name == name {
			return &s.Entities[i]
		}
	}
	return nil
}

// TestDemoCommand runs `counterspy demo --count 2` against a stand-in
// server that takes the logs.
func TestDemoCommand(t *testing.T) {
	udp := newUDPCapture(t)
	var mu sync.Mutex
	var posted []logs.Record
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
		case r.Method == http.MethodPost && r.URL.Path == lambdalog.Path:
			var recs []logs.Record
			json.NewDecoder(r.Body).Decode(&recs)
			mu.Lock()
			posted = append(posted, recs...)
			mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--count", "2", "--interval", "10ms", "--addr", "127.0.0.1:0",
		"--xray", udp.conn.LocalAddr().String(), "--server", srv.URL, "--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	// One line per invocation: the Go function's, and the Python and
	// TypeScript ones' where python3 and node_modules are installed.
	if n := strings.Count(stdout.String(), " → "+demoFunction+" request "); n != 2 {
		t.Errorf("%d uploads in the output:\n%s", n, &stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	reports := 0
	for _, r := range posted {
		if strings.HasPrefix(r.Message, "REPORT ") && r.Function == demoFunction {
			reports++
		}
	}
	if reports != 2 {
		t.Errorf("%d REPORT records posted, want 2", reports)
	}
}

// TestLogsCommand: `counterspy logs` asks the server and prints CloudWatch-
// style lines.
func TestLogsCommand(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 123e6, time.UTC)
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		json.NewEncoder(w).Encode([]logs.Record{
			{Time: at, Function: "f", Message: "INIT_START Runtime Version: provided.al2023", Stream: logs.Platform},
			{Time: at.Add(time.Millisecond), Function: "f", RequestID: "r-1", TraceID: "1-5759e988-bd862e3fe1be46a994272793", Message: "hello", Stream: logs.Stdout},
		})
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"logs", "--server", srv.URL, "--trace", "1-5759e988-bd862e3fe1be46a994272793"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	want := "2026-11-25T12:00:00.123Z  INIT_START Runtime Version: provided.al2023\n2026-11-25T12:00:00.124Z  r-1  hello\n"
	if stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", &stdout, want)
	}
	if !strings.Contains(gotQuery, "trace_id=1-5759e988-bd862e3fe1be46a994272793") || !strings.Contains(gotQuery, "since=") {
		t.Errorf("query %q", gotQuery)
	}
	if code := run(context.Background(), []string{"logs", "--server", srv.URL}, &stdout, &stderr); code != 2 {
		t.Errorf("logs without a selector: exit %d", code)
	}
}

// TestLambdaCommandUsage: bad definitions are usage errors.
func TestLambdaCommandUsage(t *testing.T) {
	f := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"lambda"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, &stderr)
		}
	}
	f()
	f("--function", "noequals")
	f("--function", "bad name=./x")
	f("--function", "ok=./x", "--tracing", "Sometimes")
	f("--config", "/nonexistent/functions.json")
}

package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpSink is a daemon stand-in: it keeps every datagram it receives.
type udpSink struct {
	conn *net.UDPConn
	got  chan []byte
	done chan struct{}
}

func newUDPSink(t *testing.T) *udpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Room for every datagram of a test even if this reader falls behind.
	if err := conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := &udpSink{conn: conn, got: make(chan []byte, 1<<16), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.got <- bytes.Clone(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

func (s *udpSink) addr() string { return s.conn.LocalAddr().String() }

// collect returns the next n datagrams. The timeout only keeps a broken
// sender from hanging the test.
func (s *udpSink) collect(t *testing.T, n int) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	hang := time.After(time.Minute)
	for len(out) < n {
		select {
		case d := <-s.got:
			out = append(out, d)
		case <-hang:
			t.Fatalf("received %d of %d datagrams", len(out), n)
		}
	}
	return out
}

// expected regenerates what a run with a virtual Start sends.
func expected(cfg Config) [][]byte {
	group := 1
	if g, ok := cfg.Scenario.(Grouped); ok {
		group = g.GroupSize()
	}
	spacing := virtualSpacing
	if cfg.Rate > 0 {
		spacing = seconds(1 / cfg.Rate)
	}
	var docs [][]byte
	for i := range cfg.Traces {
		first := i / group * group
		for _, d := range cfg.Scenario.Trace(i, cfg.Start.Add(time.Duration(first)*spacing)).Docs {
			docs = append(docs, d.JSON)
		}
	}
	return docs
}

func sortedCopy(docs [][]byte) [][]byte {
	out := slices.Clone(docs)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func TestRunUDP(t *testing.T) {
	f := func(name string, traces, senders int, rate float64) {
		t.Helper()
		sink := newUDPSink(t)
		sc, _ := New(name, 5)
		cfg := Config{Addr: sink.addr(), Scenario: sc, Traces: traces, Senders: senders, Rate: rate,
			Start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := expected(cfg)
		if res.Traces != int64(traces) || res.Segments != int64(len(want)) || res.Errors != 0 {
			t.Fatalf("%s: result %+v, want %d traces and %d segments", name, res, traces, len(want))
		}
		var bodies [][]byte
		var size int64
		for _, d := range sink.collect(t, len(want)) {
			body, ok := bytes.CutPrefix(d, []byte(`{"format": "json", "version": 1}`+"\n"))
			if !ok {
				t.Fatalf("datagram without the Go SDK header: %.80s", d)
			}
			bodies = append(bodies, body)
			size += int64(len(body))
		}
		if size != res.Bytes {
			t.Fatalf("%s: received %d document bytes, Run counted %d", name, size, res.Bytes)
		}
		if !slices.EqualFunc(sortedCopy(bodies), sortedCopy(want), bytes.Equal) {
			t.Fatalf("%s: the datagrams are not the scenario's documents", name)
		}
	}
	f("large", 80, 3, 0)
	f("seed", 31, 2, 0) // ends inside an upload: a partial group
	f("seed", 12, 4, 400)
}

func TestRunRealtimeKeepsEmissionOrder(t *testing.T) {
	sink := newUDPSink(t)
	sc, _ := New("seed", 9)
	cfg := Config{Addr: sink.addr(), Scenario: sc, Traces: 6, Senders: 2, Rate: 30, Realtime: true,
		Start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := expected(cfg)
	if res.Segments != int64(len(want)) {
		t.Fatalf("sent %d segments, want %d", res.Segments, len(want))
	}
	got := sink.collect(t, len(want))
	// A trace's documents arrive in the order the real system sends them.
	order := map[string][]string{}
	for _, d := range got {
		var doc struct{ ID, TraceID string }
		body := d[len(DaemonHeader):]
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		doc.ID, doc.TraceID = m["id"].(string), m["trace_id"].(string)
		order[doc.TraceID] = append(order[doc.TraceID], doc.ID)
	}
	for i := range cfg.Traces {
		tr := sc.Trace(i, cfg.Start.Add(time.Duration(i/3*3)*seconds(1/cfg.Rate)))
		var ids []string
		for _, d := range tr.Docs {
			var m map[string]any
			_ = json.Unmarshal(d.JSON, &m)
			ids = append(ids, m["id"].(string))
		}
		if got := order[tr.ID.String()]; !slices.Equal(got, ids) {
			t.Fatalf("trace %d arrived as %v, want %v", i, got, ids)
		}
	}
}

// apiServer is a PutTraceSegments stand-in that rejects documents whose
// name is in reject.
func apiServer(t *testing.T, reject string, status int) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var accepted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/TraceSegments" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("unexpected request %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var in struct{ TraceSegmentDocuments []string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("bad PutTraceSegments body: %v", err)
		}
		if n := len(in.TraceSegmentDocuments); n == 0 || n > 50 {
			t.Errorf("batch of %d documents, want 1–50", n)
		}
		if status != http.StatusOK {
			http.Error(w, `{"message":"down"}`, status)
			return
		}
		type unprocessed struct{ Id, ErrorCode, Message string }
		out := struct{ UnprocessedTraceSegments []unprocessed }{[]unprocessed{}}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range in.TraceSegmentDocuments {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				t.Errorf("document is not JSON: %v", err)
			}
			if m["name"] == reject {
				out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments,
					unprocessed{Id: m["id"].(string), ErrorCode: "InvalidSegment", Message: "test"})
				continue
			}
			accepted = append(accepted, d)
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &accepted
}

func TestRunAPI(t *testing.T) {
	srv, accepted := apiServer(t, "auth-service", http.StatusOK)
	sc, _ := New("large", 3)
	cfg := Config{Addr: srv.URL, Protocol: "api", Scenario: sc, Traces: 150, Senders: 2,
		Start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	var rejected, size int64
	for _, d := range expected(cfg) {
		if bytes.Contains(d, []byte(`"name":"auth-service"`)) {
			rejected++
			continue
		}
		want = append(want, d)
		size += int64(len(d))
	}
	if rejected == 0 {
		t.Fatal("test needs documents to reject")
	}
	if res.Segments != int64(len(want)) || res.Errors != rejected || res.Bytes != size {
		t.Fatalf("result %+v, want %d segments, %d bytes, %d errors", res, len(want), size, rejected)
	}
	var got [][]byte
	for _, d := range *accepted {
		got = append(got, []byte(d))
	}
	if !slices.EqualFunc(sortedCopy(got), sortedCopy(want), bytes.Equal) {
		t.Fatal("the server did not receive the scenario's documents")
	}
}

func TestRunAPICountsFailedBatches(t *testing.T) {
	srv, _ := apiServer(t, "", http.StatusServiceUnavailable)
	sc, _ := New("seed", 3)
	res, err := Run(context.Background(), Config{Addr: strings.TrimPrefix(srv.URL, "http://"), Protocol: "api",
		Scenario: sc, Traces: 9, Senders: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segments != 0 || res.Errors == 0 || res.Traces != 9 {
		t.Fatalf("result %+v: want every document counted as an error", res)
	}
}

func TestRunStops(t *testing.T) {
	sink := newUDPSink(t)
	sc, _ := New("large", 1)
	res, err := Run(context.Background(), Config{Addr: sink.addr(), Scenario: sc, Rate: 200, Duration: 150 * time.Millisecond, Senders: 2})
	if err != nil || res.Traces == 0 || res.Segments == 0 {
		t.Fatalf("duration-limited run: %+v, %v", res, err)
	}

	// No limit: only the context stops it, once something arrived.
	sink = newUDPSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sink.got
		cancel()
	}()
	res, err = Run(ctx, Config{Addr: sink.addr(), Scenario: sc, Rate: 500, Senders: 2})
	if err != nil || res.Segments == 0 {
		t.Fatalf("cancelled run: %+v, %v", res, err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	sc, _ := New("seed", 1)
	f := func(cfg Config, invalid bool) {
		t.Helper()
		_, err := Run(context.Background(), cfg)
		if err == nil {
			t.Fatalf("Run(%+v) succeeded", cfg)
		}
		if errors.Is(err, ErrInvalidConfig) != invalid {
			t.Fatalf("Run(%+v): %v; invalid config: %v", cfg, err, invalid)
		}
	}
	f(Config{}, true)
	f(Config{Scenario: sc, Protocol: "tcp"}, true)
	f(Config{Scenario: sc, Rate: -1}, true)
	f(Config{Scenario: sc, Rate: math.Inf(1)}, true)
	f(Config{Scenario: sc, Realtime: true}, true)
	f(Config{Scenario: sc, Addr: "127.0.0.1:notaport"}, false)
}

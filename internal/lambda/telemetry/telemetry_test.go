package telemetry

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSubscription(t *testing.T) {
	types, items, bytes, timeout, dest, err := ParseSubscription([]byte(`{"schemaVersion":"2022-12-13","types":["platform","function"],
		"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":100},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}`))
	if err != nil || len(types) != 2 || items != 1000 || bytes != 262144 || timeout != 100*time.Millisecond || dest != "http://127.0.0.1:4243/t" {
		t.Fatalf("%v %d %d %v %q %v", types, items, bytes, timeout, dest, err)
	}
	_, items, bytes, timeout, _, err = ParseSubscription([]byte(`{"schemaVersion":"2022-07-01","types":["extension"],"destination":{"protocol":"HTTP","URI":"http://sandbox:8080"}}`))
	if err != nil || items != DefaultMaxItems || bytes != DefaultMaxBytes || timeout != time.Second {
		t.Fatalf("defaults: %d %d %v %v", items, bytes, timeout, err)
	}
	for body, want := range map[string]string{
		`{`: "not a subscription",
		`{"schemaVersion":"2020-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}`:                             "schemaVersion",
		`{"schemaVersion":"2022-12-13","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}`:                                       "at least one",
		`{"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}`:                                 "unknown type",
		`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","URI":"http://sandbox:1"}}`:                              "only HTTP",
		`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://example.com:1"}}`:                         "sandbox.localdomain",
		`{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:9001"}}`:                          "9001",
		`{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":5},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}`: "buffering",
	} {
		if _, _, _, _, _, err := ParseSubscription([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", body, err, want)
		}
	}
}

// TestDelivery: a subscriber gets the init backlog, then its own events,
// batched as JSON arrays, filtered by type; Flush delivers at once.
func TestDelivery(t *testing.T) {
	var mu sync.Mutex
	var got []Event
	batches := 0
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []Event
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &batch); err != nil {
			t.Errorf("batch %q: %v", b, err)
		}
		mu.Lock()
		got = append(got, batch...)
		batches++
		mu.Unlock()
	}))
	defer dest.Close()
	port := dest.URL[strings.LastIndex(dest.URL, ":")+1:]

	h := New(nil)
	h.Authorize = func(id string) (string, bool) { return "ext", id == "good" }
	mux := http.NewServeMux()
	h.Register(mux.Handle)
	api := httptest.NewServer(mux)
	defer api.Close()
	defer h.Close()

	h.Emit("platform.initStart", map[string]any{"phase": "init"})
	h.Emit("function", "init line")
	sub := `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":30000},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:` + port + `/"}}`
	put := func(id string) int {
		req, _ := http.NewRequest(http.MethodPut, api.URL+"/2022-07-01/telemetry", strings.NewReader(sub))
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := put("bad"); s != http.StatusForbidden {
		t.Errorf("unregistered subscriber: %d", s)
	}
	if s := put("good"); s != http.StatusOK {
		t.Fatalf("subscribe: %d", s)
	}
	h.InitDone()
	h.Emit("platform.start", map[string]any{"requestId": "r1"})
	h.Emit("function", "handler line")
	h.Flush(5 * time.Second) // timeoutMs is 30 s: only Flush sends it now
	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, ev := range got {
		types = append(types, ev.Type)
	}
	if strings.Join(types, " ") != "platform.initStart platform.telemetrySubscription platform.start" || batches != 1 {
		t.Errorf("delivered %v in %d batches", types, batches)
	}
}

func FuzzParseSubscription(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":"2022-12-13","types":["platform","function","extension"],"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":100},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/telemetry"}}`))
	f.Add([]byte(`{"schemaVersion":"2022-07-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		types, items, bytes, timeout, dest, err := ParseSubscription(b)
		if err != nil {
			return
		}
		if len(types) == 0 || items < 1 || bytes < 1 || timeout < 25*time.Millisecond || !strings.HasPrefix(dest, "http://127.0.0.1:") {
			t.Fatalf("accepted %q: %v %d %d %v %q", b, types, items, bytes, timeout, dest)
		}
	})
}

// TestDropsWhenBehind: a subscriber that does not take its batches loses
// events beyond its buffer and is told how many (platform.logsDropped).
func TestDropsWhenBehind(t *testing.T) {
	entered := make(chan struct{}, 100)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []Event
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []Event
		json.NewDecoder(r.Body).Decode(&batch)
		mu.Lock()
		got = append(got, batch...)
		mu.Unlock()
		entered <- struct{}{}
		<-release
	}))
	defer dest.Close()
	defer close(release)
	port := dest.URL[strings.LastIndex(dest.URL, ":")+1:]
	h := New(nil)
	h.Authorize = func(string) (string, bool) { return "ext", true }
	mux := http.NewServeMux()
	h.Register(mux.Handle)
	api := httptest.NewServer(mux)
	defer api.Close()
	defer h.Close()
	h.InitDone()
	sub := `{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":1,"timeoutMs":25},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:` + port + `/"}}`
	req, _ := http.NewRequest(http.MethodPut, api.URL+"/2022-07-01/telemetry", strings.NewReader(sub))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", err, resp)
	}
	resp.Body.Close()
	<-entered // platform.telemetrySubscription is being delivered, and the subscriber hangs
	for i := range maxBuffered + 5 {
		h.Emit("platform.start", map[string]any{"requestId": i})
	}
	for range maxBuffered + 1 {
		release <- struct{}{}
		<-entered
	}
	release <- struct{}{}
	mu.Lock()
	defer mu.Unlock()
	last := got[len(got)-1]
	var rec map[string]any
	b, _ := json.Marshal(last.Record)
	json.Unmarshal(b, &rec)
	if len(got) != maxBuffered+2 || last.Type != "platform.logsDropped" || rec["droppedRecords"] != 5.0 {
		t.Errorf("%d events, last %+v", len(got), last)
	}
}

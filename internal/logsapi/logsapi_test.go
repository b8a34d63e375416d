package logsapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/logsapi"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

func newServer(t *testing.T) (*httptest.Server, *int) {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stored := 0
	mux := http.NewServeMux()
	(&logsapi.Handler{Store: st, Log: slog.New(slog.DiscardHandler), Stored: func(n int) { stored += n }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &stored
}

func post(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+logsapi.Path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, srv *httptest.Server, query string) (int, []logs.Record, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + logsapi.Path + "?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var recs []logs.Record
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatalf("GET %s: %v\n%s", query, err, b)
		}
	}
	return resp.StatusCode, recs, string(b)
}

// TestPostThenGet: records POSTed come back by function, request and trace,
// oldest first; a body with one invalid record stores none of them.
func TestPostThenGet(t *testing.T) {
	srv, stored := newServer(t)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	want := []logs.Record{
		{Time: t0, Function: "fn", RequestID: "r1", TraceID: "1-581cf771-a006649127e371903a2de979", Stream: logs.Stdout, Message: "hello"},
		{Time: t0.Add(time.Millisecond), Function: "fn", RequestID: "r1", TraceID: "1-581cf771-a006649127e371903a2de979", Stream: logs.Platform, Message: "END RequestId: r1"},
	}
	body, _ := json.Marshal([]logs.Record{want[1], want[0]})
	if code, msg := post(t, srv, string(body)); code != http.StatusNoContent {
		t.Fatalf("POST: %d %s", code, msg)
	}
	if *stored != 2 {
		t.Errorf("Stored counted %d records, want 2", *stored)
	}
	for _, q := range []string{"function=fn", "request_id=r1", "trace_id=1-581cf771-a006649127e371903a2de979"} {
		code, got, msg := get(t, srv, q)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", q, code, msg)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("GET %s (-want +got):\n%s", q, d)
		}
	}

	bad := `[{"time":"2026-11-25T12:00:01Z","function":"other","stream":"stdout","message":"ok"},` +
		`{"time":"2026-11-25T12:00:01Z","function":"other","stream":"syslog","message":"bad stream"}]`
	if code, msg := post(t, srv, bad); code != http.StatusBadRequest || !strings.Contains(msg, "log record 1") {
		t.Errorf("POST with an invalid record: %d %s, want 400 naming record 1", code, msg)
	}
	if _, got, _ := get(t, srv, "function=other"); len(got) != 0 {
		t.Errorf("a rejected body stored %d records", len(got))
	}
}

func TestGetRejectsBadQueries(t *testing.T) {
	srv, _ := newServer(t)
	for _, q := range []string{
		"",                            // no selector
		"function=fn&request_id=r1",   // two selectors
		"trace_id=not-a-trace-id",     // malformed trace ID
		"function=fn&since=yesterday", // not RFC 3339
		"function=fn&limit=0",
	} {
		if code, _, msg := get(t, srv, q); code != http.StatusBadRequest {
			t.Errorf("GET ?%s: %d %s, want 400", q, code, msg)
		}
	}
}

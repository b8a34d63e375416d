package lambdalog

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/logs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLines(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
	id := "3604209a-e9a3-11e6-939a-754dd98c7be3"
	f(StartLine(id), "START RequestId: "+id+" Version: $LATEST")
	f(EndLine(id), "END RequestId: "+id)
	f(Report{RequestID: id, Duration: 201674 * time.Microsecond, MemoryMB: 2048, MaxMemoryUsedMB: 81, InitDuration: 480250 * time.Microsecond}.Line(),
		"REPORT RequestId: "+id+"\tDuration: 201.67 ms\tBilled Duration: 682 ms\tMemory Size: 2048 MB\tMax Memory Used: 81 MB\tInit Duration: 480.25 ms\t")
	f(Report{RequestID: id, Duration: 12 * time.Microsecond, MemoryMB: 128, MaxMemoryUsedMB: 18}.Line(),
		"REPORT RequestId: "+id+"\tDuration: 0.01 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t")
	f(Report{RequestID: id, Duration: 3 * time.Second, MemoryMB: 128, MaxMemoryUsedMB: 39, Status: "timeout"}.Line(),
		"REPORT RequestId: "+id+"\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 39 MB\tStatus: timeout\t")
	f(Report{RequestID: id, Duration: time.Millisecond, MemoryMB: 128, MaxMemoryUsedMB: 3, Status: "error", ErrorType: "Runtime.ExitError"}.Line(),
		"REPORT RequestId: "+id+"\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 3 MB\tStatus: error\tError Type: Runtime.ExitError\t")
	f(XRayLine("1-61c86fa4-59b3c6d959653c527fd10966", "107ea78a5750a811", true),
		"XRAY TraceId: 1-61c86fa4-59b3c6d959653c527fd10966\tSegmentId: 107ea78a5750a811\tSampled: true\t")
	f(InitReportLine(2020*time.Microsecond, "error", "Runtime.ExitError"),
		"INIT_REPORT Init Duration: 2.02 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError")
	at := time.Date(2019, 5, 7, 21, 13, 53, 803e6, time.UTC)
	f(TimeoutMessage(at, id, 3*time.Second), "2019-05-07T21:13:53.803Z "+id+" Task timed out after 3.00 seconds")
	f(FormatRecord(logs.Record{Time: at, RequestID: id, Message: "hello\n"}), "2019-05-07T21:13:53.803Z  "+id+"  hello")
	f(FormatRecord(logs.Record{Time: at, Message: "INIT_START"}), "2019-05-07T21:13:53.803Z  INIT_START")
}

func TestWriterFlushesInOrder(t *testing.T) {
	mem := NewMemory()
	w := NewWriter(mem, WriterOptions{FlushInterval: time.Hour, MaxBatch: 3})
	for i := range 10 {
		w.Add(logs.Record{Message: string(rune('a' + i))})
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range mem.Records(nil) {
		got += r.Message
	}
	if got != "abcdefghij" {
		t.Errorf("records %q", got)
	}
	w.Add(logs.Record{Message: "k"})
	w.Close(context.Background())
	if n := len(mem.Records(nil)); n != 11 {
		t.Errorf("after Close: %d records", n)
	}
}

func TestWriterDropsBeyondMaxPending(t *testing.T) {
	block := make(chan struct{})
	sink := sinkFunc(func(context.Context, []logs.Record) error { <-block; return nil })
	w := NewWriter(sink, WriterOptions{FlushInterval: time.Hour, MaxBatch: 1000, MaxPending: 5})
	w.Add(make([]logs.Record, 8)...)
	if d := w.Dropped(); d != 3 {
		t.Errorf("dropped %d, want 3", d)
	}
	close(block)
	w.Close(context.Background())
}

type sinkFunc func(context.Context, []logs.Record) error

func (f sinkFunc) Write(ctx context.Context, r []logs.Record) error { return f(ctx, r) }

func TestHTTPSink(t *testing.T) {
	var got []logs.Record
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != Path || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	s := NewHTTPSink(srv.URL+"/", srv.Client())
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := s.Write(context.Background(), []logs.Record{{Time: at, Function: "f", RequestID: "r", Stream: logs.Platform, Message: "START"}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Function != "f" || !got[0].Time.Equal(at) || got[0].Stream != logs.Platform {
		t.Errorf("posted %+v", got)
	}
	bad := NewHTTPSink(srv.URL+"/nope", srv.Client())
	bad.url = srv.URL + "/nope"
	if err := bad.Write(context.Background(), nil); err == nil {
		t.Error("no error for a 400")
	}
}

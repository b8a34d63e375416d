package otlp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/xrayid"
)

type env struct {
	r   *Receiver
	st  *pebblestore.Store
	ms  *metrics.Set
	srv *httptest.Server
}

func newEnv(t *testing.T, opts ingest.Options) *env { return newEnvWith(t, opts, Options{}) }

func newEnvWith(t *testing.T, opts ingest.Options, ropts Options) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{NoSync: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ms := metrics.NewSet()
	p := ingest.New(st, opts, ms, log)
	r := New(p, ropts, ms, log)
	srv := httptest.NewServer(r.HTTPHandler())
	t.Cleanup(func() {
		srv.Close()
		p.Close(context.Background())
		st.Close()
	})
	return &env{r: r, st: st, ms: ms, srv: srv}
}

var traceID = pcommon.TraceID{0x5f, 0x84, 0x1a, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func request(spans int, bigAttr int) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(traceID)
		sp.SetSpanID(pcommon.SpanID{1, 0, 0, 0, 0, 0, 0, byte(i + 1)})
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName("op")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		// bigAttr bytes in values of 5000 bytes: too many for the mapping
		// to save the span by cutting long values.
		for k := 0; i == 0 && k*5000 < bigAttr; k++ {
			sp.Attributes().PutStr("big"+strconv.Itoa(k), strings.Repeat("x", min(5000, bigAttr-k*5000)))
		}
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

func (e *env) post(t *testing.T, ct, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+TracesPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func (e *env) storedDocs(t *testing.T) int {
	t.Helper()
	n := 0
	for tr, err := range e.st.Traces(context.Background(), []xrayid.TraceID{xrayid.TraceID(traceID)}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(tr.Records)
	}
	return n
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestHTTPProtobufJSONGzip(t *testing.T) {
	e := newEnv(t, ingest.Options{})
	pb, _ := request(2, 0).MarshalProto()
	js, _ := request(2, 0).MarshalJSON()
	for _, c := range []struct {
		name, ct, enc string
		body          []byte
	}{
		{"protobuf", contentProto, "", pb},
		{"json", contentJSON + "; charset=utf-8", "", js},
		{"gzip protobuf", contentProto, "gzip", gz(pb)},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.storedDocs(t)
			resp, body := e.post(t, c.ct, c.enc, c.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			// Durable before the answer: the store has the documents now.
			if got := e.storedDocs(t) - before; got != 2 {
				t.Errorf("stored %d documents, want 2", got)
			}
			ans := ptraceotlp.NewExportResponse()
			if strings.HasPrefix(c.ct, contentJSON) {
				if err := ans.UnmarshalJSON(body); err != nil {
					t.Fatalf("answer is not a JSON ExportTraceServiceResponse: %v", err)
				}
			} else if err := ans.UnmarshalProto(body); err != nil {
				t.Fatalf("answer is not a protobuf ExportTraceServiceResponse: %v", err)
			}
			if ans.PartialSuccess().RejectedSpans() != 0 {
				t.Errorf("rejected %d", ans.PartialSuccess().RejectedSpans())
			}
		})
	}
	if got := e.ms.GetOrCreateCounter(`counterspy_segments_received_total{protocol="otlp_http"}`).Get(); got != 6 {
		t.Errorf("received counter %d, want 6", got)
	}
}

func TestHTTPErrors(t *testing.T) {
	e := newEnv(t, ingest.Options{})
	pb, _ := request(1, 0).MarshalProto()
	// A bad body: 400 with a google.rpc.Status in the request's encoding.
	resp, body := e.post(t, contentProto, "", []byte{0xff, 0xff, 0xff})
	var st status.Status
	if resp.StatusCode != http.StatusBadRequest || proto.Unmarshal(body, &st) != nil || st.Message == "" {
		t.Errorf("bad protobuf: %d %q", resp.StatusCode, body)
	}
	resp, body = e.post(t, contentJSON, "", []byte(`{"resourceSpans": 7}`))
	if resp.StatusCode != http.StatusBadRequest || protojson.Unmarshal(body, &st) != nil || st.Message == "" {
		t.Errorf("bad JSON: %d %q", resp.StatusCode, body)
	}
	resp, _ = e.post(t, "text/plain", "", pb)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	resp, _ = e.post(t, contentProto, "br", pb)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("brotli: %d", resp.StatusCode)
	}
	resp, _ = e.post(t, contentProto, "gzip", pb) // not gzip data
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad gzip: %d", resp.StatusCode)
	}
	get, err := http.Get(e.srv.URL + TracesPath)
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", get.StatusCode)
	}
	if n := e.storedDocs(t); n != 0 {
		t.Errorf("bad requests stored %d documents", n)
	}
	if got := e.ms.GetOrCreateCounter(`counterspy_otlp_bad_requests_total{protocol="otlp_http"}`).Get(); got != 5 {
		t.Errorf("bad request counter %d, want 5", got)
	}
}

// A span whose document is too large is reported in partial success; the
// other spans of the request are stored.
func TestHTTPPartialSuccess(t *testing.T) {
	e := newEnv(t, ingest.Options{})
	pb, _ := request(3, 6<<20).MarshalProto()
	resp, body := e.post(t, contentProto, "", pb)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	ans := ptraceotlp.NewExportResponse()
	if err := ans.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	if ans.PartialSuccess().RejectedSpans() != 1 || !strings.Contains(ans.PartialSuccess().ErrorMessage(), "SegmentTooLarge") {
		t.Errorf("partial success %d %q", ans.PartialSuccess().RejectedSpans(), ans.PartialSuccess().ErrorMessage())
	}
	if n := e.storedDocs(t); n != 2 {
		t.Errorf("stored %d documents, want 2", n)
	}
	if got := e.ms.GetOrCreateCounter(`counterspy_segments_rejected_total{protocol="otlp_http",reason="SegmentTooLarge"}`).Get(); got != 1 {
		t.Errorf("rejected counter %d", got)
	}
}

// With no room in the ingest queue the answer is 503 with Retry-After, and
// nothing is stored (the client retries).
func TestHTTPQueueFull(t *testing.T) {
	e := newEnv(t, ingest.Options{QueueBytes: 1})
	pb, _ := request(1, 0).MarshalProto()
	resp, body := e.post(t, contentProto, "", pb)
	var st status.Status
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || proto.Unmarshal(body, &st) != nil {
		t.Errorf("queue full: %d Retry-After %q body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := e.storedDocs(t); n != 0 {
		t.Errorf("stored %d documents", n)
	}
}

// A body over the limit, sent as is or gzipped, gets 413 and stores nothing.
func TestHTTPBodyTooLarge(t *testing.T) {
	e := newEnvWith(t, ingest.Options{}, Options{MaxBodyBytes: 2000})
	pb, _ := request(1, 5000).MarshalProto()
	if resp, body := e.post(t, contentProto, "", pb); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("plain: %d %s", resp.StatusCode, body)
	}
	if z := gz(pb); len(z) >= 2000 {
		t.Fatalf("gzipped body is %d bytes; the test needs it under the limit", len(z))
	} else if resp, body := e.post(t, contentProto, "gzip", z); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip: %d %s", resp.StatusCode, body)
	}
	if n := e.storedDocs(t); n != 0 {
		t.Errorf("stored %d documents", n)
	}
}

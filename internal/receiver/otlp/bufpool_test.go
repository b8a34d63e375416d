package otlp

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/counterspy/counterspy/internal/ingest"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Bodies are read into pooled buffers (and gunzipped by pooled readers):
// requests sent at once, plain and gzipped, must each store their own spans,
// whatever buffer the next request reuses.
func TestHTTPPooledBodiesKeepTheirSpans(t *testing.T) {
	e := newEnv(t, ingest.Options{})
	const workers, perWorker = 4, 8
	marker := func(w, i int) string { return fmt.Sprintf("worker-%d-request-%d", w, i) }
	id := func(w, i int) pcommon.TraceID {
		return pcommon.TraceID{0x5f, 0x84, 0x1a, 0x00, byte(w), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				td := ptrace.NewTraces()
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", "svc")
				sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
				sp.SetTraceID(id(w, i))
				sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, byte(w), byte(i + 1)})
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetName("op")
				now := time.Now()
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
				// Bodies of different sizes, so buffers are reused both
				// larger and smaller than the body they read.
				sp.Attributes().PutStr("marker", marker(w, i)+string(bytes.Repeat([]byte{'.'}, (w*perWorker+i)*500)))
				pb, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
				if err != nil {
					t.Error(err)
					return
				}
				enc := ""
				if (w+i)%2 == 1 {
					enc, pb = "gzip", gz(pb)
				}
				if resp, body := e.post(t, contentProto, enc, pb); resp.StatusCode != http.StatusOK {
					t.Errorf("status %d: %s", resp.StatusCode, body)
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i := range perWorker {
			n := 0
			for tr, err := range e.st.Traces(context.Background(), []xrayid.TraceID{xrayid.TraceID(id(w, i))}) {
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tr.Records {
					n++
					if want := []byte(`"` + marker(w, i) + `.`); !bytes.Contains(r.Doc, want) && !bytes.Contains(r.Doc, []byte(`"`+marker(w, i)+`"`)) {
						t.Errorf("trace of %s: document does not hold its marker: %.200s", marker(w, i), r.Doc)
					}
				}
			}
			if n != 1 {
				t.Errorf("trace of %s: %d documents, want 1", marker(w, i), n)
			}
		}
	}
}

// Package otlpgen generates OpenTelemetry traces and sends them over OTLP
// (HTTP protobuf or gRPC), for `counterspy loadgen --protocol otlp-http|otlp-grpc`.
//
// Two scenarios: "tracegen", shaped like Jaeger's tracegen (one service, 10
// spans per trace: a server span and nine children, about 11 attributes
// each), the load the peer comparison uses; and "large", the large X-Ray
// scenario's traces (package loadgen) turned into spans: the same services,
// call trees, AWS calls, HTTP and SQL, errors and annotations.
package otlpgen

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Scenario generates traces as spans.
type Scenario interface {
	Name() string
	// Trace appends trace number i, starting at start, to b and returns
	// its span count. Like loadgen.Scenario it is a pure function of the
	// seed, i and start, safe for concurrent use.
	Trace(b *Batch, i int, start time.Time) int
}

// Names lists the scenarios New accepts.
func Names() []string { return []string{"large", "tracegen"} }

// New returns the named scenario.
func New(name string, seed uint64) (Scenario, error) {
	switch name {
	case "tracegen":
		return tracegen{seed: seed}, nil
	case "large":
		return newLarge(seed)
	}
	return nil, fmt.Errorf("unknown OTLP scenario %q (have %s)", name, strings.Join(Names(), ", "))
}

// Batch collects the spans of several traces into one export request, one
// ResourceSpans per service, as an SDK's batch span processor (or a
// collector) would send them.
type Batch struct {
	td    ptrace.Traces
	spans map[string]ptrace.SpanSlice
}

// NewBatch returns an empty batch.
func NewBatch() *Batch {
	return &Batch{td: ptrace.NewTraces(), spans: map[string]ptrace.SpanSlice{}}
}

// Traces returns the batch's data.
func (b *Batch) Traces() ptrace.Traces { return b.td }

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.td = ptrace.NewTraces()
	clear(b.spans)
}

// Spans returns the span list of service, creating its resource with the
// given attributes the first time.
func (b *Batch) Spans(service string, resource map[string]string) ptrace.SpanSlice {
	if s, ok := b.spans[service]; ok {
		return s
	}
	rs := b.td.ResourceSpans().AppendEmpty()
	a := rs.Resource().Attributes()
	a.PutStr("service.name", service)
	keys := make([]string, 0, len(resource))
	for k := range resource {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a.PutStr(k, resource[k])
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("counterspy-loadgen")
	b.spans[service] = ss.Spans()
	return ss.Spans()
}

// splitmix is a small deterministic generator (SplitMix64).
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// tracegen is Jaeger tracegen's shape: service "tracegen", a server span
// "lets-go" and nine client children "okey-dokey-N", each with about 11
// attributes, a few milliseconds long.
type tracegen struct{ seed uint64 }

func (tracegen) Name() string { return "tracegen" }

const tracegenSpans = 10

func (g tracegen) Trace(b *Batch, i int, start time.Time) int {
	r := splitmix(g.seed*0x100000001b3 + uint64(i))
	var tid pcommon.TraceID
	// Random, as the OpenTelemetry SDK under Jaeger's tracegen makes them
	// (W3C IDs): the store then keeps them the way real OTel traffic
	// makes it, through a redirect to an X-Ray-style ID.
	binary.BigEndian.PutUint64(tid[:8], r.next())
	binary.BigEndian.PutUint64(tid[8:], r.next())
	spans := b.Spans("tracegen", map[string]string{"host.name": "tracegen-host", "telemetry.sdk.language": "go",
		"telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.47.0"})
	var root pcommon.SpanID
	for k := range tracegenSpans {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		id := spanID(&r)
		sp.SetSpanID(id)
		begin := start.Add(time.Duration(k) * 100 * time.Microsecond)
		dur := time.Duration(1+r.next()%5) * time.Millisecond
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(begin))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(begin.Add(dur)))
		a := sp.Attributes()
		a.EnsureCapacity(11)
		if k == 0 {
			root = id
			sp.SetName("lets-go")
			sp.SetKind(ptrace.SpanKindServer)
			a.PutStr("span.kind", "server")
			a.PutStr("peer.service", "tracegen-server")
		} else {
			sp.SetParentSpanID(root)
			sp.SetName("okey-dokey-" + strconv.Itoa(k-1))
			sp.SetKind(ptrace.SpanKindClient)
			a.PutStr("span.kind", "client")
			a.PutStr("peer.service", "tracegen-client")
		}
		a.PutStr("peer.host.ipv4", "1.2.3.4")
		a.PutStr("http.method", "GET")
		a.PutStr("http.url", "http://tracegen-server:8080/api/v1/items")
		a.PutInt("http.status_code", 200)
		a.PutStr("worker", "0")
		for j := range 5 {
			a.PutStr("attr_"+strconv.Itoa(j), strconv.FormatUint(r.next()%1000000, 36))
		}
	}
	return tracegenSpans
}

func spanID(r *splitmix) pcommon.SpanID {
	var id pcommon.SpanID
	for {
		v := r.next()
		if v != 0 {
			binary.BigEndian.PutUint64(id[:], v)
			return id
		}
	}
}

package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/cluster"
	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Forwarding between two nodes (each with its own in-memory store here:
// what is checked is where documents end up). UDP segments of traces the
// other node owns reach it in calls of bounded size, however many arrive
// at once; OTLP spans reach their trace's owner; a document the owner refuses (a smaller --max-document-size
// there) is stored by the node that received it instead of being lost.
func TestForwarding(t *testing.T) {
	ports := []string{freeAddr(t), freeAddr(t)}
	peers := []string{"http://" + ports[0], "http://" + ports[1]}
	var nodes []*server.Server
	for i, maxDoc := range []int{0, 2000} {
		srv, err := server.Start(server.Config{Addr: ports[i], DataDir: t.TempDir(), Store: "memory", FlushInterval: 10 * time.Millisecond,
			MaxDocumentSize: maxDoc, Cluster: server.ClusterConfig{Peers: peers},
			OTLPHTTPAddr: "127.0.0.1:0", OTLPGRPCAddr: "off", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close(context.Background()) })
		nodes = append(nodes, srv)
	}
	owner, err := cluster.New(nil, cluster.Options{Self: peers[0], Peers: peers}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	// 1,500 single-segment traces owned by node 1, sent over UDP to node 0.
	gen := xrayid.NewGenerator(3)
	now := time.Now()
	var ids []xrayid.TraceID
	for len(ids) < 1500 {
		if id := gen.TraceID(now); owner.Owner(id) == 1 {
			ids = append(ids, id)
		}
	}
	conn, err := net.Dial("udp", nodes[0].UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := float64(now.UnixMicro())/1e6 - 1
	for i, id := range ids {
		doc := fmt.Sprintf(`{"format":"json","version":1}`+"\n"+`{"trace_id":"%s","id":"%016x","name":"svc","start_time":%f,"end_time":%f}`, id, i+1, start, start+0.1)
		if _, err := conn.Write([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // stay within the socket's buffer
		}
	}
	received := func() float64 { return metric(t, nodes[0], "counterspy_udp_datagrams_received_total") }
	waitFor(t, "node 1 to store what node 0 received", func() bool {
		return received() > 0 && metric(t, nodes[1], "counterspy_segments_stored_total") == received()
	})
	if n := received(); n < 1000 {
		t.Fatalf("only %v datagrams received: the test needs more than one forwarded call's worth", n)
	}
	if f := metric(t, nodes[0], "counterspy_cluster_segments_forwarded_total"); f != received() {
		t.Fatalf("%v segments forwarded of %v received", f, received())
	}
	if s := metric(t, nodes[0], "counterspy_segments_stored_total"); s != 0 {
		t.Fatalf("node 0 stored %v segments it does not own", s)
	}
	// Counted once per protocol across the nodes: as UDP where they
	// arrived, as forwarded (not as API calls) at the owner.
	if f, a := metric(t, nodes[1], `counterspy_segments_received_total{protocol="forwarded"}`),
		metric(t, nodes[1], `counterspy_segments_received_total{protocol="api"}`); f != received() || a != 0 {
		t.Fatalf("the owner counted %v forwarded and %v API segments; want %v and 0", f, a, received())
	}

	// OTLP spans sent to node 0 (the OpenTelemetry Go SDK) end up with
	// their trace's owner.
	tp := tracerProvider(t, nodes[0], "http", "orders")
	var otel []string
	for range 20 {
		otel = append(otel, orderRequest(context.Background(), tp.Tracer("test"), false))
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tid := range otel {
		id, err := xrayid.ParseTraceID(tid)
		if err != nil {
			t.Fatal(err)
		}
		own := owner.Owner(id)
		var got struct{ Traces []any }
		xrayPost(t, nodes[own], "/Traces", map[string]any{"TraceIds": []string{tid}}, &got)
		if len(got.Traces) != 1 {
			t.Fatalf("OTLP trace %s is not with its owner, node %d", tid, own)
		}
		xrayPost(t, nodes[1-own], "/Traces", map[string]any{"TraceIds": []string{tid}}, &got)
		if len(got.Traces) != 0 {
			t.Fatalf("OTLP trace %s is stored by node %d, which does not own it", tid, 1-own)
		}
	}

	// A document too large for the owner: refused there, stored here.
	id := ids[0]
	big := fmt.Sprintf(`{"trace_id":"%s","id":"%016x","name":"svc","start_time":%f,"end_time":%f,"metadata":{"default":{"pad":"%s"}}}`,
		id, 1<<40, start, start+0.1, strings.Repeat("x", 3000))
	var out struct{ UnprocessedTraceSegments []any }
	xrayPost(t, nodes[0], "/TraceSegments", map[string]any{"TraceSegmentDocuments": []string{big}}, &out)
	if len(out.UnprocessedTraceSegments) != 0 {
		t.Fatalf("PutTraceSegments: unprocessed %v", out.UnprocessedTraceSegments)
	}
	if f := metric(t, nodes[0], "counterspy_cluster_forward_fallback_total"); f != 1 {
		t.Fatalf("fallback count %v, want 1", f)
	}
	var got struct {
		Traces []struct{ Segments []struct{ Id string } }
	}
	xrayPost(t, nodes[0], "/Traces", map[string]any{"TraceIds": []string{id.String()}}, &got)
	if len(got.Traces) != 1 || len(got.Traces[0].Segments) != 1 || got.Traces[0].Segments[0].Id != fmt.Sprintf("%016x", 1<<40) {
		t.Fatalf("node 0's store after the owner refused a document: %+v, want it there", got)
	}
}

package otlp

import (
	"context"
	"net"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/counterspy/counterspy/internal/ingest"
)

func grpcClient(t *testing.T, e *env) ptraceotlp.GRPCClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := e.r.NewGRPCServer()
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return ptraceotlp.NewGRPCClient(cc)
}

func TestGRPCExport(t *testing.T) {
	e := newEnv(t, ingest.Options{})
	c := grpcClient(t, e)
	resp, err := c.Export(context.Background(), request(3, 6<<20))
	if err != nil {
		t.Fatal(err)
	}
	if resp.PartialSuccess().RejectedSpans() != 1 {
		t.Errorf("rejected %d, want the one oversized span", resp.PartialSuccess().RejectedSpans())
	}
	if n := e.storedDocs(t); n != 2 {
		t.Errorf("stored %d documents, want 2", n)
	}
	if got := e.ms.GetOrCreateCounter(`counterspy_segments_received_total{protocol="otlp_grpc"}`).Get(); got != 2 {
		t.Errorf("received counter %d", got)
	}
}

func TestGRPCQueueFull(t *testing.T) {
	e := newEnv(t, ingest.Options{QueueBytes: 1})
	c := grpcClient(t, e)
	_, err := c.Export(context.Background(), request(1, 0))
	st, _ := status.FromError(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("queue full: %v, want ResourceExhausted", err)
	}
	retry := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.RetryDelay.AsDuration() > 0 {
			retry = true
		}
	}
	if !retry {
		t.Errorf("no RetryInfo in %v", st.Details())
	}
}

package otlpgen_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
	"github.com/counterspy/counterspy/internal/server"
)

func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", OTLPHTTPAddr: "127.0.0.1:0", OTLPGRPCAddr: "127.0.0.1:0",
		DataDir: t.TempDir(), NoSync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	return srv
}

// Both scenarios over both protocols reach a real server: every span is
// acknowledged (so durable) and none is rejected by the mapping.
func TestRun(t *testing.T) {
	srv := startServer(t)
	for _, c := range []struct {
		scenario, protocol, addr string
		traces                   int
	}{
		{"tracegen", otlpgen.HTTP, srv.OTLPHTTPAddr(), 120},
		{"tracegen", otlpgen.GRPC, srv.OTLPGRPCAddr(), 120},
		{"large", otlpgen.HTTP, srv.OTLPHTTPAddr(), 20},
		{"large", otlpgen.GRPC, srv.OTLPGRPCAddr(), 20},
	} {
		t.Run(c.scenario+"/"+c.protocol, func(t *testing.T) {
			sc, err := otlpgen.New(c.scenario, 1)
			if err != nil {
				t.Fatal(err)
			}
			res, err := otlpgen.Run(context.Background(), otlpgen.Config{Addr: c.addr, Protocol: c.protocol, Scenario: sc,
				Traces: c.traces, Senders: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res.Traces != int64(c.traces) || res.Errors != 0 || res.Rejected != 0 || res.Spans == 0 {
				t.Fatalf("%+v", res)
			}
			if c.scenario == "tracegen" && res.Spans != int64(10*c.traces) {
				t.Errorf("tracegen: %d spans for %d traces", res.Spans, c.traces)
			}
		})
	}
	stored := srv.Metrics().GetOrCreateCounter(`counterspy_segments_received_total{protocol="otlp_http"}`).Get() +
		srv.Metrics().GetOrCreateCounter(`counterspy_segments_received_total{protocol="otlp_grpc"}`).Get()
	if stored < 2400 {
		t.Errorf("server stored %d spans", stored)
	}
}

// A trace is a pure function of the seed, its index and its start.
func TestDeterministic(t *testing.T) {
	start := time.Unix(1700000000, 0)
	for _, name := range otlpgen.Names() {
		sc, err := otlpgen.New(name, 7)
		if err != nil {
			t.Fatal(err)
		}
		var bodies [2][]byte
		for k := range bodies {
			b := otlpgen.NewBatch()
			if n := sc.Trace(b, 3, start); n == 0 {
				t.Fatalf("%s: no spans", name)
			}
			bodies[k], _ = ptraceotlp.NewExportRequestFromTraces(b.Traces()).MarshalProto()
		}
		if !bytes.Equal(bodies[0], bodies[1]) {
			t.Errorf("%s: trace 3 differs between two calls", name)
		}
	}
}

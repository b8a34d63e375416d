package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen/otlpgen"
	"github.com/counterspy/counterspy/internal/server"
)

// The CLI's trace, traces and map commands work on traces that came in over
// OTLP: `counterspy loadgen --protocol otlp-http` sends them, as a user would.
func TestCLIOnOTLPTraces(t *testing.T) {
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", OTLPHTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	endpoint := "http://" + srv.HTTPAddr()
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	code, out, errOut := runCLI("loadgen", "--protocol", "otlp-http", "--scenario", "tracegen", "--addr", srv.OTLPHTTPAddr(),
		"--traces", "3", "--start", start.Format(time.RFC3339), "--quiet")
	if code != 0 || !strings.Contains(out, "spans=30 ") {
		t.Fatalf("loadgen exit %d: %s %s", code, out, errOut)
	}
	// Trace 0 of tracegen, as the generator made it.
	b := otlpgen.NewBatch()
	sc, _ := otlpgen.New("tracegen", 1)
	sc.Trace(b, 0, start)
	h := b.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String()
	id := "1-" + h[:8] + "-" + h[8:]

	code, out, errOut = runCLI("trace", id, "--endpoint", endpoint, "--color", "never", "--width", "160")
	if code != 0 || !strings.Contains(out, "tracegen") || strings.Count(out, "tracegen-client") < 9 {
		t.Fatalf("trace exit %d: %s\n%s", code, errOut, out)
	}
	code, out, errOut = runCLI("traces", "--endpoint", endpoint, "--since", "1h")
	if code != 0 || !strings.Contains(out, id) {
		t.Fatalf("traces exit %d: %s\n%s", code, errOut, out)
	}
	code, out, errOut = runCLI("map", "--endpoint", endpoint, "--since", "1h")
	if code != 0 {
		t.Fatalf("map exit %d: %s", code, errOut)
	}
	edge := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		edge = edge || len(f) > 2 && f[0] == "tracegen" && f[1] == "tracegen-client"
	}
	if !edge {
		t.Errorf("no tracegen → tracegen-client edge in\n%s", out)
	}
}

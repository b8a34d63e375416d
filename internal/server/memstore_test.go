package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestMemoryStore runs a whole server on the in-memory reference backend
// (--store memory): a segment put through the API comes back by ID.
func TestMemoryStore(t *testing.T) {
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Store: "memory",
		OTLPHTTPAddr: "off", OTLPGRPCAddr: "off", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	gen := xrayid.NewGenerator(3)
	now := time.Now()
	trace, id := gen.TraceID(now).String(), gen.SegmentID().String()
	doc := fmt.Sprintf(`{"name":"mem","id":"%s","trace_id":"%s","start_time":%d,"end_time":%d}`, id, trace, now.Unix(), now.Unix()+1)
	post := func(path, body string) string {
		t.Helper()
		resp, err := http.Post("http://"+srv.HTTPAddr()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	post("/TraceSegments", fmt.Sprintf(`{"TraceSegmentDocuments":[%q]}`, doc))
	got := post("/Traces", fmt.Sprintf(`{"TraceIds":[%q]}`, trace))
	if !strings.Contains(got, id) {
		t.Fatalf("BatchGetTraces on the memory store: %s", got)
	}
}

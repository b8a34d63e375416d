package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/testenv"
)

// seedServer starts a server holding the last `span` of the seed scenario
// (one S3 upload → three Lambda traces every 5 s), fed through the same
// decode and ingest path as `serve --demo`'s backfill.
func seedServer(t *testing.T, span time.Duration) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{
		Addr:          "127.0.0.1:0",
		OTLPHTTPAddr:  "127.0.0.1:0",
		DataDir:       t.TempDir(),
		FlushInterval: 10 * time.Millisecond,
		NoSync:        true,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	now := time.Now()
	n := seedBand(t, srv, now.Add(-span), now.Add(-10*time.Second), 1)
	t.Logf("seeded %d traces over %v", n, span)
	return srv
}

// seedBand stores the seed scenario's traces of [from, to): one upload (three
// traces) every 5 seconds.
func seedBand(t *testing.T, srv *server.Server, from, to time.Time, seed uint64) int {
	t.Helper()
	sc, err := loadgen.New("seed", seed)
	if err != nil {
		t.Fatal(err)
	}
	dec := segment.NewDecoder(0)
	i := 0
	var segs []segment.Segment
	for at := from; at.Before(to); at = at.Add(5 * time.Second) {
		for range 3 {
			tr := sc.Trace(i, at)
			i++
			for _, d := range tr.Docs {
				if segs, err = dec.Decode(segs, d.JSON); err != nil {
					t.Fatalf("seed trace %s: %v", tr.ID, err)
				}
			}
		}
		if len(segs) > 2000 {
			if err := srv.Pipeline().SubmitWait(context.Background(), segs); err != nil {
				t.Fatal(err)
			}
			segs = segs[:0]
		}
	}
	if err := srv.Pipeline().SubmitWait(context.Background(), segs); err != nil {
		t.Fatal(err)
	}
	return i
}

func post(t *testing.T, c *http.Client, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: answer is not JSON: %v", url, err)
	}
	return resp.StatusCode, out
}

// TestServerRoutes checks that the console and the API share the address
// without stepping on each other.
func TestServerRoutes(t *testing.T) {
	srv := seedServer(t, time.Minute)
	base := "http://" + srv.HTTPAddr()
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	f := func(path string, wantStatus int, wantType, wantBody string) {
		t.Helper()
		code, h, body := get(path)
		if code != wantStatus || !strings.HasPrefix(h.Get("Content-Type"), wantType) || !strings.Contains(body, wantBody) {
			t.Errorf("GET %s: %d %q %.80q; want %d %q containing %q", path, code, h.Get("Content-Type"), body, wantStatus, wantType, wantBody)
		}
	}
	f("/", 200, "text/html", `<div id="app">`)
	f("/map?last=1h", 200, "text/html", `<div id="app">`)
	f("/traces/1-00000000-000000000000000000000000", 200, "text/html", `<div id="app">`)
	f("/Traces", 405, "application/json", "InvalidRequestException") // X-Ray paths stay the API's
	f("/metrics", 200, "text/plain", "counterspy_segments_stored_total")
	f("/healthz", 200, "text/plain", "ok")
	f("/counterspy/v1/nothing", 404, "text/plain", "not found")

	now := time.Now().Unix()
	code, out := post(t, c, base+"/TraceSummaries", `{"StartTime":`+itoa(now-120)+`,"EndTime":`+itoa(now)+`}`)
	if code != 200 || len(out["TraceSummaries"].([]any)) == 0 {
		t.Errorf("POST /TraceSummaries: %d %v", code, out)
	}
	code, out = post(t, c, base+"/", `{}`)
	if code != 404 || out["__type"] != "UnknownOperationException" {
		t.Errorf("POST /: %d %v; want the API's UnknownOperationException", code, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestConsoleInBrowser drives the console in headless Chromium against a
// server holding the seed scenario: the map, the filter bar, the
// histogram, a trace's timeline, a broken expression. Screenshots go to
// $COUNTERSPY_ARTIFACTS/console (default artifacts/console in the
// repository).
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := testenv.Chromium(t)
	node := testenv.Node(t)
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.NodeModule(t, web, "playwright-core")

	artifacts := os.Getenv("COUNTERSPY_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("..", "..", "artifacts")
	}
	artifacts, err = filepath.Abs(filepath.Join(artifacts, "console"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(artifacts)

	srv := seedServer(t, 20*time.Minute)
	base := "http://" + srv.HTTPAddr()
	// Three days ago, half an hour more: a 7-day window holds more traces
	// than the list loads at once (1,000), and more than one day.
	old := time.Now().Add(-72 * time.Hour)
	t.Logf("seeded %d traces three days ago", seedBand(t, srv, old, old.Add(30*time.Minute), 2))

	// The map needs the service graph; fail here, clearly, if it is empty.
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	now := time.Now().Unix()
	code, out := post(t, c, base+"/ServiceGraph", `{"StartTime":`+itoa(now-3600)+`,"EndTime":`+itoa(now+60)+`}`)
	if services, _ := out["Services"].([]any); code != 200 || len(services) == 0 {
		t.Fatalf("GetServiceGraph over the seeded hour: %d %v", code, out)
	}

	runScript := func(script string, env ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", script))
		cmd.Dir = web
		cmd.Env = append(os.Environ(), append([]string{"BASE_URL=" + base, "CHROMIUM=" + chromium, "ARTIFACTS=" + artifacts}, env...)...)
		var output bytes.Buffer
		cmd.Stdout = &output
		cmd.Stderr = &output
		start := time.Now()
		err := cmd.Run()
		t.Logf("browser test %s (%v):\n%s", script, time.Since(start).Round(100*time.Millisecond), output.String())
		if err != nil {
			t.Fatalf("browser test %s failed: %v (screenshots in %s)", script, err, artifacts)
		}
	}
	runScript("console.e2e.mjs")
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) < 14 {
		t.Errorf("want a screenshot of every page, got %v", shots)
	}

	// OpenTelemetry traces come after the seed's checks, which count the
	// window's faults and root causes: sent through the OTLP/HTTP receiver,
	// then checked on the map, the list and the trace page.
	otel := seedOTel(t, srv, time.Now().Add(-2*time.Minute))
	runScript("otel.e2e.mjs", "OTEL_TRACE="+otel.checkout, "OTEL_LINKED_TRACE="+otel.worker)
	for _, name := range []string{"trace-otel.png", "trace-otel-details.png"} {
		if _, err := os.Stat(filepath.Join(artifacts, name)); err != nil {
			t.Errorf("no screenshot %s: %v", name, err)
		}
	}

	// Insights last too: their fault bursts would change the seed's counts.
	seedInsights(t, srv, base)
	runScript("insights.e2e.mjs")
	for _, name := range []string{"insights.png", "insight-detail.png"} {
		if _, err := os.Stat(filepath.Join(artifacts, name)); err != nil {
			t.Errorf("no screenshot %s: %v", name, err)
		}
	}
}

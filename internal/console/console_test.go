package console_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/console"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// assets are the files index.html loads.
func assets(t *testing.T, index string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`(?:src|href)="(/[^"]+)"`).FindAllStringSubmatch(index, -1) {
		out = append(out, m[1])
	}
	if len(out) < 2 {
		t.Fatalf("index.html loads %v; want the script and the stylesheet", out)
	}
	return out
}

func TestPagesServeIndex(t *testing.T) {
	h := console.Handler()
	f := func(path string) {
		t.Helper()
		w := get(t, h, "GET", path)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q; index.html must be revalidated", path, cc)
		}
		if !strings.Contains(w.Body.String(), `<div id="app">`) {
			t.Errorf("GET %s: not the console's index.html:\n%s", path, w.Body)
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
	}
	f("/")
	f("/map")
	f("/map/")
	f("/traces")
	f("/profile")
	f("/traces/1-5f84c7a1-0b6c1f2e3d4a5b6c7d8e9f01")
}

func TestNotConsolePaths(t *testing.T) {
	h := console.Handler()
	f := func(method, path string, want int) {
		t.Helper()
		if w := get(t, h, method, path); w.Code != want {
			t.Errorf("%s %s: %d, want %d", method, path, w.Code, want)
		}
	}
	f("GET", "/assets/missing-0000.js", 404)
	f("GET", "/counterspy/v1/logs", 404)
	f("GET", "/Traces", 404) // the server sends X-Ray paths to the API
	f("GET", "/traces/a/b", 404)
	f("GET", "/index.html", 404)
	f("POST", "/", 405)
	f("PUT", "/map", 405)
}

func TestAssets(t *testing.T) {
	h := console.Handler()
	index := get(t, h, "GET", "/").Body.String()
	for _, a := range assets(t, index) {
		w := get(t, h, "GET", a)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d", a, w.Code)
		}
		ct := w.Header().Get("Content-Type")
		switch {
		case strings.HasSuffix(a, ".js") && ct != "text/javascript; charset=utf-8",
			strings.HasSuffix(a, ".css") && ct != "text/css; charset=utf-8",
			strings.HasSuffix(a, ".svg") && ct != "image/svg+xml":
			t.Errorf("GET %s: Content-Type %q", a, ct)
		}
		if strings.HasPrefix(a, "/assets/") {
			if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s: Cache-Control %q; hashed assets are immutable", a, cc)
			}
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", a)
		}
		plain := w.Body.Bytes()

		// gzip when asked, the same bytes once inflated
		z := get(t, h, "GET", a, "Accept-Encoding", "br, gzip")
		if strings.HasSuffix(a, ".js") && z.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s with Accept-Encoding gzip: Content-Encoding %q", a, z.Header().Get("Content-Encoding"))
		}
		if z.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(z.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("GET %s: gzip body does not inflate to the plain body (err %v)", a, err)
			}
			if z.Header().Get("ETag") == w.Header().Get("ETag") {
				t.Errorf("GET %s: the gzip and plain forms share an ETag", a)
			}
		}
		if q := get(t, h, "GET", a, "Accept-Encoding", "gzip;q=0"); q.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip sent although refused with q=0", a)
		}

		// revalidation
		if nm := get(t, h, "GET", a, "If-None-Match", w.Header().Get("ETag")); nm.Code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", a, nm.Code)
		}
		if head := get(t, h, "HEAD", a); head.Code != 200 || head.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes", a, head.Code, head.Body.Len())
		}
	}
}

func TestIsPage(t *testing.T) {
	f := func(p string, want bool) {
		t.Helper()
		if got := console.IsPage(p); got != want {
			t.Errorf("IsPage(%q) = %v, want %v", p, got, want)
		}
	}
	f("/", true)
	f("/map", true)
	f("/traces", true)
	f("/traces/", true)
	f("/traces/1-abc", true)
	f("/traces/1-abc/", true)
	f("/Traces", false)
	f("/ServiceGraph", false)
	f("/assets/index.js", false)
	f("/traces/a/b", false)
	f("/metrics", false)
	f("/insights", true)
	f("/insights/0f8e2a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b", true)
	f("/insights/a/b", false)
	f("/Insight", false)
	f("/InsightSummaries", false)
}

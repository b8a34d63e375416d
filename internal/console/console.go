// Package console serves the web console: the service map, the trace list
// and the trace timeline, built from web/ into dist/ and embedded in the
// binary, so `counterspy serve` needs nothing else installed and works
// offline.
//
// The console lives under lower-case paths on the API's address:
//
//	/, /map          service map
//	/traces          trace list (filter, response-time histogram, table)
//	/traces/{id}     one trace
//	/profile         where a service's time goes (docs/profile.md)
//	/insights        insights of a window (docs/insights.md)
//	/insights/{id}   one insight: events, impact graph
//	/assets/...      content-hashed JavaScript and CSS
//
// X-Ray operations are POSTs to capitalized paths (/Traces, /ServiceGraph),
// so the two never collide; the server sends GET and HEAD requests for
// paths the API does not serve here.
//
// dist/ is generated: `npm ci && npm run build` in web/ rewrites it, and
// scripts/test fails when the committed copy differs from a fresh build.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed dist
var dist embed.FS

// file is one embedded asset, with its gzip form when that is smaller.
type file struct {
	name  string
	body  []byte
	gz    []byte
	ctype string
	etag  string
}

var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
}

var compressible = map[string]bool{".html": true, ".js": true, ".mjs": true, ".css": true, ".svg": true, ".json": true, ".txt": true}

// load reads and compresses every asset once.
var load = sync.OnceValues(func() (map[string]*file, error) {
	files := map[string]*file{}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "dist/")
		ext := path.Ext(name)
		sum := sha256.Sum256(body)
		f := &file{name: name, body: body, ctype: contentTypes[ext], etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		if compressible[ext] && len(body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				f.gz = buf.Bytes()
			}
		}
		files[name] = f
		return nil
	})
	return files, err
})

// IsPage reports whether p is one of the console's page paths (the ones
// answered with index.html so that deep links work).
func IsPage(p string) bool {
	p = strings.TrimSuffix(p, "/")
	switch p {
	case "", "/map", "/traces", "/profile", "/insights":
		return true
	}
	for _, prefix := range []string{"/traces/", "/insights/"} {
		if id, ok := strings.CutPrefix(p, prefix); ok {
			return id != "" && !strings.Contains(id, "/")
		}
	}
	return false
}

// Handler serves the console. It answers GET and HEAD only: page paths
// get index.html (never cached, so a new binary's assets are picked up),
// /assets/ files are cached for a year (their names change with their
// content), anything else is 404.
func Handler() http.Handler {
	files, err := load()
	if err != nil || files["index.html"] == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "console assets missing from this build (run `npm ci && npm run build` in web/)", http.StatusNotFound)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		var f *file
		switch {
		case IsPage(r.URL.Path):
			f = files["index.html"]
			h.Set("Cache-Control", "no-cache")
		default:
			name := strings.TrimPrefix(r.URL.Path, "/")
			f = files[name]
			if f == nil || name == "index.html" {
				http.NotFound(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") {
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				h.Set("Cache-Control", "no-cache")
			}
		}
		h.Set("Content-Type", f.ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if f.ctype == contentTypes[".html"] {
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
			h.Set("X-Frame-Options", "DENY")
		}
		body, etag := f.body, f.etag
		if f.gz != nil {
			h.Add("Vary", "Accept-Encoding")
			if acceptsGzip(r.Header.Get("Accept-Encoding")) {
				body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
				h.Set("Content-Encoding", "gzip")
			}
		}
		h.Set("ETag", etag)
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

package httpguard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/httpguard"
)

func TestWrap(t *testing.T) {
	type req struct {
		method, host, origin, site string
	}
	cases := []struct {
		name   string
		addr   string
		allow  []string
		req    req
		reason string // "" = passes
	}{
		{"cli POST", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "", ""}, ""},
		{"localhost name", "127.0.0.1:2000", nil, req{"POST", "localhost:2000", "", ""}, ""},
		{"other loopback IP", "127.0.0.1:2000", nil, req{"GET", "127.0.0.2:2000", "", ""}, ""},
		{"ipv6 loopback", "[::1]:2000", nil, req{"GET", "[::1]:2000", "", ""}, ""},
		{"localhost on ipv6 loopback", "[::1]:2000", nil, req{"GET", "LOCALHOST:2000", "", ""}, ""},
		{"rebinding name", "127.0.0.1:2000", nil, req{"GET", "evil.example:2000", "", ""}, httpguard.ReasonHost},
		{"rebinding name, no port", "127.0.0.1:2000", nil, req{"GET", "evil.example", "", ""}, httpguard.ReasonHost},
		{"another port (a port mapping)", "127.0.0.1:2000", nil, req{"GET", "127.0.0.1:8080", "", ""}, ""},
		{"no port", "127.0.0.1:2000", nil, req{"GET", "localhost", "", ""}, ""},
		{"localhost when bound to all", "0.0.0.0:2000", nil, req{"POST", "localhost:8080", "", ""}, ""},
		{"rebinding name when bound to all", "0.0.0.0:2000", nil, req{"POST", "evil.example:2000", "", ""}, httpguard.ReasonHost},
		{"a subdomain of localhost", "127.0.0.1:2000", nil, req{"GET", "evil.localhost:2000", "", ""}, httpguard.ReasonHost},
		{"localhost on a public address", "192.0.2.7:2000", nil, req{"GET", "localhost:2000", "", ""}, httpguard.ReasonHost},
		{"bound IP", "192.0.2.7:2000", nil, req{"GET", "192.0.2.7:2000", "", ""}, ""},
		{"another IP", "192.0.2.7:2000", nil, req{"GET", "192.0.2.8:2000", "", ""}, httpguard.ReasonHost},
		{"any IP when bound to all", "0.0.0.0:2000", nil, req{"GET", "192.0.2.8:2000", "", ""}, ""},
		{"a name when bound to all", "[::]:2000", nil, req{"GET", "box.example:2000", "", ""}, httpguard.ReasonHost},
		{"allowed name, any port", "0.0.0.0:2000", []string{"Box.Example"}, req{"POST", "box.example:443", "", ""}, ""},
		{"allowed name:port", "0.0.0.0:2000", []string{"box.example:8080"}, req{"POST", "box.example:8080", "", ""}, ""},
		{"allowed name:port, other port", "0.0.0.0:2000", []string{"box.example:8080"}, req{"POST", "box.example:8081", "", ""}, httpguard.ReasonHost},
		{"any host", "127.0.0.1:2000", []string{"*"}, req{"POST", "whatever.example", "", ""}, ""},

		{"cross-site POST", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "", "cross-site"}, httpguard.ReasonCrossSite},
		{"same-site POST (another port)", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "", "same-site"}, httpguard.ReasonCrossSite},
		{"cross-site DELETE", "127.0.0.1:2000", nil, req{"DELETE", "127.0.0.1:2000", "", "cross-site"}, httpguard.ReasonCrossSite},
		{"cross-site GET", "127.0.0.1:2000", nil, req{"GET", "127.0.0.1:2000", "", "cross-site"}, ""},
		{"same-origin POST", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "http://127.0.0.1:2000", "same-origin"}, ""},
		{"user-typed", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "", "none"}, ""},
		{"foreign Origin", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "http://127.0.0.1:3000", ""}, httpguard.ReasonOrigin},
		{"foreign Origin, same-origin claimed", "127.0.0.1:2000", nil, req{"PUT", "127.0.0.1:2000", "https://evil.example", "same-origin"}, httpguard.ReasonOrigin},
		{"null Origin", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "null", ""}, httpguard.ReasonOrigin},
		{"https Origin on http", "127.0.0.1:2000", nil, req{"POST", "127.0.0.1:2000", "https://127.0.0.1:2000", ""}, httpguard.ReasonOrigin},
		{"own Origin", "127.0.0.1:80", nil, req{"POST", "localhost", "http://localhost:80", ""}, ""},
		{"own Origin, default port", "127.0.0.1:80", nil, req{"POST", "localhost:80", "http://LOCALHOST", ""}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := metrics.NewSet()
			reached := false
			h := httpguard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }),
				httpguard.Options{Addr: c.addr, AllowedHosts: c.allow, Metrics: ms})
			r := httptest.NewRequest(c.req.method, "/CreateGroup", strings.NewReader(`{"GroupName":"g"}`))
			r.Host = c.req.host
			r.Header.Set("Content-Type", "text/plain")
			if c.req.origin != "" {
				r.Header.Set("Origin", c.req.origin)
			}
			if c.req.site != "" {
				r.Header.Set("Sec-Fetch-Site", c.req.site)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if c.reason == "" {
				if !reached || w.Code != 200 {
					t.Fatalf("refused (%d %s); want it through", w.Code, w.Body)
				}
				return
			}
			if reached {
				t.Fatal("reached the handler; want it refused")
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("refusal is not JSON: %v: %s", err, w.Body)
			}
			if w.Code != 403 || w.Header().Get("x-amzn-ErrorType") != "AccessDeniedException" || body["__type"] != "AccessDeniedException" || body["message"] == "" {
				t.Errorf("refusal: %d %v %s; want 403 AccessDeniedException with a message", w.Code, w.Header(), w.Body)
			}
			var prom strings.Builder
			ms.WritePrometheus(&prom)
			want := `counterspy_http_requests_refused_total{reason="` + c.reason + `"} 1`
			if !strings.Contains(prom.String(), want) {
				t.Errorf("metrics lack %s:\n%s", want, prom.String())
			}
		})
	}
}

// FuzzWrap sends arbitrary Host, Origin and Sec-Fetch-Site headers: the
// guard never panics, a refusal is always X-Ray's 403 envelope, and a
// cross-site mutating request never reaches the handler.
func FuzzWrap(f *testing.F) {
	f.Add(false, "POST", "127.0.0.1:2000", "http://127.0.0.1:2000", "same-origin")
	f.Add(true, "POST", "[::1]:2000", "null", "cross-site")
	f.Add(false, "GET", "evil.example", "", "")
	f.Add(true, "PUT", "LOCALHOST:2000", "http://[::1", "same-site")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	opts := httpguard.Options{AllowedHosts: []string{"box.example", "other.example:8080"}}
	loopback, all := opts, opts
	loopback.Addr, all.Addr = "127.0.0.1:2000", "[::]:2000"
	guards := map[bool]http.Handler{false: httpguard.Wrap(ok, loopback), true: httpguard.Wrap(ok, all)}
	f.Fuzz(func(t *testing.T, allInterfaces bool, method, host, origin, site string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Method, r.Host = method, host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		w := httptest.NewRecorder()
		guards[allInterfaces].ServeHTTP(w, r)
		if w.Code == 200 {
			if (site == "cross-site" || site == "same-site") && method != "GET" && method != "HEAD" && method != "OPTIONS" {
				t.Fatalf("%s from a %s page reached the handler", method, site)
			}
			return
		}
		var body map[string]string
		if w.Code != 403 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body["__type"] != "AccessDeniedException" {
			t.Fatalf("refusal %d %s", w.Code, w.Body)
		}
	})
}

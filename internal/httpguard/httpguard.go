// Package httpguard keeps a web browser from being turned against a
// Counterspy listener: it refuses requests whose Host header names someone
// else (DNS rebinding) and mutating requests that a browser sends on behalf
// of another site (cross-site request forgery), whatever their Content-Type.
//
// Browsers mark every request with where it comes from: Fetch Metadata's
// Sec-Fetch-Site (https://www.w3.org/TR/fetch-metadata/) and, on every
// cross-origin POST, Origin (https://fetch.spec.whatwg.org/#origin-header).
// The AWS CLI, the AWS SDKs, the X-Ray daemon and the OTel exporters send
// neither, so they pass untouched. See docs/security.md.
package httpguard

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Options configures Wrap.
type Options struct {
	// Addr is the address the listener is bound to (host:port, as
	// net.Listener.Addr().String() gives it). Host headers naming this
	// IP, or a loopback name when it is a loopback address, are allowed.
	Addr string
	// AllowedHosts are further names the Host header may carry: "name"
	// (any port) or "name:port". "*" turns the Host check off (for a
	// reverse proxy that rewrites Host; DNS rebinding is then its job).
	AllowedHosts []string
	// Metrics, if set, counts refusals by reason:
	// counterspy_http_requests_refused_total{reason}.
	Metrics *metrics.Set
	// Logger, if set, logs refusals at debug level.
	Logger *slog.Logger
}

// Reasons a request is refused, the values of the metric's reason label.
const (
	ReasonHost      = "host"
	ReasonCrossSite = "cross-site"
	ReasonOrigin    = "origin"
)

type guard struct {
	next     http.Handler
	ip       net.IP // the bound IP; nil when unparsable
	anyHost  bool
	names    map[string]bool // lower-case names allowed on any port
	hostport map[string]bool // lower-case name:port allowed exactly
	refused  map[string]*metrics.Counter
	log      *slog.Logger
}

// Wrap returns h guarded: a request whose Host is not this server's is
// refused; so is a request with a method other than GET, HEAD or OPTIONS
// whose Sec-Fetch-Site is cross-site or same-site, or whose Origin is not
// the request's own. Refusals answer 403 with X-Ray's error envelope
// (x-amzn-ErrorType: AccessDeniedException, {"__type", "message"}). No
// CORS headers are ever added: other origins cannot read any answer.
func Wrap(h http.Handler, o Options) http.Handler {
	g := &guard{next: h, names: map[string]bool{}, hostport: map[string]bool{}, refused: map[string]*metrics.Counter{}, log: o.Logger}
	if host, _, err := net.SplitHostPort(o.Addr); err == nil {
		g.ip = net.ParseIP(host)
		if g.ip == nil && host != "" {
			g.names[strings.ToLower(host)] = true
		}
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
		case h == "*":
			g.anyHost = true
		case strings.Contains(h, ":") && !strings.HasSuffix(h, "]"):
			if _, _, err := net.SplitHostPort(h); err == nil {
				g.hostport[h] = true
			} else {
				g.names[strings.Trim(h, "[]")] = true // a bare IPv6 address
			}
		default:
			g.names[strings.Trim(h, "[]")] = true
		}
	}
	if o.Metrics != nil {
		for _, r := range []string{ReasonHost, ReasonCrossSite, ReasonOrigin} {
			g.refused[r] = o.Metrics.GetOrCreateCounter(fmt.Sprintf(`counterspy_http_requests_refused_total{reason=%q}`, r))
		}
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		g.refuse(w, r, ReasonHost, fmt.Sprintf("the Host header %q does not name this server (its address or a name given with --allowed-hosts)", r.Host))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		// Safe methods change nothing, and without CORS headers a page on
		// another origin cannot read the answer.
	default:
		switch site := r.Header.Get("Sec-Fetch-Site"); site {
		case "", "same-origin", "none":
		default:
			g.refuse(w, r, ReasonCrossSite, fmt.Sprintf("%s %s from a web page on another site (Sec-Fetch-Site: %s) is refused", r.Method, r.URL.Path, site))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
			g.refuse(w, r, ReasonOrigin, fmt.Sprintf("%s %s from a web page on origin %q, not this server's, is refused", r.Method, r.URL.Path, origin))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// hostAllowed reports whether a Host header names this server. An IP
// literal must be the bound IP (any IP when bound to all interfaces, any
// loopback IP when bound to loopback); a name must be "localhost" (which
// browsers never resolve through DNS) unless bound to one other IP, or one
// of the allowed names. DNS rebinding needs a name of the attacker's, so
// ports are not compared: behind a port mapping (docker -p 8080:2000) Host
// names another port than the bound one.
func (g *guard) hostAllowed(hostHeader string) bool {
	if g.anyHost || hostHeader == "" { // HTTP/1.0 without Host: no browser sends that
		return true
	}
	hostHeader = strings.ToLower(hostHeader)
	if g.hostport[hostHeader] {
		return true
	}
	host, _, err := net.SplitHostPort(hostHeader)
	if err != nil {
		host = strings.Trim(hostHeader, "[]")
	}
	if g.names[host] {
		return true
	}
	if g.ip == nil {
		return false
	}
	if host == "localhost" {
		return g.ip.IsLoopback() || g.ip.IsUnspecified()
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return false
	case g.ip.IsUnspecified():
		return true
	case g.ip.IsLoopback():
		return ip.IsLoopback()
	default:
		return ip.Equal(g.ip)
	}
}

// sameOrigin reports whether an Origin header is the request's own
// scheme://host: a page this server served (the console).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false // "null" (sandboxed or file: pages) and anything malformed
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if !strings.EqualFold(u.Scheme, scheme) {
		return false
	}
	return strings.EqualFold(withPort(u.Host, scheme), withPort(r.Host, scheme))
}

func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(host, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

func (g *guard) refuse(w http.ResponseWriter, r *http.Request, reason, msg string) {
	if c := g.refused[reason]; c != nil {
		c.Inc()
	}
	if g.log != nil {
		g.log.Debug("request refused", "reason", reason, "method", r.Method, "path", r.URL.Path, "host", r.Host,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "remote", r.RemoteAddr)
	}
	w.Header().Set("x-amzn-ErrorType", "AccessDeniedException")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"AccessDeniedException", msg})
}

package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/auth"
	"github.com/counterspy/counterspy/internal/tlsreload"
)

// Who gets in (docs/security-auth.md): loopback by default; an auth file for
// the HTTP API, --udp-allow for the daemon protocol, or --insecure-no-auth
// to expose a listener anyway.

// Networks are source networks (--udp-allow).
type Networks = []netip.Prefix

// security is what prepareSecurity set up from the Config.
type security struct {
	keys       *auth.Keys          // nil without an auth file
	authn      *auth.Authenticator // built by secure, with the server's metrics
	loginToken string
	tls        *tlsreload.Reloader // nil without --tls-cert
	udpAllow   []netip.Prefix      // nil: every source
	now        func() time.Time
}

// loopbackNets are always allowed on UDP: this machine's SDKs and the
// in-process Lambda emulator.
var loopbackNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// prepareSecurity loads the auth file and the TLS pair and refuses exposed,
// unprotected listeners, before anything is opened or created.
func prepareSecurity(cfg Config) (security, error) {
	var sec security
	log := cfg.Logger
	if cfg.AuthFile != "" {
		k, err := auth.LoadKeys(cfg.AuthFile)
		if err != nil {
			return sec, err
		}
		sec.keys = k
		if fi, err := os.Stat(cfg.AuthFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the auth file holds secrets and other users can read it; chmod 600 it", "file", cfg.AuthFile, "mode", fi.Mode().Perm().String())
		}
	}
	httpAddr, udpAddr := cfg.Addr, cfg.Addr
	if cfg.HTTPAddr != "" {
		httpAddr = cfg.HTTPAddr
	}
	if cfg.UDPAddr != "" {
		udpAddr = cfg.UDPAddr
	}
	listeners := []auth.Listener{
		{Name: "HTTP API", Addr: httpAddr, Protected: sec.keys != nil},
		{Name: "UDP segment receiver", Addr: udpAddr, Protected: len(cfg.UDPAllow) > 0,
			Remedy: "--udp-allow CIDR,... to name the networks that may send segments, as the daemon protocol has no credentials"},
	}
	if !otlpOff(cfg.OTLPHTTPAddr) {
		listeners = append(listeners, auth.Listener{Name: "OTLP/HTTP receiver", Addr: cfg.OTLPHTTPAddr, Protected: sec.keys != nil})
	}
	if !otlpOff(cfg.OTLPGRPCAddr) {
		listeners = append(listeners, auth.Listener{Name: "OTLP/gRPC receiver", Addr: cfg.OTLPGRPCAddr, Protected: sec.keys != nil})
	}
	exposed, err := auth.CheckListeners(listeners, cfg.InsecureNoAuth)
	if err != nil {
		return sec, err
	}
	for _, l := range exposed {
		log.Warn("--insecure-no-auth: listening where other machines can reach it, without authentication",
			"listener", l.Name, "addr", l.Addr)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return sec, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if cfg.TLSCert != "" {
		r, err := tlsreload.New(cfg.TLSCert, cfg.TLSKey, log)
		if err != nil {
			return sec, err
		}
		sec.tls = r
	}
	if len(cfg.UDPAllow) > 0 {
		sec.udpAllow = append(append([]netip.Prefix{}, cfg.UDPAllow...), loopbackNets...)
	}
	if sec.keys != nil {
		sec.loginToken = cfg.LoginToken
		if sec.loginToken == "" {
			sec.loginToken = auth.NewLoginToken()
		}
	}
	sec.now = cfg.authNow
	return sec, nil
}

// secure puts TLS on the HTTP listener and the authentication middleware in
// front of the routes: the console's pages and /healthz are public,
// everything else (the X-Ray and Lambda APIs, logs, metrics) needs
// credentials.
func (s *Server) secure(mux *http.ServeMux, a *api.API) http.Handler {
	if s.sec.tls != nil {
		cfg := s.sec.tls.Config()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		s.httpLn = tls.NewListener(s.httpLn, cfg)
	}
	if s.sec.keys == nil {
		return mux
	}
	authn := auth.New(auth.Options{Keys: s.sec.keys, LoginToken: s.sec.loginToken, Metrics: s.metrics, Logger: s.log,
		Now: s.sec.now, Unsigned: s.daemonClient})
	s.sec.authn = authn
	return authn.MiddlewareWith(mux, func(r *http.Request) bool {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return false
		}
		_, pattern := mux.Handler(r)
		return pattern == "GET /healthz" || (pattern == "/" && !a.Handles(r.URL.Path))
	})
}

// daemonClient lets in the X-Ray SDKs' sampling calls: they send
// GetSamplingRules and GetSamplingTargets unsigned to the daemon address,
// whose proxy signs them for AWS
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon.html). Here
// the server is the daemon, so these two calls are taken unsigned from the
// sources UDP segments are taken from: loopback and --udp-allow.
func (s *Server) daemonClient(r *http.Request) (auth.Principal, bool) {
	if r.Method != http.MethodPost || (r.URL.Path != "/GetSamplingRules" && r.URL.Path != "/SamplingTargets") {
		return auth.Principal{}, false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return auth.Principal{}, false
	}
	ip := ap.Addr().Unmap()
	allowed := ip.IsLoopback()
	for _, p := range s.sec.udpAllow {
		allowed = allowed || p.Contains(ip)
	}
	if !allowed {
		return auth.Principal{}, false
	}
	return auth.Principal{Name: "daemon-client " + ip.String(), Role: auth.RoleWrite}, true
}

// ConsoleURL is the console's address; with an auth file, the login URL
// that sets the session cookie (like Jupyter's ?token=).
func (s *Server) ConsoleURL() string {
	scheme := "http"
	if s.sec.tls != nil {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(s.HTTPAddr())
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(host, port))
	if s.sec.loginToken != "" {
		u += "?token=" + s.sec.loginToken
	}
	return u
}

// ParseCIDRs reads --udp-allow's comma-separated networks; a bare address
// is a network of one.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q: want a network such as 10.0.0.0/8 or an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

package auth

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Listener is one address the server binds, for CheckListeners.
type Listener struct {
	// Name says what listens there ("HTTP API", "UDP segments", "OTLP/gRPC").
	Name string
	// Addr is host:port as given to the listener.
	Addr string
	// Protected is true when every request on it must carry credentials
	// (an auth file is loaded) or its sources are restricted (UDP's
	// --udp-allow).
	Protected bool
	// Remedy names how to protect this listener, for the refusal message.
	// Default: "--auth-file FILE".
	Remedy string
}

// IsLoopback reports whether a listen address only accepts connections from
// this machine: its host is a loopback IP (127.0.0.0/8, ::1) or localhost.
// An empty host, 0.0.0.0 and :: listen on every interface, so they are not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckListeners refuses to expose an unprotected listener: every listener
// on a non-loopback address must be Protected, unless insecure
// (--insecure-no-auth) says the operator knows. It returns the unprotected
// exposed listeners (for insecure's warning) and, without insecure, an
// error naming the ways on.
func CheckListeners(ls []Listener, insecure bool) (exposed []Listener, err error) {
	for _, l := range ls {
		if !l.Protected && !IsLoopback(l.Addr) {
			exposed = append(exposed, l)
		}
	}
	if len(exposed) == 0 || insecure {
		return exposed, nil
	}
	var b strings.Builder
	for i, l := range exposed {
		if i > 0 {
			b.WriteString("; ")
		}
		remedy := l.Remedy
		if remedy == "" {
			remedy = "--auth-file FILE"
		}
		fmt.Fprintf(&b, "the %s on %s is reachable from other machines and nobody has to sign in (use %s)", l.Name, l.Addr, remedy)
	}
	return exposed, fmt.Errorf("refusing to start: %s; or pass --insecure-no-auth to serve it open anyway; or bind a loopback address such as 127.0.0.1", b.String())
}

// Package connlimit caps the connections a listener holds open at once.
// Unlike golang.org/x/net/netutil.LimitListener, which stops accepting (so
// excess connections queue in the kernel's backlog and then time out), a
// connection past the limit is accepted and closed at once: the client
// learns immediately, and the process never runs out of file descriptors
// however many clients hold connections open. See docs/security.md.
package connlimit

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

// DefaultMax is the limit Counterspy's listeners use unless told otherwise:
// far below the file descriptors Go raises its soft limit to at start, far
// above what SDKs and consoles open.
const DefaultMax = 4096

// Listener is a net.Listener that holds at most Max connections open.
type Listener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused *metrics.Counter
}

// Wrap limits ln to max open connections (max <= 0: no limit). Refused
// connections are counted in counterspy_connections_refused_total{listener},
// open ones in counterspy_connections_open{listener}, when ms is not nil.
func Wrap(ln net.Listener, max int, name string, ms *metrics.Set) *Listener {
	l := &Listener{Listener: ln, max: int64(max)}
	if ms != nil {
		l.refused = ms.GetOrCreateCounter(`counterspy_connections_refused_total{listener="` + name + `"}`)
		ms.GetOrCreateGauge(`counterspy_connections_open{listener="`+name+`"}`, func() float64 { return float64(l.open.Load()) })
	}
	return l
}

// Accept returns the next connection within the limit, closing those past it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.open.Add(1); l.max > 0 && n > l.max {
			l.open.Add(-1)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a lingering FIN_WAIT: nothing is owed to this client
			}
			c.Close()
			if l.refused != nil {
				l.refused.Inc()
			}
			continue
		}
		return &conn{Conn: c, l: l}, nil
	}
}

// Open is the number of connections now open.
func (l *Listener) Open() int { return int(l.open.Load()) }

type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

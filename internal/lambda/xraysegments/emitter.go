package xraysegments

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Emitter sends segment documents to an X-Ray daemon address over UDP, one
// datagram per document, exactly like an SDK. There is no acknowledgement:
// a send error is returned but the segment is lost, as with any SDK.
type Emitter struct {
	conn *net.UDPConn
	pool sync.Pool
}

// NewEmitter dials the daemon address (host:port, UDP).
func NewEmitter(addr string) (*Emitter, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("x-ray daemon address %q: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("x-ray daemon address %q: %w", addr, err)
	}
	e := &Emitter{conn: conn}
	e.pool.New = func() any { b := make([]byte, 0, 2048); return &b }
	return e, nil
}

// Addr is the daemon address segments go to.
func (e *Emitter) Addr() string { return e.conn.RemoteAddr().String() }

// Send sends one document built by appendDoc.
func (e *Emitter) Send(appendDoc func([]byte) []byte) error {
	bp := e.pool.Get().(*[]byte)
	b := append((*bp)[:0], daemonHeader...)
	b = appendDoc(b)
	_, err := e.conn.Write(b)
	*bp = b
	e.pool.Put(bp)
	return err
}

// SendService sends the AWS::Lambda segment.
func (e *Emitter) SendService(s *Service) error { return e.Send(s.AppendJSON) }

// SendFunction sends the AWS::Lambda::Function segment.
func (e *Emitter) SendFunction(f *Function) error { return e.Send(f.AppendJSON) }

// Close closes the socket.
func (e *Emitter) Close() error { return e.conn.Close() }

// IDs generates trace and segment IDs the way the SDKs do; safe for
// concurrent use.
type IDs struct {
	mu sync.Mutex
	g  *xrayid.Generator
}

// NewIDs returns a generator seeded from the system's random source.
func NewIDs() *IDs {
	var seed [8]byte
	crand.Read(seed[:])
	return &IDs{g: xrayid.NewGenerator(binary.LittleEndian.Uint64(seed[:]))}
}

// Trace returns a new trace ID for a request received at t.
func (g *IDs) Trace(t time.Time) xrayid.TraceID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.g.TraceID(t)
}

// Segment returns a new segment ID.
func (g *IDs) Segment() xrayid.SegmentID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.g.SegmentID()
}

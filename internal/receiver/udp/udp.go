// Package udp receives segment documents over the X-Ray daemon protocol: one
// datagram is a JSON header line, a newline, and one segment document.
package udp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/net/ipv4"

	"github.com/counterspy/counterspy/internal/segment"
)

// Sink takes decoded segments; it returns false when it had to drop them.
// The receiver gives up ownership of segs and their bytes.
type Sink interface {
	Submit(segs []segment.Segment) bool
}

// A Sink that is also a Shedder lets the receiver drop datagrams before
// decoding them when it would only drop what they hold: under a flood,
// decoding what cannot be queued would take the CPU the writer needs.
type Shedder interface {
	// Shed reports whether documents of this many bytes would be dropped
	// now; if so it counts segments as dropped.
	Shed(bytes, segments int) bool
}

func shedderOf(s Sink) Shedder {
	sh, _ := s.(Shedder)
	return sh
}

// Options tunes a Receiver. Zero values take the defaults.
type Options struct {
	// Readers is the number of sockets (SO_REUSEPORT) and reading
	// goroutines. Default GOMAXPROCS.
	Readers int
	// BatchSize is how many datagrams one read system call may return.
	// Default 64.
	BatchSize int
	// SocketBuffer is the requested kernel receive buffer per socket, so
	// bursts wait in the kernel instead of being dropped there. Default 16 MiB
	// (as root it may exceed net.core.rmem_max; otherwise the kernel caps it).
	SocketBuffer int
	// MaxDocumentSize is the largest accepted document. Default 64 KiB.
	MaxDocumentSize int
	// Decoders is the number of decoding goroutines. Reading and decoding
	// are split so that one busy client (one socket under SO_REUSEPORT's
	// hashing) can still use every core. Default GOMAXPROCS.
	Decoders int
	// Allow, when not empty, lists the source networks accepted: the
	// daemon protocol has no credentials, so on an address other machines
	// can reach the source address is all there is to check. Datagrams
	// from elsewhere are dropped undecoded and counted with the reason
	// SourceNotAllowed. (The server adds the loopback networks, for this
	// machine's SDKs and its in-process Lambda emulator.)
	Allow []netip.Prefix
	// Retention rejects segments already past it, and Window's bound on
	// future times applies (segment.Window). 0: no lower bound.
	Retention time.Duration
}

func (o *Options) setDefaults() {
	if o.Readers <= 0 {
		o.Readers = runtime.GOMAXPROCS(0)
	}
	if !multiSocket {
		o.Readers = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.SocketBuffer <= 0 {
		o.SocketBuffer = 16 << 20
	}
	if o.MaxDocumentSize <= 0 {
		o.MaxDocumentSize = segment.MaxDocumentSize
	}
	if o.Decoders <= 0 {
		o.Decoders = runtime.GOMAXPROCS(0)
	}
}

// Reasons a datagram is rejected before its document is decoded.
const (
	reasonMissingHeader = "MissingHeader"
	reasonInvalidHeader = "InvalidHeader"
	reasonNotAllowed    = "SourceNotAllowed"
)

// Receiver owns the sockets and the reading goroutines.
type Receiver struct {
	conns   []net.PacketConn
	sink    Sink
	shedder Shedder // the sink, if it is one
	opts    Options
	log     *slog.Logger
	wg      sync.WaitGroup

	// packets carries what the readers read to the decoders. When it is
	// full, readers wait and datagrams queue in the kernel's socket buffer;
	// what overflows that is counted from SO_RXQ_OVFL.
	packets  chan packets
	decoders sync.WaitGroup

	datagrams, received, dropped, kernelDrops *metrics.Counter
	rejected                                  map[string]*metrics.Counter
	ms                                        *metrics.Set
	rejectLog                                 *rateLog
}

// packets is one read's worth of datagrams, copied into one slab.
type packets struct {
	slab  []byte
	ends  []int
	addrs []net.Addr
}

// Listen binds addr (host:port; port 0 picks a free one) and starts reading.
func Listen(addr string, sink Sink, opts Options, ms *metrics.Set, log *slog.Logger) (*Receiver, error) {
	opts.setDefaults()
	r := &Receiver{
		sink:        sink,
		shedder:     shedderOf(sink),
		opts:        opts,
		log:         log,
		datagrams:   ms.GetOrCreateCounter(`counterspy_udp_datagrams_received_total`),
		received:    ms.GetOrCreateCounter(`counterspy_segments_received_total{protocol="udp"}`),
		dropped:     ms.GetOrCreateCounter(`counterspy_udp_segments_not_queued_total`),
		kernelDrops: ms.GetOrCreateCounter(`counterspy_udp_kernel_drops_total`),
		packets:     make(chan packets, 4*opts.Readers),
		rejected:    map[string]*metrics.Counter{},
		ms:          ms,
		rejectLog:   newRateLog(log, 10*time.Second),
	}
	for _, reason := range append([]string{reasonMissingHeader, reasonInvalidHeader, reasonNotAllowed}, segment.Codes...) {
		r.rejected[reason] = ms.GetOrCreateCounter(fmt.Sprintf(`counterspy_segments_rejected_total{protocol="udp",reason=%q}`, reason))
	}
	lc := net.ListenConfig{Control: reusePort}
	for i := range opts.Readers {
		c, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			r.closeConns()
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		if i == 0 {
			// The other sockets must share the port the first one got.
			addr = c.LocalAddr().String()
		}
		setReceiveBuffer(c, opts.SocketBuffer, log)
		r.conns = append(r.conns, c)
	}
	for range opts.Decoders {
		r.decoders.Add(1)
		go r.decode()
	}
	for _, c := range r.conns {
		r.wg.Add(1)
		go r.read(c)
	}
	return r, nil
}

// Addr is the bound address.
func (r *Receiver) Addr() net.Addr { return r.conns[0].LocalAddr() }

// Close stops reading and waits for everything read to be decoded and
// handed off.
func (r *Receiver) Close() error {
	err := r.closeConns()
	r.wg.Wait()
	close(r.packets)
	r.decoders.Wait()
	return err
}

func (r *Receiver) closeConns() error {
	var errs []error
	for _, c := range r.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func (r *Receiver) read(c net.PacketConn) {
	defer r.wg.Done()
	pc := ipv4.NewPacketConn(c) // ReadBatch is recvmmsg on Linux; it also works on IPv6 sockets.
	msgs := make([]ipv4.Message, r.opts.BatchSize)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 64<<10)}
		msgs[i].OOB = make([]byte, oobSize)
	}
	var lastDrops uint32
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Warn("udp read failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		r.datagrams.Add(n)
		if drops, ok := kernelDrops(msgs[n-1].OOB[:msgs[n-1].NN]); ok {
			r.kernelDrops.Add(int(drops - lastDrops))
			lastDrops = drops
		}
		if len(r.opts.Allow) > 0 {
			n = r.filterSources(msgs[:n])
			if n == 0 {
				continue
			}
		}
		// One allocation holds this read's datagrams; accepted documents
		// keep pointing into it until the store has copied them.
		total := 0
		for i := range n {
			total += msgs[i].N
		}
		if r.shed(total, n) {
			continue
		}
		p := packets{slab: make([]byte, 0, total), ends: make([]int, n), addrs: make([]net.Addr, n)}
		for i := range n {
			p.slab = append(p.slab, msgs[i].Buffers[0][:msgs[i].N]...)
			p.ends[i] = len(p.slab)
			p.addrs[i] = msgs[i].Addr
		}
		r.packets <- p
	}
}

// filterSources moves the datagrams from allowed sources to the front of
// msgs (swapping buffers, copying nothing) and returns how many there are.
func (r *Receiver) filterSources(msgs []ipv4.Message) int {
	kept := 0
	for i := range msgs {
		if r.allowed(msgs[i].Addr) {
			msgs[kept], msgs[i] = msgs[i], msgs[kept]
			kept++
			continue
		}
		r.reject(reasonNotAllowed, "source address not in --udp-allow", msgs[i].Addr)
	}
	return kept
}

func (r *Receiver) allowed(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range r.opts.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (r *Receiver) decode() {
	defer r.decoders.Done()
	dec := segment.NewDecoder(r.opts.MaxDocumentSize)
	for p := range r.packets {
		if r.shed(len(p.slab), len(p.ends)) {
			continue
		}
		var segs []segment.Segment
		start := 0
		for i, end := range p.ends {
			datagram := p.slab[start:end:end]
			start = end
			body, reason := splitDatagram(datagram)
			if reason != "" {
				r.reject(reason, "", p.addrs[i])
				continue
			}
			before := len(segs)
			var err error
			segs, err = dec.Decode(segs, body)
			if err != nil {
				var se *segment.Error
				if errors.As(err, &se) {
					r.reject(se.Code, se.Message, p.addrs[i])
				} else {
					r.reject(segment.CodeInvalidSegment, err.Error(), p.addrs[i])
				}
				continue
			}
			if e := r.checkTimes(segs[before:]); e != nil {
				clear(segs[before:])
				segs = segs[:before]
				r.reject(e.Code, e.Message, p.addrs[i])
				continue
			}
			r.received.Add(len(segs) - before)
			for _, s := range segs[before:] {
				for _, rp := range s.Repairs {
					r.ms.GetOrCreateCounter(rp.Metric("udp")).Inc()
				}
			}
		}
		if len(segs) > 0 && !r.sink.Submit(segs) {
			r.dropped.Add(len(segs))
		}
	}
}

// checkTimes applies the plausible-time window to a datagram's segments.
func (r *Receiver) checkTimes(segs []segment.Segment) *segment.Error {
	w, now := segment.Window{Retention: r.opts.Retention}, time.Now()
	for i := range segs {
		if e := w.Check(&segs[i], now); e != nil {
			return e
		}
	}
	return nil
}

// shed drops n datagrams of this many bytes, undecoded, if the sink would
// drop what they hold. Undecoded, a datagram counts as one segment (as nearly
// all are): received, and not queued.
func (r *Receiver) shed(bytes, n int) bool {
	if r.shedder == nil || !r.shedder.Shed(bytes, n) {
		return false
	}
	r.received.Add(n)
	r.dropped.Add(n)
	return true
}

func (r *Receiver) reject(reason, msg string, from net.Addr) {
	r.rejected[reason].Inc()
	r.rejectLog.note(reason, msg, from)
}

// Daemon headers as the SDKs write them; anything else goes through the slow,
// lenient path, as the daemon itself JSON-decodes the header.
var (
	headerGo      = []byte(`{"format": "json", "version": 1}`)
	headerCompact = []byte(`{"format":"json","version":1}`)
)

// splitDatagram returns the document of a datagram, or the reason it is not one.
func splitDatagram(b []byte) (doc []byte, reason string) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, reasonMissingHeader
	}
	header, doc := b[:nl], b[nl+1:]
	if !bytes.Equal(header, headerGo) && !bytes.Equal(header, headerCompact) && !validHeader(header) {
		return nil, reasonInvalidHeader
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, reasonMissingHeader
	}
	return doc, ""
}

func validHeader(b []byte) bool {
	var h struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return false
	}
	return strings.EqualFold(h.Format, "json") && h.Version == 1
}

// rateLog logs rejected datagrams at most once per interval and reason, with
// the number suppressed in between, so a misbehaving client cannot flood logs.
type rateLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	skipped  map[string]int
}

func newRateLog(log *slog.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: log, interval: interval, last: map[string]time.Time{}, skipped: map[string]int{}}
}

func (l *rateLog) note(reason, msg string, from net.Addr) {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.last[reason]) < l.interval {
		l.skipped[reason]++
		l.mu.Unlock()
		return
	}
	skipped := l.skipped[reason]
	l.last[reason] = now
	l.skipped[reason] = 0
	l.mu.Unlock()
	l.log.Warn("rejected udp segment", "reason", reason, "detail", msg, "remote", addrString(from), "suppressed_since_last", skipped)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

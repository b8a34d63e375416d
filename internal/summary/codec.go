package summary

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/counterspy/counterspy/internal/segment"
)

// Binary format, version 2 (all integers uvarints unless said otherwise):
//
//	version byte (1)
//	string table: count, each string's length, then their bytes back to
//	back; the body names the table's i-th string (from 1) as i, "" as 0
//	body: the fields of Summary in declaration order
//
// Every distinct string is stored once and decoding makes one allocation for
// all of them. Times are float64 bit patterns: Start as 8 little-endian
// bytes, other times as the zigzag difference of their bits from a nearby
// time (Start; a call's start for its end; End−Start for Duration, which is
// then one byte). For times of the same era the
// exponent matches and the difference counts ulps (2^-22 s around 2024):
// 3–4 bytes instead of 8, exactly. Other floats are stored byte-reversed as
// a uvarint, short for round values (0, 1, 42). Precomputed node and edge
// flags and response times are not stored: decoding recomputes them from
// the calls. An edge call that is also a node request (the client edge's
// call is the entry segment, an inferred node's request is its edge's call)
// is stored as a reference to that request (to the first node request
// equal to it in what is stored: version 2 has no call IDs to tell equal
// calls apart); an HTTP block equal to the
// trace's is stored as one byte.
//
// Calls carry no segment ID (version 1 stored 8 bytes per call): nothing
// reads a stored call's ID — the summarizer rebuilds a trace from its
// documents, and graphs and filters use a call's times, flags and status —
// and at 8 random bytes per call the IDs were the largest incompressible
// part of an encoding (~30 % of it after zstd on the large scenario,
// docs/scaling.md). Decoded calls have ID 0; the encoder still uses the
// IDs it is given to tell which edge call is which node request.

// FormatVersion is the version byte AppendBinary writes. UnmarshalBinary
// also reads version 1, whose calls hold their IDs.
const FormatVersion = 2

// formatWithCallIDs is the last version that stored call IDs.
const formatWithCallIDs = 1

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// encoder writes the body while it collects the string table.
type encoder struct {
	body  []byte
	table finder[string]
	// reqs indexes node requests by what is stored of them (not their
	// IDs), for edge calls that repeat one.
	reqs map[callKey]reqRef
	http *HTTP // the trace's HTTP
}

type reqRef struct {
	node, j int32 // Nodes[node].Requests[j]
}

// callKey is what the encoding holds of a call, times as bits (so that
// -0 and 0, or NaNs, are told apart exactly as they are stored).
type callKey struct {
	start, end uint64
	status     int
	flags      byte
}

func keyOf(c *Call) callKey {
	return callKey{math.Float64bits(c.Start), math.Float64bits(c.End), c.Status, flags(c.InProgress, c.Error, c.Fault, c.Throttle)}
}

// AppendBinary appends the binary encoding of s to dst.
func (s *Summary) AppendBinary(dst []byte) []byte {
	e := encoders.Get().(*encoder)
	e.body = e.body[:0]
	e.table.reset()
	e.summary(s)
	dst = append(dst, FormatVersion)
	dst = binary.AppendUvarint(dst, uint64(len(e.table.list)))
	for _, str := range e.table.list {
		dst = binary.AppendUvarint(dst, uint64(len(str)))
	}
	for _, str := range e.table.list {
		dst = append(dst, str...)
	}
	dst = append(dst, e.body...)
	e.table.release()
	clear(e.reqs)
	e.http = nil
	if cap(e.body) > 1<<20 {
		e.body = nil
	}
	encoders.Put(e)
	return dst
}

func (e *encoder) uvarint(v uint64) { e.body = binary.AppendUvarint(e.body, v) }
func (e *encoder) int(v int64)      { e.body = binary.AppendVarint(e.body, v) }
func (e *encoder) byte(v byte)      { e.body = append(e.body, v) }
func (e *encoder) len(n int)        { e.uvarint(uint64(n)) }

func (e *encoder) str(s string) {
	if s == "" {
		e.uvarint(0)
		return
	}
	i, _ := e.table.intern(s)
	e.uvarint(uint64(i) + 1)
}

func (e *encoder) strs(ss []string) {
	e.len(len(ss))
	for _, s := range ss {
		e.str(s)
	}
}

// float writes a float byte-reversed, so that the zero low mantissa bytes of
// round values become high zero bytes the uvarint drops.
func (e *encoder) float(f float64) { e.uvarint(bits.ReverseBytes64(math.Float64bits(f))) }

// time writes t relative to base; see the format comment.
func (e *encoder) time(t, base float64) {
	e.int(int64(math.Float64bits(t) - math.Float64bits(base)))
}

func flags(bs ...bool) byte {
	var f byte
	for i, b := range bs {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func (e *encoder) summary(s *Summary) {
	e.body = append(e.body, s.TraceID[:]...)
	e.uvarint(uint64(s.Revision))
	e.uvarint(uint64(s.Documents))
	e.body = binary.LittleEndian.AppendUint64(e.body, math.Float64bits(s.Start))
	e.time(s.End, s.Start)
	e.time(s.Duration, s.End-s.Start) // one byte when it is End-Start
	e.time(s.ResponseTime, s.Duration)
	e.int(s.FirstSeen)
	e.int(s.LastSeen - s.FirstSeen)
	e.byte(flags(s.HasFault, s.HasError, s.HasThrottle, s.IsPartial, s.HasInferred))
	e.int(int64(s.Entry))
	e.http = nil
	e.writeHTTP(&s.HTTP)
	e.http = &s.HTTP

	e.len(len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		e.str(n.Name)
		e.strs(n.Names)
		e.str(n.Type)
		e.str(n.AccountID)
		e.byte(flags(n.Inferred, n.Root))
		e.calls(n.Requests, s.Start)
		e.writeHTTP(&n.HTTP)
	}
	e.indexRequests(s)
	e.len(len(s.Edges))
	for i := range s.Edges {
		ed := &s.Edges[i]
		e.int(int64(ed.From))
		e.int(int64(ed.To))
		e.byte(flags(ed.Link))
		e.len(len(ed.Calls))
		for j := range ed.Calls {
			if r := e.findRequest(&ed.Calls[j]); r != nil {
				e.uvarint(uint64(r.node) + 1)
				e.uvarint(uint64(r.j))
				continue
			}
			e.uvarint(0)
			e.call(&ed.Calls[j], s.Start)
		}
		e.strs(ed.Aliases)
		e.writeHTTP(&ed.HTTP)
	}
	e.len(len(s.Annotations))
	for i := range s.Annotations {
		a := &s.Annotations[i]
		e.str(a.Key)
		e.annotationValue(a.Key, &a.Value)
		e.nodes(a.Nodes)
	}
	e.len(len(s.Users))
	for i := range s.Users {
		e.str(s.Users[i].Name)
		e.nodes(s.Users[i].Nodes)
	}
	e.strs(s.ResourceARNs)
	e.strs(s.InstanceIDs)
	e.strs(s.AvailabilityZones)
	e.rootCauses(s.FaultRootCauses)
	e.rootCauses(s.ErrorRootCauses)
	e.rootCauses(s.ResponseTimeRootCauses)
}

const (
	httpURL = 1 << iota
	httpMethod
	httpUserAgent
	httpClientIP
	httpStatus
	httpSameAsTrace = 0xff
)

// writeHTTP writes a presence byte, then the fields present.
func (e *encoder) writeHTTP(h *HTTP) {
	if e.http != nil && *h == *e.http && *h != (HTTP{}) {
		e.byte(httpSameAsTrace)
		return
	}
	f := flags(h.URL != "", h.Method != "", h.UserAgent != "", h.ClientIP != "", h.Status != 0)
	e.byte(f)
	for i, v := range [4]string{h.URL, h.Method, h.UserAgent, h.ClientIP} {
		if f&(1<<i) != 0 {
			e.str(v)
		}
	}
	if f&httpStatus != 0 {
		e.int(int64(h.Status))
	}
}

// indexRequests indexes every node request by what is stored of it, the
// first of equal ones: an edge call equal to one is stored as a reference
// to it. The choice depends only on what is stored (not on the calls'
// segment IDs, which version 2 does not store), so that encoding a decoded
// summary gives the same bytes again.
func (e *encoder) indexRequests(s *Summary) {
	if e.reqs == nil {
		e.reqs = map[callKey]reqRef{}
	}
	clear(e.reqs)
	for i := range s.Nodes {
		rs := s.Nodes[i].Requests
		for j := range rs {
			k := keyOf(&rs[j])
			if _, dup := e.reqs[k]; !dup {
				e.reqs[k] = reqRef{node: int32(i), j: int32(j)}
			}
		}
	}
}

// findRequest returns a node request equal to c, or nil.
func (e *encoder) findRequest(c *Call) *reqRef {
	if r, ok := e.reqs[keyOf(c)]; ok {
		return &r
	}
	return nil
}

const (
	callInProgress = 1 << iota
	callError
	callFault
	callThrottle
	callNoEnd // End is 0 (in progress)
	callStatus
)

func (e *encoder) calls(cs []Call, base float64) {
	e.len(len(cs))
	for i := range cs {
		e.call(&cs[i], base)
	}
}

func (e *encoder) call(c *Call, base float64) {
	f := flags(c.InProgress, c.Error, c.Fault, c.Throttle, c.End == 0 && !math.Signbit(c.End), c.Status != 0)
	e.byte(f)
	e.time(c.Start, base)
	if f&callNoEnd == 0 {
		e.time(c.End, c.Start)
	}
	if f&callStatus != 0 {
		e.int(int64(c.Status))
	}
}

const (
	annBool = 1 << (iota + 2) // bits 0-1: the type, when below 4
	annString
	annNumber
	annOtherKey  // Value.Key differs from Annotation.Key
	annOtherType // a type byte follows
)

// annotationValue writes a header byte (type, flags), then only the members
// in use.
func (e *encoder) annotationValue(key string, v *segment.Annotation) {
	f := flags(false, false, v.Bool, v.String != "", v.Number != 0 || math.Signbit(v.Number), v.Key != key, v.Type > 3)
	if v.Type <= 3 {
		f |= byte(v.Type)
	}
	e.byte(f)
	if f&annOtherType != 0 {
		e.byte(byte(v.Type))
	}
	if f&annOtherKey != 0 {
		e.str(v.Key)
	}
	if f&annString != 0 {
		e.str(v.String)
	}
	if f&annNumber != 0 {
		e.float(v.Number)
	}
}

func (e *encoder) nodes(ns []int32) {
	e.len(len(ns))
	for _, n := range ns {
		e.int(int64(n))
	}
}

func (e *encoder) rootCauses(rcs []RootCause) {
	e.len(len(rcs))
	for i := range rcs {
		rc := &rcs[i]
		e.byte(flags(rc.ClientImpacting))
		e.len(len(rc.Services))
		for j := range rc.Services {
			sv := &rc.Services[j]
			e.str(sv.Name)
			e.strs(sv.Names)
			e.str(sv.Type)
			e.str(sv.AccountID)
			e.byte(flags(sv.Inferred))
			e.len(len(sv.EntityPath))
			for k := range sv.EntityPath {
				en := &sv.EntityPath[k]
				e.str(en.Name)
				e.byte(flags(en.Remote))
				e.float(en.Coverage)
				e.len(len(en.Exceptions))
				for _, x := range en.Exceptions {
					e.str(x.Name)
					e.str(x.Message)
				}
			}
		}
	}
}

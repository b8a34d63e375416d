package summary

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// ErrCorrupt is returned (wrapped) for an encoding that cannot be decoded.
var ErrCorrupt = errors.New("summary: corrupt encoding")

// UnmarshalBinary decodes an encoding made by AppendBinary into s. It reuses
// s's slices (and those of its nodes, edges, ...) where they are large
// enough, so a scan decoding summary after summary into one Summary barely
// allocates; what a previous decode returned is overwritten. All strings of
// s share one new allocation and none refers to b. On error s holds a
// partial result.
func (s *Summary) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != FormatVersion && b[0] != formatWithCallIDs {
		return fmt.Errorf("summary: unknown format version %d (this build reads versions %d and %d)", b[0], formatWithCallIDs, FormatVersion)
	}
	d := decoder{b: b, off: 1, callIDs: b[0] == formatWithCallIDs}
	d.table()
	d.summary(s)
	if d.err == nil && d.off != len(b) {
		d.fail("trailing bytes")
	}
	return d.err
}

// decoder reads an encoding. Errors are sticky: after the first one every
// read returns zero values and the decode winds down.
type decoder struct {
	b      []byte
	off    int
	err    error
	nNodes int
	// callIDs is set for version 1, whose calls start with their ID.
	callIDs bool
	// The string table. Most summaries have fewer than len(strs) distinct
	// strings; an array in the (stack-allocated) decoder costs no allocation.
	nStrs int
	strs  [64]string
	more  []string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, d.off)
	}
	d.off = len(d.b)
}

// uvarint and int take most single-byte values (counts, string references,
// small deltas) inline.
func (d *decoder) uvarint() uint64 {
	if off := d.off; uint(off) < uint(len(d.b)) {
		if c := d.b[off]; c < 0x80 {
			d.off = off + 1
			return uint64(c)
		}
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() uint64 {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int() int64 {
	if off := d.off; uint(off) < uint(len(d.b)) {
		if c := d.b[off]; c < 0x80 {
			d.off = off + 1
			return int64(c>>1) ^ -int64(c&1)
		}
	}
	return d.intSlow()
}

func (d *decoder) intSlow() int64 {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int32() int32 {
	v := d.int()
	if v != int64(int32(v)) {
		d.fail("integer out of range")
		return 0
	}
	return int32(v)
}

func (d *decoder) byte() byte {
	if off := d.off; uint(off) < uint(len(d.b)) {
		d.off = off + 1
		return d.b[off]
	}
	return d.truncated()
}

func (d *decoder) truncated() byte {
	d.fail("truncated")
	return 0
}

func (d *decoder) fixed64() uint64 {
	if len(d.b)-d.off < 8 {
		d.fail("truncated")
		return 0
	}
	d.off += 8
	return binary.LittleEndian.Uint64(d.b[d.off-8:])
}

// count reads a list length. Every element takes at least a byte, so a
// length beyond the remaining bytes is corrupt (and never allocated).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) {
		d.fail("list longer than the encoding")
		return 0
	}
	return int(n)
}

func (d *decoder) float() float64 { return math.Float64frombits(bits.ReverseBytes64(d.uvarint())) }

func (d *decoder) time(base float64) float64 {
	return math.Float64frombits(math.Float64bits(base) + uint64(d.int()))
}

func (d *decoder) str() string {
	i := d.uvarint()
	if i-1 < uint64(len(d.strs)) && i <= uint64(d.nStrs) {
		return d.strs[i-1]
	}
	return d.strSlow(i)
}

func (d *decoder) strSlow(i uint64) string {
	switch {
	case i == 0:
		return ""
	case i > uint64(d.nStrs):
		d.fail("string reference out of range")
		return ""
	}
	return d.more[i-1-uint64(len(d.strs))]
}

// table reads the string table: every string is a piece of one allocation.
func (d *decoder) table() {
	n := d.count()
	lens, total := d.off, 0
	for range n {
		l := d.uvarint()
		if l > uint64(len(d.b)) || total+int(l) > len(d.b)-d.off {
			d.fail("string longer than the encoding")
			return
		}
		total += int(l)
	}
	if d.err != nil || total > len(d.b)-d.off {
		d.fail("strings longer than the encoding")
		return
	}
	blob := string(d.b[d.off : d.off+total])
	d.off, lens = lens, d.off+total
	if n > len(d.strs) {
		d.more = make([]string, n-len(d.strs))
	}
	pos := 0
	for i := range n {
		l := int(d.uvarint())
		if i < len(d.strs) {
			d.strs[i] = blob[pos : pos+l]
		} else {
			d.more[i-len(d.strs)] = blob[pos : pos+l]
		}
		pos += l
	}
	d.nStrs, d.off = n, lens
}

func (d *decoder) strList(dst []string) []string {
	n := d.count()
	dst = dst[:0]
	for range n {
		dst = append(dst, d.str())
	}
	return dst
}

func (d *decoder) summary(s *Summary) {
	if len(d.b)-d.off < len(s.TraceID) {
		d.fail("truncated")
		return
	}
	d.off += copy(s.TraceID[:], d.b[d.off:])
	s.Revision = uint32(d.uvarint())
	s.Documents = uint32(d.uvarint())
	s.Start = math.Float64frombits(d.fixed64())
	s.End = d.time(s.Start)
	s.Duration = d.time(s.End - s.Start)
	s.ResponseTime = d.time(s.Duration)
	s.FirstSeen = d.int()
	s.LastSeen = s.FirstSeen + d.int()
	f := d.byte()
	s.HasFault, s.HasError, s.HasThrottle, s.IsPartial, s.HasInferred = f&1 != 0, f&2 != 0, f&4 != 0, f&8 != 0, f&16 != 0
	s.Entry = d.int32()
	d.readHTTP(&s.HTTP, nil)

	n := d.count()
	d.nNodes = n
	if s.Entry < -1 || int(s.Entry) >= n {
		d.fail("entry node out of range")
	}
	s.Nodes = resize(s.Nodes, n)
	for i := range s.Nodes {
		nd := &s.Nodes[i]
		nd.Name = d.str()
		nd.Names = d.strList(nd.Names)
		nd.Type = d.str()
		nd.AccountID = d.str()
		f := d.byte()
		nd.Inferred, nd.Root = f&1 != 0, f&2 != 0
		nd.Requests = d.calls(nd.Requests, s.Start)
		d.readHTTP(&nd.HTTP, &s.HTTP)
		nd.aggregate()
	}
	s.Edges = resize(s.Edges, d.count())
	for i := range s.Edges {
		ed := &s.Edges[i]
		ed.From = d.node(-1)
		ed.To = d.node(0)
		ed.Link = d.byte()&1 != 0
		ed.Calls = resize(ed.Calls, d.count())
		for j := range ed.Calls {
			if n := d.uvarint(); n > 0 {
				ed.Calls[j] = d.request(s, n-1, d.uvarint())
			} else {
				d.call(&ed.Calls[j], s.Start)
			}
		}
		ed.Aliases = d.strList(ed.Aliases)
		d.readHTTP(&ed.HTTP, &s.HTTP)
		ed.aggregate()
	}
	s.Annotations = resize(s.Annotations, d.count())
	for i := range s.Annotations {
		a := &s.Annotations[i]
		a.Key = d.str()
		d.annotationValue(a.Key, &a.Value)
		a.Nodes = d.nodes(a.Nodes)
	}
	s.Users = resize(s.Users, d.count())
	for i := range s.Users {
		s.Users[i].Name = d.str()
		s.Users[i].Nodes = d.nodes(s.Users[i].Nodes)
	}
	s.ResourceARNs = d.strList(s.ResourceARNs)
	s.InstanceIDs = d.strList(s.InstanceIDs)
	s.AvailabilityZones = d.strList(s.AvailabilityZones)
	s.FaultRootCauses = d.rootCauses(s.FaultRootCauses)
	s.ErrorRootCauses = d.rootCauses(s.ErrorRootCauses)
	s.ResponseTimeRootCauses = d.rootCauses(s.ResponseTimeRootCauses)
}

// resize returns s with length n, reusing its memory (and that of the
// elements' own slices) when it can; n == 0 keeps a nil s nil.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		ns := make([]T, n)
		copy(ns, s[:cap(s)])
		return ns
	}
	return s[:n]
}

// node reads a node index; min is -1 where the client is allowed.
func (d *decoder) node(min int32) int32 {
	v := d.int32()
	if v < min || int(v) >= d.nNodes {
		d.fail("node index out of range")
		return 0
	}
	return v
}

func (d *decoder) nodes(dst []int32) []int32 {
	n := d.count()
	dst = dst[:0]
	for range n {
		dst = append(dst, d.node(0))
	}
	return dst
}

// readHTTP reads an HTTP block; trace is the trace's, nil while reading it.
func (d *decoder) readHTTP(h *HTTP, trace *HTTP) {
	f := d.byte()
	if f == httpSameAsTrace && trace != nil {
		*h = *trace
		return
	}
	if f > httpStatus<<1-1 {
		d.fail("bad http block")
		return
	}
	*h = HTTP{}
	if f&httpURL != 0 {
		h.URL = d.str()
	}
	if f&httpMethod != 0 {
		h.Method = d.str()
	}
	if f&httpUserAgent != 0 {
		h.UserAgent = d.str()
	}
	if f&httpClientIP != 0 {
		h.ClientIP = d.str()
	}
	if f&httpStatus != 0 {
		h.Status = int(d.int())
	}
}

func (d *decoder) calls(dst []Call, base float64) []Call {
	dst = resize(dst, d.count())
	for i := range dst {
		d.call(&dst[i], base)
	}
	return dst
}

func (d *decoder) call(c *Call, base float64) {
	c.ID = 0
	if d.callIDs {
		c.ID = xrayid.SegmentID(d.fixed64())
	}
	f := d.byte()
	c.InProgress, c.Error, c.Fault, c.Throttle = f&callInProgress != 0, f&callError != 0, f&callFault != 0, f&callThrottle != 0
	c.Start = d.time(base)
	c.End, c.Status = 0, 0
	if f&callNoEnd == 0 {
		c.End = d.time(c.Start)
	}
	if f&callStatus != 0 {
		c.Status = int(d.int())
	}
}

// request returns s.Nodes[node].Requests[j].
func (d *decoder) request(s *Summary, node, j uint64) Call {
	if node >= uint64(len(s.Nodes)) || j >= uint64(len(s.Nodes[node].Requests)) {
		d.fail("request reference out of range")
		return Call{}
	}
	return s.Nodes[node].Requests[j]
}

func (d *decoder) annotationValue(key string, v *segment.Annotation) {
	f := d.byte()
	v.Type = segment.AnnotationType(f & 3)
	if f&annOtherType != 0 {
		v.Type = segment.AnnotationType(d.byte())
	}
	v.Key = key
	if f&annOtherKey != 0 {
		v.Key = d.str()
	}
	v.Bool, v.String, v.Number = f&annBool != 0, "", 0
	if f&annString != 0 {
		v.String = d.str()
	}
	if f&annNumber != 0 {
		v.Number = d.float()
	}
}

func (d *decoder) rootCauses(dst []RootCause) []RootCause {
	dst = resize(dst, d.count())
	for i := range dst {
		rc := &dst[i]
		rc.ClientImpacting = d.byte()&1 != 0
		rc.Services = resize(rc.Services, d.count())
		for j := range rc.Services {
			sv := &rc.Services[j]
			sv.Name = d.str()
			sv.Names = d.strList(sv.Names)
			sv.Type = d.str()
			sv.AccountID = d.str()
			sv.Inferred = d.byte()&1 != 0
			sv.EntityPath = resize(sv.EntityPath, d.count())
			for k := range sv.EntityPath {
				en := &sv.EntityPath[k]
				en.Name = d.str()
				en.Remote = d.byte()&1 != 0
				en.Coverage = d.float()
				en.Exceptions = resize(en.Exceptions, d.count())
				for x := range en.Exceptions {
					en.Exceptions[x] = RootCauseException{Name: d.str(), Message: d.str()}
				}
			}
		}
	}
	return dst
}

package assemble

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/counterspy/counterspy/internal/jsonlex"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// span is a byte range [s, e) of a document; e == 0 means absent (no value
// starts at offset 0 except the document itself).
type span struct{ s, e int32 }

func (p span) ok() bool           { return p.e > p.s }
func (p span) of(b []byte) []byte { return b[p.s:p.e] }
func mkSpan(start, end int) span  { return span{int32(start), int32(end)} }

// docView is one stored document that could be read.
type docView struct {
	raw         []byte
	root        int32 // index of the root entity in Compiler.ents
	nEnts       int32 // the document's entities are ents[root : root+nEnts]
	parentID    xrayid.SegmentID
	independent bool // "type":"subsegment"
	lambdaFn    bool // origin AWS::Lambda::Function
}

// entView is one segment or subsegment object of a document: what resolution,
// inference and rendering need, as offsets into the document.
type entView struct {
	id       xrayid.SegmentID
	doc      int32
	parent   int32 // enclosing entity (index in Compiler.ents), -1 for the root
	obj      span
	members  int32 // first member in Compiler.members
	nMembers int32
	subs     span  // the subsegments array, if any
	elems    int32 // first element of subs in Compiler.elems
	nElems   int32
	subEnts  span // entities inside subs (a range of Compiler.ents)
	ghost    bool // inside a subsegments array that a repeated key overrides
	// strip is set when a member is SDK-internal (mInternal): the entity
	// is then always re-rendered, without it.
	strip bool

	start, end       float64
	startRaw, endRaw span // number text, copied verbatim into inferred segments
	hasStart         bool
	complete         bool // has end_time (which wins over in_progress: true, as on ingest)
	hasSQL           bool
	name, namespace  span // string tokens, quotes included
	table, queue     span // aws.table_name, aws.queue_url
	bucket           span // aws.bucket_name
	http, aws, sql   span // raw values, copied into inferred segments
	errV, fault, thr span
	cause            span
}

// memberView is one member of an entity object.
type memberView struct {
	key, val span
	flags    uint8
}

const (
	mNested  uint8 = 1 << iota // type, trace_id, parent_id: dropped when the document is nested
	mSubs                      // the subsegments array
	mBadSubs                   // a subsegments member that is not an array
	// mInternal marks members outside X-Ray's documented segment schema
	// that SDKs send and X-Ray does not return: the Go SDK's "Dummy", the
	// trace_id/type/parent_id an embedded subsegment repeats, and
	// in_progress where it is false or end_time says the work finished.
	mInternal
)

// elemView is one element of a subsegments array; ent is -1 for elements
// that are not objects.
type elemView struct {
	s   span
	ent int32
}

// docScanner reads one document into the compiler's flat slices.
type docScanner struct {
	c   *Compiler
	b   []byte
	doc int32
	tmp []byte
	key []byte
}

var errNotObject = errors.New("not a JSON object")

// scanDoc reads one stored document; on error nothing is kept.
func (c *Compiler) scanDoc(raw []byte) error {
	if len(raw) > math.MaxInt32 { // offsets are int32
		return errors.New("document too large")
	}
	nEnts, nMembers, nElems := len(c.ents), len(c.members), len(c.elems)
	c.mstack, c.estack = c.mstack[:0], c.estack[:0]
	sc := docScanner{c: c, b: raw, doc: int32(len(c.docs)), tmp: c.tmp[:0]}
	err := sc.scan()
	c.tmp = sc.tmp
	if err != nil {
		c.ents, c.members, c.elems = c.ents[:nEnts], c.members[:nMembers], c.elems[:nElems]
		return err
	}
	return nil
}

func (sc *docScanner) scan() error {
	i := jsonlex.SkipWS(sc.b, 0)
	if i >= len(sc.b) || sc.b[i] != '{' {
		return errNotObject
	}
	d := docView{raw: sc.b, root: int32(len(sc.c.ents))}
	end, err := sc.entity(i, -1, 0, &d)
	if err != nil {
		return err
	}
	if jsonlex.SkipWS(sc.b, end) != len(sc.b) {
		return jsonlex.SyntaxError(end, "data after the document")
	}
	if sc.c.ents[d.root].id == 0 {
		return errors.New(`missing or invalid "id"`)
	}
	d.nEnts = int32(len(sc.c.ents)) - d.root
	sc.c.docs = append(sc.c.docs, d)
	return nil
}

// entity reads the object at i as a segment or subsegment. Fields that only
// the root carries are written to d when parent is -1.
func (sc *docScanner) entity(i int, parent int32, depth int, d *docView) (int, error) {
	if depth > jsonlex.MaxNesting {
		return 0, jsonlex.ErrNesting
	}
	c := sc.c
	ei := int32(len(c.ents))
	c.ents = append(c.ents, entView{doc: sc.doc, parent: parent})
	// Members of nested entities are complete before the member that holds
	// them, so each entity gathers its own on a stack and moves them to
	// c.members in one piece.
	base := len(c.mstack)
	inProgress, hasEnd := false, false
	end, err := jsonlex.WalkObject(sc.b, i, func(tok []byte, keyStart, v int) (int, error) {
		key := tok
		if bytes.IndexByte(tok, '\\') >= 0 {
			// Escaped keys are rare; a separate buffer keeps them intact
			// while member reuses tmp.
			sc.key = append(jsonlex.AppendUnquoted(append(sc.key[:0], '"'), tok), '"')
			key = sc.key
		}
		var flags uint8
		end, err := sc.member(key, v, ei, depth, parent < 0, d, &flags, &inProgress, &hasEnd)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", tok, err)
		}
		c.mstack = append(c.mstack, memberView{key: mkSpan(keyStart, keyStart+len(tok)), val: mkSpan(v, end), flags: flags})
		return end, nil
	})
	if err != nil {
		return 0, err
	}
	// in_progress is internal once the entity has an end_time, or when it
	// says false.
	for k := base; k < len(c.mstack); k++ {
		mv := &c.mstack[k]
		if string(mv.key.of(sc.b)) == `"in_progress"` && (hasEnd || !inProgress) {
			mv.flags |= mInternal
		}
	}
	// Appending children may have moved c.ents: index, never hold a pointer.
	e := &c.ents[ei]
	for _, mv := range c.mstack[base:] {
		if mv.flags&mInternal != 0 {
			e.strip = true
		}
	}
	e.obj = mkSpan(i, end)
	e.members, e.nMembers = int32(len(c.members)), int32(len(c.mstack)-base)
	c.members = append(c.members, c.mstack[base:]...)
	c.mstack = c.mstack[:base]
	e.complete = hasEnd
	return end, nil
}

// member reads one member of entity ei and returns the offset past its value.
func (sc *docScanner) member(key []byte, v int, ei int32, depth int, root bool, d *docView,
	flags *uint8, inProgress, hasEnd *bool) (int, error) {
	b, c := sc.b, sc.c
	switch string(key) {
	case `"id"`:
		return sc.id(v, &c.ents[ei].id)
	case `"Dummy"`:
		*flags |= mInternal
	case `"parent_id"`, `"trace_id"`, `"type"`:
		*flags |= mNested
		if !root {
			*flags |= mInternal
		}
		switch {
		case !root:
		case string(key) == `"parent_id"`:
			return sc.id(v, &d.parentID)
		case string(key) == `"type"`:
			end, err := sc.str(v)
			if err == nil {
				d.independent = sc.strIs(mkSpan(v, end), "subsegment")
			}
			return end, err
		}
	case `"origin"`:
		end, err := jsonlex.SkipValue(b, v, depth)
		if err == nil && root {
			d.lambdaFn = sc.strIs(mkSpan(v, end), "AWS::Lambda::Function")
		}
		return end, err
	case `"name"`:
		return sc.strInto(v, &c.ents[ei].name)
	case `"namespace"`:
		return sc.strInto(v, &c.ents[ei].namespace)
	case `"start_time"`, `"end_time"`:
		if v >= len(b) || !(b[v] == '-' || '0' <= b[v] && b[v] <= '9') {
			break
		}
		end, err := jsonlex.ScanNumber(b, v)
		if err != nil {
			return 0, err
		}
		f, perr := strconv.ParseFloat(string(b[v:end]), 64)
		if perr != nil || math.IsInf(f, 0) {
			return end, nil // out of range: treat the field as absent
		}
		e := &c.ents[ei]
		if key[1] == 's' {
			e.start, e.startRaw, e.hasStart = f, mkSpan(v, end), true
		} else {
			e.end, e.endRaw = f, mkSpan(v, end)
			*hasEnd = true
		}
		return end, nil
	case `"in_progress"`:
		*inProgress = v < len(b) && b[v] == 't'
	case `"subsegments"`:
		if v < len(b) && b[v] == '[' {
			*flags |= mSubs
			return sc.subsegments(v, ei, depth, d)
		}
		*flags |= mBadSubs
	case `"aws"`:
		return sc.aws(v, ei, depth)
	case `"http"`:
		return sc.rawInto(v, depth, &c.ents[ei].http)
	case `"sql"`:
		c.ents[ei].hasSQL = v < len(b) && b[v] == '{'
		return sc.rawInto(v, depth, &c.ents[ei].sql)
	case `"error"`:
		return sc.rawInto(v, depth, &c.ents[ei].errV)
	case `"fault"`:
		return sc.rawInto(v, depth, &c.ents[ei].fault)
	case `"throttle"`:
		return sc.rawInto(v, depth, &c.ents[ei].thr)
	case `"cause"`:
		return sc.rawInto(v, depth, &c.ents[ei].cause)
	}
	return jsonlex.SkipValue(b, v, depth)
}

func (sc *docScanner) subsegments(v int, ei int32, depth int, d *docView) (int, error) {
	c := sc.c
	if prev := &c.ents[ei]; prev.subs.ok() {
		// A repeated "subsegments" key: decoders keep the last one, so the
		// earlier array's entities are ghosts: copied as bytes, never
		// resolved, nested into or counted.
		for k := prev.subEnts.s; k < prev.subEnts.e; k++ {
			c.ents[k].ghost = true
		}
	}
	// Like members, elements gather on a stack: nested arrays finish first.
	base, firstEnt := len(c.estack), len(c.ents)
	end, err := jsonlex.WalkArray(sc.b, v, func(start int) (int, error) {
		ent, end := int32(-1), 0
		var err error
		if sc.b[start] == '{' {
			ent = int32(len(c.ents))
			end, err = sc.entity(start, ei, depth+1, d)
		} else {
			end, err = jsonlex.SkipValue(sc.b, start, depth+1)
		}
		c.estack = append(c.estack, elemView{s: mkSpan(start, end), ent: ent})
		return end, err
	})
	if err != nil {
		return 0, err
	}
	e := &c.ents[ei]
	e.subs, e.elems, e.nElems = mkSpan(v, end), int32(len(c.elems)), int32(len(c.estack)-base)
	c.elems = append(c.elems, c.estack[base:]...)
	c.estack = c.estack[:base]
	e.subEnts = mkSpan(firstEnt, len(c.ents))
	return end, nil
}

func (sc *docScanner) aws(v int, ei int32, depth int) (int, error) {
	if v >= len(sc.b) || sc.b[v] != '{' {
		return sc.rawInto(v, depth, &sc.c.ents[ei].aws)
	}
	end, err := jsonlex.WalkObject(sc.b, v, func(key []byte, _, v int) (int, error) {
		e := &sc.c.ents[ei]
		switch string(key) {
		case `"table_name"`:
			return sc.strInto(v, &e.table)
		case `"queue_url"`:
			return sc.strInto(v, &e.queue)
		case `"bucket_name"`:
			return sc.strInto(v, &e.bucket)
		}
		return jsonlex.SkipValue(sc.b, v, depth+1)
	})
	if err != nil {
		return 0, err
	}
	sc.c.ents[ei].aws = mkSpan(v, end)
	return end, nil
}

func (sc *docScanner) rawInto(v, depth int, dst *span) (int, error) {
	end, err := jsonlex.SkipValue(sc.b, v, depth)
	if err == nil {
		*dst = mkSpan(v, end)
	}
	return end, err
}

// strInto records a non-empty string value; other types are skipped.
func (sc *docScanner) strInto(v int, dst *span) (int, error) {
	if v >= len(sc.b) || sc.b[v] != '"' {
		return jsonlex.SkipValue(sc.b, v, 0)
	}
	end, err := sc.str(v)
	if err == nil && end-v > 2 {
		*dst = mkSpan(v, end)
	}
	return end, err
}

func (sc *docScanner) str(v int) (int, error) {
	if v >= len(sc.b) || sc.b[v] != '"' {
		return jsonlex.SkipValue(sc.b, v, 0)
	}
	end, _, err := jsonlex.ScanString(sc.b, v)
	return end, err
}

// id reads a segment ID; a value that is not one leaves dst zero.
func (sc *docScanner) id(v int, dst *xrayid.SegmentID) (int, error) {
	end, err := sc.str(v)
	if err != nil || sc.b[v] != '"' {
		return end, err
	}
	sc.tmp = jsonlex.AppendUnquoted(sc.tmp[:0], sc.b[v:end])
	if id, perr := xrayid.ParseSegmentID(sc.tmp); perr == nil {
		*dst = id
	}
	return end, nil
}

// strIs reports whether the string token at p decodes to want.
func (sc *docScanner) strIs(p span, want string) bool {
	return tokenIs(sc.b, p, want, &sc.tmp)
}

// tokenIs compares a string token with want, decoding escapes only when the
// token has any.
func tokenIs(b []byte, p span, want string, tmp *[]byte) bool {
	if !p.ok() || b[p.s] != '"' {
		return false
	}
	tok := p.of(b)
	if bytes.IndexByte(tok, '\\') < 0 {
		return len(tok) == len(want)+2 && string(tok[1:len(tok)-1]) == want
	}
	*tmp = jsonlex.AppendUnquoted((*tmp)[:0], tok)
	return string(*tmp) == want
}

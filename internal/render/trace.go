// Package render draws traces for a terminal: the table of trace summaries
// (counterspy traces) and the segments timeline of one trace (counterspy
// trace), in the spirit of the X-Ray console's trace list and "Segments
// Timeline".
//
// Rendering is pure: it takes the small types of this package, parsed from
// X-Ray documents or filled in from API results, and writes to an io.Writer
// with an explicit width and color mode. Nothing here looks at the
// environment except TerminalWidth and IsTerminal, which callers use to pick
// those options.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Trace is one trace as BatchGetTraces returns it: its top-level segments
// (real and inferred), each with its subsegments nested at any depth.
type Trace struct {
	ID string
	// Duration is the trace duration the API reports, in seconds; 0 when
	// unknown (the timeline then uses the span of its entities).
	Duration      float64
	LimitExceeded bool
	Segments      []*Entity
}

// Entity is a segment or subsegment: what the timeline shows of it.
type Entity struct {
	ID, Name, ParentID string
	// Type is "subsegment" for a subsegment sent as its own document.
	Type string
	// Start and End are seconds since the Unix epoch; End is 0 while the
	// entity is in progress.
	Start, End float64
	InProgress bool
	// Origin is a segment's resource type (AWS::Lambda, AWS::EC2::Instance);
	// Namespace a subsegment's (aws, remote, local).
	Origin, Namespace string
	Inferred          bool
	// Kind is the OpenTelemetry span kind in lower case (server, client,
	// producer, consumer, internal) of an entity the OTLP receiver made
	// from a span (metadata.otel.kind, docs/otlp.md); "" otherwise.
	Kind                   string
	Error, Fault, Throttle bool
	HTTP                   HTTP
	Cause                  Cause
	Subsegments            []*Entity
}

// HTTP is the part of an entity's http object the timeline shows.
type HTTP struct {
	Method, URL string
	Status      int
}

// Cause is an entity's cause: exceptions recorded on it, or a reference
// (ExceptionID) to an exception recorded on another entity of the trace.
type Cause struct {
	ExceptionID string
	Exceptions  []Exception
}

// Exception is one recorded exception.
type Exception struct {
	ID, Type, Message string
	Remote            bool
	Stack             []Frame
}

// Frame is one stack frame.
type Frame struct {
	Path, Label string
	Line        int
}

// Segment is one document of a BatchGetTraces result.
type Segment struct {
	ID       string
	Document string
}

// ParseTrace parses the compiled documents of a trace. It tolerates what
// real documents contain: unknown fields, nulls, numbers sent as strings,
// wrongly typed values (ignored). A document that is not a JSON object is an
// error naming it.
//
// Top-level documents that are subsegments whose parent is in the trace
// (a compiled trace normally has none) are nested into their parent.
// Segments, and the subsegments of each entity, are ordered by start time.
func ParseTrace(id string, duration float64, limitExceeded bool, segs []Segment) (*Trace, error) {
	t := &Trace{ID: id, Duration: duration, LimitExceeded: limitExceeded}
	for i, s := range segs {
		e, err := ParseEntity([]byte(s.Document))
		if err != nil {
			name := s.ID
			if name == "" {
				name = "#" + strconv.Itoa(i+1)
			}
			return nil, fmt.Errorf("trace %s: segment %s: %w", id, name, err)
		}
		t.Segments = append(t.Segments, e)
	}
	t.Segments = adoptOrphans(t.Segments)
	sortEntities(t.Segments)
	return t, nil
}

// ParseEntity parses one segment or subsegment document.
func ParseEntity(doc []byte) (*Entity, error) {
	var d document
	if err := json.Unmarshal(doc, &d); err != nil {
		// Values of the wrong type are skipped, the rest is kept.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("not a valid segment document: %w", err)
		}
	}
	if !d.present {
		return nil, errors.New("not a valid segment document: not a JSON object")
	}
	return d.entity(), nil
}

// document is the JSON form of an entity, every field lenient.
type document struct {
	present     bool               // set by UnmarshalJSON when the value is an object
	ID          flexString         `json:"id"`
	Name        flexString         `json:"name"`
	ParentID    flexString         `json:"parent_id"`
	Type        flexString         `json:"type"`
	StartTime   flexFloat          `json:"start_time"`
	EndTime     flexFloat          `json:"end_time"`
	Origin      flexString         `json:"origin"`
	Namespace   flexString         `json:"namespace"`
	Inferred    flexBool           `json:"inferred"`
	Error       flexBool           `json:"error"`
	Fault       flexBool           `json:"fault"`
	Throttle    flexBool           `json:"throttle"`
	HTTP        *httpJSON          `json:"http"`
	Cause       causeJSON          `json:"cause"`
	Metadata    metadataJSON       `json:"metadata"`
	Subsegments flexList[document] `json:"subsegments"`
}

// metadataJSON reads the one thing the timeline shows from an entity's
// metadata: the OpenTelemetry span kind. Anything else, or metadata that
// is not an object, reads as nothing.
type metadataJSON struct {
	Otel struct {
		Kind flexString `json:"kind"`
	} `json:"otel"`
}

func (m *metadataJSON) UnmarshalJSON(b []byte) error {
	if !isObject(b) {
		return nil
	}
	type plain metadataJSON
	var p plain
	if json.Unmarshal(b, &p) == nil {
		*m = metadataJSON(p)
	}
	return nil
}

// spanKind is the kind as the timeline shows it: lower case, nothing for
// an unspecified or unknown kind.
func spanKind(k string) string {
	switch k = strings.ToLower(k); k {
	case "server", "client", "producer", "consumer", "internal":
		return k
	}
	return ""
}

func (d *document) UnmarshalJSON(b []byte) error {
	if !isObject(b) {
		return nil
	}
	type plain document
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
	}
	*d = document(p)
	d.present = true
	return nil
}

func (d *document) entity() *Entity {
	e := &Entity{
		ID: string(d.ID), Name: string(d.Name), ParentID: string(d.ParentID), Type: string(d.Type),
		Start: float64(d.StartTime), End: float64(d.EndTime),
		Origin: string(d.Origin), Namespace: string(d.Namespace),
		Inferred: bool(d.Inferred), Kind: spanKind(string(d.Metadata.Otel.Kind)), Error: bool(d.Error), Fault: bool(d.Fault), Throttle: bool(d.Throttle),
		Cause: d.Cause.cause(),
	}
	// Without an end_time the entity is still running, whatever
	// in_progress says: a complete end_time wins, as on ingest.
	e.InProgress = e.End == 0
	if d.HTTP != nil {
		e.HTTP = HTTP{Method: string(d.HTTP.Request.Method), URL: string(d.HTTP.Request.URL), Status: int(d.HTTP.Response.Status)}
	}
	for _, s := range d.Subsegments {
		if s.present {
			e.Subsegments = append(e.Subsegments, s.entity())
		}
	}
	return e
}

type httpJSON struct {
	Request struct {
		Method flexString `json:"method"`
		URL    flexString `json:"url"`
	} `json:"request"`
	Response struct {
		Status flexFloat `json:"status"`
	} `json:"response"`
}

// causeJSON is a cause object, or an exception ID string (the exception is
// recorded elsewhere in the trace), or {"id": ...}.
type causeJSON struct {
	ID         flexString `json:"id"`
	Exceptions flexList[exceptionJSON]
}

func (c *causeJSON) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		c.ID = flexString(s)
		return nil
	}
	if !isObject(b) {
		return nil
	}
	var v struct {
		ID         flexString              `json:"id"`
		Exceptions flexList[exceptionJSON] `json:"exceptions"`
	}
	_ = json.Unmarshal(b, &v)
	c.ID, c.Exceptions = v.ID, v.Exceptions
	return nil
}

func (c *causeJSON) cause() Cause {
	out := Cause{ExceptionID: string(c.ID)}
	for _, x := range c.Exceptions {
		ex := Exception{ID: string(x.ID), Type: string(x.Type), Message: string(x.Message), Remote: bool(x.Remote)}
		for _, f := range x.Stack {
			ex.Stack = append(ex.Stack, Frame{Path: string(f.Path), Label: string(f.Label), Line: int(f.Line)})
		}
		out.Exceptions = append(out.Exceptions, ex)
	}
	return out
}

type exceptionJSON struct {
	ID      flexString          `json:"id"`
	Type    flexString          `json:"type"`
	Message flexString          `json:"message"`
	Remote  flexBool            `json:"remote"`
	Stack   flexList[frameJSON] `json:"stack"`
}

type frameJSON struct {
	Path  flexString `json:"path"`
	Label flexString `json:"label"`
	Line  flexFloat  `json:"line"`
}

// flexString takes a string, a number or a boolean (as its JSON text);
// anything else reads as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var v string
	switch {
	case json.Unmarshal(b, &v) == nil:
		*s = flexString(v)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9' || b[0] == 't' || b[0] == 'f'):
		*s = flexString(b)
	}
	return nil
}

// flexFloat takes a number or a numeric string; anything else (NaN and
// infinities included) reads as 0.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var v float64
	if json.Unmarshal(b, &v) != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		var err error
		if v, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return nil
		}
	}
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		*f = flexFloat(v)
	}
	return nil
}

// flexBool takes a boolean or "true"/"false"; anything else reads as false.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v bool
	if json.Unmarshal(b, &v) == nil {
		*f = flexBool(v)
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, _ = strconv.ParseBool(s)
		*f = flexBool(v)
	}
	return nil
}

// flexList takes an array; anything else reads as empty.
type flexList[T any] []T

func (l *flexList[T]) UnmarshalJSON(b []byte) error {
	var v []json.RawMessage
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	out := make([]T, 0, len(v))
	for _, raw := range v {
		var x T
		_ = json.Unmarshal(raw, &x)
		out = append(out, x)
	}
	*l = out
	return nil
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// adoptOrphans nests top-level subsegment documents under their parent when
// the parent is somewhere in the trace.
func adoptOrphans(segs []*Entity) []*Entity {
	index := map[string]*Entity{}
	var walk func(e *Entity)
	walk = func(e *Entity) {
		if e.ID != "" {
			if _, dup := index[e.ID]; !dup {
				index[e.ID] = e
			}
		}
		for _, s := range e.Subsegments {
			walk(s)
		}
	}
	for _, s := range segs {
		walk(s)
	}
	kept := segs[:0:0]
	for _, s := range segs {
		if s.Type == "subsegment" && s.ParentID != "" {
			if p, ok := index[s.ParentID]; ok && p != s && !contains(s, p) {
				p.Subsegments = append(p.Subsegments, s)
				continue
			}
		}
		kept = append(kept, s)
	}
	return kept
}

// contains reports whether e is x or has x below it.
func contains(e, x *Entity) bool {
	if e == x {
		return true
	}
	for _, s := range e.Subsegments {
		if contains(s, x) {
			return true
		}
	}
	return false
}

// sortEntities orders entities and, recursively, their subsegments by start
// time, keeping the document order for equal starts.
func sortEntities(es []*Entity) {
	slices.SortStableFunc(es, func(a, b *Entity) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	for _, e := range es {
		sortEntities(e.Subsegments)
	}
}

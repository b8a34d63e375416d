package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/counterspy/counterspy/internal/jsonlex"
)

// problem returns an error whose Message does not name a field yet; Decoder.at
// adds the path. Helpers that see a lone value report problems this way, so
// paths are only built on the failure path.
func problem(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// wrongType reports a value of the wrong JSON type for a known field.
func wrongType(want string, v *fastjson.Value) *Error {
	return &Error{Code: CodeInvalidSegment, Message: "expected " + want + ", found " + typeName(v)}
}

// at names the field a problem was found in: field is relative to entity idx,
// e.g. "http.response.status".
func (d *Decoder) at(idx int32, field string, e *Error) *Error {
	e.Message = d.fieldPath(idx, field) + ": " + e.Message
	e.ID = d.docID()
	return e
}

func (d *Decoder) errf(code string, idx int32, field, format string, args ...any) *Error {
	return d.at(idx, field, problem(code, format, args...))
}

func (d *Decoder) typeErr(idx int32, field, want string, v *fastjson.Value) *Error {
	return d.at(idx, field, wrongType(want, v))
}

// missing reports an absent (or null) required field; why, if any, follows
// "is required" verbatim.
func (d *Decoder) missing(idx int32, field, why string) *Error {
	return &Error{Code: CodeMissingRequiredField, Message: d.fieldPath(idx, field) + " is required" + why, ID: d.docID()}
}

// fieldPath renders field's path from the document root, e.g.
// "subsegments[0].subsegments[3].id", prefixed by "[2]." in an array document.
func (d *Decoder) fieldPath(idx int32, field string) string {
	var chain []int32
	for i := idx; i > 0; i = d.ents[i].Parent {
		chain = append(chain, d.pos[i])
	}
	var b strings.Builder
	if d.elem >= 0 {
		fmt.Fprintf(&b, "[%d].", d.elem)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "subsegments[%d].", chain[i])
	}
	b.WriteString(field)
	return b.String()
}

// maxReportedID bounds the ID copied into an Error: anything longer is not an
// ID, and errors end up in logs and API responses.
const maxReportedID = 64

// docID returns the id of the document (or array element) being decoded, when
// it is a string; it is what PutTraceSegments reports back.
func (d *Decoder) docID() string {
	if d.root == nil {
		return ""
	}
	v := d.root.Get("id")
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	if len(b) > maxReportedID {
		return ""
	}
	return string(b)
}

// indexed names element i of the array field name.
func indexed(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// annotationPath names an annotation; keys that are not plain identifiers
// are quoted so the message stays unambiguous.
func annotationPath(key []byte) string {
	for _, c := range key {
		if !(c == '_' || c == ':' || c == '.' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "annotations[" + strconv.Quote(string(clip(key))) + "]"
		}
	}
	return "annotations." + string(clip(key))
}

// clip shortens a value quoted in a message.
func clip(b []byte) []byte {
	const limit = 64
	if len(b) <= limit {
		return b
	}
	return append(b[:limit:limit], "..."...)
}

func typeName(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeObject:
		return "an object"
	case fastjson.TypeArray:
		return "an array"
	case fastjson.TypeString:
		return "a string"
	case fastjson.TypeNumber:
		return "a number"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "a boolean"
	default:
		return "null"
	}
}

// invalidJSON reports where doc stops being JSON. fastjson's messages carry
// no offset, so the (rare) failure path asks encoding/json, whose
// SyntaxError does.
func invalidJSON(doc []byte, fjErr error) *Error {
	if len(doc) == 0 {
		return &Error{Code: CodeInvalidJSON, Message: "invalid JSON at offset 0: the document is empty"}
	}
	// Faults inside strings are described in words of our own: the
	// standard library's wording and offsets for them changed between Go
	// releases (1.26 and 1.27), and clients see these messages.
	var le *jsonlex.Error
	if _, err := jsonlex.SkipValue(doc, jsonlex.SkipWS(doc, 0), 0); errors.As(err, &le) && le.Pos < len(doc) {
		switch le.What {
		case jsonlex.WhatControl:
			return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("invalid JSON at offset %d: invalid character %s in string literal", le.Pos, quoteChar(doc[le.Pos]))}
		case jsonlex.WhatEscapeU:
			p := le.Pos + 1
			for p < len(doc) && p < le.Pos+5 && strings.IndexByte("0123456789abcdefABCDEF", doc[p]) >= 0 {
				p++
			}
			if p < len(doc) {
				return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("invalid JSON at offset %d: invalid character %s in \\u hexadecimal character escape", p, quoteChar(doc[p]))}
			}
		case jsonlex.WhatEscape:
			return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("invalid JSON at offset %d: invalid character %s in string escape code", le.Pos, quoteChar(doc[le.Pos]))}
		}
	}
	var raw json.RawMessage
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(doc, &raw), &se) {
		off := se.Offset
		// For a bad byte, Offset counts it; point at it instead.
		if strings.HasPrefix(se.Error(), "invalid character") && off > 0 {
			off--
		}
		return &Error{Code: CodeInvalidJSON, Message: fmt.Sprintf("invalid JSON at offset %d: %s", off, se.Error())}
	}
	// The two validators disagree: should not happen, but fastjson's verdict
	// stands, since it is the parser we would run.
	return &Error{Code: CodeInvalidJSON, Message: "invalid JSON: " + fjErr.Error()}
}

// quoteChar formats c as encoding/json's messages do: '\t', '\x01', 'q'.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// parseFailure reports a parser error on a document the validator accepted:
// in practice only nesting beyond fastjson.MaxDepth, which counts a scalar
// inside the innermost bracket as a level of its own.
func parseFailure(doc []byte, err error) *Error {
	if off := depthOffset(doc, fastjson.MaxDepth-1); off >= 0 {
		return &Error{Code: CodeInvalidSegment,
			Message: fmt.Sprintf("JSON at offset %d nests too deeply; the limit is %d levels", off, fastjson.MaxDepth)}
	}
	return &Error{Code: CodeInvalidJSON, Message: "invalid JSON: " + err.Error()}
}

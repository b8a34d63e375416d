// Package jsonlex is the project's one JSON lexer with byte offsets: strict
// RFC 8259 scanning of strings, numbers, literals, objects and arrays that
// reports where each token starts and ends, for code that works on a
// document's stored bytes rather than on parsed values (assemble splices
// them; segment keeps each array element's exact bytes). fastjson and
// encoding/json keep no offsets.
package jsonlex

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Every function checks bounds and returns an error rather than panicking,
// and accepts only RFC 8259 JSON, so a document it accepts stays valid JSON
// after splicing.

// MaxNesting bounds recursion on hostile input (SkipValue's depth). A 64 kB document cannot nest
// deeper than 32 k levels, so this only rejects what no SDK sends.
const MaxNesting = 10000

var (
	// ErrEOF: the document ends inside a value.
	ErrEOF = errors.New("unexpected end of document")
	// ErrNesting: the document nests deeper than MaxNesting.
	ErrNesting = errors.New("nesting too deep")
)

// Error is what is wrong at an offset of a document.
type Error struct {
	Pos  int
	What string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Pos, e.What) }

// Messages of the errors ScanString returns, for callers that describe them
// in their own words.
const (
	WhatControl = "control character in string"
	WhatEscape  = "bad escape"
	WhatEscapeU = `bad \u escape`
)

// SyntaxError is the error for what is wrong at offset pos (an *Error).
func SyntaxError(pos int, what string) error {
	return &Error{Pos: pos, What: what}
}

// SkipWS returns the offset of the first non-whitespace byte at or after i.
func SkipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// ScanString expects b[i] == '"' and returns the offset just past the closing
// quote and whether the string holds escapes.
func ScanString(b []byte, i int) (end int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, SyntaxError(i, "expected string")
	}
	for i++; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return 0, false, SyntaxError(i, WhatControl)
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, ErrEOF
			}
			i++
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, ErrEOF
				}
				for _, h := range b[i+1 : i+5] {
					if _, ok := hexVal(h); !ok {
						return 0, false, SyntaxError(i, WhatEscapeU)
					}
				}
				i += 4
			default:
				return 0, false, SyntaxError(i, WhatEscape)
			}
		}
	}
	return 0, false, ErrEOF
}

// ScanNumber returns the offset just past the number starting at i.
func ScanNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return 0, SyntaxError(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return 0, SyntaxError(start, "bad number")
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return 0, SyntaxError(start, "bad number")
		}
		i = j
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, SyntaxError(i, "bad literal")
	}
	return i + len(lit), nil
}

// SkipValue returns the offset just past the value starting at i (no leading
// whitespace); depth is the nesting level of that value (0 for a document).
func SkipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrEOF
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := ScanString(b, i)
		return end, err
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return ScanNumber(b, i)
	}
	return 0, SyntaxError(i, "unexpected character")
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > MaxNesting {
		return 0, ErrNesting
	}
	return WalkObject(b, i, func(_ []byte, _, valStart int) (int, error) {
		return SkipValue(b, valStart, depth)
	})
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > MaxNesting {
		return 0, ErrNesting
	}
	return WalkArray(b, i, func(start int) (int, error) {
		return SkipValue(b, start, depth)
	})
}

// WalkObject scans the object at b[i] == '{', calling member for each member
// with its raw key token (quotes included), the key's offset and the value's
// offset (always inside b); member returns the offset just past the value.
func WalkObject(b []byte, i int, member func(key []byte, keyStart, valStart int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, SyntaxError(i, "expected object")
	}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		keyStart := i
		keyEnd, _, err := ScanString(b, i)
		if err != nil {
			return 0, err
		}
		i = SkipWS(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, SyntaxError(i, "expected ':'")
		}
		v := SkipWS(b, i+1)
		if v >= len(b) {
			return 0, ErrEOF
		}
		if i, err = member(b[keyStart:keyEnd], keyStart, v); err != nil {
			return 0, err
		}
		i = SkipWS(b, i)
		if i >= len(b) {
			return 0, ErrEOF
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, SyntaxError(i, "expected ',' or '}'")
		}
	}
}

// WalkArray scans the array at b[i] == '[', calling elem with each element's
// offset (always inside b); elem returns the offset just past the element.
func WalkArray(b []byte, i int, elem func(start int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return 0, SyntaxError(i, "expected array")
	}
	i = SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return 0, ErrEOF
		}
		var err error
		if i, err = elem(i); err != nil {
			return 0, err
		}
		i = SkipWS(b, i)
		if i >= len(b) {
			return 0, ErrEOF
		}
		switch b[i] {
		case ',':
			i = SkipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, SyntaxError(i, "expected ',' or ']'")
		}
	}
}

// AppendUnquoted appends the decoded content of the string token tok (quotes
// included, already checked by ScanString) to dst. Lone surrogates become
// U+FFFD, as encoding/json does.
func AppendUnquoted(dst, tok []byte) []byte {
	if len(tok) < 2 {
		return dst
	}
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s[i-1:])
			dst = utf8.AppendRune(dst, r)
			i += n - 2
		default: // '"', '\\', '/'
			dst = append(dst, s[i])
		}
	}
	return dst
}

// decodeU decodes the \uXXXX escape (or surrogate pair) at the start of s and
// returns the rune and the number of bytes consumed.
func decodeU(s []byte) (rune, int) {
	r1, ok := hex4(s)
	if !ok {
		return utf8.RuneError, min(len(s), 2)
	}
	if !utf16.IsSurrogate(r1) {
		return r1, 6
	}
	if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2, ok := hex4(s[6:]); ok {
			if r := utf16.DecodeRune(r1, r2); r != utf8.RuneError {
				return r, 12
			}
		}
	}
	return utf8.RuneError, 6
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 6 {
		return 0, false
	}
	var r rune
	for _, c := range s[2:6] {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// SkipValid returns the offset just past the value starting at i of a
// document already known to be valid JSON (checked by SkipValue or another
// strict parser): it only follows strings and brackets, which makes it
// several times cheaper than SkipValue. On invalid input it returns some
// offset in [i, len(b)] and never panics.
func SkipValid(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipValidString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipValidString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	// A number or a literal runs to the next delimiter.
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// skipValidString returns the offset just past the string opened at b[i].
func skipValidString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

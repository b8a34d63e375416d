package assemble

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The compiler splices stored bytes instead of re-marshalling parsed values, so
// it needs byte offsets, which no off-the-shelf decoder reports. This file is
// the strict lexical layer: every function checks bounds and returns an error
// rather than panicking, and accepts only RFC 8259 JSON, so a document it
// accepts stays valid JSON after splicing.

// maxNesting bounds recursion on hostile input. A 64 kB document cannot nest
// deeper than 32 k levels, so this only rejects what no SDK sends.
const maxNesting = 10000

var (
	errEOF     = errors.New("unexpected end of document")
	errNesting = errors.New("nesting too deep")
)

func syntaxErr(pos int, what string) error {
	return fmt.Errorf("offset %d: %s", pos, what)
}

func skipWS(b []byte, i int) int {
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

// scanString expects b[i] == '"' and returns the offset just past the closing
// quote and whether the string holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, false, syntaxErr(i, "expected string")
	}
	for i++; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c < 0x20:
			return 0, false, syntaxErr(i, "control character in string")
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, errEOF
			}
			i++
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, errEOF
				}
				for _, h := range b[i+1 : i+5] {
					if _, ok := hexVal(h); !ok {
						return 0, false, syntaxErr(i, `bad \u escape`)
					}
				}
				i += 4
			default:
				return 0, false, syntaxErr(i, "bad escape")
			}
		}
	}
	return 0, false, errEOF
}

// scanNumber returns the offset just past the number starting at i.
func scanNumber(b []byte, i int) (int, error) {
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
		return 0, syntaxErr(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return 0, syntaxErr(start, "bad number")
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
			return 0, syntaxErr(start, "bad number")
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
		return 0, syntaxErr(i, "bad literal")
	}
	return i + len(lit), nil
}

// skipValue returns the offset just past the value starting at i (no leading
// whitespace).
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errEOF
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
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
		return scanNumber(b, i)
	}
	return 0, syntaxErr(i, "unexpected character")
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxNesting {
		return 0, errNesting
	}
	return walkObject(b, i, func(_ []byte, _, valStart int) (int, error) {
		return skipValue(b, valStart, depth)
	})
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxNesting {
		return 0, errNesting
	}
	return walkArray(b, i, func(start int) (int, error) {
		return skipValue(b, start, depth)
	})
}

// walkObject scans the object at b[i] == '{', calling member for each member
// with its raw key token (quotes included), the key's offset and the value's
// offset (always inside b); member returns the offset just past the value.
func walkObject(b []byte, i int, member func(key []byte, keyStart, valStart int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, syntaxErr(i, "expected object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		keyStart := i
		keyEnd, _, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		i = skipWS(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, syntaxErr(i, "expected ':'")
		}
		v := skipWS(b, i+1)
		if v >= len(b) {
			return 0, errEOF
		}
		if i, err = member(b[keyStart:keyEnd], keyStart, v); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errEOF
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, syntaxErr(i, "expected ',' or '}'")
		}
	}
}

// walkArray scans the array at b[i] == '[', calling elem with each element's
// offset (always inside b); elem returns the offset just past the element.
func walkArray(b []byte, i int, elem func(start int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return 0, syntaxErr(i, "expected array")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return 0, errEOF
		}
		var err error
		if i, err = elem(i); err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, errEOF
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, syntaxErr(i, "expected ',' or ']'")
		}
	}
}

// appendUnquoted appends the decoded content of the string token tok (quotes
// included, already checked by scanString) to dst. Lone surrogates become
// U+FFFD, as encoding/json does.
func appendUnquoted(dst, tok []byte) []byte {
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

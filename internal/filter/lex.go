package filter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tBad            // a lexical error; token.str is the message
	tWord           // keyword, operator word or bare value
	tString         // token.str is the unescaped value
	tNumber         // token.num is the value
	tOp             // = != < <= > >=
	tBang
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBracket
	tRBracket
	tComma
	tColon
	tHash
)

type token struct {
	kind     tokKind
	pos, end int // byte offsets in the source
	str      string
	num      float64
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// isWordChar is what keywords are made of: dotted keywords such as
// rootcause.fault.entity are single words.
func isWordChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '.' }

// isLooseChar is what bare values and annotation keys are made of: AWS keys
// such as aws:api_id and service names such as my-service.
func isLooseChar(c byte) bool { return isWordChar(c) || c == ':' || c == '-' }

// scan returns the token at or after pos.
func scan(src string, pos int) token {
	for pos < len(src) && isSpace(src[pos]) {
		pos++
	}
	if pos >= len(src) {
		return token{kind: tEOF, pos: len(src), end: len(src)}
	}
	t := token{pos: pos, end: pos + 1}
	switch c := src[pos]; {
	case c == '"':
		return scanString(src, pos)
	case isLetter(c):
		end := pos
		for end < len(src) && isWordChar(src[end]) {
			end++
		}
		t.kind, t.end, t.str = tWord, end, src[pos:end]
	case isDigit(c) || c == '-' && pos+1 < len(src) && isDigit(src[pos+1]):
		return scanNumber(src, pos)
	case c == '=':
		if strings.HasPrefix(src[pos:], "==") {
			t.kind, t.end, t.str = tBad, pos+2, `"==" is not an operator; use =`
			return t
		}
		t.kind, t.str = tOp, "="
	case c == '!' || c == '<' || c == '>':
		t.kind, t.str = tOp, src[pos:pos+1]
		if pos+1 < len(src) && src[pos+1] == '=' {
			t.end, t.str = pos+2, src[pos:pos+2]
		} else if c == '!' {
			t.kind = tBang
		}
	default:
		k, ok := punctuation[c]
		if !ok {
			r, size := utf8.DecodeRuneInString(src[pos:])
			t.kind, t.end, t.str = tBad, pos+size, "unexpected character "+strconv.QuoteRune(r)
			return t
		}
		t.kind, t.str = k, src[pos:pos+1]
	}
	return t
}

var punctuation = map[byte]tokKind{
	'(': tLParen, ')': tRParen, '{': tLBrace, '}': tRBrace,
	'[': tLBracket, ']': tRBracket, ',': tComma, ':': tColon, '#': tHash,
}

// scanLoose returns the run of loose characters at pos (no white space
// skipped), as a word; the run is empty when there is none.
func scanLoose(src string, pos int) token {
	end := pos
	for end < len(src) && isLooseChar(src[end]) {
		end++
	}
	return token{kind: tWord, pos: pos, end: end, str: src[pos:end]}
}

// scanString scans a double-quoted string; \" and \\ (and a backslash
// before anything else) stand for the character after the backslash.
func scanString(src string, pos int) token {
	var b strings.Builder // used only once an escape is seen
	escaped := false
	start := pos + 1 // the unescaped run not yet copied to b
	for i := pos + 1; i < len(src); i++ {
		switch src[i] {
		case '"':
			s := src[start:i]
			if escaped {
				b.WriteString(s)
				s = b.String()
			}
			return token{kind: tString, pos: pos, end: i + 1, str: s}
		case '\\':
			if i+1 == len(src) {
				break
			}
			escaped = true
			b.WriteString(src[start:i])
			_, size := utf8.DecodeRuneInString(src[i+1:])
			b.WriteString(src[i+1 : i+1+size])
			i += size
			start = i + 1
		}
	}
	return token{kind: tBad, pos: pos, end: len(src), str: `unterminated string: missing closing "`}
}

// scanNumber scans [-]digits[.digits][(e|E)[+-]digits]. Letters or digits
// glued to the number make it invalid rather than two tokens, so that 5xx
// is reported as a bad number and not as 5 juxtaposed with a keyword.
func scanNumber(src string, pos int) token {
	i := pos
	if src[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(src) && isDigit(src[i]) {
			i++
		}
		return i > start
	}
	ok := digits()
	if ok && i < len(src) && src[i] == '.' {
		i++
		digits() // "5." is a number, as in the EBNF
	}
	if ok && i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		ok = digits()
	}
	end := i
	for end < len(src) && isWordChar(src[end]) {
		end++
	}
	text := src[pos:end]
	if !ok || end != i {
		return token{kind: tBad, pos: pos, end: end, str: "invalid number " + quote(text)}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{kind: tBad, pos: pos, end: end, str: "number " + quote(text) + " is out of range"}
	}
	return token{kind: tNumber, pos: pos, end: end, str: text, num: v}
}

// Package jsonenc appends JSON values to byte slices, for the code that
// writes segment documents by hand (the traffic generator, the Lambda
// emulator) because encoding/json's reflection and allocations would be the
// larger part of their work.
package jsonenc

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD. Segment values are
// mostly plain ASCII, which it copies in runs.
func AppendString[S ~string | ~[]byte](b []byte, s S) []byte {
	return appendString(b, s, true)
}

// AppendStringVerbatim is AppendString for re-writing a value that was
// received: it escapes only what JSON requires and keeps every other byte as
// sent, invalid UTF-8 included (which JSON parsers accept in strings), so the
// written document decodes to the same bytes as the one received.
func AppendStringVerbatim[S ~string | ~[]byte](b []byte, s S) []byte {
	return appendString(b, s, false)
}

func appendString[S ~string | ~[]byte](b []byte, s S, replaceInvalid bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			_ = s[i+7]
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if plain8(x) {
				i += 8
				continue
			}
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if !replaceInvalid {
				i++
				continue
			}
			// Non-ASCII is rare: converting at most 4 bytes is cheap.
			r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 reports whether the eight bytes in x are all copied as they are:
// ASCII, no control character, quote or backslash. The tests are the
// classic SWAR ones (Hacker's Delight, "find the first 0-byte"): exact for a
// word with no byte of 0x80 or more, and such a word fails the first test.
func plain8(x uint64) bool {
	high := x & msb
	ctl := (x - lsb*0x20) &^ x & msb
	q := x ^ lsb*'"'
	quote := (q - lsb) &^ q & msb
	bs := x ^ lsb*'\\'
	backslash := (bs - lsb) &^ bs & msb
	return high|ctl|quote|backslash == 0
}

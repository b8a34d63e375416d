package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a syntax or type error in a filter expression. The API reports
// its Error() text to users as an InvalidRequestException message.
type Error struct {
	// Pos is the byte offset of the offending token in the expression;
	// Column is the same place in runes, from 1.
	Pos, Column int
	// Msg says what was expected and what was found.
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter expression: column %d: %s", e.Column, e.Msg)
}

func newError(src string, pos int, msg string) *Error {
	pos = min(max(pos, 0), len(src))
	return &Error{Pos: pos, Column: utf8.RuneCountInString(src[:pos]) + 1, Msg: msg}
}

// maxQuoted bounds how much of a token an error message repeats.
const maxQuoted = 40

// quote renders source text for a message, shortened when long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > maxQuoted {
		r := []rune(s)
		s = string(r[:maxQuoted-1]) + "…"
	}
	return strconv.Quote(s)
}

// quoteTail is quote keeping the end of s, which is where the context of
// an "after ..." message matters.
func quoteTail(s string) string {
	if utf8.RuneCountInString(s) > maxQuoted {
		r := []rune(s)
		s = "…" + string(r[len(r)-maxQuoted+1:])
	}
	return strconv.Quote(s)
}

// squeeze collapses runs of white space, so that a context copied from the
// source reads as one line.
func squeeze(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

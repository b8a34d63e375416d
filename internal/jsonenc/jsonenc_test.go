package jsonenc_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

func TestAppendString(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := jsonenc.AppendString(nil, in)
		if string(got) != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != in && in != "\xff" {
			t.Errorf("%q does not round-trip: %q, %v", in, back, err)
		}
	}
	f("plain", `"plain"`)
	f(`say "hi"\now`, `"say \"hi\"\\now"`)
	f("tab\tline\nend\x01", `"tab\tline\nend\u0001"`)
	f("café", `"café"`)
	f("\xff", `"\ufffd"`)
	if got := string(jsonenc.AppendString(nil, []byte(`a"b`))); got != `"a\"b"` {
		t.Errorf("byte slices: got %s", got)
	}
}

func TestAppendStringVerbatim(t *testing.T) {
	for _, in := range []string{"plain", "\a\v\x7f\f\"\\", "caf\xe9 \xff\x95", "\u2028é"} {
		got := jsonenc.AppendStringVerbatim(nil, in)
		if !json.Valid(got) {
			t.Errorf("%q: %q is not JSON", in, got)
		}
		// Invalid UTF-8 is kept byte for byte: decoding with a parser that
		// keeps bytes (the unquoting below) gives the input back.
		if back := unquote(t, got); back != in {
			t.Errorf("%q: round trip gave %q", in, back)
		}
	}
}

// unquote undoes the escapes AppendStringVerbatim writes, keeping every
// other byte as it is (encoding/json would replace invalid UTF-8).
func unquote(t *testing.T, q []byte) string {
	t.Helper()
	var out []byte
	for i := 1; i < len(q)-1; i++ {
		if q[i] != '\\' {
			out = append(out, q[i])
			continue
		}
		i++
		switch q[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'u':
			var r rune
			if _, err := fmt.Sscanf(string(q[i+1:i+5]), "%04x", &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, string(r)...)
			i += 4
		default:
			out = append(out, q[i])
		}
	}
	return string(out)
}

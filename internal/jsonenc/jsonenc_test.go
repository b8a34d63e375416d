package jsonenc_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/jsonlex"
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
		// Invalid UTF-8 is kept byte for byte: decoding with an unquoter
		// that keeps bytes (encoding/json would replace them) gives the
		// input back.
		if back := string(jsonlex.AppendUnquoted(nil, got)); back != in {
			t.Errorf("%q: round trip gave %q", in, back)
		}
	}
}

// TestAppendStringEveryPosition puts each byte that needs escaping (and
// non-ASCII) at every position of strings longer than a word, so that the
// eight-bytes-at-a-time path is checked against encoding/json.
func TestAppendStringEveryPosition(t *testing.T) {
	for _, special := range []string{"\"", "\\", "\x00", "\x1f", "\n", "é", "\u2028", "\x7f", " ", "!", "#", "[", "]"} {
		for n := 1; n <= 20; n++ {
			for at := 0; at < n; at++ {
				in := strings.Repeat("a", at) + special + strings.Repeat("z", n-at-1)
				got := jsonenc.AppendString(nil, in)
				var back string
				if err := json.Unmarshal(got, &back); err != nil || back != in {
					t.Fatalf("%q: %s gives %q, %v", in, got, back, err)
				}
				if strings.ContainsAny(special, "\"\\\x00\x1f\n") && len(got) == len(in)+2 {
					t.Fatalf("%q: %s is not escaped", in, got)
				}
			}
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "http://tracegen-server:8080/api/v1/items?id=12345"
	buf := make([]byte, 0, 128)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = jsonenc.AppendString(buf[:0], s)
	}
}

// FuzzAppendString: both encoders write valid JSON that reads back as the
// input (valid UTF-8 through encoding/json; any bytes verbatim).
func FuzzAppendString(f *testing.F) {
	f.Add("plain text, long enough for a word or two")
	f.Add("tab\there \"quoted\" back\\slash \x00 café \xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := jsonenc.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q: %s reads back as %q", s, got, back)
		}
		v := jsonenc.AppendStringVerbatim(nil, s)
		if !json.Valid(v) {
			t.Fatalf("%q: verbatim %q is not JSON", s, v)
		}
		if back := string(jsonlex.AppendUnquoted(nil, v)); back != s {
			t.Fatalf("%q: verbatim %q reads back as %q", s, v, back)
		}
	})
}

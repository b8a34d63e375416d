package jsonenc_test

import (
	"encoding/json"
	"testing"

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

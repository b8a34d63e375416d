package jsonlex

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// valid reports whether b is one JSON document by this lexer.
func valid(b []byte) bool {
	end, err := SkipValue(b, SkipWS(b, 0), 0)
	return err == nil && SkipWS(b, end) == len(b)
}

func TestSkipValueAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`, ` [ ] `, `{"a":[1,-2.5e3,true,false,null,"x\"y\\u00e9\/"]}`, `"\ud83d\ude00"`, `0`, `-0.0e+1`,
		`{"a":1,}`, `[1,]`, `01`, `1.`, `.5`, `+1`, `"\x"`, "\"a\tb\"", `"\u12g4"`, `tru`, `nul`, `{"a" 1}`,
		`{"a":1}{}`, `[`, `"abc`, `{"a":`, `[1 2]`, ``, ` `,
	} {
		if got, want := valid([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Errorf("%q: valid = %v, encoding/json says %v", doc, got, want)
		}
	}
}

func TestWalkObjectOffsets(t *testing.T) {
	doc := []byte(`{ "a" : [1, 2] , "b\"c":"d" }`)
	var keys []string
	var vals []string
	end, err := WalkObject(doc, 0, func(key []byte, keyStart, v int) (int, error) {
		keys = append(keys, string(AppendUnquoted(nil, key)))
		e, err := SkipValue(doc, v, 1)
		vals = append(vals, string(doc[v:e]))
		if string(doc[keyStart:keyStart+len(key)]) != string(key) {
			t.Errorf("key offset %d does not hold %s", keyStart, key)
		}
		return e, err
	})
	if err != nil || end != len(doc) {
		t.Fatalf("end %d, err %v", end, err)
	}
	if len(keys) != 2 || keys[0] != "a" || keys[1] != `b"c` || vals[0] != "[1, 2]" || vals[1] != `"d"` {
		t.Errorf("keys %q, values %q", keys, vals)
	}
}

func TestAppendUnquoted(t *testing.T) {
	for tok, want := range map[string]string{
		`"plain"`: "plain", `"a\nb\t\"\\\/"`: "a\nb\t\"\\/", `"\u00e9\ud83d\ude00"`: "é😀", `"\ud800x"`: "\ufffdx",
	} {
		if got := string(AppendUnquoted(nil, []byte(tok))); got != want {
			t.Errorf("%s: got %q, want %q", tok, got, want)
		}
	}
}

func mustSkip(t *testing.T, b []byte, i int) int {
	t.Helper()
	end, err := SkipValue(b, i, 0)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// FuzzSkipValue: the lexer accepts exactly the documents encoding/json
// accepts, SkipValid agrees with SkipValue on them (and stays in bounds on
// any input), and strings unquote as encoding/json unquotes them.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x\u00e9",null]}`, `[1,]`, `"\ud83d"`, `-1.5e-3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return // far from MaxNesting, where the two may count depth differently
		}
		got, want := valid(b), json.Valid(b)
		if got != want {
			t.Fatalf("%q: valid = %v, encoding/json says %v", b, got, want)
		}
		i := SkipWS(b, 0)
		if end := SkipValid(b, i); got && end != mustSkip(t, b, i) {
			t.Fatalf("%q: SkipValid ends at %d, SkipValue at %d", b, end, mustSkip(t, b, i))
		} else if end < i || end > len(b) {
			t.Fatalf("%q: SkipValid returned %d, outside [%d, %d]", b, end, i, len(b))
		}
		if !got || b[i] != '"' {
			return
		}
		end, _, err := ScanString(b, i)
		if err != nil || !utf8.Valid(b[i:end]) {
			return // encoding/json replaces invalid UTF-8; the lexer keeps bytes
		}
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			t.Fatal(err)
		}
		if u := string(AppendUnquoted(nil, b[i:end])); u != str {
			t.Fatalf("%q: unquoted %q, encoding/json %q", b, u, str)
		}
	})
}

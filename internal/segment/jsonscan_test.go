package segment

import (
	"reflect"
	"testing"
)

func TestSplitArray(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		var got []string
		for _, s := range splitArray([]byte(doc), nil) {
			got = append(got, doc[s.start:s.end])
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", doc, got, want)
		}
	}
	f(`[]`)
	f(` [ ] `)
	f(`[1]`, `1`)
	f(`[1,-2.5e3 , true,null]`, `1`, `-2.5e3`, `true`, `null`)
	f(`[ "a\"]" ,"\\" ]`, `"a\"]"`, `"\\"`)
	f("[\n {\"b\":[2,\"]}\"]} ,\t[[]],{}\r\n]", `{"b":[2,"]}"]}`, `[[]]`, `{}`)
	f(`[{"a":"\\\"}"},{"z":1}]`, `{"a":"\\\"}"}`, `{"z":1}`)
}

func TestDepthOffset(t *testing.T) {
	f := func(doc string, limit, want int) {
		t.Helper()
		if got := depthOffset([]byte(doc), limit); got != want {
			t.Errorf("%s, limit %d: got %d, want %d", doc, limit, got, want)
		}
	}
	f(`[]`, 1, -1)
	f(`[[]]`, 1, 1)
	f(`[[]]`, 2, -1)
	f(`{"a":[{"b":1}]}`, 2, 6)
	f(`["[[[[", {"a\"[[":[1]}]`, 1, 9)
	f(`["[[[[", {"a\"[[":[1]}]`, 2, 18)
	f(`["[[[[", {"a\"[[":[1]}]`, 3, -1)
	f(`[{},{},[[[]]]]`, 3, 9)
}

func TestControlInString(t *testing.T) {
	f := func(doc string, want bool) {
		t.Helper()
		if got := controlInString([]byte(doc)); got != want {
			t.Errorf("%q: got %v, want %v", doc, got, want)
		}
	}
	f(`{"a":"b\\n"}`, false)
	f("{\"a\":\t\"b\"}\r\n", false) // whitespace outside strings is fine
	f("{\"a\":\"\x00\\b\"}", true)
	f("{\"a\\\"\x1f\":1}", true)
	f("{\"a\\\\\":\"x\ty\"}", true)
	f(`{"a\\\"":"\\\\"}`, false)
}

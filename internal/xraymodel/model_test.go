package xraymodel

import (
	"strings"
	"testing"
)

const tiny = `{"metadata":{"apiVersion":"1"},"operations":{"Op":{"name":"Op","http":{"method":"POST","requestUri":"/Op"},"input":{"shape":"In"}}},
"shapes":{"In":{"type":"structure","required":["Name"],"members":{"Name":{"shape":"Name"},"N":{"shape":"N"},"L":{"shape":"L"},"M":{"shape":"M"},"T":{"shape":"T"},"E":{"shape":"E"},"B":{"shape":"B"}}},
"Name":{"type":"string","min":1,"max":3,"pattern":"[a-z]+"},"N":{"type":"integer","min":1,"max":9},"L":{"type":"list","member":{"shape":"Name"},"max":2},
"M":{"type":"map","key":{"shape":"Name"},"value":{"shape":"N"}},"T":{"type":"timestamp"},"E":{"type":"string","enum":["A","B"]},"B":{"type":"boolean"},
"Oops":{"type":"structure","members":{},"exception":true,"error":{"httpStatusCode":404}}}}`

func TestValidate(t *testing.T) {
	m, err := Parse([]byte(tiny))
	if err != nil {
		t.Fatal(err)
	}
	if m.Operations["Op"].Name != "Op" || m.Shapes["Oops"].HTTPStatus() != 404 || m.Shapes["In"].HTTPStatus() != 400 {
		t.Fatal("operations or statuses not read")
	}
	f := func(body string, mode Mode, want string) {
		t.Helper()
		v, err := Decode([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		err = m.Validate("In", v, mode)
		if got := ""; err != nil {
			got = err.Error()
			if want == "" || !strings.Contains(got, want) {
				t.Errorf("%s: %v, want %q", body, err, want)
			}
		} else if want != "" {
			t.Errorf("%s: valid, want %q", body, want)
		}
	}
	f(`{"Name":"ab","N":3,"L":["a"],"M":{"k":1},"T":1.5,"E":"A","B":true}`, Input, "")
	f(`{"Name":"ab","T":"2026-01-01T00:00:00Z"}`, Input, "")
	f(`{"Name":"ab","T":"2026-01-01T00:00:00Z"}`, Output, "T: want a timestamp in epoch seconds")
	f(`{}`, Input, "Name: Member must not be null")
	f(`{"Name":"abcd"}`, Input, "length less than or equal to 3")
	f(`{"Name":""}`, Input, "length greater than or equal to 1")
	f(`{"Name":"AB"}`, Input, "regular expression pattern")
	f(`{"Name":"a","N":10}`, Input, "value less than or equal to 9")
	f(`{"Name":"a","N":1.5}`, Input, "whole number")
	f(`{"Name":"a","N":"1"}`, Input, "want a number")
	f(`{"Name":"a","L":["a","b","c"]}`, Input, "L: Member must have length less than or equal to 2")
	f(`{"Name":"a","L":["a",null]}`, Input, "L[1]: Member must not be null")
	f(`{"Name":"a","M":{"k":0}}`, Input, "M.k: Member must have value greater than or equal to 1")
	f(`{"Name":"a","E":"C"}`, Input, "enum value set: [A, B]")
	f(`{"Name":"a","B":"true"}`, Input, "want a boolean")
	f(`{"Name":"a","Extra":1}`, Input, "")
	f(`{"Name":"a","Extra":1}`, Output, "Extra: member not in the model")
	for _, bad := range []string{`null}`, `{"a":1} x`, ``} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted it", bad)
		}
	}
}

package runtimeapi

import (
	"encoding/json"
	"testing"
)

// FuzzParseError feeds arbitrary Lambda-Runtime-Function-Error-Type headers
// and error bodies, as a function's runtime posts them to /invocation/{id}/error
// and /init/error: the result always has a type and a body that is the
// runtime's own JSON document or one we made, valid JSON either way.
func FuzzParseError(f *testing.F) {
	f.Add("", []byte(`{"errorMessage":"boom","errorType":"Error","stackTrace":[]}`))
	f.Add("Runtime.ExitError", []byte(`not json`))
	f.Add("X", []byte(``))
	f.Add("", []byte(`{"errorType":123}`))
	f.Fuzz(func(t *testing.T, headerType string, body []byte) {
		e := parseError(headerType, body)
		if e == nil || e.Type == "" {
			t.Fatalf("parseError(%q, %q) = %+v: no type", headerType, body, e)
		}
		if !json.Valid(e.Body) {
			t.Fatalf("parseError(%q, %q): body %q is not JSON", headerType, body, e.Body)
		}
	})
}

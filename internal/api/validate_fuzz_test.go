package api

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
)

// FuzzValidateInput: any request body, against any operation's input
// shape, is accepted or refused with an InvalidRequestException; what is
// accepted is JSON.
func FuzzValidateInput(f *testing.F) {
	for _, seed := range []string{``, `{}`, `[]`, `{"TraceIds":["1-5759e988-bd862e3fe1be46a994272793"]}`,
		`{"SamplingRule":{"RuleName":"r","Priority":1.5,"FixedRate":2,"Attributes":{"a":1}}}`,
		`{"StartTime":"2026-01-01T00:00:00Z","EndTime":1e400}`, `{"Tags":[{"Key":"","Value":null}]}`, `{"a":` + "\x00"} {
		f.Add(seed, uint8(0))
	}
	m := inputModel()
	var shapes []string
	for _, op := range m.Operations {
		if op.Input != nil {
			shapes = append(shapes, op.Input.Shape)
		}
	}
	sort.Strings(shapes)
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		shape := shapes[int(which)%len(shapes)]
		err := validateInput(shape, []byte(body))
		if err == nil {
			// A blank body is an empty input (as decodeInput reads it).
			if strings.TrimSpace(body) != "" && !json.Valid([]byte(body)) {
				t.Fatalf("%s accepted a body that is not JSON: %q", shape, body)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != "InvalidRequestException" || e.Status != 400 || e.Message == "" {
			t.Fatalf("%s: %v is not an InvalidRequestException", shape, err)
		}
	})
}

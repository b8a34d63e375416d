// Package xraymodel reads the AWS X-Ray service model (botocore's
// service-2.json, the Smithy-derived description every AWS SDK is generated
// from) and checks JSON values against its shapes: the API uses it to
// validate requests as X-Ray does, and the conformance test to validate
// every answer.
package xraymodel

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Model is the part of service-2.json that describes the wire format.
type Model struct {
	Metadata   map[string]any       `json:"metadata,omitempty"`
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`
}

// Operation is one API operation.
type Operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method     string `json:"method"`
		RequestURI string `json:"requestUri"`
	} `json:"http"`
	Input  *Ref  `json:"input,omitempty"`
	Output *Ref  `json:"output,omitempty"`
	Errors []Ref `json:"errors,omitempty"`
}

// Ref names a shape.
type Ref struct {
	Shape    string `json:"shape"`
	Location string `json:"location,omitempty"`
}

// Shape is one shape: structure, list, map, string, integer, long, double,
// float, boolean, timestamp or blob.
type Shape struct {
	Type      string          `json:"type"`
	Required  []string        `json:"required,omitempty"`
	Members   map[string]*Ref `json:"members,omitempty"`
	Member    *Ref            `json:"member,omitempty"`
	Key       *Ref            `json:"key,omitempty"`
	Value     *Ref            `json:"value,omitempty"`
	Min       *float64        `json:"min,omitempty"`
	Max       *float64        `json:"max,omitempty"`
	Enum      []string        `json:"enum,omitempty"`
	Pattern   string          `json:"pattern,omitempty"`
	Exception bool            `json:"exception,omitempty"`
	Error     *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error,omitempty"`

	once sync.Once
	re   *regexp.Regexp
}

// HTTPStatus is the status of an exception shape (400 when the model
// gives none, as the SDKs assume for client errors).
func (s *Shape) HTTPStatus() int {
	if s.Error != nil && s.Error.HTTPStatusCode != 0 {
		return s.Error.HTTPStatusCode
	}
	return 400
}

// Parse reads a model (plain or gzipped JSON).
func Parse(b []byte) (*Model, error) {
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("xraymodel: gunzip: %w", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("xraymodel: gunzip: %w", err)
		}
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("xraymodel: decode: %w", err)
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		return nil, errors.New("xraymodel: no operations or shapes")
	}
	for n, op := range m.Operations {
		op.Name = n
		m.Operations[n] = op
	}
	return &m, nil
}

// Locate finds the newest X-Ray service-2.json of the botocore that
// python3 imports (the one boto3 and the AWS CLI v1 use).
func Locate() (string, error) {
	out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		return "", fmt.Errorf("xraymodel: locate botocore with python3: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "data", "xray")
	versions, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(versions) == 0 {
		return "", fmt.Errorf("xraymodel: no X-Ray model under %s", dir)
	}
	sort.Strings(versions) // API versions are dates
	for i := len(versions) - 1; i >= 0; i-- {
		for _, name := range []string{"service-2.json", "service-2.json.gz"} {
			p := filepath.Join(versions[i], name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("xraymodel: no service-2.json under %s", dir)
}

// Load reads the model at path.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("xraymodel: %w", err)
	}
	return Parse(b)
}

// Mode says which side of the wire a value is on: a request may give a
// timestamp as epoch seconds or an ISO 8601 string; an answer always gives
// epoch seconds (the AWS SDKs' rest-json default).
type Mode uint8

const (
	Input Mode = iota
	Output
)

// Violation is a value that breaks the model, in the words of AWS's
// validation messages.
type Violation struct {
	Path, Msg string
}

func (v *Violation) Error() string { return v.Path + ": " + v.Msg }

// Validate checks v (decoded with json.Decoder.UseNumber) against shape.
func (m *Model) Validate(shape string, v any, mode Mode) error {
	return m.validate(shape, v, mode, "")
}

func (m *Model) validate(name string, v any, mode Mode, path string) error {
	s := m.Shapes[name]
	if s == nil {
		return &Violation{path, "unknown shape " + name}
	}
	bad := func(format string, args ...any) error {
		p := path
		if p == "" {
			p = "$"
		}
		return &Violation{p, fmt.Sprintf(format, args...)}
	}
	if v == nil {
		return nil // absent and null are the same; required is checked by the parent
	}
	switch s.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("want an object (%s), got %s", name, kind(v))
		}
		for _, r := range s.Required {
			if obj[r] == nil {
				return &Violation{join(path, r), "Member must not be null"}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ref, ok := s.Members[k]
			if !ok {
				if mode == Output && k != "__type" {
					return &Violation{join(path, k), "member not in the model's " + name}
				}
				continue // requests may carry members a newer model has
			}
			if err := m.validate(ref.Shape, obj[k], mode, join(path, k)); err != nil {
				return err
			}
		}
	case "list":
		arr, ok := v.([]any)
		if !ok {
			return bad("want a list (%s), got %s", name, kind(v))
		}
		if err := checkLen(s, len(arr), bad); err != nil {
			return err
		}
		for i, e := range arr {
			if e == nil {
				return &Violation{fmt.Sprintf("%s[%d]", path, i), "Member must not be null"}
			}
			if err := m.validate(s.Member.Shape, e, mode, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("want a map (%s), got %s", name, kind(v))
		}
		if err := checkLen(s, len(obj), bad); err != nil {
			return err
		}
		for k, e := range obj {
			if err := m.validate(s.Key.Shape, k, mode, join(path, k)+"(key)"); err != nil {
				return err
			}
			if err := m.validate(s.Value.Shape, e, mode, join(path, k)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("want a string (%s), got %s", name, kind(v))
		}
		if err := checkLen(s, len([]rune(str)), bad); err != nil {
			return err
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			return bad("Member must satisfy enum value set: [%s], got %q", strings.Join(s.Enum, ", "), str)
		}
		if re := s.regexp(); re != nil && !re.MatchString(str) {
			return bad("Member must satisfy regular expression pattern: %s", s.Pattern)
		}
	case "blob":
		if _, ok := v.(string); !ok {
			return bad("want base64 text (%s), got %s", name, kind(v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("want a boolean (%s), got %s", name, kind(v))
		}
	case "integer", "long", "double", "float":
		n, ok := v.(json.Number)
		if !ok {
			return bad("want a number (%s), got %s", name, kind(v))
		}
		f, err := n.Float64()
		if err != nil {
			return bad("number %s: %v", n, err)
		}
		if s.Type == "integer" || s.Type == "long" {
			if _, err := n.Int64(); err != nil {
				return bad("want a whole number (%s), got %s", name, n)
			}
			if s.Type == "integer" && (f > 2147483647 || f < -2147483648) {
				return bad("%s out of the integer range", n)
			}
		}
		if s.Min != nil && f < *s.Min {
			return bad("Member must have value greater than or equal to %v, got %s", *s.Min, n)
		}
		if s.Max != nil && f > *s.Max {
			return bad("Member must have value less than or equal to %v, got %s", *s.Max, n)
		}
	case "timestamp":
		switch t := v.(type) {
		case json.Number:
			if _, err := t.Float64(); err != nil {
				return bad("timestamp %s: %v", t, err)
			}
		case string:
			if mode == Output {
				return bad("want a timestamp in epoch seconds, got the string %q", t)
			}
		default:
			return bad("want a timestamp, got %s", kind(v))
		}
	default:
		return bad("shape %s has type %q, which this validator does not know", name, s.Type)
	}
	return nil
}

func (s *Shape) regexp() *regexp.Regexp {
	s.once.Do(func() {
		if s.Pattern != "" {
			s.re, _ = regexp.Compile("^(?:" + s.Pattern + ")$") // a pattern Go cannot compile is not checked
		}
	})
	return s.re
}

func checkLen(s *Shape, n int, bad func(string, ...any) error) error {
	if s.Min != nil && float64(n) < *s.Min {
		return bad("Member must have length greater than or equal to %v, got %d", *s.Min, n)
	}
	if s.Max != nil && float64(n) > *s.Max {
		return bad("Member must have length less than or equal to %v, got %d", *s.Max, n)
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// Decode parses JSON for Validate (numbers kept exact).
func Decode(b []byte) (any, error) {
	if !json.Valid(b) {
		// json.Decoder alone would take "null}": it stops after a value.
		var v any
		err := json.Unmarshal(b, &v)
		if err == nil {
			err = errors.New("not a JSON value")
		}
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// InputsJSON is the request side of m as JSON: what the API embeds
// (internal/xraymodel/gen writes it into internal/api/model_inputs.go).
func InputsJSON(m *Model) ([]byte, error) {
	in := m.Inputs()
	in.Metadata = map[string]any{"apiVersion": m.Metadata["apiVersion"]}
	return json.Marshal(in)
}

// Inputs is the model reduced to what request validation needs: the
// operations and the shapes reachable from their inputs.
func (m *Model) Inputs() *Model {
	out := &Model{Operations: map[string]Operation{}, Shapes: map[string]*Shape{}}
	var walk func(string)
	walk = func(n string) {
		if _, ok := out.Shapes[n]; ok {
			return
		}
		s := m.Shapes[n]
		if s == nil {
			return
		}
		out.Shapes[n] = s
		for _, r := range s.Members {
			walk(r.Shape)
		}
		for _, r := range []*Ref{s.Member, s.Key, s.Value} {
			if r != nil {
				walk(r.Shape)
			}
		}
	}
	for n, op := range m.Operations {
		out.Operations[n] = Operation{Name: n, HTTP: op.HTTP, Input: op.Input}
		if op.Input != nil {
			walk(op.Input.Shape)
		}
	}
	return out
}

package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/counterspy/counterspy/internal/summary"
)

// A root-cause pattern is a partial copy of X-Ray's FaultRootCause (or
// ErrorRootCause, ResponseTimeRootCause) JSON. Unset fields and nil slices
// are wildcards; see the package comment for how arrays match.
type (
	rcPattern struct {
		services        []svcPattern
		clientImpacting optBool
	}
	svcPattern struct {
		name, typ, account optString
		names              []string
		inferred           optBool
		path               []entPattern
	}
	entPattern struct {
		name       optString
		exceptions []excPattern
		remote     optBool
		coverage   optNumber
	}
	excPattern struct {
		name, message optString
	}
	optString struct {
		set bool
		v   string
	}
	optBool struct {
		set, v bool
	}
	optNumber struct {
		set bool
		v   float64
	}
)

func (o optString) match(s string) bool { return !o.set || o.v == s }
func (o optBool) match(b bool) bool     { return !o.set || o.v == b }

// parseJSON parses rootcause.json = #[...] (or json = #[...]).
func (p *parser) parseJSON() (*node, *Error) {
	if err := p.checkTraceScope("rootcause.json"); err != nil {
		return nil, err
	}
	ctx := p.tok.pos
	p.next()
	if o, isOp := p.peekOp(); !isOp || o != opEq {
		return nil, p.expected(`"="`, ctx)
	}
	p.next()
	if p.tok.kind != tHash {
		return nil, p.expected(`"#" and a JSON array`, ctx)
	}
	start := p.tok.end
	for start < len(p.src) && isSpace(p.src[start]) {
		start++
	}
	if start == len(p.src) || p.src[start] != '[' {
		p.tok = scan(p.src, start)
		return nil, p.expected("a JSON array", ctx)
	}
	dec := json.NewDecoder(strings.NewReader(p.src[start:]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, p.errAt(start+max(int(syn.Offset)-1, 0), "invalid JSON after \"#\": %s", syn)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return nil, p.errAt(len(p.src), "invalid JSON after \"#\": the array is not closed")
		}
		return nil, p.errAt(start, "invalid JSON after \"#\": %s", err)
	}
	pattern, err := compileRootCauses(v.([]any))
	if err != nil {
		return nil, p.errAt(start, "rootcause.json: %s", err)
	}
	p.tok = token{end: start + int(dec.InputOffset())}
	p.next()
	return &node{kind: kJSON, pattern: pattern}, nil
}

// jsonFields reads the fields of a pattern object. Field names are matched
// case-insensitively; null means "not given".
func jsonFields(v any, path string, names ...string) (map[string]any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object, found %s", path, jsonType(v))
	}
	out := make(map[string]any, len(obj))
	for k, fv := range obj {
		i := 0
		for i < len(names) && !strings.EqualFold(k, names[i]) {
			i++
		}
		if i == len(names) {
			return nil, fmt.Errorf("unknown field %q in %s; expected %s", k, path, strings.Join(names, ", "))
		}
		if fv != nil {
			out[names[i]] = fv
		}
	}
	return out, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

func jsonString(f map[string]any, name, path string, dst *optString) error {
	v, ok := f[name]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s.%s must be a string, found %s", path, name, jsonType(v))
	}
	*dst = optString{true, s}
	return nil
}

func jsonBool(f map[string]any, name, path string, dst *optBool) error {
	v, ok := f[name]
	if !ok {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("%s.%s must be true or false, found %s", path, name, jsonType(v))
	}
	*dst = optBool{true, b}
	return nil
}

func jsonNumber(f map[string]any, name, path string, dst *optNumber) error {
	v, ok := f[name]
	if !ok {
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("%s.%s must be a number, found %s", path, name, jsonType(v))
	}
	x, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return fmt.Errorf("%s.%s: number %s is out of range", path, name, n)
	}
	*dst = optNumber{true, x}
	return nil
}

// jsonArray compiles each element of an optional array field; an empty
// array is no constraint, like an absent one, and compiles to nil.
func jsonArray[T any](f map[string]any, name, path string, each func(any, string) (T, error)) ([]T, error) {
	v, ok := f[name]
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s%s must be an array, found %s", path, name, jsonType(v))
	}
	return jsonElements(arr, path+name, each)
}

func jsonElements[T any](arr []any, path string, each func(any, string) (T, error)) ([]T, error) {
	var out []T
	for i, e := range arr {
		t, err := each(e, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func compileRootCauses(arr []any) ([]rcPattern, error) {
	return jsonElements(arr, "", func(v any, path string) (rcPattern, error) {
		var rc rcPattern
		f, err := jsonFields(v, path, "Services", "ClientImpacting")
		if err == nil {
			err = jsonBool(f, "ClientImpacting", path, &rc.clientImpacting)
		}
		if err == nil {
			rc.services, err = jsonArray(f, "Services", path+".", compileService)
		}
		return rc, err
	})
}

func compileService(v any, path string) (svcPattern, error) {
	var s svcPattern
	f, err := jsonFields(v, path, "Name", "Names", "Type", "AccountId", "Inferred", "EntityPath")
	if err == nil {
		err = jsonString(f, "Name", path, &s.name)
	}
	if err == nil {
		err = jsonString(f, "Type", path, &s.typ)
	}
	if err == nil {
		err = jsonString(f, "AccountId", path, &s.account)
	}
	if err == nil {
		err = jsonBool(f, "Inferred", path, &s.inferred)
	}
	if err == nil {
		s.names, err = jsonArray(f, "Names", path+".", func(v any, path string) (string, error) {
			str, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("%s must be a string, found %s", path, jsonType(v))
			}
			return str, nil
		})
	}
	if err == nil {
		s.path, err = jsonArray(f, "EntityPath", path+".", compileEntity)
	}
	return s, err
}

func compileEntity(v any, path string) (entPattern, error) {
	var e entPattern
	f, err := jsonFields(v, path, "Name", "Exceptions", "Remote", "Coverage")
	if err == nil {
		err = jsonString(f, "Name", path, &e.name)
	}
	if err == nil {
		err = jsonBool(f, "Remote", path, &e.remote)
	}
	if err == nil {
		err = jsonNumber(f, "Coverage", path, &e.coverage)
	}
	if err == nil {
		e.exceptions, err = jsonArray(f, "Exceptions", path+".", func(v any, path string) (excPattern, error) {
			var x excPattern
			f, err := jsonFields(v, path, "Name", "Message")
			if err == nil {
				err = jsonString(f, "Name", path, &x.name)
			}
			if err == nil {
				err = jsonString(f, "Message", path, &x.message)
			}
			return x, err
		})
	}
	return e, err
}

// matchPattern reports whether a root-cause pattern matches one of the
// trace's three root-cause lists.
func matchPattern(ps []rcPattern, s *summary.Summary) bool {
	return matchRootCauses(ps, s.FaultRootCauses, false) ||
		matchRootCauses(ps, s.ErrorRootCauses, false) ||
		matchRootCauses(ps, s.ResponseTimeRootCauses, true)
}

// The match functions below find the pattern's elements as a subsequence of
// the actual ones. Taking the first actual element that matches is enough:
// a later one could only leave fewer elements for the rest of the pattern.

func matchRootCauses(ps []rcPattern, rcs []summary.RootCause, timing bool) bool {
	j := 0
	for i := range ps {
		for j < len(rcs) && !ps[i].match(&rcs[j], timing) {
			j++
		}
		if j == len(rcs) {
			return false
		}
		j++
	}
	return true
}

func (p *rcPattern) match(rc *summary.RootCause, timing bool) bool {
	if !p.clientImpacting.match(rc.ClientImpacting) {
		return false
	}
	j := 0
	for i := range p.services {
		for j < len(rc.Services) && !p.services[i].match(&rc.Services[j], timing) {
			j++
		}
		if j == len(rc.Services) {
			return false
		}
		j++
	}
	return true
}

func (p *svcPattern) match(s *summary.RootCauseService, timing bool) bool {
	if !p.name.match(s.Name) || !p.typ.match(s.Type) || !p.account.match(s.AccountID) || !p.inferred.match(s.Inferred) {
		return false
	}
	j := 0
	for _, name := range p.names {
		for j < len(s.Names) && s.Names[j] != name {
			j++
		}
		if j == len(s.Names) {
			return false
		}
		j++
	}
	j = 0
	for i := range p.path {
		for j < len(s.EntityPath) && !p.path[i].match(&s.EntityPath[j], timing) {
			j++
		}
		if j == len(s.EntityPath) {
			return false
		}
		j++
	}
	return true
}

func (p *entPattern) match(e *summary.RootCauseEntity, timing bool) bool {
	if !p.name.match(e.Name) || !p.remote.match(e.Remote) {
		return false
	}
	// Only response-time root causes have a coverage; only the others have
	// exceptions (a non-empty pattern fails on their empty list by itself).
	if p.coverage.set && (!timing || p.coverage.v != e.Coverage) {
		return false
	}
	j := 0
	for i := range p.exceptions {
		x := &p.exceptions[i]
		for j < len(e.Exceptions) && !(x.name.match(e.Exceptions[j].Name) && x.message.match(e.Exceptions[j].Message)) {
			j++
		}
		if j == len(e.Exceptions) {
			return false
		}
		j++
	}
	return true
}

// Package xraysegments builds the two segments the Lambda service emits for
// a traced invocation (spec §6.2: the AWS::Lambda service segment and the
// AWS::Lambda::Function segment with Initialization, Invocation and
// Overhead) and sends them to an X-Ray daemon address in the daemon
// protocol, the same way any SDK does. It also reads and writes the tracing
// header (X-Amzn-Trace-Id, Lambda-Runtime-Trace-Id, _X_AMZN_TRACE_ID).
package xraysegments

import (
	"strings"
)

// Header is a parsed tracing header (spec §2.7).
type Header struct {
	Root   string // trace ID
	Parent string // caller's (sub)segment ID
	// Sampled is "1", "0", "?" or "" (no decision).
	Sampled string
	// Rest keeps other key=value pairs (Lineage, Self, ...) in order, to be
	// propagated unchanged.
	Rest []string
}

// ParseHeader reads "Root=...;Parent=...;Sampled=1;..." leniently: unknown
// parts are kept, whitespace is trimmed, keys are case-insensitive.
func ParseHeader(s string) Header {
	var h Header
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "root":
			h.Root = v
		case "parent":
			h.Parent = v
		case "sampled":
			h.Sampled = v
		case "self":
			// Added by load balancers for their own hop; not propagated.
		default:
			h.Rest = append(h.Rest, k+"="+v)
		}
	}
	return h
}

// String formats the header as Lambda passes it to a function:
// Root=...;Parent=...;Sampled=1[;Lineage=...].
func (h Header) String() string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	add("Root", h.Root)
	add("Parent", h.Parent)
	add("Sampled", h.Sampled)
	for _, r := range h.Rest {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(r)
	}
	return b.String()
}

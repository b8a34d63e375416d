// Package otelspan turns X-Ray segment documents into OpenTelemetry spans,
// for ListRetrievedTraces with TraceFormat OTEL: one span per segment and
// subsegment, with the OTLP span's fields (trace and span IDs in W3C hex,
// kind, times in Unix nanoseconds, status, exception events) and the
// X-Ray data as attributes under the OpenTelemetry semantic conventions'
// names (http.request.method, url.full, http.response.status_code, …),
// resource and scope attributes as maps, as X-Ray's Transaction Search
// keeps spans (the CloudWatch Logs group aws/spans). Annotations become
// aws.xray.annotations.<key>; metadata is left out.
package otelspan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Span is one converted span: its ID and its JSON document.
type Span struct {
	ID       string
	Document []byte
}

type entity struct {
	ID          string          `json:"id"`
	ParentID    string          `json:"parent_id"`
	TraceID     string          `json:"trace_id"`
	Name        string          `json:"name"`
	Namespace   string          `json:"namespace"`
	Origin      string          `json:"origin"`
	Start       float64         `json:"start_time"`
	End         float64         `json:"end_time"`
	InProgress  bool            `json:"in_progress"`
	Fault       bool            `json:"fault"`
	Error       bool            `json:"error"`
	Throttle    bool            `json:"throttle"`
	User        string          `json:"user"`
	Inferred    bool            `json:"inferred"`
	Annotations map[string]any  `json:"annotations"`
	HTTP        *httpData       `json:"http"`
	AWS         map[string]any  `json:"aws"`
	SQL         map[string]any  `json:"sql"`
	Cause       json.RawMessage `json:"cause"`
	Subsegments []entity        `json:"subsegments"`
}

type httpData struct {
	Request struct {
		Method    string `json:"method"`
		URL       string `json:"url"`
		UserAgent string `json:"user_agent"`
		ClientIP  string `json:"client_ip"`
	} `json:"request"`
	Response struct {
		Status        json.Number `json:"status"`
		ContentLength json.Number `json:"content_length"`
	} `json:"response"`
}

type cause struct {
	Exceptions []struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"exceptions"`
}

type span struct {
	Resource          map[string]any   `json:"resource"`
	Scope             map[string]any   `json:"scope"`
	TraceID           string           `json:"traceId"`
	SpanID            string           `json:"spanId"`
	ParentSpanID      string           `json:"parentSpanId,omitempty"`
	Name              string           `json:"name"`
	Kind              string           `json:"kind"`
	StartTimeUnixNano int64            `json:"startTimeUnixNano"`
	EndTimeUnixNano   int64            `json:"endTimeUnixNano,omitempty"`
	DurationNano      int64            `json:"durationNano,omitempty"`
	Attributes        map[string]any   `json:"attributes"`
	Status            map[string]any   `json:"status"`
	Events            []map[string]any `json:"events,omitempty"`
}

// W3CTraceID is an X-Ray trace ID (1-<8 hex>-<24 hex>) as a W3C trace ID.
func W3CTraceID(xray string) (string, error) {
	parts := strings.Split(xray, "-")
	if len(parts) != 3 || parts[0] != "1" || len(parts[1]) != 8 || len(parts[2]) != 24 {
		return "", fmt.Errorf("otelspan: %q is not an X-Ray trace ID", xray)
	}
	return parts[1] + parts[2], nil
}

// FromDocument converts one compiled segment document (with its nested
// subsegments) into spans, the segment first, appending at most limit in
// all to dst (limit <= 0: no limit).
func FromDocument(dst []Span, doc []byte, limit int) ([]Span, error) {
	var root entity
	if err := json.Unmarshal(doc, &root); err != nil {
		return dst, fmt.Errorf("otelspan: %w", err)
	}
	if root.ID == "" || root.TraceID == "" {
		return dst, errors.New("otelspan: a segment document needs an id and a trace_id")
	}
	traceID, err := W3CTraceID(root.TraceID)
	if err != nil {
		return dst, err
	}
	resource := map[string]any{"service.name": root.Name}
	if root.Origin != "" {
		resource["cloud.platform"] = root.Origin
	}
	if sdk, ok := root.AWS["xray"].(map[string]any); ok {
		if v, ok := sdk["sdk"].(string); ok {
			resource["telemetry.sdk.name"] = v
		}
		if v, ok := sdk["sdk_version"].(string); ok {
			resource["telemetry.sdk.version"] = v
		}
	}
	scope := map[string]any{"name": "aws-xray"}
	var walk func(e *entity, parent string, segment bool) error
	walk = func(e *entity, parent string, segment bool) error {
		if limit > 0 && len(dst) >= limit {
			return nil
		}
		s := span{Resource: resource, Scope: scope, TraceID: traceID, SpanID: e.ID, ParentSpanID: parent, Name: e.Name,
			Kind: kind(e, segment), StartTimeUnixNano: nanos(e.Start), Attributes: attributes(e), Status: status(e)}
		if !e.InProgress && e.End > 0 {
			s.EndTimeUnixNano = nanos(e.End)
			s.DurationNano = s.EndTimeUnixNano - s.StartTimeUnixNano
		}
		var c cause
		if len(e.Cause) > 0 && e.Cause[0] == '{' && json.Unmarshal(e.Cause, &c) == nil {
			for _, x := range c.Exceptions {
				s.Events = append(s.Events, map[string]any{"name": "exception", "timeUnixNano": s.EndTimeUnixNano,
					"attributes": map[string]any{"exception.type": x.Type, "exception.message": x.Message}})
			}
		}
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("otelspan: %w", err)
		}
		dst = append(dst, Span{ID: e.ID, Document: b})
		for i := range e.Subsegments {
			if err := walk(&e.Subsegments[i], e.ID, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&root, root.ParentID, true); err != nil {
		return dst, err
	}
	return dst, nil
}

func nanos(sec float64) int64 {
	if sec <= 0 || sec > math.MaxInt64/1e9 {
		return 0
	}
	// Whole seconds and the fraction apart: sec × 1e9 as one float64
	// would lose the nanoseconds (2^53 ns is only 104 days).
	whole := math.Floor(sec)
	return int64(whole)*1e9 + int64(math.Round((sec-whole)*1e6))*1e3
}

// kind maps X-Ray's entity roles to span kinds: a segment serves a request
// (or, inferred, stands for the service called), a remote or AWS
// subsegment is a call out, the rest is work inside the service.
func kind(e *entity, segment bool) string {
	switch {
	case segment:
		return "SERVER"
	case e.Namespace == "remote" || e.Namespace == "aws":
		return "CLIENT"
	}
	return "INTERNAL"
}

// status is ERROR for faults (5xx). X-Ray's errors are client errors
// (4xx), for which OpenTelemetry leaves a server span's status unset.
func status(e *entity) map[string]any {
	if e.Fault {
		return map[string]any{"code": "ERROR"}
	}
	return map[string]any{"code": "UNSET"}
}

func attributes(e *entity) map[string]any {
	a := map[string]any{}
	if h := e.HTTP; h != nil {
		set(a, "http.request.method", h.Request.Method)
		set(a, "url.full", h.Request.URL)
		set(a, "user_agent.original", h.Request.UserAgent)
		set(a, "client.address", h.Request.ClientIP)
		if n, err := h.Response.Status.Int64(); err == nil {
			a["http.response.status_code"] = n
		}
		if n, err := h.Response.ContentLength.Int64(); err == nil {
			a["http.response.body.size"] = n
		}
	}
	for _, k := range []string{"operation", "region", "request_id", "table_name", "queue_url", "bucket_name", "account_id"} {
		if v, ok := e.AWS[k].(string); ok {
			set(a, "aws."+k, v)
		}
	}
	if op, ok := e.AWS["operation"].(string); ok && e.Namespace == "aws" {
		set(a, "rpc.system", "aws-api")
		set(a, "rpc.method", op)
		set(a, "rpc.service", e.Name)
	}
	for _, k := range []string{"url", "database_type", "sanitized_query", "user"} {
		if v, ok := e.SQL[k].(string); ok {
			set(a, "aws.xray.sql."+k, v)
		}
	}
	set(a, "enduser.id", e.User)
	for k, v := range e.Annotations {
		a["aws.xray.annotations."+k] = v
	}
	if e.Inferred {
		a["aws.xray.inferred"] = true
	}
	if e.Error {
		a["aws.xray.error"] = true
	}
	if e.Throttle {
		a["aws.xray.throttle"] = true
	}
	if e.Fault {
		a["aws.xray.fault"] = true
	}
	return a
}

func set(a map[string]any, k, v string) {
	if v != "" {
		a[k] = v
	}
}

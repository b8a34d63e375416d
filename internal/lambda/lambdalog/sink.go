package lambdalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
)

// Sink receives log records in the order they were written for each
// stream. Write may be called from several goroutines; it returns once the
// records are stored (or fails, and the caller may retry or drop them).
type Sink interface {
	Write(ctx context.Context, recs []logs.Record) error
}

// Path is the Counterspy server's log endpoint: POST a JSON array of
// logs.Record; GET with trace_id, function or request_id (and since) to read.
const Path = "/counterspy/v1/logs"

// HTTPSink posts records to a Counterspy server's log endpoint.
type HTTPSink struct {
	url    string
	client *http.Client
}

// NewHTTPSink posts to server (e.g. http://127.0.0.1:2000) + Path.
func NewHTTPSink(server string, client *http.Client) *HTTPSink {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &HTTPSink{url: strings.TrimSuffix(server, "/") + Path, client: client}
}

// Write implements Sink.
func (s *HTTPSink) Write(ctx context.Context, recs []logs.Record) error {
	body, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post %d log records to %s: %w", len(recs), s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("post %d log records to %s: %s: %s", len(recs), s.url, resp.Status, bytes.TrimSpace(msg))
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

// Memory keeps records in memory (tests, and the demo's own summary).
type Memory struct {
	mu   sync.Mutex
	recs []logs.Record
	// changed is closed and replaced on every write, for Wait.
	changed chan struct{}
}

// NewMemory returns an empty in-memory sink.
func NewMemory() *Memory { return &Memory{changed: make(chan struct{})} }

// Write implements Sink.
func (m *Memory) Write(_ context.Context, recs []logs.Record) error {
	m.mu.Lock()
	m.recs = append(m.recs, recs...)
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
	return nil
}

// Records returns a copy of the records that match keep (all when nil).
func (m *Memory) Records(keep func(logs.Record) bool) []logs.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []logs.Record
	for _, r := range m.recs {
		if keep == nil || keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Wait returns the matching records once done(records) is true, or an
// error when ctx ends first.
func (m *Memory) Wait(ctx context.Context, keep func(logs.Record) bool, done func([]logs.Record) bool) ([]logs.Record, error) {
	for {
		m.mu.Lock()
		ch := m.changed
		m.mu.Unlock()
		recs := m.Records(keep)
		if done(recs) {
			return recs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return recs, ctx.Err()
		}
	}
}

// Printer writes records as text lines, like CloudWatch Logs shows them:
// time, request ID, message (the request ID column is left out for lines
// written outside an invocation).
type Printer struct {
	mu sync.Mutex
	w  io.Writer
	// Prefix, when set, is written before each line with the function
	// name (for several functions in one terminal).
	Prefix bool
}

// NewPrinter prints to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Write implements Sink.
func (p *Printer) Write(_ context.Context, recs []logs.Record) error {
	var b bytes.Buffer
	for _, r := range recs {
		if p.Prefix {
			b.WriteString("[")
			b.WriteString(r.Function)
			b.WriteString("] ")
		}
		b.WriteString(FormatRecord(r))
		b.WriteByte('\n')
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.w.Write(b.Bytes())
	return err
}

// FormatRecord is one record as a text line: "2026-11-25T12:00:00.123Z
// <requestId>  <message>", tabs of platform lines kept, a trailing newline
// of the message dropped.
func FormatRecord(r logs.Record) string {
	msg := strings.TrimRight(r.Message, "\n")
	if r.RequestID == "" {
		return FormatTime(r.Time) + "  " + msg
	}
	return FormatTime(r.Time) + "  " + r.RequestID + "  " + msg
}

// Tee writes to every sink and joins their errors.
type Tee []Sink

// Write implements Sink.
func (t Tee) Write(ctx context.Context, recs []logs.Record) error {
	var errs []error
	for _, s := range t {
		if err := s.Write(ctx, recs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

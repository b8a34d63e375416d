// Package telemetry is the Lambda Telemetry API of one execution
// environment (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html):
// extensions subscribe with PUT /2022-07-01/telemetry and receive, over
// HTTP POST, JSON arrays of events — platform events (platform.initStart,
// platform.initRuntimeDone, platform.initReport, platform.start,
// platform.runtimeDone, platform.report, platform.extension,
// platform.telemetrySubscription), the function's log lines (type
// function) and the extensions' (type extension) — buffered per
// subscriber by maxItems, maxBytes and timeoutMs. This is what the
// ADOT/OpenTelemetry Lambda layers' collectors consume.
//
// Local differences, by necessity: a destination host sandbox.localdomain
// (what extensions use inside Lambda) is 127.0.0.1 here, and only the HTTP
// protocol is served (TCP subscriptions are refused with a clear error).
// Events emitted before a subscription (the init phase's, which happen
// while the extension starts) are kept, up to a bound, and replayed to a
// new subscriber, so an extension sees the init events as on Lambda.
package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Event types and categories.
const (
	TypePlatform  = "platform"
	TypeFunction  = "function"
	TypeExtension = "extension"
)

// Buffering limits (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html),
// validated leniently: older documentation printed other minimums.
const (
	DefaultMaxItems  = 1000
	DefaultMaxBytes  = 256 * 1024
	DefaultTimeoutMs = 1000
	maxBacklog       = 1000
	// maxBuffered is how many batches' worth a subscriber may fall behind
	// before events are dropped.
	maxBuffered = 10
)

// Event is one telemetry event: {"time", "type", "record"}; the records'
// fields follow the schema reference
// (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html).
type Event struct {
	Time   string `json:"time"`
	Type   string `json:"type"`
	Record any    `json:"record"`
}

func category(typ string) string {
	if len(typ) > 9 && typ[:9] == "platform." {
		return TypePlatform
	}
	return typ
}

// Hub is one environment's Telemetry API: the subscribers and their
// buffers.
type Hub struct {
	// Authorize maps an extension identifier to its name; subscriptions
	// without a registered identifier are refused.
	Authorize func(id string) (name string, ok bool)
	log       *slog.Logger
	client    *http.Client

	mu      sync.Mutex
	subs    []*subscriber
	backlog []Event
	// noBacklog: the init phase is over, later subscribers get events
	// from their subscription on.
	noBacklog bool
	closed    bool
	wg        sync.WaitGroup
}

// New returns a hub.
func New(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{log: log, client: &http.Client{Timeout: 5 * time.Second}}
}

// Register mounts PUT /2022-07-01/telemetry.
func (h *Hub) Register(handle func(pattern string, h http.Handler)) {
	handle("PUT /2022-07-01/telemetry", http.HandlerFunc(h.subscribe))
	handle("PUT /2022-07-01/telemetry/", http.HandlerFunc(h.subscribe))
}

type subscription struct {
	SchemaVersion string   `json:"schemaVersion"`
	Types         []string `json:"types"`
	Buffering     struct {
		MaxItems  int `json:"maxItems"`
		MaxBytes  int `json:"maxBytes"`
		TimeoutMs int `json:"timeoutMs"`
	} `json:"buffering"`
	Destination struct {
		Protocol string `json:"protocol"`
		URI      string `json:"URI"`
	} `json:"destination"`
}

func validationError(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]string{"errorType": "ValidationError", "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(b)
}

// ParseSubscription validates a subscription request body and returns the
// subscriber's settings with defaults applied and the destination's host
// mapped to loopback.
func ParseSubscription(body []byte) (types []string, maxItems, maxBytes int, timeout time.Duration, dest string, err error) {
	var s subscription
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, 0, 0, 0, "", fmt.Errorf("the body is not a subscription: %v", err)
	}
	switch s.SchemaVersion {
	case "2022-07-01", "2022-12-13", "2025-01-29":
	default:
		return nil, 0, 0, 0, "", fmt.Errorf("schemaVersion %q: want 2022-07-01, 2022-12-13 or 2025-01-29", s.SchemaVersion)
	}
	if len(s.Types) == 0 {
		return nil, 0, 0, 0, "", errors.New("types: subscribe to at least one of platform, function, extension")
	}
	for _, t := range s.Types {
		if t != TypePlatform && t != TypeFunction && t != TypeExtension {
			return nil, 0, 0, 0, "", fmt.Errorf("types: unknown type %q (platform, function, extension)", t)
		}
	}
	if s.Destination.Protocol != "HTTP" {
		return nil, 0, 0, 0, "", fmt.Errorf("destination.protocol %q: only HTTP is served by the local emulator", s.Destination.Protocol)
	}
	u, err := url.Parse(s.Destination.URI)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, 0, 0, 0, "", fmt.Errorf("destination.URI %q: want http://sandbox.localdomain:PORT/path", s.Destination.URI)
	}
	switch u.Hostname() {
	case "sandbox.localdomain", "sandbox", "localhost", "127.0.0.1":
		// Inside Lambda the extension listens on sandbox.localdomain; here
		// it runs on this machine.
		u.Host = "127.0.0.1:" + u.Port()
	default:
		return nil, 0, 0, 0, "", fmt.Errorf("destination.URI host %q: an extension listens on sandbox.localdomain", u.Hostname())
	}
	if u.Port() == "" || u.Port() == "9001" {
		return nil, 0, 0, 0, "", fmt.Errorf("destination.URI %q: give a port other than 9001 (reserved)", s.Destination.URI)
	}
	b := s.Buffering
	maxItems, maxBytes, timeoutMs := b.MaxItems, b.MaxBytes, b.TimeoutMs
	if maxItems == 0 {
		maxItems = DefaultMaxItems
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if timeoutMs == 0 {
		timeoutMs = DefaultTimeoutMs
	}
	if maxItems < 1 || maxItems > 10000 || maxBytes < 1 || maxBytes > 1<<20 || timeoutMs < 25 || timeoutMs > 30000 {
		return nil, 0, 0, 0, "", errors.New("buffering: maxItems 1-10000, maxBytes up to 1048576, timeoutMs 25-30000")
	}
	return s.Types, maxItems, maxBytes, time.Duration(timeoutMs) * time.Millisecond, u.String(), nil
}

func (h *Hub) subscribe(w http.ResponseWriter, r *http.Request) {
	name, ok := "", false
	if h.Authorize != nil {
		name, ok = h.Authorize(r.Header.Get("Lambda-Extension-Identifier"))
	}
	if !ok {
		b, _ := json.Marshal(map[string]string{"errorType": "Telemetry.UnknownExtensionIdentifier",
			"errorMessage": "subscriptions come from registered extensions (Lambda-Extension-Identifier)"})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(b)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	types, maxItems, maxBytes, timeout, dest, err := ParseSubscription(body)
	if err != nil {
		validationError(w, err.Error())
		return
	}
	s := &subscriber{h: h, name: name, types: types, maxItems: maxItems, maxBytes: maxBytes, timeout: timeout,
		dest: dest, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		validationError(w, "the environment is shutting down")
		return
	}
	// One subscription per extension: a new one replaces the old.
	h.subs = slices.DeleteFunc(h.subs, func(o *subscriber) bool {
		if o.name == name {
			close(o.stop)
			return true
		}
		return false
	})
	h.subs = append(h.subs, s)
	for _, ev := range h.backlog {
		s.addLocked(ev)
	}
	h.wg.Go(s.run)
	h.mu.Unlock()
	h.Emit("platform.telemetrySubscription", map[string]any{"name": name, "state": "Subscribed", "types": types})
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

// Emit records an event for every subscriber of its category.
func (h *Hub) Emit(typ string, record any) { h.EmitAt(time.Now(), typ, record) }

// EmitAt records an event that happened at t.
func (h *Hub) EmitAt(t time.Time, typ string, record any) {
	ev := Event{Time: t.UTC().Format("2006-01-02T15:04:05.000Z"), Type: typ, Record: record}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if !h.noBacklog && len(h.backlog) < maxBacklog {
		h.backlog = append(h.backlog, ev)
	}
	for _, s := range h.subs {
		s.addLocked(ev)
	}
}

// InitDone ends the replay of init-phase events to new subscribers.
func (h *Hub) InitDone() {
	h.mu.Lock()
	h.noBacklog, h.backlog = true, nil
	h.mu.Unlock()
}

// Flush delivers every buffered event now and waits (up to timeout) until
// the subscribers took them: before SHUTDOWN, so the last invocation's
// telemetry reaches the extension before it exits.
func (h *Hub) Flush(timeout time.Duration) {
	h.mu.Lock()
	subs := slices.Clone(h.subs)
	h.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for _, s := range subs {
		s.flushReq(deadline)
	}
}

// Close stops delivery; buffered events are dropped.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for _, s := range h.subs {
		close(s.stop)
	}
	h.subs = nil
	h.mu.Unlock()
	h.wg.Wait()
}

type subscriber struct {
	h                  *Hub
	name               string
	types              []string
	maxItems, maxBytes int
	timeout            time.Duration
	dest               string

	// Guarded by h.mu.
	buf      []json.RawMessage
	bufBytes int
	first    time.Time
	flushing []chan struct{}
	// Events dropped because the subscriber fell behind (reported with
	// platform.logsDropped, as Lambda does).
	droppedRecords, droppedBytes int

	wake chan struct{}
	stop chan struct{}
}

func (s *subscriber) addLocked(ev Event) {
	if !slices.Contains(s.types, category(ev.Type)) {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	if len(s.buf) >= maxBuffered*s.maxItems || s.bufBytes >= maxBuffered*s.maxBytes {
		// The subscriber is not taking its batches: drop rather than grow.
		s.droppedRecords++
		s.droppedBytes += len(b)
		return
	}
	if len(s.buf) == 0 {
		s.first = time.Now()
	}
	s.buf = append(s.buf, b)
	s.bufBytes += len(b)
	if len(s.buf) >= s.maxItems || s.bufBytes >= s.maxBytes {
		s.poke()
	}
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) flushReq(deadline time.Time) {
	done := make(chan struct{})
	s.h.mu.Lock()
	s.flushing = append(s.flushing, done)
	s.h.mu.Unlock()
	s.poke()
	t := time.NewTimer(max(time.Until(deadline), 0))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-s.stop:
	}
}

// run delivers batches: when a buffer is full, when its oldest event is
// timeoutMs old, or on Flush.
func (s *subscriber) run() {
	tick := time.NewTicker(min(s.timeout, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-tick.C:
		}
		for {
			s.h.mu.Lock()
			if s.droppedRecords > 0 && len(s.buf) < s.maxItems && slices.Contains(s.types, TypePlatform) {
				// Room again: say what was lost.
				b, _ := json.Marshal(Event{Time: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), Type: "platform.logsDropped",
					Record: map[string]any{"droppedRecords": s.droppedRecords, "droppedBytes": s.droppedBytes,
						"reason": "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}})
				if len(s.buf) == 0 {
					s.first = time.Now()
				}
				s.buf = append(s.buf, b)
				s.bufBytes += len(b)
				s.droppedRecords, s.droppedBytes = 0, 0
			}
			due := len(s.buf) > 0 && (len(s.flushing) > 0 || len(s.buf) >= s.maxItems || s.bufBytes >= s.maxBytes ||
				time.Since(s.first) >= s.timeout)
			var batch []json.RawMessage
			if due {
				n := min(len(s.buf), s.maxItems)
				batch = s.buf[:n:n]
				s.buf = slices.Clone(s.buf[n:])
				s.bufBytes = 0
				for _, b := range s.buf {
					s.bufBytes += len(b)
				}
				s.first = time.Now()
			}
			var flushed []chan struct{}
			if len(s.buf) == 0 {
				flushed, s.flushing = s.flushing, nil
			}
			s.h.mu.Unlock()
			if batch != nil {
				s.deliver(batch)
			}
			for _, ch := range flushed {
				close(ch)
			}
			if batch == nil {
				break
			}
		}
	}
}

// deliver POSTs one batch as a JSON array, retrying a few times as Lambda
// does when the subscriber is not listening yet.
func (s *subscriber) deliver(batch []json.RawMessage) {
	body, _ := json.Marshal(batch)
	for attempt := range 3 {
		req, _ := http.NewRequest(http.MethodPost, s.dest, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.h.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if attempt == 2 {
			s.h.log.Warn("lambda: telemetry batch not delivered", "extension", s.name, "events", len(batch), "err", err)
			return
		}
		select {
		case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
		case <-s.stop:
			return
		}
	}
}

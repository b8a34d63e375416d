// Package logsapi is the HTTP API of function logs: the Lambda emulator (in
// the server's process or a separate `counterspy lambda`) posts its lines to
// Path; `counterspy logs` and the console read them back by trace, request
// or function.
package logsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/counterspy/counterspy/internal/httpbody"
	"github.com/counterspy/counterspy/internal/logs"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Path is the endpoint: POST a JSON array of logs.Record, GET with a query.
const Path = "/counterspy/v1/logs"

const (
	maxLogsBody   = 8 << 20
	maxLogRecords = 10000
	maxLogMessage = 256 << 10
)

// Store is what the API needs of the store: durable writes and log reads.
type Store interface {
	store.Writer
	store.LogReader
}

// Handler serves Path.
type Handler struct {
	Store Store
	Log   *slog.Logger
	// Stored, when set, is called with the number of records each
	// successful POST stored (the server's counter).
	Stored func(n int)
}

// Register adds the POST and GET routes of Path to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+Path, h.postLogs)
	mux.HandleFunc("GET "+Path, h.getLogs)
}

// postLogs stores a JSON array of logs.Record durably before answering 204.
func (h *Handler) postLogs(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > maxLogsBody {
		httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is %d bytes; the limit is %d", r.ContentLength, maxLogsBody))
		return
	}
	body, err := httpbody.Read(w, r, maxLogsBody)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
		httpError(w, status, fmt.Sprintf("reading log records: %v", err))
		return
	}
	recs, err := parseLogRecords(body)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(recs) > 0 {
		if err := h.Store.Write(r.Context(), &store.Batch{Logs: recs}); err != nil {
			h.Log.Error("storing log records failed", "records", len(recs), "err", err)
			httpError(w, http.StatusInternalServerError, "storing log records: "+err.Error())
			return
		}
		if h.Stored != nil {
			h.Stored(len(recs))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseLogRecords decodes and validates a POSTed body: all records or none.
func parseLogRecords(body []byte) ([]logs.Record, error) {
	var recs []logs.Record
	if err := json.Unmarshal(body, &recs); err != nil {
		return nil, fmt.Errorf("log records must be a JSON array of records: %v", err)
	}
	if len(recs) > maxLogRecords {
		return nil, fmt.Errorf("%d log records in one request; the limit is %d", len(recs), maxLogRecords)
	}
	for i, rec := range recs {
		if err := validLogRecord(rec); err != nil {
			return nil, fmt.Errorf("log record %d: %v", i, err)
		}
	}
	return recs, nil
}

func validLogRecord(rec logs.Record) error {
	switch {
	case rec.Time.IsZero():
		return fmt.Errorf("time is required")
	case rec.Function == "":
		return fmt.Errorf("function is required")
	case len(rec.Message) > maxLogMessage:
		return fmt.Errorf("message is %d bytes; the limit is %d", len(rec.Message), maxLogMessage)
	}
	if rec.TraceID != "" {
		if _, err := xrayid.ParseTraceID(rec.TraceID); err != nil {
			return fmt.Errorf("traceId %q: %v", rec.TraceID, err)
		}
	}
	switch rec.Stream {
	case logs.Stdout, logs.Stderr, logs.Platform:
	default:
		return fmt.Errorf("stream %q: want stdout, stderr or platform", rec.Stream)
	}
	return nil
}

// getLogs answers ?trace_id= | request_id= | function= [&since=RFC3339]
// [&until=RFC3339] [&limit=N] with a JSON array, oldest first. since is
// inclusive, so a follower can ask again from the last time it saw.
func (h *Handler) getLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := store.LogQuery{TraceID: q.Get("trace_id"), RequestID: q.Get("request_id"), Function: q.Get("function")}
	set := 0
	for _, v := range []string{lq.TraceID, lq.RequestID, lq.Function} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		httpError(w, http.StatusBadRequest, "give exactly one of trace_id, request_id and function")
		return
	}
	if lq.TraceID != "" {
		if _, err := xrayid.ParseTraceID(lq.TraceID); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("trace_id %q: %v", lq.TraceID, err))
			return
		}
	}
	var err error
	if lq.From, err = parseTimeParam(q.Get("since")); err != nil {
		httpError(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	if lq.To, err = parseTimeParam(q.Get("until")); err != nil {
		httpError(w, http.StatusBadRequest, "until: "+err.Error())
		return
	}
	lq.Limit = 10000
	if v := q.Get("limit"); v != "" {
		if lq.Limit, err = strconv.Atoi(v); err != nil || lq.Limit <= 0 || lq.Limit > 100000 {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1..100000", v))
			return
		}
	}
	out := []logs.Record{}
	for rec, err := range h.Store.Logs(r.Context(), lq) {
		if err != nil {
			httpError(w, http.StatusInternalServerError, "reading logs: "+err.Error())
			return
		}
		out = append(out, rec)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func parseTimeParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v)
	}
	return t, nil
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

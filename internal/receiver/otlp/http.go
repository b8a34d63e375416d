package otlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TracesPath is the OTLP/HTTP traces path.
const TracesPath = "/v1/traces"

const (
	contentProto = "application/x-protobuf"
	contentJSON  = "application/json"
)

// HTTPHandler returns the OTLP/HTTP handler for POST /v1/traces.
func (r *Receiver) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TracesPath, r.serveTraces)
	mux.HandleFunc(TracesPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "OTLP traces are sent with POST", http.StatusMethodNotAllowed)
	})
	return mux
}

func (r *Receiver) serveTraces(w http.ResponseWriter, req *http.Request) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct != contentProto && ct != contentJSON {
		r.rejectBody(w, contentJSON, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported content type %q: send %s or %s", req.Header.Get("Content-Type"), contentProto, contentJSON))
		return
	}
	buf := getBodyBuffer()
	body, code, err := r.readBody(req, buf)
	if err != nil {
		putBodyBuffer(buf)
		r.rejectBody(w, ct, code, codes.InvalidArgument, err.Error())
		return
	}
	ereq := ptraceotlp.NewExportRequest()
	if ct == contentProto {
		err = ereq.UnmarshalProto(body)
	} else {
		err = ereq.UnmarshalJSON(body)
	}
	// pdata copies what it keeps (strings, IDs, bytes values) out of the
	// body, so the buffer can serve the next request.
	putBodyBuffer(buf)
	if err != nil {
		r.rejectBody(w, ct, http.StatusBadRequest, codes.InvalidArgument, "the body is not an OTLP ExportTraceServiceRequest: "+err.Error())
		return
	}
	res, err := r.export(req.Context(), ereq.Traces(), ProtoHTTP)
	switch {
	case errors.Is(err, errQueueFull):
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter.Seconds())))
		r.rejectBody(w, ct, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	case err != nil:
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter.Seconds())))
		r.rejectBody(w, ct, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	resp := response(res)
	var out []byte
	if ct == contentProto {
		out, err = resp.MarshalProto()
	} else {
		out, err = resp.MarshalJSON()
	}
	if err != nil {
		// Spans are stored; only the answer failed to encode.
		r.log.Error("otlp: encoding the answer failed", "err", err)
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// readBody reads the body into buf, gunzipping it when Content-Encoding says
// gzip, and refuses more than MaxBodyBytes. The body returned aliases buf.
func (r *Receiver) readBody(req *http.Request, buf *bytes.Buffer) ([]byte, int, error) {
	limit := int64(r.opts.MaxBodyBytes)
	var src io.Reader = http.MaxBytesReader(nil, req.Body, limit+1)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := getGzipReader(src)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err)
		}
		defer putGzipReader(zr)
		src = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported content encoding %q: send gzip or none", enc)
	}
	if req.ContentLength > 0 {
		// One allocation for an uncompressed body instead of doubling
		// from 512 bytes (a gzipped body grows from there); ReadFrom wants
		// MinRead bytes free to see the end, so that much more.
		buf.Grow(int(min(req.ContentLength, limit+1)) + bytes.MinRead)
	}
	n, err := io.Copy(buf, io.LimitReader(src, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is over %d bytes", limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("reading the body: %w", err)
	}
	if n > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is over %d bytes once decompressed", limit)
	}
	return buf.Bytes(), 0, nil
}

// rejectBody answers with a google.rpc.Status, in the request's encoding, as
// the OTLP/HTTP specification asks for failures.
func (r *Receiver) rejectBody(w http.ResponseWriter, ct string, httpCode int, code codes.Code, msg string) {
	if httpCode != http.StatusServiceUnavailable {
		r.badRequest(ProtoHTTP)
	}
	st := &status.Status{Code: int32(code), Message: msg}
	var out []byte
	var err error
	if ct == contentProto {
		out, err = proto.Marshal(st)
	} else {
		ct = contentJSON
		out, err = protojson.Marshal(st)
	}
	if err != nil {
		http.Error(w, msg, httpCode)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(httpCode)
	w.Write(out)
}

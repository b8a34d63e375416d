// Package httpbody reads a request body once: a middleware that needs the
// whole body before the handler runs (the SigV4 check hashes it) keeps what
// it read, and the handler gets the same bytes back instead of a second copy.
package httpbody

import (
	"bytes"
	"io"
	"net/http"
)

// Buffered is a request body already read into memory. It replaces
// Request.Body, so handlers that read the body the usual way still work.
type Buffered struct {
	*bytes.Reader
	b []byte
}

// Keep replaces r's body with b, already read.
func Keep(r *http.Request, b []byte) {
	r.Body = &Buffered{Reader: bytes.NewReader(b), b: b}
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return &Buffered{Reader: bytes.NewReader(b), b: b}, nil }
}

// Close does nothing: the bytes stay valid.
func (b *Buffered) Close() error { return nil }

// Read returns the body of r, at most max bytes (more is an
// *http.MaxBytesError, as http.MaxBytesReader reports it). A body an earlier
// handler kept is returned as is, without copying.
func Read(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if b, ok := r.Body.(*Buffered); ok {
		if int64(len(b.b)) > max {
			return nil, &http.MaxBytesError{Limit: max}
		}
		return b.b, nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, max))
}

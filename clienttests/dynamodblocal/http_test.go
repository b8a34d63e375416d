package dynamodblocal_test

import "net/http"

// http2Close gives the SDK a client whose idle connections the test can
// close, so goleak sees no stray goroutines.
type http2Close struct{ tr *http.Transport }

func (h *http2Close) client() *http.Client {
	h.tr = http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: h.tr}
}

func (h *http2Close) close() { h.tr.CloseIdleConnections() }

// Package sdkhttp is the HTTP client Counterspy gives the AWS SDK for Go v2.
//
// smithy-go (v1.28.9 and earlier) wraps each request body in a reader whose
// WriteTo returns io.EOF once the SDK has closed the body. net/http, after
// sending Content-Length bytes, copies what is left of the body to
// io.Discard to check that nothing is; when the server answers before that
// check runs (a fast server on loopback), the SDK closes the body as soon as
// it has the response, the check fails with io.EOF, and the transport
// closes the connection under the response being read: "failed to decode
// response body ... use of closed network connection". Hiding WriteTo makes
// net/http read the body with Read, which reports a closed body as a plain
// end of input.
package sdkhttp

import (
	"io"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Client returns the SDK's default HTTP client with the request-body fix.
func Client() *http.Client {
	return &http.Client{Transport: Transport(awshttp.NewBuildableClient().GetTransport())}
}

// Transport wraps next so that request bodies reach it without WriteTo.
func Transport(next http.RoundTripper) http.RoundTripper {
	return roundTripper{next}
}

type roundTripper struct{ next http.RoundTripper }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			r2 := *r // RoundTrip must not modify the caller's request
			r2.Body = readCloser{r.Body}
			r = &r2
		}
	}
	return t.next.RoundTrip(r)
}

// readCloser exposes Read and Close only.
type readCloser struct{ io.ReadCloser }

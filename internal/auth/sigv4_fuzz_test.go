package auth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSigV4 feeds outside Authorization headers, X-Amz-Date values and
// query strings to the SigV4 check: it answers an error or a principal,
// never panics, and never accepts a signature it did not compute.
func FuzzSigV4(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDWRITER/20260101/us-east-1/xray/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "20260101T000000Z", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDREADER%2F20260101%2Fus-east-1%2Fxray%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=A/1/r/s/aws4_request,SignedHeaders=host;user-agent;content-length,Signature=0", "2026", "a=%zz")
	keys, err := ParseKeys(strings.NewReader(testFile))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, authz, date, query string) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/Traces", RawQuery: query}, Host: "127.0.0.1:2000", Header: http.Header{}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		if !isSigV4(r) {
			return
		}
		p, e := keys.verifySigV4(r, []byte("{}"), now)
		if e == nil {
			t.Fatalf("accepted as %+v: Authorization %q, X-Amz-Date %q, query %q", p, authz, date, query)
		}
		if e.Code == "" || e.Status < 400 {
			t.Fatalf("error without a code or status: %+v", e)
		}
	})
}

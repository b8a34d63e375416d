package auth

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/counterspy/counterspy/internal/httpbody"
)

const (
	testFile = `AKIDWRITER secretW
AKIDREADER secretR read
token tokentokentoken-write
token tokentokentoken-read read
`
	loginToken = "login-token-for-tests"
)

// newTestServer serves a plain handler behind the middleware: it answers
// with the principal and the body it got, and whether the body came
// already read.
func newTestServer(t *testing.T) (*httptest.Server, *metrics.Set) {
	t.Helper()
	keys, err := ParseKeys(strings.NewReader(testFile))
	if err != nil {
		t.Fatal(err)
	}
	ms := metrics.NewSet()
	a := New(Options{Keys: keys, MaxBodyBytes: 1 << 10, LoginToken: loginToken, Metrics: ms,
		Logger: slog.New(slog.DiscardHandler),
		Public: func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/" }})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		_, kept := r.Body.(*httpbody.Buffered)
		body, err := httpbody.Read(w, r, 1<<10)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s kept=%v body=%s", p.Name, p.Role, kept, body)
	})
	srv := httptest.NewServer(a.Middleware(h))
	t.Cleanup(srv.Close)
	return srv, ms
}

// signADOT signs req as the collector's sigv4auth extension does: the SDK's
// signer over the SHA-256 of the body, service xray, any region.
func signADOT(t testing.TB, req *http.Request, body []byte, akid, secret string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "xray", "eu-west-3", at)
	if err != nil {
		t.Fatal(err)
	}
}

type result struct {
	status int
	code   string // x-amzn-ErrorType
	body   string
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, code: resp.Header.Get("x-amzn-ErrorType"), body: string(b)}
	if res.code != "" {
		var e struct {
			Type string `json:"__type"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Type != res.code {
			t.Errorf("error body %s does not carry __type %s", b, res.code)
		}
	}
	return res
}

func post(t *testing.T, base, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestSigV4(t *testing.T) {
	srv, ms := newTestServer(t)
	now := time.Now()
	body := `{"TraceSegmentDocuments":["{}"]}`
	check := func(name string, req *http.Request, wantStatus int, wantCode, wantBody string) {
		t.Helper()
		got := do(t, req)
		if got.status != wantStatus || got.code != wantCode || !strings.Contains(got.body, wantBody) {
			t.Errorf("%s: got %d %q %s; want %d %q containing %q", name, got.status, got.code, got.body, wantStatus, wantCode, wantBody)
		}
	}

	req := post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	check("signed write", req, 200, "", "AKIDWRITER write kept=true body="+body)

	req = post(t, srv.URL, "/TraceSummaries?b=2&a=x%20y", body)
	signADOT(t, req, []byte(body), "AKIDREADER", "secretR", now)
	check("read-only key reading, with a query", req, 200, "", "AKIDREADER read")

	// A Lambda function ARN in the path arrives percent-encoded.
	u := srv.URL + "/2015-03-31/functions/" + url.PathEscape("arn:aws:lambda:us-east-1:123456789012:function:hello") + "/invocations"
	req, _ = http.NewRequest(http.MethodGet, u, nil)
	signADOT(t, req, nil, "AKIDREADER", "secretR", now)
	check("escaped path", req, 200, "", "AKIDREADER read kept=true body=")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDREADER", "secretR", now)
	check("read-only key writing", req, 403, "AccessDeniedException", "xray:PutTraceSegments")

	req = post(t, srv.URL, "/SamplingTargets", "{}")
	signADOT(t, req, []byte("{}"), "AKIDREADER", "secretR", now)
	check("read-only key reporting sampling statistics", req, 403, "AccessDeniedException", "xray:GetSamplingTargets")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDWRITER", "wrong", now)
	check("wrong secret", req, 403, "InvalidSignatureException", "does not match")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDNOBODY", "secretW", now)
	check("unknown key", req, 403, "UnrecognizedClientException", "security token included in the request is invalid")

	check("no credentials", post(t, srv.URL, "/TraceSegments", body), 403, "MissingAuthenticationTokenException", "Missing Authentication Token")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now.Add(-20*time.Minute))
	check("old X-Amz-Date", req, 403, "InvalidSignatureException", "Signature expired")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now.Add(20*time.Minute))
	check("future X-Amz-Date", req, 403, "InvalidSignatureException", "Signature not yet current")

	req = post(t, srv.URL, "/TraceSegments", `{"TraceSegmentDocuments":["{1}"]}`)
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	check("body changed after signing", req, 403, "InvalidSignatureException", "does not match")

	req = post(t, srv.URL, "/TraceSegments", body)
	req.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	check("x-amz-content-sha256 not the body's", req, 403, "InvalidSignatureException", "x-amz-content-sha256")

	req = post(t, srv.URL, "/TraceSegments", body)
	sum := sha256.Sum256([]byte(body))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	check("x-amz-content-sha256 signed", req, 200, "", "AKIDWRITER write")

	req = post(t, srv.URL, "/TraceSegments", body)
	req.Header.Set("X-Custom", "a")
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	req.Header.Set("X-Custom", "b")
	check("signed header changed", req, 403, "InvalidSignatureException", "does not match")

	req = post(t, srv.URL, "/TraceSegments", body)
	signADOT(t, req, []byte(body), "AKIDWRITER", "secretW", now)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders=user-agent;", 1))
	check("signs an ignored header", req, 403, "InvalidSignatureException", "user-agent")

	big := strings.Repeat("x", 2<<10)
	req = post(t, srv.URL, "/TraceSegments", big)
	signADOT(t, req, []byte(big), "AKIDWRITER", "secretW", now)
	check("body over the cap", req, 413, "RequestEntityTooLargeException", "1024-byte limit")

	// The key and the date are checked before the body is read.
	req = post(t, srv.URL, "/TraceSegments", big)
	signADOT(t, req, []byte(big), "AKIDNOBODY", "secretW", now)
	check("body over the cap, unknown key", req, 403, "UnrecognizedClientException", "")

	req = post(t, srv.URL, "/TraceSegments", body)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDWRITER/20260101/us-east-1/xray/aws4_request")
	req.Header.Set("X-Amz-Date", now.UTC().Format(amzDateFormat))
	check("incomplete Authorization", req, 400, "IncompleteSignatureException", "'SignedHeaders'")

	if n := ms.GetOrCreateCounter(`counterspy_auth_refused_total{code="InvalidSignatureException"}`).Get(); n < 5 {
		t.Errorf("refusals counted by code: InvalidSignatureException = %d", n)
	}
}

func TestPresigned(t *testing.T) {
	srv, _ := newTestServer(t)
	body := `{"TraceIds":["1-5759e988-bd862e3fe1be46a994272793"]}`
	presign := func(path string, akid, secret string, at time.Time, expires int) string {
		t.Helper()
		req := post(t, srv.URL, path+"?X-Amz-Expires="+fmt.Sprint(expires), body)
		req.Header.Del("Content-Type")
		sum := sha256.Sum256([]byte(body))
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
			req, hex.EncodeToString(sum[:]), "xray", "us-west-2", at)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	send := func(u, b string) result {
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return do(t, req)
	}
	now := time.Now()
	if got := send(presign("/Traces", "AKIDREADER", "secretR", now, 60), body); got.status != 200 || !strings.Contains(got.body, "AKIDREADER read") {
		t.Errorf("presigned: %+v", got)
	}
	if got := send(presign("/Traces", "AKIDREADER", "secretR", now.Add(-2*time.Minute), 60), body); got.code != "InvalidSignatureException" || !strings.Contains(got.body, "Signature expired") {
		t.Errorf("expired presigned URL: %+v", got)
	}
	if got := send(presign("/Traces", "AKIDREADER", "bad", now, 60), body); got.code != "InvalidSignatureException" {
		t.Errorf("presigned with a wrong secret: %+v", got)
	}
	u := presign("/Traces", "AKIDREADER", "secretR", now, 60)
	if got := send(strings.Replace(u, "/Traces?", "/TraceSummaries?", 1), body); got.code != "InvalidSignatureException" {
		t.Errorf("presigned URL for another path: %+v", got)
	}
	if got := send(strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=6000", 1), body); got.code != "InvalidSignatureException" {
		t.Errorf("presigned URL with a longer expiry: %+v", got)
	}
	if got := send(u, body+" "); got.code != "InvalidSignatureException" {
		t.Errorf("presigned URL with another body: %+v", got)
	}
}

func TestBearer(t *testing.T) {
	srv, _ := newTestServer(t)
	f := func(path, authz string) result {
		req := post(t, srv.URL, path, "{}")
		req.Header.Set("Authorization", authz)
		return do(t, req)
	}
	if got := f("/v1/traces", "Bearer tokentokentoken-write"); got.status != 200 || !strings.Contains(got.body, "token:3 write kept=false body={}") {
		t.Errorf("write token: %+v", got)
	}
	if got := f("/v1/traces", "Bearer tokentokentoken-read"); got.code != "AccessDeniedException" {
		t.Errorf("read token writing: %+v", got)
	}
	if got := f("/Traces", "Bearer tokentokentoken-read"); got.status != 200 {
		t.Errorf("read token reading: %+v", got)
	}
	if got := f("/v1/traces", "Bearer tokentokentoken-nope"); got.code != "UnrecognizedClientException" {
		t.Errorf("unknown token: %+v", got)
	}
	if got := f("/v1/traces", "Basic dXNlcjpwYXNz"); got.code != "IncompleteSignatureException" {
		t.Errorf("another scheme: %+v", got)
	}
}

func TestConsoleLogin(t *testing.T) {
	srv, _ := newTestServer(t)
	// Public pages need nothing.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if got := do(t, req); got.status != 200 {
		t.Errorf("public page: %+v", got)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/?token=wrong", nil)
	if got := do(t, req); got.status != 403 {
		t.Errorf("wrong login token: %+v", got)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/?x=1&token="+loginToken, nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?x=1" {
		t.Fatalf("login: %d to %q, want 303 to /?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	req = post(t, srv.URL, "/CreateGroup", "{}")
	req.AddCookie(cookie)
	if got := do(t, req); got.status != 200 || !strings.Contains(got.body, "console write") {
		t.Errorf("API call with the session cookie: %+v", got)
	}
	req = post(t, srv.URL, "/CreateGroup", "{}")
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: "forged"})
	if got := do(t, req); got.code != "MissingAuthenticationTokenException" {
		t.Errorf("API call with a forged cookie: %+v", got)
	}
}

// The body a SigV4 check read is what the handler reads: same bytes, not
// a second buffer.
func TestBodyReadOnce(t *testing.T) {
	b := []byte("payload")
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
	httpbody.Keep(req, b)
	got, err := httpbody.Read(httptest.NewRecorder(), req, 100)
	if err != nil || &got[0] != &b[0] {
		t.Fatalf("Read = %q, %v; want the kept slice itself", got, err)
	}
	if _, err := httpbody.Read(httptest.NewRecorder(), req, 3); err == nil {
		t.Fatal("a kept body over the cap was returned")
	}
}

// An OTLP/HTTP export as the ADOT collector's otlphttp exporter sends it
// through the sigv4auth extension: gzip-compressed protobuf, Content-Type
// and Content-Encoding among the signed headers, the hash over the
// compressed bytes. Unsigned, the same export is refused.
func TestADOTStyleOTLPExport(t *testing.T) {
	srv, _ := newTestServer(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("\x0a\x00 an ExportTraceServiceRequest"))
	zw.Close()
	mk := func() *http.Request {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/traces", bytes.NewReader(gz.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "gzip")
		return req
	}
	req := mk()
	signADOT(t, req, gz.Bytes(), "AKIDWRITER", "secretW", time.Now())
	if !strings.Contains(req.Header.Get("Authorization"), "content-encoding;content-length;content-type;host;x-amz-date") {
		t.Fatalf("the signer did not sign the headers an exporter sends: %s", req.Header.Get("Authorization"))
	}
	if got := do(t, req); got.status != 200 || !strings.Contains(got.body, "AKIDWRITER write kept=true") {
		t.Errorf("signed export: %+v", got)
	}
	if got := do(t, mk()); got.status != 403 || got.code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned export: %+v", got)
	}
}

// SigningTransport (counterspy logs, the Lambda emulator's log sink) signs
// what the middleware checks, bodies included.
func TestSigningTransport(t *testing.T) {
	srv, _ := newTestServer(t)
	c := &http.Client{Transport: &SigningTransport{Credentials: aws.Credentials{AccessKeyID: "AKIDWRITER", SecretAccessKey: "secretW"}}}
	resp, err := c.Post(srv.URL+"/counterspy/v1/logs", "application/json", strings.NewReader(`[{"message":"hi"}]`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `AKIDWRITER write kept=true body=[{"message":"hi"}]` {
		t.Errorf("signed POST: %d %s", resp.StatusCode, b)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDREADER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secretR")
	resp, err = HTTPClient(10 * time.Second).Get(srv.URL + "/counterspy/v1/logs?function=f")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "AKIDREADER read") {
		t.Errorf("GET with the environment's keys: %d %s", resp.StatusCode, b)
	}
}

package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go"

	"github.com/counterspy/counterspy/internal/auth"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/server/servertest"
	"github.com/counterspy/counterspy/internal/testenv"
)

const (
	authFile = `# test principals
AKIDWRITER secretW
AKIDREADER secretR read
token bearer-token-for-tests write
`
	testLoginToken = "console-login-token-for-tests"
)

// startAuthServer runs a server with an auth file; now, when set, is the
// clock it checks X-Amz-Date against.
func startAuthServer(t *testing.T, now func() time.Time, edit func(*server.Config)) *server.Server {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "auth")
	if err := os.WriteFile(file, []byte(authFile), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Addr:          "127.0.0.1:0",
		DataDir:       filepath.Join(dir, "data"),
		FlushInterval: 10 * time.Millisecond,
		AuthFile:      file,
		LoginToken:    testLoginToken,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if edit != nil {
		edit(&cfg)
	}
	if now != nil {
		cfg = server.WithAuthClock(cfg, now)
	}
	return servertest.StartConfig(t, cfg)
}

// freshSegment is a valid segment document of now.
func freshSegment() string {
	now := time.Now()
	return fmt.Sprintf(`{"name":"auth-test","id":"%016x","trace_id":"1-%08x-%024x","start_time":%d.1,"end_time":%d.2}`,
		now.UnixNano()&(1<<62-1), now.Unix(), now.UnixNano(), now.Unix(), now.Unix())
}

// authCase is one client call and what the server must answer.
type authCase struct {
	name, akid, secret, op string // op: put (a write) or summaries (a read)
	code                   string // "" for success
	message                string // part of the message
}

func authCases() []authCase {
	return []authCase{
		{"writer writes", "AKIDWRITER", "secretW", "put", "", ""},
		{"writer reads", "AKIDWRITER", "secretW", "summaries", "", ""},
		{"reader reads", "AKIDREADER", "secretR", "summaries", "", ""},
		{"reader writes", "AKIDREADER", "secretR", "put", "AccessDeniedException", "xray:PutTraceSegments"},
		{"wrong secret", "AKIDWRITER", "not-the-secret", "summaries", "InvalidSignatureException", "signature we calculated does not match"},
		{"unknown key", "AKIDSTRANGER", "secretW", "summaries", "UnrecognizedClientException", "security token included in the request is invalid"},
	}
}

// expiredCase is a call to a server whose clock is 20 minutes ahead: the
// client's X-Amz-Date is too old.
var expiredCase = authCase{"old X-Amz-Date", "AKIDWRITER", "secretW", "summaries", "InvalidSignatureException", "Signature expired"}

func aheadClock() time.Time { return time.Now().Add(20 * time.Minute) }

func TestAuthGoSDK(t *testing.T) {
	srv := startAuthServer(t, nil, nil)
	late := startAuthServer(t, aheadClock, nil)
	call := func(srv *server.Server, c authCase) {
		t.Helper()
		client := awsxray.NewFromConfig(aws.Config{
			Region:           "ap-southeast-2",
			Credentials:      credentials.NewStaticCredentialsProvider(c.akid, c.secret, ""),
			BaseEndpoint:     aws.String("http://" + srv.HTTPAddr()),
			HTTPClient:       sdkhttp.Client(),
			RetryMaxAttempts: 1,
		})
		var err error
		if c.op == "put" {
			var out *awsxray.PutTraceSegmentsOutput
			out, err = client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{freshSegment()}})
			if err == nil && len(out.UnprocessedTraceSegments) != 0 {
				t.Errorf("%s: unprocessed %+v", c.name, out.UnprocessedTraceSegments)
			}
		} else {
			_, err = client.GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{
				StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now())})
		}
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			return
		}
		var ae smithy.APIError
		var re *awshttp.ResponseError
		if !errors.As(err, &ae) || ae.ErrorCode() != c.code || !strings.Contains(ae.ErrorMessage(), c.message) {
			t.Errorf("%s: error %v; want %s containing %q", c.name, err, c.code, c.message)
		} else if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
			t.Errorf("%s: error %v; want status 403", c.name, err)
		}
	}
	for _, c := range authCases() {
		call(srv, c)
	}
	call(late, expiredCase)
}

func TestAuthAWSCLI(t *testing.T) {
	cli := testenv.AWSCLI(t)
	srv := startAuthServer(t, nil, nil)
	late := startAuthServer(t, aheadClock, nil)
	call := func(srv *server.Server, c authCase) {
		t.Helper()
		args := []string{"xray", "--endpoint-url", "http://" + srv.HTTPAddr(), "--output", "json"}
		if c.op == "put" {
			args = append(args, "put-trace-segments", "--trace-segment-documents", freshSegment())
		} else {
			args = append(args, "get-trace-summaries", "--start-time", fmt.Sprint(time.Now().Add(-time.Hour).Unix()), "--end-time", fmt.Sprint(time.Now().Unix()))
		}
		cmd := exec.Command(cli, args...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+c.akid, "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_DEFAULT_REGION=sa-east-1",
			"AWS_SESSION_TOKEN=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v: %s", c.name, err, out)
			}
			return
		}
		// The CLI prints "An error occurred (CODE) when calling ...: MESSAGE".
		if err == nil || !strings.Contains(string(out), "("+c.code+")") || !strings.Contains(string(out), c.message) {
			t.Errorf("%s: %v: %s; want (%s) and %q", c.name, err, out, c.code, c.message)
		}
	}
	// Each CLI run takes seconds, so they run side by side, and the read by
	// a write key is left to the SDK tests.
	var wg sync.WaitGroup
	for _, c := range authCases() {
		if c.name != "writer reads" {
			wg.Go(func() { call(srv, c) })
		}
	}
	wg.Go(func() { call(late, expiredCase) })
	wg.Wait()
}

const boto3Script = `
import json, sys, time
import boto3, botocore
from botocore.config import Config
endpoint, cases, doc = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
out = []
for akid, secret, op in cases:
    c = boto3.client("xray", endpoint_url=endpoint, region_name="eu-north-1", aws_access_key_id=akid,
                     aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))
    try:
        if op == "put":
            r = c.put_trace_segments(TraceSegmentDocuments=[doc])
            assert not r["UnprocessedTraceSegments"], r
        else:
            c.get_trace_summaries(StartTime=time.time() - 3600, EndTime=time.time())
        out.append({"code": "", "message": "", "status": 200})
    except botocore.exceptions.ClientError as e:
        out.append({"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                    "status": e.response["ResponseMetadata"]["HTTPStatusCode"]})
print(json.dumps(out))
`

func TestAuthBoto3(t *testing.T) {
	py := testenv.Boto3(t)
	srv := startAuthServer(t, nil, nil)
	late := startAuthServer(t, aheadClock, nil)
	run := func(srv *server.Server, cases []authCase) {
		t.Helper()
		var in [][3]string
		for _, c := range cases {
			in = append(in, [3]string{c.akid, c.secret, c.op})
		}
		arg, _ := json.Marshal(in)
		cmd := exec.Command(py, "-c", boto3Script, "http://"+srv.HTTPAddr(), string(arg), freshSegment())
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("boto3: %v: %s", err, out)
		}
		var got []struct {
			Code, Message string
			Status        int
		}
		if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
			t.Fatalf("boto3 printed %s (%v)", out, err)
		}
		for i, c := range cases {
			g := got[i]
			if g.Code != c.code || !strings.Contains(g.Message, c.message) || (c.code != "" && g.Status != 403) {
				t.Errorf("%s: boto3 got %+v; want %q containing %q (403)", c.name, g, c.code, c.message)
			}
		}
	}
	run(srv, authCases())
	run(late, []authCase{expiredCase})

	// A presigned URL from boto3 (GetGroups), sent as botocore would send
	// the request: POST, Content-Type signed, an empty body.
	for _, c := range []struct {
		srv         *server.Server
		secret      string
		status      int
		code, inOut string
	}{
		{srv, "secretR", 200, "", "Default"},
		{srv, "wrong", 403, "InvalidSignatureException", "does not match"},
		{late, "secretR", 403, "InvalidSignatureException", "Signature expired"},
	} {
		cmd := exec.Command(py, "-c", boto3PresignScript, "http://"+c.srv.HTTPAddr(), "AKIDREADER", c.secret)
		cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("boto3 presign: %v: %s", err, out)
		}
		got := strings.TrimSpace(string(out))
		if !strings.HasPrefix(got, fmt.Sprintf("%d %s", c.status, c.code)) || !strings.Contains(got, c.inOut) {
			t.Errorf("presigned GetGroups with secret %q: %s; want %d %s with %q", c.secret, got, c.status, c.code, c.inOut)
		}
	}
}

const boto3PresignScript = `
import sys, urllib.request, urllib.error, boto3
endpoint, akid, secret = sys.argv[1:4]
c = boto3.client("xray", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=akid, aws_secret_access_key=secret)
url = c.generate_presigned_url("get_groups", Params={}, ExpiresIn=60)
req = urllib.request.Request(url, data=b"", method="POST", headers={"Content-Type": "application/json"})
try:
    r = urllib.request.urlopen(req)
    print(r.status, "", r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("x-amzn-ErrorType"), e.read().decode())
`

func TestAuthConsoleAndRoutes(t *testing.T) {
	srv := startAuthServer(t, nil, nil)
	base := "http://" + srv.HTTPAddr()
	if got, want := srv.ConsoleURL(), base+"/?token="+testLoginToken; got != want {
		t.Errorf("ConsoleURL = %q, want %q", got, want)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, cookie *http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for path, want := range map[string]int{"/": 200, "/traces": 200, "/healthz": 200, "/metrics": 403, "/counterspy/v1/logs?function=f": 403} {
		if got := get(path, nil).StatusCode; got != want {
			t.Errorf("GET %s without credentials: %d, want %d", path, got, want)
		}
	}
	resp := get("/?token="+testLoginToken, nil)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookie %+v", resp.StatusCode, session)
	}
	if got := get("/counterspy/v1/logs?function=f", session).StatusCode; got != 200 {
		t.Errorf("logs with the session cookie: %d", got)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/CreateGroup", strings.NewReader(`{"GroupName":"from-console","FilterExpression":"fault"}`))
	req.AddCookie(session)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Errorf("CreateGroup with the session cookie: %d", r2.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/Groups", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer bearer-token-for-tests")
	r3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	if r3.StatusCode != 200 || !strings.Contains(string(body), "from-console") {
		t.Errorf("GetGroups with a bearer token: %d %s", r3.StatusCode, body)
	}
}

func TestRefuseExposedWithoutAuth(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "auth")
	if err := os.WriteFile(file, []byte(authFile), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  server.Config
		want []string
	}{
		{"0.0.0.0", server.Config{Addr: "0.0.0.0:2000"}, []string{"HTTP API on 0.0.0.0:2000", "--auth-file FILE", "--insecure-no-auth", "UDP segment receiver on 0.0.0.0:2000", "--udp-allow"}},
		{"empty host", server.Config{Addr: ":2000"}, []string{"HTTP API on :2000", "--auth-file FILE"}},
		{"::", server.Config{HTTPAddr: "[::]:2000", UDPAddr: "127.0.0.1:2000"}, []string{"HTTP API on [::]:2000", "--auth-file FILE"}},
		{"auth file but UDP open", server.Config{Addr: "0.0.0.0:2000", AuthFile: file}, []string{"UDP segment receiver on 0.0.0.0:2000", "--udp-allow"}},
		{"bad auth file", server.Config{AuthFile: filepath.Join(dir, "missing")}, []string{"auth file", "no such file"}},
		{"tls cert without key", server.Config{TLSCert: file}, []string{"--tls-cert and --tls-key go together"}},
	} {
		c.cfg.DataDir = filepath.Join(dir, "data")
		c.cfg.Logger = slog.New(slog.DiscardHandler)
		srv, err := server.Start(c.cfg)
		if err == nil {
			srv.Close(context.Background())
			t.Errorf("%s: started", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a refused start created the data directory (%v)", err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 with serial.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "counterspy test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	// A later modification time than any earlier pair, whatever the
	// file system's timestamp granularity.
	mt := time.Now().Add(time.Duration(serial) * time.Minute)
	os.Chtimes(certFile, mt, mt)
	os.Chtimes(keyFile, mt, mt)
}

func TestAuthTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	srv := startAuthServer(t, nil, func(c *server.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(srv.ConsoleURL(), "https://") {
		t.Errorf("ConsoleURL %q is not https", srv.ConsoleURL())
	}
	serial := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", srv.HTTPAddr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Errorf("ALPN negotiated %q, want h2", p)
		}
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	// The AWS SDK over HTTPS, trusting the certificate.
	pemBytes, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := awsxray.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDWRITER", "secretW", ""),
		BaseEndpoint: aws.String("https://" + srv.HTTPAddr()), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	if _, err := client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{freshSegment()}}); err != nil {
		t.Fatalf("PutTraceSegments over TLS: %v", err)
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	writeCert(t, certFile, keyFile, 2)
	if got := serial(); got != 2 {
		t.Errorf("after replacing the files: serial %d, want the new certificate's 2", got)
	}
}

// The Lambda Invoke API of the embedded emulator takes the same keys: a
// DryRun invocation (it checks the function and the caller, runs nothing)
// with the AWS SDK's Lambda client.
func TestAuthLambdaInvoke(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "functions.json")
	if err := os.WriteFile(cfgPath, []byte(`{"functions":[{"name":"greeter","command":["/bin/true"],"memory":128,"timeout":"10s"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startAuthServer(t, nil, func(c *server.Config) { c.LambdaConfig = cfgPath })
	for _, c := range authCases() {
		if c.op != "put" {
			continue // invoking is a write
		}
		lc := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(c.akid, c.secret, ""),
			BaseEndpoint: aws.String("http://" + srv.HTTPAddr()), HTTPClient: sdkhttp.Client(), RetryMaxAttempts: 1})
		_, err := lc.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("greeter"), InvocationType: lambdatypes.InvocationTypeDryRun})
		var ae smithy.APIError
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.code != "" && (!errors.As(err, &ae) || ae.ErrorCode() != c.code):
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	lc := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDWRITER", "wrong", ""),
		BaseEndpoint: aws.String("http://" + srv.HTTPAddr()), HTTPClient: sdkhttp.Client(), RetryMaxAttempts: 1})
	_, err := lc.Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("greeter"), InvocationType: lambdatypes.InvocationTypeDryRun})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Errorf("Invoke with a wrong secret: %v", err)
	}
}

// Chromium opens the login URL the server prints and the console shows the
// map, its API calls authenticated by the session cookie; without the
// token the console gets AWS's refusal.
func TestAuthConsoleInBrowser(t *testing.T) {
	chromium := testenv.Chromium(t)
	srv := startAuthServer(t, nil, nil)
	client := awsxray.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDWRITER", "secretW", ""),
		BaseEndpoint: aws.String("http://" + srv.HTTPAddr()), HTTPClient: sdkhttp.Client(), RetryMaxAttempts: 1})
	if _, err := client.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{freshSegment()}}); err != nil {
		t.Fatal(err)
	}
	dom := func(url string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--user-data-dir="+t.TempDir(), "--virtual-time-budget=8000", "--dump-dom", url)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %s: %v", url, err)
		}
		return string(out)
	}
	login := strings.Replace(srv.ConsoleURL(), "/?token=", "/map?token=", 1)
	if page := dom(login); !strings.Contains(page, `aria-label="edge from auth-test (client) to auth-test`) {
		t.Errorf("the map after signing in shows no edge to auth-test:\n%s", page)
	}
	if page := dom("http://" + srv.HTTPAddr() + "/map"); !strings.Contains(page, "Missing Authentication Token") || strings.Contains(page, `aria-label="edge`) {
		t.Errorf("the map without signing in does not show the refusal:\n%s", page)
	}
}

// The X-Ray SDKs ask the daemon address for sampling rules and targets
// without signing; from loopback (as from --udp-allow networks) those two
// calls get in unsigned, nothing else does.
func TestAuthUnsignedSamplingFromLoopback(t *testing.T) {
	srv := startAuthServer(t, nil, nil)
	f := func(path, authz string) (int, string) {
		t.Helper()
		body := `{}`
		if path == "/SamplingTargets" {
			body = `{"SamplingStatisticsDocuments":[]}`
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.HTTPAddr()+path, strings.NewReader(body))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	for path, want := range map[string]int{"/GetSamplingRules": 200, "/SamplingTargets": 200, "/TraceSummaries": 403, "/TraceSegments": 403} {
		if got, code := f(path, ""); got != want {
			t.Errorf("unsigned POST %s: %d %s, want %d", path, got, code, want)
		}
	}
	if got, code := f("/GetSamplingRules", "Bearer not-a-token-of-the-file"); got != 403 || code != "UnrecognizedClientException" {
		t.Errorf("GetSamplingRules with bad credentials: %d %s, want 403 UnrecognizedClientException", got, code)
	}
}

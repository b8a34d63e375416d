package sdkhttp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/sdkhttp"
)

// lateCheck does what net/http does when the SDK closes a request body
// (having read the response) before the transport has checked that no
// bytes follow Content-Length: it copies the rest of the closed body to
// io.Discard. That copy must not fail.
type lateCheck struct{ err error }

func (l *lateCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, r.ContentLength)); err != nil {
		return nil, err
	}
	r.Body.Close() // the SDK's close, which races with the transport
	_, l.err = io.Copy(io.Discard, r.Body)
	body := `{"Traces":[],"UnprocessedTraceIds":[]}`
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: r,
	}, nil
}

func TestClosedRequestBodyReadsAsEnd(t *testing.T) {
	probe := &lateCheck{}
	var rt http.RoundTripper = probe
	if os.Getenv("SDKHTTP_UNFIXED") == "" { // shows the SDK's bug
		rt = sdkhttp.Transport(rt)
	}
	client := xray.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: rt},
	})
	_, err := client.BatchGetTraces(context.Background(), &xray.BatchGetTracesInput{
		TraceIds: []string{"1-5759e988-bd862e3fe1be46a994272793"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if probe.err != nil {
		t.Fatalf("copying the rest of a closed request body: %v (net/http would close the connection)", probe.err)
	}
}

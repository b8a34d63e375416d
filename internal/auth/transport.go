package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigningTransport signs every request with SigV4, for the project's own
// plain HTTP clients of the server (counterspy logs, the Lambda emulator's
// log sink); the X-Ray clients sign through the AWS SDK.
type SigningTransport struct {
	Base        http.RoundTripper // default http.DefaultTransport
	Credentials aws.Credentials
	// Region and Service go into the credential scope; the server accepts
	// any. Defaults us-east-1 and xray.
	Region, Service string
}

// RoundTrip signs a copy of req over the SHA-256 of its body.
func (t *SigningTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sigv4: reading the request body: %w", err)
		}
		body = b
	}
	r2 := req.Clone(req.Context())
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
	}
	sum := sha256.Sum256(body)
	region, service := t.Region, t.Service
	if region == "" {
		region = "us-east-1"
	}
	if service == "" {
		service = "xray"
	}
	if err := v4.NewSigner().SignHTTP(req.Context(), t.Credentials, r2, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return nil, fmt.Errorf("sigv4: %w", err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2)
}

// EnvCredentials returns the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN) of the environment, as the AWS CLI reads them;
// false when either is unset.
func EnvCredentials() (aws.Credentials, bool) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Credentials{}, false
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "environment"}, true
}

// HTTPClient is a client that signs with the environment's credentials
// when they are set, and an unsigned one otherwise.
func HTTPClient(timeout time.Duration) *http.Client {
	c := &http.Client{Timeout: timeout}
	if creds, ok := EnvCredentials(); ok {
		c.Transport = &SigningTransport{Credentials: creds}
	}
	return c
}

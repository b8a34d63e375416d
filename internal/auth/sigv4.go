package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
// is checked by signing the request again with the AWS SDK for Go v2's
// signer, from the secret of the key the request names, over exactly the
// headers the request says it signed, and comparing signatures. The parsing
// here only finds the inputs; the canonical request is the SDK's.

const (
	algorithm = "AWS4-HMAC-SHA256"
	// amzDateFormat is X-Amz-Date's ISO 8601 basic format.
	amzDateFormat = "20060102T150405Z"
	// maxSkew is how far X-Amz-Date may be from the server's clock: AWS
	// refuses requests signed more than 15 minutes before or after.
	maxSkew = 15 * time.Minute
	// maxPresignExpiry is AWS's longest X-Amz-Expires, 7 days.
	maxPresignExpiry = 7 * 24 * time.Hour
	unsignedPayload  = "UNSIGNED-PAYLOAD"
)

// signerIgnores are the headers the SDK's signer leaves out of every
// signature (aws/signer/internal/v4 IgnoredHeaders), so a request that signed
// one of them cannot be checked by signing it again.
var signerIgnores = map[string]bool{
	"authorization": true, "user-agent": true, "x-amzn-trace-id": true, "expect": true, "transfer-encoding": true,
}

// sigv4Request is what a signed request says about its signature.
type sigv4Request struct {
	presigned     bool
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
	date          time.Time
	expires       time.Duration // presigned only
}

// isSigV4 reports whether r carries a SigV4 signature, in the Authorization
// header or in the query (a presigned URL).
func isSigV4(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), algorithm) {
		return true
	}
	return r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("X-Amz-Credential")
}

// parseSigV4 reads the signature's parts from the Authorization header or
// the query string.
func parseSigV4(r *http.Request) (*sigv4Request, *Error) {
	s := &sigv4Request{}
	var credential, signedHeaders, date string
	if h := r.Header.Get("Authorization"); h != "" {
		rest, ok := strings.CutPrefix(h, algorithm+" ")
		if !ok {
			return nil, errIncomplete(fmt.Sprintf("Authorization header: unsupported algorithm, want %s", algorithm))
		}
		for part := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				credential = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				s.signature = v
			}
		}
		for _, p := range []struct{ name, v string }{{"Credential", credential}, {"SignedHeaders", signedHeaders}, {"Signature", s.signature}} {
			if p.v == "" {
				return nil, errIncomplete(fmt.Sprintf("Authorization header requires '%s' parameter. Authorization=%s", p.name, h))
			}
		}
		date = r.Header.Get("X-Amz-Date")
		if date == "" {
			return nil, errIncomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
		}
	} else {
		q := r.URL.Query()
		s.presigned = true
		if a := q.Get("X-Amz-Algorithm"); a != algorithm {
			return nil, errIncomplete(fmt.Sprintf("X-Amz-Algorithm %q: want %s", a, algorithm))
		}
		credential, signedHeaders, s.signature, date = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		for _, p := range []struct{ name, v string }{{"X-Amz-Credential", credential}, {"X-Amz-SignedHeaders", signedHeaders}, {"X-Amz-Signature", s.signature}, {"X-Amz-Date", date}, {"X-Amz-Expires", q.Get("X-Amz-Expires")}} {
			if p.v == "" {
				return nil, errIncomplete(fmt.Sprintf("a presigned URL requires the query parameter %s", p.name))
			}
		}
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs <= 0 || time.Duration(secs)*time.Second > maxPresignExpiry {
			return nil, errIncomplete(fmt.Sprintf("X-Amz-Expires %q: want a number of seconds from 1 to %d", q.Get("X-Amz-Expires"), int(maxPresignExpiry/time.Second)))
		}
		s.expires = time.Duration(secs) * time.Second
	}
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return nil, errIncomplete(fmt.Sprintf("Credential %q: want ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request", credential))
	}
	s.accessKeyID, s.scopeDate, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return nil, errIncomplete(fmt.Sprintf("X-Amz-Date %q: want the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'", date))
	}
	s.date = t
	if s.scopeDate != date[:8] {
		return nil, errSignature(fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", s.scopeDate, date[:8], date))
	}
	s.signedHeaders = strings.Split(signedHeaders, ";")
	hasHost := false
	for _, h := range s.signedHeaders {
		if h == "" || h != strings.ToLower(h) {
			return nil, errIncomplete(fmt.Sprintf("SignedHeaders %q: want lower-case header names separated by ';'", signedHeaders))
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return nil, errSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return s, nil
}

// checkDate applies AWS's clock rules: a signed request within 15 minutes of
// now, a presigned URL not expired.
func (s *sigv4Request) checkDate(now time.Time) *Error {
	now = now.UTC()
	f := func(t time.Time) string { return t.UTC().Format(amzDateFormat) }
	if s.date.After(now.Add(maxSkew)) {
		return errSignature(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", f(s.date), f(now.Add(maxSkew)), f(now)))
	}
	if s.presigned {
		if end := s.date.Add(s.expires); now.After(end) {
			return errSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (the URL was valid for %d seconds from %s)", f(end), f(now), int(s.expires/time.Second), f(s.date)))
		}
		return nil
	}
	if s.date.Before(now.Add(-maxSkew)) {
		return errSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", f(s.date), f(now.Add(-maxSkew)), f(now)))
	}
	return nil
}

// verifySigV4 checks r's signature against the key it names. body is the
// whole request body (the payload hash covers it).
func (k *Keys) verifySigV4(r *http.Request, body []byte, now time.Time) (Principal, *Error) {
	s, key, e := k.checkSigV4Header(r, now)
	if e != nil {
		return Principal{}, e
	}
	return s.verify(r, body, key)
}

// checkSigV4Header checks what can be checked before the body is read: the
// signature's form, the key and the date. A request that fails here costs
// no body read.
func (k *Keys) checkSigV4Header(r *http.Request, now time.Time) (*sigv4Request, keyEntry, *Error) {
	s, e := parseSigV4(r)
	if e != nil {
		return nil, keyEntry{}, e
	}
	key, ok := k.secret(s.accessKeyID)
	if !ok {
		return nil, keyEntry{}, errUnrecognized()
	}
	if e := s.checkDate(now); e != nil {
		return nil, keyEntry{}, e
	}
	return s, key, nil
}

// verify compares the signature with the one the SDK's signer computes.
func (s *sigv4Request) verify(r *http.Request, body []byte, key keyEntry) (Principal, *Error) {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		if h == unsignedPayload {
			// S3 alone takes unsigned payloads; elsewhere a captured
			// request could be replayed with another body.
			return Principal{}, errSignature("UNSIGNED-PAYLOAD is not accepted: sign the payload's SHA-256")
		}
		return Principal{}, errSignature(msgHashMismatch)
	}
	want, e := s.expected(r, payloadHash, aws.Credentials{AccessKeyID: s.accessKeyID, SecretAccessKey: key.secret})
	if e != nil {
		return Principal{}, e
	}
	if !hmac.Equal([]byte(want), []byte(s.signature)) {
		return Principal{}, errSignature(msgBadSignature)
	}
	return Principal{Name: s.accessKeyID, Role: key.role}, nil
}

// expected signs a copy of r, holding only the headers r says it signed,
// with the SDK's signer, and returns that signature.
func (s *sigv4Request) expected(r *http.Request, payloadHash string, creds aws.Credentials) (string, *Error) {
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if s.presigned {
		// The signer adds these back itself; the signature is over the
		// query without X-Amz-Signature.
		q := r.URL.Query()
		for _, p := range []string{"X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders"} {
			q.Del(p)
		}
		u.RawQuery = q.Encode()
	}
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range s.signedHeaders {
		switch {
		case h == "host":
			continue // the signer takes it from Host
		case h == "content-length":
			// The signer signs Content-Length exactly when it is
			// positive.
			req.ContentLength = r.ContentLength
			continue
		case signerIgnores[h]:
			return "", errSignature(fmt.Sprintf("the request signs the %s header, which this server does not check; sign without it", h))
		}
		vals := r.Header.Values(h)
		if len(vals) == 0 {
			return "", errSignature(fmt.Sprintf("the signed header %s is not in the request", h))
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(h)] = vals
	}
	// A signer per request: a shared one would cache a derived key for
	// every region/service pair callers name, without bound.
	signer := v4.NewSigner()
	ctx := context.Background()
	if s.presigned {
		signed, _, err := signer.PresignHTTP(ctx, creds, req, payloadHash, s.service, s.region, s.date,
			func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
		if err != nil {
			return "", errSignature("signing the request again: " + err.Error())
		}
		su, err := url.Parse(signed)
		if err != nil {
			return "", errSignature("signing the request again: " + err.Error())
		}
		q := su.Query()
		if q.Get("X-Amz-SignedHeaders") != strings.Join(s.signedHeaders, ";") {
			return "", errSignature(msgBadSignature)
		}
		return q.Get("X-Amz-Signature"), nil
	}
	// The signer sets X-Amz-Date from the signing time; the request's own
	// value is the one parsed into s.date.
	if err := signer.SignHTTP(ctx, creds, req, payloadHash, s.service, s.region, s.date); err != nil {
		return "", errSignature("signing the request again: " + err.Error())
	}
	got := req.Header.Get("Authorization")
	if !strings.Contains(got, "SignedHeaders="+strings.Join(s.signedHeaders, ";")+",") {
		// The client signed a different set of headers than the signer
		// would over the same request (an empty signed header, say).
		return "", errSignature(msgBadSignature)
	}
	_, sig, _ := strings.Cut(got, "Signature=")
	return sig, nil
}

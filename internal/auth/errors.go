package auth

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error is a refused request, with the code and status AWS answers with
// (https://docs.aws.amazon.com/xray/latest/api/CommonErrors.html).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// AWS's messages for the common authentication errors, as its services
// send them; clients read the code, people read these.
const (
	msgMissingToken  = "Missing Authentication Token"
	msgUnrecognized  = "The security token included in the request is invalid."
	msgBadSignature  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHashMismatch  = "The provided 'x-amz-content-sha256' header does not match what was computed."
	hintMissingToken = " (counterspy serve runs with an auth file: sign requests with SigV4 using a key pair from it, send Authorization: Bearer TOKEN, or open the console through the ?token= URL the server printed at start)"
)

func errMissing() *Error {
	return &Error{http.StatusForbidden, "MissingAuthenticationTokenException", msgMissingToken + hintMissingToken}
}

func errUnrecognized() *Error {
	return &Error{http.StatusForbidden, "UnrecognizedClientException", msgUnrecognized}
}

func errSignature(msg string) *Error {
	return &Error{http.StatusForbidden, "InvalidSignatureException", msg}
}

func errIncomplete(msg string) *Error {
	return &Error{http.StatusBadRequest, "IncompleteSignatureException", msg}
}

// WriteAWSError writes e the way AWS's REST-JSON services (X-Ray, Lambda)
// do: the code in the x-amzn-ErrorType header and in the body's __type,
// where the AWS SDKs and the CLI look for it.
func WriteAWSError(w http.ResponseWriter, e *Error) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	h := w.Header()
	h.Set("x-amzn-ErrorType", e.Code)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

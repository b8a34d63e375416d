package invoke

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzInvokeRequest sends arbitrary function names, qualifiers, invocation
// types, client contexts and payloads to the Invoke API. DryRun goes through
// everything a call reads from the request (name or ARN, qualifier, payload
// size, client context) without running the function; other types stop
// there too, since the function's pool is never started. The answer is 204
// or an error in Lambda's shape, never a panic.
func FuzzInvokeRequest(f *testing.F) {
	f.Add("f", "", "DryRun", "", []byte(`{"a":1}`))
	f.Add("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", "", "DryRun", "eyJjdXN0b20iOnt9fQ==", []byte(`{}`))
	f.Add("123456789012:function:f", "$LATEST", "Bogus", "not base64", []byte(``))
	f.Add("f:1", "x", "", "e30=", []byte(`[]`))
	s := New([]*Function{{Name: "f", ARN: "arn:aws:lambda:us-east-1:123456789012:function:f"}}, Options{})
	f.Fuzz(func(t *testing.T, name, qualifier, typ, clientContext string, payload []byte) {
		switch typ {
		case "", "RequestResponse", "Event":
			typ = "DryRun" // the pool is not running; an unknown type must be refused before it is needed
		}
		req := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/x/invocations", bytes.NewReader(payload))
		req.SetPathValue("name", name)
		if qualifier != "" {
			q := req.URL.Query()
			q.Set("Qualifier", qualifier)
			req.URL.RawQuery = q.Encode()
		}
		req.Header.Set("X-Amz-Invocation-Type", typ)
		if clientContext != "" {
			req.Header.Set("X-Amz-Client-Context", clientContext)
		}
		w := httptest.NewRecorder()
		s.serveInvoke(w, req)
		switch {
		case w.Code == http.StatusNoContent:
		case w.Code >= 400 && w.Code < 500:
			var e struct {
				Type    string
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" || w.Header().Get("X-Amzn-ErrorType") == "" {
				t.Fatalf("%q %q %q: %d %s: not Lambda's error shape", name, qualifier, typ, w.Code, w.Body)
			}
		default:
			t.Fatalf("%q %q %q: status %d %s", name, qualifier, typ, w.Code, w.Body)
		}
	})
}

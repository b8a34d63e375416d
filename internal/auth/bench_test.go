package auth

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkVerifySigV4 is the cost the SigV4 check adds to a request with a
// 16 KiB body: hashing it and signing the request again.
func BenchmarkVerifySigV4(b *testing.B) {
	keys, err := ParseKeys(strings.NewReader(testFile))
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 16<<10)
	now := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:2000/TraceSegments", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	signADOT(b, req, body, "AKIDWRITER", "secretW", now)
	req.Host = "127.0.0.1:2000"
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, e := keys.verifySigV4(req, body, now); e != nil {
			b.Fatal(e)
		}
	}
}

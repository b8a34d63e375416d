package server_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/counterspy/counterspy/internal/server/servertest"
)

// The helpers the client tests share (package servertest).
var (
	startServer = servertest.Start
	xrayClient  = servertest.XRayClient
	newRelay    = servertest.NewRelay
	waitFor     = servertest.WaitFor
	parseEntity = servertest.ParseEntity
)

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func getJSON(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func newRequest(method, url, body string) (*http.Request, error) {
	return http.NewRequest(method, url, strings.NewReader(body))
}

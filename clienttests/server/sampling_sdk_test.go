package server_test

import (
	"io"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
)

// Centralized sampling with the real X-Ray SDKs: a rule of reservoir 1/s
// and fixed rate 0.1 for one service, made with CreateSamplingRule; the
// SDKs fetch it over the daemon address (TCP on the same host:port as the
// UDP segments), and their decisions over n requests land in the band
// X-Ray's own would: at most one request a second from the reservoir (or
// the one a second an SDK borrows before it has a quota), and 10 % of the
// rest, give or take 5 standard deviations of the binomial.

func TestXRaySDKForGoCentralizedSampling(t *testing.T) {
	srv := startServer(t)
	createSamplingRule(t, srv, "sdk-go")
	xray.SetLogger(xraylog.NewDefaultLogger(io.Discard, xraylog.LogLevelError))
	// One address for both protocols, as for the daemon: the SDK's
	// sampling proxy sends its HTTP calls to it over TCP.
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", srv.UDPAddr())
	// The fallback samples nothing: every sampled request below was
	// decided by the rule fetched from the server.
	ss, err := sampling.NewCentralizedStrategyWithJSONBytes([]byte(`{"version":2,"default":{"fixed_target":0,"rate":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	req := &sampling.Request{Host: "shop.example.com", URL: "/cart/42", Method: "GET", ServiceName: "checkout", ServiceType: "AWS::EC2::Instance"}
	waitFor(t, "the SDK to fetch the rules", func() bool {
		d := ss.ShouldTrace(req)
		return d.Rule != nil && *d.Rule == "sdk-go"
	})
	const n = 3000
	sampled := 0
	start := time.Now()
	for range n {
		d := ss.ShouldTrace(req)
		if d.Rule == nil || *d.Rule != "sdk-go" {
			t.Fatalf("decided by %v, want the rule sdk-go", d.Rule)
		}
		if d.Sample {
			sampled++
		}
	}
	seconds := int(time.Now().Unix()-start.Unix()) + 1
	lo, hi := band(n, seconds)
	t.Logf("Go SDK: %d of %d sampled over %d s (band %d-%d)", sampled, n, seconds, lo, hi)
	if sampled < lo || sampled > hi {
		t.Errorf("the Go SDK sampled %d of %d requests over %d s; X-Ray's rule (1/s + 10%%) gives %d to %d", sampled, n, seconds, lo, hi)
	}
	// Requests of another service fall to Default (rate 1 here).
	other := *req
	other.ServiceName = "billing"
	if d := ss.ShouldTrace(&other); d.Rule == nil || *d.Rule != "Default" || !d.Sample {
		t.Errorf("billing: decided by %v (sample %v), want Default, sampled", d.Rule, d.Sample)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/server/servertest"
)

var (
	createSamplingRule = servertest.CreateSamplingRule
	band               = servertest.Band
)

// Centralized sampling with the real X-Ray SDKs: a rule of reservoir 1/s
// and fixed rate 0.1 for one service, made with CreateSamplingRule; the
// SDKs fetch it over the daemon address (TCP on the same host:port as the
// UDP segments), and their decisions over n requests land in the band
// X-Ray's own would: at most one request a second from the reservoir (or
// the one a second an SDK borrows before it has a quota), and 10 % of the
// rest, give or take 5 standard deviations of the binomial. (The X-Ray SDK
// for Go's test is in clienttests/server, the module that may depend on it.)

// pySampler drives the X-Ray SDK for Python's DefaultSampler: it waits for
// the rules, reports statistics once through the SDK's own target poller
// (as its 10-second timer would), then decides n requests.
const pySampler = `
import json, sys, time
from aws_xray_sdk.core.sampling.sampler import DefaultSampler
from aws_xray_sdk.core.daemon_config import DaemonConfig
from aws_xray_sdk.core.context import Context

addr, n = sys.argv[1], int(sys.argv[2])
s = DefaultSampler()
s.load_settings(DaemonConfig(addr), Context(), origin='AWS::EC2::Instance')
s.load_local_rules({"version": 2, "default": {"fixed_target": 0, "rate": 0}, "rules": []})
req = lambda: {'host': 'shop.example.com', 'method': 'GET', 'path': '/cart/42', 'service': 'checkout', 'service_type': 'AWS::EC2::Instance'}
deadline = time.time() + 30
while not any(r.name == 'sdk-py' for r in s._cache.rules):
    if time.time() > deadline:
        sys.exit('the SDK did not fetch the rules')
    s.should_trace(req())
    time.sleep(0.05)
s.should_trace(req())
s._target_poller._do_work()
rule = [r for r in s._cache.rules if r.name == 'sdk-py'][0]
start = time.time()
sampled = sum(1 for _ in range(n) if s.should_trace(req()) == 'sdk-py')
print(json.dumps({"quota": rule.reservoir.quota, "ttl": rule.reservoir.TTL, "sampled": sampled,
                  "seconds": int(time.time()) - int(start) + 1}))
`

func TestXRaySDKForPythonCentralizedSampling(t *testing.T) {
	if err := exec.Command("python3", "-c", "import aws_xray_sdk").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with aws_xray_sdk is needed under CI: %v", err)
		}
		t.Skipf("no python3 with aws_xray_sdk: %v", err)
	}
	srv := startServer(t)
	createSamplingRule(t, srv, "sdk-py")
	script := filepath.Join(t.TempDir(), "sampler.py")
	if err := os.WriteFile(script, []byte(pySampler), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	cmd := exec.Command("python3", script, srv.UDPAddr(), fmt.Sprint(n))
	cmd.Env = append(os.Environ(), "AWS_XRAY_NOOP_ID=false")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python sampler: %v\n%s", err, stderr)
	}
	var got struct {
		Quota, Sampled, Seconds int
		TTL                     float64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The server gave this client, the rule's only one, the whole
	// reservoir.
	if got.Quota != 1 || got.TTL < float64(time.Now().Unix()) {
		t.Errorf("quota %d until %v; want 1 and a TTL in the future", got.Quota, got.TTL)
	}
	lo, hi := band(n, got.Seconds)
	t.Logf("Python SDK: quota %d, %d of %d sampled over %d s (band %d-%d)", got.Quota, got.Sampled, n, got.Seconds, lo, hi)
	if got.Sampled < lo || got.Sampled > hi {
		t.Errorf("the Python SDK sampled %d of %d requests over %d s; X-Ray's rule (1/s + 10%%) gives %d to %d", got.Sampled, n, got.Seconds, lo, hi)
	}
	// Its report reached the statistics.
	sums, err := xrayClient(srv).GetSamplingStatisticSummaries(context.Background(), &awsxray.GetSamplingStatisticSummariesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums.SamplingStatisticSummaries) != 1 || sums.SamplingStatisticSummaries[0].RequestCount < 1 {
		t.Errorf("statistic summaries %+v; want the Python client's report for sdk-py", sums.SamplingStatisticSummaries)
	}
}

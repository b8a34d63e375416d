package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// binDir holds the server binary built for process-level tests; TestMain
// removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary compiles counterspy once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	var err error
	if binDir, err = os.MkdirTemp("", "counterspy-bin-"); err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "counterspy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type process struct {
	cmd      *exec.Cmd
	httpAddr string
	udpAddr  string
}

func startProcess(t *testing.T, dataDir string, extra ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--otlp-http-addr", "off", "--otlp-grpc-addr", "off", "--data-dir", dataDir, "--log-level", "warn"}, extra...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &testWriter{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	httpAddr, udpAddr, err := readBanner(bufio.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	return &process{cmd: cmd, httpAddr: httpAddr, udpAddr: udpAddr}
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

func (p *process) client() *awsxray.Client {
	return awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String("http://" + p.httpAddr),
		// Do not retry: an acknowledgement must mean the first attempt stored it.
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(),
	})
}

func (p *process) storedSegments(t *testing.T) int {
	resp, err := http.Get("http://" + p.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "counterspy_segments_stored_total "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// TestKillLosesNothingAcknowledged stores segments through PutTraceSegments
// while also sending UDP, kills the server with SIGKILL in the middle of the
// traffic, restarts it on the same directory and finds every acknowledged
// segment and every UDP segment the server had reported stored.
func TestKillLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	p := startProcess(t, dir, "--flush-interval", "50ms")
	client := p.client()
	gen := xrayid.NewGenerator(42)
	now := time.Now()

	type sent struct {
		trace xrayid.TraceID
		id    xrayid.SegmentID
	}
	doc := func(s sent, i int) string {
		start := float64(now.UnixMicro())/1e6 + float64(i)/1000
		return fmt.Sprintf(`{"name":"svc-%d","id":"%s","trace_id":"%s","start_time":%.6f,"end_time":%.6f,"http":{"response":{"status":200}},"annotations":{"n":%d}}`,
			i%7, s.id, s.trace, start, start+0.01, i)
	}

	// UDP first: wait until the server reports it stored, then it must survive.
	conn, err := net.Dial("udp", p.udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	var udpSent []sent
	for i := range 300 {
		s := sent{gen.TraceID(now), gen.SegmentID()}
		udpSent = append(udpSent, s)
		if _, err := conn.Write([]byte("{\"format\": \"json\", \"version\": 1}\n" + doc(s, i))); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			time.Sleep(5 * time.Millisecond) // stay within the kernel's socket buffer
		}
	}
	conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for p.storedSegments(t) < len(udpSent) {
		if time.Now().After(deadline) {
			t.Fatalf("server stored %d of %d UDP segments", p.storedSegments(t), len(udpSent))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// API traffic from two clients; kill the server while it flows.
	var mu sync.Mutex
	var acked []sent
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		g := xrayid.NewGenerator(uint64(100 + w))
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				batch := make([]sent, 20)
				docs := make([]string, 20)
				for j := range batch {
					batch[j] = sent{g.TraceID(now), g.SegmentID()}
					docs[j] = doc(batch[j], i*20+j)
				}
				out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
				if err != nil {
					return // the server is gone: this batch was not acknowledged
				}
				if len(out.UnprocessedTraceSegments) != 0 {
					t.Errorf("rejected: %+v", out.UnprocessedTraceSegments)
					return
				}
				mu.Lock()
				acked = append(acked, batch...)
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 2000 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.kill(t)
	cancel()
	wg.Wait()

	p2 := startProcess(t, dir)
	client2 := p2.client()
	want := append(append([]sent(nil), udpSent...), acked...)
	missing := 0
	for i := 0; i < len(want); i += 5 {
		chunk := want[i:min(i+5, len(want))]
		ids := make([]string, len(chunk))
		for j, s := range chunk {
			ids[j] = s.trace.String()
		}
		out, err := client2.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, tr := range out.Traces {
			for _, s := range tr.Segments {
				found[aws.ToString(tr.Id)+"/"+aws.ToString(s.Id)] = true
			}
		}
		for _, s := range chunk {
			if !found[s.trace.String()+"/"+s.id.String()] {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged segments (%d UDP, %d API) missing after kill -9 and restart", missing, len(want), len(udpSent), len(acked))
	}
	t.Logf("all %d segments (%d UDP, %d acknowledged API) survived kill -9", len(want), len(udpSent), len(acked))
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

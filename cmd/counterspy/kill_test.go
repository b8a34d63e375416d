package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

var killRounds = flag.Int("kill-rounds", 5, "rounds of TestKillRoundsUnderMixedLoad")

// TestKillRoundsUnderMixedLoad kills the server with SIGKILL at a random
// moment while writers (PutTraceSegments) and readers (GetTraceSummaries,
// BatchGetTraces) run, restarts it on the same directory, and repeats
// (-kill-rounds, default 5). Readers check every acknowledged trace they
// fetch is whole; at the end every acknowledged segment is read back.
func TestKillRoundsUnderMixedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	rng := mrand.New(mrand.NewPCG(uint64(seed), 1))
	t.Logf("seed %d, %d rounds", seed, *killRounds)
	now := time.Now()
	const perTrace = 20
	type ackedTrace struct {
		trace xrayid.TraceID
		segs  []xrayid.SegmentID
	}
	var mu sync.Mutex
	var acked []ackedTrace
	pick := func(r *mrand.Rand) (ackedTrace, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) == 0 {
			return ackedTrace{}, false
		}
		return acked[r.IntN(len(acked))], true
	}
	doc := func(tr xrayid.TraceID, id, parent xrayid.SegmentID, i int) string {
		start := float64(now.UnixMicro())/1e6 + float64(i)/1000
		p := ""
		if parent != 0 {
			p = fmt.Sprintf(`"parent_id":"%s",`, parent)
		}
		return fmt.Sprintf(`{"name":"svc-%d","id":"%s",%s"trace_id":"%s","start_time":%.6f,"end_time":%.6f,"http":{"response":{"status":%d}},"annotations":{"n":%d}}`,
			i%5, id, p, tr, start, start+0.01, 200+100*(i%3), i)
	}
	var reads atomic.Int64
	for round := range *killRounds {
		var killed atomic.Bool
		p := startProcess(t, dir, "--flush-interval", "20ms")
		client := p.client()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			g := xrayid.NewGenerator(uint64(round*10 + w + 1))
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					tr := ackedTrace{trace: g.TraceID(now)}
					docs := make([]string, perTrace)
					for j := range docs {
						id := g.SegmentID()
						var parent xrayid.SegmentID
						if j > 0 {
							parent = tr.segs[0]
						}
						tr.segs = append(tr.segs, id)
						docs[j] = doc(tr.trace, id, parent, i*perTrace+j)
					}
					out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
					if err != nil {
						return // killed: not acknowledged
					}
					if len(out.UnprocessedTraceSegments) != 0 {
						t.Errorf("rejected: %+v", out.UnprocessedTraceSegments)
						return
					}
					mu.Lock()
					acked = append(acked, tr)
					mu.Unlock()
				}
			}()
		}
		for r := range 2 {
			wg.Add(1)
			rr := mrand.New(mrand.NewPCG(uint64(seed), uint64(round*10+r+2)))
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					if i%2 == 0 {
						_, err := client.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{
							StartTime: aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
							FilterExpression: aws.String(`service("svc-1") AND annotation.n > 10`),
						})
						if err != nil && !killed.Load() {
							t.Errorf("round %d: GetTraceSummaries before the kill: %v", round, err)
						}
						reads.Add(1)
						continue
					}
					tr, ok := pick(rr)
					if !ok {
						time.Sleep(time.Millisecond)
						continue
					}
					out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{tr.trace.String()}})
					reads.Add(1)
					if err != nil {
						if !killed.Load() {
							t.Errorf("round %d: BatchGetTraces before the kill: %v", round, err)
						}
						continue
					}
					if len(out.Traces) != 1 || len(out.Traces[0].Segments) < perTrace {
						n := -1
						if len(out.Traces) == 1 {
							n = len(out.Traces[0].Segments)
						}
						t.Errorf("round %d: acknowledged trace %s read with %d of %d segments", round, tr.trace, n, perTrace)
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+rng.IntN(450)) * time.Millisecond)
		killed.Store(true)
		p.kill(t)
		cancel()
		wg.Wait()
	}

	p := startProcess(t, dir)
	client := p.client()
	missing := 0
	for i := 0; i < len(acked); i += 5 {
		chunk := acked[i:min(i+5, len(acked))]
		ids := make([]string, len(chunk))
		for j, tr := range chunk {
			ids[j] = tr.trace.String()
		}
		out, err := client.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, tr := range out.Traces {
			for _, s := range tr.Segments {
				found[aws.ToString(tr.Id)+"/"+aws.ToString(s.Id)] = true
			}
		}
		for _, tr := range chunk {
			for _, s := range tr.segs {
				if !found[tr.trace.String()+"/"+s.String()] {
					missing++
				}
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged segments missing after %d kill -9 rounds", missing, len(acked)*perTrace, *killRounds)
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	t.Logf("%d kill -9 rounds: all %d acknowledged segments (%d traces) read back; %d reads during the load",
		*killRounds, len(acked)*perTrace, len(acked), reads.Load())
}

// TestServeOnAFullDiskServesReads: a server restarted without the space to
// open its store for writing starts anyway (it never hangs half-started),
// serves what it holds, refuses writes with 503 ThrottlingException and says
// why in /healthz.
func TestServeOnAFullDiskServesReads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	dir := t.TempDir()
	p := startProcess(t, dir)
	gen := xrayid.NewGenerator(9)
	now := time.Now()
	tr := gen.TraceID(now)
	var docs []string
	for i := range 10 {
		docs = append(docs, fmt.Sprintf(`{"name":"svc","id":"%s","trace_id":"%s","start_time":%d,"end_time":%d}`, gen.SegmentID(), tr, now.Unix(), now.Unix()+int64(i)))
	}
	if _, err := p.client().PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}); err != nil {
		t.Fatal(err)
	}
	p.kill(t)

	p = startProcess(t, dir, "--min-free-space", "1000TiB")
	resp, err := http.Get("http://" + p.httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "read-only") || !strings.Contains(string(body), "need 1000.0 TiB") {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, body)
	}
	out, err := p.client().BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{tr.String()}})
	if err != nil || len(out.Traces) != 1 || len(out.Traces[0].Segments) != len(docs) {
		t.Fatalf("BatchGetTraces on a full disk: %v %+v", err, out)
	}
	_, err = p.client().PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs[:1]})
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("PutTraceSegments on a full disk: %v, want 503 ThrottlingException", err)
	}
	t.Logf("healthz: %s", body)
}

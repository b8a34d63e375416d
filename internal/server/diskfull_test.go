package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// smallDisk mounts a 32 MiB tmpfs for the test, or skips when the test does
// not run as root.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a size-limited tmpfs needs root; the errorfs tests in internal/store/pebblestore cover the same paths")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", dir).CombinedOutput(); err != nil {
		// Root without CAP_SYS_ADMIN (an unprivileged container).
		t.Skipf("cannot mount a tmpfs here (%v: %s); the errorfs tests in internal/store/pebblestore cover the same paths", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFullOnARealFileSystem fills a 32 MiB file system through
// PutTraceSegments until the server refuses (503 ThrottlingException),
// checks that it stays up, answers reads, says why in /healthz and accounts
// for every UDP segment (dropped and counted, or stored); then frees space and sees writes resume
// without a restart. Every acknowledged segment is read back, also after a
// restart.
func TestDiskFullOnARealFileSystem(t *testing.T) {
	mnt := smallDisk(t)
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Addr:          "127.0.0.1:0",
		DataDir:       filepath.Join(mnt, "data"),
		FlushInterval: 10 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pebble:        pebblestore.Options{MemTableSize: 1 << 20, CacheSize: 4 << 20, MinFreeBytes: 6 << 20},
	}
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close(context.Background()) }()
	client := awsxray.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String("http://" + srv.HTTPAddr()),
		RetryMaxAttempts: 1, // an acknowledgement must mean the first attempt stored it
		HTTPClient:       sdkhttp.Client(),
	})
	ctx := context.Background()
	gen := xrayid.NewGenerator(7)
	type seg struct{ trace, id string }
	var acked []seg
	noise := make([]byte, 1500)
	put := func() error {
		batch := make([]seg, 20)
		docs := make([]string, 20)
		for i := range batch {
			now := time.Now()
			batch[i] = seg{gen.TraceID(now).String(), gen.SegmentID().String()}
			rand.Read(noise)
			docs[i] = fmt.Sprintf(`{"name":"fill","id":"%s","trace_id":"%s","start_time":%d,"end_time":%d,"metadata":{"default":{"noise":"%s"}}}`,
				batch[i].id, batch[i].trace, now.Unix(), now.Unix()+1, base64.StdEncoding.EncodeToString(noise))
		}
		out, err := client.PutTraceSegments(ctx, &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
		if err != nil {
			return err
		}
		if len(out.UnprocessedTraceSegments) != 0 {
			t.Fatalf("rejected: %+v", out.UnprocessedTraceSegments)
		}
		acked = append(acked, batch...)
		return nil
	}

	var refusal error
	for i := 0; i < 2000 && refusal == nil; i++ {
		refusal = put()
	}
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	if !errors.As(refusal, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" ||
		!errors.As(refusal, &respErr) || respErr.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("after filling the disk: %v, want 503 ThrottlingException", refusal)
	}
	t.Logf("%d segments acknowledged before the refusal: %v", len(acked), refusal)
	code, body := get(t, srv, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full") || !strings.Contains(body, "MiB free") {
		t.Fatalf("/healthz while full: %d %q", code, body)
	}

	// UDP segments cannot be refused: they are dropped and counted (the
	// counting itself: TestDiskFullDropsAreCounted in internal/ingest).
	// Pebble's compactions free space on their own, so by the time they
	// arrive the store may take some again: each must be one or the other.
	storedBefore := metric(t, srv, `counterspy_segments_stored_total`)
	conn, err := net.Dial("udp", srv.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		now := time.Now()
		fmt.Fprintf(conn, "{\"format\":\"json\",\"version\":1}\n{\"name\":\"udp\",\"id\":\"%s\",\"trace_id\":\"%s\",\"start_time\":%d,\"end_time\":%d}",
			gen.SegmentID(), gen.TraceID(now), now.Unix(), now.Unix()+1)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dropped := metric(t, srv, `counterspy_segments_dropped_total{reason="disk_full"}`)
		stored := metric(t, srv, `counterspy_segments_stored_total`) - storedBefore
		if dropped+stored == 10 {
			t.Logf("UDP segments while full: %v dropped and counted, %v stored", dropped, stored)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("UDP segments while full: %v dropped and counted, %v stored, of 10 sent", dropped, stored)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Reads keep working.
	readBack := func(client *awsxray.Client, what string) {
		t.Helper()
		missing := 0
		for i := 0; i < len(acked); i += 5 {
			chunk := acked[i:min(i+5, len(acked))]
			ids := make([]string, len(chunk))
			for j, s := range chunk {
				ids[j] = s.trace
			}
			out, err := client.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: ids})
			if err != nil {
				t.Fatalf("%s: BatchGetTraces: %v", what, err)
			}
			found := map[string]bool{}
			for _, tr := range out.Traces {
				for _, s := range tr.Segments {
					found[aws.ToString(tr.Id)+"/"+aws.ToString(s.Id)] = true
				}
			}
			for _, s := range chunk {
				if !found[s.trace+"/"+s.id] {
					missing++
				}
			}
		}
		if missing > 0 {
			t.Fatalf("%s: %d of %d acknowledged segments missing", what, missing, len(acked))
		}
	}
	readBack(client, "while the disk is full")

	// Space returns: the server recovers by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, srv, "/healthz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz after space returned: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 10 {
		if err := put(); err != nil {
			t.Fatalf("PutTraceSegments after space returned: %v", err)
		}
	}
	readBack(client, "after space returned")

	// And after a restart.
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err = server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client = xrayClient(srv)
	readBack(client, "after a restart")
	t.Logf("all %d acknowledged segments read back", len(acked))
}

func get(t *testing.T, srv *server.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func metric(t *testing.T, srv *server.Server, name string) float64 {
	t.Helper()
	_, body := get(t, srv, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

package pebblestore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

const killChildEnv = "PEBBLESTORE_KILL_CHILD"

// killBatch is batch k of the kill test: one trace of its own with 50
// records, the same in parent and child.
func killBatch(base time.Time, k int) *store.Batch {
	b := &store.Batch{}
	id := traceAt(base, uint32(k))
	for j := range 50 {
		b.Records = append(b.Records, rec(id, xrayid.SegmentID(k*100+j+1), base))
	}
	return b
}

// TestSurvivesKill checks Write's promise: a batch whose Write returned is
// on disk, even if the process is killed right after (kill -9).
func TestSurvivesKill(t *testing.T) {
	if v := os.Getenv(killChildEnv); v != "" {
		killChild(v)
		return
	}
	dir := t.TempDir()
	base := time.Now().Truncate(time.Second)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", killChildEnv, dir, base.Unix()))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	lines := bufio.NewScanner(out)
	for acked < 30 && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(v)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 30 {
		t.Fatalf("child acknowledged %d batches before stopping", acked)
	}

	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	for k := 0; k <= acked; k++ {
		want := killBatch(base, k)
		var got *store.Trace
		for tr, err := range s.Traces(context.Background(), []xrayid.TraceID{want.Records[0].TraceID}) {
			if err != nil {
				t.Fatalf("batch %d: %v", k, err)
			}
			got = tr
		}
		if got == nil || len(got.Records) != len(want.Records) {
			t.Fatalf("batch %d of %d acknowledged is missing after kill -9", k, acked)
		}
	}
}

// killChild writes batches until killed, printing each acknowledgement.
func killChild(arg string) {
	dir, secs, _ := strings.Cut(arg, ",")
	sec, _ := strconv.ParseInt(secs, 10, 64)
	base := time.Unix(sec, 0)
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for k := 0; k < 100_000; k++ {
		if err := s.Write(context.Background(), killBatch(base, k)); err != nil {
			fmt.Println("write:", err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", k)
	}
	os.Exit(0)
}

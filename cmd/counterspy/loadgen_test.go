package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLoadgenCommand(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"loadgen", "--scenario", "seed", "--traces", "6", "--senders", "2",
		"--addr", conn.LocalAddr().String(), "--start", "2026-11-20T10:00:00Z", "--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	line := stdout.String()
	if !strings.HasPrefix(line, "traces=6 segments=") || !strings.Contains(line, "segments_per_s=") {
		t.Fatalf("final line %q", line)
	}
	var segments int
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "segments="); ok {
			for _, c := range v {
				segments = 10*segments + int(c-'0')
			}
		}
	}
	// Every reported segment arrived, framed as the Go SDK frames it. The
	// deadline only keeps a broken command from hanging the test.
	buf := make([]byte, 1<<16)
	for k := range segments {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", k+1, segments, err)
		}
		if !bytes.HasPrefix(buf[:n], []byte("{\"format\": \"json\", \"version\": 1}\n{")) {
			t.Fatalf("datagram %q", buf[:n])
		}
	}
}

func TestLoadgenCommandPrintAndUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"loadgen", "--scenario", "seed", "--print", "3"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--print: exit %d: %s", code, stderr.String())
	}
	if lines := strings.Count(stdout.String(), "\n"); lines < 6 {
		t.Fatalf("--print 3 wrote %d documents", lines)
	}
	for _, args := range [][]string{
		{"loadgen", "--scenario", "nope"},
		{"loadgen", "--protocol", "tcp", "--traces", "1"},
		{"loadgen", "--realtime", "--traces", "1"},
		{"loadgen", "--start", "yesterday"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

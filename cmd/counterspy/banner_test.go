package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/server"
)

var (
	bannerHTTPRE = regexp.MustCompile(`X-Ray API \+ console\s+https?://(\S+)/`)
	bannerUDPRE  = regexp.MustCompile(`X-Ray daemon \(UDP\)\s+(\S+)`)
)

// readBanner reads serve's startup banner up to its last line and returns
// the HTTP and UDP addresses it names.
func readBanner(r *bufio.Reader) (httpAddr, udpAddr string, err error) {
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if m := bannerHTTPRE.FindStringSubmatch(line); m != nil {
			httpAddr = m[1]
		}
		if m := bannerUDPRE.FindStringSubmatch(line); m != nil {
			udpAddr = m[1]
		}
		if strings.HasPrefix(line, "Point clients here") {
			if httpAddr == "" || udpAddr == "" {
				return "", "", fmt.Errorf("banner without both addresses:\n%s", seen.String())
			}
			return httpAddr, udpAddr, nil
		}
		if err != nil {
			return "", "", fmt.Errorf("reading the server's banner: %v (so far:\n%s)", err, seen.String())
		}
	}
}

func TestBannerNamesEveryListener(t *testing.T) {
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Retention: 72 * time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	var b bytes.Buffer
	printBanner(&b, srv, true)
	out := b.String()
	h, u, err := readBanner(bufio.NewReader(strings.NewReader(out)))
	if err != nil {
		t.Fatal(err)
	}
	if h != srv.HTTPAddr() || u != srv.UDPAddr() {
		t.Fatalf("banner names %s and %s, server listens on %s and %s:\n%s", h, u, srv.HTTPAddr(), srv.UDPAddr(), out)
	}
	for _, want := range []string{srv.DataDir(), "retention 3d", "feeding the seed scenario", "counterspy env --addr " + srv.UDPAddr(), "store format"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
}

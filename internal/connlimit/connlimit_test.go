package connlimit_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/connlimit"
)

// TestRefusesPastTheLimit holds the limit's worth of idle connections open:
// the next one is closed at once (not queued), and once one of the idle ones
// goes, requests are answered again.
func TestRefusesPastTheLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms := metrics.NewSet()
	const max = 4
	l := connlimit.Wrap(ln, max, "http", ms)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: time.Minute}
	go srv.Serve(l)
	defer srv.Close()
	addr := ln.Addr().String()

	get := func() (string, error) {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if got, err := get(); err != nil || got != "ok" {
		t.Fatalf("below the limit: %q %v", got, err)
	}

	// The server closes that connection after answering; until it has, it
	// still counts against the limit.
	waitFor(t, func() bool { return l.Open() == 0 }, "the first request's connection to be released")

	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitFor(t, func() bool { return l.Open() == max }, "the idle connections to be accepted")

	// The next connection is accepted by the kernel, then closed by us:
	// reading from it ends instead of waiting for a request timeout.
	// On loopback the server's close can even beat the end of connect,
	// which then fails with a reset: refused all the same.
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("a connection past the limit: read %v; want it closed by the server", err)
	}
	if _, err := get(); err == nil {
		t.Fatal("a request past the limit was answered")
	}
	var prom strings.Builder
	ms.WritePrometheus(&prom)
	if !strings.Contains(prom.String(), `counterspy_connections_refused_total{listener="http"} 2`) ||
		!strings.Contains(prom.String(), `counterspy_connections_open{listener="http"} 4`) {
		t.Errorf("metrics:\n%s", prom.String())
	}

	idle[0].Close()
	idle = idle[1:]
	waitFor(t, func() bool { return l.Open() < max }, "a closed idle connection to be released")
	if got, err := get(); err != nil || got != "ok" {
		t.Fatalf("after a connection closed: %q %v", got, err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

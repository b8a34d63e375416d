package auth

import (
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:2000": true, "127.1.2.3:0": true, "[::1]:2000": true, "localhost:2000": true,
		"[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:2000":         false, "[::]:2000": false, ":2000": false, "192.168.1.5:2000": false,
		"example.com:2000": false, "[::ffff:10.0.0.1]:1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckListeners(t *testing.T) {
	ls := []Listener{
		{Name: "HTTP API", Addr: "0.0.0.0:2000"},
		{Name: "UDP segments", Addr: ":2000", Remedy: "--udp-allow CIDR,..."},
		{Name: "OTLP/gRPC", Addr: "127.0.0.1:4317"},
	}
	exposed, err := CheckListeners(ls, false)
	if err == nil {
		t.Fatal("exposed listeners without authentication were accepted")
	}
	for _, want := range []string{"HTTP API on 0.0.0.0:2000", "--auth-file FILE", "UDP segments on :2000", "--udp-allow CIDR", "--insecure-no-auth"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if len(exposed) != 2 {
		t.Errorf("exposed = %v, want the HTTP and UDP listeners", exposed)
	}
	if exposed, err := CheckListeners(ls, true); err != nil || len(exposed) != 2 {
		t.Errorf("with --insecure-no-auth: %v, %v; want no error and both exposed listeners to warn about", exposed, err)
	}
	ls[0].Protected, ls[1].Protected = true, true
	if exposed, err := CheckListeners(ls, false); err != nil || len(exposed) != 0 {
		t.Errorf("protected listeners: %v, %v", exposed, err)
	}
}

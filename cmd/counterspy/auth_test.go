package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/server"
)

// The query commands sign with the environment's AWS keys, as the AWS CLI
// does, so they work against a server with an auth file.
func TestClientCommandsSignWithEnvironmentKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "auth")
	if err := os.WriteFile(file, []byte("AKIDREADER secretR read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), AuthFile: file,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	endpoint := "http://" + srv.HTTPAddr()

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDREADER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secretR")
	t.Setenv("AWS_SESSION_TOKEN", "")
	for _, args := range [][]string{
		{"traces", "--endpoint", endpoint, "--since", "1h"},
		{"map", "--endpoint", endpoint, "--since", "1h"},
		{"logs", "--server", endpoint, "--function", "f"},
	} {
		if code, _, errOut := runCLI(args...); code != 0 {
			t.Errorf("%s with the right key: exit %d: %s", args[0], code, errOut)
		}
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if code, _, errOut := runCLI("traces", "--endpoint", endpoint, "--since", "1h"); code != 1 || !strings.Contains(errOut, "InvalidSignatureException") {
		t.Errorf("traces with a wrong secret: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI("logs", "--server", endpoint, "--function", "f"); code != 1 || !strings.Contains(errOut, "403") {
		t.Errorf("logs with a wrong secret: exit %d: %s", code, errOut)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if code, _, errOut := runCLI("traces", "--endpoint", endpoint, "--since", "1h"); code != 1 || !strings.Contains(errOut, "UnrecognizedClientException") {
		t.Errorf("traces without keys: exit %d: %s", code, errOut)
	}
}

func TestServeRefusesExposedWithoutAuth(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI("serve", "--addr", "0.0.0.0:0", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "--auth-file FILE") || !strings.Contains(errOut, "--insecure-no-auth") {
		t.Errorf("serve on 0.0.0.0: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI("lambda", "--addr", "0.0.0.0:0", "--function", "f=/bin/true", "--server", "")
	if code != 1 || !strings.Contains(errOut, "Lambda Invoke API on 0.0.0.0:0") || !strings.Contains(errOut, "--insecure-no-auth") {
		t.Errorf("lambda on 0.0.0.0: exit %d: %s", code, errOut)
	}
	t.Setenv("COUNTERSPY_UDP_ALLOW", "10.0.0.0/8,not-a-network")
	if code, _, errOut := runCLI("serve", "--data-dir", dir); code != 2 || !strings.Contains(errOut, "not-a-network") {
		t.Errorf("a bad COUNTERSPY_UDP_ALLOW: exit %d: %s", code, errOut)
	}
}

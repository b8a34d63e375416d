package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestEnvEvaluatesInAShell(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"env", "--addr", "127.0.0.1:3100"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	cmd := exec.Command("sh", "-c", `eval "$(cat)"; echo "$AWS_XRAY_DAEMON_ADDRESS $AWS_ENDPOINT_URL_XRAY $COUNTERSPY_ENDPOINT $AWS_REGION $AWS_ACCESS_KEY_ID"`)
	cmd.Stdin = &out
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "127.0.0.1:3100 http://127.0.0.1:3100 http://127.0.0.1:3100 us-east-1 counterspy"
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("after eval: %q, want %q", got, want)
	}
}

func TestEnvRejectsABadAddress(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"env", "--addr", "nonsense"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2 (usage); stderr %q", code, errb.String())
	}
}

func TestShQuote(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:2000":    "127.0.0.1:2000",
		"http://[::1]:2000": "http://[::1]:2000",
		"it's":              `'it'\''s'`,
		"a b":               "'a b'",
		"":                  "''",
		"$(rm -rf /)":       "'$(rm -rf /)'",
	} {
		if got := shQuote(in); got != want {
			t.Errorf("shQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// env reads serve's environment names, so the exports match a server
// configured through the environment.
func TestEnvReadsServeEnvironment(t *testing.T) {
	t.Setenv("COUNTERSPY_ADDR", "127.0.0.1:3200")
	t.Setenv("COUNTERSPY_OTLP_HTTP_ADDR", "off")
	code, out, errOut := runCLI("env")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "export AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:3200\n") || !strings.Contains(out, "export COUNTERSPY_ENDPOINT=http://127.0.0.1:3200\n") {
		t.Errorf("COUNTERSPY_ADDR not followed:\n%s", out)
	}
	if strings.Contains(out, "OTEL_") {
		t.Errorf("COUNTERSPY_OTLP_HTTP_ADDR=off still exports OTLP settings:\n%s", out)
	}
	t.Setenv("COUNTERSPY_OTLP_HTTP_ADDR", "127.0.0.1:4400")
	if _, out, _ = runCLI("env", "--addr", "127.0.0.1:3300"); !strings.Contains(out, "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4400\n") || !strings.Contains(out, "=127.0.0.1:3300\n") {
		t.Errorf("COUNTERSPY_OTLP_HTTP_ADDR or the --addr flag over COUNTERSPY_ADDR not followed:\n%s", out)
	}
}

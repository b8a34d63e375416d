package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/counterspy/counterspy/internal/server"
)

func init() {
	commands["env"] = command{`print the shell exports that point X-Ray SDKs, the AWS CLI and SDKs, OTel exporters and this CLI at a counterspy server (eval "$(counterspy env)")`, runEnv}
}

// Dummy credentials and region for clients of a server without --auth-file:
// the AWS SDKs refuse to sign without some, and the server then accepts any.
const (
	envAccessKey = "counterspy"
	envSecretKey = "counterspy"
	envRegion    = "us-east-1"
)

func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("env", stderr)
	addr := fs.String("addr", server.DefaultAddr, "`host:port` of the server's UDP segments and HTTP API, as given to serve --addr (env COUNTERSPY_ADDR)")
	lambdaURL := fs.String("lambda-endpoint", "", "`URL` of the Lambda Invoke API (default: the server's HTTP address, where serve --lambda-config puts it; counterspy lambda alone listens on http://127.0.0.1:9001)")
	otlpAddr := fs.String("otlp-http-addr", "127.0.0.1:4318", "`host:port` of the server's OTLP/HTTP receiver, as given to serve --otlp-http-addr; empty or off prints no OTLP exporter settings (env COUNTERSPY_OTLP_HTTP_ADDR)")
	shell := fs.String("shell", "sh", "`syntax` of the output: sh (bash, zsh, sh) or fish")
	keepCreds := fs.Bool("keep-credentials", false, "do not print dummy AWS credentials and region (use when the server runs with --auth-file and your environment has its keys)")
	setUsage(fs, "[flags]", `
Prints the environment that points every client at a counterspy server:
the X-Ray SDKs' daemon address, the AWS SDKs' X-Ray and Lambda endpoints,
the OTLP exporters' endpoint, dummy credentials and region, and this CLI's
COUNTERSPY_ENDPOINT. The AWS CLI v2 before 2.13 does not read endpoint
URLs from the environment: pass --endpoint-url "$AWS_ENDPOINT_URL_XRAY".`,
		`eval "$(counterspy env)"`,
		`eval "$(counterspy env --addr 127.0.0.1:3000)"`,
		`counterspy env --shell fish | source`)

	// serve's environment names, so a shell that configures the server
	// (COUNTERSPY_ADDR, COUNTERSPY_OTLP_HTTP_ADDR) prints matching exports.
	if err := envDefaults(fs, "COUNTERSPY_"); err != nil {
		return usageError{err}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageError{fmt.Errorf("--addr %q: want host:port", *addr)}
	}
	httpURL := "http://" + *addr
	vars := [][2]string{
		{"AWS_XRAY_DAEMON_ADDRESS", *addr},
		{"AWS_ENDPOINT_URL_XRAY", httpURL},
	}
	lam := *lambdaURL
	if lam == "" {
		lam = httpURL
	}
	vars = append(vars, [2]string{"AWS_ENDPOINT_URL_LAMBDA", lam})
	if *otlpAddr != "" && *otlpAddr != "off" {
		vars = append(vars,
			[2]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + *otlpAddr},
			[2]string{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"})
	}
	vars = append(vars, [2]string{"COUNTERSPY_ENDPOINT", httpURL})
	if !*keepCreds {
		vars = append(vars,
			[2]string{"AWS_ACCESS_KEY_ID", envAccessKey},
			[2]string{"AWS_SECRET_ACCESS_KEY", envSecretKey},
			[2]string{"AWS_REGION", envRegion},
			[2]string{"AWS_DEFAULT_REGION", envRegion})
	}
	var b strings.Builder
	for _, kv := range vars {
		switch *shell {
		case "sh":
			fmt.Fprintf(&b, "export %s=%s\n", kv[0], shQuote(kv[1]))
		case "fish":
			fmt.Fprintf(&b, "set -gx %s %s;\n", kv[0], shQuote(kv[1]))
		default:
			return usageError{fmt.Errorf("--shell %q: want sh or fish", *shell)}
		}
	}
	_, err := io.WriteString(stdout, b.String())
	return err
}

// shQuote quotes s for sh and fish when it holds anything but safe characters.
func shQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@,+=[]", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/testenv"
)

// readmeSkipMark ends a README shell line that the README test does not run
// (a long-running command, or one that needs files the reader brings):
//
//	counterspy demo --serve   # (skip in README test: runs until stopped)
const readmeSkipMark = "# (skip in README test:"

// readmeShellLines returns the commands of the fenced sh blocks of the
// README's "Using it" section (up to the next "## " heading), a command
// continued with a trailing backslash as one, lines marked with
// readmeSkipMark left out.
func readmeShellLines(md string) ([]string, error) {
	lines := strings.Split(md, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "## Using it" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf(`no "## Using it" section`)
	}
	var cmds []string
	inBlock := false
	cur := ""
	for _, l := range lines[start:] {
		if !inBlock && strings.HasPrefix(l, "## ") {
			break
		}
		switch {
		case !inBlock && strings.TrimSpace(l) == "```sh":
			inBlock = true
		case inBlock && strings.TrimSpace(l) == "```":
			if cur != "" {
				return nil, fmt.Errorf("sh block ends in a continued line: %q", cur)
			}
			inBlock = false
		case inBlock:
			if strings.HasSuffix(l, `\`) {
				cur += l + "\n" // bash joins the lines itself
				continue
			}
			cmd := strings.TrimSpace(cur + l)
			cur = ""
			if cmd == "" || strings.HasPrefix(cmd, "#") || strings.Contains(cmd, readmeSkipMark) {
				continue
			}
			cmds = append(cmds, cmd)
		}
	}
	if inBlock {
		return nil, fmt.Errorf("unterminated sh block")
	}
	return cmds, nil
}

func TestReadmeShellLines(t *testing.T) {
	md := "# X\n```sh\nnot me\n```\n## Using it\ntext\n```sh\neval \"$(counterspy env)\"   # comment\n" +
		"aws xray a \\\n    --b c\n# a comment\nlong  # (skip in README test: runs forever)\n```\n```console\nnot me\n```\n" +
		"### Sub\n```sh\nsub\n```\n## Next\n```sh\nnot me\n```\n"
	got, err := readmeShellLines(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"eval \"$(counterspy env)\"   # comment", "aws xray a \\\n    --b c", "sub"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := readmeShellLines("## Using it\n```sh\na \\\n```\n"); err == nil {
		t.Error("a block ending in a continued line: no error")
	}
	if _, err := readmeShellLines("# nothing\n"); err == nil {
		t.Error("no Using it section: no error")
	}
}

// freeUDPTCPPort returns a loopback port free for both TCP and UDP, so the
// server can take one --addr as the README's reader does.
func freeUDPTCPPort(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

// TestReadmeUsingIt walks the README's "Using it" section as a newcomer:
// the built binary and the AWS CLI v2 first on PATH, `counterspy serve
// --demo` on a fresh data directory, then every shell line of the section as
// written (the default address replaced by the test server's), each run by
// bash after the section's eval/export lines. Each must exit 0 and print
// something.
func TestReadmeUsingIt(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("builds and runs the server binary")
	}
	md, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeShellLines(string(md))
	if err != nil {
		t.Fatal(err)
	}
	// The walk means nothing if the section lost its lines.
	if len(cmds) < 8 || !strings.HasPrefix(cmds[0], `eval "$(counterspy env`) {
		t.Fatalf("the README's Using it section should start with eval \"$(counterspy env)\" and hold at least 8 runnable lines; got %q", cmds)
	}
	awsCLI := testenv.AWSCLI(t)
	bash := testenv.Require(t, "bash", "COUNTERSPY_BASH", "/bin/bash", "bash")
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}

	// PATH as a newcomer's: counterspy and the AWS CLI v2 first.
	pathDir := t.TempDir()
	for name, target := range map[string]string{"counterspy": bin, "aws": awsCLI} {
		if err := os.Symlink(target, filepath.Join(pathDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	env := []string{"PATH=" + pathDir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "TZ=UTC", "COLUMNS=120"}

	addr := freeUDPTCPPort(t)
	srv := exec.Command(bin, "serve", "--demo", "--addr", addr, "--otlp-http-addr", "off", "--otlp-grpc-addr", "off",
		"--data-dir", t.TempDir(), "--log-level", "warn")
	srv.Env = env
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	srv.Stderr = &testWriter{t: t}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	httpAddr, udpAddr, err := readBanner(bufio.NewReader(stdout))
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	if httpAddr != addr || udpAddr != addr {
		t.Fatalf("serve --addr %s listens on %s (HTTP) and %s (UDP)", addr, httpAddr, udpAddr)
	}

	// `counterspy env` reads COUNTERSPY_ADDR, so the README's eval line
	// points at this server as written.
	env = append(env, "COUNTERSPY_ADDR="+addr)
	work := t.TempDir()
	run := func(ctx context.Context, script string) (string, string, error) {
		cmd := exec.CommandContext(ctx, bash, "-c", "set -eo pipefail\n"+script)
		cmd.Env = env
		cmd.Dir = work
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}

	// The demo backfills the last hour at start; wait until its faults are
	// queryable (a bound, not a timing assertion).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, _, err := run(t.Context(), "counterspy traces --endpoint http://"+addr+` --filter 'service() { fault }' --ids --limit 1`)
		if err == nil && strings.HasPrefix(out, "1-") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo faults after 2 minutes (last: %q, %v)", out, err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	var prelude strings.Builder
	for _, c := range cmds {
		line := strings.ReplaceAll(c, server.DefaultAddr, addr)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		out, errOut, err := run(ctx, prelude.String()+line)
		cancel()
		if err != nil {
			t.Errorf("README line failed (%v):\n%s\nstdout:\n%s\nstderr:\n%s", err, c, out, errOut)
			continue
		}
		if strings.HasPrefix(line, "eval ") || strings.HasPrefix(line, "export ") {
			prelude.WriteString(line + "\n")
			continue
		}
		if strings.TrimSpace(out) == "" {
			t.Errorf("README line printed nothing:\n%s\nstderr:\n%s", c, errOut)
			continue
		}
		t.Logf("ok: %s (%s of output)", strings.SplitN(c, "\n", 2)[0], strconv.Itoa(len(out))+" bytes")
	}
}

// TestReadmeServeFlagTable keeps the README's `counterspy serve` table
// complete: every flag serve -h lists has its row.
func TestReadmeServeFlagTable(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	a := strings.Index(s, "### `counterspy serve`")
	if a < 0 {
		t.Fatal("no ### `counterspy serve` section in README.md")
	}
	table := s[a:]
	if b := strings.Index(table[1:], "\n#"); b >= 0 {
		table = table[:b+1]
	}
	_, out, errOut := runCLI("serve", "-h")
	var flags []string
	for _, l := range strings.Split(out+errOut, "\n") {
		if name, ok := strings.CutPrefix(l, "  -"); ok {
			flags = append(flags, strings.Fields(name)[0])
		}
	}
	if len(flags) < 10 {
		t.Fatalf("serve -h listed %d flags: %q", len(flags), out+errOut)
	}
	for _, f := range flags {
		if !strings.Contains(table, "`--"+f+"`") {
			t.Errorf("serve flag --%s has no row in the README's `counterspy serve` table", f)
		}
	}
}

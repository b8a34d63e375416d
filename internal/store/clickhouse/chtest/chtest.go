// Package chtest starts a throwaway ClickHouse server for tests: Debian's
// clickhouse-server (scripts/test installs it) on free loopback ports, with
// its own configuration and data directory, stopped when the tests end.
package chtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/testenv"
)

// Server is a running ClickHouse server.
type Server struct {
	// Addr is the native-protocol address (host:port).
	Addr string
	// HTTPAddr is the HTTP interface's address.
	HTTPAddr string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Binary returns the clickhouse-server program, skipping the test (failing
// it in CI) if it is not installed.
func Binary(t testing.TB) string {
	return testenv.Require(t, "ClickHouse server", "COUNTERSPY_CLICKHOUSE", "/usr/sbin/clickhouse-server", "clickhouse-server")
}

// config is a minimal server configuration (see the ClickHouse server
// settings documentation); zstd compresses every part.
const config = `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>%[2]d</http_port>
  <tcp_port>%[3]d</tcp_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <compression><case><method>zstd</method></case></compression>
%[4]s</yandex>
`

const users = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`

// Start starts a server in a new directory under dir (a test's TempDir,
// or a directory the caller removes) and waits until it answers.
func Start(bin, dir string) (*Server, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	tcpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	return start(bin, dir, httpPort, tcpPort, "")
}

// start starts a server on the given ports; extra is added to its
// config.xml (e.g. remote_servers).
func start(bin, dir string, httpPort, tcpPort int, extra string) (*Server, error) {
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, dir, httpPort, tcpPort, extra), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config-file="+cfg)
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort)),
		HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		dir:      dir, cmd: cmd, exited: make(chan struct{}),
	}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.HTTPAddr+"/ping", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log", "error.log"))
			return nil, fmt.Errorf("clickhouse-server exited at start-up: %s", tail(log))
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("clickhouse-server did not answer on %s: %w", s.HTTPAddr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StartTest starts a server for t and stops it when t ends.
func StartTest(t testing.TB) *Server {
	t.Helper()
	s, err := Start(Binary(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop terminates the server and waits for it (SIGKILL after 20 s).
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

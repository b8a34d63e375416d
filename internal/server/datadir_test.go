package server

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDataDirLockNamesTheHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to an open file description, so a second open in
	// this process conflicts exactly as a second server would.
	_, err = lockDataDir(dir)
	if err == nil {
		t.Fatal("a second lock on the same data directory succeeded")
	}
	want := "another counterspy is using " + dir + " (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.release()
}

func TestDataDirNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; a file where the directory should be
		// fails the same way for everyone.
		parent := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(parent, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := lockDataDir(filepath.Join(parent, "data"))
		if err == nil || !strings.Contains(err.Error(), "cannot create the data directory") || !strings.Contains(err.Error(), "--data-dir") {
			t.Fatalf("got %v", err)
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	_, err := lockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("got %v", err)
	}
}

func TestPortInUseNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(Config{Addr: ln.Addr().String(), DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		t.Fatal("started on a port in use")
	}
	if !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "--addr") {
		t.Fatalf("error %q does not say the port is in use and which flag moves it", err)
	}
}

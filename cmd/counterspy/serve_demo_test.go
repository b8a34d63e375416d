package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

func TestDemoMarkerRoundTrip(t *testing.T) {
	m := demoMarker{filepath.Join(t.TempDir(), demoMarkerFile)}
	if got := m.read(); !got.IsZero() {
		t.Fatalf("a missing marker reads as %v, want zero", got)
	}
	at := time.Date(2026, 12, 7, 10, 30, 0, 123456789, time.UTC)
	m.write(at, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got := m.read(); !got.Equal(at) {
		t.Fatalf("read %v, want %v", got, at)
	}
	if got := demoDataDir("/home/u/.local/share/counterspy/"); got != "/home/u/.local/share/counterspy-demo" {
		t.Fatalf("demoDataDir = %q", got)
	}
}

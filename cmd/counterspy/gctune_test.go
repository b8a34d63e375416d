package main

import (
	"io"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prevLimit := debug.SetMemoryLimit(512 << 20)
	defer debug.SetMemoryLimit(prevLimit)
	prevPercent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prevPercent)

	// GOGC in the environment wins: the tuner stays off.
	t.Setenv("GOGC", "100")
	stop := tuneGC(log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GOGC became %d", got)
	}
	stop()

	os.Unsetenv("GOGC") // t.Setenv restores it after the test
	stop = tuneGC(log)
	// A test process's live heap is a few MiB, far below half of 512 MiB.
	if got := debug.SetGCPercent(-1); got <= 100 {
		t.Errorf("without GOGC, under a 512 MiB limit, GOGC is %d; want it raised above 100", got)
	} else {
		debug.SetGCPercent(got)
	}
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after stop GOGC is %d, want 100 back", got)
	}

	// No memory limit: nothing to size a target from.
	debug.SetMemoryLimit(math.MaxInt64)
	stop = tuneGC(log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("without a memory limit GOGC became %d", got)
	}
	stop()
}

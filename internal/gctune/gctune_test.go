package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	target := Options{Target: 256 * mib}
	for _, c := range []struct {
		live int64
		opts Options
		want int
	}{
		{90 * mib, target, 184},  // (256-90)/90
		{128 * mib, target, 100}, // exactly GOGC=100
		{200 * mib, target, 100}, // never below the floor
		{300 * mib, target, 100}, // live heap above the target
		{10 * mib, target, 1000}, // capped
		{0, target, 1000},        // nothing measured yet
		{64 * mib, Options{Target: 256 * mib, MaxPercent: 200}, 200},
		{64 * mib, Options{Target: 256 * mib, MinPercent: 400}, 400},
		{10 * mib, Options{Target: 256 * mib, MinPercent: 50, MaxPercent: 60}, 60},
	} {
		if got := Percent(c.live, c.opts); got != c.want {
			t.Errorf("Percent(%d MiB, %+v) = %d, want %d", c.live/mib, c.opts, got, c.want)
		}
	}
}

// TestTunerFollowsCollections checks that the tuner sets GOGC after a
// collection from the live heap it measured, and that Stop restores the
// previous setting.
func TestTunerFollowsCollections(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	// ~64 MiB live against a 256 MiB target: GOGC about 300, between the
	// bounds.
	ballast := make([]*[1 << 20]byte, 64)
	for i := range ballast {
		ballast[i] = new([1 << 20]byte)
	}
	tu := Start(Options{Target: 256 << 20})
	defer tu.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the finalizer runs on its own goroutine
		if p := tu.Percent(); p > 100 && p < 400 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d after collections with ~64 MiB live and a 256 MiB target, want about 300", tu.Percent())
		}
	}
	// The runtime has the tuner's value (setting it again changes nothing;
	// a collection finishing meanwhile may retune it, hence the retries).
	for attempt := 0; ; attempt++ {
		p := tu.Percent()
		got := debug.SetGCPercent(p)
		if got == p {
			break
		}
		if attempt == 10 {
			t.Fatalf("runtime GOGC %d, tuner says %d", got, p)
		}
	}
	runtime.KeepAlive(ballast)

	// With the ballast gone the live heap is small: GOGC rises to the cap.
	ballast = nil
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if tu.Percent() == 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d once the live heap is small, want 1000", tu.Percent())
		}
	}

	tu.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after Stop GOGC is %d, want the 100 in force before Start", got)
	}
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("a collection after Stop changed GOGC to %d", got)
	}
}

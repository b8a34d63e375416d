package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// The layout of proc(5): user nice system idle iowait irq softirq steal guest guest_nice.
	const stat = "cpu  1000 50 300 8000 200 10 40 0 100 0\ncpu0 500 25 150 4000 100 5 20 0 50 0\nintr 12345\n"
	busy, total, err := parseProcStat(strings.NewReader(stat))
	if err != nil {
		t.Fatal(err)
	}
	// Guest time is part of user already, so it is not added again.
	if want := (1000 + 50 + 300 + 10 + 40) / 100.0; busy != want {
		t.Errorf("busy = %v, want %v", busy, want)
	}
	if want := (1000 + 50 + 300 + 8000 + 200 + 10 + 40) / 100.0; total != want {
		t.Errorf("total = %v, want %v", total, want)
	}
}

func TestParseProcStatRefusesGarbage(t *testing.T) {
	for _, in := range []string{"", "intr 1 2 3\n", "cpu 1 2 x 4 5\n"} {
		if _, _, err := parseProcStat(strings.NewReader(in)); err == nil {
			t.Errorf("parseProcStat(%q): no error", in)
		}
	}
}

func TestConditionsSubtractsServerAndLoadgen(t *testing.T) {
	t0 := time.Unix(1000, 0)
	before := hostSample{at: t0, busy: 100, total: 1000, self: 1, ok: true}
	// 10 s in which the machine was busy 15 CPU-seconds: 2 the load
	// generator's, 5 the server's, so others used 0.8 of a core.
	after := hostSample{at: t0.Add(10 * time.Second), busy: 115, total: 1020, self: 3, ok: true}
	got := conditions(before, after, 5)
	for _, want := range []string{"wall_seconds=10.0", "loadgen_cpu_seconds=2.00", "server_cores=0.50", "machine_busy_cores=1.50", "other_cores=0.80"} {
		if !strings.Contains(got, want) {
			t.Errorf("conditions = %q, missing %q", got, want)
		}
	}
}

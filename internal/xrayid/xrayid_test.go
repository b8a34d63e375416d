package xrayid

import (
	"testing"
	"time"
)

func TestParseTraceID(t *testing.T) {
	ok := func(s string) {
		t.Helper()
		id, err := ParseTraceID(s)
		if err != nil {
			t.Fatalf("ParseTraceID(%q): %v", s, err)
		}
		if got := id.String(); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	}
	bad := func(s string) {
		t.Helper()
		if _, err := ParseTraceID(s); err == nil {
			t.Fatalf("ParseTraceID(%q) accepted a bad ID", s)
		}
	}
	ok("1-581cf771-a006649127e371903a2de979")
	ok("1-00000000-000000000000000000000000")
	ok("1-ffffffff-ffffffffffffffffffffffff")
	bad("")
	bad("1-581cf771-a006649127e371903a2de97")   // short
	bad("1-581cf771-a006649127e371903a2de9790") // long
	bad("2-581cf771-a006649127e371903a2de979")  // version
	bad("1_581cf771-a006649127e371903a2de979")
	bad("1-581cf771_a006649127e371903a2de979")
	bad("1-581CF771-a006649127e371903a2de979") // upper case
	bad("1-581cf77g-a006649127e371903a2de979")
	if e := MustParseTraceID("1-581cf771-a006649127e371903a2de979").Epoch(); e != 0x581cf771 {
		t.Fatalf("epoch %x", e)
	}
}

func TestParseSegmentID(t *testing.T) {
	id, err := ParseSegmentID("70de5b6f19ff9a0a")
	if err != nil || id.String() != "70de5b6f19ff9a0a" {
		t.Fatalf("got %v %v", id, err)
	}
	for _, s := range []string{"", "70de5b6f19ff9a0", "70de5b6f19ff9a0aa", "70DE5B6F19FF9A0A", "0000000000000000", "70de5b6f19ff9a0g"} {
		if _, err := ParseSegmentID(s); err == nil {
			t.Fatalf("ParseSegmentID(%q) accepted", s)
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a, b := NewGenerator(7), NewGenerator(7)
	for range 100 {
		if a.TraceID(now) != b.TraceID(now) || a.SegmentID() != b.SegmentID() {
			t.Fatal("same seed, different IDs")
		}
	}
	if id := a.TraceID(now); id.Epoch() != 1700000000 {
		t.Fatalf("epoch %d", id.Epoch())
	}
}

func BenchmarkParseTraceID(b *testing.B) {
	s := []byte("1-581cf771-a006649127e371903a2de979")
	for b.Loop() {
		if _, err := ParseTraceID(s); err != nil {
			b.Fatal(err)
		}
	}
}

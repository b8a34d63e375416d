package main

import "testing"

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "536870912": 512 << 20, "512MiB": 512 << 20, "1GiB": 1 << 30, " 64 KiB ": 64 << 10, "100B": 100, "2TiB": 2 << 40,
	} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, int64(b), err, want)
		}
	}
	for _, in := range []string{"", "-1", "1GB", "1.5GiB", "MiB", "99999999999TiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, int64(b))
		}
	}
	for in, want := range map[int64]string{0: "0", 512 << 20: "512MiB", 1 << 30: "1GiB", 1000: "1000", 3 << 10: "3KiB"} {
		b := byteSize(in)
		if got := b.String(); got != want {
			t.Errorf("String(%d) = %q, want %q", in, got, want)
		}
	}
}

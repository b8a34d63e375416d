package pebblestore

import (
	"bytes"
	"testing"
)

func TestUpperBound(t *testing.T) {
	f := func(prefix, want []byte) {
		t.Helper()
		if got := upperBound(prefix); !bytes.Equal(got, want) {
			t.Fatalf("upperBound(%x) = %x, want %x", prefix, got, want)
		}
	}
	f([]byte("t"), []byte("u"))
	f([]byte{'t', 1, 2}, []byte{'t', 1, 3})
	f([]byte{'t', 1, 0xff}, []byte{'t', 2})
	f([]byte{'t', 0xff, 0xff}, []byte{'u'})
	f([]byte{0xff}, nil)
}

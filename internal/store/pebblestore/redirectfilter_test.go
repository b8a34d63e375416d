package pebblestore

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

func filterID(i uint64) xrayid.TraceID {
	var id xrayid.TraceID
	binary.BigEndian.PutUint64(id[:8], i*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(id[8:], i)
	return id
}

// TestRedirectFilter: an added ID is always a "maybe"; IDs never added are
// nearly always a "no"; past its limit the filter answers "maybe" to all.
func TestRedirectFilter(t *testing.T) {
	f := newRedirectFilter(10_000)
	for i := range uint64(5000) {
		f.add(filterID(i))
	}
	for i := range uint64(5000) {
		if !f.mayContain(filterID(i)) {
			t.Fatalf("ID %d was added but the filter says no", i)
		}
	}
	maybes := 0
	for i := uint64(5000); i < 105_000; i++ {
		if f.mayContain(filterID(i)) {
			maybes++
		}
	}
	// 5,000 IDs in 16 Mbit with 4 probes: ~1e-11 false "maybe"s expected.
	if maybes > 10 {
		t.Errorf("%d of 100,000 IDs never added are a maybe", maybes)
	}

	small := newRedirectFilter(3)
	for i := range uint64(4) {
		small.add(filterID(i))
	}
	if !small.mayContain(filterID(1_000_000)) {
		t.Error("a filter past its limit still says no")
	}
}

// TestRedirectFilterAcrossReopen: redirects written before a reopen are in
// the rebuilt filter, so a redirected trace is found and placed where it was.
func TestRedirectFilterAcrossReopen(t *testing.T) {
	s := openTest(t, Options{NoSync: true, RedirectCacheSize: -1})
	now := time.Now()
	odd := traceAt(time.Unix(0, 0), 7) // an epoch no arrival makes plausible
	mustWrite(t, s, rec(odd, 1, now))
	s = reopenTest(t, s)
	if !s.rfilter.mayContain(odd) {
		t.Fatal("the reopened store's filter lost a redirect")
	}
	sec, found, err := s.redirectOf(odd)
	if err != nil || !found || int64(sec) > now.Unix() || int64(sec) < now.Unix()-60 {
		t.Fatalf("redirect of %s after reopen: %d, %v, %v; want the first arrival second %d", odd, sec, found, err, now.Unix())
	}
	// A later batch goes to the same placement: no second redirect.
	mustWrite(t, s, rec(odd, 2, now.Add(time.Minute)))
	if n := keysByPrefix(t, s); n[prefixRedirect] != 1 || n[prefixTrace] != 2 {
		t.Fatalf("after a batch past the reopen: %d redirects, %d index keys; want 1 and 2", n[prefixRedirect], n[prefixTrace])
	}
}

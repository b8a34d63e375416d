package pebblestore

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// redirectFilter answers "might trace id have a redirect key?" without a
// disk read: a Bloom filter, kept in memory, of every trace ID that has one
// or is about to (placement adds an ID before the Write that stores its
// redirect commits). "No" is certain, so a brand-new trace whose ID epoch is
// implausible — every OpenTelemetry trace with a random W3C ID — is placed,
// and its summary looked up, without the two Pebble lookups that otherwise
// found nothing (about 6% of the server's CPU under OTLP load, measured in
// docs/benchmarks.md). "Maybe" costs the read, as before.
//
// It is built on Open from the redirect keys and only grows: redirects that
// retention deletes stay as false "maybe"s until the next Open, and it stays
// right across the reopen after a failed write (the keys on disk are then
// a subset of those it has seen). Past
// redirectFilterMaxKeys it turns itself off and answers "maybe" to everything.
// Safe for concurrent use.
type redirectFilter struct {
	bits []atomic.Uint64
	keys atomic.Int64
	max  int64
	seed maphash.Seed
	off  atomic.Bool
}

const (
	// redirectFilterBits (2 MiB) with 4 probes gives about 2% false
	// "maybe"s at redirectFilterMaxKeys IDs, far fewer below.
	redirectFilterBits    = 1 << 24
	redirectFilterProbes  = 4
	redirectFilterMaxKeys = 2_000_000
)

func newRedirectFilter(maxKeys int64) *redirectFilter {
	return &redirectFilter{bits: make([]atomic.Uint64, redirectFilterBits/64), max: maxKeys, seed: maphash.MakeSeed()}
}

func (f *redirectFilter) probes(id xrayid.TraceID) (h1, h2 uint32) {
	h := maphash.Bytes(f.seed, id[:])
	return uint32(h), uint32(h>>32) | 1
}

// add records that id has (or is about to have) a redirect key.
func (f *redirectFilter) add(id xrayid.TraceID) {
	if f.off.Load() {
		return
	}
	if f.keys.Add(1) > f.max {
		f.off.Store(true)
		return
	}
	h1, h2 := f.probes(id)
	for i := range uint32(redirectFilterProbes) {
		b := (h1 + i*h2) % redirectFilterBits
		f.bits[b/64].Or(1 << (b % 64))
	}
}

// mayContain reports whether id may have a redirect key; false is certain.
func (f *redirectFilter) mayContain(id xrayid.TraceID) bool {
	if f.off.Load() {
		return true
	}
	h1, h2 := f.probes(id)
	for i := range uint32(redirectFilterProbes) {
		b := (h1 + i*h2) % redirectFilterBits
		if f.bits[b/64].Load()&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// loadRedirectFilter builds s.rfilter from the redirect keys on disk. It
// runs in Open, before the store serves anything.
func (s *Store) loadRedirectFilter() error {
	f := newRedirectFilter(redirectFilterMaxKeys)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixRedirect}, UpperBound: []byte{prefixRedirect + 1}})
	if err != nil {
		return fmt.Errorf("read redirects: %w", err)
	}
	for ok := it.First(); ok && !f.off.Load(); ok = it.Next() {
		if k := it.Key(); len(k) == redirectKeyLen {
			f.add(xrayid.TraceID(k[1:]))
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("read redirects: %w", err)
	}
	s.rfilter = f
	return nil
}

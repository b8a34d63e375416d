package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/counterspy/counterspy/internal/store"
)

// metaModel is what the suite expects of the MetaStore.
type metaModel map[string][]byte

func getMeta(t *testing.T, s store.Store, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := s.GetMeta(context.Background(), key)
	if err != nil {
		t.Fatalf("GetMeta(%q): %v", key, err)
	}
	return v, ok
}

func putMeta(t *testing.T, s store.Store, m metaModel, key string, value []byte) {
	t.Helper()
	if err := s.PutMeta(context.Background(), key, value); err != nil {
		t.Fatalf("PutMeta(%q): %v", key, err)
	}
	m[key] = bytes.Clone(value)
}

func deleteMeta(t *testing.T, s store.Store, m metaModel, key string) {
	t.Helper()
	if err := s.DeleteMeta(context.Background(), key); err != nil {
		t.Fatalf("DeleteMeta(%q): %v", key, err)
	}
	delete(m, key)
}

func listMeta(t *testing.T, s store.Store, prefix string) []store.MetaEntry {
	t.Helper()
	var out []store.MetaEntry
	for e, err := range s.ListMeta(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("ListMeta(%q): %v", prefix, err)
		}
		out = append(out, e)
	}
	return out
}

// check compares every key of the model, a few absent ones, and listings
// by prefix, with the store.
func (m metaModel) check(t *testing.T, s store.Store, prefixes ...string) {
	t.Helper()
	for k, want := range m {
		got, ok := getMeta(t, s, k)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("GetMeta(%q) = %q, %v; want %q", k, got, ok, want)
		}
	}
	for _, k := range []string{"absent", "a/absent", "\x00"} {
		if _, ok := m[k]; ok {
			continue
		}
		if got, ok := getMeta(t, s, k); ok {
			t.Fatalf("GetMeta(%q) = %q for a key never written", k, got)
		}
	}
	for _, p := range append([]string{""}, prefixes...) {
		var want []store.MetaEntry
		for k, v := range m {
			if len(k) >= len(p) && k[:len(p)] == p {
				want = append(want, store.MetaEntry{Key: k, Value: v})
			}
		}
		slices.SortFunc(want, func(a, b store.MetaEntry) int { return bytes.Compare([]byte(a.Key), []byte(b.Key)) })
		got := listMeta(t, s, p)
		same := len(got) == len(want)
		for i := 0; same && i < len(got); i++ {
			same = got[i].Key == want[i].Key && bytes.Equal(got[i].Value, want[i].Value)
		}
		if !same {
			t.Fatalf("ListMeta(%q):\n got %q\nwant %q", p, got, want)
		}
	}
}

// metaKeys are keys that are prefixes of each other, empty, binary, or
// look like names a backend might use for itself.
var metaKeys = []string{"", "a", "a/", "a/b", "a/c", "a0", "b", "\x00", "\xff", "\xff\xff", "format", "seq", "group/Default", "group/web"}

var metaPrefixes = []string{"a", "a/", "a/b", "\xff", "group/", "zz", "\x00"}

// testMeta writes, replaces, deletes and lists values.
func testMeta(t *testing.T, h *harness) {
	s := h.open(t)
	m := metaModel{}
	m.check(t, s, metaPrefixes...)
	for i, k := range metaKeys {
		putMeta(t, s, m, k, []byte{byte(i), 0, 0xff, 'v'})
	}
	m.check(t, s, metaPrefixes...)

	// Replace, an empty value, a larger one.
	putMeta(t, s, m, "a/b", []byte("replaced"))
	putMeta(t, s, m, "b", []byte{})
	putMeta(t, s, m, "a", bytes.Repeat([]byte("x"), 100_000))
	m.check(t, s, metaPrefixes...)

	// Delete, twice, and a key never written.
	deleteMeta(t, s, m, "a/")
	deleteMeta(t, s, m, "a/")
	deleteMeta(t, s, m, "never written")
	deleteMeta(t, s, m, "")
	m.check(t, s, metaPrefixes...)

	// The store keeps no reference to values, and hands out copies.
	v := []byte("mine")
	putMeta(t, s, m, "group/web", v)
	v[0] = 'X'
	got, _ := getMeta(t, s, "group/web")
	got[0] = 'Y'
	for _, e := range listMeta(t, s, "group/") {
		e.Value[0] = 'Z'
	}
	m.check(t, s, metaPrefixes...)

	// Early break.
	for range 3 {
		for _, err := range s.ListMeta(context.Background(), "") {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	m.check(t, s)
}

// testMetaDurable checks that values survive a reopen and outlive
// retention, and that writes of other kinds leave them alone.
func testMetaDurable(t *testing.T, h *harness) {
	s := h.open(t)
	m := metaModel{}
	for i, k := range metaKeys {
		putMeta(t, s, m, k, []byte{byte(i)})
	}
	deleteMeta(t, s, m, "a/c")
	base := now()
	write(t, s, nil, &store.Batch{Records: []store.Record{record(traceID(sec(base), 1), 1, base.UnixNano(), "")}})
	dropBefore(t, s, base.Add(2*day))
	m.check(t, s, metaPrefixes...)
	if h.reopen == nil {
		return
	}
	s = h.reopen(t, s)
	m.check(t, s, metaPrefixes...)
	putMeta(t, s, m, "a/c", []byte("again"))
	deleteMeta(t, s, m, "format")
	s = h.reopen(t, s)
	m.check(t, s, metaPrefixes...)
}

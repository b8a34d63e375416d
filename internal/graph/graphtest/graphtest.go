// Package graphtest adds the service-graph counters and the metadata
// store to a store.Store that lacks them, in memory, for tests of the
// packages above the store (until every backend implements them, and for
// cross-checking a backend that does).
package graphtest

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/counterspy/counterspy/internal/store"
)

// Store is a store.Store whose graph counters and metadata live in memory.
// Write applies Batch.Graph to the counters after the wrapped store wrote
// the rest; everything else goes to the wrapped store.
type Store struct {
	store.Store

	mu    sync.Mutex
	graph map[rowKey][]store.Counter // ascending indexes, no zeros
	meta  map[string][]byte
}

type rowKey struct {
	group  string
	minute int64
	key    string
}

// Wrap returns st with in-memory graph counters and metadata.
func Wrap(st store.Store) *Store {
	return &Store{Store: st, graph: map[rowKey][]store.Counter{}, meta: map[string][]byte{}}
}

// Write writes b to the wrapped store, then adds its graph deltas.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if err := s.Store.Write(ctx, b); err != nil {
		return err
	}
	s.Apply(b.Graph)
	return nil
}

// Apply adds deltas to the counters.
func (s *Store) Apply(ds []store.GraphDelta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		k := rowKey{d.Group, d.Minute, d.Key}
		vs := slices.Clone(d.Values)
		slices.SortStableFunc(vs, func(a, b store.Counter) int { return cmp.Compare(a.Index, b.Index) })
		s.graph[k] = add(s.graph[k], vs)
	}
}

// add returns the element-wise sum of two sparse vectors with ascending
// indexes (b may repeat an index), without zeros.
func add(a, b []store.Counter) []store.Counter {
	out := make([]store.Counter, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c store.Counter
		switch {
		case j == len(b) || i < len(a) && a[i].Index < b[j].Index:
			c = a[i]
			i++
		case i == len(a) || b[j].Index < a[i].Index:
			c = b[j]
			j++
		default:
			c = store.Counter{Index: a[i].Index, Value: a[i].Value + b[j].Value}
			i++
			j++
		}
		if n := len(out); n > 0 && out[n-1].Index == c.Index {
			out[n-1].Value += c.Value
		} else {
			out = append(out, c)
		}
	}
	return slices.DeleteFunc(out, func(c store.Counter) bool { return c.Value == 0 })
}

// GraphCounters implements store.GraphReader.
func (s *Store) GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[store.GraphRow, error] {
	return func(yield func(store.GraphRow, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(store.GraphRow{}, err)
			return
		}
		s.mu.Lock()
		var rows []store.GraphRow
		for k, vs := range s.graph {
			if k.group != group || k.minute < fromMinute || k.minute >= toMinute || len(vs) == 0 {
				continue
			}
			rows = append(rows, store.GraphRow{Minute: k.minute, Key: k.key, Values: slices.Clone(vs)})
		}
		s.mu.Unlock()
		slices.SortFunc(rows, func(a, b store.GraphRow) int {
			return cmp.Or(cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Key, b.Key))
		})
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// GetMeta implements store.MetaStore.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.meta[key]
	return slices.Clone(v), ok, nil
}

// PutMeta implements store.MetaStore.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[key] = slices.Clone(value)
	return nil
}

// DeleteMeta implements store.MetaStore.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.meta, key)
	return nil
}

// ListMeta implements store.MetaStore.
func (s *Store) ListMeta(ctx context.Context, prefix string) iter.Seq2[store.MetaEntry, error] {
	return func(yield func(store.MetaEntry, error) bool) {
		s.mu.Lock()
		var out []store.MetaEntry
		for k, v := range s.meta {
			if strings.HasPrefix(k, prefix) {
				out = append(out, store.MetaEntry{Key: k, Value: slices.Clone(v)})
			}
		}
		s.mu.Unlock()
		slices.SortFunc(out, func(a, b store.MetaEntry) int { return cmp.Compare(a.Key, b.Key) })
		for _, e := range out {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Meta returns a copy of the metadata, to carry it across a "restart"
// (a new Store over a reopened backend).
func (s *Store) Meta() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.meta))
	for k, v := range s.meta {
		out[k] = slices.Clone(v)
	}
	return out
}

// SetMeta replaces the metadata (see Meta).
func (s *Store) SetMeta(m map[string][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta = make(map[string][]byte, len(m))
	for k, v := range m {
		s.meta[k] = slices.Clone(v)
	}
}

var (
	_ store.GraphReader = (*Store)(nil)
	_ store.MetaStore   = (*Store)(nil)
)

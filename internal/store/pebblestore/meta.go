package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
)

// maxMetaSize bounds a MetaStore value: they are small configuration
// values, read whole.
const maxMetaSize = 4 << 20

// GetMeta implements store.MetaStore. The value is a copy.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if err := s.begin(); err != nil {
		return nil, false, err
	}
	defer s.end()
	v, closer, err := s.db.Get(userMetaKey(nil, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read metadata %q: %w", key, err)
	}
	defer closer.Close()
	return append(make([]byte, 0, len(v)), v...), true, nil
}

// PutMeta implements store.MetaStore: the value is synced to disk before it
// returns, unless Options.NoSync.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(value) > maxMetaSize {
		return fmt.Errorf("write metadata %q: %d-byte value exceeds the %d-byte limit", key, len(value), maxMetaSize)
	}
	if err := s.tryRecover(); err != nil {
		return fmt.Errorf("write metadata %q: %w", key, err)
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.checkSpace(len(key) + len(value)); err != nil {
		return fmt.Errorf("write metadata %q: %w", key, err)
	}
	if err := s.set(userMetaKey(nil, key), value); err != nil {
		return fmt.Errorf("write metadata %q: %w", key, err)
	}
	return nil
}

// DeleteMeta implements store.MetaStore, durably like PutMeta. Deleting a
// key that does not exist is not an error.
func (s *Store) DeleteMeta(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(userMetaKey(nil, key), nil); err != nil {
		return fmt.Errorf("delete metadata %q: %w", key, err)
	}
	if err := s.commitBatch(b, s.wopts); err != nil {
		return fmt.Errorf("delete metadata %q: %w", key, err)
	}
	return nil
}

// ListMeta implements store.MetaStore. Entries are copies.
func (s *Store) ListMeta(ctx context.Context, prefix string) iter.Seq2[store.MetaEntry, error] {
	return func(yield func(store.MetaEntry, error) bool) {
		lower := userMetaKey(nil, prefix)
		err := s.iterate(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upperBound(lower)},
			func(it *pebble.Iterator, step func() error) error {
				for ok := it.First(); ok; ok = it.Next() {
					if err := step(); err != nil {
						return err
					}
					k := it.Key()
					if !bytes.HasPrefix(k, lower) { // cannot happen with these bounds
						return fmt.Errorf("%w: metadata key %x", errCorrupt, k)
					}
					v, err := it.ValueAndErr()
					if err != nil {
						return fmt.Errorf("metadata key %x: %w", k, err)
					}
					e := store.MetaEntry{Key: string(k[2:]), Value: append(make([]byte, 0, len(v)), v...)}
					if !yield(e, nil) {
						return errStop
					}
				}
				return it.Error()
			})
		switch {
		case err == nil || errors.Is(err, errStop):
		case errors.Is(err, ctx.Err()) || errors.Is(err, store.ErrClosed):
			yield(store.MetaEntry{}, err)
		default:
			yield(store.MetaEntry{}, s.readErr(fmt.Errorf("list metadata with prefix %q: %w", prefix, err)))
		}
	}
}

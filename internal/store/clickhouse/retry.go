package clickhouse

import (
	"context"
	"errors"
	"sync"
)

// A Write is one insert per table, and a failed Write may have stored some
// of them (the backend is not store.Atomic). The store contract then asks
// that a retry of the same Batch.ID store each part once: retries remembers,
// per batch ID, the tables whose insert succeeded, and a retry skips them.
// The memory is the process's (the ingest pipeline retries in-process); an
// insert that the server stored but whose acknowledgement was lost is not
// known to have succeeded and is sent again.
type retries struct {
	mu    sync.Mutex
	done  map[uint64]map[string]bool // batch ID → tables stored
	order []uint64                   // IDs in done, oldest first
	// fail, if set, is the table whose next insert fails (a test hook).
	fail string
}

// maxRemembered bounds the failed batches remembered: the pipeline retries
// one batch at a time; beyond the bound the oldest go.
const maxRemembered = 64

type batchKey struct{}

// withBatch marks ctx as the context of the Write of batch id (0: a batch
// that is never retried).
func withBatch(ctx context.Context, id uint64) context.Context {
	if id == 0 {
		return ctx
	}
	return context.WithValue(ctx, batchKey{}, id)
}

func batchOf(ctx context.Context) uint64 {
	id, _ := ctx.Value(batchKey{}).(uint64)
	return id
}

// stored reports whether an earlier Write of ctx's batch stored its rows
// of table.
func (r *retries) stored(ctx context.Context, table string) bool {
	id := batchOf(ctx)
	if id == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[id][table]
}

// errInjected is the error of the test hook's failed insert.
var errInjected = errors.New("injected insert failure")

// injected returns errInjected once for the table the hook names.
func (r *retries) injected(table string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != "" && r.fail == table {
		r.fail = ""
		return errInjected
	}
	return nil
}

// insertDone records that ctx's batch stored its rows of table.
func (r *retries) insertDone(ctx context.Context, table string) {
	id := batchOf(ctx)
	if id == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = map[uint64]map[string]bool{}
	}
	if r.done[id] == nil {
		r.done[id] = map[string]bool{}
		r.order = append(r.order, id)
		if len(r.order) > maxRemembered {
			delete(r.done, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.done[id][table] = true
}

// finished forgets ctx's batch once its Write succeeded.
func (r *retries) finished(ctx context.Context) {
	id := batchOf(ctx)
	if id == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.done[id]; !ok {
		return
	}
	delete(r.done, id)
	for i, x := range r.order {
		if x == id {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
}

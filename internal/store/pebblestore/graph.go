package pebblestore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
)

// A graph value is a sparse counter vector: a codec byte, then per counter,
// in ascending index order,
//
//	uvarint (index − previous index) << 1 | float
//	float = 0: zigzag varint of the value, a whole number of magnitude ≤ 2^53
//	float = 1: the value's float64 bits, 8 bytes little-endian
//
// (the first counter's previous index is 0). Counters are whole numbers
// (counts, microseconds), so nearly all take the varint form: 2–4 bytes
// instead of 9, exact like the float64 they stand for. Zero counters are
// left out. Write operands and merged values have the same form.
const graphCodec byte = 1

// maxExactInt is the largest magnitude below which every whole float64 is
// exact, and that the varint form carries.
const maxExactInt = 1 << 53

// appendCounters encodes a vector, ascending by index, skipping zeros.
func appendCounters(dst []byte, cs []store.Counter) []byte {
	dst = append(dst, graphCodec)
	prev := uint64(0)
	for _, c := range cs {
		if c.Value == 0 {
			continue
		}
		delta := uint64(c.Index) - prev
		prev = uint64(c.Index)
		if v := c.Value; v == math.Trunc(v) && math.Abs(v) <= maxExactInt {
			dst = binary.AppendUvarint(dst, delta<<1)
			dst = binary.AppendVarint(dst, int64(v))
		} else {
			dst = binary.AppendUvarint(dst, delta<<1|1)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	}
	return dst
}

// decodeCounters appends the counters of a graph value to dst, leaving out
// zeros. It fails on anything appendCounters cannot have written.
func decodeCounters(dst []store.Counter, v []byte) ([]store.Counter, error) {
	if len(v) == 0 || v[0] != graphCodec {
		if len(v) == 0 {
			return dst, fmt.Errorf("%w: empty graph value", errCorrupt)
		}
		return dst, fmt.Errorf("%w: unknown graph codec %d (written by a newer version?)", errCorrupt, v[0])
	}
	v = v[1:]
	index := uint64(0)
	for first := true; len(v) > 0; first = false {
		// Most headers and values take one byte: decode those inline.
		h, n := uint64(v[0]), 1
		if h >= 0x80 {
			if h, n = binary.Uvarint(v); n <= 0 {
				return dst, fmt.Errorf("%w: bad graph counter header", errCorrupt)
			}
		}
		v = v[n:]
		delta := h >> 1
		if delta == 0 && !first || delta > math.MaxUint32 || index+delta > math.MaxUint32 {
			return dst, fmt.Errorf("%w: graph counter indexes out of order", errCorrupt)
		}
		index += delta
		var x float64
		switch {
		case h&1 != 0:
			if len(v) < 8 {
				return dst, fmt.Errorf("%w: truncated graph counter value", errCorrupt)
			}
			x = math.Float64frombits(binary.LittleEndian.Uint64(v))
			v = v[8:]
		case len(v) > 0 && v[0] < 0x80:
			x = float64(int64(v[0]>>1) ^ -int64(v[0]&1))
			v = v[1:]
		default:
			i, n := binary.Varint(v)
			if n <= 0 || i > maxExactInt || i < -maxExactInt {
				return dst, fmt.Errorf("%w: bad graph counter value", errCorrupt)
			}
			v, x = v[n:], float64(i)
		}
		if x != 0 {
			dst = append(dst, store.Counter{Index: uint32(index), Value: x})
		}
	}
	return dst, nil
}

// addCounters appends the element-wise sum of two vectors, each ascending
// by index without repeats, to dst, leaving out zeros.
func addCounters(dst, a, b []store.Counter) []store.Counter {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].Index < b[j].Index:
			dst = append(dst, a[i])
			i++
		case b[j].Index < a[i].Index:
			dst = append(dst, b[j])
			j++
		default:
			if v := a[i].Value + b[j].Value; v != 0 {
				dst = append(dst, store.Counter{Index: a[i].Index, Value: v})
			}
			i++
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// graphMerger sums the operands of a graph key. A key whose counters sum to
// zero everywhere keeps an empty vector, which reads skip. (Pebble's
// DeletableValueMerger would drop such keys, but Pebble 2.1.7's compaction
// iterator panics on deletions produced by a merge: "compaction iterator
// has skip=true, but iterator is at iterPosNext".)
//
// Compaction leaves a key with a lone operand as it is, so most reads merge
// one operand: that one is passed through as written, without decoding.
// Mergers are pooled: the value Finish returns is theirs until Pebble
// closes them.
type graphMerger struct {
	first          []byte // a copy of the first operand, until a second comes
	n              int    // operands
	sum, op, spare []store.Counter
	out            []byte
}

var graphMergers = sync.Pool{New: func() any { return new(graphMerger) }}

func newGraphMerger() *graphMerger {
	m := graphMergers.Get().(*graphMerger)
	m.n, m.sum = 0, m.sum[:0]
	return m
}

func (m *graphMerger) MergeNewer(v []byte) error {
	switch m.n++; m.n {
	case 1:
		m.first = append(m.first[:0], v...)
		return nil
	case 2:
		m.add(m.first)
	}
	m.add(v)
	return nil
}

func (m *graphMerger) MergeOlder(v []byte) error { return m.MergeNewer(v) }

// add adds an operand to the sum. A malformed operand counts as zero, for
// the reason countValueMerger gives (a lone one is passed through, and
// reads report it).
func (m *graphMerger) add(v []byte) {
	op, err := decodeCounters(m.op[:0], v)
	m.op = op
	if err != nil {
		return
	}
	m.spare = addCounters(m.spare[:0], m.sum, op)
	m.sum, m.spare = m.spare, m.sum
}

// Finish returns the sum (an empty vector if the counters cancelled out).
func (m *graphMerger) Finish(bool) ([]byte, io.Closer, error) {
	if m.n == 1 {
		return m.first, m, nil
	}
	m.out = appendCounters(m.out[:0], m.sum)
	return m.out, m, nil
}

// Close hands the merger back to the pool once Pebble is done with the
// value Finish returned.
func (m *graphMerger) Close() error {
	if cap(m.first) <= 64<<10 && cap(m.out) <= 64<<10 {
		graphMergers.Put(m)
	}
	return nil
}

var _ pebble.ValueMerger = (*graphMerger)(nil)

// checkGraph validates a batch's graph deltas.
func checkGraph(ds []store.GraphDelta) error {
	for i := range ds {
		d := &ds[i]
		for _, c := range d.Values {
			if c.Value-c.Value != 0 { // NaN or ±Inf
				return fmt.Errorf("graph delta %d (group %q, minute %d, key %q): counter %d is %v, not a finite number",
					i, d.Group, d.Minute, d.Key, c.Index, c.Value)
			}
		}
	}
	return nil
}

// graphCell names the counters of one key in one minute of one group.
type graphCell struct {
	minute     int64
	group, key string
}

// graphSum is the sum of a batch's deltas for one cell.
type graphSum struct {
	d   *store.GraphDelta // the first delta of the cell
	sum []store.Counter
}

// putGraph adds a batch's graph deltas: one merge operand per (group,
// minute, key), the sum of the batch's deltas for it. Sums that come to
// zero are not written. Each delta's values are merged into its cell's sum
// as sorted lists (the contract says they are sorted; those that are not
// are sorted first).
func (p *writePlan) putGraph(batch *pebble.Batch, ds []store.GraphDelta) error {
	if p.cells == nil {
		p.cells = map[graphCell]int{}
	}
	n := 0
	for i := range ds {
		d := &ds[i]
		if len(d.Values) == 0 {
			continue
		}
		vs := d.Values
		if !ascending(vs) {
			p.counters = sumCounters(append(p.counters[:0], vs...))
			vs = p.counters
		}
		c := graphCell{d.Minute, d.Group, d.Key}
		j, ok := p.cells[c]
		if !ok {
			j = n
			p.cells[c] = j
			if n++; n > len(p.graphSums) {
				p.graphSums = append(p.graphSums, graphSum{})
			}
			p.graphSums[j] = graphSum{d: d, sum: append(p.graphSums[j].sum[:0], vs...)}
			continue
		}
		p.spare = addCounters(p.spare[:0], p.graphSums[j].sum, vs)
		p.graphSums[j].sum, p.spare = p.spare, p.graphSums[j].sum
	}
	for j := range p.graphSums[:n] {
		g := &p.graphSums[j]
		if len(g.sum) == 0 { // appendCounters leaves zeros out
			continue
		}
		p.val = appendCounters(p.val[:0], g.sum)
		if len(p.val) == 1 {
			continue // every counter sums to zero
		}
		p.key = append(graphPrefix(p.key[:0], g.d.Minute, g.d.Group), g.d.Key...)
		if err := batch.Merge(p.key, p.val, nil); err != nil {
			return err
		}
	}
	return nil
}

// ascending reports whether the indexes of cs are strictly ascending.
func ascending(cs []store.Counter) bool {
	for i := 1; i < len(cs); i++ {
		if cs[i].Index <= cs[i-1].Index {
			return false
		}
	}
	return true
}

// sumCounters sorts cs by index and sums repeated indexes, in place.
func sumCounters(cs []store.Counter) []store.Counter {
	slices.SortStableFunc(cs, func(a, b store.Counter) int { return cmp.Compare(a.Index, b.Index) })
	out := cs[:0]
	for _, c := range cs {
		if n := len(out); n > 0 && out[n-1].Index == c.Index {
			out[n-1].Value += c.Value
		} else {
			out = append(out, c)
		}
	}
	return out
}

// GraphCounters implements store.GraphReader. The keys of one minute are
// ordered by group, then counter key; the scan seeks to the group in each
// minute that has counters (the key after a group's run names the next
// such minute), so its cost is the rows read plus one or two seeks per
// minute, whatever the other groups hold. A row's Values are valid until
// the iteration continues; its Key is a string of its own.
func (s *Store) GraphCounters(ctx context.Context, group string, fromMinute, toMinute int64) iter.Seq2[store.GraphRow, error] {
	return func(yield func(store.GraphRow, error) bool) {
		o := &pebble.IterOptions{LowerBound: graphMinuteKey(fromMinute), UpperBound: graphMinuteKey(toMinute)}
		if toMinute <= fromMinute {
			o = nil // nothing to read, but a closed store still says so
		}
		err := s.iterate(ctx, o, func(it *pebble.Iterator, step func() error) error {
			return graphScan(it, step, group, fromMinute, toMinute, yield)
		})
		switch {
		case err == nil || errors.Is(err, errStop):
		case errors.Is(err, ctx.Err()) || errors.Is(err, store.ErrClosed):
			yield(store.GraphRow{}, err)
		default:
			yield(store.GraphRow{}, s.readErr(fmt.Errorf("graph counters of group %q in minutes [%d, %d): %w", group, fromMinute, toMinute, err)))
		}
	}
}

func graphScan(it *pebble.Iterator, step func() error, group string, from, to int64, yield func(store.GraphRow, error) bool) error {
	if it == nil {
		return nil
	}
	var prefix []byte
	var values []store.Counter
	keys := map[string]string{} // counter keys repeat from minute to minute
	for m := from; m < to; {
		if err := step(); err != nil {
			return err
		}
		prefix = graphPrefix(prefix[:0], m, group)
		valid := it.SeekGE(prefix)
		for ; valid && bytes.HasPrefix(it.Key(), prefix); valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return fmt.Errorf("graph key %x: %w", it.Key(), err)
			}
			if values, err = decodeCounters(values[:0], v); err != nil {
				return fmt.Errorf("graph key %x: %w", it.Key(), err)
			}
			if len(values) == 0 {
				continue
			}
			k := it.Key()[len(prefix):]
			key, ok := keys[string(k)]
			if !ok {
				key = string(k)
				keys[key] = key
			}
			if !yield(store.GraphRow{Minute: m, Key: key, Values: values[:len(values):len(values)]}, nil) {
				return errStop
			}
			if err := step(); err != nil {
				return err
			}
		}
		if !valid {
			return it.Error()
		}
		k := it.Key()
		if len(k) < graphMinuteLen {
			return fmt.Errorf("%w: graph key %x", errCorrupt, k)
		}
		m = max(m+1, readInt64(k[1:]))
	}
	return nil
}

package graph

import (
	"cmp"
	"slices"
	"sync"

	"github.com/counterspy/counterspy/internal/store"
)

// Diff returns the deltas that turn the counters holding old into the
// counters holding new: new minus old, per (Group, Minute, Key), without
// zero counters or empty deltas, sorted by (Group, Minute, Key). Inputs in
// any order are accepted. A delta's Values may be new's: never modify them.
func Diff(old, new []Contribution) []store.GraphDelta {
	return AppendDiff(nil, old, new)
}

// AppendDiff appends Diff(old, new) to out.
func AppendDiff(out []store.GraphDelta, old, new []Contribution) []store.GraphDelta {
	old, new = normalize(old), normalize(new)
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		var c int
		switch {
		case i == len(old):
			c = 1
		case j == len(new):
			c = -1
		default:
			c = cmpContribution(&old[i], &new[j])
		}
		switch {
		case c < 0:
			o := &old[i]
			out = appendDelta(out, o, subtract(nil, o.Values))
			i++
		case c > 0:
			n := &new[j]
			out = appendDelta(out, n, withoutZeros(n.Values))
			j++
		default:
			out = appendDelta(out, &new[j], subtract(new[j].Values, old[i].Values))
			i++
			j++
		}
	}
	return out
}

func appendDelta(out []store.GraphDelta, c *Contribution, v []store.Counter) []store.GraphDelta {
	if len(v) == 0 {
		return out
	}
	return append(out, store.GraphDelta{Minute: c.Minute, Group: c.Group, Key: c.Key, Values: v})
}

// withoutZeros returns v, or a copy without its zero counters.
func withoutZeros(v []store.Counter) []store.Counter {
	for _, c := range v {
		if c.Value == 0 {
			return slices.DeleteFunc(slices.Clone(v), func(c store.Counter) bool { return c.Value == 0 })
		}
	}
	return v
}

// subtract returns a − b for sparse vectors with ascending indexes,
// without zero elements (nil if all are zero).
func subtract(a, b []store.Counter) []store.Counter {
	var out []store.Counter
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Index < b[j].Index:
			if a[i].Value != 0 {
				out = append(out, a[i])
			}
			i++
		case i == len(a) || b[j].Index < a[i].Index:
			if b[j].Value != 0 {
				out = append(out, store.Counter{Index: b[j].Index, Value: -b[j].Value})
			}
			j++
		default:
			if v := a[i].Value - b[j].Value; v != 0 {
				out = append(out, store.Counter{Index: a[i].Index, Value: v})
			}
			i++
			j++
		}
	}
	return out
}

// normalize returns cs sorted and merged per (Group, Minute, Key), with
// values sorted and merged per index; cs itself when it already is.
func normalize(cs []Contribution) []Contribution {
	if isNormal(cs) {
		return cs
	}
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Contribution) int { return cmpContribution(&a, &b) })
	w := 0
	for r := range out {
		if w > 0 && cmpContribution(&out[w-1], &out[r]) == 0 {
			out[w-1].Values = append(slices.Clip(out[w-1].Values), out[r].Values...)
			continue
		}
		out[w] = out[r]
		w++
	}
	out = out[:w]
	for i := range out {
		out[i].Values = normValues(out[i].Values)
	}
	return out
}

func isNormal(cs []Contribution) bool {
	for i := range cs {
		if i > 0 && cmpContribution(&cs[i-1], &cs[i]) >= 0 {
			return false
		}
		if !valuesNormal(cs[i].Values) {
			return false
		}
	}
	return true
}

// MergeDeltas sums the deltas of the same (Group, Minute, Key), drops
// counters that cancel out, and returns them sorted by (Group, Minute, Key):
// a batch of many traces then writes each key once. It reuses ds's memory
// (the result replaces it); the Values of the deltas are not modified.
func MergeDeltas(ds []store.GraphDelta) []store.GraphDelta {
	if len(ds) < 2 {
		return ds
	}
	m := mergers.Get().(*merger)
	defer mergers.Put(m)
	return m.merge(ds)
}

var mergers = sync.Pool{New: func() any { return new(merger) }}

// merger keeps the scratch memory of MergeDeltas.
type merger struct {
	slots map[deltaID]int32
	lists [][]int32 // per slot, the deltas in it
	ids   []deltaID
	// dense sums the counters of one slot by index; gen marks the indexes
	// touched for the current slot.
	dense   []float64
	gen     []uint32
	cur     uint32
	touched []uint32
	extra   []store.Counter // indexes beyond dense
}

type deltaID struct {
	group  string
	minute int64
	key    string
}

const denseIndexes = IdxEventAgeHist + NumBuckets

func (m *merger) merge(ds []store.GraphDelta) []store.GraphDelta {
	if m.slots == nil {
		m.slots = map[deltaID]int32{}
		m.dense = make([]float64, denseIndexes)
		m.gen = make([]uint32, denseIndexes)
	}
	clear(m.slots)
	m.ids = m.ids[:0]
	for i := range m.lists {
		m.lists[i] = m.lists[i][:0]
	}
	for i := range ds {
		id := deltaID{ds[i].Group, ds[i].Minute, ds[i].Key}
		s, ok := m.slots[id]
		if !ok {
			s = int32(len(m.ids))
			m.slots[id] = s
			m.ids = append(m.ids, id)
			if int(s) == len(m.lists) {
				m.lists = append(m.lists, nil)
			}
		}
		m.lists[s] = append(m.lists[s], int32(i))
	}
	order := make([]int32, len(m.ids))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		x, y := &m.ids[a], &m.ids[b]
		return cmp.Or(cmp.Compare(x.group, y.group), cmp.Compare(x.minute, y.minute), cmp.Compare(x.key, y.key))
	})
	out := make([]store.GraphDelta, 0, len(order))
	for _, s := range order {
		list := m.lists[s]
		d := ds[list[0]]
		if len(list) > 1 {
			d.Values = m.sum(ds, list)
		}
		if len(d.Values) > 0 {
			out = append(out, d)
		}
	}
	n := copy(ds, out)
	clear(ds[n:])
	// Let go of the strings of this batch.
	clear(m.ids)
	clear(m.slots)
	return ds[:n]
}

// sum adds up the values of the deltas in list.
func (m *merger) sum(ds []store.GraphDelta, list []int32) []store.Counter {
	m.cur++
	if m.cur == 0 { // wrapped: every mark is stale
		clear(m.gen)
		m.cur = 1
	}
	m.touched, m.extra = m.touched[:0], m.extra[:0]
	for _, i := range list {
		for _, c := range ds[i].Values {
			if c.Index >= denseIndexes {
				m.extra = append(m.extra, c)
				continue
			}
			if m.gen[c.Index] != m.cur {
				m.gen[c.Index] = m.cur
				m.dense[c.Index] = 0
				m.touched = append(m.touched, c.Index)
			}
			m.dense[c.Index] += c.Value
		}
	}
	slices.Sort(m.touched)
	out := make([]store.Counter, 0, len(m.touched)+len(m.extra))
	for _, idx := range m.touched {
		if v := m.dense[idx]; v != 0 {
			out = append(out, store.Counter{Index: idx, Value: v})
		}
	}
	if len(m.extra) > 0 {
		out = append(out, normValues(m.extra)...)
		out = slices.DeleteFunc(out, func(c store.Counter) bool { return c.Value == 0 })
	}
	return out
}

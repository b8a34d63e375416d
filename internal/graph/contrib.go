package graph

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// Contribution is what one trace adds to the counters of one key in one
// minute of one group.
type Contribution struct {
	Group  string
	Minute int64
	Key    string
	// Values are sparse counters, indexes unique and ascending, none zero.
	// They may be shared between contributions and with deltas: never
	// modify them.
	Values []store.Counter
}

func cmpContribution(a, b *Contribution) int {
	return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Minute, b.Minute), cmp.Compare(a.Key, b.Key))
}

// Contributions lists what trace summary s adds to the service-graph
// counters of the Default group ("") and of each group in groups, sorted by
// (Group, Minute, Key), one element per (Group, Minute, Key).
//
// Counted (package comment for the counters):
//   - every request of every node (server view): completed ones in the
//     minute they ended, with status class, response time and duration;
//     in-progress ones in the minute they started, as InProgress;
//   - every call of every edge (caller view; the calls into the trace are
//     its root segments, on the edge from the entry service's client node),
//     likewise, without duration.
//
// A node request's duration is the time from its start until the last end
// of the work it caused: the latest end among the request itself, the
// calls its node made, and the requests and calls of every node reachable
// from it in the trace's graph, that started during or after the request
// and before the node's next request. (The summary does not keep which
// request caused which call; time order stands in for it. For the usual
// trace, where a service handles one request, this is exact.) It differs
// from the response time for work that goes on after the response, such as
// asynchronous invocations.
func Contributions(s *summary.Summary, groups []string) []Contribution {
	var c Contributor
	return c.Append(nil, s, groups)
}

// Contributor computes Contributions with memory it keeps between calls:
// the summarizer asks for thousands per batch. The zero value is ready; it
// is not safe for concurrent use.
//
// What Append returns (the Values of its contributions) stays valid until
// the next Reset, which recycles that memory. Keys are interned: a key
// string is shared by every contribution (of any call) with that key.
type Contributor struct {
	c    contributor
	keys keyScratch
	dur  durScratch
	base []Contribution
	// intern holds the key strings made so far; nil (a Contributor used
	// once, as by Contributions) makes each key its own string.
	intern map[string]string
	reused bool
}

// Interned key strings are bounded: the table starts over when full, so a
// stream of unique keys cannot grow it.
const maxInternedKeys = 8192

// Reset makes the Contributor reuse the memory of what it returned so far:
// those contributions must no longer be used.
func (c *Contributor) Reset() {
	c.reused = true
	// Scratch that grew for an unusually large batch is let go.
	const big = 1 << 20
	if cap(c.c.vals) > big {
		c.c.vals = nil
	}
	c.c.vals = c.c.vals[:0]
	if c.intern == nil {
		c.intern = make(map[string]string, 256)
	}
}

// Append appends Contributions(s, groups) to dst.
func (c *Contributor) Append(dst []Contribution, s *summary.Summary, groups []string) []Contribution {
	if s == nil || len(s.Nodes) == 0 {
		return dst
	}
	c.base = c.collect(c.base[:0], s)
	defer clear(c.base)
	groups = normGroups(groups)
	if len(c.base) == 0 {
		return dst
	}
	dst = slices.Grow(dst, len(c.base)*(1+len(groups)))
	dst = append(dst, c.base...)
	for _, g := range groups {
		for _, b := range c.base {
			b.Group = g
			dst = append(dst, b)
		}
	}
	return dst
}

// normGroups returns the distinct non-Default groups, sorted.
func normGroups(groups []string) []string {
	ok := true
	for i, g := range groups {
		if g == "" || i > 0 && groups[i-1] >= g {
			ok = false
			break
		}
	}
	if ok {
		return groups
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if g != "" {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// observation adds v to a counter of the key at hand: k is the minute and
// the counter index packed into one sortable integer.
type observation struct {
	k uint64
	v float64
}

const obsIdxBits = 18 // counter indexes are below IdxEventAgeHist+NumBuckets < 2^18

func (c *contributor) add(m int64, idx uint32, v float64) {
	if v != 0 {
		c.obs = append(c.obs, observation{uint64(m)<<obsIdxBits | uint64(idx), v})
	}
}

type contributor struct {
	obs []observation // of the key at hand
	out []pending
	// vals holds every contribution's values (it grows: pending keeps
	// ranges; Contributor.Reset recycles it).
	vals []store.Counter
	// order and ranks rank the keys of the summary at hand.
	order, ranks []int32
}

// pending is a contribution being built: its key by number (ordered by
// rank) and its values as a range of vals.
type pending struct {
	minute     int64
	rank       int32
	key        int32
	start, end int32
}

// call records one request or call of the key at hand.
func (c *contributor) call(call *summary.Call, sent bool, dur float64, hasDur bool) {
	if call.InProgress || call.End == 0 {
		m, ok := minuteOf(call.Start)
		if !ok {
			return
		}
		if sent {
			c.add(m, IdxSent, 1)
		}
		c.add(m, IdxInProgress, 1)
		return
	}
	m, ok := minuteOf(call.End)
	if !ok {
		return
	}
	// In index order: the sort of a key's observations then mostly finds
	// them in place.
	rt := micros(call.End - call.Start)
	c.add(m, classIndex(call), 1)
	c.add(m, IdxResponseTimeUs, float64(rt))
	if sent {
		c.add(m, IdxSent, 1)
	}
	rb := Bucket(rt)
	c.add(m, IdxResponseTimeHist+rb, 1)
	if hasDur {
		if db := Bucket(micros(dur)); db != rb {
			c.add(m, IdxDurationHist+db, 1)
			c.add(m, IdxDurationMovedFrom+rb, 1)
		}
	}
}

// flush turns the observations of one key into contributions, one per
// minute.
func (c *contributor) flush(key, rank int32) {
	obs := c.obs
	if len(obs) == 0 {
		return
	}
	slices.SortFunc(obs, func(a, b observation) int { return cmp.Compare(a.k, b.k) })
	for i := 0; i < len(obs); {
		m := obs[i].k >> obsIdxBits
		start := int32(len(c.vals))
		for ; i < len(obs) && obs[i].k>>obsIdxBits == m; i++ {
			idx := uint32(obs[i].k & (1<<obsIdxBits - 1))
			if n := len(c.vals); n > int(start) && c.vals[n-1].Index == idx {
				c.vals[n-1].Value += obs[i].v
				continue
			}
			c.vals = append(c.vals, store.Counter{Index: idx, Value: obs[i].v})
		}
		c.out = append(c.out, pending{minute: int64(m), rank: rank, key: key, start: start, end: int32(len(c.vals))})
	}
	c.obs = c.obs[:0]
}

// collect appends the Default group's contributions of s to out.
func (cr *Contributor) collect(out []Contribution, s *summary.Summary) []Contribution {
	c := &cr.c
	keys := cr.keyStrings(s)
	// Rank the keys once, so that contributions sort by integers.
	c.order = growTo(c.order, len(keys))
	order := c.order
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	c.ranks = growTo(c.ranks, len(keys))
	ranks := c.ranks
	for r, k := range order {
		ranks[k] = int32(r)
		if r > 0 && keys[k] == keys[order[r-1]] {
			ranks[k] = ranks[order[r-1]] // one key for two nodes or edges
		}
	}
	durs := cr.dur.durations(s)
	calls := 0
	for i := range s.Nodes {
		calls += len(s.Nodes[i].Requests)
	}
	for i := range s.Edges {
		calls += len(s.Edges[i].Calls)
	}
	// A completed call makes at most five counters (status, time, sent,
	// two buckets); keys usually see one minute. Values are kept as
	// ranges of vals, so it must not move while they are collected.
	if !cr.reused || cap(c.vals)-len(c.vals) < 5*calls {
		c.vals = make([]store.Counter, 0, max(5*calls, min(64<<10, 8*cap(c.vals))))
	}
	c.out = c.out[:0]
	c.obs = c.obs[:0]
	for i := range s.Nodes {
		n := &s.Nodes[i]
		for j := range n.Requests {
			c.call(&n.Requests[j], !n.Inferred, durs[i][j], true)
		}
		c.flush(int32(i), ranks[i])
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		k := len(s.Nodes) + i
		if keys[k] == "" {
			continue
		}
		for j := range e.Calls {
			c.call(&e.Calls[j], false, 0, false)
		}
		if e.Link {
			for j := range e.Calls {
				if age, ok := EventAge(s, e, &e.Calls[j]); ok {
					if m, ok := minuteOf(e.Calls[j].End); ok {
						c.add(m, IdxEventAgeHist+Bucket(micros(age)), 1)
					}
				}
			}
		}
		c.flush(int32(k), ranks[k])
	}
	ps := c.out
	slices.SortFunc(ps, func(a, b pending) int { return cmp.Or(cmp.Compare(a.minute, b.minute), cmp.Compare(a.rank, b.rank)) })
	first := len(out)
	for _, p := range ps {
		vs := c.vals[p.start:p.end:p.end]
		if n := len(out); n > first && out[n-1].Minute == p.minute && out[n-1].Key == keys[p.key] {
			// Two nodes or edges with one key (not in a well-formed
			// summary) add up.
			out[n-1].Values = normValues(append(slices.Clip(out[n-1].Values), vs...))
			continue
		}
		out = append(out, Contribution{Minute: p.minute, Key: keys[p.key], Values: vs})
	}
	clear(cr.keys.list)
	return out
}

// keyScratch is the reused memory of keyStrings.
type keyScratch struct {
	ids  []NodeID
	ends []int
	buf  []byte
	list []string
}

// keyStrings returns the counter keys of s's nodes, then of its edges (""
// for an edge with a bad index): interned, or substrings of one allocation.
func (cr *Contributor) keyStrings(s *summary.Summary) []string {
	k := &cr.keys
	k.ids = growTo(k.ids, len(s.Nodes))
	ids := k.ids
	for i := range s.Nodes {
		n := &s.Nodes[i]
		ids[i] = NodeID{Name: n.Name, Type: n.Type, AccountID: n.AccountID}
	}
	ends := k.ends[:0]
	buf := k.buf[:0]
	if cr.intern == nil {
		// Not interned, the keys are substrings of one allocation.
		buf = make([]byte, 0, keysLen(s, ids))
	}
	for i := range ids {
		buf = append(buf, kindNode)
		buf = appendNode(buf, ids[i])
		ends = append(ends, len(buf))
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		if e.To < 0 || int(e.To) >= len(ids) || e.From >= int32(len(ids)) {
			ends = append(ends, len(buf))
			continue
		}
		to := ids[e.To]
		from := NodeID{Name: to.Name, Type: ClientType}
		if e.From >= 0 {
			from = ids[e.From]
		}
		buf = appendEdge(buf, from, to, e.Link, e.Aliases)
		ends = append(ends, len(buf))
	}
	clear(ids)
	k.list = growTo(k.list, len(ends))
	keys := k.list
	if cr.intern == nil {
		all := string(buf)
		start := 0
		for i, end := range ends {
			keys[i] = all[start:end]
			start = end
		}
		return keys
	}
	start := 0
	for i, end := range ends {
		keys[i] = cr.internKey(buf[start:end])
		start = end
	}
	k.ends, k.buf = ends, buf
	return keys
}

// keysLen bounds the bytes of s's keys, as keyStrings makes them.
func keysLen(s *summary.Summary, ids []NodeID) int {
	size := 0
	for i := range ids {
		size += 1 + nodeLen(ids[i])
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		if e.To < 0 || int(e.To) >= len(ids) || e.From >= int32(len(ids)) {
			continue
		}
		size += 1 + nodeLen(ids[e.To]) + binary.MaxVarintLen64
		if e.From >= 0 {
			size += nodeLen(ids[e.From])
		} else {
			size += nodeLen(NodeID{Name: ids[e.To].Name, Type: ClientType})
		}
		for _, a := range e.Aliases {
			size += binary.MaxVarintLen64 + len(a)
		}
	}
	return size
}

func (cr *Contributor) internKey(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := cr.intern[string(b)]; ok {
		return s
	}
	if len(cr.intern) >= maxInternedKeys {
		clear(cr.intern)
	}
	s := string(b)
	cr.intern[s] = s
	return s
}

// growTo returns s with length n, reusing its memory when it can.
func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// nodeLen bounds the encoded length of a node identity.
func nodeLen(n NodeID) int {
	return 3*binary.MaxVarintLen64 + len(n.Name) + len(n.Type) + len(n.AccountID)
}

// normValues returns v sorted by index with duplicates summed (a copy when
// v is not already so).
func normValues(v []store.Counter) []store.Counter {
	if valuesNormal(v) {
		return v
	}
	out := slices.Clone(v)
	// Sums of whole numbers: the order of equal indexes does not matter.
	slices.SortFunc(out, func(a, b store.Counter) int { return cmp.Compare(a.Index, b.Index) })
	w := 0
	for r := range out {
		if w > 0 && out[w-1].Index == out[r].Index {
			out[w-1].Value += out[r].Value
			continue
		}
		out[w] = out[r]
		w++
	}
	return out[:w]
}

func valuesNormal(v []store.Counter) bool {
	for k := 1; k < len(v); k++ {
		if v[k-1].Index >= v[k].Index {
			return false
		}
	}
	return true
}

package graph

import (
	"cmp"
	"slices"

	"github.com/counterspy/counterspy/internal/summary"
)

// maxReach bounds the nodes of a trace for which a service's duration
// follows everything reachable from it; beyond, only its own calls count
// (reachability per node costs nodes²).
const maxReach = 256

// Durations returns the duration (seconds) of every request of every node
// of s, as Contributions defines it: durs[i][j] is the duration of
// s.Nodes[i].Requests[j] (0 for requests in progress).
func Durations(s *summary.Summary) [][]float64 {
	var d durScratch
	return d.durations(s)
}

// durScratch is the memory Durations reuses when called through a
// Contributor.
type durScratch struct {
	flat             []float64
	durs             [][]float64
	first, adj, fill []int32
	seen             []bool
	stack, reach     []int32
	order            []int
	ends             []float64
}

// durations is Durations; the result is valid until the next call.
func (d *durScratch) durations(s *summary.Summary) [][]float64 {
	n := len(s.Nodes)
	total := 0
	for i := range s.Nodes {
		total += len(s.Nodes[i].Requests)
	}
	d.flat = growTo(d.flat, total)
	flat := d.flat
	clear(flat)
	d.durs = growTo(d.durs, n)
	durs := d.durs
	off := 0
	for i := range durs {
		k := len(s.Nodes[i].Requests)
		durs[i] = flat[off : off+k : off+k]
		off += k
	}
	// Callees of each node, as ranges of one slice.
	var adj []int32
	var first []int32
	if n <= maxReach {
		d.first = growTo(d.first, n+1)
		first = d.first
		clear(first)
		for i := range s.Edges {
			if e := &s.Edges[i]; e.From >= 0 && e.To >= 0 && int(e.From) < n && int(e.To) < n {
				first[e.From+1]++
			}
		}
		for i := range n {
			first[i+1] += first[i]
		}
		d.adj = growTo(d.adj, int(first[n]))
		adj = d.adj
		d.fill = append(d.fill[:0], first[:n]...)
		fill := d.fill
		for i := range s.Edges {
			if e := &s.Edges[i]; e.From >= 0 && e.To >= 0 && int(e.From) < n && int(e.To) < n {
				adj[fill[e.From]] = e.To
				fill[e.From]++
			}
		}
	}
	d.seen = growTo(d.seen, n)
	seen := d.seen
	stack, reach := d.stack[:0], d.reach[:0]
	order := d.order[:0]
	ends := d.ends[:0]
	for i := range s.Nodes {
		reqs := s.Nodes[i].Requests
		order = order[:0]
		for j := range reqs {
			if !reqs[j].InProgress && reqs[j].End != 0 {
				order = append(order, j)
			}
		}
		if len(order) == 0 {
			continue
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(reqs[a].Start, reqs[b].Start) })
		// ends[k] is the latest end owned by request order[k].
		ends = ends[:0]
		for _, j := range order {
			ends = append(ends, reqs[j].End)
		}
		owner := func(start, end float64) {
			if end == 0 {
				return
			}
			k := len(order) - 1
			if len(order) > 1 {
				// The last request that started at or before start.
				k = sortSearch(len(order), func(x int) bool { return reqs[order[x]].Start > start }) - 1
			}
			if k >= 0 && reqs[order[k]].Start <= start {
				ends[k] = max(ends[k], end)
			}
		}
		// The nodes whose work counts: i and everything reachable from it.
		reach = append(reach[:0], int32(i))
		clear(seen)
		seen[i] = true
		if n <= maxReach {
			stack = append(stack[:0], int32(i))
			for len(stack) > 0 {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, t := range adj[first[m]:first[m+1]] {
					if !seen[t] {
						seen[t] = true
						reach = append(reach, t)
						stack = append(stack, t)
					}
				}
			}
		}
		for _, m := range reach[1:] {
			for _, r := range s.Nodes[m].Requests {
				if !r.InProgress {
					owner(r.Start, r.End)
				}
			}
		}
		for e := range s.Edges {
			ed := &s.Edges[e]
			if ed.From < 0 || int(ed.From) >= n || !seen[ed.From] {
				continue
			}
			for _, c := range ed.Calls {
				if !c.InProgress {
					owner(c.Start, c.End)
				}
			}
		}
		for k, j := range order {
			durs[i][j] = max(ends[k]-reqs[j].Start, 0)
		}
	}
	d.stack, d.reach, d.order, d.ends = stack, reach, order, ends
	return durs
}

// sortSearch is sort.Search without the import.
func sortSearch(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if !f(h) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

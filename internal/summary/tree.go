package summary

import "github.com/counterspy/counterspy/internal/segment"

// TreeEntity is one entity of the trace as the last Build resolved it
// (duplicates, superseded versions and replaced copies left out).
type TreeEntity struct {
	E *segment.Entity
	// Up is the index (in the same slice) of the entity this one hangs
	// under, -1 for a root or an orphan.
	Up int32
	// Segment is true for the root of a real (not independent) segment
	// document: a service's own segment.
	Segment bool
}

// Tree appends the entities of the trace the last Build resolved to dst,
// parents before their children only where the input order has it (use Up,
// not the order). The entities point into the documents given to Build:
// valid as long as those are. Call it after Build, before the next one, on a
// Builder used directly (the package-level Build pools its Builder).
func (b *Builder) Tree(dst []TreeEntity) []TreeEntity {
	first := len(dst)
	// idx maps entity numbers to positions in dst; stack is reused for it.
	idx := growTo(b.stack, len(b.ents))
	for g := range b.ents {
		ev := &b.ents[g]
		if ev.skip {
			idx[g] = -1
			continue
		}
		idx[g] = int32(len(dst))
		dst = append(dst, TreeEntity{E: ev.e, Up: ev.up, Segment: b.isSegmentRoot(int32(g))})
	}
	for i := first; i < len(dst); i++ {
		if up := dst[i].Up; up >= 0 && int(up) < len(idx) && idx[up] >= 0 {
			dst[i].Up = idx[up]
		} else {
			dst[i].Up = -1
		}
	}
	b.stack = idx[:0]
	return dst
}

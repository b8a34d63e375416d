package segment

import (
	"slices"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// Typical documents have a handful of entities and annotations: a linear scan
// beats hashing there. Past linearLimit a map keeps a 64 KiB document with a
// thousand of them from costing a million comparisons.
const linearLimit = 16

// idSet holds the entity IDs seen in one document.
type idSet struct {
	list []xrayid.SegmentID
	m    map[xrayid.SegmentID]struct{}
}

func (s *idSet) reset() {
	s.list = s.list[:0]
	if len(s.m) > 0 {
		clear(s.m)
	}
}

// add records id and reports whether it was new.
func (s *idSet) add(id xrayid.SegmentID) bool {
	if len(s.m) == 0 && len(s.list) < linearLimit {
		if slices.Contains(s.list, id) {
			return false
		}
		s.list = append(s.list, id)
		return true
	}
	if len(s.m) == 0 {
		if s.m == nil {
			s.m = make(map[xrayid.SegmentID]struct{}, 4*linearLimit)
		}
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
	}
	if _, ok := s.m[id]; ok {
		return false
	}
	s.m[id] = struct{}{}
	s.list = append(s.list, id)
	return true
}

// truncate forgets the IDs added after the first n (those of a dropped
// subsegment and its own subsegments).
func (s *idSet) truncate(n int) {
	for _, id := range s.list[n:] {
		delete(s.m, id)
	}
	s.list = s.list[:n]
}

// annotationKeys finds repeated keys within one annotations object.
type annotationKeys struct {
	m     map[string]int
	built bool
}

func (t *annotationKeys) reset() { t.built = false }

// find returns the index of key in anns, or -1.
func (t *annotationKeys) find(anns []Annotation, key []byte) int {
	if len(anns) <= linearLimit {
		for i := range anns {
			if anns[i].Key == string(key) {
				return i
			}
		}
		return -1
	}
	if !t.built {
		if t.m == nil {
			t.m = make(map[string]int, 4*linearLimit)
		}
		clear(t.m)
		for i := range anns {
			t.m[anns[i].Key] = i
		}
		t.built = true
	}
	if i, ok := t.m[string(key)]; ok {
		return i
	}
	return -1
}

// added records the annotation just appended to anns.
func (t *annotationKeys) added(anns []Annotation) {
	if t.built {
		t.m[anns[len(anns)-1].Key] = len(anns) - 1
	}
}

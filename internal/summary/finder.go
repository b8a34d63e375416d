package summary

// finder is a list of distinct values with index lookup: a linear scan while
// it is short (the usual case: a handful of services or annotation values,
// where hashing costs more), a map once it grows.
type finder[K comparable] struct {
	list []K
	idx  map[K]int32
}

const linearMax = 16

func (f *finder[K]) find(k K) (int32, bool) {
	if len(f.list) > linearMax {
		i, ok := f.idx[k]
		return i, ok
	}
	for i := range f.list {
		if f.list[i] == k {
			return int32(i), true
		}
	}
	return -1, false
}

// intern returns k's index, adding k if it is new.
func (f *finder[K]) intern(k K) (i int32, added bool) {
	if i, ok := f.find(k); ok {
		return i, false
	}
	f.list = append(f.list, k)
	i = int32(len(f.list) - 1)
	switch n := len(f.list); {
	case n == linearMax+1:
		if f.idx == nil {
			f.idx = make(map[K]int32, 2*n)
		}
		for j, x := range f.list {
			f.idx[x] = int32(j)
		}
	case n > linearMax+1:
		f.idx[k] = i
	}
	return i, true
}

func (f *finder[K]) reset() {
	f.list = f.list[:0]
	if len(f.idx) > 0 {
		clear(f.idx)
	}
}

// release drops references to the last build's values and a map grown by an
// unusually large trace.
func (f *finder[K]) release() {
	clear(f.list)
	if len(f.idx) > 1024 {
		f.idx = nil
	} else {
		clear(f.idx)
	}
}

package segment

// Strings that repeat across documents (service and subsegment names,
// namespaces, origins, HTTP methods, AWS operations and regions, annotation
// keys) are shared through a small per-decoder table: it saves an allocation
// per field on the hot path and lets digests that live long (service-graph
// nodes) share one copy.
//
// The table is bounded and starts over when full, so a stream of unique
// values cannot grow it; and each document may add only a few entries, so a
// document full of unique values (thousands of annotation keys) cannot
// churn it either.
const (
	maxInterned    = 4096
	maxInternSize  = 128 // longer values are rarely repeated verbatim
	maxInternAdds  = 64  // new entries per document; typical ones add a handful
	internInitSize = 256
)

type internTable struct {
	m    map[string]string
	adds int // left for the current document
}

// reset starts a new document.
func (t *internTable) reset() { t.adds = maxInternAdds }

func (d *Decoder) intern(b []byte) string {
	t := &d.strs
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) > maxInternSize || t.adds <= 0 {
		return s
	}
	if t.m == nil || len(t.m) >= maxInterned {
		t.m = make(map[string]string, internInitSize)
	}
	t.m[s] = s
	t.adds--
	return s
}

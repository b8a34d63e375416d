package summary

import (
	"cmp"
	"math"
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
)

// MaxAnnotationKeys is how many distinct annotation keys a summary keeps
// (X-Ray indexes 50 per trace); later keys are left out.
const MaxAnnotationKeys = 50

// annValue is an annotation's identity: key and typed value.
type annValue struct {
	key  string
	typ  segment.AnnotationType
	str  string
	num  uint64 // float bits: -0 and 0 are different values as sent
	bool bool
}

// setBy says that annotation or user `of` was set by node `node`.
type setBy struct{ of, node int32 }

type traceScratch struct {
	keys     finder[string]
	anns     finder[annValue]
	annNodes []setBy
	users    finder[string]
	usrNodes []setBy
	arns     finder[string]
	iids     finder[string]
	azs      finder[string]
	order    []int32 // live documents in first-seen order
}

func (t *traceScratch) reset() {
	t.keys.reset()
	t.anns.reset()
	t.users.reset()
	t.arns.reset()
	t.iids.reset()
	t.azs.reset()
	t.annNodes, t.usrNodes = t.annNodes[:0], t.usrNodes[:0]
}

func (t *traceScratch) release() {
	t.keys.release()
	t.anns.release()
	t.users.release()
	t.arns.release()
	t.iids.release()
	t.azs.release()
}

// traceLevel fills the trace-level fields (https://docs.aws.amazon.com/xray/latest/api/API_TraceSummary.html): times, the entry
// segment's flags and HTTP, flags over every resolved entity, and the
// distinct values "any segment" keywords match, in first-seen order:
// documents by the first arrival of their ID (a resend does not move them),
// entities in document order.
func (b *Builder) traceLevel(s *Summary) {
	t := &b.t
	t.order = t.order[:0]
	for d := range b.docs {
		if b.rs.DS[d].Live {
			t.order = append(t.order, int32(d))
		}
	}
	slices.SortFunc(t.order, func(x, y int32) int {
		return cmp.Or(cmp.Compare(b.rs.DS[x].First, b.rs.DS[y].First), cmp.Compare(x, y))
	})
	first := true
	for _, d := range t.order {
		dv := &b.rs.Docs[d]
		if b.orphan(d) {
			s.IsPartial = true // its parent is missing
		}
		for x := dv.Root; x < dv.Root+dv.N; x++ {
			ev := &b.ents[x]
			if ev.skip {
				continue
			}
			e := ev.e
			end := e.Start
			if !e.InProgress {
				end = max(end, e.End)
			}
			if first {
				s.Start, s.End, first = e.Start, end, false
			}
			s.Start, s.End = min(s.Start, e.Start), max(s.End, end)
			s.HasThrottle = s.HasThrottle || e.Throttle
			s.IsPartial = s.IsPartial || e.InProgress || e.Traced && !ev.segChild && !b.isSegmentRoot(x)
			b.values(x, e)
		}
	}
	s.Duration = s.End - s.Start
	if r := b.entry; r >= 0 {
		e := b.ents[r].e
		s.HasFault, s.HasError, s.HTTP = e.Fault, e.Error, httpOf(&e.HTTP)
		if !e.InProgress {
			s.ResponseTime = e.End - e.Start
		}
	}
	b.emitValues(s)
}

// values collects the annotations, user and resource identifiers of entity x.
func (b *Builder) values(x int32, e *segment.Entity) {
	t := &b.t
	node := b.owner(x)
	for i := range e.Annotations {
		a := &e.Annotations[i]
		if _, ok := t.keys.find(a.Key); !ok {
			if len(t.keys.list) >= MaxAnnotationKeys {
				continue
			}
			t.keys.intern(a.Key)
		}
		v := annValue{key: a.Key, typ: a.Type}
		switch a.Type {
		case segment.AnnotationString:
			v.str = a.String
		case segment.AnnotationNumber:
			v.num = math.Float64bits(a.Number)
		case segment.AnnotationBool:
			v.bool = a.Bool
		}
		i, _ := t.anns.intern(v)
		if node >= 0 {
			t.annNodes = append(t.annNodes, setBy{of: i, node: node})
		}
	}
	if e.User != "" {
		i, _ := t.users.intern(e.User)
		if node >= 0 {
			t.usrNodes = append(t.usrNodes, setBy{of: i, node: node})
		}
	}
	for _, arn := range [2]string{e.ResourceARN, e.AWS.FunctionARN} {
		if arn != "" {
			t.arns.intern(arn)
		}
	}
	if e.AWS.InstanceID != "" {
		t.iids.intern(e.AWS.InstanceID)
	}
	if e.AWS.AvailabilityZone != "" {
		t.azs.intern(e.AWS.AvailabilityZone)
	}
}

func (b *Builder) emitValues(s *Summary) {
	t := &b.t
	t.annNodes = sortSetBy(t.annNodes)
	t.usrNodes = sortSetBy(t.usrNodes)
	refs := make([]int32, len(t.annNodes)+len(t.usrNodes))
	if n := len(t.anns.list); n > 0 {
		s.Annotations = make([]Annotation, n)
		set := t.annNodes
		for i, v := range t.anns.list {
			a := &s.Annotations[i]
			a.Key = v.key
			a.Value = segment.Annotation{Key: v.key, Type: v.typ, String: v.str, Number: math.Float64frombits(v.num), Bool: v.bool}
			a.Nodes, set = nodesOf(int32(i), set, &refs)
		}
	}
	if n := len(t.users.list); n > 0 {
		s.Users = make([]User, n)
		set := t.usrNodes
		for i, name := range t.users.list {
			s.Users[i].Name = name
			s.Users[i].Nodes, set = nodesOf(int32(i), set, &refs)
		}
	}
	strs := make([]string, len(t.arns.list)+len(t.iids.list)+len(t.azs.list))
	s.ResourceARNs = carve(&strs, len(t.arns.list))
	copy(s.ResourceARNs, t.arns.list)
	s.InstanceIDs = carve(&strs, len(t.iids.list))
	copy(s.InstanceIDs, t.iids.list)
	s.AvailabilityZones = carve(&strs, len(t.azs.list))
	copy(s.AvailabilityZones, t.azs.list)
}

// nodesOf takes the nodes of value i off the front of set (sorted by value).
func nodesOf(i int32, set []setBy, refs *[]int32) ([]int32, []setBy) {
	m := 0
	for m < len(set) && set[m].of == i {
		m++
	}
	nodes := carve(refs, m)
	for j := range nodes {
		nodes[j] = set[j].node
	}
	return nodes, set[m:]
}

func sortSetBy(s []setBy) []setBy {
	slices.SortFunc(s, func(x, y setBy) int {
		if c := cmp.Compare(x.of, y.of); c != 0 {
			return c
		}
		return cmp.Compare(x.node, y.node)
	})
	return slices.Compact(s)
}

// Package profile answers "where does a service's time go, across all its
// invocations": a part-whole breakdown of every invocation of a service
// into its own code (self time), its downstream calls grouped by target,
// its named subsegments and Lambda's phases, kept at ingest as per-minute
// counters so a day of a busy function is read in a few thousand rows.
// See docs/profile.md for the definitions.
//
// Write side: Contributions turns one resolved trace into counter
// contributions (package graph's type, written through the store's graph
// counters under a group per service); the summarizer diffs them between
// revisions like the service graph's. Read side: Read sums them over a
// window, Compare ranks what changed between two windows.
package profile

import (
	"cmp"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/counterspy/counterspy/internal/graph"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// GroupPrefix starts the counter group of a service's profile. User
// groups are kept under base32 IDs (upper case, digits, '='), so a group
// with lower-case letters and a colon never collides with one.
const GroupPrefix = "profile:"

// Group is the counter group of service's profile.
func Group(service string) string { return GroupPrefix + service }

// Counter indexes of a part's counters (persisted: never renumber). Times
// are whole microseconds, per invocation of the service: a part met twice
// in one invocation counts once, with the two times combined.
const (
	// IdxCount counts the invocations the part occurs in (for the root
	// part: the invocations).
	IdxCount uint32 = 0
	// IdxSum and IdxSumSq sum the part's inclusive time (its span) and
	// its square.
	IdxSum   uint32 = 1
	IdxSumSq uint32 = 2
	// IdxSelfSum and IdxSelfSumSq sum the part's self time and its square.
	IdxSelfSum   uint32 = 3
	IdxSelfSumSq uint32 = 4
	// IdxSelfHist + b counts self times in bucket b (graph.Bucket), and
	// IdxHist + b inclusive times.
	IdxSelfHist uint32 = 1 << 16
	IdxHist     uint32 = 2 << 16
)

// Class separates Lambda's cold and warm invocations.
type Class byte

// Classes, as the first byte of a counter key.
const (
	ClassNone Class = '-' // not a Lambda function invocation
	ClassCold Class = 'c' // a function segment with an Initialization subsegment
	ClassWarm Class = 'w'
)

func (c Class) String() string {
	switch c {
	case ClassCold:
		return "cold"
	case ClassWarm:
		return "warm"
	}
	return ""
}

// sep joins the labels of a part's path in a counter key.
const sep = "\x1f"

// Limits on what one invocation may add, so a pathological trace cannot
// blow up the counters: deeper or further parts are counted in their
// ancestor's "…" part.
const (
	maxDepth = 12
	maxParts = 200
	overflow = "…"
)

// Key is the counter key of a part: its class, then its path.
func Key(c Class, path []string) string {
	return string(c) + strings.Join(path, sep)
}

// ParseKey splits a counter key; ok is false for a key this package did
// not write.
func ParseKey(k string) (c Class, path []string, ok bool) {
	if len(k) < 2 {
		return 0, nil, false
	}
	c = Class(k[0])
	if c != ClassNone && c != ClassCold && c != ClassWarm {
		return 0, nil, false
	}
	return c, strings.Split(k[1:], sep), true
}

// Label names the part an entity stands for (docs/profile.md): a
// downstream AWS call by service, resource and operation ("DynamoDB items
// PutItem"); a remote HTTP call by host; another service's segment as
// "service NAME"; a segment of the profiled service itself (a Lambda
// function segment under its service segment) by its origin; anything
// else by its name.
func Label(e *segment.Entity, isSegment bool, service string) string {
	var l string
	switch {
	case isSegment && e.Name == service:
		l = cmp.Or(e.Origin, "segment")
	case isSegment:
		l = "service " + e.Name
	case e.Namespace == "aws":
		l = e.Name
		if r := cmp.Or(e.AWS.TableName, e.AWS.BucketName, queueName(e.AWS.QueueURL), e.AWS.FunctionName); r != "" {
			l += " " + r
		}
		if e.AWS.Operation != "" {
			l += " " + e.AWS.Operation
		}
	case e.SQL != nil:
		l = e.Name // SDKs name it database@host
	case e.Namespace == "remote" && e.HTTP.URL != "":
		if u, err := url.Parse(e.HTTP.URL); err == nil && u.Host != "" {
			l = u.Host
		} else {
			l = e.Name
		}
	default:
		l = e.Name
	}
	l = strings.ReplaceAll(l, sep, " ")
	if l == "" {
		l = "(unnamed)"
	}
	return l
}

func queueName(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		return u[i+1:]
	}
	return u
}

// Part is what one invocation spent in one part.
type Part struct {
	// Key is the part's path, labels joined by the key separator (see
	// Key and ParseKey).
	Key string
	// Total is the part's inclusive time (the union of its occurrences'
	// spans) and Self its self time (summed over occurrences), seconds.
	Total, Self float64
}

// Invocation is one invocation of a service found in a trace.
type Invocation struct {
	Service string
	Class   Class
	// End is when the invocation ended (seconds since the epoch).
	End float64
	// Parts are sorted by path; Parts[0] is the service itself (its
	// Total is the invocation's time).
	Parts []Part
}

// Invocations lists the completed invocations of every service in a
// resolved trace: each real segment with no segment of the same name above
// it starts one.
func Invocations(tree []summary.TreeEntity) []Invocation {
	w := getWalker()
	defer w.put()
	return w.invocations(tree)
}

func getWalker() *walker { return walkers.Get().(*walker) }

func (w *walker) put() {
	w.tree = nil
	clear(w.occ)
	if len(w.paths)+len(w.keys)+len(w.groups) > maxInterned {
		clear(w.paths)
		clear(w.labels)
		clear(w.keys)
		clear(w.groups)
	}
	walkers.Put(w)
}

type classKey struct {
	c    Class
	path string
}

// key is the counter key of a part of class c, interned.
func (w *walker) key(c Class, path string) string {
	k := classKey{c, path}
	if s, ok := w.keys[k]; ok {
		return s
	}
	s := string(c) + path
	w.keys[k] = s
	return s
}

// group is Group(service), interned.
func (w *walker) group(service string) string {
	if g, ok := w.groups[service]; ok {
		return g
	}
	g := Group(service)
	w.groups[service] = g
	return g
}

func (w *walker) invocations(tree []summary.TreeEntity) []Invocation {
	w.tree = tree
	w.children()
	var out []Invocation
	for i := range tree {
		t := &tree[i]
		if !t.Segment || t.E.InProgress || t.E.End == 0 || w.underSameName(int32(i)) {
			continue
		}
		out = append(out, w.invocation(int32(i)))
	}
	return out
}

// walkers keep their memory (and interned strings) between traces: the
// summarizer asks for every revision of every trace.
var walkers = sync.Pool{New: func() any {
	return &walker{paths: map[[2]string]string{}, labels: map[labelKey]string{}, keys: map[classKey]string{}, groups: map[string]string{}}
}}

// maxInterned bounds the interned paths and labels of a walker.
const maxInterned = 4096

type labelKey struct {
	name, namespace, origin, res, op, url string
	isSegment, sql                        bool
	service                               string
}

// label is Label, interned.
func (w *walker) label(e *segment.Entity, isSegment bool) string {
	k := labelKey{name: e.Name, namespace: e.Namespace, origin: e.Origin, isSegment: isSegment, sql: e.SQL != nil}
	switch {
	case isSegment:
		k.service = w.service
	case e.Namespace == "aws":
		k.res = cmp.Or(e.AWS.TableName, e.AWS.BucketName, e.AWS.QueueURL, e.AWS.FunctionName)
		k.op = e.AWS.Operation
	case e.Namespace == "remote":
		k.url = e.HTTP.URL
	}
	if l, ok := w.labels[k]; ok {
		return l
	}
	l := Label(e, isSegment, w.service)
	w.labels[k] = l
	return l
}

// child is the path of label under parent, interned.
func (w *walker) child(parent, label string) string {
	k := [2]string{parent, label}
	if p, ok := w.paths[k]; ok {
		return p
	}
	p := parent + sep + label
	w.paths[k] = p
	return p
}

type walker struct {
	paths  map[[2]string]string
	labels map[labelKey]string
	keys   map[classKey]string
	groups map[string]string
	// spans is a stack of children's spans, shared by nested visits.
	spans []interval
	tree  []summary.TreeEntity
	first []int32 // children of i: kids[first[i]:first[i+1]]
	kids  []int32
	// per invocation
	service string
	lambda  bool
	cold    bool
	occ     []occurrence
	path    string // the key of the entity being visited
	parts   int
}

// occurrence is one entity's contribution to a part, before occurrences of
// the same path are combined.
type occurrence struct {
	key    string
	lo, hi float64
	self   float64
}

func (w *walker) children() {
	n := len(w.tree)
	w.first = growTo(w.first, n+2)
	clear(w.first)
	for i := range w.tree {
		if up := w.tree[i].Up; up >= 0 && int(up) < n {
			w.first[up+2]++
		}
	}
	for i := 2; i < len(w.first); i++ {
		w.first[i] += w.first[i-1]
	}
	w.kids = growTo(w.kids, int(w.first[n+1]))
	for i := range w.tree {
		if up := w.tree[i].Up; up >= 0 && int(up) < n {
			w.kids[w.first[up+1]] = int32(i)
			w.first[up+1]++
		}
	}
}

func growTo[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (w *walker) childrenOf(i int32) []int32 { return w.kids[w.first[i]:w.first[i+1]] }

// underSameName reports whether a segment of the same name is above i.
func (w *walker) underSameName(i int32) bool {
	name := w.tree[i].E.Name
	for x, steps := w.tree[i].Up, 0; x >= 0 && steps < len(w.tree); x, steps = w.tree[x].Up, steps+1 {
		if w.tree[x].Segment && w.tree[x].E.Name == name {
			return true
		}
	}
	return false
}

func (w *walker) invocation(root int32) Invocation {
	e := w.tree[root].E
	w.service, w.lambda, w.cold = e.Name, false, false
	w.occ, w.path, w.parts = w.occ[:0], strings.ReplaceAll(e.Name, sep, " "), 0
	w.visit(root, e.End, 0)
	inv := Invocation{Service: e.Name, End: e.End, Class: ClassNone}
	if w.lambda {
		inv.Class = ClassWarm
		if w.cold {
			inv.Class = ClassCold
		}
	}
	// Combine the occurrences of each path: spans by union, self times
	// summed.
	slices.SortFunc(w.occ, func(a, b occurrence) int { return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.lo, b.lo)) })
	for i := 0; i < len(w.occ); {
		j := i
		var self, total, curLo, curHi float64
		curLo, curHi = w.occ[i].lo, w.occ[i].hi
		for ; j < len(w.occ) && w.occ[j].key == w.occ[i].key; j++ {
			o := &w.occ[j]
			self += o.self
			if o.lo > curHi {
				total += curHi - curLo
				curLo, curHi = o.lo, o.hi
			} else {
				curHi = max(curHi, o.hi)
			}
		}
		total += curHi - curLo
		inv.Parts = append(inv.Parts, Part{Key: w.occ[i].key, Total: total, Self: min(self, total)})
		i = j
	}
	// The service itself sorts first: its key is a prefix of all others.
	return inv
}

// visit records entity i (reached at depth, whose parent ends at
// parentEnd) and everything under it that belongs to the invocation, and
// returns its span.
func (w *walker) visit(i int32, parentEnd float64, depth int) (lo, hi float64) {
	t := &w.tree[i]
	e := t.E
	lo, hi = e.Start, e.End
	if e.InProgress || e.End == 0 {
		// Still running when its enclosing entity ended: counted until
		// then.
		hi = max(e.Start, parentEnd)
	}
	if e.Origin == "AWS::Lambda::Function" && e.Name == w.service {
		w.lambda = true
	}
	kids := w.childrenOf(i)
	// Under a Lambda service segment, the function segment of an attempt
	// belongs to that attempt's subsegment (AWS nests it there in time,
	// not in the document).
	attempts := e.Origin == "AWS::Lambda" && t.Segment
	base := len(w.spans)
	for _, k := range kids {
		kt := &w.tree[k]
		if attempts && kt.Segment && kt.E.Origin == "AWS::Lambda::Function" && w.attemptOf(kids, k) >= 0 {
			continue // visited under its attempt
		}
		if kt.Segment && kt.E.Name != w.service {
			// Another service: its time is a part, its insides its own.
			l, h := kt.E.Start, kt.E.End
			if kt.E.InProgress || h == 0 {
				h = max(l, hi)
			}
			w.record(k, depth+1, l, h, h-l)
			w.spans = append(w.spans, interval{l, h})
			continue
		}
		if !kt.Segment && kt.E.Name == "Initialization" && e.Origin == "AWS::Lambda::Function" {
			w.cold = true
		}
		parent := w.path
		l, h := w.visitChild(k, hi, depth+1, kids, attempts)
		w.path = parent
		w.spans = append(w.spans, interval{l, h})
	}
	spans := w.spans[base:]
	for _, s := range spans {
		lo, hi = min(lo, s.lo), max(hi, s.hi)
	}
	// Self time: the span not covered by any child (union of intervals).
	w.add(lo, hi, max(hi-lo-unionLen(spans), 0))
	w.spans = w.spans[:base]
	return lo, hi
}

// visitChild visits child k with its label pushed on the path; a function
// segment found under an attempt is visited below the attempt.
func (w *walker) visitChild(k int32, parentEnd float64, depth int, siblings []int32, attempts bool) (lo, hi float64) {
	kt := &w.tree[k]
	if depth >= maxDepth || w.parts >= maxParts {
		w.path = w.child(w.path, overflow)
	} else {
		w.path = w.child(w.path, w.label(kt.E, kt.Segment))
	}
	w.parts++
	if !attempts || !strings.HasPrefix(kt.E.Name, "Attempt") || kt.Segment {
		return w.visit(k, parentEnd, depth)
	}
	// An attempt: its function segments are its children here.
	var fns []int32
	for _, s := range siblings {
		if w.attemptOf(siblings, s) == k {
			fns = append(fns, s)
		}
	}
	if len(fns) == 0 {
		return w.visit(k, parentEnd, depth)
	}
	return w.visitAttempt(k, fns, parentEnd, depth)
}

// visitAttempt is visit for an attempt subsegment with extra children.
func (w *walker) visitAttempt(k int32, fns []int32, parentEnd float64, depth int) (lo, hi float64) {
	e := w.tree[k].E
	lo, hi = e.Start, e.End
	if e.InProgress || e.End == 0 {
		hi = max(e.Start, parentEnd)
	}
	type span = interval
	var spans []span
	for _, c := range append(slices.Clone(w.childrenOf(k)), fns...) {
		parent := w.path
		w.path = w.child(w.path, w.label(w.tree[c].E, w.tree[c].Segment))
		l, h := w.visit(c, hi, depth+1)
		w.path = parent
		spans = append(spans, span{l, h})
	}
	for _, s := range spans {
		lo, hi = min(lo, s.lo), max(hi, s.hi)
	}
	w.add(lo, hi, max(hi-lo-unionLen(spans), 0))
	return lo, hi
}

// attemptOf returns the "Attempt #N" subsegment among siblings whose time
// holds the start of function segment k, or -1.
func (w *walker) attemptOf(siblings []int32, k int32) int32 {
	kt := &w.tree[k]
	if !kt.Segment || kt.E.Origin != "AWS::Lambda::Function" {
		return -1
	}
	for _, s := range siblings {
		st := &w.tree[s]
		if st.Segment || !strings.HasPrefix(st.E.Name, "Attempt") {
			continue
		}
		if kt.E.Start >= st.E.Start && (st.E.InProgress || st.E.End == 0 || kt.E.Start <= st.E.End) {
			return s
		}
	}
	return -1
}

// record adds a leaf part (another service's segment) at the path plus
// its label.
func (w *walker) record(k int32, depth int, lo, hi, self float64) {
	label := w.label(w.tree[k].E, true)
	if depth >= maxDepth || w.parts >= maxParts {
		label = overflow
	}
	w.parts++
	parent := w.path
	w.path = w.child(w.path, label)
	w.add(lo, hi, self)
	w.path = parent
}

func (w *walker) add(lo, hi, self float64) {
	w.occ = append(w.occ, occurrence{key: w.path, lo: lo, hi: hi, self: self})
}

// Contributions is what a resolved trace adds to the profile counters:
// per service, per minute (of each invocation's end), per part.
func Contributions(tree []summary.TreeEntity) []graph.Contribution {
	w := getWalker()
	defer w.put()
	invs := w.invocations(tree)
	type cell struct {
		group  string
		minute int64
		key    string
		part   Part
	}
	n := 0
	for _, inv := range invs {
		n += len(inv.Parts)
	}
	cells := make([]cell, 0, n)
	for _, inv := range invs {
		m, ok := minuteOf(inv.End)
		if !ok {
			continue
		}
		g := w.group(inv.Service)
		for _, p := range inv.Parts {
			cells = append(cells, cell{g, m, w.key(inv.Class, p.Key), p})
		}
	}
	slices.SortFunc(cells, func(a, b cell) int {
		return cmp.Or(strings.Compare(a.group, b.group), cmp.Compare(a.minute, b.minute), strings.Compare(a.key, b.key))
	})
	// One allocation holds every part's counters (seven each, unless two
	// invocations share a cell).
	vals := make([]store.Counter, 0, 7*len(cells))
	out := make([]graph.Contribution, 0, len(cells))
	for i := 0; i < len(cells); {
		c := &cells[i]
		start := len(vals)
		vals = appendPart(vals, c.part)
		v := vals[start:len(vals):len(vals)]
		j := i + 1
		for ; j < len(cells) && cells[j].group == c.group && cells[j].minute == c.minute && cells[j].key == c.key; j++ {
			v = addPart(slices.Clone(v), cells[j].part)
		}
		out = append(out, graph.Contribution{Group: c.group, Minute: c.minute, Key: c.key, Values: v})
		i = j
	}
	return out
}

// appendPart appends one invocation's part's counters, in index order.
func appendPart(v []store.Counter, p Part) []store.Counter {
	total, self := micros(p.Total), micros(p.Self)
	ft, fs := float64(total), float64(self)
	for _, c := range [...]store.Counter{
		{Index: IdxCount, Value: 1},
		{Index: IdxSum, Value: ft},
		{Index: IdxSumSq, Value: ft * ft},
		{Index: IdxSelfSum, Value: fs},
		{Index: IdxSelfSumSq, Value: fs * fs},
		{Index: IdxSelfHist + graph.Bucket(self), Value: 1},
		{Index: IdxHist + graph.Bucket(total), Value: 1},
	} {
		if c.Value != 0 {
			v = append(v, c)
		}
	}
	return v
}

// addPart adds one invocation's part to sparse counters v (sorted).
func addPart(v []store.Counter, p Part) []store.Counter {
	var buf [7]store.Counter
	for _, o := range appendPart(buf[:0], p) {
		i, found := slices.BinarySearchFunc(v, o.Index, func(c store.Counter, idx uint32) int { return cmp.Compare(c.Index, idx) })
		if found {
			v[i].Value += o.Value
		} else {
			v = slices.Insert(v, i, o)
		}
	}
	return v
}

func micros(sec float64) int64 {
	if !(sec > 0) {
		return 0
	}
	if sec > 9e6 { // over 100 days: not a duration
		sec = 9e6
	}
	return int64(math.Round(sec * 1e6))
}

func minuteOf(sec float64) (int64, bool) {
	if !(sec > 0) || sec > 1e12 {
		return 0, false
	}
	return int64(math.Floor(sec / 60)), true
}

type interval struct{ lo, hi float64 }

// unionLen is the length of the union of intervals (sorted in place).
func unionLen(s []interval) float64 {
	if len(s) == 0 {
		return 0
	}
	slices.SortFunc(s, func(a, b interval) int { return cmp.Compare(a.lo, b.lo) })
	total := 0.0
	cl, ch := s[0].lo, s[0].hi
	for _, x := range s[1:] {
		if x.lo > ch {
			total += ch - cl
			cl, ch = x.lo, x.hi
		} else {
			ch = max(ch, x.hi)
		}
	}
	return total + ch - cl
}

package summary

import (
	"cmp"
	"slices"

	"github.com/counterspy/counterspy/internal/segment"
)

// The trace's graph (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-servicegraph): a node per service identity (name, type,
// account) of every real segment, plus inferred nodes for downstream calls
// whose callee sent no segment; edges seen from the caller.

type nodeKey struct {
	name, typ, account string
	inferred           bool
}

type edgeKey struct {
	from, to int32
	link     bool
}

// callRef is a call (or request) on edge or node `on`, made by entity g.
type callRef struct {
	on, g int32
}

type alias struct {
	on   int32
	name string
}

type graphScratch struct {
	segs    []int32 // real segment roots, by start
	infs    []int32 // subsegments with an inferred node, by start
	infNode []int32 // infNode[i] is the node of infs[i]
	inf     []inferredCall
	nodes   finder[nodeKey]
	edges   finder[edgeKey]
	reqs    []callRef // on = node
	calls   []callRef // on = edge
	nodeAls []alias
	edgeAls []alias
	rank    []int32 // edge index -> position in Summary.Edges
	order   []int32 // position in Summary.Edges -> edge index
}

func (g *graphScratch) reset() {
	g.segs, g.infs, g.infNode, g.inf = g.segs[:0], g.infs[:0], g.infNode[:0], g.inf[:0]
	g.nodes.reset()
	g.edges.reset()
	g.reqs, g.calls = g.reqs[:0], g.calls[:0]
	g.nodeAls, g.edgeAls, g.rank = g.nodeAls[:0], g.edgeAls[:0], g.rank[:0]
}

func (g *graphScratch) release() {
	clear(g.inf)
	g.nodes.release()
	g.edges.release()
	clear(g.nodeAls)
	clear(g.edgeAls)
}

// graph fills s.Nodes, s.Edges, s.Entry and s.HasInferred.
func (b *Builder) graph(s *Summary) {
	g := &b.g
	for d := range b.rs.Docs {
		if dv := &b.rs.Docs[d]; b.rs.DS[d].Live && !dv.Independent {
			g.segs = append(g.segs, dv.Root)
		}
	}
	b.sortByStart(g.segs)
	for _, r := range g.segs {
		e := b.ents[r].e
		n := g.node(nodeKey{name: e.Name, typ: e.Origin, account: e.AWS.AccountID})
		b.ents[r].node = n
		g.reqs = append(g.reqs, callRef{on: n, g: r})
	}
	b.inferred(s)
	for _, r := range g.segs {
		to := b.ents[r].node
		up := b.ents[r].up
		switch {
		case up < 0:
			g.call(edgeKey{from: -1, to: to}, r)
		case b.owner(up) >= 0:
			e := g.call(edgeKey{from: b.ents[up].node, to: to}, up)
			if name := b.ents[up].e.Name; name != b.ents[r].e.Name {
				g.edgeAls = append(g.edgeAls, alias{on: e, name: name})
				g.nodeAls = append(g.nodeAls, alias{on: to, name: name})
			}
		}
	}
	b.links()
	s.Entry = b.pickEntry()
	b.emitGraph(s)
}

// inferredCall is a subsegment x that stands for inferred node n.
type inferredCall struct {
	x int32
	n segment.InferredNode
}

// inferred adds a node and an edge for every downstream call whose callee
// sent no segment (X-Ray's inference rule, segment.InferNode, the rule Compile uses too).
func (b *Builder) inferred(s *Summary) {
	g := &b.g
	for x := range b.ents {
		ev := &b.ents[x]
		if ev.skip || ev.segChild || b.isSegmentRoot(int32(x)) {
			continue
		}
		in, ok := segment.InferNode(ev.e)
		if !ok {
			continue
		}
		s.HasInferred = true
		if b.owner(int32(x)) >= 0 {
			g.inf = append(g.inf, inferredCall{x: int32(x), n: in})
		}
	}
	// Sorting positions, not the calls: moving their strings costs write
	// barriers while the GC runs.
	order := g.order[:0]
	for i := range g.inf {
		order = append(order, int32(i))
	}
	slices.SortFunc(order, func(p, q int32) int { return b.byStart(g.inf[p].x, g.inf[q].x) })
	for _, i := range order {
		c := &g.inf[i]
		n := g.node(nodeKey{name: c.n.Name, typ: c.n.Type, account: b.ents[c.x].e.AWS.AccountID, inferred: true})
		g.infs = append(g.infs, c.x)
		g.infNode = append(g.infNode, n)
		g.reqs = append(g.reqs, callRef{on: n, g: c.x})
		g.call(edgeKey{from: b.ents[c.x].node, to: n}, c.x)
	}
	g.order = order
}

// links adds an edge for every span link to an entity of this trace: from
// the linked entity's inferred node if it made one (SQS → consumer), else
// from its owner.
func (b *Builder) links() {
	g := &b.g
	for d := range b.docs {
		dv, root := &b.docs[d], b.rs.Docs[d].Root
		if !b.rs.DS[d].Live || len(dv.seg.Links) == 0 {
			continue
		}
		to := b.owner(root)
		if to < 0 {
			continue
		}
		for _, l := range dv.seg.Links {
			if l.TraceID != b.id {
				continue
			}
			p, ok := b.rs.Lookup(l.ID)
			if !ok || p == root {
				continue
			}
			from := b.owner(p)
			if i, ok := slices.BinarySearchFunc(g.infs, p, b.byStart); ok {
				from = g.infNode[i]
			}
			if from >= 0 {
				g.call(edgeKey{from: from, to: to, link: true}, p)
			}
		}
	}
}

// pickEntry picks the entry segment and returns its node: the earliest
// segment with no parent in the trace; should every segment have one (a
// loop of parents), the earliest.
func (b *Builder) pickEntry() int32 {
	g := &b.g
	if len(g.segs) == 0 {
		return -1
	}
	for _, r := range g.segs {
		if b.ents[r].up < 0 {
			b.entry = r
			return b.ents[r].node
		}
	}
	b.entry = g.segs[0]
	return b.ents[g.segs[0]].node
}

func (g *graphScratch) node(k nodeKey) int32 {
	i, _ := g.nodes.intern(k)
	return i
}

// call records a call made by entity x on edge k and returns the edge.
func (g *graphScratch) call(k edgeKey, x int32) int32 {
	e, _ := g.edges.intern(k)
	g.calls = append(g.calls, callRef{on: e, g: x})
	return e
}

// emitGraph writes the nodes and edges into s, in a deterministic order:
// nodes by their first request (real ones, then inferred), edges by
// (From, To), calls and requests by start time.
func (b *Builder) emitGraph(s *Summary) {
	g := &b.g
	slices.SortStableFunc(g.reqs, func(x, y callRef) int { return cmp.Compare(x.on, y.on) })

	edges := g.edges.list
	g.order = growTo(g.order, len(edges))
	order := g.order
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int {
		ex, ey := edges[x], edges[y]
		if c := cmp.Compare(ex.from, ey.from); c != 0 {
			return c
		}
		if c := cmp.Compare(ex.to, ey.to); c != 0 {
			return c
		}
		return cmpBool(ex.link, ey.link)
	})
	g.rank = growTo(g.rank, len(edges))
	for pos, e := range order {
		g.rank[e] = int32(pos)
	}
	for i := range g.calls {
		g.calls[i].on = g.rank[g.calls[i].on]
	}
	slices.SortFunc(g.calls, func(x, y callRef) int {
		if c := cmp.Compare(x.on, y.on); c != 0 {
			return c
		}
		return b.byStart(x.g, y.g)
	})
	// The same caller entity can call one edge's callee several times
	// (Lambda retries: one service segment, an attempt per function
	// segment); it is one call.
	g.calls = slices.CompactFunc(g.calls, func(x, y callRef) bool {
		return x.on == y.on && b.rs.Ents[x.g].ID == b.rs.Ents[y.g].ID
	})
	for i := range g.edgeAls {
		g.edgeAls[i].on = g.rank[g.edgeAls[i].on]
	}
	g.nodeAls = sortAliases(g.nodeAls)
	g.edgeAls = sortAliases(g.edgeAls)

	nodes := g.nodes.list
	if len(nodes) == 0 {
		return
	}
	calls := make([]Call, len(g.reqs)+len(g.calls))
	strs := make([]string, len(nodes)+len(g.nodeAls)+len(g.edgeAls))
	s.Nodes = make([]Node, len(nodes))
	reqs, als := g.reqs, g.nodeAls
	for i, k := range nodes {
		n := &s.Nodes[i]
		n.Name, n.Type, n.AccountID, n.Inferred, n.Root = k.name, k.typ, k.account, k.inferred, int32(i) == s.Entry
		m := 0
		for m < len(reqs) && reqs[m].on == int32(i) {
			m++
		}
		n.Requests = carve(&calls, m)
		for j, r := range reqs[:m] {
			n.Requests[j] = callOf(b.ents[r.g].e)
		}
		if m > 0 {
			n.HTTP = httpOf(&b.ents[reqs[0].g].e.HTTP)
		}
		reqs = reqs[m:]
		a := 0
		for a < len(als) && als[a].on == int32(i) {
			a++
		}
		n.Names = carve(&strs, 1+a)
		n.Names[0] = n.Name
		for j := range als[:a] {
			n.Names[1+j] = als[j].name
		}
		als = als[a:]
		n.aggregate()
	}
	if len(edges) == 0 {
		return
	}
	s.Edges = make([]Edge, len(edges))
	cs, als := g.calls, g.edgeAls
	for pos, e := range order {
		k := edges[e]
		ed := &s.Edges[pos]
		ed.From, ed.To, ed.Link = k.from, k.to, k.link
		m := 0
		for m < len(cs) && cs[m].on == int32(pos) {
			m++
		}
		ed.Calls = carve(&calls, m)
		for j, c := range cs[:m] {
			ed.Calls[j] = callOf(b.ents[c.g].e)
		}
		if m > 0 {
			ed.HTTP = httpOf(&b.ents[cs[0].g].e.HTTP)
		}
		cs = cs[m:]
		a := 0
		for a < len(als) && als[a].on == int32(pos) {
			a++
		}
		ed.Aliases = carve(&strs, a)
		for j := range als[:a] {
			ed.Aliases[j] = als[j].name
		}
		als = als[a:]
		ed.aggregate()
	}
}

func sortAliases(a []alias) []alias {
	slices.SortFunc(a, func(x, y alias) int {
		if c := cmp.Compare(x.on, y.on); c != 0 {
			return c
		}
		return cmp.Compare(x.name, y.name)
	})
	return slices.Compact(a)
}

func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

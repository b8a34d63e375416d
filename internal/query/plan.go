package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/store"
)

// Plan is how a page is found; String renders it for logs and tests.
type Plan struct {
	Order store.Order
	// From and To are the position seconds scanned: From <= sec < To.
	From, To int64
	// Resume is set when the scan continues from a NextToken.
	Resume bool
	// Lookup is the number of trace IDs looked up instead of a scan.
	Lookup int
	// Empty: Index is a condition no trace can meet (an empty union of
	// terms), so nothing is read.
	Empty bool
	// Index is the condition whose terms the scan follows; nil for a scan
	// of every summary.
	Index *filter.Condition
	// Terms are Index's terms (a union).
	Terms []store.Term
	// Candidates is how many conditions had index terms.
	Candidates int
	// Probed is the number of rows the probe read, in the seconds
	// [ProbeFrom, To); Estimate is how many of those the chosen (or best
	// rejected) candidate's terms count there, or -1 when not estimated.
	Probed    int
	ProbeFrom int64
	Estimate  int
	// Why explains a scan of every summary.
	Why string
	// Checks are conditions tested (Condition.Holds) before the full
	// filter.
	Checks []filter.Condition
	// Where are the conditions pushed down to the store (SummaryScan.Where,
	// for a store that declares store.PushDown): necessary conditions on
	// the fields it evaluates natively.
	Where []store.FieldCond
}

// String renders p, e.g.
//
//	scan ByStart [2024-05-01T10:00:00Z,2024-05-01T11:00:00Z) terms=node id(name: "items") with fault (1 term) est=12/1024
func (p Plan) String() string {
	var b strings.Builder
	order := "ByStart"
	if p.Order == store.ByEnd {
		order = "ByEnd"
	}
	verb := "scan"
	if p.Lookup > 0 {
		verb = "lookup " + strconv.Itoa(p.Lookup)
	}
	fmt.Fprintf(&b, "%s %s [%s,%s)", verb, order, secString(p.From), secString(p.To))
	if p.Resume {
		b.WriteString(" resumed")
	}
	switch {
	case p.Lookup > 0:
	case p.Empty:
		fmt.Fprintf(&b, " empty: no trace can have %s", p.Index)
	case p.Index != nil:
		fmt.Fprintf(&b, " terms=%s (%d term", p.Index, len(p.Terms))
		if len(p.Terms) != 1 {
			b.WriteByte('s')
		}
		fmt.Fprintf(&b, ") est=%d/%d", p.Estimate, p.Probed)
	default:
		b.WriteString(" all")
		if p.Why != "" {
			b.WriteString(": " + p.Why)
		}
	}
	if len(p.Where) > 0 {
		fmt.Fprintf(&b, " where=%d", len(p.Where))
	}
	return b.String()
}

func secString(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

type candidate struct {
	cond  filter.Condition
	terms []store.Term
}

// plan decides how to scan what is left of the window.
func (e *Engine) plan(ctx context.Context, q *Query, w *window, before *store.Position) (Plan, error) {
	p := Plan{Order: w.order, From: w.from, To: w.to, Resume: before != nil, Estimate: -1}
	if q.Filter == nil {
		p.Why = "no filter"
		return p, nil
	}
	conds := q.Filter.Necessary()
	p.Where = e.where(conds)
	var cands []candidate
	for i, c := range conds {
		terms, ok := e.index.ForCondition(c)
		if !ok {
			continue
		}
		if len(terms) == 0 {
			p.Empty, p.Index = true, &conds[i]
			return p, nil
		}
		cands = append(cands, candidate{c, terms})
	}
	p.Candidates = len(cands)
	p.Checks = conds
	switch {
	case len(cands) == 0:
		p.Why = "no indexed condition"
		return p, nil
	case w.order != store.ByStart:
		p.Why = "no index by last activity"
		return p, nil
	}

	hi := w.to
	if before != nil {
		hi = min(hi, before.Sec+1)
	}
	n, lo, err := e.probe(ctx, w, before)
	if err != nil {
		return p, err
	}
	p.Probed, p.ProbeFrom = n, lo
	if n == 0 {
		p.Why = "nothing left in the window"
		return p, nil
	}
	// A candidate is followed when its terms count at most limit in the
	// probed seconds; counting beyond that is wasted.
	limit := int(e.opts.IndexRatio * float64(n))
	best, bestEst := -1, 0
	for i := range cands {
		est, err := e.estimate(ctx, cands[i].terms, lo, hi, limit+1)
		if err != nil {
			return p, err
		}
		if best < 0 || est < bestEst {
			best, bestEst = i, est
		}
	}
	p.Estimate = bestEst
	if bestEst > limit {
		p.Why = fmt.Sprintf("best index %s has ≥%d of %d rows", cands[best].cond, bestEst, n)
		return p, nil
	}
	c := cands[best]
	p.Index, p.Terms = &c.cond, c.terms
	// A node's or an annotation's terms name its service or key: what
	// Where would test of them again is left to the re-check, since a
	// scan with Where costs ClickHouse a count of every second of its
	// slice (service("x") { fault } on its node-flag term: 64 → 109 ms a
	// first page at 100 k traces with it).
	if c.cond.Kind == filter.CondNode || c.cond.Kind == filter.CondAnnotation {
		implied := e.where([]filter.Condition{c.cond})
		p.Where = slices.DeleteFunc(p.Where, func(w store.FieldCond) bool { return slices.Contains(implied, w) })
	}
	// The followed condition holds for nearly every candidate; check the
	// others.
	p.Checks = make([]filter.Condition, 0, len(conds)-1)
	for _, x := range conds {
		if x != c.cond {
			p.Checks = append(p.Checks, x)
		}
	}
	return p, nil
}

// probeCap bounds the probe when many rows share a second.
const probeCap = 4

// probe counts the newest rows left in the window, without decoding them:
// at least ProbeRows of them and then the rest of the last second reached
// (so that the seconds [lo, hi) are counted whole), or every row when the
// window holds fewer. It stops at probeCap·ProbeRows rows within a second.
func (e *Engine) probe(ctx context.Context, w *window, before *store.Position) (n int, lo int64, err error) {
	scan := store.SummaryScan{Order: w.order, From: w.from, To: w.to, Before: before, Positions: true}
	lo = w.from
	var last int64
	for row, err := range e.st.ScanSummaries(ctx, scan) {
		if err != nil {
			return 0, 0, fmt.Errorf("probe summaries: %w", err)
		}
		if n >= e.opts.ProbeRows && row.Pos.Sec != last || n >= probeCap*e.opts.ProbeRows {
			return n, last, nil
		}
		n++
		last = row.Pos.Sec
	}
	return n, lo, nil
}

// estimate counts the traces indexed under terms in [from, to), up to
// limit: the store's estimate of the union (store.TermEstimator), or the sum
// of CountTerm.
func (e *Engine) estimate(ctx context.Context, terms []store.Term, from, to int64, limit int) (int, error) {
	if e.estimator != nil {
		n, err := e.estimator.EstimateTerms(ctx, terms, from, to, limit)
		if err != nil {
			return 0, fmt.Errorf("estimate %d index terms: %w", len(terms), err)
		}
		return n, nil
	}
	sum := 0
	for _, t := range terms {
		c, err := e.st.CountTerm(ctx, t, from, to, limit-sum)
		if err != nil {
			return 0, fmt.Errorf("count index term %#x: %w", uint64(t), err)
		}
		if sum += c; sum >= limit {
			return limit, nil
		}
	}
	return sum, nil
}

// where translates the necessary conditions the store can evaluate
// natively (store.PushDown) into SummaryScan.Where conditions. Each is
// implied by its condition, so that the store never leaves out a trace
// the filter matches: ranges become closed bounds, trace flags equalities,
// an annotation condition "has the key", an http.method or http.url
// comparison the same comparison on the entry request's field, an edge
// between named services (with its block's flag) that edge's key, a named
// node (or edge end, when its edge is not pushed down) "has a service of
// that name".
func (e *Engine) where(conds []filter.Condition) []store.FieldCond {
	if e.pushDown == nil {
		return nil
	}
	var out []store.FieldCond
	var edgeEnds []string // the names of the edges pushed down
	add := func(c store.FieldCond) {
		// Necessary may name a node both as itself and as an edge's end.
		if e.pushDown.PushesDown(c.Field) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	flag := func(f store.Field, want bool) store.FieldCond {
		c := store.FieldCond{Field: f, Op: store.Eq}
		if want {
			c.Num = 1
		}
		return c
	}
	for _, c := range conds {
		switch c.Kind {
		case filter.CondFlag:
			switch c.Flag {
			case filter.FlagFault:
				add(flag(store.FieldFault, c.Want))
			case filter.FlagError:
				add(flag(store.FieldError, c.Want))
			case filter.FlagThrottle:
				add(flag(store.FieldThrottle, c.Want))
			case filter.FlagPartial:
				add(flag(store.FieldPartial, c.Want))
			case filter.FlagInferred:
				add(flag(store.FieldInferred, c.Want))
			case filter.FlagOK:
				if c.Want { // ok: neither fault nor error
					add(flag(store.FieldFault, false))
					add(flag(store.FieldError, false))
				}
			}
		case filter.CondRange:
			var f store.Field
			switch c.Field {
			case filter.FieldDuration:
				f = store.FieldDuration
			case filter.FieldResponseTime:
				f = store.FieldResponseTime
			case filter.FieldHTTPStatus:
				f = store.FieldHTTPStatus
			default:
				continue
			}
			if !math.IsInf(c.Min, -1) && !math.IsNaN(c.Min) {
				add(store.FieldCond{Field: f, Op: store.Ge, Num: c.Min})
			}
			if !math.IsInf(c.Max, 1) && !math.IsNaN(c.Max) {
				add(store.FieldCond{Field: f, Op: store.Le, Num: c.Max})
			}
		case filter.CondAnnotation:
			add(store.FieldCond{Field: store.FieldAnnotationKey, Op: store.Has, Str: c.Annotation.Key})
		case filter.CondNode:
			// A named node: the trace has a service known by that name
			// (Services holds every name, as service() matches).
			// With a block's flag, a node known by that name had it
			// (ServiceFlags).
			if c.Node.Name != "" {
				add(store.FieldCond{Field: store.FieldService, Op: store.Has, Str: c.Node.Name, Num: float64(edgeFlag(c.NodeFlag))})
			}
		case filter.CondEdge:
			// Both ends are nodes known by their names: the callee (what
			// the index term of an edge, Node(To.Name), says too), and
			// the caller, a node, or the client, which is named after the
			// node it calls (filter.NodeRef.MatchClient).
			for _, name := range []string{c.Node.Name, c.To.Name} {
				if name != "" {
					add(store.FieldCond{Field: store.FieldService, Op: store.Has, Str: name})
				}
			}
			// Both ends named (the client is not an edge of the fields:
			// a "client" type only matches it): the trace has an edge
			// between the names, with the block's flag.
			if c.Node.Name == "" || c.To.Name == "" || c.Node.Type == "client" {
				continue
			}
			add(store.FieldCond{Field: store.FieldEdge, Op: store.Has, Str: store.EdgeKey(c.Node.Name, c.To.Name), Num: float64(edgeFlag(c.NodeFlag))})
			if e.pushDown.PushesDown(store.FieldEdge) {
				edgeEnds = append(edgeEnds, c.Node.Name, c.To.Name)
			}
		case filter.CondString:
			var f store.Field
			switch c.Field {
			case filter.FieldHTTPURL:
				f = store.FieldHTTPURL
			case filter.FieldHTTPMethod:
				f = store.FieldHTTPMethod
			default:
				continue
			}
			op := store.Eq
			switch {
			case c.Prefix:
				op = store.Prefix
			case c.Contains:
				op = store.Contains
			}
			add(store.FieldCond{Field: f, Op: op, Str: c.Text})
		}
	}
	// An edge between two names implies services of those names: testing
	// them too only costs (ClickHouse: edge block 188 → 227 ms a first
	// page at 100 k traces with them).
	return slices.DeleteFunc(out, func(c store.FieldCond) bool {
		return c.Field == store.FieldService && slices.Contains(edgeEnds, c.Str)
	})
}

// edgeFlag is a block's flag (service() { fault }, edge() { error }) as
// store.EdgeFlags, 0 for none or another flag.
func edgeFlag(f filter.Flag) store.EdgeFlags {
	switch f {
	case filter.FlagError:
		return store.EdgeError
	case filter.FlagFault:
		return store.EdgeFault
	case filter.FlagThrottle:
		return store.EdgeThrottle
	}
	return 0
}

// Package query answers GetTraceSummaries: which stored traces fall in a time
// window and match a filter expression, a page at a time, newest first. It
// plans the scan (which index term to follow, if any), runs it within a
// budget, and resumes it from an opaque cursor.
//
// It knows the store only through store.SummaryReader and never trusts an
// index: every candidate is decoded and checked with filter.Expr.Match, so
// a backend may return extra candidates (stale terms, hash collisions, a
// backend without indexes) without changing a result. That is also how a
// backend that pushes part of a filter down (ClickHouse) reuses it: as the
// post-filter over whatever SummaryReader it exposes.
//
// # Time ranges
//
//   - TraceID (X-Ray's default) selects traces by their start: the store's
//     ByStart order, whose position second is the epoch in the trace ID (or
//     the first arrival, for implausible IDs).
//   - Event and Service both select traces by their last activity: the
//     store's ByEnd order, whose position is the latest end (or start, while
//     in progress) of any of the trace's segments and subsegments. X-Ray
//     distinguishes "any update" (Event) from "a segment's end" (Service);
//     a summary keeps only the latest activity, so both mean "the trace's
//     last activity is in the window". MatchedEventTime is that time.
//
// A window [Start, End) is scanned by whole position seconds; in the first
// and last second, when the window's bounds are not whole seconds, the
// trace's exact time decides (its Start, or its last activity), clamped
// into its position second so that the choice agrees with the order.
//
// # Sampling
//
//   - FixedRate v keeps a trace when a hash of its ID, in [0, 1), is below
//     v: the same traces on every call and every page.
//   - PartialScan v scans only the newest fraction v of the window's time
//     span: [End − v·(End − Start), End).
//
// # Plans
//
// With a filter, Expr.Necessary lists conditions every matching trace
// meets; the index terms the store was given (index.For: a store that
// pushes a field down, store.IndexPolicy, gets none for it, and the
// condition is pushed down instead) turn those they can into terms. To choose,
// the planner reads the newest rows of the (remaining) window without
// decoding them (the probe, Options.ProbeRows), counts each candidate's
// terms over the same seconds with store.CountTerm, and follows the
// candidate with the fewest when that is at most Options.IndexRatio of the
// probed rows; otherwise it scans every summary. The ByEnd order has no
// index, so Event and Service always scan. A condition that no trace can
// meet (an empty union of terms) ends the query at once. Plan describes the
// choice; each page plans again, over what is left of the window.
//
// # Pages and budgets
//
// A call returns at most Options.PageSize summaries, and stops early, with
// a NextToken, after examining Options.MaxExamined summaries or spending
// Options.MaxTime, so no call takes unbounded time even when few traces
// match. Decoding summaries is most of a scan's cost: a scan that has read
// Options.SerialRows rows without filling its page hands decoding and
// filtering to Options.Workers goroutines and applies their verdicts in
// scan order, so the page is the one a serial scan gives.
//
// A NextToken holds the position reached (second and trace ID) with the
// query it belongs to and a checksum: a modified token, or a token used
// with another window, time range type, filter or sampling, is rejected
// with an *InvalidError.
//
// Paging by TraceID returns every trace in the window exactly once (traces
// written while paging appear if their position is below the cursor). By
// Event or Service a trace is never returned twice, since its position only
// moves forward; a trace that receives segments while a client pages may
// move above the cursor and be missed by that pagination.
package query

package clickhouse

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
)

// PushesDown implements store.PushDown: a scan tests the Where conditions
// on every flat column (the newest revision's, whereSQL) and
// transfers no summary for the rows that fail them.
func (s *Store) PushesDown(f store.Field) bool {
	switch f {
	case store.FieldFault, store.FieldError, store.FieldThrottle, store.FieldPartial, store.FieldDuration,
		store.FieldResponseTime, store.FieldHTTPStatus, store.FieldService, store.FieldAnnotationKey,
		store.FieldHTTPMethod, store.FieldHTTPURL, store.FieldEdge, store.FieldInferred:
		return true
	}
	return false
}

// Unindexed implements store.IndexPolicy: the writer gives the store no
// index terms for the fields a scan tests natively
// (store.UnindexedWhenPushedDown). A folded scan skips a second with no match
// in one row, so those terms (3.5 rows a segment, 43 bytes on disk) saved
// little; old rows keep theirs, unused.
func (s *Store) Unindexed(f store.Field) bool { return store.UnindexedWhenPushedDown(f) }

var (
	_ store.PushDown    = (*Store)(nil)
	_ store.IndexPolicy = (*Store)(nil)
)

// whereSQL is an aggregate expression, over the revisions of one trace,
// that is 0 only when the newest revision certainly fails one of where
// (store.FieldCond.Holds): never for a revision whose writer left its
// Fields empty, nor on a condition it cannot translate exactly.
func whereSQL(where []store.FieldCond) string {
	var conds []string
	for _, c := range where {
		if e := condSQL(c); e != "" {
			conds = append(conds, e)
		}
	}
	if len(conds) == 0 {
		return "1"
	}
	// The conditions are tested on each revision's row and the newest
	// revision's verdict kept: argMax of a UInt8, not of every column
	// the conditions read (argMax of an array column copies the array
	// into the aggregate's state: 2.5-4× slower on a slice of 28 k
	// traces with has() over services).
	return "argMax(fields = 0 OR (" + strings.Join(conds, " AND ") + "), seq)"
}

// condSQL translates one condition, or returns "" (it holds).
func condSQL(c store.FieldCond) string {
	var col string
	switch c.Field {
	case store.FieldFault:
		col = "fault"
	case store.FieldError:
		col = "error"
	case store.FieldThrottle:
		col = "throttle"
	case store.FieldPartial, store.FieldInferred:
		return partialSQL(c)
	case store.FieldDuration:
		col = "duration"
	case store.FieldResponseTime:
		col = "response_time"
	case store.FieldHTTPStatus:
		return statusSQL(c)
	case store.FieldService:
		return serviceSQL(c)
	case store.FieldAnnotationKey:
		if c.Op != store.Has {
			return ""
		}
		return "has(" + "annotation_keys" + ", " + quote(c.Str) + ")"
	case store.FieldHTTPMethod, store.FieldHTTPURL:
		return stringSQL(c)
	case store.FieldEdge:
		return edgeSQL(c)
	default:
		return ""
	}
	n, ok := num(c.Num)
	if !ok {
		return ""
	}
	switch c.Op {
	case store.Eq:
		return "(" + col + " = " + n + ")"
	case store.Ge:
		return "(" + col + " >= " + n + ")"
	case store.Le:
		return "(" + col + " <= " + n + ")"
	}
	return ""
}

// num formats a finite number as a literal; NaN and infinities are left to
// the caller's re-check.
func num(v float64) (string, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", false
	}
	return "toFloat64(" + strconv.FormatFloat(v, 'g', -1, 64) + ")", true
}

// statusSQL tests http_status, which holds the status clamped to [0,
// 65535]: a stored 0 may be any status up to 0, a stored 65535 any from
// 65535 up, and neither is skipped on a comparison such a status could
// meet.
func statusSQL(c store.FieldCond) string {
	n, ok := num(c.Num)
	if !ok {
		return ""
	}
	col := "http_status"
	switch c.Op {
	case store.Eq:
		switch {
		case c.Num <= 0:
			return "(" + col + " = 0)"
		case c.Num >= 65535:
			return "(" + col + " = 65535)"
		}
		return "(" + col + " = " + n + ")"
	case store.Ge:
		return "(" + col + " >= " + n + " OR " + col + " = 65535)"
	case store.Le:
		return "(" + col + " <= " + n + " OR " + col + " = 0)"
	}
	return ""
}

// stringSQL tests http_method or http_url, which hold the entry request's
// values in full. The comparisons are on bytes, as Go's: a prefix is the
// first length(p) bytes (substring counts bytes), and position() of an
// empty needle is 1, as strings.Contains of "" is true.
func stringSQL(c store.FieldCond) string {
	col := "http_url"
	if c.Field == store.FieldHTTPMethod {
		col = "http_method"
	}
	v := quote(c.Str)
	switch c.Op {
	case store.Eq:
		return "(" + col + " = " + v + ")"
	case store.Prefix:
		return "(substring(" + col + ", 1, length(" + v + ")) = " + v + ")"
	case store.Contains:
		return "(position(" + col + ", " + v + ") > 0)"
	}
	return ""
}

// partialSQL tests the partial column: bit 0 the partial flag, bit 1 the
// inferred one (partialBits) in the rows whose fields value is in
// fieldsNames; the others are never skipped on inferred.
func partialSQL(c store.FieldCond) string {
	if c.Op != store.Eq || c.Num != 0 && c.Num != 1 {
		return ""
	}
	col := "partial"
	if c.Field == store.FieldPartial {
		return fmt.Sprintf("(bitAnd(%s, 1) = %d)", col, int(c.Num))
	}
	return fmt.Sprintf("(%s NOT IN (%s) OR bitAnd(%s, 2) = %d)", "fields", fieldsNames, col, 2*int(c.Num))
}

// edgeSQL tests the edges and edge_flags columns (SummaryFields.Edges),
// filled in the rows whose fields value is in fieldsEdges: the others,
// written before schema version 3 or without edges, are never skipped on
// an edge.
func edgeSQL(c store.FieldCond) string {
	want := store.EdgeFlags(c.Num)
	if c.Op != store.Has || float64(want) != c.Num {
		return ""
	}
	return fmt.Sprintf("(%s NOT IN (%s) OR arrayExists((k, f) -> k = %s AND bitAnd(f, %d) = %d, %s, %s))",
		"fields", fieldsEdges, quote(c.Str), want, want, "edges", "edge_flags")
}

// serviceSQL tests a service name, in the rows whose services hold every
// name (fieldsNames), and with a flag (service("x") { fault }) the
// entries of servicesColumn, in the rows that have them
// (fieldsServiceFlags): other rows are never skipped on it.
func serviceSQL(c store.FieldCond) string {
	if c.Op != store.Has {
		return ""
	}
	name := "(" + "fields" + " NOT IN (" + fieldsNames + ") OR has(" + "services" + ", " + quote(c.Str) + "))"
	want := store.EdgeFlags(c.Num)
	if want == 0 || float64(want) != c.Num {
		return name
	}
	var flags []string
	for _, fl := range [...]store.EdgeFlags{store.EdgeError, store.EdgeFault, store.EdgeThrottle} {
		if want&fl != 0 {
			flags = append(flags, "has("+"services"+", "+quote(serviceFlagKey(c.Str, fl))+")")
		}
	}
	if want&^(store.EdgeError|store.EdgeFault|store.EdgeThrottle) != 0 {
		return name // a flag the column does not hold
	}
	return name + " AND (" + "fields" + " NOT IN (" + fieldsServiceFlags + ") OR " + strings.Join(flags, " AND ") + ")"
}

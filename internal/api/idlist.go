package api

import (
	"strings"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// maxIDList bounds a filter expression made of trace IDs.
const maxIDList = 100

// traceIDList reads a filter expression made only of trace IDs, separated
// by spaces or commas (what the filter language cannot express: the
// console lists a profile's example traces this way). ok is false for
// anything else, which is then parsed as a filter expression.
func traceIDList(expr string) (ids []xrayid.TraceID, ok bool) {
	fields := strings.FieldsFunc(expr, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 || len(fields) > maxIDList {
		return nil, false
	}
	for _, f := range fields {
		id, err := xrayid.ParseTraceID(f)
		if err != nil {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

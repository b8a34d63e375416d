package clickhouse

import "fmt"

// byEndSQL is one page of a ByEnd scan: traces whose newest revision's
// end_sec lies in [from, to), after the resume condition cond, newest
// first. Only traces with some revision ending in the range can qualify
// (the newest is one of them), so the revisions are grouped for those
// alone: the IN subquery reads the end_sec column, and the grouping reads
// the summaries of the candidates by primary key instead of every summary
// in the table. In cluster mode the subquery names the local table, so
// each shard answers it from its own rows (cluster.go).
func (s *Store) byEndSQL(from, to int64, cond string) string {
	table := "summaries"
	if s.opts.Cluster != "" {
		table = s.opts.Database + ".summaries_local"
	}
	return fmt.Sprintf("SELECT trace_id, pos, s FROM (SELECT trace_id, argMax(end_sec, seq) AS pos, argMax(summary, seq) AS s FROM summaries"+
		" WHERE trace_id IN (SELECT trace_id FROM %s WHERE end_sec >= %d AND end_sec < %d) GROUP BY trace_id)"+
		" WHERE pos >= %d AND pos < %d%s ORDER BY pos DESC, trace_id DESC LIMIT %d",
		table, from, to, from, to, cond, pageSize)
}

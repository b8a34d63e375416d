package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

func init() {
	commands["map"] = command{"show the service map: nodes and edges with request counts, error rates and latencies (GetServiceGraph)", runMap}
}

func runMap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("map", stderr)
	cf := addClientFlags(fs)
	wf := addWindowFlags(fs)
	group := fs.String("group", "", "show the map of this group (`name` or ARN) instead of every trace (the Default group)")
	asJSON := fs.Bool("json", false, "print the services (nodes with their edges) as JSON, one object per line, instead of the tables")
	setUsage(fs, "[flags]", `
Shows the service map of a time window: every service (node) with the requests it served,
then every call between services (edge) as the caller saw it. Rates are shares of the
requests: ERROR client errors (4xx) other than throttling, THROTTLE (429), FAULT (5xx);
latencies are response times (p50/p90/p99 from the server's histograms, ±2%).
A client node stands for whoever called a trace's entry service; '*' marks entry services.`,
		`counterspy map --since 1h`,
		`counterspy map --group python-faults --since 6h`,
		`counterspy map --start 2026-12-01T10:00:00Z --end 2026-12-01T11:00:00Z --json`)

	if err := parseFlags(fs, args); err != nil {
		return err
	}
	from, to, err := wf.window(fs, time.Now())
	if err != nil {
		return err
	}
	client, err := cf.client()
	if err != nil {
		return err
	}
	in := &xray.GetServiceGraphInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	if g := strings.TrimSpace(*group); g != "" {
		if strings.HasPrefix(g, "arn:") {
			in.GroupARN = aws.String(g)
		} else {
			in.GroupName = aws.String(g)
		}
	}
	var svcs []types.Service
	old := false
	p := xray.NewGetServiceGraphPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return cf.apiError("GetServiceGraph", err)
		}
		svcs = append(svcs, page.Services...)
		old = old || page.ContainsOldGroupVersions
	}
	if len(svcs) == 0 {
		what := "every trace"
		if *group != "" {
			what = "group " + strconv.Quote(*group)
		}
		fmt.Fprintf(stderr, "counterspy map: no requests from %s to %s (%s)\n", from.Local().Format(time.DateTime), to.Local().Format(time.DateTime), what)
		return nil
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, svc := range svcs {
			if err := enc.Encode(svc); err != nil {
				return fmt.Errorf("write JSON: %w", err)
			}
		}
		return nil
	}
	if err := writeMap(stdout, svcs); err != nil {
		return err
	}
	if old {
		fmt.Fprintln(stderr, "counterspy map: the group's filter expression changed within the window; older counts used the older expression")
	}
	return nil
}

// writeMap prints the nodes table, then the edges table.
func writeMap(w io.Writer, svcs []types.Service) error {
	byRef := make(map[int32]*types.Service, len(svcs))
	for i := range svcs {
		byRef[aws.ToInt32(svcs[i].ReferenceId)] = &svcs[i]
	}
	label := func(s *types.Service) string {
		if s == nil {
			return "?"
		}
		name := clean(aws.ToString(s.Name))
		if typ := aws.ToString(s.Type); typ == "client" {
			return "client (of " + name + ")"
		} else if typ != "" {
			return name + " [" + clean(typ) + "]"
		}
		return name
	}

	nodes := make([]*types.Service, 0, len(svcs))
	for i := range svcs {
		if svcs[i].SummaryStatistics != nil {
			nodes = append(nodes, &svcs[i])
		}
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		return aws.ToInt64(nodes[i].SummaryStatistics.TotalCount) > aws.ToInt64(nodes[j].SummaryStatistics.TotalCount)
	})
	nt := [][]string{{"SERVICE", "TYPE", "REQUESTS", "ERROR", "THROTTLE", "FAULT", "AVG", "P50", "P90", "P99"}}
	for _, s := range nodes {
		st := s.SummaryStatistics
		name := clean(aws.ToString(s.Name))
		if aws.ToBool(s.Root) {
			name = "* " + name
		}
		row := []string{name, clean(aws.ToString(s.Type))}
		nt = append(nt, append(row, statCells(aws.ToInt64(st.TotalCount), st.ErrorStatistics, st.FaultStatistics,
			aws.ToFloat64(st.TotalResponseTime), s.ResponseTimeHistogram)...))
	}

	type edge struct {
		from, to *types.Service
		e        *types.Edge
	}
	var edges []edge
	for i := range svcs {
		for k := range svcs[i].Edges {
			e := &svcs[i].Edges[k]
			edges = append(edges, edge{&svcs[i], byRef[aws.ToInt32(e.ReferenceId)], e})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool { return edgeCalls(edges[i].e) > edgeCalls(edges[j].e) })
	et := [][]string{{"CALLER", "CALLEE", "CALLS", "ERROR", "THROTTLE", "FAULT", "AVG", "P50", "P90", "P99"}}
	for _, e := range edges {
		callee := label(e.to)
		if aws.ToString(e.e.EdgeType) == "link" {
			callee += " (link)"
		}
		var als []string
		for _, a := range e.e.Aliases {
			als = append(als, clean(aws.ToString(a.Name)))
		}
		if len(als) > 0 {
			callee += " as " + strings.Join(als, ", ")
		}
		row := []string{label(e.from), callee}
		if st := e.e.SummaryStatistics; st != nil {
			row = append(row, statCells(aws.ToInt64(st.TotalCount), st.ErrorStatistics, st.FaultStatistics,
				aws.ToFloat64(st.TotalResponseTime), e.e.ResponseTimeHistogram)...)
		} else {
			row = append(row, statCells(0, nil, nil, 0, nil)...)
		}
		et = append(et, row)
	}
	var b strings.Builder
	writeTable(&b, nt, 2)
	b.WriteByte('\n')
	writeTable(&b, et, 2)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// writeTable writes rows as columns two spaces apart: the first left
// columns flush left, the others (numbers) flush right.
func writeTable(b *strings.Builder, rows [][]string, left int) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if i < left {
				line.WriteString(c + pad)
			} else {
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

func edgeCalls(e *types.Edge) int64 {
	if e.SummaryStatistics == nil {
		return 0
	}
	return aws.ToInt64(e.SummaryStatistics.TotalCount)
}

// statCells are the numeric cells of a node or an edge.
func statCells(total int64, es *types.ErrorStatistics, fs *types.FaultStatistics, rt float64, h []types.HistogramEntry) []string {
	var errs, throttles, faults int64
	if es != nil {
		errs, throttles = aws.ToInt64(es.OtherCount), aws.ToInt64(es.ThrottleCount)
	}
	if fs != nil {
		faults = aws.ToInt64(fs.TotalCount)
	}
	rate := func(n int64) string {
		if total == 0 {
			return "-"
		}
		return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + "%"
	}
	avg := "-"
	if total > 0 {
		avg = latency(rt / float64(total))
	}
	cells := []string{strconv.FormatInt(total, 10), rate(errs), rate(throttles), rate(faults), avg}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if v, ok := percentile(h, q); ok {
			cells = append(cells, latency(v))
		} else {
			cells = append(cells, "-")
		}
	}
	return cells
}

// percentile reads the q-quantile off a histogram: the smallest value with
// at least q of the counts at or below it.
func percentile(h []types.HistogramEntry, q float64) (float64, bool) {
	entries := append([]types.HistogramEntry(nil), h...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Value < entries[j].Value })
	var total int64
	for _, e := range entries {
		total += int64(max(e.Count, 0))
	}
	if total == 0 {
		return 0, false
	}
	need := int64(math.Ceil(q * float64(total)))
	var cum int64
	for _, e := range entries {
		cum += int64(max(e.Count, 0))
		if cum >= need {
			return e.Value, true
		}
	}
	return entries[len(entries)-1].Value, true
}

// latency formats seconds: 0.42ms, 98ms, 1.25s, 2m5s.
func latency(sec float64) string {
	switch {
	case math.IsNaN(sec) || sec < 0:
		return "-"
	case sec < 0.01:
		return strconv.FormatFloat(sec*1000, 'f', 2, 64) + "ms"
	case sec < 1:
		return strconv.FormatFloat(sec*1000, 'f', 0, 64) + "ms"
	case sec < 60:
		return strconv.FormatFloat(sec, 'f', 2, 64) + "s"
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

// clean makes a server-supplied name safe for a terminal: no control
// characters, no tabs (they would break the table).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
}

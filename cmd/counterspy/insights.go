package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"

	"github.com/counterspy/counterspy/internal/sdkhttp"
)

func init() {
	commands["insights"] = command{"list the insights (fault-rate anomalies) of the groups with Insights on (GetInsightSummaries)", runInsights}
}

func runInsights(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("insights", stderr)
	cf := addClientFlags(fs)
	wf := addWindowFlags(fs)
	group := fs.String("group", "", "only the insights of this group (`name` or ARN)")
	state := fs.String("state", "", "only ACTIVE or CLOSED insights")
	asJSON := fs.Bool("json", false, "print the insight summaries as the API returned them, one JSON object per line")
	setUsage(fs, "[flags]", `
Lists the insights active in a time window, most recent first: the group, the state (ACTIVE
while the anomaly lasts, CLOSED after), the root-cause service, when it started and ended,
and the faults among the client requests of the group during it. Insights are detected for
the groups whose InsightsConfiguration has InsightsEnabled (docs/insights.md); the console
shows them at /insights.`,
		`counterspy insights --since 6h`,
		`counterspy insights --group shop --state ACTIVE`,
		`counterspy insights --since 24h --json`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	from, to, err := wf.window(fs, time.Now())
	if err != nil {
		return err
	}
	in := &xray.GetInsightSummariesInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	if g := strings.TrimSpace(*group); g != "" {
		if strings.HasPrefix(g, "arn:") {
			in.GroupARN = aws.String(g)
		} else {
			in.GroupName = aws.String(g)
		}
	}
	switch s := strings.ToUpper(strings.TrimSpace(*state)); s {
	case "":
	case "ACTIVE", "CLOSED":
		in.States = []types.InsightState{types.InsightState(s)}
	default:
		return usageError{fmt.Errorf("--state %q: want ACTIVE or CLOSED", *state)}
	}
	var capture *captureClient
	var optFns []func(*xray.Options)
	if *asJSON {
		capture = &captureClient{next: sdkhttp.Client()}
		optFns = append(optFns, func(o *xray.Options) { o.HTTPClient = capture })
	}
	client, err := cf.client(optFns...)
	if err != nil {
		return err
	}
	var all []types.InsightSummary
	var raws []json.RawMessage
	p := xray.NewGetInsightSummariesPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return cf.apiError("GetInsightSummaries", err)
		}
		all = append(all, page.InsightSummaries...)
		if capture != nil {
			raw, err := capture.insightSummaries()
			if err != nil {
				return err
			}
			if len(raw) != len(page.InsightSummaries) {
				return fmt.Errorf("GetInsightSummaries: read %d raw summaries, the SDK %d", len(raw), len(page.InsightSummaries))
			}
			raws = append(raws, raw...)
		}
	}
	if len(all) == 0 {
		fmt.Fprintf(stderr, "counterspy insights: no insights from %s to %s\n", from.Local().Format(time.DateTime), to.Local().Format(time.DateTime))
		return nil
	}
	if *asJSON {
		var buf bytes.Buffer
		for _, r := range raws {
			if err := json.Compact(&buf, r); err != nil {
				return fmt.Errorf("GetInsightSummaries: summary is not JSON: %w", err)
			}
			buf.WriteByte('\n')
		}
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	_, err = io.WriteString(stdout, formatInsights(all))
	return err
}

// insightSummaries returns the InsightSummaries of the last response, as
// the server sent them.
func (c *captureClient) insightSummaries() ([]json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var page struct {
		InsightSummaries []json.RawMessage
	}
	if err := json.Unmarshal(c.body, &page); err != nil {
		return nil, fmt.Errorf("GetInsightSummaries: response is not JSON: %w", err)
	}
	return page.InsightSummaries, nil
}

// formatInsights renders insights as a table, then each one's summary.
func formatInsights(list []types.InsightSummary) string {
	rows := [][]string{{"GROUP", "STATE", "ROOT CAUSE", "STARTED", "ENDED", "CLIENT FAULTS", "ID"}}
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, s := range list {
		root := "?"
		if s.RootCauseServiceId != nil {
			root = clean(aws.ToString(s.RootCauseServiceId.Name))
			if typ := aws.ToString(s.RootCauseServiceId.Type); typ != "" {
				root += " [" + clean(typ) + "]"
			}
		}
		faults := "-"
		if ci := s.ClientRequestImpactStatistics; ci != nil && aws.ToInt64(ci.TotalCount) > 0 {
			faults = fmt.Sprintf("%d/%d", aws.ToInt64(ci.FaultCount), aws.ToInt64(ci.TotalCount))
		}
		rows = append(rows, []string{clean(aws.ToString(s.GroupName)), string(s.State), root, ts(s.StartTime), ts(s.EndTime), faults, aws.ToString(s.InsightId)})
	}
	var b strings.Builder
	writeTable(&b, rows, 5)
	for _, s := range list {
		fmt.Fprintf(&b, "\n%s: %s", aws.ToString(s.InsightId), clean(aws.ToString(s.Summary)))
	}
	b.WriteByte('\n')
	return b.String()
}

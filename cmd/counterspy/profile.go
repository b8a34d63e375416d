package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/api"
	"github.com/counterspy/counterspy/internal/profile"
	"github.com/counterspy/counterspy/internal/render"
)

func init() {
	commands["profile"] = command{"show where a service's time goes across its invocations, and what changed (the profile endpoint)", runProfile}
}

func runProfile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("profile", stderr)
	cf := addClientFlags(fs)
	wf := addWindowFlags(fs)
	of := addOutputFlags(fs)
	service := fs.String("service", "", "the service (segment `name`) to profile; required")
	compare := fs.Duration("compare", 0, "also compare with the same-length window this `long` before (e.g. 24h: yesterday)")
	class := fs.String("class", "", "only Lambda's cold or warm invocations: cold or warm (default: all)")
	expr := fs.String("filter", "", "profile only the traces matching this filter `expression` (read from the traces: a sample of at most 2000)")
	baseExpr := fs.String("compare-filter", "", "compare with the traces matching this filter `expression` (same window unless --compare)")
	asJSON := fs.Bool("json", false, "print the server's JSON answer instead of the tables")
	examples := fs.String("examples", "", "print the IDs of example traces from this `part`'s distribution instead (a part's last label, part of it, or its path with › or > between labels)")
	percentile := fs.Float64("percentile", 99, "with --examples: the percentile of the part's time (50, 90, 99; 100: the slowest)")
	self := fs.Bool("self", false, "with --examples: the part's self time instead of its inclusive time")
	limit := fs.Int("limit", 20, "with --examples: at most this many traces")
	setUsage(fs, "--service NAME [flags]", `
Breaks every invocation of a service in the window down into parts: its own code (self
time: time no child covers), each downstream call by target (DynamoDB table and operation,
HTTP host, database), each named subsegment, and Lambda's phases (Dwell Time, Attempt,
Initialization on cold starts, Invocation, Overhead). Parts are ranked by their share of the
invocation time, with percentiles of their self time. With --compare, also lists the parts
whose mean time changed, ranked by their contribution to the change of the total, with
Welch's t-test p-value. Figures come from counters kept at ingest (docs/profile.md).`,
		`counterspy profile --service xraystarter-go --since 1h`,
		`counterspy profile --service xraystarter-go --since 1h --compare 24h`,
		`counterspy profile --service checkout --filter 'annotation.version = "2"' --compare-filter 'annotation.version = "1"'`,
		`counterspy profile --service checkout --class cold --json`,
		`counterspy profile --service xraystarter-go --since 1h --examples PutItem --percentile 99`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*service) == "" {
		return usageError{fmt.Errorf("--service is required")}
	}
	if *class != "" && *class != "cold" && *class != "warm" {
		return usageError{fmt.Errorf("--class %q: want cold or warm", *class)}
	}
	if *compare < 0 {
		return usageError{fmt.Errorf("--compare %v: want a positive duration such as 24h", *compare)}
	}
	from, to, err := wf.window(fs, time.Now())
	if err != nil {
		return err
	}
	opts, err := of.options(stdout)
	if err != nil {
		return err
	}
	base, err := cf.baseURL()
	if err != nil {
		return err
	}
	q := url.Values{"service": {*service}, "start": {unixString(from)}, "end": {unixString(to)}}
	if *examples != "" {
		if *expr != "" || *baseExpr != "" || *compare != 0 {
			return usageError{fmt.Errorf("--examples reads the counters of one window: drop --filter, --compare-filter and --compare")}
		}
		return profileExamples(ctx, stdout, base, q, exampleFlags{*examples, *class, *percentile, *self, *limit, *asJSON})
	}
	if *expr != "" {
		q.Set("filter", *expr)
	}
	if *baseExpr != "" {
		q.Set("compare_filter", *baseExpr)
	}
	if *compare > 0 {
		q.Set("compare_start", unixString(from.Add(-*compare)))
		q.Set("compare_end", unixString(to.Add(-*compare)))
	}
	body, err := getProfile(ctx, base+api.ProfilePath+"?"+q.Encode())
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var r profile.Result
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("profile: decoding the answer: %w", err)
	}
	if r.Profile == nil {
		return fmt.Errorf("profile: the answer holds no profile")
	}
	return render.Profile(stdout, &r, *class, opts)
}

func unixString(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64)
}

func getProfile(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("profile: %w (is counterspy serve running? set --endpoint or COUNTERSPY_ENDPOINT)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("profile: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			if resp.StatusCode == http.StatusBadRequest {
				return nil, usageError{fmt.Errorf("profile: %s", e.Message)}
			}
			return nil, fmt.Errorf("profile: %s: %s", resp.Status, e.Message)
		}
		return nil, fmt.Errorf("profile: %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 512)])))
	}
	return body, nil
}

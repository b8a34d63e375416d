package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/auth"
	"github.com/counterspy/counterspy/internal/lambda/lambdalog"
	"github.com/counterspy/counterspy/internal/logs"
)

func init() {
	commands["logs"] = command{"show Lambda function logs by trace, function or request, like CloudWatch Logs", runLogs}
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("logs", stderr)
	traceID := fs.String("trace", "", "X-Ray trace `ID`: the logs of every invocation in the trace")
	function := fs.String("function", "", "function `name`: its log group")
	requestID := fs.String("request-id", "", "Lambda request `ID`: one invocation")
	since := fs.Duration("since", time.Hour, "how far back to look")
	follow := fs.Bool("follow", false, "keep printing new lines as they arrive")
	interval := fs.Duration("interval", time.Second, "polling interval with --follow")
	cf := addClientFlags(fs)
	setUsage(fs, "(--trace ID | --function NAME | --request-id ID) [flags]", `
Prints Lambda function log lines (the emulator's START, END, REPORT and XRAY lines and
what the function printed), like CloudWatch Logs, from a running counterspy serve.`,
		`counterspy logs --function xraystarter-go --since 30m`,
		`counterspy logs --trace 1-6b06cdc0-22e1aac81703ac85698bf625`,
		`counterspy logs --function xraystarter-py --follow`)
	// --server was this command's name for --endpoint; kept so old scripts work.
	fs.StringVar(&cf.endpoint, "server", cf.endpoint, "same as --endpoint (deprecated)")
	asJSON := fs.Bool("json", false, "print the records as JSON lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	base, err := cf.baseURL()
	if err != nil {
		return err
	}
	q := url.Values{}
	n := 0
	for k, v := range map[string]string{"trace_id": *traceID, "function": *function, "request_id": *requestID} {
		if v != "" {
			q.Set(k, v)
			n++
		}
	}
	if n == 0 {
		return usageError{errors.New("say whose logs: --trace ID, --function NAME or --request-id ID")}
	}
	from := time.Now().Add(-*since)
	client := auth.HTTPClient(30 * time.Second) // signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set
	seen := map[string]bool{}                   // records at the last timestamp, against repeats
	for {
		q.Set("since", from.UTC().Format(time.RFC3339Nano))
		recs, err := fetchLogs(ctx, client, base+lambdalog.Path+"?"+q.Encode())
		if err != nil {
			return err
		}
		last := from
		for _, r := range recs {
			key := recordKey(r)
			if seen[key] {
				continue
			}
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Fprintf(stdout, "%s\n", b)
			} else {
				fmt.Fprintln(stdout, lambdalog.FormatRecord(r))
			}
			if r.Time.After(last) {
				last = r.Time
				clear(seen)
			}
			if r.Time.Equal(last) {
				seen[key] = true
			}
		}
		if !*follow {
			return nil
		}
		from = last
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
	}
}

func recordKey(r logs.Record) string {
	return r.Time.UTC().Format(time.RFC3339Nano) + "\x00" + r.LogStream + "\x00" + r.RequestID + "\x00" + string(r.Stream) + "\x00" + r.Message
}

func fetchLogs(ctx context.Context, client *http.Client, u string) ([]logs.Record, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get logs: %w (is counterspy serve running?)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("get logs: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var recs []logs.Record
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		return nil, fmt.Errorf("get logs: decoding the answer: %w", err)
	}
	return recs, nil
}

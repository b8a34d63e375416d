package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/smithy-go"

	"github.com/counterspy/counterspy/internal/render"
	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/xrayid"
)

func init() {
	commands["trace"] = command{"show traces as a timeline of their segments (BatchGetTraces)", runTrace}
}

// maxBatchGetTraces is the X-Ray limit of trace IDs per BatchGetTraces call.
const maxBatchGetTraces = 5

func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("trace", stderr)
	cf := addClientFlags(fs)
	of := addOutputFlags(fs)
	raw := fs.Bool("raw", false, "print the compiled segment documents as indented JSON instead of the timeline")
	setUsage(fs, "[flags] <trace-id>...", `
Shows each trace as a timeline: one row per segment and subsegment, subsegments indented
under their parent, bars on a common time axis; then the exceptions and a summary.`,
		`counterspy trace 1-6b06cdc0-22e1aac81703ac85698bf625`,
		`counterspy trace --raw 1-6b06cdc0-22e1aac81703ac85698bf625`,
		`counterspy trace --width 160 --color never 1-6b06cdc0-22e1aac81703ac85698bf625`)
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError{errors.New("no trace ID given (usage: counterspy trace <trace-id>...)")}
	}
	ids, err = checkTraceIDs(ids)
	if err != nil {
		return err
	}
	client, err := cf.client()
	if err != nil {
		return err
	}
	opts, err := of.options(stdout)
	if err != nil {
		return err
	}

	found := map[string]types.Trace{}
	unprocessed := map[string]bool{}
	for chunk := range chunks(ids, maxBatchGetTraces) {
		out, err := client.BatchGetTraces(ctx, &xray.BatchGetTracesInput{TraceIds: chunk})
		if err != nil {
			return cf.apiError("BatchGetTraces", err)
		}
		for _, t := range out.Traces {
			found[aws.ToString(t.Id)] = t
		}
		for _, id := range out.UnprocessedTraceIds {
			unprocessed[id] = true
		}
	}

	var problems []string
	printed := 0
	for _, id := range ids {
		t, ok := found[id]
		switch {
		case !ok && unprocessed[id]:
			problems = append(problems, fmt.Sprintf("trace %s: the server could not read it (UnprocessedTraceIds; see its log)", id))
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("trace %s: not found on %s", id, cf.endpoint))
			continue
		}
		if printed > 0 {
			if _, err := io.WriteString(stdout, "\n"); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		printed++
		if *raw {
			err = writeRawTrace(stdout, t)
		} else {
			err = writeTimeline(stdout, t, opts)
		}
		if err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// checkTraceIDs rejects malformed IDs before asking the server (which would
// only list them as unprocessed) and drops duplicates.
func checkTraceIDs(ids []string) ([]string, error) {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if _, err := xrayid.ParseTraceID(id); err != nil {
			return nil, usageError{fmt.Errorf("trace ID %q: %v", id, err)}
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// chunks yields s in slices of at most n.
func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func traceSegments(t types.Trace) []render.Segment {
	segs := make([]render.Segment, 0, len(t.Segments))
	for _, s := range t.Segments {
		segs = append(segs, render.Segment{ID: aws.ToString(s.Id), Document: aws.ToString(s.Document)})
	}
	return segs
}

func writeTimeline(w io.Writer, t types.Trace, opts render.Options) error {
	rt, err := render.ParseTrace(aws.ToString(t.Id), aws.ToFloat64(t.Duration), aws.ToBool(t.LimitExceeded), traceSegments(t))
	if err != nil {
		return err
	}
	return render.Timeline(w, rt, opts)
}

// writeRawTrace prints the compiled documents, indented, one after another
// (a stream jq reads), in the order the server returned them.
func writeRawTrace(w io.Writer, t types.Trace) error {
	var buf bytes.Buffer
	for _, s := range t.Segments {
		doc := aws.ToString(s.Document)
		if err := json.Indent(&buf, []byte(doc), "", "  "); err != nil {
			return fmt.Errorf("trace %s: segment %s: document is not JSON: %w", aws.ToString(t.Id), aws.ToString(s.Id), err)
		}
		buf.WriteByte('\n')
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments (counterspy trace <id> --raw), and returns the
// positional ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// defaultEndpoint is where counterspy serve listens by default.
const defaultEndpoint = "http://127.0.0.1:2000"

// clientFlags are the flags of the commands that query a server.
type clientFlags struct {
	endpoint string
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := &clientFlags{}
	def := defaultEndpoint
	if v := os.Getenv("COUNTERSPY_ENDPOINT"); v != "" {
		def = v
	}
	fs.StringVar(&cf.endpoint, "endpoint", def,
		"base `URL` (or host:port) of the X-Ray API of a running counterspy serve (env COUNTERSPY_ENDPOINT)")
	return cf
}

// client is the AWS SDK's X-Ray client pointed at the endpoint, with
// clientCredentials and no retries (a local server that
// refuses a connection will refuse the next one too).
func (cf *clientFlags) client(optFns ...func(*xray.Options)) (*xray.Client, error) {
	if _, err := cf.baseURL(); err != nil {
		return nil, err
	}
	return xray.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      clientCredentials(),
		BaseEndpoint:     aws.String(cf.endpoint),
		RetryMaxAttempts: 1,
		HTTPClient:       sdkhttp.Client(),
	}, optFns...), nil
}

// baseURL checks and normalizes --endpoint (host:port becomes http://host:port,
// no trailing slash) and returns it.
func (cf *clientFlags) baseURL() (string, error) {
	s := strings.TrimSpace(cf.endpoint)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", usageError{fmt.Errorf("--endpoint %q: want a URL like %s", cf.endpoint, defaultEndpoint)}
	}
	cf.endpoint = strings.TrimRight(u.String(), "/")
	return cf.endpoint, nil
}

// apiError is what a user reads when an API call fails: the server's
// message for an invalid request (exit status 2, like any bad input), a
// hint when nothing listens on the endpoint.
func (cf *clientFlags) apiError(op string, err error) error {
	var invalid *types.InvalidRequestException
	if errors.As(err, &invalid) {
		return usageError{errors.New(invalid.ErrorMessage())}
	}
	host := cf.endpoint
	if u, perr := url.Parse(cf.endpoint); perr == nil && u.Host != "" {
		host = u.Host
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot connect to %s (connection refused): is counterspy serve running on %s? (set --endpoint or COUNTERSPY_ENDPOINT)", cf.endpoint, host)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s on %s: %s: %s", op, cf.endpoint, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%s on %s: %w", op, cf.endpoint, err)
}

// outputFlags choose the terminal width and colors.
type outputFlags struct {
	width int
	color string
}

func addOutputFlags(fs *flag.FlagSet) *outputFlags {
	of := &outputFlags{}
	fs.IntVar(&of.width, "width", 0, fmt.Sprintf("output width in `columns` (default: the terminal's, else $COLUMNS, else %d)", render.DefaultWidth))
	fs.StringVar(&of.color, "color", "auto", "colors: always, never, or auto (when stdout is a terminal and NO_COLOR is not set)")
	return of
}

func (of *outputFlags) options(stdout io.Writer) (render.Options, error) {
	var o render.Options
	f, isFile := stdout.(*os.File)
	tty := isFile && render.IsTerminal(f)
	switch strings.ToLower(of.color) {
	case "always":
		o.Color = true
	case "never":
	case "auto":
		o.Color = tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	default:
		return o, usageError{fmt.Errorf("--color %q: want always, never or auto", of.color)}
	}
	switch {
	case of.width < 0:
		return o, usageError{fmt.Errorf("--width %d: want a positive number of columns", of.width)}
	case of.width > 0:
		o.Width = of.width
	default:
		o.Width = render.DefaultWidth
		if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
			o.Width = n
		}
		if tty {
			if w, ok := render.TerminalWidth(f); ok {
				o.Width = w
			}
		}
	}
	return o, nil
}

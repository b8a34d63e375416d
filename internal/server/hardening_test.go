package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/server"
)

func startServerWith(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.FlushInterval = 10 * time.Millisecond
	cfg.NoSync = true
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// metricsText is the server's /metrics page.
func metricsText(t *testing.T, srv *server.Server) string {
	t.Helper()
	var b strings.Builder
	srv.Metrics().WritePrometheus(&b)
	return b.String()
}

// recentSegment is a complete segment document of a trace started now.
func recentSegment(id string) (traceID, doc string) {
	now := time.Now()
	traceID = fmt.Sprintf("1-%08x-%s", now.Unix(), "a006649127e371903a2de979")
	doc = fmt.Sprintf(`{"name":"web","id":%q,"trace_id":%q,"start_time":%d.1,"end_time":%d.2}`, id, traceID, now.Unix()-1, now.Unix()-1)
	return traceID, doc
}

// TestCrossSiteWritesRefused sends every mutating request a web page on
// another site could send without a CORS preflight (text/plain and form
// bodies), marked as browsers mark them, and checks each is refused and
// changes nothing; then the same requests without those headers, as the
// AWS CLI and SDKs send them, succeed.
func TestCrossSiteWritesRefused(t *testing.T) {
	srv := startServerWith(t, server.Config{})
	base := "http://" + srv.HTTPAddr()
	ctx := context.Background()
	xc := xrayClient(srv)
	if _, err := xc.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("kept"), FilterExpression: aws.String("fault")}); err != nil {
		t.Fatal(err)
	}
	traceID, doc := recentSegment("70de5b6f19ff9a0a")
	putBody, _ := json.Marshal(map[string]any{"TraceSegmentDocuments": []string{doc}})
	logBody := fmt.Sprintf(`[{"time":%q,"function":"fn","stream":"stdout","message":"forged"}]`, time.Now().UTC().Format(time.RFC3339Nano))
	routes := []struct{ path, body string }{
		{"/TraceSegments", string(putBody)},
		{"/CreateGroup", `{"GroupName":"forged","FilterExpression":"error"}`},
		{"/UpdateGroup", `{"GroupName":"kept","FilterExpression":"error"}`},
		{"/DeleteGroup", `{"GroupName":"kept"}`},
		{"/TelemetryRecords", `{"TelemetryRecords":[{"Timestamp":1765000000,"SegmentsReceivedCount":7}]}`},
		{"/counterspy/v1/logs", logBody},
		{"/TraceSummaries", fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, time.Now().Unix()-60, time.Now().Unix())}, // reads too: no POST from another site gets in
	}
	marks := []struct {
		name        string
		contentType string
		headers     map[string]string
	}{
		{"text/plain from a foreign Origin", "text/plain;charset=UTF-8", map[string]string{"Origin": "http://evil.example"}},
		{"a form from a cross-site page", "application/x-www-form-urlencoded", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"a local page on another port", "text/plain", map[string]string{"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}},
		{"a sandboxed page", "multipart/form-data; boundary=x", map[string]string{"Origin": "null"}},
	}
	send := func(path, contentType, body string, headers map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	refusals := 0
	for _, r := range routes {
		for _, m := range marks {
			code, h, body := send(r.path, m.contentType, r.body, m.headers)
			var e map[string]string
			_ = json.Unmarshal([]byte(body), &e)
			if code != http.StatusForbidden || h.Get("x-amzn-ErrorType") != "AccessDeniedException" || e["__type"] != "AccessDeniedException" || e["message"] == "" {
				t.Errorf("POST %s, %s: %d %s; want 403 AccessDeniedException", r.path, m.name, code, body)
			}
			refusals++
		}
	}

	// Nothing changed.
	groups, err := xc.GetGroups(ctx, &awsxray.GetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, aws.ToString(g.GroupName)+"="+aws.ToString(g.FilterExpression))
	}
	if strings.Join(names, ",") != "Default=,kept=fault" {
		t.Errorf("groups after the refused requests: %v", names)
	}
	tr, err := xc.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
	if err != nil || len(tr.Traces) != 0 {
		t.Errorf("the refused segment was stored: %v %v", tr, err)
	}
	if recs := getLogs(t, srv, "function=fn"); len(recs) != 0 {
		t.Errorf("the refused log lines were stored: %v", recs)
	}
	m := metricsText(t, srv)
	for _, want := range []string{
		`counterspy_http_requests_refused_total{reason="origin"} ` + fmt.Sprint(2*len(routes)),
		`counterspy_http_requests_refused_total{reason="cross-site"} ` + fmt.Sprint(2*len(routes)),
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(m, "SegmentsReceivedCount") || strings.Contains(m, `xray_telemetry_segments_received_total 7`) {
		t.Errorf("the refused telemetry was counted")
	}

	// The same requests as non-browser clients send them pass, whatever
	// their Content-Type.
	for _, r := range routes {
		code, _, body := send(r.path, "text/plain", r.body, nil)
		if code != 200 && code != 204 {
			t.Errorf("POST %s without browser headers: %d %s", r.path, code, body)
		}
	}
	if recs := getLogs(t, srv, "function=fn"); len(recs) != 1 {
		t.Errorf("log lines after the accepted POST: %v", recs)
	}
	tr, err = xc.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{traceID}})
	if err != nil || len(tr.Traces) != 1 {
		t.Errorf("the accepted segment is not stored: %v %v", tr, err)
	}
	// And the console's own requests (same origin) pass too.
	code, _, body := send("/TraceSummaries", "application/json", routes[len(routes)-1].body, map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"})
	if code != 200 {
		t.Errorf("same-origin POST: %d %s", code, body)
	}
}

// TestHostHeaderChecked: a page on a DNS-rebound name reaches the server with
// its own name in Host, and gets nothing, not even reads.
func TestHostHeaderChecked(t *testing.T) {
	srv := startServerWith(t, server.Config{AllowedHosts: []string{"counterspy.test"}})
	_, port, _ := net.SplitHostPort(srv.HTTPAddr())
	get := func(host, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+srv.HTTPAddr()+path, nil)
		req.Host = host
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, host := range []string{"rebound.example:" + port, "rebound.example", "192.0.2.1:" + port} {
		for _, path := range []string{"/", "/healthz", "/counterspy/v1/logs?function=fn"} {
			if code, body := get(host, path); code != 403 || !strings.Contains(body, "AccessDeniedException") {
				t.Errorf("Host %s GET %s: %d %.100s; want 403", host, path, code, body)
			}
		}
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "localhost:8080", "counterspy.test:8443"} {
		if code, body := get(host, "/healthz"); code != 200 {
			t.Errorf("Host %s: %d %.100s; want 200", host, code, body)
		}
	}
}

// TestImplausibleTimesRejected: segments of 1970, of 1e300, a day ahead, and
// of a trace that retention would delete are each rejected with a precise
// entry, counted by reason, and the good document beside them is stored.
func TestImplausibleTimesRejected(t *testing.T) {
	srv := startServerWith(t, server.Config{Retention: time.Hour})
	now := time.Now().Unix()
	trace := func(at int64) string { return fmt.Sprintf("1-%08x-a006649127e371903a2de979", at) }
	seg := func(id, traceID string, start, end float64) string {
		return fmt.Sprintf(`{"name":"web","id":%q,"trace_id":%q,"start_time":%v,"end_time":%v}`, id, traceID, start, end)
	}
	good := seg("00000000000000a1", trace(now), float64(now-1), float64(now))
	docs := []string{
		seg("00000000000000b1", trace(now), 1, 2),
		good,
		seg("00000000000000b2", trace(now), float64(now), 1e300),
		seg("00000000000000b3", trace(now), float64(now+2*86400), float64(now+2*86400+1)),
		seg("00000000000000b4", trace(now-2*3600), float64(now-1), float64(now)),
	}
	xc := xrayClient(srv)
	out, err := xc.PutTraceSegments(context.Background(), &awsxray.PutTraceSegmentsInput{TraceSegmentDocuments: docs})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range out.UnprocessedTraceSegments {
		// X-Ray's error code, and ours in the message.
		detail := "?"
		for _, c := range []string{"SegmentExpired", "SegmentInFuture"} {
			if strings.Contains(aws.ToString(u.Message), "("+c+")") {
				detail = c
			}
		}
		got = append(got, aws.ToString(u.Id)+" "+aws.ToString(u.ErrorCode)+" "+detail)
		if !strings.Contains(aws.ToString(u.Message), "_time") && !strings.Contains(aws.ToString(u.Message), "retention") {
			t.Errorf("%s: message %q names neither the field nor retention", aws.ToString(u.Id), aws.ToString(u.Message))
		}
	}
	want := "00000000000000b1 InvalidSegment SegmentExpired,00000000000000b2 InvalidSegment SegmentInFuture,00000000000000b3 InvalidSegment SegmentInFuture,00000000000000b4 InvalidSegment SegmentExpired"
	if strings.Join(got, ",") != want {
		t.Errorf("rejections %v; want %s", got, want)
	}
	tr, err := xc.BatchGetTraces(context.Background(), &awsxray.BatchGetTracesInput{TraceIds: []string{trace(now), trace(now - 2*3600)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Traces) != 1 || len(tr.Traces[0].Segments) != 1 || aws.ToString(tr.Traces[0].Segments[0].Id) != "00000000000000a1" {
		t.Errorf("stored: %+v; want only the good document", tr.Traces)
	}

	// The same check on the daemon protocol, counted under protocol="udp".
	c, err := net.Dial("udp", srv.UDPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range []string{docs[0], docs[2], docs[4]} {
		if _, err := c.Write([]byte("{\"format\":\"json\",\"version\":1}\n" + d)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the UDP rejections to be counted", func() bool {
		m := metricsText(t, srv)
		return strings.Contains(m, `counterspy_segments_rejected_total{protocol="udp",reason="SegmentExpired"} 2`+"\n") &&
			strings.Contains(m, `counterspy_segments_rejected_total{protocol="udp",reason="SegmentInFuture"} 1`+"\n")
	})
	m := metricsText(t, srv)
	for _, w := range []string{
		`counterspy_segments_rejected_total{protocol="api",reason="SegmentExpired"} 2`,
		`counterspy_segments_rejected_total{protocol="api",reason="SegmentInFuture"} 2`,
	} {
		if !strings.Contains(m, w+"\n") {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

// TestBodyCap: a body past the 8 MiB cap is refused with 413, whether its
// length is announced (refused unread) or streamed chunked (refused after
// the cap, never buffered whole).
func TestBodyCap(t *testing.T) {
	srv := startServerWith(t, server.Config{})
	for _, chunked := range []bool{false, true} {
		body := io.MultiReader(strings.NewReader(`{"TraceSegmentDocuments":["`), strings.NewReader(strings.Repeat("a", 9<<20)), strings.NewReader(`"]}`))
		req, _ := http.NewRequest("POST", "http://"+srv.HTTPAddr()+"/TraceSegments", body)
		if !chunked {
			req.ContentLength = int64(9<<20 + 30)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			// The server may close the connection before the client has
			// sent the rest; then the refusal is the answer it could not read.
			t.Logf("chunked=%v: %v", chunked, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || resp.Header.Get("x-amzn-ErrorType") != "RequestEntityTooLargeException" {
			t.Errorf("chunked=%v: %d %.200s; want 413 RequestEntityTooLargeException", chunked, resp.StatusCode, b)
		}
	}
}

// TestConnectionLimit holds idle connections open: within the limit the API
// answers the AWS SDK; at the limit new connections are closed at once and
// counted; when one goes, the API answers again.
func TestConnectionLimit(t *testing.T) {
	const max = 16
	srv := startServerWith(t, server.Config{MaxConnections: max})
	xc := xrayClient(srv)
	ctx := context.Background()
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The SDK's own connection (kept alive) counts too: leave it room.
	for range max - 2 {
		idle = append(idle, dial())
	}
	if _, err := xc.GetGroups(ctx, &awsxray.GetGroupsInput{}); err != nil {
		t.Fatalf("with %d idle connections: %v", len(idle), err)
	}
	// Two more fill the limit with the SDK's kept-alive connection; one of
	// them may already be past it (refused, even during the handshake).
	for range 2 {
		if c, err := net.Dial("tcp", srv.HTTPAddr()); err == nil {
			idle = append(idle, c)
		}
	}
	waitFor(t, "the limit's worth of connections to be open", func() bool {
		return strings.Contains(metricsText(t, srv), fmt.Sprintf(`counterspy_connections_open{listener="http"} %d`+"\n", max))
	})
	if c, err := net.Dial("tcp", srv.HTTPAddr()); err == nil {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := c.Read(make([]byte, 1))
		c.Close()
		var ne net.Error
		if n != 0 || err == nil || (errorsAs(err, &ne) && ne.Timeout()) {
			t.Fatalf("a connection past the limit: read %d %v; want it closed at once", n, err)
		}
	}
	// The SDK's kept-alive connection may have taken one of the slots, so
	// one of the idle ones may have been refused too.
	m := metricsText(t, srv)
	if !strings.Contains(m, `counterspy_connections_refused_total{listener="http"} 1`+"\n") &&
		!strings.Contains(m, `counterspy_connections_refused_total{listener="http"} 2`+"\n") {
		t.Errorf("the refused connection is not counted:\n%s", m)
	}
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	waitFor(t, "the API to answer again", func() bool {
		_, err := xc.GetGroups(ctx, &awsxray.GetGroupsInput{})
		return err == nil
	})
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// TestDocumentsPerCallCapped: a PutTraceSegments call of more than 10,000
// documents is refused whole (a body of tiny documents would otherwise make
// an answer of millions of rejections); 10,000 are answered one by one.
func TestDocumentsPerCallCapped(t *testing.T) {
	srv := startServerWith(t, server.Config{})
	for _, c := range []struct {
		n    int
		want int
	}{{10001, 400}, {10000, 200}} {
		body := `{"TraceSegmentDocuments":["{}"` + strings.Repeat(`,"{}"`, c.n-1) + `]}`
		resp, err := httpClient.Post("http://"+srv.HTTPAddr()+"/TraceSegments", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Message                  string `json:"message"`
			UnprocessedTraceSegments []json.RawMessage
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != c.want {
			t.Fatalf("%d documents: %d %v; want %d", c.n, resp.StatusCode, err, c.want)
		}
		if c.want == 400 && !strings.Contains(out.Message, "the limit is 10000") {
			t.Errorf("%d documents: message %q", c.n, out.Message)
		}
		if c.want == 200 && len(out.UnprocessedTraceSegments) != c.n {
			t.Errorf("%d documents: %d rejections", c.n, len(out.UnprocessedTraceSegments))
		}
	}
}

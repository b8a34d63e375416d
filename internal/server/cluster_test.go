package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/store/clickhouse/chtest"
)

// TestTwoNodesTwoShards: two Counterspy nodes share one database spread
// over two ClickHouse shards (Distributed tables), each node connected
// through a different shard. The documents of every trace are sent to
// both nodes, interleaved, as a load balancer in front of them would; a
// single-node oracle (the in-memory backend) gets the same documents.
// Every answer — BatchGetTraces, GetTraceSummaries with and without
// filters, GetServiceGraph — is the oracle's, asked of either node.
func TestTwoNodesTwoShards(t *testing.T) {
	chs := chtest.StartCluster(t, "cs", 2)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ports := []string{freeAddr(t), freeAddr(t)}
	peers := []string{"http://" + ports[0], "http://" + ports[1]}
	var nodes []*server.Server
	for i := range 2 {
		srv, err := server.Start(server.Config{
			Addr:          ports[i],
			DataDir:       t.TempDir(),
			Store:         "clickhouse://" + chs[i].Addr + "/multi?cluster=cs",
			FlushInterval: 10 * time.Millisecond,
			Cluster:       server.ClusterConfig{Peers: peers, ReloadInterval: 50 * time.Millisecond},
			OTLPHTTPAddr:  "off", OTLPGRPCAddr: "off",
			Logger: quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				t.Errorf("close node %d: %v", i, err)
			}
		})
		nodes = append(nodes, srv)
	}
	oracle, err := server.Start(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Store: "memory",
		FlushInterval: 10 * time.Millisecond, OTLPHTTPAddr: "off", OTLPGRPCAddr: "off", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = oracle.Close(context.Background()) })

	// A group created through one node counts on both (the owner of a
	// trace picks its groups), once the other has reloaded it.
	group := map[string]any{"GroupName": "slow", "FilterExpression": "responsetime > 0.1"}
	for _, srv := range []*server.Server{nodes[0], oracle} {
		var out any
		xrayPost(t, srv, "/CreateGroup", group, &out)
	}
	waitFor(t, "node 1 to see the group created through node 0", func() bool {
		var out struct{ Groups []struct{ GroupName string } }
		xrayPost(t, nodes[1], "/Groups", map[string]any{}, &out)
		return len(out.Groups) == 2
	})
	// Likewise a sampling rule.
	var created any
	xrayPost(t, nodes[0], "/CreateSamplingRule", map[string]any{"SamplingRule": map[string]any{
		"RuleName": "orders", "ResourceARN": "*", "Priority": 5, "FixedRate": 0.1, "ReservoirSize": 1, "ServiceName": "orders",
		"ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}}, &created)
	waitFor(t, "node 1 to see the sampling rule created through node 0", func() bool {
		var out struct{ SamplingRuleRecords []any }
		xrayPost(t, nodes[1], "/GetSamplingRules", map[string]any{}, &out)
		return len(out.SamplingRuleRecords) == 2
	})

	// 30 traces of the large scenario, their documents in arrival order,
	// sent in calls of 4 that alternate between the nodes: most traces
	// have documents on both.
	sc, err := loadgen.New("large", 21)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	type doc struct {
		at   time.Time
		json string
	}
	var docs []doc
	var ids []string
	for i := range 30 {
		tr := sc.Trace(i, now.Add(time.Duration(i)*600*time.Millisecond))
		ids = append(ids, tr.ID.String())
		for _, d := range tr.Docs {
			docs = append(docs, doc{d.At, string(d.JSON)})
		}
	}
	slices.SortStableFunc(docs, func(a, b doc) int { return a.at.Compare(b.at) })
	for start, call := 0, 0; start < len(docs); start, call = start+4, call+1 {
		var batch []string
		for _, d := range docs[start:min(start+4, len(docs))] {
			batch = append(batch, d.json)
		}
		in := map[string]any{"TraceSegmentDocuments": batch}
		for _, srv := range []*server.Server{nodes[call%2], oracle} {
			var out struct{ UnprocessedTraceSegments []any }
			xrayPost(t, srv, "/TraceSegments", in, &out)
			if len(out.UnprocessedTraceSegments) > 0 {
				t.Fatalf("PutTraceSegments: unprocessed %v", out.UnprocessedTraceSegments)
			}
		}
	}
	forwarded := 0.0
	for _, n := range nodes {
		forwarded += metric(t, n, "counterspy_cluster_segments_forwarded_total")
		if fb := metric(t, n, "counterspy_cluster_forward_fallback_total"); fb != 0 {
			t.Errorf("%v segments ingested without their owner", fb)
		}
	}
	if forwarded == 0 {
		t.Fatal("no segment was forwarded to its owner: the test does not exercise two nodes")
	}

	// The same question to the oracle and to both nodes.
	same := func(what, path string, in any) string {
		t.Helper()
		var want any
		xrayPost(t, oracle, path, in, &want)
		// TracesProcessedCount counts the rows the store yields, which with
		// a filter depends on the backend: the oracle's Pebble skips rows
		// by their field header (store.PushDown), the shards do not.
		// Without a filter both count every row.
		m, _ := in.(map[string]any)
		filtered := m["FilterExpression"] != nil
		canon := func(v any) string {
			if m, ok := v.(map[string]any); ok && filtered {
				delete(m, "TracesProcessedCount")
			}
			return canonical(t, v)
		}
		w := canon(want)
		defer func() { t.Logf("%s: %d bytes of answer", what, len(w)) }()
		for i, n := range nodes {
			var got any
			xrayPost(t, n, path, in, &got)
			if g := canon(got); g != w {
				t.Errorf("%s from node %d:\n%s\nwant (single node):\n%s", what, i, g, w)
			}
		}
		return w
	}
	for chunk := range slices.Chunk(ids, 5) {
		same("BatchGetTraces "+strings.Join(chunk, ","), "/Traces", map[string]any{"TraceIds": chunk})
	}
	window := map[string]any{"StartTime": now.Add(-time.Minute).Unix(), "EndTime": now.Add(2 * time.Minute).Unix()}
	for _, filter := range []string{"", "fault", "service() { fault }", "responsetime > 0.1", "http.status = 200", "service() { error OR throttle }"} {
		for _, rt := range []string{"TraceId", "Event"} {
			in := map[string]any{"StartTime": window["StartTime"], "EndTime": window["EndTime"], "TimeRangeType": rt}
			if filter != "" {
				in["FilterExpression"] = filter
			}
			same(fmt.Sprintf("GetTraceSummaries %q by %s", filter, rt), "/TraceSummaries", in)
		}
	}
	same("GetServiceGraph", "/ServiceGraph", window)
	// Answers that are not empty: the group matched some traces.
	for what, answer := range map[string]string{
		"GetServiceGraph of a group": same("GetServiceGraph of a group", "/ServiceGraph",
			map[string]any{"StartTime": window["StartTime"], "EndTime": window["EndTime"], "GroupName": "slow"}),
		"GetTraceSummaries of a group": same("GetTraceSummaries of a group", "/TraceSummaries",
			map[string]any{"StartTime": window["StartTime"], "EndTime": window["EndTime"], "FilterExpression": `group.name = "slow"`}),
	} {
		if !strings.Contains(answer, `"Name"`) && !strings.Contains(answer, `"Id"`) {
			t.Errorf("%s is empty: the test compares nothing\n%s", what, answer)
		}
	}
}

// freeAddr is a loopback address whose port is free for TCP and UDP now.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

// xrayPost calls an X-Ray operation and decodes its 200 answer into out.
func xrayPost(t *testing.T, srv *server.Server, path string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+srv.HTTPAddr()+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("POST %s: %v in %s", path, err, b)
	}
}

// canonical is an answer as JSON with the fields that differ by node
// and not by data taken out: paging tokens (each node signs its own).
func canonical(t *testing.T, v any) string {
	t.Helper()
	if m, ok := v.(map[string]any); ok {
		delete(m, "NextToken")
	}
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

type nopLocal struct{}

func (nopLocal) Submit([]segment.Segment) bool                       { return true }
func (nopLocal) SubmitWait(context.Context, []segment.Segment) error { return nil }
func (nopLocal) Shed(int, int) bool                                  { return false }

func router(t *testing.T, self string, peers ...string) *Router {
	t.Helper()
	r, err := New(nopLocal{}, Options{Self: self, Peers: peers}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every node computes the same owner for a trace whatever the order of its
// peer list; traces spread over the nodes; removing a node moves only the
// traces it owned (rendezvous hashing).
func TestOwner(t *testing.T) {
	a := router(t, "http://a:1", "http://a:1", "http://b:2", "http://c:3")
	b := router(t, "http://b:2/", "http://c:3", "http://b:2", "http://a:1/")
	two := router(t, "http://a:1", "http://a:1", "http://c:3")
	gen := xrayid.NewGenerator(7)
	counts := map[string]int{}
	const n = 3000
	for range n {
		id := gen.TraceID(time.Unix(1_800_000_000, 0))
		oa, ob := a.Peers()[a.Owner(id)], b.Peers()[b.Owner(id)]
		if oa != ob {
			t.Fatalf("trace %s: owner %s on one node, %s on another", id, oa, ob)
		}
		counts[oa]++
		if o2 := two.Peers()[two.Owner(id)]; oa != "http://b:2" && o2 != oa {
			t.Fatalf("trace %s moved from %s to %s when another node left", id, oa, o2)
		}
	}
	for _, p := range a.Peers() {
		if c := counts[p]; c < n/3*8/10 || c > n/3*12/10 {
			t.Errorf("node %s owns %d of %d traces, want about a third", p, c, n)
		}
	}
}

// Exactly one node leads each key, whatever the order of the peer lists,
// and keys spread over the nodes.
func TestLeads(t *testing.T) {
	peers := []string{"http://a:1", "http://b:2", "http://c:3"}
	nodes := []*Router{router(t, peers[0], peers...), router(t, peers[1], peers[2], peers[1], peers[0]), router(t, peers[2], peers...)}
	led := make([]int, len(nodes))
	for i := range 300 {
		key := fmt.Sprintf("arn:aws:xray:us-east-1:123456789012:group/g%d/ID%d", i, i)
		leaders := 0
		for n, r := range nodes {
			if r.Leads(key) {
				leaders++
				led[n]++
			}
		}
		if leaders != 1 {
			t.Fatalf("%s has %d leaders", key, leaders)
		}
	}
	for n, c := range led {
		if c < 60 {
			t.Errorf("node %d leads %d of 300 keys, want about a third", n, c)
		}
	}
}

func TestNewRefusesBadPeers(t *testing.T) {
	for _, tc := range []struct {
		self  string
		peers []string
	}{
		{"http://a:1", []string{"http://b:2"}},        // self not a peer
		{"http://a:1", []string{"http://a:1", "b:2"}}, // not a URL
		{"ftp://a:1", []string{"ftp://a:1"}},
	} {
		if _, err := New(nopLocal{}, Options{Self: tc.self, Peers: tc.peers}, metrics.NewSet()); err == nil {
			t.Errorf("New(%q, %q) accepted", tc.self, tc.peers)
		}
	}
}

func TestDocumentIndex(t *testing.T) {
	for msg, want := range map[string]int{
		"Invalid segment. ErrorCode: InvalidSegment. document 12 (SegmentTooLarge): too large": 12,
		"document 0 (InvalidJson): x": 0,
	} {
		if n, ok := documentIndex(msg); !ok || n != want {
			t.Errorf("documentIndex(%q) = %d, %v; want %d", msg, n, ok, want)
		}
	}
	for _, msg := range []string{"", "document ", "documents 3", "document x"} {
		if n, ok := documentIndex(msg); ok {
			t.Errorf("documentIndex(%q) = %d, want none", msg, n)
		}
	}
}

// FuzzDocumentIndex: a peer's refusal message never panics the router and
// never yields a negative position.
func FuzzDocumentIndex(f *testing.F) {
	f.Add("document 12 (x): y")
	f.Add("document 99999999999999999999999")
	f.Fuzz(func(t *testing.T, msg string) {
		if n, ok := documentIndex(msg); ok && n < 0 {
			t.Fatalf("documentIndex(%q) = %d", msg, n)
		}
	})
}

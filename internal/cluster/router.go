// Package cluster lets several `counterspy serve` nodes share one store
// (ClickHouse) and keep every trace's derived data exact: each trace has
// one owner node, chosen by rendezvous hashing of its ID over the nodes'
// list, and a node forwards the segments of traces it does not own to
// their owner, whose summarizer alone writes the trace's summaries and
// service-graph deltas. docs/scaling.md says why (and what else was
// weighed).
//
// A node receives its own traffic (UDP, OTLP, the API) as before; only
// the hand-off to the ingest pipeline changes. If the owner cannot be
// reached, the segments are ingested locally rather than lost (counted in
// counterspy_cluster_forward_fallback_total): the documents are stored,
// but that trace's summary and counters may then miss what another node
// holds.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// ForwardedHeader marks a PutTraceSegments request forwarded by another
// node: its segments are ingested where they arrive, never forwarded
// again (so nodes with different peer lists cannot bounce a trace).
const ForwardedHeader = "X-Counterspy-Forwarded"

// Local is the node's own ingest pipeline (ingest.Pipeline).
type Local interface {
	Submit(segs []segment.Segment) bool
	SubmitWait(ctx context.Context, segs []segment.Segment) error
	Shed(bytes, segments int) bool
}

// Options configure a Router.
type Options struct {
	// Self is this node's base URL (http://HOST:PORT of its X-Ray API);
	// it must be one of Peers.
	Self string
	// Peers are every node's base URL, the same list on every node (the
	// order does not matter).
	Peers []string
	// FlushInterval bounds how long a forwarded fire-and-forget (UDP)
	// segment waits to be sent with others. Default 50 ms.
	FlushInterval time.Duration
	// MaxPending bounds the forwarded fire-and-forget documents waiting per
	// peer (bytes); beyond it they are ingested locally. Default 8 MiB.
	MaxPending int
	// Token, if set, is sent as "Authorization: Bearer TOKEN" with every
	// forward: a write token of the peers' --auth-file
	// (docs/security-auth.md).
	Token  string
	Client *http.Client
	Logger *slog.Logger
}

// Router implements the receivers' sink interfaces over the local pipeline
// and the other nodes.
type Router struct {
	local Local
	opts  Options
	self  int
	peers []*peer
	log   *slog.Logger

	forwarded, fallback, errs *metrics.Counter
}

type peer struct {
	url string
	mu  sync.Mutex
	// pending are fire-and-forget segments waiting to be forwarded.
	pending      []segment.Segment
	pendingBytes int
	timer        *time.Timer
}

// New returns a router in front of local. Peers are normalized (no
// trailing slash); Self must be among them.
func New(local Local, opts Options, ms *metrics.Set) (*Router, error) {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 50 * time.Millisecond
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 8 << 20
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Router{local: local, opts: opts, self: -1, log: opts.Logger,
		forwarded: ms.GetOrCreateCounter(`counterspy_cluster_segments_forwarded_total`),
		fallback:  ms.GetOrCreateCounter(`counterspy_cluster_forward_fallback_total`),
		errs:      ms.GetOrCreateCounter(`counterspy_cluster_forward_errors_total`),
	}
	self := normalize(opts.Self)
	seen := map[string]bool{}
	for _, p := range opts.Peers {
		p = normalize(p)
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("cluster: peer %q is not an http(s)://HOST:PORT URL", p)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		if p == self {
			r.self = len(r.peers)
		}
		r.peers = append(r.peers, &peer{url: p})
	}
	if r.self < 0 {
		return nil, fmt.Errorf("cluster: this node (%q) is not in the peer list %q", opts.Self, opts.Peers)
	}
	return r, nil
}

func normalize(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// Owner returns the index (in Peers order, duplicates removed) of the node
// that owns trace id: rendezvous (highest random weight) hashing, so that
// adding or removing a node moves only the traces it gains or had.
func (r *Router) Owner(id xrayid.TraceID) int { return r.owner(id[:]) }

// Leads reports whether this node is the owner of key among the peers (by
// the same rendezvous hash as trace IDs): work that one node must do for
// all, such as evaluating a group's insights, goes to the key's owner.
func (r *Router) Leads(key string) bool { return r.owner([]byte(key)) == r.self }

func (r *Router) owner(key []byte) int {
	best, bestScore := 0, uint64(0)
	for i, p := range r.peers {
		h := fnv.New64a()
		_, _ = h.Write([]byte(p.url))
		_, _ = h.Write(key)
		if s := h.Sum64(); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// split groups segs by owner; the local ones are returned first.
func (r *Router) split(segs []segment.Segment) (local []segment.Segment, remote map[int][]segment.Segment) {
	for _, s := range segs {
		o := r.Owner(s.TraceID)
		if o == r.self {
			local = append(local, s)
			continue
		}
		if remote == nil {
			remote = map[int][]segment.Segment{}
		}
		remote[o] = append(remote[o], s)
	}
	return local, remote
}

// Shed asks the local pipeline (forwarded segments take no room in it).
func (r *Router) Shed(bytes, segments int) bool { return r.local.Shed(bytes, segments) }

// Submit queues segments: the node's own at once, the others' for their
// owners within FlushInterval. It returns false if the local queue dropped
// some.
func (r *Router) Submit(segs []segment.Segment) bool {
	local, remote := r.split(segs)
	ok := true
	for o, ss := range remote {
		if !r.queue(r.peers[o], ss) {
			local = append(local, ss...)
		}
	}
	if len(local) > 0 {
		ok = r.local.Submit(local)
	}
	return ok
}

// queue adds fire-and-forget segments to a peer's next forward; false if
// its pending bytes are at their bound.
func (r *Router) queue(p *peer, segs []segment.Segment) bool {
	n := docBytes(segs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pendingBytes+n > r.opts.MaxPending {
		r.fallback.Add(len(segs))
		return false
	}
	p.pending = append(p.pending, segs...)
	p.pendingBytes += n
	if p.timer == nil {
		p.timer = time.AfterFunc(r.opts.FlushInterval, func() { r.flush(p) })
	}
	return true
}

// flush forwards a peer's pending segments; what the peer does not take is
// ingested locally.
func (r *Router) flush(p *peer) {
	p.mu.Lock()
	segs := p.pending
	p.pending, p.pendingBytes, p.timer = nil, 0, nil
	p.mu.Unlock()
	if len(segs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Client.Timeout)
	defer cancel()
	rest, err := r.forward(ctx, p, segs)
	if err != nil {
		r.log.Warn("forwarding segments to their owner failed; ingesting them here", "peer", p.url, "segments", len(rest), "err", err)
	}
	if len(rest) > 0 {
		r.fallback.Add(len(rest))
		r.local.Submit(rest)
	}
}

// SubmitWait makes segments durable: the node's own through the local
// pipeline, the others' by their owners (in parallel). Segments that
// arrive forwarded (WithForwarded) are ingested here.
func (r *Router) SubmitWait(ctx context.Context, segs []segment.Segment) error {
	if Forwarded(ctx) {
		return r.local.SubmitWait(ctx, segs)
	}
	local, remote := r.split(segs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for o, ss := range remote {
		wg.Go(func() {
			rest, err := r.forward(ctx, r.peers[o], ss)
			if err != nil && ctx.Err() != nil {
				mu.Lock()
				errs = append(errs, ctx.Err())
				mu.Unlock()
				return
			}
			if err != nil {
				r.log.Warn("forwarding segments to their owner failed; ingesting them here", "peer", r.peers[o].url, "segments", len(rest), "err", err)
			}
			if len(rest) == 0 {
				return
			}
			r.fallback.Add(len(rest))
			if err := r.local.SubmitWait(ctx, rest); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	if len(local) > 0 {
		if err := r.local.SubmitWait(ctx, local); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Limits of one forwarded PutTraceSegments call, well inside what a
// node's API accepts (10,000 documents and an 8 MiB body; documents grow a
// little when escaped as JSON strings).
const (
	maxForwardDocs  = 1000
	maxForwardBytes = 3 << 20
)

// forward posts segs to p's PutTraceSegments, marked as forwarded, in calls
// of bounded size; each returns once p has made its segments durable (its
// 200). It returns the segments p did not store — those it refused, and on
// an error those not yet sent — for the caller to ingest here.
func (r *Router) forward(ctx context.Context, p *peer, segs []segment.Segment) (rest []segment.Segment, err error) {
	for len(segs) > 0 {
		n, bytes := 0, 0
		for n < len(segs) && n < maxForwardDocs && (n == 0 || bytes+len(segs[n].Raw) <= maxForwardBytes) {
			bytes += len(segs[n].Raw)
			n++
		}
		refused, err := r.post(ctx, p, segs[:n])
		if err != nil {
			r.errs.Inc()
			return append(rest, segs...), err
		}
		rest = append(rest, refused...)
		r.forwarded.Add(n - len(refused))
		segs = segs[n:]
	}
	return rest, nil
}

// post makes one forwarded call and returns the segments p refused.
func (r *Router) post(ctx context.Context, p *peer, segs []segment.Segment) ([]segment.Segment, error) {
	body := make([]byte, 0, docBytes(segs)*9/8+len(segs)*8+64)
	body = append(body, `{"TraceSegmentDocuments":[`...)
	for i := range segs {
		if i > 0 {
			body = append(body, ',')
		}
		body = jsonenc.AppendString(body, segs[i].Raw)
	}
	body = append(body, "]}"...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/TraceSegments", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ForwardedHeader, "1")
	if r.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.opts.Token)
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	payload, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(payload))
	}
	var out struct {
		UnprocessedTraceSegments []struct{ Id, ErrorCode, Message string }
	}
	if err := json.Unmarshal(payload, &out); err != nil {
		return nil, fmt.Errorf("decode PutTraceSegments answer: %w", err)
	}
	if len(out.UnprocessedTraceSegments) == 0 {
		return nil, nil
	}
	// The documents were accepted here, so the owner refuses them only if
	// its limits differ (say a smaller --max-document-size): they are
	// stored here rather than lost.
	u := out.UnprocessedTraceSegments[0]
	r.log.Warn("owner refused forwarded segments; storing them here", "peer", p.url, "segments", len(out.UnprocessedTraceSegments), "first_id", u.Id, "error", u.ErrorCode, "message", u.Message)
	// A refusal names the document by its position in the call (the
	// message's "document N", see internal/api) and, when the document
	// parsed that far, by its segment ID.
	picked := make([]bool, len(segs))
	for _, u := range out.UnprocessedTraceSegments {
		if i, ok := documentIndex(u.Message); ok && i < len(segs) {
			picked[i] = true
			continue
		}
		for i := range segs {
			if u.Id != "" && segs[i].ID().String() == u.Id {
				picked[i] = true
			}
		}
	}
	var refused []segment.Segment
	for i, s := range segs {
		if picked[i] {
			refused = append(refused, s)
		}
	}
	return refused, nil
}

// documentIndex reads N from "... document N ..." in a PutTraceSegments
// refusal message.
func documentIndex(msg string) (int, bool) {
	_, after, ok := strings.Cut(msg, "document ")
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(after) && after[end] >= '0' && after[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(after[:end])
	return n, err == nil
}

// Close forwards what is pending.
func (r *Router) Close() {
	for _, p := range r.peers {
		p.mu.Lock()
		if p.timer != nil {
			p.timer.Stop()
		}
		p.mu.Unlock()
		r.flush(p)
	}
}

type forwardedKey struct{}

// WithForwarded marks ctx as serving a request another node forwarded.
func WithForwarded(ctx context.Context) context.Context {
	return context.WithValue(ctx, forwardedKey{}, true)
}

// Forwarded reports whether ctx serves a forwarded request.
func Forwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}

// Handler marks requests carrying ForwardedHeader (see WithForwarded).
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get(ForwardedHeader) != "" {
			req = req.WithContext(WithForwarded(req.Context()))
		}
		next.ServeHTTP(w, req)
	})
}

// Peers returns the normalized peer URLs, in Owner's numbering.
func (r *Router) Peers() []string {
	out := make([]string, len(r.peers))
	for i, p := range r.peers {
		out[i] = p.url
	}
	return slices.Clip(out)
}

func docBytes(segs []segment.Segment) int {
	n := 0
	for i := range segs {
		n += len(segs[i].Raw)
	}
	return n
}

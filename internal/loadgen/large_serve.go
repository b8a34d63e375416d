package loadgen

import (
	"slices"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// caller is who sends a request to a service.
type caller struct {
	ip, ua string
	xff    bool
}

// result is what a call's subsegment learned, and what the calling code
// received.
type result struct {
	end int64
	// status is the HTTP status; 0 when no response came back.
	status int
	size   int64
	failed bool
	// pass is the status a caller answers with when this failure makes it
	// fail; exc is the error its code received.
	pass int
	exc  excTemplate
	// upstream is true for calls to other services (a failure is a 502,
	// not the caller's own 500).
	upstream bool
}

// scope is where a service's subsegments go: into its segment, or, inside a
// Lambda function, out as independent documents (the SDK's facade segment
// is never sent).
type scope struct {
	seg    *entity
	d      dialect
	n      *node
	lambda bool
	// ip and ua are what this service's outgoing requests carry.
	ip, ua string
	xff    bool
}

func (g *largeGen) attach(sc *scope, sub *entity) {
	if !sc.lambda {
		sc.seg.subs = append(sc.seg.subs, sub)
		return
	}
	sub.parent = sc.seg.id
	g.b.emit(sub.end+g.r.msBetween(0.1, 1), sub, sc.d, modeIndependent)
}

// serve handles one request to a service (not a Lambda function) and
// queues its segment. parent is the caller's subsegment, 0 for an entry.
func (g *largeGen) serve(n *node, op *opNode, parent xrayid.SegmentID, t int64, path string, from caller) result {
	r := &g.r
	def := op.def
	seg := &entity{id: g.ids.SegmentID(), parent: parent, name: n.name, start: t, origin: n.origin, service: n.service}
	sc := scope{seg: seg, d: n.def.dialect, n: n, ua: n.userAgent}
	url := n.baseURL + path
	switch {
	case n.def.host == hostGateway:
		url = "https://" + g.s.apiID + ".execute-api." + largeRegion + ".amazonaws.com/prod" + path
		seg.resourceARN = "arn:aws:apigateway:" + largeRegion + "::/restapis/" + g.s.apiID + "/stages/prod"
		seg.aws = &awsInfo{apiGateway: &apiGatewayInfo{accountID: largeAccount, requestID: r.uuid(),
			restAPIID: g.s.apiID, stage: "prod"}}
		seg.annotations = append(seg.annotations, annStr("aws:api_id", g.s.apiID), annStr("aws:api_stage", "prod"))
		// API Gateway forwards the client's headers and adds X-Forwarded-For.
		sc.ip, sc.ua, sc.xff = from.ip, from.ua, true
	default:
		inst := &n.instances[r.intn(len(n.instances))]
		seg.aws = inst.aws
		sc.ip = inst.ip
		if n.publicURL != "" && parent == 0 {
			url = n.publicURL + path
		}
	}
	seg.http = &httpInfo{method: def.method, url: url, clientIP: from.ip, userAgent: from.ua, xForwardedFor: from.xff}
	if n.def.frontend {
		if n.name == "admin-portal" {
			seg.user = g.admin
		} else if g.user != nil {
			seg.user = g.user.id
		}
	}
	cacheHit := def.annotations&annCacheHit != 0 && r.chance(0.7)
	g.annotate(seg, def.annotations, cacheHit)

	self := r.lognormal(def.selfMs, def.sigma)
	if def.slowRate > 0 && r.chance(def.slowRate) {
		self *= r.uniform(5, 30) // the long tail: GC pauses, cold caches, lock waits
	}
	status := okStatus(def)
	cut := len(op.calls)
	var own *excTemplate
	switch roll := r.float(); {
	case roll < def.throttleRate:
		status, cut, self = 429, 0, r.uniform(0.2, 1) // rejected before any work
	case roll < def.throttleRate+def.errRate:
		status, cut = def.errStatus, r.intn(cut+1)
	case roll < def.throttleRate+def.errRate+def.faultRate:
		status, cut = 500, r.intn(cut+1)
		own = &n.faults[r.intn(len(n.faults))]
	}
	if def.longRunning {
		g.b.emit(t+r.msBetween(1, 5), seg, sc.d, modeInProgress)
	}

	cur, fail := g.runCalls(&sc, op, t+ms(self*0.4), cut, cacheHit)
	if fail != nil && status < 400 {
		status = g.propagate(n, fail)
	}
	seg.end = cur + ms(self*0.6)
	seg.http.status = status
	seg.http.contentLength = g.responseSize(status)
	setStatusFlags(seg, status)
	switch {
	case own != nil:
		seg.cause = g.exceptionCause(n, *own, false)
	case fail != nil && status >= 500 && n.def.host != hostGateway:
		// API Gateway records no exceptions, only the status.
		seg.cause = g.exceptionCause(n, fail.exc, true)
	}

	if def.longRunning && def.crashRate > 0 && r.chance(def.crashRate) {
		// The process died: only the in-progress document was ever sent,
		// and the caller's connection breaks.
		crash := t + int64(float64(seg.end-t)*r.uniform(0.3, 0.9))
		return result{end: crash, failed: true, pass: 502, upstream: true}
	}
	g.stream(seg, sc.d)
	g.b.emit(seg.end+r.msBetween(0.05, 1), seg, sc.d, modeSegment)
	return result{end: seg.end, status: status, size: seg.http.contentLength, failed: status >= 400, pass: status, upstream: true}
}

// okStatus is 201 Created for POSTs that create something.
func okStatus(def *opDef) int {
	if def.method == "POST" && def.path != "/sessions/validate" {
		return 201
	}
	return 200
}

func (g *largeGen) responseSize(status int) int64 {
	if status >= 400 {
		return int64(g.r.between(40, 160))
	}
	return int64(g.r.between(180, 24000))
}

// propagate turns a failed critical call into the caller's answer, the way
// real services do: a client error passes through, a dependency's fault
// becomes a 502 (500 for the service's own store), a throttle becomes a
// 503 or is passed on. API Gateway proxies the status it got.
func (g *largeGen) propagate(n *node, f *result) int {
	if n.def.host == hostGateway {
		if f.status == 0 || f.status < 400 {
			return 502 // broken connection or a Lambda function error
		}
		return f.status
	}
	switch {
	case f.status == 429 || f.pass == 429:
		if g.r.chance(0.5) {
			return 429
		}
		return 503
	case f.pass >= 400 && f.pass < 500:
		return f.pass
	case f.upstream:
		return 502
	}
	return 500
}

func setStatusFlags(e *entity, status int) {
	switch {
	case status == 429:
		e.err, e.throttle = true, true
	case status >= 400 && status < 500:
		e.err = true
	case status >= 500:
		e.fault = true
	}
}

// exceptionCause records an error on a service's own segment, with the
// service's stack.
func (g *largeGen) exceptionCause(n *node, x excTemplate, remote bool) *cause {
	return &cause{workingDir: workingDir(n.def.dialect), exceptions: []exception{{
		id: g.r.hex(16), typ: x.typ, message: x.message, remote: remote,
		stack: n.stacks[g.r.intn(len(n.stacks))],
	}}}
}

// remoteCause records the error a call returned on the call's subsegment.
func (g *largeGen) remoteCause(d dialect, x excTemplate) *cause {
	return &cause{workingDir: workingDir(d), exceptions: []exception{{id: g.r.hex(16), typ: x.typ, message: x.message, remote: true}}}
}

func workingDir(d dialect) string {
	switch d {
	case dialectPython:
		return "/app"
	case dialectNode:
		return "/usr/src/app"
	}
	return "/"
}

func (g *largeGen) annotate(seg *entity, set annSet, cacheHit bool) {
	if set&annCustomer != 0 && g.user != nil {
		seg.annotations = append(seg.annotations, annStr("customer_tier", g.user.tier), annStr("region", g.user.region))
	}
	if set&annOrderTotal != 0 {
		seg.annotations = append(seg.annotations, annNum("order_total", g.orderTotal))
		// Metadata is kept but not indexed: filters must not see it.
		seg.metadata = []metaKV{{"order_id", g.orderID}, {"currency", "USD"}}
	}
	if set&annCacheHit != 0 {
		seg.annotations = append(seg.annotations, annBoolean("cache_hit", cacheHit))
	}
	if set&annItemCount != 0 {
		seg.annotations = append(seg.annotations, annNum("item_count", float64(g.itemCount)))
	}
}

// runCalls makes an operation's downstream calls from cur, in order or all
// at once for parallel operations, stopping at cut (where the service's
// own failure happens) or at the first critical failure. It returns when
// the calls were done and the failure that fails the request, if any.
func (g *largeGen) runCalls(sc *scope, op *opNode, cur int64, cut int, cacheHit bool) (int64, *result) {
	r := &g.r
	parallel := op.def.parallel
	var fail *result
	end := cur
	for k := 0; k < cut; k++ {
		c := &op.calls[k]
		if c.def.prob > 0 && !r.chance(c.def.prob) {
			continue
		}
		if cacheHit && (c.def.kind == callSQL || c.def.kind == callDynamo) {
			continue
		}
		reps := 1
		if c.def.n[1] > 0 {
			reps = r.between(c.def.n[0], c.def.n[1])
		}
		for range reps {
			start := cur
			if parallel {
				start += r.msBetween(0.01, 0.3)
			}
			res := g.call(sc, c, start)
			end = max(end, res.end)
			if !parallel {
				cur = res.end + r.msBetween(0.02, 0.3)
				end = cur
			}
			if res.failed && c.def.critical {
				if fail == nil {
					fail = &res
				}
				if !parallel {
					return end, fail
				}
			}
		}
	}
	return end, fail
}

// streamLimits are the SDKs' streaming thresholds (aws-xray-sdk-go
// xray/default_streaming_strategy.go, aws-xray-sdk-python
// aws_xray_sdk/core/streaming/default_streaming.py, aws-xray-sdk-node
// packages/core/lib/segments/segment_utils.js).
var streamLimits = map[dialect]int{dialectGo: 20, dialectPython: 30, dialectNode: 100}

// stream does what an SDK's streaming strategy does once a segment holds
// more subsegments than its threshold: each time a subsegment closes while
// the count is over the limit, every completed top-level subsegment is sent
// as an independent document and removed from the segment.
func (g *largeGen) stream(seg *entity, d dialect) {
	limit, ok := streamLimits[d]
	if !ok || seg.count() <= limit {
		return
	}
	type event struct {
		at    int64
		k     int
		start bool
	}
	events := make([]event, 0, 2*len(seg.subs))
	sizes := make([]int, len(seg.subs))
	for k, s := range seg.subs {
		sizes[k] = 1 + s.count()
		events = append(events, event{s.start, k, true}, event{s.end, k, false})
	}
	slices.SortStableFunc(events, func(a, b event) int {
		switch {
		case a.at != b.at:
			if a.at < b.at {
				return -1
			}
			return 1
		case a.start != b.start:
			if a.start {
				return -1
			}
			return 1
		}
		return 0
	})
	streamed := make([]bool, len(seg.subs))
	var done []int
	total := 0
	for _, e := range events {
		if e.start {
			total += sizes[e.k]
			continue
		}
		done = append(done, e.k)
		if total <= limit {
			continue
		}
		for _, k := range done {
			s := seg.subs[k]
			s.parent = seg.id
			g.b.emit(e.at+g.r.msBetween(0.01, 0.2), s, d, modeIndependent)
			total -= sizes[k]
			streamed[k] = true
		}
		done = done[:0]
	}
	kept := seg.subs[:0]
	for k, s := range seg.subs {
		if !streamed[k] {
			kept = append(kept, s)
		}
	}
	seg.subs = kept
}

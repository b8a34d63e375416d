package loadgen

import (
	"strconv"
	"strings"
)

// call makes one downstream call, retrying a 429 or 503 with backoff when
// the call says so; every attempt is its own subsegment, as with any HTTP
// client wrapped by an X-Ray SDK.
func (g *largeGen) call(sc *scope, c *callNode, t int64) result {
	for attempt := 0; ; attempt++ {
		var res result
		switch c.def.kind {
		case callService:
			res = g.callService(sc, c, t)
		case callLambda:
			res = g.callLambda(sc, c, t)
		case callSQL:
			res = g.callSQL(sc, c, t)
		case callHTTP:
			res = g.callHTTP(sc, c, t)
		default:
			res = g.callAWS(sc, c, t)
		}
		if attempt >= c.def.retries || (res.status != 429 && res.status != 503) {
			return res
		}
		t = res.end + g.r.msBetween(50, 200)<<attempt
	}
}

// callService is an HTTP request to an instrumented service: a remote
// subsegment with traced:true, and the callee's segment as its child.
func (g *largeGen) callService(sc *scope, c *callNode, t int64) result {
	r := &g.r
	path := g.renderPath(c.path)
	url := c.svc.baseURL + path
	sub := &entity{id: g.ids.SegmentID(), name: hostOf(url), namespace: "remote", start: t,
		http: &httpInfo{method: c.method, url: url, traced: true}}
	res := g.serve(c.svc, c.op, sub.id, t+r.msBetween(0.2, 0.8), path, caller{ip: sc.ip, ua: sc.ua, xff: sc.xff})
	sub.end = res.end + r.msBetween(0.1, 0.5)
	out := result{end: sub.end, status: res.status, upstream: true, pass: res.pass}
	if res.status == 0 {
		sub.fault = true
		out.failed = true
		out.exc = brokenConnError(sc.d, c.method, url)
		sub.cause = g.remoteCause(sc.d, out.exc)
	} else {
		sub.http.status, sub.http.contentLength = res.status, res.size
		setStatusFlags(sub, res.status)
		if res.status >= 400 {
			out.failed = true
			out.exc = httpStatusError(sc.d, c.method, url, res.status)
		}
	}
	g.attach(sc, sub)
	return out
}

func hostOf(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, ":")
	return host
}

// callHTTP is a request to an external API that sends no segments: X-Ray
// infers a remote node from the subsegment.
func (g *largeGen) callHTTP(sc *scope, c *callNode, t int64) result {
	r := &g.r
	url := "https://" + c.def.target + g.renderPath(c.path)
	d := r.lognormal(c.def.ms, 0.4)
	if r.chance(0.01) {
		d *= r.uniform(3, 10)
	}
	status := 200
	if c.method == "POST" && !strings.Contains(c.path, "_search") {
		status = 201
	}
	switch roll := r.float(); {
	case roll < c.def.throttleRate:
		status, d = 429, d*0.2
	case roll < c.def.throttleRate+c.def.faultRate:
		status = pick(r, []int{500, 502, 503})
	}
	sub := &entity{id: g.ids.SegmentID(), name: c.def.target, namespace: "remote", start: t, end: t + ms(d),
		http: &httpInfo{method: c.method, url: url, status: status, contentLength: g.responseSize(status)}}
	setStatusFlags(sub, status)
	g.attach(sc, sub)
	out := result{end: sub.end, status: status, upstream: true, pass: status}
	if status >= 400 {
		out.failed = true
		out.exc = httpStatusError(sc.d, c.method, url, status)
	}
	return out
}

// callSQL is a database query: a remote subsegment with an sql object.
func (g *largeGen) callSQL(sc *scope, c *callNode, t int64) result {
	r := &g.r
	d := r.lognormal(c.def.ms, 0.4)
	if r.chance(0.01) {
		d *= r.uniform(5, 20)
	}
	sub := &entity{id: g.ids.SegmentID(), name: c.name, namespace: "remote", start: t, end: t + ms(d), sql: c.sql}
	out := result{end: sub.end, status: 200, pass: 200}
	if r.chance(c.def.faultRate) {
		sub.fault = true
		out.failed, out.status, out.pass = true, 500, 500
		out.exc = sqlError(sc.d, c.sql.databaseType, pick(r, sqlFaults))
		sub.cause = g.remoteCause(sc.d, out.exc)
	}
	g.attach(sc, sub)
	return out
}

// callAWS is an AWS SDK call to DynamoDB, SQS, SNS or S3: an aws
// subsegment from which X-Ray infers the table, queue, topic or bucket.
func (g *largeGen) callAWS(sc *scope, c *callNode, t int64) result {
	r := &g.r
	kind := c.def.kind
	a := &awsInfo{operation: c.def.op, region: largeRegion, hasRetries: true}
	service := awsSubsegmentName(kind, dialectGo)
	switch kind {
	case callDynamo:
		a.tableName = c.def.target
		a.requestID = r.awsRequestID()
	case callSQS:
		a.queueURL = "https://sqs." + largeRegion + ".amazonaws.com/" + largeAccount + "/" + c.def.target
		a.requestID = r.uuid()
		a.messageID = r.uuid()
	case callSNS:
		a.topicARN = "arn:aws:sns:" + largeRegion + ":" + largeAccount + ":" + c.def.target
		a.requestID = r.uuid()
		a.messageID = r.uuid()
	case callS3:
		a.bucketName = c.def.target
		a.key = "objects/" + strconv.Itoa(10000+r.intn(90000)) + "/" + r.hex(8) + ".json"
		a.requestID = strings.ToUpper(r.hex(16))
	}
	d := r.lognormal(c.def.ms, 0.35)
	if r.chance(0.005) {
		d *= r.uniform(5, 20)
	}
	status, pass := 200, 200
	var code, message string
	switch roll := r.float(); {
	case roll < c.def.errRate:
		status = 400
		switch {
		case c.def.op == "UpdateItem":
			code, message, pass = "ConditionalCheckFailedException", "The conditional request failed", 409
		case kind == callS3:
			status, code, message, pass = 404, "NoSuchKey", "The specified key does not exist.", 404
		default:
			code, message, pass = "ValidationException", "One or more parameter values were invalid", 400
		}
	case roll < c.def.errRate+c.def.faultRate:
		// The SDK retried twice before giving up.
		status, pass, code, message = 500, 500, "InternalServerError", "Internal server error"
		a.retries = 2
		d *= 3
	}
	sub := &entity{id: g.ids.SegmentID(), name: awsSubsegmentName(kind, sc.d), namespace: "aws",
		start: t, end: t + ms(d), aws: a,
		http: &httpInfo{status: status, contentLength: int64(r.between(2, 900))}}
	setStatusFlags(sub, status)
	out := result{end: sub.end, status: status, pass: pass}
	if status >= 400 {
		out.failed = true
		out.exc = awsError(sc.d, service, c.def.op, code, message, status, a.requestID)
		sub.cause = g.remoteCause(sc.d, out.exc)
	}
	g.attach(sc, sub)
	return out
}

// callLambda invokes a function. Asynchronous invocations answer 202 at
// once and run later; synchronous ones wait for the function, whose
// unhandled error arrives as a 200 with function_error set.
func (g *largeGen) callLambda(sc *scope, c *callNode, t int64) result {
	r := &g.r
	fnNode := c.svc
	a := &awsInfo{functionName: fnNode.name, operation: "Invoke", region: largeRegion, requestID: r.uuid(),
		resourceNames: []string{fnNode.name}, hasRetries: true}
	if sc.n.def.host != hostGateway {
		a.invocationType = "RequestResponse"
		if c.def.async {
			a.invocationType = "Event"
		}
	}
	sub := &entity{id: g.ids.SegmentID(), name: awsSubsegmentName(callLambda, sc.d), namespace: "aws", start: t, aws: a,
		http: &httpInfo{}}
	if r.chance(lambdaThrottleRate) {
		sub.end = t + r.msBetween(4, 15)
		sub.http.status = 429
		setStatusFlags(sub, 429)
		out := result{end: sub.end, status: 429, pass: 429, failed: true,
			exc: awsError(sc.d, "Lambda", "Invoke", "TooManyRequestsException", "Rate Exceeded.", 429, a.requestID)}
		sub.cause = g.remoteCause(sc.d, out.exc)
		g.attach(sc, sub)
		return out
	}
	f := lambdaFn{name: fnNode.name, arn: fnNode.arn, account: largeAccount, initMs: fnNode.def.initMs}
	opts := lambdaOpts{parent: sub.id, async: c.def.async, dwellMs: [2]float64{20, 250}, cold: r.chance(largeColdRate)}
	var fnErr *excTemplate
	svc := lambdaInvocation(r, g.ids, &g.b, &f, t+r.msBetween(1, 6), opts, func(fn *entity, start int64) int64 {
		end, x := g.runFunction(fnNode, fn, start)
		fnErr = x
		return end
	})
	out := result{status: 200, pass: 200}
	if c.def.async {
		sub.end = t + r.msBetween(12, 40)
		out.status, out.pass = 202, 202
	} else {
		sub.end = svc.end + r.msBetween(1, 4)
		if fnErr != nil {
			a.functionError = "Unhandled"
			out.failed, out.pass, out.exc = true, 502, *fnErr
		}
	}
	a.statusCode = out.status
	sub.http.status = out.status
	sub.http.contentLength = int64(r.between(2, 600))
	out.end = sub.end
	g.attach(sc, sub)
	return out
}

// runFunction runs a Lambda function's handler from start. Its SDK calls go
// out as independent subsegments of the function segment; an unhandled
// error marks the function segment with error and a cause, as Lambda does.
func (g *largeGen) runFunction(n *node, fn *entity, start int64) (int64, *excTemplate) {
	r := &g.r
	op := n.ops[""]
	sc := scope{seg: fn, d: n.def.dialect, n: n, lambda: true, ip: "169.254.79.129", ua: n.userAgent}
	self := r.lognormal(op.def.selfMs, op.def.sigma)
	cut := len(op.calls)
	var own *excTemplate
	if r.chance(op.def.faultRate) {
		cut = r.intn(cut + 1)
		own = &n.faults[r.intn(len(n.faults))]
	}
	cur, fail := g.runCalls(&sc, op, start+ms(self*0.4), cut, false)
	end := cur + ms(self*0.6)
	switch {
	case own != nil:
		fn.err = true
		fn.cause = g.exceptionCause(n, *own, false)
		return end, own
	case fail != nil:
		fn.err = true
		fn.cause = g.exceptionCause(n, fail.exc, true)
		return end, &fail.exc
	}
	return end, nil
}

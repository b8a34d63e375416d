package loadgen

import "github.com/counterspy/counterspy/internal/xrayid"

// lambdaFn is a Lambda function as the Lambda service describes it.
type lambdaFn struct {
	name, arn, account string
	initMs             [2]float64
}

type lambdaOpts struct {
	// parent is the caller's subsegment; 0 when Lambda starts the trace
	// (an untraced S3 or SNS event source).
	parent xrayid.SegmentID
	// async invocations (InvocationType Event) answer 202 at once and run
	// the function after a queueing delay: Dwell Time, then Attempt #1.
	async   bool
	dwellMs [2]float64
	cold    bool
}

// lambdaInvocation builds the two segments the Lambda service emits for one
// invocation (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html) and queues them on b. handler runs the function's
// code from start (adding its own documents, flags or cause on fn) and
// returns when the code finished. It returns the service segment, whose end
// is when a synchronous caller gets its answer.
func lambdaInvocation(r *rng, ids *xrayid.Generator, b *builder, f *lambdaFn, t int64, o lambdaOpts,
	handler func(fn *entity, start int64) int64) *entity {
	svc := &entity{id: ids.SegmentID(), parent: o.parent, name: f.name, start: t,
		origin: "AWS::Lambda", resourceARN: f.arn,
		http: &httpInfo{status: 200},
		aws:  &awsInfo{requestID: r.uuid()},
	}
	attemptStart := t + r.msBetween(0.3, 1.5)
	var attempt *entity
	if o.async {
		svc.http.status = 202
		dwell := &entity{id: ids.SegmentID(), name: "Dwell Time", start: t}
		dwell.end = t + r.msBetween(o.dwellMs[0], o.dwellMs[1])
		attempt = &entity{id: ids.SegmentID(), name: "Attempt #1", start: dwell.end}
		svc.subs = []*entity{dwell, attempt}
		attemptStart = dwell.end
	}

	fn := &entity{id: ids.SegmentID(), parent: svc.id, name: f.name, awsMicro: true,
		origin: "AWS::Lambda::Function",
		aws: &awsInfo{accountID: f.account, functionARN: f.arn, resourceNames: []string{f.name},
			logGroup: "/aws/lambda/" + f.name},
	}
	fnARN := &awsInfo{functionARN: f.arn}
	cur := attemptStart + r.msBetween(0.2, 1.5)
	if o.cold {
		// Initialization is the cold-start marker and precedes the
		// function segment itself, as in real traces.
		init := &entity{id: ids.SegmentID(), name: "Initialization", start: cur, aws: fnARN}
		init.end = cur + r.msBetween(f.initMs[0], f.initMs[1])
		fn.subs = append(fn.subs, init)
		cur = init.end + r.msBetween(0.2, 1.5)
	}
	fn.start = cur
	inv := &entity{id: ids.SegmentID(), name: "Invocation", start: cur + r.msBetween(0.05, 0.4), aws: fnARN}
	inv.end = handler(fn, inv.start)
	over := &entity{id: ids.SegmentID(), name: "Overhead", start: inv.end + r.msBetween(0.01, 0.1), aws: fnARN}
	over.end = over.start + r.msBetween(0.2, 2)
	fn.end = over.end + r.msBetween(0.05, 0.4)
	fn.subs = append(fn.subs, inv, over)
	fn.annotations = []annotation{
		annNum("aws:responseLatency", round3(float64(inv.end-inv.start)/1e6)),
		annNum("aws:responseDuration", round3(r.uniform(0.01, 0.2))),
		annNum("aws:runtimeOverhead", round3(float64(over.end-over.start)/1e6)),
	}
	if attempt != nil {
		attempt.end = fn.end + r.msBetween(0.5, 3)
		svc.end = attempt.end + r.msBetween(0.1, 1)
	} else {
		svc.end = fn.end + r.msBetween(0.3, 2)
	}
	// The platform ships its segments a little after the invocation.
	b.emit(fn.end+r.msBetween(20, 200), fn, dialectAWS, modeSegment)
	b.emit(svc.end+r.msBetween(20, 200), svc, dialectAWS, modeSegment)
	return svc
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

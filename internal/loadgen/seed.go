package loadgen

import (
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// The seed scenario reproduces the system of the project's seed blog post: a
// client uploads a file to an S3 bucket, S3 notifies an SNS topic, and the
// topic invokes three Lambda functions asynchronously. S3 and SNS are not
// traced, so each invocation starts its own trace at the Lambda service.
//
// Trace i is invocation i%3 (go, py, ts) of upload i/3: one upload is three
// traces, and Rate counts traces, so uploads/s = Rate/3. GroupSize is 3, so
// Run starts the three traces of an upload together.
//
// Per trace, as AWS and the SDKs emit it (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html):
//   - the AWS::Lambda service segment (status 202, Dwell Time, Attempt #1);
//   - the AWS::Lambda::Function segment (Initialization on cold starts,
//     Invocation, Overhead), parent = the service segment;
//   - the SDK's DynamoDB PutItem on table "items", an independent subsegment
//     whose parent is the function segment (SDKs in Lambda never send the
//     function segment themselves, only subsegments of its facade).
//
// About 20% of Python invocations fail with Runtime.ImportModuleError: the
// function segment gets fault and a cause, and there is no DynamoDB call.
type seedScenario struct {
	seed uint64
	fns  [3]seedFunction
}

type seedFunction struct {
	name    string
	arn     string
	dialect dialect
	// initMs is the range of cold-start init durations for the runtime.
	initMs [2]float64
	// handlerMs is the code around the DynamoDB call; dynamoMs the call.
	handlerMs [2]float64
	dynamoMs  [2]float64
	// sdkName names the DynamoDB subsegment as the runtime's SDK does.
	sdkName string
}

const (
	seedAccount = "123456789012"
	seedRegion  = "us-east-1"
	seedTable   = "items"

	// seedColdRate is the share of warm-pool misses after the first upload.
	seedColdRate = 0.05
	// seedPyFailRate is the share of Python invocations that fail to import.
	seedPyFailRate = 0.20

	importErrorType    = "Runtime.ImportModuleError"
	importErrorMessage = "Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"
)

func newSeedScenario(seed uint64) (Scenario, error) {
	arn := func(fn string) string { return "arn:aws:lambda:" + seedRegion + ":" + seedAccount + ":function:" + fn }
	return &seedScenario{seed: seed, fns: [3]seedFunction{
		{name: "xraystarter-go", arn: arn("xraystarter-go"), dialect: dialectGo,
			initMs: [2]float64{50, 120}, handlerMs: [2]float64{0.3, 2}, dynamoMs: [2]float64{4, 14}, sdkName: "DynamoDB"},
		{name: "xraystarter-py", arn: arn("xraystarter-py"), dialect: dialectPython,
			initMs: [2]float64{200, 450}, handlerMs: [2]float64{1, 4}, dynamoMs: [2]float64{6, 20}, sdkName: "dynamodb"},
		{name: "xraystarter-ts", arn: arn("xraystarter-ts"), dialect: dialectNode,
			initMs: [2]float64{150, 350}, handlerMs: [2]float64{1, 5}, dynamoMs: [2]float64{5, 18}, sdkName: "DynamoDB"},
	}}, nil
}

func (s *seedScenario) Name() string   { return "seed" }
func (s *seedScenario) GroupSize() int { return 3 }

// Trace implements Scenario. start is when the upload's SNS notification
// is published; each function receives it a few milliseconds later.
func (s *seedScenario) Trace(i int, start time.Time) Trace {
	fn := &s.fns[uint(i)%3]
	upload := uint(i) / 3
	// start is part of the stream seeds so that reusing an index at another
	// time (a demo's backfill, then live traffic) gives unrelated IDs.
	at := uint64(start.UnixNano())
	r := newRng(mix(s.seed, uint64(i), at, 1))
	ids := xrayid.NewGenerator(mix(s.seed, uint64(i), at, 2))

	received := start.UnixNano() + r.msBetween(15, 60) // SNS delivery
	b := builder{trace: ids.TraceID(time.Unix(0, received))}
	// The first upload finds no instance; later ones usually reuse one.
	cold := upload == 0 || r.chance(seedColdRate)
	failed := fn.dialect == dialectPython && r.chance(seedPyFailRate)

	f := lambdaFn{name: fn.name, arn: fn.arn, account: seedAccount, initMs: fn.initMs}
	opts := lambdaOpts{async: true, dwellMs: [2]float64{39, 92}, cold: cold}
	lambdaInvocation(&r, ids, &b, &f, received, opts, func(fnSeg *entity, t int64) int64 {
		t += r.msBetween(fn.handlerMs[0], fn.handlerMs[1])
		if failed {
			// The brief keeps this on the function node as a fault; the
			// service segment still answered 202.
			fnSeg.fault = true
			fnSeg.cause = &cause{workingDir: "/var/task", exceptions: []exception{{
				id: r.hex(16), typ: importErrorType, message: importErrorMessage}}}
			return t
		}
		ddb := s.dynamoPut(&r, ids, fn, fnSeg.id, t, cold)
		b.emit(ddb.end+r.msBetween(0.1, 2), ddb, fn.dialect, modeIndependent)
		return ddb.end + r.msBetween(fn.handlerMs[0], fn.handlerMs[1])
	})
	return b.finish()
}

// dynamoPut is the SDK's subsegment for the handler's PutItem. The first
// call of a fresh instance also opens the TLS connection, so it is slower.
func (s *seedScenario) dynamoPut(r *rng, ids *xrayid.Generator, fn *seedFunction, parent xrayid.SegmentID, t int64, cold bool) *entity {
	d := r.msBetween(fn.dynamoMs[0], fn.dynamoMs[1])
	if cold {
		d += r.msBetween(25, 80)
	}
	return &entity{id: ids.SegmentID(), parent: parent, name: fn.sdkName, namespace: "aws",
		start: t, end: t + d,
		http: &httpInfo{status: 200, contentLength: 2},
		aws: &awsInfo{operation: "PutItem", region: seedRegion, requestID: r.awsRequestID(),
			tableName: seedTable, resourceNames: []string{seedTable}, hasRetries: true},
	}
}

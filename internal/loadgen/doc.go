// Package loadgen generates X-Ray traffic: segment documents as the X-Ray
// SDKs and AWS services write them, sent as they send them.
//
// It serves three purposes: load tests (counterspy loadgen), demo data for
// a newcomer (counterspy serve --demo), and tests that need exact expected
// results, which they compute from the very documents a run sent.
//
// A Scenario turns (seed, trace number, start time) into the documents of
// one trace, deterministically. Two scenarios exist:
//
//   - "seed": an S3 upload notifies an SNS topic that invokes three Lambda
//     functions (Go, Python, Node) asynchronously; each invocation is its own
//     trace, exactly as Lambda and the SDKs emit it. One upload = 3 traces.
//   - "large": a 27-service shop (API Gateway, ECS, EKS, EC2, Lambda) with
//     deep call trees, SQL, DynamoDB, SQS, SNS, S3 and external APIs,
//     errors, faults and throttles that propagate, slow requests, streamed
//     subsegments and in-progress segments. Documents average ~1.3 KB, the
//     size the ingest benchmark is specified for.
//
// Run sends a scenario over the daemon's UDP protocol or PutTraceSegments,
// at a rate in traces per second or as fast as possible.
package loadgen

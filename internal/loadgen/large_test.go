package loadgen

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// largeStats is what TestLargeScenario counts over many traces.
type largeStats struct {
	services              map[string]bool
	origins               map[string]bool
	sizes                 []int
	errors, faults        int
	throttles             int
	inProgress, completed int
	users                 map[string]bool
	annotationTypes       map[segment.AnnotationType]bool
	annotationKeys        map[string]bool
	streamed, lambdaSDK   int
	stacks, ec2           int
	sql, tables, queues   int
	buckets, topics       int
	versions              int
}

func TestLargeScenario(t *testing.T) {
	s, err := New("large", 11)
	if err != nil {
		t.Fatal(err)
	}
	st := largeStats{services: map[string]bool{}, origins: map[string]bool{}, users: map[string]bool{},
		annotationTypes: map[segment.AnnotationType]bool{}, annotationKeys: map[string]bool{}}
	dec := segment.NewDecoder(0)
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const traces = 2000
	for i := range traces {
		tv := viewTrace(t, dec, s.Trace(i, base.Add(time.Duration(i)*10*time.Millisecond)))
		checkLargeTrace(t, tv, &st)
	}

	if n := len(st.services); n < 20 || n > 50 {
		t.Errorf("%d distinct services, want 20–50: %v", n, st.services)
	}
	for _, o := range []string{"AWS::ApiGateway::Stage", "AWS::ECS::Container", "AWS::EC2::Instance",
		"AWS::EKS::Container", "AWS::Lambda", "AWS::Lambda::Function"} {
		if !st.origins[o] {
			t.Errorf("no segment with origin %s", o)
		}
	}
	for what, n := range map[string]int{"error": st.errors, "fault": st.faults, "throttle": st.throttles,
		"in-progress": st.inProgress, "completed in-progress": st.completed,
		"never completed": st.inProgress - st.completed, "streamed subsegment": st.streamed,
		"Lambda SDK subsegment": st.lambdaSDK, "stack trace": st.stacks, "aws.ec2": st.ec2,
		"SQL": st.sql, "DynamoDB table": st.tables, "SQS queue": st.queues, "S3 bucket": st.buckets,
		"SNS topic": st.topics, "service.version": st.versions, "user": len(st.users)} {
		if n <= 0 {
			t.Errorf("no %s documents in %d traces", what, traces)
		}
	}
	for _, ty := range []segment.AnnotationType{segment.AnnotationString, segment.AnnotationNumber, segment.AnnotationBool} {
		if !st.annotationTypes[ty] {
			t.Errorf("no annotation of type %d", ty)
		}
	}
	for _, k := range []string{"customer_tier", "order_total", "cache_hit", "region", "aws:api_id"} {
		if !st.annotationKeys[k] {
			t.Errorf("no annotation %q", k)
		}
	}

	slices.Sort(st.sizes)
	total := 0
	for _, v := range st.sizes {
		total += v
	}
	n := len(st.sizes)
	mean := float64(total) / float64(n)
	t.Logf("%d documents (%.1f per trace): mean %.0f B, p10 %d, p50 %d, p90 %d, p99 %d, max %d",
		n, float64(n)/traces, mean, st.sizes[n/10], st.sizes[n/2], st.sizes[n*9/10], st.sizes[n*99/100], st.sizes[n-1])
	if mean < 1200 || mean > 1450 {
		t.Errorf("mean document size %.0f B, want about 1.3 KB", mean)
	}
}

func checkLargeTrace(t *testing.T, tv *traceView, st *largeStats) {
	t.Helper()
	complete := map[xrayid.SegmentID]bool{}
	for k := range tv.docs {
		if tv.docs[k].m["in_progress"] != true {
			complete[tv.docs[k].seg.ID()] = true
		}
	}
	roots := map[xrayid.SegmentID]bool{}
	for k := range tv.docs {
		d := &tv.docs[k]
		r := d.root()
		st.sizes = append(st.sizes, len(d.raw))
		for e := range d.seg.Entities {
			countEntity(&d.seg.Entities[e], st)
		}
		if !d.seg.Independent {
			st.services[r.Name] = true
			st.origins[r.Origin] = true
		}
		if d.seg.ParentID == 0 {
			roots[r.ID] = true
			if r.HTTP.Method == "" || r.HTTP.URL == "" || r.HTTP.UserAgent == "" || r.HTTP.ClientIP == "" {
				t.Fatalf("%s: entry segment without its request: %s", tv.id, d.raw)
			}
			if !r.InProgress && r.HTTP.Status == 0 {
				t.Fatalf("%s: entry segment without a status: %s", tv.id, d.raw)
			}
			continue
		}
		parent, ref := tv.parentOf(t, d)
		if d.seg.Independent {
			if tv.entity(entRef{doc: ref.doc}).Origin == "AWS::Lambda::Function" {
				st.lambdaSDK++
			} else {
				st.streamed++
			}
			continue
		}
		if svc, _ := d.m["service"].(map[string]any); svc["version"] != nil {
			st.versions++
		}
		if r.InProgress {
			st.inProgress++
			if complete[r.ID] {
				st.completed++
			}
			continue
		}
		switch r.Origin {
		case "AWS::Lambda::Function":
			if parent.Origin != "AWS::Lambda" || ref.ent != 0 {
				t.Fatalf("%s: function segment's parent is not a Lambda service segment: %s", tv.id, d.raw)
			}
			continue
		case "AWS::Lambda":
			if parent.Namespace != "aws" || parent.Name != "Lambda" && parent.Name != "lambda" {
				t.Fatalf("%s: Lambda invoked by %q (%s), not an Invoke subsegment", tv.id, parent.Name, parent.Namespace)
			}
			continue
		}
		// A service called over HTTP: its parent is the caller's remote,
		// traced subsegment, which saw the status the callee answered.
		if ref.ent == 0 || parent.Namespace != "remote" || !parent.Traced {
			t.Fatalf("%s: %s's parent %s is not a traced remote subsegment", tv.id, r.Name, parent.ID)
		}
		if parent.HTTP.Status != r.HTTP.Status || parent.HTTP.URL != r.HTTP.URL {
			t.Fatalf("%s: caller saw %d %s, %s answered %d %s", tv.id, parent.HTTP.Status, parent.HTTP.URL,
				r.Name, r.HTTP.Status, r.HTTP.URL)
		}
		// Node writes whole milliseconds, so allow for its truncation.
		if parent.Start > r.Start+1e-3 || parent.End < r.End-1e-3 {
			t.Fatalf("%s: %s ran outside its caller's subsegment", tv.id, r.Name)
		}
	}
	if len(roots) != 1 {
		t.Fatalf("%s: %d entry segments, want 1", tv.id, len(roots))
	}
}

func countEntity(e *segment.Entity, st *largeStats) {
	if e.Error {
		st.errors++
	}
	if e.Fault {
		st.faults++
	}
	if e.Throttle {
		st.throttles++
		if !e.Error {
			st.errors = -1 << 30 // a throttle is always an error too
		}
	}
	if e.User != "" {
		st.users[e.User] = true
	}
	for _, a := range e.Annotations {
		st.annotationTypes[a.Type] = true
		st.annotationKeys[a.Key] = true
	}
	for _, x := range e.Cause.Exceptions {
		if len(x.Stack) > 0 {
			st.stacks++
		}
	}
	if e.AWS.InstanceID != "" && strings.HasPrefix(e.AWS.AvailabilityZone, "us-east-1") {
		st.ec2++
	}
	if e.SQL != nil && e.SQL.SanitizedQuery != "" {
		st.sql++
	}
	if e.AWS.TableName != "" {
		st.tables++
	}
	if e.AWS.QueueURL != "" {
		st.queues++
	}
	if e.AWS.BucketName != "" {
		st.buckets++
	}
	if e.AWS.TopicARN != "" {
		st.topics++
	}
}

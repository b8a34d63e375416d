package otlpgen

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/loadgen"
	"github.com/counterspy/counterspy/internal/segment"
)

// large turns the large X-Ray scenario's traces into spans: each entity of
// each (completed) document becomes a span, with the attributes an OTel SDK
// would have set for it, so the receiver maps it back to the same shape.
type large struct{ sc loadgen.Scenario }

func newLarge(seed uint64) (Scenario, error) {
	sc, err := loadgen.New("large", seed)
	if err != nil {
		return nil, fmt.Errorf("large OTLP scenario: %w", err)
	}
	return large{sc: sc}, nil
}

func (large) Name() string { return "large" }

func (l large) Trace(b *Batch, i int, start time.Time) int {
	tr := l.sc.Trace(i, start)
	dec := segment.NewDecoder(0)
	var segs []segment.Segment
	n := 0
	for _, d := range tr.Docs {
		var err error
		if segs, err = dec.Decode(segs[:0], d.JSON); err != nil {
			continue // the scenario's documents are valid; never expected
		}
		for k := range segs {
			n += emitDocument(b, &segs[k])
		}
	}
	return n
}

// emitDocument appends the spans of one document; in-progress documents
// (sent again once complete) are skipped.
func emitDocument(b *Batch, s *segment.Segment) int {
	if s.Root().InProgress {
		return 0
	}
	root := s.Root()
	service := root.Name
	res := map[string]string{}
	switch root.Origin {
	case "AWS::Lambda::Function":
		res["cloud.provider"], res["cloud.platform"], res["faas.name"] = "aws", "aws_lambda", root.Name
	case "AWS::EC2::Instance":
		res["cloud.provider"], res["cloud.platform"] = "aws", "aws_ec2"
	case "AWS::ECS::Container":
		res["cloud.provider"], res["cloud.platform"] = "aws", "aws_ecs"
	case "AWS::EKS::Container":
		res["cloud.provider"], res["cloud.platform"] = "aws", "aws_eks"
	}
	if root.AWS.Region != "" {
		res["cloud.region"] = root.AWS.Region
	}
	spans := b.Spans(service, res)
	var tid pcommon.TraceID
	copy(tid[:], s.TraceID[:])
	for k := range s.Entities {
		e := &s.Entities[k]
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(sid(uint64(e.ID)))
		switch {
		case e.Parent >= 0:
			sp.SetParentSpanID(sid(uint64(s.Entities[e.Parent].ID)))
		case s.ParentID != 0:
			sp.SetParentSpanID(sid(uint64(s.ParentID)))
		}
		sp.SetName(e.Name)
		sp.SetStartTimestamp(pcommon.Timestamp(e.Start * 1e9))
		sp.SetEndTimestamp(pcommon.Timestamp(e.End * 1e9))
		a := sp.Attributes()
		switch {
		case k == 0 && !s.Independent:
			sp.SetKind(ptrace.SpanKindServer)
		case e.Namespace == "aws":
			sp.SetKind(ptrace.SpanKindClient)
			a.PutStr("rpc.system", "aws-api")
			a.PutStr("rpc.service", e.Name)
			if e.AWS.Operation != "" {
				a.PutStr("rpc.method", e.AWS.Operation)
			}
			if e.AWS.TableName != "" {
				a.PutEmptySlice("aws.dynamodb.table_names").AppendEmpty().SetStr(e.AWS.TableName)
			}
			if e.AWS.QueueURL != "" {
				a.PutStr("aws.queue_url", e.AWS.QueueURL)
			}
			if e.AWS.BucketName != "" {
				a.PutStr("aws.s3.bucket", e.AWS.BucketName)
			}
			if e.AWS.TopicARN != "" {
				a.PutStr("aws.sns.topic_arn", e.AWS.TopicARN)
			}
			if e.AWS.RequestID != "" {
				a.PutStr("aws.request_id", e.AWS.RequestID)
			}
		case e.SQL != nil:
			sp.SetKind(ptrace.SpanKindClient)
			a.PutStr("db.system", e.SQL.DatabaseType)
			a.PutStr("db.statement", e.SQL.SanitizedQuery)
			a.PutStr("db.connection_string", e.SQL.URL)
			a.PutStr("peer.service", e.Name)
		case e.Namespace == "remote":
			sp.SetKind(ptrace.SpanKindClient)
			a.PutStr("peer.service", e.Name)
		default:
			sp.SetKind(ptrace.SpanKindInternal)
		}
		if e.HTTP.Method != "" {
			a.PutStr("http.request.method", e.HTTP.Method)
		}
		if e.HTTP.URL != "" {
			a.PutStr("url.full", e.HTTP.URL)
		}
		if e.HTTP.UserAgent != "" {
			a.PutStr("user_agent.original", e.HTTP.UserAgent)
		}
		if e.HTTP.ClientIP != "" {
			a.PutStr("client.address", e.HTTP.ClientIP)
		}
		if e.HTTP.Status != 0 {
			a.PutInt("http.response.status_code", int64(e.HTTP.Status))
		}
		if e.User != "" {
			a.PutStr("enduser.id", e.User)
		}
		if len(e.Annotations) > 0 {
			keys := a.PutEmptySlice("aws.xray.annotations")
			for _, an := range e.Annotations {
				keys.AppendEmpty().SetStr(an.Key)
				switch an.Type {
				case segment.AnnotationString:
					a.PutStr(an.Key, an.String)
				case segment.AnnotationNumber:
					a.PutDouble(an.Key, an.Number)
				case segment.AnnotationBool:
					a.PutBool(an.Key, an.Bool)
				}
			}
		}
		if e.Fault || e.Error {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		for _, ex := range e.Cause.Exceptions {
			ev := sp.Events().AppendEmpty()
			ev.SetName("exception")
			ev.SetTimestamp(sp.EndTimestamp())
			if ex.Type != "" {
				ev.Attributes().PutStr("exception.type", ex.Type)
			}
			if ex.Message != "" {
				ev.Attributes().PutStr("exception.message", ex.Message)
			}
		}
	}
	return len(s.Entities)
}

func sid(v uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], v)
	return id
}

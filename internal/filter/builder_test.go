package filter

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/counterspy/counterspy/internal/segment"
	"github.com/counterspy/counterspy/internal/summary"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// sb builds a summary for a test. Options are "flag" or "key=value"
// strings, so that a test line reads like the trace it describes.
type sb struct{ s summary.Summary }

// trace starts a summary. Options: fault, error, throttle, partial,
// inferred, rt=, duration=, status=, url=, method=, ua=, ip=, az=,
// instance=, arn=.
func trace(opts ...string) *sb {
	b := &sb{s: summary.Summary{Entry: -1}}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		s := &b.s
		switch k {
		case "fault":
			s.HasFault = true
		case "error":
			s.HasError = true
		case "throttle":
			s.HasThrottle = true
		case "partial":
			s.IsPartial = true
		case "inferred":
			s.HasInferred = true
		case "rt":
			s.ResponseTime = num(v)
		case "duration":
			s.Duration = num(v)
		case "az":
			s.AvailabilityZones = append(s.AvailabilityZones, v)
		case "instance":
			s.InstanceIDs = append(s.InstanceIDs, v)
		case "arn":
			s.ResourceARNs = append(s.ResourceARNs, v)
		default:
			if !setHTTP(&s.HTTP, k, v) {
				panic("trace option " + o)
			}
		}
	}
	return b
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func setHTTP(h *summary.HTTP, k, v string) bool {
	switch k {
	case "status":
		h.Status = int(num(v))
	case "url":
		h.URL = v
	case "method":
		h.Method = v
	case "ua":
		h.UserAgent = v
	case "ip":
		h.ClientIP = v
	default:
		return false
	}
	return true
}

// svc adds a node; the first one is the entry point. Options: type=,
// account=, names=a|b, inferred, ok, error, fault, throttle, partial (an
// in-progress request), rt=, and the http options of trace.
func (b *sb) svc(name string, opts ...string) *sb {
	n := summary.Node{Name: name, Names: []string{name}}
	if len(b.s.Nodes) == 0 {
		n.Root, b.s.Entry = true, 0
	}
	n.Requests = []summary.Call{{ID: xrayid.SegmentID(len(b.s.Nodes) + 1), Start: 1, End: 2}}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "type":
			n.Type = v
		case "account":
			n.AccountID = v
		case "names":
			n.Names = strings.Split(v, "|")
		case "inferred":
			n.Inferred = true
		case "ok":
			n.Ok = true
		case "error":
			n.Error = true
		case "fault":
			n.Fault = true
		case "throttle":
			n.Throttle = true
		case "partial":
			n.Requests = append(n.Requests, summary.Call{Start: 1, InProgress: true})
		case "rt":
			n.ResponseTime = num(v)
		default:
			if !setHTTP(&n.HTTP, k, v) {
				panic("svc option " + o)
			}
		}
	}
	b.s.Nodes = append(b.s.Nodes, n)
	return b
}

// node returns the index of the node called name, or -1 for "" (the
// client).
func (b *sb) node(name string) int32 {
	if name == "" {
		return -1
	}
	for i := range b.s.Nodes {
		if b.s.Nodes[i].Name == name {
			return int32(i)
		}
	}
	panic("no node " + name)
}

// edge adds a call from one node to another ("" is the client). Options:
// ok, error, fault, throttle, partial, rt= and the http options.
func (b *sb) edge(from, to string, opts ...string) *sb {
	e := summary.Edge{From: b.node(from), To: b.node(to), Calls: []summary.Call{{Start: 1, End: 2}}}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "ok":
			e.Ok = true
		case "error":
			e.Error = true
		case "fault":
			e.Fault = true
		case "throttle":
			e.Throttle = true
		case "partial":
			e.Calls = append(e.Calls, summary.Call{Start: 1, InProgress: true})
		case "rt":
			e.ResponseTime = num(v)
		default:
			if !setHTTP(&e.HTTP, k, v) {
				panic("edge option " + o)
			}
		}
	}
	b.s.Edges = append(b.s.Edges, e)
	return b
}

// ann adds an annotation value (string, float64, int or bool) set by the
// named nodes.
func (b *sb) ann(key string, v any, nodes ...string) *sb {
	a := summary.Annotation{Key: key, Value: segment.Annotation{Key: key}}
	switch v := v.(type) {
	case string:
		a.Value.Type, a.Value.String = segment.AnnotationString, v
	case float64:
		a.Value.Type, a.Value.Number = segment.AnnotationNumber, v
	case int:
		a.Value.Type, a.Value.Number = segment.AnnotationNumber, float64(v)
	case bool:
		a.Value.Type, a.Value.Bool = segment.AnnotationBool, v
	default:
		panic(fmt.Sprintf("annotation value %T", v))
	}
	for _, n := range nodes {
		a.Nodes = append(a.Nodes, b.node(n))
	}
	b.s.Annotations = append(b.s.Annotations, a)
	return b
}

// user adds a user set by the named nodes.
func (b *sb) user(name string, nodes ...string) *sb {
	u := summary.User{Name: name}
	for _, n := range nodes {
		u.Nodes = append(u.Nodes, b.node(n))
	}
	b.s.Users = append(b.s.Users, u)
	return b
}

// cause appends a root cause to the list called list (fault, error or
// responsetime); it is client-impacting when the list's name is prefixed
// with "!" (as in "!fault").
func (b *sb) cause(list string, svcs ...summary.RootCauseService) *sb {
	rc := summary.RootCause{Services: svcs}
	if l, ok := strings.CutPrefix(list, "!"); ok {
		list, rc.ClientImpacting = l, true
	}
	switch list {
	case "fault":
		b.s.FaultRootCauses = append(b.s.FaultRootCauses, rc)
	case "error":
		b.s.ErrorRootCauses = append(b.s.ErrorRootCauses, rc)
	case "responsetime":
		b.s.ResponseTimeRootCauses = append(b.s.ResponseTimeRootCauses, rc)
	default:
		panic("root-cause list " + list)
	}
	return b
}

func (b *sb) done() *summary.Summary { return &b.s }

// rcSvc is a root-cause service. opts: type=, account=, names=a|b, inferred.
func rcSvc(name, opts string, path ...summary.RootCauseEntity) summary.RootCauseService {
	s := summary.RootCauseService{Name: name, Names: []string{name}, EntityPath: path}
	for _, o := range strings.Fields(opts) {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "type":
			s.Type = v
		case "account":
			s.AccountID = v
		case "names":
			s.Names = strings.Split(v, "|")
		case "inferred":
			s.Inferred = true
		default:
			panic("rcSvc option " + o)
		}
	}
	return s
}

// rcEnt is a root-cause entity. opts: remote, coverage=, exc=Type:Message
// (repeatable).
func rcEnt(name string, opts ...string) summary.RootCauseEntity {
	e := summary.RootCauseEntity{Name: name}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "remote":
			e.Remote = true
		case "coverage":
			e.Coverage = num(v)
		case "exc":
			typ, msg, _ := strings.Cut(v, ":")
			e.Exceptions = append(e.Exceptions, summary.RootCauseException{Name: typ, Message: msg})
		default:
			panic("rcEnt option " + o)
		}
	}
	return e
}

// realistic is a typical summary: ten services behind an API gateway,
// ten edges, ten annotations, users, and a fault root cause.
func realistic() *summary.Summary {
	b := trace("fault", "rt=2.7", "duration=3.1", "status=502", "method=POST",
		"url=https://api.example.com/v2/orders", "ua=Mozilla/5.0", "ip=203.0.113.7",
		"az=us-east-1a", "instance=i-0abc", "arn=arn:aws:apigateway:us-east-1::/restapis/x/stages/prod").
		svc("api-gw", "type=AWS::ApiGateway::Stage", "account=123456789012", "ok", "fault", "rt=2.7", "status=502", "method=POST").
		svc("orders", "type=AWS::Lambda", "account=123456789012", "ok", "fault", "rt=2.5").
		svc("orders", "type=AWS::Lambda::Function", "account=123456789012", "fault", "rt=2.4").
		svc("inventory", "type=AWS::ECS::Container", "ok", "rt=0.3").
		svc("payments", "type=AWS::EC2::Instance", "fault", "rt=1.9", "status=500").
		svc("OrdersTable", "type=AWS::DynamoDB::Table", "inferred", "ok", "rt=0.02").
		svc("PaymentsQueue", "type=AWS::SQS::Queue", "inferred", "ok", "rt=0.01").
		svc("SNS", "type=AWS::SNS", "inferred", "ok", "rt=0.01").
		svc("bank.example.com", "type=remote", "inferred", "fault", "rt=1.5", "status=503").
		svc("auth", "type=AWS::EC2::Instance", "ok", "rt=0.1")
	b.edge("", "api-gw", "fault", "rt=2.7", "status=502").
		edge("api-gw", "orders", "fault", "rt=2.6").
		edge("api-gw", "auth", "ok", "rt=0.1").
		edge("orders", "inventory", "ok", "rt=0.3").
		edge("orders", "OrdersTable", "ok", "rt=0.02").
		edge("orders", "payments", "fault", "rt=1.95", "status=500", "method=POST").
		edge("payments", "bank.example.com", "fault", "rt=1.5", "status=503").
		edge("payments", "PaymentsQueue", "ok", "rt=0.01").
		edge("inventory", "SNS", "ok", "rt=0.01").
		edge("orders", "auth", "ok", "rt=0.05")
	b.ann("customer_tier", "gold", "orders").ann("order_id", "o-81723", "orders").
		ann("items", 3, "orders").ann("amount", 129.5, "payments").ann("retry", false, "payments").
		ann("region", "eu", "inventory").ann("aws:api_id", "x1y2", "api-gw").
		ann("aws:api_stage", "prod", "api-gw").ann("cache_hit", true, "inventory").ann("attempt", 1, "payments").
		user("alice", "api-gw", "orders")
	b.cause("!fault", rcSvc("payments", "type=AWS::EC2::Instance",
		rcEnt("payments"), rcEnt("charge"), rcEnt("bank.example.com", "remote", "exc=HTTPError:503 Service Unavailable"))).
		cause("responsetime", rcSvc("orders", "type=AWS::Lambda::Function", rcEnt("orders", "coverage=1")),
			rcSvc("payments", "type=AWS::EC2::Instance", rcEnt("payments", "coverage=0.7"), rcEnt("bank.example.com", "remote", "coverage=0.55")))
	return b.done()
}

// Vocabulary shared by randomSummary and the random expressions of the
// property tests, so that random expressions often match.
var (
	vocabNames  = []string{"a", "b", "c"}
	vocabTypes  = []string{"", "T1", "T2", "client"}
	vocabAccts  = []string{"", "111"}
	vocabKeys   = []string{"k1", "k2", "aws:x"}
	vocabStrs   = []string{"", "x", "xy", "GET", "POST", "/api"}
	vocabNums   = []float64{0, 0.5, 1, 2, 200, 404, 500}
	vocabLists  = []string{"fault", "error", "responsetime"}
	vocabTarget = []string{"service", "entity", "exception"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomSummary draws a small summary over the shared vocabulary.
func randomSummary(r *rand.Rand) *summary.Summary {
	s := &summary.Summary{Entry: -1,
		HasFault: r.IntN(2) == 0, HasError: r.IntN(2) == 0, HasThrottle: r.IntN(3) == 0,
		IsPartial: r.IntN(3) == 0, HasInferred: r.IntN(3) == 0,
		ResponseTime: pick(r, vocabNums), Duration: pick(r, vocabNums),
		HTTP: randomHTTP(r),
	}
	for range r.IntN(4) {
		n := summary.Node{Name: pick(r, vocabNames), Type: pick(r, vocabTypes[:3]), AccountID: pick(r, vocabAccts),
			Inferred: r.IntN(2) == 0, Ok: r.IntN(2) == 0, Error: r.IntN(2) == 0, Fault: r.IntN(2) == 0,
			Throttle: r.IntN(3) == 0, ResponseTime: pick(r, vocabNums), HTTP: randomHTTP(r)}
		n.Names = []string{n.Name}
		if r.IntN(3) == 0 {
			n.Names = append(n.Names, pick(r, vocabNames))
		}
		n.Requests = []summary.Call{{InProgress: r.IntN(4) == 0}}
		s.Nodes = append(s.Nodes, n)
	}
	if len(s.Nodes) > 0 {
		s.Entry = 0
		s.Nodes[0].Root = true
		for range r.IntN(5) {
			// Out-of-range ends too: Match must not trust the summary.
			e := summary.Edge{From: int32(r.IntN(len(s.Nodes)+2)) - 1, To: int32(r.IntN(len(s.Nodes) + 1)),
				Ok: r.IntN(2) == 0, Error: r.IntN(2) == 0, Fault: r.IntN(2) == 0, Throttle: r.IntN(3) == 0,
				ResponseTime: pick(r, vocabNums), HTTP: randomHTTP(r), Calls: []summary.Call{{InProgress: r.IntN(4) == 0}}}
			s.Edges = append(s.Edges, e)
		}
	}
	for range r.IntN(4) {
		a := summary.Annotation{Key: pick(r, vocabKeys)}
		a.Value.Key = a.Key
		switch r.IntN(3) {
		case 0:
			a.Value.Type, a.Value.String = segment.AnnotationString, pick(r, vocabStrs)
		case 1:
			a.Value.Type, a.Value.Number = segment.AnnotationNumber, pick(r, vocabNums)
		default:
			a.Value.Type, a.Value.Bool = segment.AnnotationBool, r.IntN(2) == 0
		}
		if len(s.Nodes) > 0 {
			a.Nodes = []int32{int32(r.IntN(len(s.Nodes) + 1))}
		}
		s.Annotations = append(s.Annotations, a)
	}
	for range r.IntN(3) {
		u := summary.User{Name: pick(r, vocabStrs)}
		if len(s.Nodes) > 0 {
			u.Nodes = []int32{int32(r.IntN(len(s.Nodes)))}
		}
		s.Users = append(s.Users, u)
	}
	for range r.IntN(2) {
		s.AvailabilityZones = append(s.AvailabilityZones, pick(r, vocabStrs))
	}
	lists := []*[]summary.RootCause{&s.FaultRootCauses, &s.ErrorRootCauses, &s.ResponseTimeRootCauses}
	for range r.IntN(4) {
		l := lists[r.IntN(3)]
		rc := summary.RootCause{ClientImpacting: r.IntN(2) == 0}
		for range r.IntN(3) {
			svc := rcSvc(pick(r, vocabNames), "")
			svc.Type, svc.Inferred = pick(r, vocabTypes[:3]), r.IntN(2) == 0
			for range r.IntN(3) {
				e := rcEnt(pick(r, vocabNames))
				e.Remote, e.Coverage = r.IntN(2) == 0, pick(r, vocabNums)
				for range r.IntN(2) {
					e.Exceptions = append(e.Exceptions, summary.RootCauseException{Name: pick(r, vocabNames), Message: pick(r, vocabStrs)})
				}
				svc.EntityPath = append(svc.EntityPath, e)
			}
			rc.Services = append(rc.Services, svc)
		}
		*l = append(*l, rc)
	}
	return s
}

func randomHTTP(r *rand.Rand) summary.HTTP {
	return summary.HTTP{URL: pick(r, vocabStrs), Method: pick(r, vocabStrs), Status: int(pick(r, vocabNums))}
}

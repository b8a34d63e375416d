package loadgen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// The large scenario: many services, deep call trees, every kind of
// downstream call and every flag. See large_topology.go for the system.
//
// The topology is fixed; the seed chooses the infrastructure (instance IDs,
// addresses, availability zones, pods, versions, the API ID, the user base)
// and, per trace, everything that varies between requests.
type largeScenario struct {
	seed    uint64
	nodes   map[string]*node
	entries []entryNode
	weights int
	apiID   string
	users   []endUser
	admins  []string
}

// node is a service of the topology with its per-seed infrastructure.
type node struct {
	def       *svcDef
	name      string
	origin    string
	ops       map[string]*opNode
	instances []instance
	service   *serviceInfo
	// userAgent is what the service's HTTP client sends.
	userAgent string
	// arn is a Lambda function's ARN.
	arn     string
	stacks  [][]frame
	faults  []excTemplate
	baseURL string
	// publicURL is where browsers reach a frontend.
	publicURL string
}

type opNode struct {
	def   *opDef
	key   string // "GET /path"
	calls []callNode
}

type callNode struct {
	def *callDef
	svc *node   // callService and callLambda
	op  *opNode // callService
	sql *sqlInfo
	// name is the subsegment name of an SQL call: database@host.
	name string
	// method and path of a service or external HTTP call.
	method, path string
}

type instance struct {
	ip  string
	aws *awsInfo // the resource block every segment of this instance carries
}

type entryNode struct {
	svc    *node
	op     *opNode
	weight int
}

type endUser struct{ id, tier, region string }

type excTemplate struct{ typ, message string }

const (
	largeAccount = "123456789012"
	largeRegion  = "us-east-1"
	largeCluster = "shop-prod"
	// largeColdRate is the share of Lambda invocations that start an instance.
	largeColdRate = 0.04
	// lambdaThrottleRate is the share of Invoke calls Lambda rejects with 429.
	lambdaThrottleRate = 0.003
)

var largeOrigins = map[hostKind]string{
	hostGateway: "AWS::ApiGateway::Stage",
	hostECS:     "AWS::ECS::Container",
	hostEKS:     "AWS::EKS::Container",
	hostEC2:     "AWS::EC2::Instance",
	hostLambda:  "AWS::Lambda::Function",
}

func newLargeScenario(seed uint64) (Scenario, error) {
	// A stream of its own, so that "large" and "seed" with the same seed and
	// start never produce the same trace IDs (one server may get both).
	seed = mix(seed, 0x6c61726765) // "large"
	r := newRng(mix(seed, 0, 0xbeef))
	s := &largeScenario{seed: seed, nodes: make(map[string]*node, len(largeServices))}
	s.apiID = randomLower(&r, 10)
	for _, def := range largeServices {
		if _, dup := s.nodes[def.name]; dup {
			return nil, fmt.Errorf("large scenario: service %q defined twice", def.name)
		}
		s.nodes[def.name] = s.newNode(&r, def)
	}
	for _, def := range largeServices {
		n := s.nodes[def.name]
		for _, op := range n.ops {
			if err := s.resolveCalls(n, op); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range largeEntries {
		n, ok := s.nodes[e.svc]
		if !ok {
			return nil, fmt.Errorf("large scenario: entry names unknown service %q", e.svc)
		}
		op, ok := n.ops[e.op]
		if !ok {
			return nil, fmt.Errorf("large scenario: entry names unknown operation %q of %s", e.op, e.svc)
		}
		s.entries = append(s.entries, entryNode{svc: n, op: op, weight: e.weight})
		s.weights += e.weight
	}
	s.users = make([]endUser, 2000)
	tiers := []string{"free", "free", "free", "standard", "standard", "premium"}
	regions := []string{"us-east", "us-east", "us-west", "eu-central", "ap-southeast"}
	for k := range s.users {
		s.users[k] = endUser{
			id:     fmt.Sprintf("user-%06d", r.intn(1000000)),
			tier:   pick(&r, tiers),
			region: pick(&r, regions),
		}
	}
	for _, name := range []string{"alice", "bob", "chen", "dana", "emeka"} {
		s.admins = append(s.admins, name+"@example-shop.com")
	}
	return s, nil
}

func (s *largeScenario) Name() string { return "large" }

func (s *largeScenario) newNode(r *rng, def *svcDef) *node {
	n := &node{def: def, name: def.name, origin: largeOrigins[def.host], ops: make(map[string]*opNode)}
	for _, op := range def.ops {
		key := op.method + " " + op.path
		if def.host == hostLambda {
			key = ""
		}
		n.ops[key] = &opNode{def: op, key: key}
	}
	n.service = dialectService(def.dialect, fmt.Sprintf("%d.%d.%d", 1+r.intn(4), r.intn(30), r.intn(12)))
	n.userAgent = dialectUserAgent(def.dialect)
	n.stacks, n.faults = faultTemplates(r, def)
	host := def.dns
	if host == "" {
		host = def.name
	}
	n.baseURL = "http://" + host
	if def.port != 0 {
		n.baseURL += ":" + strconv.Itoa(def.port)
	}
	switch def.name {
	case "web-frontend":
		n.publicURL = "https://www.example-shop.com"
	case "admin-portal":
		n.publicURL = "https://admin.example-shop.com"
	}
	switch def.host {
	case hostLambda:
		n.arn = "arn:aws:lambda:" + largeRegion + ":" + largeAccount + ":function:" + def.name
	case hostECS, hostEKS, hostEC2:
		count := 2 + r.intn(3)
		for k := 0; k < count; k++ {
			n.instances = append(n.instances, newInstance(r, def, n.service))
		}
	}
	return n
}

// resolveCalls links an operation's calls to their targets and checks the
// table, so that a mistake in it fails New instead of a trace.
func (s *largeScenario) resolveCalls(n *node, op *opNode) error {
	d := op.def
	if d.errRate > 0 && (d.errStatus < 400 || d.errStatus > 499) {
		return fmt.Errorf("large scenario: %s %s: error status %d is not 4xx", n.name, op.key, d.errStatus)
	}
	if d.faultRate > 0 && len(n.faults) == 0 {
		return fmt.Errorf("large scenario: %s %s fails but has no exceptions", n.name, op.key)
	}
	for k := range d.calls {
		// A process that dies loses its subsegments: a callee's segment
		// would name a parent that never arrives.
		if d.crashRate > 0 && (d.calls[k].kind == callService || d.calls[k].kind == callLambda) {
			return fmt.Errorf("large scenario: %s %s may crash, so it must not call instrumented services", n.name, op.key)
		}
	}
	for k := range op.def.calls {
		c := &op.def.calls[k]
		cn := callNode{def: c}
		switch c.kind {
		case callService, callLambda:
			target, ok := s.nodes[c.target]
			if !ok {
				return fmt.Errorf("large scenario: %s %s calls unknown service %q", n.name, op.key, c.target)
			}
			cn.svc = target
			if c.kind == callService {
				if cn.op, ok = target.ops[c.op]; !ok {
					return fmt.Errorf("large scenario: %s %s calls unknown operation %q of %s", n.name, op.key, c.op, c.target)
				}
				cn.method, cn.path = cn.op.def.method, cn.op.def.path
			} else if _, ok := target.ops[""]; !ok || target.def.host != hostLambda {
				return fmt.Errorf("large scenario: %s %s invokes %q, which is not a Lambda function", n.name, op.key, c.target)
			}
		case callSQL:
			db, ok := sqlDatabases[c.target]
			if !ok {
				return fmt.Errorf("large scenario: %s %s queries unknown database %q", n.name, op.key, c.target)
			}
			db.sanitizedQuery = c.op
			cn.sql = &db
			host, _, _ := strings.Cut(db.url, ":")
			_, dbName, _ := strings.Cut(db.url, "/")
			cn.name = dbName + "@" + host
		case callHTTP:
			method, path, ok := strings.Cut(c.op, " ")
			if !ok {
				return fmt.Errorf("large scenario: %s %s: external call %q is not \"METHOD /path\"", n.name, op.key, c.op)
			}
			cn.method, cn.path = method, path
		}
		op.calls = append(op.calls, cn)
	}
	return nil
}

// newInstance places one instance of a service: an EC2 host, and for ECS
// and EKS the container or pod on it.
func newInstance(r *rng, def *svcDef, svc *serviceInfo) instance {
	zone := largeRegion + string("abcd"[r.intn(4)])
	ip := fmt.Sprintf("10.0.%d.%d", 16*int(zone[len(zone)-1]-'a')+r.intn(16), 4+r.intn(250))
	hostName := "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"
	a := &awsInfo{
		ec2: &ec2Info{az: zone, instanceID: "i-0" + r.hex(16),
			instanceSize: pick(r, []string{"m6i.large", "m6i.xlarge", "c6i.large", "r6g.large"}),
			amiID:        "ami-0" + r.hex(16)},
	}
	switch def.host {
	case hostECS:
		a.ecs = &ecsInfo{container: hostName, containerID: r.hex(64)}
	case hostEKS:
		a.eks = &eksInfo{clusterName: largeCluster, containerID: r.hex(64),
			pod: def.name + "-" + r.hex(10) + "-" + randomLower(r, 5)}
	}
	a.xraySDK, a.xraySDKVersion, a.xrayPackage = dialectSDK(def.dialect)
	return instance{ip: ip, aws: a}
}

func randomLower(r *rng, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for k := range b {
		b[k] = alphabet[r.intn(len(alphabet))]
	}
	return string(b)
}

// largeGen is the state of generating one trace.
type largeGen struct {
	s   *largeScenario
	r   rng
	ids *xrayid.Generator
	b   builder

	// The end user and their request, shared by every service of the trace.
	user       *endUser
	admin      string
	clientIP   string
	clientUA   string
	orderTotal float64
	itemCount  int
	// The objects the request is about.
	productID, orderID, shipmentID, userID string
}

// Trace implements Scenario.
func (s *largeScenario) Trace(i int, start time.Time) Trace {
	// start is part of the stream seeds so that reusing an index at another
	// time (a demo's backfill, then live traffic) gives unrelated IDs.
	at := uint64(start.UnixNano())
	g := &largeGen{s: s, r: newRng(mix(s.seed, uint64(i), at, 1)), ids: xrayid.NewGenerator(mix(s.seed, uint64(i), at, 2))}
	g.b.trace = g.ids.TraceID(start)
	e := s.pickEntry(&g.r)
	g.newRequest(e)
	path := g.renderPath(e.op.def.path)
	g.serve(e.svc, e.op, 0, start.UnixNano(), path, caller{ip: g.clientIP, ua: g.clientUA, xff: true})
	return g.b.finish()
}

func (s *largeScenario) pickEntry(r *rng) entryNode {
	w := r.intn(s.weights)
	for _, e := range s.entries {
		if w < e.weight {
			return e
		}
		w -= e.weight
	}
	return s.entries[len(s.entries)-1]
}

// newRequest chooses who is asking: browsing can be anonymous, buying and
// the mobile app cannot; a few users make most requests.
func (g *largeGen) newRequest(e entryNode) {
	r := &g.r
	g.clientIP = fmt.Sprintf("%s.%d", pick(r, []string{"192.0.2", "198.51.100", "203.0.113"}), 1+r.intn(254))
	switch e.svc.name {
	case "admin-portal":
		g.admin = pick(r, g.s.admins)
		g.clientUA = pick(r, browserAgents)
	case "shop-api/prod":
		g.user = g.pickUser()
		g.clientUA = pick(r, appAgents)
	default:
		g.clientUA = pick(r, browserAgents)
		if e.op.def.method == "POST" || !r.chance(0.3) {
			g.user = g.pickUser()
		}
	}
	g.itemCount = 1 + r.intn(6)
	g.orderTotal = float64(r.between(999, 45000)*g.itemCount) / 100
	g.productID = strconv.Itoa(10000 + r.intn(90000))
	g.orderID = "ord-" + r.hex(10)
	g.shipmentID = "shp_" + r.hex(16)
	g.userID = "user-" + strconv.Itoa(r.intn(1000000))
	if g.user != nil {
		g.userID = g.user.id
	}
}

func (g *largeGen) pickUser() *endUser {
	u := g.r.float()
	return &g.s.users[int(u*u*float64(len(g.s.users)))]
}

// renderPath fills {id} with the request's object of that kind, so that
// one product page asks every service about the same product.
func (g *largeGen) renderPath(p string) string {
	k := strings.Index(p, "{id}")
	if k < 0 {
		return p
	}
	var id string
	switch {
	case strings.Contains(p, "order"):
		id = g.orderID
	case strings.Contains(p, "tracker"), strings.Contains(p, "shipment"):
		id = g.shipmentID
	case strings.Contains(p, "point"), strings.Contains(p, "user"):
		id = g.userID
	default:
		id = g.productID
	}
	return p[:k] + id + p[k+4:]
}

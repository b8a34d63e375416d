package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Function is a function as a template declares it.
type Function struct {
	// Name is FunctionName when the template sets one, else the resource's
	// logical ID (CloudFormation would add the stack name and a suffix).
	Name      string
	LogicalID string
	Runtime   string // python3.12, nodejs22.x, provided.al2023, ...
	Handler   string // app.lambda_handler, index.handler, bootstrap
	// CodeDir is the code directory (SAM CodeUri, a CDK asset directory),
	// absolute. CodeZip is set instead when the code is a .zip file.
	CodeDir, CodeZip string
	MemoryMB         int
	Timeout          time.Duration
	Environment      map[string]string
	// Tracing is Active or PassThrough ("" when the template says nothing).
	Tracing string
	// ReservedConcurrency is ReservedConcurrentExecutions (0: none).
	ReservedConcurrency int
}

// Bucket is an S3 bucket and where its ObjectCreated events go.
type Bucket struct {
	Name, LogicalID string
	// Topic is the SNS topic (name) of its TopicConfigurations.
	Topic string
	// Functions are invoked directly (LambdaConfigurations, SAM S3 events).
	Functions []string
}

// Topic is an SNS topic and its Lambda subscribers (function names).
type Topic struct {
	Name, LogicalID string
	Subscribers     []string
}

// Template is what a template defines for the emulator.
type Template struct {
	Functions []Function
	Buckets   []Bucket
	Topics    []Topic
	// Warnings name what was read but cannot run here (an S3 bucket's
	// second topic, a subscription of another protocol, ...).
	Warnings []string
}

// Options are what a template leaves to the deployment.
type Options struct {
	Region, AccountID string
	// StackName is AWS::StackName (default: the file name without its
	// extensions, or the directory's name for a template.yaml).
	StackName string
}

// Load reads a template file; relative code paths are relative to its
// directory (a SAM project's root, or cdk.out for a synthesized template).
func Load(path string, opts Options) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	if opts.StackName == "" {
		// cdk.out/XrayStarterStack.template.json names its stack; a SAM
		// project's template.yaml is named after its directory.
		base := filepath.Base(path)
		opts.StackName = strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".template")
		if opts.StackName == "template" {
			opts.StackName = filepath.Base(dir)
		}
	}
	t, err := Parse(data, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a template's text; dir resolves relative code paths.
func Parse(data []byte, dir string, opts Options) (*Template, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.StackName == "" {
		opts.StackName = "local"
	}
	doc, err := decode(data)
	if err != nil {
		return nil, err
	}
	resources, ok := doc["Resources"].(map[string]any)
	if !ok {
		return nil, errors.New("no Resources section")
	}
	p := &parser{opts: opts, dir: dir, resources: map[string]resource{}, params: map[string]string{}}
	if params, ok := doc["Parameters"].(map[string]any); ok {
		for name, v := range params {
			if m, ok := v.(map[string]any); ok {
				if d, ok := scalar(m["Default"]); ok {
					p.params[name] = d
				}
			}
		}
	}
	if g, ok := doc["Globals"].(map[string]any); ok {
		p.globals, _ = g["Function"].(map[string]any)
	}
	for id, v := range resources {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not a mapping", id)
		}
		typ, _ := m["Type"].(string)
		props, _ := m["Properties"].(map[string]any)
		meta, _ := m["Metadata"].(map[string]any)
		p.resources[id] = resource{id: id, typ: typ, props: props, meta: meta}
	}
	p.ids = make([]string, 0, len(p.resources))
	for id := range p.resources {
		p.ids = append(p.ids, id)
	}
	sort.Strings(p.ids) // deterministic output and errors
	return p.build()
}

type resource struct {
	id, typ     string
	props, meta map[string]any
}

type parser struct {
	opts      Options
	dir       string
	resources map[string]resource
	ids       []string
	params    map[string]string
	globals   map[string]any
	t         Template
	errs      []error
}

const (
	typeSAMFunction   = "AWS::Serverless::Function"
	typeFunction      = "AWS::Lambda::Function"
	typeBucket        = "AWS::S3::Bucket"
	typeCDKBucketNote = "Custom::S3BucketNotifications"
	typeTopic         = "AWS::SNS::Topic"
	typeSubscription  = "AWS::SNS::Subscription"
	typeSAMPermission = "AWS::Lambda::Permission"
)

var lambdaName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (p *parser) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

func (p *parser) warnf(format string, args ...any) {
	p.t.Warnings = append(p.t.Warnings, fmt.Sprintf(format, args...))
}

func (p *parser) build() (*Template, error) {
	buckets := map[string]*Bucket{} // by logical ID
	topics := map[string]*Topic{}
	var bucketOrder, topicOrder []string
	bucket := func(id string) *Bucket {
		if b, ok := buckets[id]; ok {
			return b
		}
		b := &Bucket{LogicalID: id, Name: p.physicalName(id)}
		buckets[id] = b
		bucketOrder = append(bucketOrder, id)
		return b
	}
	topic := func(id string) *Topic {
		if t, ok := topics[id]; ok {
			return t
		}
		t := &Topic{LogicalID: id, Name: p.physicalName(id)}
		topics[id] = t
		topicOrder = append(topicOrder, id)
		return t
	}
	// Declared buckets and topics exist even with no subscriber.
	for _, id := range p.ids {
		switch p.resources[id].typ {
		case typeBucket:
			bucket(id)
		case typeTopic:
			topic(id)
		}
	}
	providers := p.customResourceProviders()
	for _, id := range p.ids {
		r := p.resources[id]
		switch r.typ {
		case typeSAMFunction, typeFunction:
			if providers[id] {
				p.warnf("%s: provides a custom resource (deployment machinery); not run", id)
				continue
			}
			f, ok := p.function(r)
			if !ok {
				continue
			}
			p.t.Functions = append(p.t.Functions, f)
			if r.typ == typeSAMFunction {
				p.samEvents(r, f.Name, bucket, topic)
			}
		case typeBucket:
			if nc, ok := r.props["NotificationConfiguration"].(map[string]any); ok {
				p.notifications(id, nc, bucket, topic)
			}
		case typeCDKBucketNote:
			// CDK's bucket.addEventNotification: a custom resource naming
			// the bucket (Ref) and the same NotificationConfiguration.
			bid := p.refTarget(r.props["BucketName"])
			if bid == "" || p.resources[bid].typ != typeBucket {
				p.warnf("%s: BucketName does not refer to a bucket of this template; ignored", id)
				continue
			}
			if nc, ok := r.props["NotificationConfiguration"].(map[string]any); ok {
				p.notifications(bid, nc, bucket, topic)
			}
		case typeTopic:
			for i, s := range list(r.props["Subscription"]) {
				m, _ := s.(map[string]any)
				p.subscribe(fmt.Sprintf("%s Subscription[%d]", id, i), id, m["Protocol"], m["Endpoint"], topic)
			}
		case typeSubscription:
			tid := p.refTarget(r.props["TopicArn"])
			if tid == "" || p.resources[tid].typ != typeTopic {
				p.warnf("%s: TopicArn does not refer to a topic of this template; ignored", id)
				continue
			}
			p.subscribe(id, tid, r.props["Protocol"], r.props["Endpoint"], topic)
		}
	}
	for _, id := range bucketOrder {
		p.t.Buckets = append(p.t.Buckets, *buckets[id])
	}
	for _, id := range topicOrder {
		p.t.Topics = append(p.t.Topics, *topics[id])
	}
	if len(p.t.Functions) == 0 && len(p.errs) == 0 {
		p.errs = append(p.errs, errors.New("no AWS::Serverless::Function or AWS::Lambda::Function resource"))
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return &p.t, nil
}

// customResourceProviders are the functions named by a custom resource's
// ServiceToken (CDK's BucketNotificationsHandler, LogRetention, ...): they
// run during a deployment, never as part of the application.
func (p *parser) customResourceProviders() map[string]bool {
	ids := map[string]bool{}
	for _, id := range p.ids {
		r := p.resources[id]
		if r.typ != "AWS::CloudFormation::CustomResource" && !strings.HasPrefix(r.typ, "Custom::") {
			continue
		}
		if fid := p.refTarget(r.props["ServiceToken"]); p.isFunction(fid) {
			ids[fid] = true
		}
	}
	return ids
}

// prop reads a function property, falling back to SAM's Globals.Function.
func (p *parser) prop(r resource, name string) any {
	if v, ok := r.props[name]; ok {
		return v
	}
	if r.typ == typeSAMFunction && p.globals != nil {
		return p.globals[name]
	}
	return nil
}

func (p *parser) function(r resource) (Function, bool) {
	f := Function{LogicalID: r.id, Name: p.functionName(r.id)}
	if !lambdaName.MatchString(f.Name) {
		p.errorf("%s: function name %q: 1-64 letters, digits, '-' or '_'", r.id, f.Name)
		return f, false
	}
	f.Runtime = p.str(p.prop(r, "Runtime"))
	f.Handler = p.str(p.prop(r, "Handler"))
	if pt := p.str(p.prop(r, "PackageType")); pt == "Image" {
		p.errorf("%s: PackageType Image (a container image) is not supported; use a Zip function", r.id)
		return f, false
	}
	if v := p.prop(r, "MemorySize"); v != nil {
		n, err := strconv.Atoi(p.str(v))
		if err != nil || n < 128 || n > 10240 {
			p.errorf("%s: MemorySize %v: Lambda allows 128 to 10240", r.id, v)
			return f, false
		}
		f.MemoryMB = n
	}
	if v := p.prop(r, "Timeout"); v != nil {
		secs, err := strconv.ParseFloat(p.str(v), 64)
		if err != nil || secs < 1 || secs > 900 {
			p.errorf("%s: Timeout %v: Lambda allows 1 to 900 seconds", r.id, v)
			return f, false
		}
		f.Timeout = time.Duration(secs * float64(time.Second))
	}
	if env, ok := p.prop(r, "Environment").(map[string]any); ok {
		vars, _ := env["Variables"].(map[string]any)
		if r.typ == typeSAMFunction && p.globals != nil && r.props["Environment"] != nil {
			// SAM merges Globals' variables under the function's own.
			if ge, ok := p.globals["Environment"].(map[string]any); ok {
				if gv, ok := ge["Variables"].(map[string]any); ok {
					merged := map[string]any{}
					for k, v := range gv {
						merged[k] = v
					}
					for k, v := range vars {
						merged[k] = v
					}
					vars = merged
				}
			}
		}
		if len(vars) > 0 {
			f.Environment = make(map[string]string, len(vars))
			for k, v := range vars {
				f.Environment[k] = p.str(v)
			}
		}
	}
	// SAM: Tracing: Active; CloudFormation: TracingConfig: {Mode: Active}.
	tracing := p.str(p.prop(r, "Tracing"))
	if tc, ok := r.props["TracingConfig"].(map[string]any); ok {
		tracing = p.str(tc["Mode"])
	}
	switch tracing {
	case "", "Active", "PassThrough":
		f.Tracing = tracing
	case "Disabled":
		f.Tracing = "PassThrough"
	default:
		p.errorf("%s: tracing %q: want Active or PassThrough", r.id, tracing)
		return f, false
	}
	if v := p.prop(r, "ReservedConcurrentExecutions"); v != nil {
		n, err := strconv.Atoi(p.str(v))
		if err != nil || n < 0 {
			p.errorf("%s: ReservedConcurrentExecutions %v: want a number ≥ 0", r.id, v)
			return f, false
		}
		f.ReservedConcurrency = n
	}
	if !p.code(r, &f) {
		return f, false
	}
	if p.prop(r, "Layers") != nil {
		p.warnf("%s: Layers are not fetched locally; put a layer's extensions in the code directory's extensions/", r.id)
	}
	if f.Runtime == "" && f.Handler == "" {
		p.errorf("%s: no Runtime and no Handler", r.id)
		return f, false
	}
	return f, true
}

// code finds the function's code: SAM CodeUri (a directory or .zip), a CDK
// asset (Metadata aws:asset:path, relative to cdk.out), or Code.S3Key /
// Code.ZipFile, which cannot run locally.
func (p *parser) code(r resource, f *Function) bool {
	var path string
	if asset, ok := r.meta["aws:asset:path"].(string); ok && asset != "" {
		path = asset
	} else if r.typ == typeSAMFunction {
		if p.prop(r, "InlineCode") != nil {
			p.errorf("%s: InlineCode is not supported; put the code in a directory and point CodeUri at it", r.id)
			return false
		}
		switch v := p.prop(r, "CodeUri").(type) {
		case string:
			path = v
		case nil:
			path = "."
		default:
			if m, ok := v.(map[string]any); ok && m["Bucket"] != nil {
				p.errorf("%s: CodeUri in S3 (Bucket/Key) cannot run locally; point CodeUri at the code directory", r.id)
			} else {
				p.errorf("%s: CodeUri %v: want a directory or a .zip file", r.id, v)
			}
			return false
		}
		if strings.HasPrefix(path, "s3://") {
			p.errorf("%s: CodeUri %s is in S3 and cannot run locally; point CodeUri at the code directory", r.id, path)
			return false
		}
	} else {
		code, _ := r.props["Code"].(map[string]any)
		switch {
		case code["ZipFile"] != nil:
			p.errorf("%s: inline Code.ZipFile is not supported; put the code in a directory", r.id)
		case code["S3Bucket"] != nil || code["S3Key"] != nil:
			p.errorf("%s: Code in S3 without an aws:asset:path metadata entry cannot run locally", r.id)
		case code["ImageUri"] != nil:
			p.errorf("%s: container images are not supported", r.id)
		default:
			p.errorf("%s: no Code", r.id)
		}
		return false
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		f.CodeZip = path
	} else {
		f.CodeDir = path
	}
	return true
}

// samEvents reads a SAM function's Events of type S3 and SNS.
func (p *parser) samEvents(r resource, fn string, bucket func(string) *Bucket, topic func(string) *Topic) {
	events, _ := r.props["Events"].(map[string]any)
	names := make([]string, 0, len(events))
	for n := range events {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ev, _ := events[n].(map[string]any)
		props, _ := ev["Properties"].(map[string]any)
		switch typ := p.str(ev["Type"]); typ {
		case "S3":
			bid := p.refTarget(props["Bucket"])
			if bid == "" || p.resources[bid].typ != typeBucket {
				p.errorf("%s: event %s: Bucket must be a !Ref to an AWS::S3::Bucket of this template (SAM's rule)", r.id, n)
				continue
			}
			if !createsObjects(props["Events"]) {
				p.warnf("%s: event %s: only s3:ObjectCreated events happen here; ignored", r.id, n)
				continue
			}
			b := bucket(bid)
			if !slices.Contains(b.Functions, fn) {
				b.Functions = append(b.Functions, fn)
			}
		case "SNS":
			tid := p.refTarget(props["Topic"])
			if tid == "" || p.resources[tid].typ != typeTopic {
				p.warnf("%s: event %s: Topic is not a topic of this template; ignored", r.id, n)
				continue
			}
			t := topic(tid)
			if !slices.Contains(t.Subscribers, fn) {
				t.Subscribers = append(t.Subscribers, fn)
			}
		default:
			p.warnf("%s: event %s of type %s is not emulated; ignored", r.id, n, typ)
		}
	}
}

// notifications reads a bucket's NotificationConfiguration: CloudFormation's
// shape (TopicConfigurations {Event, Topic}, LambdaConfigurations {Event,
// Function}) or the S3 API's, which CDK's Custom::S3BucketNotifications
// passes on (TopicConfigurations {Events, TopicArn},
// LambdaFunctionConfigurations {Events, LambdaFunctionArn}).
func (p *parser) notifications(bid string, nc map[string]any, bucket func(string) *Bucket, topic func(string) *Topic) {
	b := bucket(bid)
	for _, c := range list(nc["TopicConfigurations"]) {
		m, _ := c.(map[string]any)
		if !createsObjects(m["Event"]) && !createsObjects(m["Events"]) {
			continue
		}
		tid := p.refTarget(first(m["Topic"], m["TopicArn"]))
		if tid == "" || p.resources[tid].typ != typeTopic {
			p.warnf("%s: a TopicConfiguration's Topic is not a topic of this template; ignored", bid)
			continue
		}
		name := topic(tid).Name
		switch b.Topic {
		case "", name:
			b.Topic = name
		default:
			p.warnf("%s: notifies a second topic %s; only %s is emulated", bid, name, b.Topic)
		}
	}
	for _, c := range append(list(nc["LambdaConfigurations"]), list(nc["LambdaFunctionConfigurations"])...) {
		m, _ := c.(map[string]any)
		if !createsObjects(m["Event"]) && !createsObjects(m["Events"]) {
			continue
		}
		fid := p.refTarget(first(m["Function"], m["LambdaFunctionArn"]))
		if !p.isFunction(fid) {
			p.warnf("%s: a LambdaConfiguration's Function is not a function of this template; ignored", bid)
			continue
		}
		fn := p.functionName(fid)
		if !slices.Contains(b.Functions, fn) {
			b.Functions = append(b.Functions, fn)
		}
	}
	if nc["QueueConfigurations"] != nil {
		p.warnf("%s: QueueConfigurations (SQS) are not emulated; ignored", bid)
	}
}

// first is the first non-nil value.
func first(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func (p *parser) subscribe(where, tid string, protocol, endpoint any, topic func(string) *Topic) {
	if proto := p.str(protocol); proto != "lambda" {
		p.warnf("%s: protocol %s is not emulated; ignored", where, proto)
		return
	}
	fid := p.refTarget(endpoint)
	if !p.isFunction(fid) {
		p.warnf("%s: Endpoint is not a function of this template; ignored", where)
		return
	}
	t := topic(tid)
	fn := p.functionName(fid)
	if !slices.Contains(t.Subscribers, fn) {
		t.Subscribers = append(t.Subscribers, fn)
	}
}

func (p *parser) isFunction(id string) bool {
	t := p.resources[id].typ
	return id != "" && (t == typeFunction || t == typeSAMFunction)
}

// createsObjects reports whether an S3 event filter (a string or a list)
// includes object creation, the only S3 event emulated.
func createsObjects(v any) bool {
	for _, e := range list(v) {
		s, _ := e.(string)
		if strings.HasPrefix(s, "s3:ObjectCreated:") {
			return true
		}
	}
	return false
}

// list is v as a slice (a lone value becomes one element).
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

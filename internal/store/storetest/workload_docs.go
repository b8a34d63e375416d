package storetest

import (
	"container/heap"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/counterspy/counterspy/internal/xrayid"
)

// This file renders the workload's documents: segments and subsegments laid
// out as the SDKs lay them out.

// segment generates the document of service svc called at start (seconds)
// by parent (0 for a root), queues it and returns its end time.
func (t *traceGen) segment(svcName string, parent xrayid.SegmentID, start float64, depth int) float64 {
	w := t.w
	svc := services[svcName]
	id := w.ids.SegmentID()
	j := &jsonWriter{b: make([]byte, 0, 2048), sdk: svc.sdk}

	// Subsegments first (they decide the end time), rendered into their own
	// writer and spliced in where the SDK puts them.
	sub := &jsonWriter{sdk: svc.sdk}
	cursor := start + 0.0005 + w.rnd.Float64()*0.003
	fault, errFlag := false, false
	n := 0
	for _, c := range svc.calls {
		if !w.chance(c.p) || (c.kind == "service" && depth >= 3) {
			continue
		}
		if n > 0 {
			sub.raw(",")
		}
		n++
		end, f := t.subsegment(sub, svc, c, cursor, depth)
		fault = fault || f
		cursor = end + w.rnd.Float64()*0.002
	}
	end := cursor + 0.001 + w.rnd.ExpFloat64()*0.01
	status := 200
	switch {
	case fault || w.chance(0.01):
		status, fault = 500+w.pick(4), true
	case w.chance(0.03):
		status, errFlag = []int{400, 401, 404, 409, 429}[w.pick(5)], true
	}

	path := svc.paths[w.pick(len(svc.paths))]
	path = expandPath(w, path)
	method := "GET"
	if w.chance(0.3) {
		method = "POST"
	}

	j.open()
	switch svc.sdk {
	case sdkGo:
		j.str("trace_id", t.id.String())
		j.str("id", id.String())
		j.str("name", svc.name)
		j.time("start_time", start)
		j.time("end_time", end)
		t.flags(j, fault, errFlag, status)
		if parent != 0 {
			j.str("parent_id", parent.String())
		}
	default:
		j.str("id", id.String())
		j.str("name", svc.name)
		j.time("start_time", start)
		j.str("trace_id", t.id.String())
		j.time("end_time", end)
		if parent != 0 {
			j.str("parent_id", parent.String())
		}
		t.flags(j, fault, errFlag, status)
	}
	if svc.platform != "lambda" || svc.host != "" {
		j.key("http")
		j.open()
		j.key("request")
		j.open()
		j.str("method", method)
		j.str("url", "https://"+svc.host+path)
		if parent == 0 {
			j.str("client_ip", randomIP(w, parent == 0))
			j.str("user_agent", userAgents[w.pick(len(userAgents))])
			j.boolean("x_forwarded_for", true)
		} else {
			j.str("client_ip", randomIP(w, false))
			j.str("user_agent", "Go-http-client/1.1")
		}
		j.close()
		j.key("response")
		j.open()
		j.num("status", strconv.Itoa(status))
		j.num("content_length", strconv.Itoa(100+w.pick(20000)))
		j.close()
		j.close()
	}
	t.awsResource(j, svcName, svc)
	if svc.users && w.chance(0.6) {
		j.str("user", "user-"+strconv.Itoa(w.pick(50000)))
	}
	if parent == 0 && w.chance(0.5) {
		j.key("annotations")
		j.open()
		j.str("tenant", []string{"acme", "globex", "initech", "umbrella", "hooli"}[w.pick(5)])
		j.num("cart_items", strconv.Itoa(w.pick(12)))
		j.close()
	}
	if fault && w.chance(0.7) {
		t.cause(j, svc)
	}
	if w.chance(0.15) {
		j.key("metadata")
		j.open()
		j.key("default")
		j.open()
		j.str("request_id", uuid(w))
		j.num("retry_count", strconv.Itoa(w.pick(3)))
		j.close()
		j.close()
	}
	if svc.sdk == sdkGo {
		j.boolean("Dummy", false)
	}
	if n > 0 {
		j.key("subsegments")
		j.raw("[")
		j.raw(string(sub.b))
		j.raw("]")
	}
	j.close()

	doc := j.b
	delay := int64(1+w.pick(50)) * int64(time.Millisecond) // SDK emit + daemon batching
	heap.Push(&w.pending, &pendingSegment{trace: t.id, id: id, received: int64(end*1e9) + delay, doc: doc})
	return end
}

// flags writes error/fault/throttle as the SDKs do (only when true).
func (t *traceGen) flags(j *jsonWriter, fault, errFlag bool, status int) {
	if errFlag {
		j.boolean("error", true)
	}
	if status == 429 {
		j.boolean("throttle", true)
	}
	if fault {
		j.boolean("fault", true)
	}
}

func (t *traceGen) awsResource(j *jsonWriter, name string, svc *service) {
	w := t.w
	hs := w.hosts[name]
	h := hs[w.pick(len(hs))]
	j.key("aws")
	j.open()
	switch svc.platform {
	case "ec2":
		j.key("ec2")
		j.open()
		j.str("availability_zone", h.az)
		j.str("instance_id", h.instanceID)
		j.str("instance_size", "m6i.large")
		j.str("ami_id", "ami-0c02fb55956c7d316")
		j.close()
	case "ecs":
		j.key("ecs")
		j.open()
		j.str("container", h.container)
		j.str("container_id", h.containerID)
		j.close()
	case "eks":
		j.key("eks")
		j.open()
		j.str("pod", h.pod)
		j.str("cluster_name", "prod-eks")
		j.str("container_id", h.containerID)
		j.close()
	case "lambda":
		j.str("function_arn", "arn:aws:lambda:us-east-1:123456789012:function:"+svc.name)
		j.key("cloudwatch_logs")
		j.raw(`[{"log_group":"/aws/lambda/` + svc.name + `"}]`)
		if svc.host != "" {
			j.str("request_id", uuid(w))
		}
	}
	j.key("xray")
	j.open()
	switch svc.sdk {
	case sdkGo:
		j.str("sdk_version", "1.8.5")
		j.str("sdk", "X-Ray for Go")
		if w.chance(0.3) {
			j.str("sampling_rule_name", "Default")
		}
	case sdkNode:
		j.str("package", "aws-xray-sdk")
		j.str("rule_name", "Default")
		j.str("sdk", "X-Ray for Node.js")
		j.str("sdk_version", "3.12.0")
	case sdkPython:
		j.str("sdk", "X-Ray for Python")
		j.str("sdk_version", "2.15.0")
		j.str("sampling_rule_name", "Default")
	}
	j.close()
	j.close()
	j.key("service")
	j.open()
	switch svc.sdk {
	case sdkGo:
		j.str("compiler_version", "go1.23.4")
		j.str("compiler", "gc")
	case sdkNode:
		j.str("version", svc.version)
		j.str("runtime", "node")
		j.str("runtime_version", "v20.18.1")
		j.str("name", svc.name)
	case sdkPython:
		j.str("runtime", "CPython")
		j.str("runtime_version", "3.11.9")
	}
	j.close()
	if svc.platform != "lambda" {
		j.str("origin", map[string]string{"ec2": "AWS::EC2::Instance", "ecs": "AWS::ECS::Container", "eks": "AWS::EKS::Container"}[svc.platform])
	}
}

// subsegment writes one downstream call and returns its end time and whether
// it faulted.
// calleeHost is the host a service is called at: a Lambda function without
// a host of its own is called through its function URL.
func calleeHost(name string) string {
	if h := services[name].host; h != "" {
		return h
	}
	return services[name].name + ".lambda-url.us-east-1.on.aws"
}

func (t *traceGen) subsegment(j *jsonWriter, svc *service, c call, start float64, depth int) (float64, bool) {
	w := t.w
	id := w.ids.SegmentID()
	dur := 0.002 + w.rnd.ExpFloat64()*0.02
	fault := w.chance(0.01)
	end := start + dur
	if c.kind == "service" {
		// The callee's own segment starts a little after the call.
		calleeEnd := t.segment(c.target, id, start+0.0008, depth+1)
		end = calleeEnd + 0.0006
	}

	j.open()
	j.str("id", id.String())
	switch c.kind {
	case "service":
		j.str("name", calleeHost(c.target))
	case "dynamodb":
		j.str("name", "DynamoDB")
	case "sqs":
		j.str("name", "SQS")
	case "s3":
		j.str("name", "S3")
	case "sns":
		j.str("name", "SNS")
	case "sql":
		j.str("name", c.target)
	case "http":
		j.str("name", c.target)
	case "local":
		j.str("name", c.target)
	}
	j.time("start_time", start)
	j.time("end_time", end)
	if fault {
		j.boolean("fault", true)
	}
	switch c.kind {
	case "service", "http":
		j.str("namespace", "remote")
		j.key("http")
		j.open()
		j.key("request")
		j.open()
		host := c.target
		if c.kind == "service" {
			host = calleeHost(c.target)
		}
		j.str("url", "https://"+host+expandPath(w, "/api/{id}"))
		j.str("method", []string{"GET", "POST"}[w.pick(2)])
		if c.kind == "service" {
			j.boolean("traced", true)
		}
		j.close()
		j.key("response")
		j.open()
		status := 200
		if fault {
			status = 502
		}
		j.num("status", strconv.Itoa(status))
		j.num("content_length", strconv.Itoa(w.pick(8000)))
		j.close()
		j.close()
	case "dynamodb", "sqs", "s3", "sns":
		j.str("namespace", "aws")
		j.key("http")
		j.open()
		j.key("response")
		j.open()
		j.num("status", "200")
		j.num("content_length", strconv.Itoa(w.pick(4000)))
		j.close()
		j.close()
		j.key("aws")
		j.open()
		op := c.op[w.pick(len(c.op))]
		j.str("operation", op)
		j.str("region", "us-east-1")
		if c.kind == "s3" {
			j.str("request_id", hexStringUpper(w, 8))
			j.str("id_2", base64ish(w, 76))
		} else {
			j.str("request_id", uuid(w))
		}
		j.num("retries", "0")
		switch c.kind {
		case "dynamodb":
			j.str("table_name", c.target)
			if w.chance(0.5) {
				j.key("consumed_capacity")
				j.raw(`{"TableName":"` + c.target + `","CapacityUnits":` + strconv.Itoa(1+w.pick(4)) + `}`)
			}
		case "sqs":
			j.str("queue_url", c.target)
			j.str("message_id", uuid(w))
		case "s3":
			j.str("bucket_name", c.target)
			j.str("key", "images/"+hexString(w, 6)+".jpg")
		case "sns":
			j.str("topic_arn", c.target)
		}
		j.close()
	case "sql":
		j.str("namespace", "remote")
		j.key("sql")
		j.open()
		db, hostName, _ := strings.Cut(c.target, "@")
		j.str("url", "jdbc:postgresql://"+hostName+":5432/"+db)
		j.str("database_type", "PostgreSQL")
		j.str("database_version", "15.4")
		j.str("driver_version", "pgx/v5.7.1")
		j.str("user", "app")
		j.str("sanitized_query", []string{
			"SELECT id, email, name, created_at FROM users WHERE id = $1",
			"UPDATE stock SET reserved = reserved + $1 WHERE sku = $2 AND reserved + $1 <= quantity",
			"INSERT INTO reservations (order_id, sku, qty, expires_at) VALUES ($1, $2, $3, $4)",
			"SELECT sku, quantity, reserved FROM stock WHERE sku = ANY($1)",
		}[w.pick(4)])
		j.close()
	}
	if c.kind == "local" && w.chance(0.3) {
		j.key("metadata")
		j.open()
		j.key("default")
		j.open()
		j.num("items", strconv.Itoa(w.pick(20)))
		j.close()
		j.close()
	}
	if svc.sdk == sdkGo {
		j.boolean("Dummy", false)
	}
	j.close()
	return end, fault
}

func (t *traceGen) cause(j *jsonWriter, svc *service) {
	w := t.w
	j.key("cause")
	j.open()
	j.str("working_directory", "/app")
	j.key("exceptions")
	j.raw("[")
	j.open()
	j.str("id", hexString(w, 8))
	j.str("message", []string{"context deadline exceeded", "connection reset by peer",
		"ProvisionedThroughputExceededException: Rate of requests exceeds the allowed throughput",
		"invalid memory address or nil pointer dereference"}[w.pick(4)])
	j.str("type", []string{"*errors.errorString", "*net.OpError", "Error", "TimeoutError"}[w.pick(4)])
	j.key("stack")
	j.raw("[")
	frames := 4 + w.pick(12)
	for i := range frames {
		if i > 0 {
			j.raw(",")
		}
		j.open()
		j.str("path", "/app/internal/"+[]string{"handler", "store", "client", "service"}[w.pick(4)]+"/"+
			[]string{"orders.go", "cart.go", "http.go", "retry.go", "db.go"}[w.pick(5)])
		j.num("line", strconv.Itoa(10+w.pick(400)))
		j.str("label", []string{"(*Handler).ServeHTTP", "(*Store).Get", "(*Client).Do", "withRetry", "(*Service).Checkout"}[w.pick(5)])
		j.close()
	}
	j.raw("]")
	j.close()
	j.raw("]")
	j.close()
}

func expandPath(w *Workload, p string) string {
	out := make([]byte, 0, len(p)+8)
	for i := 0; i < len(p); i++ {
		if p[i] == '{' {
			for i < len(p) && p[i] != '}' {
				i++
			}
			out = strconv.AppendInt(out, int64(w.pick(100000)), 10)
			continue
		}
		out = append(out, p[i])
	}
	return string(out)
}

func randomIP(w *Workload, public bool) string {
	if public {
		return strconv.Itoa(1+w.pick(223)) + "." + strconv.Itoa(w.pick(256)) + "." + strconv.Itoa(w.pick(256)) + "." + strconv.Itoa(1+w.pick(254))
	}
	return "10.0." + strconv.Itoa(w.pick(16)) + "." + strconv.Itoa(1+w.pick(254))
}

func hexString(w *Workload, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w.rnd.Uint32())
	}
	return hex.EncodeToString(b)
}

func hexStringUpper(w *Workload, n int) string {
	s := []byte(hexString(w, n))
	for i, c := range s {
		if c >= 'a' {
			s[i] = c - 32
		}
	}
	return string(s)
}

func uuid(w *Workload) string {
	h := hexString(w, 16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:]
}

func base64ish(w *Workload, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.pick(64)]
	}
	return string(b)
}

// jsonWriter appends compact JSON the way the SDKs lay it out.
type jsonWriter struct {
	b     []byte
	sdk   sdkFlavor
	first bool
}

func (j *jsonWriter) open()  { j.b = append(j.b, '{'); j.first = true }
func (j *jsonWriter) close() { j.b = append(j.b, '}'); j.first = false }

func (j *jsonWriter) raw(s string) {
	j.b = append(j.b, s...)
	j.first = s == "[" || s == ","
}

func (j *jsonWriter) key(k string) {
	if !j.first {
		j.b = append(j.b, ',')
	}
	j.first = false
	j.b = strconv.AppendQuote(j.b, k)
	j.b = append(j.b, ':')
}

func (j *jsonWriter) str(k, v string) { j.key(k); j.b = strconv.AppendQuote(j.b, v) }
func (j *jsonWriter) num(k, v string) { j.key(k); j.b = append(j.b, v...) }

func (j *jsonWriter) boolean(k string, v bool) { j.key(k); j.b = strconv.AppendBool(j.b, v) }

// time writes an epoch-seconds number the way each SDK formats it: Go and
// Python print the shortest float64 form (microsecond-ish noise included),
// Node prints milliseconds.
func (j *jsonWriter) time(k string, v float64) {
	j.key(k)
	if j.sdk == sdkNode {
		v = float64(int64(v*1000)) / 1000
	}
	j.b = strconv.AppendFloat(j.b, v, 'f', -1, 64)
}

package loadgen

import "github.com/counterspy/counterspy/internal/xrayid"

// docMode says which kind of document an entity is written as.
type docMode uint8

const (
	modeSegment     docMode = iota // complete top-level segment
	modeInProgress                 // top-level segment with "in_progress":true and no end
	modeIndependent                // subsegment sent on its own ("type":"subsegment")
)

// appendDoc appends e as one document in dialect d.
func appendDoc(b []byte, e *entity, d dialect, trace xrayid.TraceID, mode docMode) []byte {
	w := jw{b: b, spaced: d == dialectPython, ts: timeStyleOf(d, e)}
	w.beginDoc()
	writeEntity(&w, e, d, trace, mode, true)
	w.end()
	return w.b
}

func timeStyleOf(d dialect, e *entity) timeStyle {
	switch d {
	case dialectNode:
		return timeMilli
	case dialectAWS:
		if e.awsMicro {
			return timeAWSMicro
		}
		return timeAWSMilli
	}
	return timeGo
}

// writeEntity writes e's members in the order its emitter uses: Go's struct
// order for the Go and Node SDKs, attribute order for Python, and the order
// seen in AWS-written documents for dialectAWS.
func writeEntity(w *jw, e *entity, d dialect, trace xrayid.TraceID, mode docMode, top bool) {
	inProgress := mode == modeInProgress && top
	independent := mode == modeIndependent && top
	withTrace := top
	withParent := top && e.parent != 0
	switch d {
	case dialectAWS:
		writeID(w, "id", e.id)
		w.str("name", e.name)
		w.time("start_time", e.start)
		if withTrace {
			writeTraceID(w, trace)
		}
		writeEnd(w, e, inProgress, false)
		if withParent {
			writeID(w, "parent_id", e.parent)
		}
		if independent {
			w.str("type", "subsegment")
		}
		writeFlags(w, e, inProgress)
		writeCause(w, e.cause, d, inProgress)
		w.strOpt("namespace", e.namespace)
		writeHTTP(w, e.http, d, inProgress)
		writeAWS(w, e.aws)
		writeAnnotations(w, e.annotations)
		writeMetadata(w, e.metadata)
		w.strOpt("origin", e.origin)
		w.strOpt("resource_arn", e.resourceARN)
		writeSubs(w, e, d, trace, inProgress)
	case dialectPython:
		writeID(w, "id", e.id)
		w.str("name", e.name)
		w.time("start_time", e.start)
		if withParent {
			writeID(w, "parent_id", e.parent)
		}
		w.boolean("in_progress", inProgress)
		writeHTTP(w, e.http, d, inProgress)
		writeAnnotations(w, e.annotations)
		writeMetadata(w, e.metadata)
		writeAWS(w, e.aws)
		writeFlags(w, e, inProgress)
		writeCause(w, e.cause, d, inProgress)
		if withTrace {
			writeTraceID(w, trace)
		}
		w.strOpt("user", e.user)
		w.strOpt("origin", e.origin)
		writeService(w, e.service)
		w.strOpt("namespace", e.namespace)
		writeSQL(w, e.sql)
		if !top || independent { // Python marks every subsegment, nested or not
			w.str("type", "subsegment")
		}
		writeSubs(w, e, d, trace, inProgress)
		writeEnd(w, e, inProgress, true)
	default: // Go and Node
		if withTrace {
			writeTraceID(w, trace)
		}
		writeID(w, "id", e.id)
		w.str("name", e.name)
		w.time("start_time", e.start)
		writeEnd(w, e, inProgress, false)
		if withParent {
			writeID(w, "parent_id", e.parent)
		}
		writeFlags(w, e, inProgress)
		writeCause(w, e.cause, d, inProgress)
		w.strOpt("resource_arn", e.resourceARN)
		w.strOpt("origin", e.origin)
		if independent {
			w.str("type", "subsegment")
		}
		w.strOpt("namespace", e.namespace)
		if d == dialectNode && e.http != nil && e.http.traced {
			w.boolean("traced", true)
		}
		w.strOpt("user", e.user)
		writeHTTP(w, e.http, d, inProgress)
		writeAWS(w, e.aws)
		writeService(w, e.service)
		writeSQL(w, e.sql)
		writeAnnotations(w, e.annotations)
		writeMetadata(w, e.metadata)
		writeSubs(w, e, d, trace, inProgress)
		if d == dialectGo {
			w.boolean("Dummy", false)
		}
	}
}

func writeID(w *jw, k string, id xrayid.SegmentID) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = id.Append(w.b)
	w.b = append(w.b, '"')
}

func writeTraceID(w *jw, t xrayid.TraceID) {
	w.key("trace_id")
	w.b = append(w.b, '"')
	w.b = t.Append(w.b)
	w.b = append(w.b, '"')
}

// writeEnd writes end_time, or in_progress for an unfinished segment.
// Python has already written in_progress:false and only needs end_time.
func writeEnd(w *jw, e *entity, inProgress, python bool) {
	switch {
	case !inProgress:
		w.time("end_time", e.end)
	case !python:
		w.boolean("in_progress", true)
	}
}

func writeFlags(w *jw, e *entity, inProgress bool) {
	if inProgress {
		return
	}
	if e.fault {
		w.boolean("fault", true)
	}
	if e.err {
		w.boolean("error", true)
	}
	if e.throttle {
		w.boolean("throttle", true)
	}
}

func writeCause(w *jw, c *cause, d dialect, inProgress bool) {
	if c == nil || inProgress {
		return
	}
	w.obj("cause")
	w.strOpt("working_directory", c.workingDir)
	w.arr("exceptions")
	for i := range c.exceptions {
		x := &c.exceptions[i]
		w.elemObj()
		w.str("id", x.id)
		if d == dialectPython {
			w.str("message", x.message)
			w.str("type", x.typ)
			w.boolean("remote", x.remote)
		} else {
			w.strOpt("type", x.typ)
			w.strOpt("message", x.message)
		}
		if len(x.stack) > 0 {
			w.arr("stack")
			for _, f := range x.stack {
				w.elemObj()
				w.str("path", f.path)
				switch {
				case f.line != 0:
					w.int("line", int64(f.line))
				case d == dialectNode || d == dialectPython:
					w.null("line")
				}
				w.str("label", f.label)
				w.end()
			}
			w.endArr()
		}
		if d != dialectPython && x.remote {
			w.boolean("remote", true)
		}
		w.end()
	}
	w.endArr()
	w.end()
}

func writeHTTP(w *jw, h *httpInfo, d dialect, inProgress bool) {
	if h == nil {
		return
	}
	w.obj("http")
	if h.method != "" || h.url != "" {
		w.obj("request")
		w.strOpt("method", h.method)
		w.strOpt("url", h.url)
		w.strOpt("client_ip", h.clientIP)
		w.strOpt("user_agent", h.userAgent)
		if h.xForwardedFor {
			w.boolean("x_forwarded_for", true)
		}
		if h.traced && d != dialectNode {
			w.boolean("traced", true)
		}
		w.end()
	}
	if h.status != 0 && !inProgress {
		w.obj("response")
		w.int("status", int64(h.status))
		if h.contentLength != 0 {
			w.int("content_length", h.contentLength)
		}
		w.end()
	}
	w.end()
}

// writeAWS writes members in key order, as Go's map encoding does.
func writeAWS(w *jw, a *awsInfo) {
	if a == nil {
		return
	}
	w.obj("aws")
	w.strOpt("account_id", a.accountID)
	if g := a.apiGateway; g != nil {
		w.obj("api_gateway")
		w.str("account_id", g.accountID)
		w.str("request_id", g.requestID)
		w.str("rest_api_id", g.restAPIID)
		w.str("stage", g.stage)
		w.end()
	}
	w.strOpt("bucket_name", a.bucketName)
	if a.logGroup != "" {
		w.arr("cloudwatch_logs")
		w.elemObj()
		w.str("log_group", a.logGroup)
		w.end()
		w.endArr()
	}
	if e := a.ec2; e != nil {
		w.obj("ec2")
		w.strOpt("ami_id", e.amiID)
		w.str("availability_zone", e.az)
		w.str("instance_id", e.instanceID)
		w.strOpt("instance_size", e.instanceSize)
		w.end()
	}
	if e := a.ecs; e != nil {
		w.obj("ecs")
		w.str("container", e.container)
		w.strOpt("container_id", e.containerID)
		w.end()
	}
	if e := a.eks; e != nil {
		w.obj("eks")
		w.str("cluster_name", e.clusterName)
		w.strOpt("container_id", e.containerID)
		w.str("pod", e.pod)
		w.end()
	}
	w.strOpt("function_arn", a.functionARN)
	w.strOpt("function_error", a.functionError)
	w.strOpt("function_name", a.functionName)
	w.strOpt("invocation_type", a.invocationType)
	w.strOpt("key", a.key)
	w.strOpt("message_id", a.messageID)
	w.strOpt("operation", a.operation)
	w.strOpt("queue_url", a.queueURL)
	w.strOpt("region", a.region)
	w.strOpt("request_id", a.requestID)
	if len(a.resourceNames) > 0 {
		w.arr("resource_names")
		for _, n := range a.resourceNames {
			w.elemStr(n)
		}
		w.endArr()
	}
	if a.hasRetries {
		w.int("retries", int64(a.retries))
	}
	if a.statusCode != 0 {
		w.int("status_code", int64(a.statusCode))
	}
	w.strOpt("table_name", a.tableName)
	w.strOpt("topic_arn", a.topicARN)
	if a.xraySDK != "" {
		w.obj("xray")
		w.strOpt("package", a.xrayPackage)
		w.str("sdk", a.xraySDK)
		w.str("sdk_version", a.xraySDKVersion)
		w.end()
	}
	w.end()
}

func writeService(w *jw, s *serviceInfo) {
	if s == nil {
		return
	}
	w.obj("service")
	w.strOpt("version", s.version)
	w.strOpt("runtime_version", s.runtimeVersion)
	w.strOpt("runtime", s.runtime)
	w.end()
}

func writeSQL(w *jw, s *sqlInfo) {
	if s == nil {
		return
	}
	w.obj("sql")
	w.strOpt("url", s.url)
	w.strOpt("database_type", s.databaseType)
	w.strOpt("database_version", s.databaseVersion)
	w.strOpt("driver_version", s.driverVersion)
	w.strOpt("user", s.user)
	w.strOpt("preparation", s.preparation)
	w.strOpt("sanitized_query", s.sanitizedQuery)
	w.end()
}

func writeAnnotations(w *jw, as []annotation) {
	if len(as) == 0 {
		return
	}
	w.obj("annotations")
	for _, a := range as {
		switch a.kind {
		case annNumber:
			w.num(a.key, a.n)
		case annBool:
			w.boolean(a.key, a.b)
		default:
			w.str(a.key, a.s)
		}
	}
	w.end()
}

func writeMetadata(w *jw, m []metaKV) {
	if len(m) == 0 {
		return
	}
	w.obj("metadata")
	w.obj("default")
	for _, kv := range m {
		w.str(kv.key, kv.value)
	}
	w.end()
	w.end()
}

func writeSubs(w *jw, e *entity, d dialect, trace xrayid.TraceID, inProgress bool) {
	if len(e.subs) == 0 || inProgress {
		return
	}
	w.arr("subsegments")
	for _, s := range e.subs {
		w.elemObj()
		writeEntity(w, s, d, trace, modeSegment, false)
		w.end()
	}
	w.endArr()
}

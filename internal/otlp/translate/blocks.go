package translate

import (
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/segment"
)

// appendHTTP writes the http object from the HTTP semantic conventions, old
// (http.method, http.url, http.status_code...) and new (http.request.method,
// url.full, http.response.status_code...), as the translator's makeHTTP does.
func (t *Translator) appendHTTP(b []byte, sp ptrace.Span, e *segment.Entity) []byte {
	a := sp.Attributes()
	method, hasMethod := attrStr(a, "http.request.method", "http.method")
	status, hasStatus := attrInt(a, "http.response.status_code", "http.status_code")
	if !hasMethod && !hasStatus {
		return b
	}
	server := sp.Kind() == ptrace.SpanKindServer
	var h segment.HTTP
	b = append(key(b, "http"), '{')
	b = append(key(b, "request"), '{')
	if hasMethod {
		b = strField(b, "method", method)
		h.Method = method
	}
	if u := requestURL(a, server); u != "" {
		h.URL = t.cut(u)
		b = strField(b, "url", h.URL)
	}
	if v, ok := attrStr(a, "user_agent.original", "http.user_agent"); ok {
		h.UserAgent = t.cut(v)
		b = strField(b, "user_agent", h.UserAgent)
	}
	if server {
		if v, ok := attrStr(a, "client.address", "http.client_ip"); ok {
			b = strField(b, "client_ip", v)
			b = append(key(b, "x_forwarded_for"), "true"...)
			h.ClientIP, h.XForwardedFor = v, true
		} else if v, ok := attrStr(a, "network.peer.address", "net.sock.peer.addr", "net.peer.ip"); ok {
			b = strField(b, "client_ip", v)
			h.ClientIP = v
		}
	}
	b = append(b, '}')
	if hasStatus || hasAny(a, "http.response.body.size", "http.response_content_length") {
		b = append(key(b, "response"), '{')
		if hasStatus {
			b = intField(b, "status", status)
			h.Status = int(status)
		}
		if n, ok := attrInt(a, "http.response.body.size", "http.response_content_length"); ok {
			b = intField(b, "content_length", n)
			h.ContentLength = n
		}
		b = append(b, '}')
	}
	if e != nil {
		h.Method, h.URL, h.UserAgent, h.ClientIP = t.dstr(h.Method), t.dstr(h.URL), t.dstr(h.UserAgent), t.dstr(h.ClientIP)
		e.HTTP = h
	}
	return append(b, '}')
}

func hasAny(a pcommon.Map, keys ...string) bool {
	for _, k := range keys {
		if _, ok := a.Get(k); ok {
			return true
		}
	}
	return false
}

// requestURL is url.full (http.url), or else the URL put together from its
// parts: scheme, host, port, path and query (or http.target).
func requestURL(a pcommon.Map, server bool) string {
	if u, ok := attrStr(a, "url.full", "http.url"); ok {
		return u
	}
	scheme, ok := attrStr(a, "url.scheme", "http.scheme")
	if !ok {
		scheme = "http"
	}
	hostKeys := []string{"server.address", "http.host", "net.peer.name"}
	if server {
		hostKeys = []string{"server.address", "http.host", "net.host.name", "http.server_name"}
	}
	host, ok := attrStr(a, hostKeys...)
	if !ok {
		return ""
	}
	if port, ok := attrInt(a, "server.port", "net.host.port", "net.peer.port"); ok && !strings.Contains(host, ":") &&
		!(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		host += ":" + strconv.FormatInt(port, 10)
	}
	target, _ := attrStr(a, "http.target")
	if path, ok := attrStr(a, "url.path"); ok {
		target = path
		if q, ok := attrStr(a, "url.query"); ok {
			target += "?" + q
		}
	}
	return scheme + "://" + host + target
}

func urlHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

// appendAWS writes the aws object of an AWS SDK call (rpc.system aws-api and
// the aws.* attributes), as the translator's makeAws does, so that the
// service graph infers the DynamoDB table, SQS queue, S3 bucket or SNS topic.
func (t *Translator) appendAWS(b []byte, a pcommon.Map, e *segment.Entity) []byte {
	var d segment.AWS
	// str writes field k and keeps it for the digest in *dst.
	str := func(k string, dst *string, v string) {
		b = strField(b, k, v)
		*dst = v
	}
	start := len(b)
	b = append(key(b, "aws"), '{')
	n := len(b)
	api := isAWSAPI(a)
	svc, _ := attrStr(a, "rpc.service", "aws.service")
	msys, _ := attrStr(a, "messaging.system")
	if v, ok := attrStr(a, "aws.operation"); ok {
		str("operation", &d.Operation, v)
	} else if v, ok := attrStr(a, "rpc.method"); ok && api {
		str("operation", &d.Operation, v)
	}
	if v, ok := attrStr(a, "aws.region", "cloud.region"); ok {
		str("region", &d.Region, v)
	}
	if v, ok := attrStr(a, "aws.request_id", "aws.requestId"); ok {
		str("request_id", &d.RequestID, v)
	}
	if v, ok := attrStr(a, "aws.account_id"); ok {
		str("account_id", &d.AccountID, v)
	}
	tables := attrStrings(a, "aws.dynamodb.table_names")
	if v, ok := attrStr(a, "aws.table_name"); ok {
		tables = append([]string{v}, tables...)
	}
	switch {
	case len(tables) == 1:
		str("table_name", &d.TableName, tables[0])
	case len(tables) > 1:
		b = append(key(b, "resource_names"), '[')
		for i, tn := range tables {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, tn)
		}
		b = append(b, ']')
		if e != nil {
			d.ResourceNames = tables
			for _, tn := range tables {
				t.dstr(tn)
			}
		}
	}
	sqs := svc == "SQS" || msys == "aws_sqs" || msys == "aws.sqs"
	sns := svc == "SNS" || msys == "aws_sns" || msys == "aws.sns"
	if v, ok := attrStr(a, "aws.queue_url", "aws.sqs.queue_url"); ok {
		str("queue_url", &d.QueueURL, v)
	} else if v, ok := attrStr(a, "messaging.url", "messaging.destination.name", "messaging.destination"); ok && sqs {
		// A queue name is enough: the node is named after the URL's last
		// path element.
		str("queue_url", &d.QueueURL, v)
	}
	if v, ok := attrStr(a, "aws.s3.bucket", "aws.bucket_name"); ok {
		str("bucket_name", &d.BucketName, v)
	}
	if v, ok := attrStr(a, "aws.sns.topic_arn"); ok {
		str("topic_arn", &d.TopicARN, v)
	} else if v, ok := attrStr(a, "messaging.destination.name", "messaging.destination"); ok && sns {
		str("topic_arn", &d.TopicARN, v)
	}
	if v, ok := attrStr(a, "aws.lambda.function.name", "faas.invoked_name"); ok && (api || svc == "Lambda") {
		str("function_name", &d.FunctionName, v)
	}
	if len(b) == n {
		return b[:start]
	}
	if e != nil {
		for _, p := range []*string{&d.Operation, &d.Region, &d.RequestID, &d.AccountID, &d.TableName, &d.QueueURL,
			&d.BucketName, &d.TopicARN, &d.FunctionName} {
			t.dstr(*p)
		}
		e.AWS = d
	}
	return append(b, '}')
}

// sqlSystems are the db.system values of SQL databases: their calls get an
// sql object (and a Database::SQL node), as the translator's makeSQL does.
var sqlSystems = map[string]bool{
	"mysql": true, "mariadb": true, "postgresql": true, "mssql": true, "oracle": true, "db2": true,
	"sqlite": true, "h2": true, "derby": true, "hsqldb": true, "cockroachdb": true, "redshift": true,
	"other_sql": true, "sybase": true, "teradata": true, "vertica": true, "trino": true, "hive": true,
	"spanner": true, "firebird": true, "informix": true, "ingres": true, "clickhouse": true,
	"microsoft.sql_server": true, "oracle.db": true, "ibm.db2": true, "aws.redshift": true,
}

func isSQL(a pcommon.Map) bool {
	sys, _ := attrStr(a, "db.system.name", "db.system")
	return sqlSystems[sys]
}

// dbHost is the database host: from the connection string (jdbc: prefix
// dropped) or server.address / net.peer.name.
func dbHost(a pcommon.Map) string {
	if cs, ok := attrStr(a, "db.connection_string"); ok {
		if h := urlHost(strings.TrimPrefix(cs, "jdbc:")); h != "" {
			return h
		}
	}
	h, _ := attrStr(a, "server.address", "net.peer.name")
	return h
}

// appendSQL writes the sql object of a call to an SQL database.
func (t *Translator) appendSQL(b []byte, a pcommon.Map, e *segment.Entity) []byte {
	if !isSQL(a) {
		return b
	}
	var d segment.SQL
	sys, _ := attrStr(a, "db.system.name", "db.system")
	b = append(key(b, "sql"), '{')
	if cs, ok := attrStr(a, "db.connection_string"); ok {
		d.URL = t.cut(cs)
		b = strField(b, "url", d.URL)
	} else if host := dbHost(a); host != "" {
		u := host
		if port, ok := attrInt(a, "server.port", "net.peer.port"); ok {
			u += ":" + strconv.FormatInt(port, 10)
		}
		if db, ok := attrStr(a, "db.namespace", "db.name"); ok {
			u += "/" + db
		}
		b = strField(b, "url", u)
		d.URL = u
	}
	if q, ok := attrStr(a, "db.query.text", "db.statement"); ok {
		d.SanitizedQuery = t.cut(q)
		b = strField(b, "sanitized_query", d.SanitizedQuery)
	}
	b = strField(b, "database_type", sys)
	d.DatabaseType = sys
	if u, ok := attrStr(a, "db.user"); ok {
		b = strField(b, "user", u)
		d.User = u
	}
	if e != nil {
		d.URL, d.SanitizedQuery, d.DatabaseType, d.User = t.dstr(d.URL), t.dstr(d.SanitizedQuery), t.dstr(d.DatabaseType), t.dstr(d.User)
		e.SQL = &d
	}
	return append(b, '}')
}

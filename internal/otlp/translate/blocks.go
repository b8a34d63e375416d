package translate

import (
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// appendHTTP writes the http object from the HTTP semantic conventions, old
// (http.method, http.url, http.status_code...) and new (http.request.method,
// url.full, http.response.status_code...), as the translator's makeHTTP does.
func (t *Translator) appendHTTP(b []byte, sp ptrace.Span) []byte {
	a := sp.Attributes()
	method, hasMethod := attrStr(a, "http.request.method", "http.method")
	status, hasStatus := attrInt(a, "http.response.status_code", "http.status_code")
	if !hasMethod && !hasStatus {
		return b
	}
	server := sp.Kind() == ptrace.SpanKindServer
	b = append(key(b, "http"), '{')
	b = append(key(b, "request"), '{')
	if hasMethod {
		b = strField(b, "method", method)
	}
	if u := requestURL(a, server); u != "" {
		b = strField(b, "url", t.cut(u))
	}
	if v, ok := attrStr(a, "user_agent.original", "http.user_agent"); ok {
		b = strField(b, "user_agent", t.cut(v))
	}
	if server {
		if v, ok := attrStr(a, "client.address", "http.client_ip"); ok {
			b = strField(b, "client_ip", v)
			b = append(key(b, "x_forwarded_for"), "true"...)
		} else if v, ok := attrStr(a, "network.peer.address", "net.sock.peer.addr", "net.peer.ip"); ok {
			b = strField(b, "client_ip", v)
		}
	}
	b = append(b, '}')
	if hasStatus || hasAny(a, "http.response.body.size", "http.response_content_length") {
		b = append(key(b, "response"), '{')
		if hasStatus {
			b = intField(b, "status", status)
		}
		if n, ok := attrInt(a, "http.response.body.size", "http.response_content_length"); ok {
			b = intField(b, "content_length", n)
		}
		b = append(b, '}')
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
func appendAWS(b []byte, a pcommon.Map) []byte {
	start := len(b)
	b = append(key(b, "aws"), '{')
	n := len(b)
	api := isAWSAPI(a)
	svc, _ := attrStr(a, "rpc.service", "aws.service")
	msys, _ := attrStr(a, "messaging.system")
	if v, ok := attrStr(a, "aws.operation"); ok {
		b = strField(b, "operation", v)
	} else if v, ok := attrStr(a, "rpc.method"); ok && api {
		b = strField(b, "operation", v)
	}
	if v, ok := attrStr(a, "aws.region", "cloud.region"); ok {
		b = strField(b, "region", v)
	}
	if v, ok := attrStr(a, "aws.request_id", "aws.requestId"); ok {
		b = strField(b, "request_id", v)
	}
	if v, ok := attrStr(a, "aws.account_id"); ok {
		b = strField(b, "account_id", v)
	}
	tables := attrStrings(a, "aws.dynamodb.table_names")
	if v, ok := attrStr(a, "aws.table_name"); ok {
		tables = append([]string{v}, tables...)
	}
	switch {
	case len(tables) == 1:
		b = strField(b, "table_name", tables[0])
	case len(tables) > 1:
		b = append(key(b, "resource_names"), '[')
		for i, tn := range tables {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, tn)
		}
		b = append(b, ']')
	}
	sqs := svc == "SQS" || msys == "aws_sqs" || msys == "aws.sqs"
	sns := svc == "SNS" || msys == "aws_sns" || msys == "aws.sns"
	if v, ok := attrStr(a, "aws.queue_url", "aws.sqs.queue_url"); ok {
		b = strField(b, "queue_url", v)
	} else if v, ok := attrStr(a, "messaging.url", "messaging.destination.name", "messaging.destination"); ok && sqs {
		// A queue name is enough: the node is named after the URL's last
		// path element.
		b = strField(b, "queue_url", v)
	}
	if v, ok := attrStr(a, "aws.s3.bucket", "aws.bucket_name"); ok {
		b = strField(b, "bucket_name", v)
	}
	if v, ok := attrStr(a, "aws.sns.topic_arn"); ok {
		b = strField(b, "topic_arn", v)
	} else if v, ok := attrStr(a, "messaging.destination.name", "messaging.destination"); ok && sns {
		b = strField(b, "topic_arn", v)
	}
	if v, ok := attrStr(a, "aws.lambda.function.name", "faas.invoked_name"); ok && (api || svc == "Lambda") {
		b = strField(b, "function_name", v)
	}
	if len(b) == n {
		return b[:start]
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
func (t *Translator) appendSQL(b []byte, a pcommon.Map) []byte {
	if !isSQL(a) {
		return b
	}
	sys, _ := attrStr(a, "db.system.name", "db.system")
	b = append(key(b, "sql"), '{')
	if cs, ok := attrStr(a, "db.connection_string"); ok {
		b = strField(b, "url", t.cut(cs))
	} else if host := dbHost(a); host != "" {
		u := host
		if port, ok := attrInt(a, "server.port", "net.peer.port"); ok {
			u += ":" + strconv.FormatInt(port, 10)
		}
		if db, ok := attrStr(a, "db.namespace", "db.name"); ok {
			u += "/" + db
		}
		b = strField(b, "url", u)
	}
	if q, ok := attrStr(a, "db.query.text", "db.statement"); ok {
		b = strField(b, "sanitized_query", t.cut(q))
	}
	b = strField(b, "database_type", sys)
	if u, ok := attrStr(a, "db.user"); ok {
		b = strField(b, "user", u)
	}
	return append(b, '}')
}

package translate

import (
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/segment"
)

// appendHTTP writes the http object from the HTTP semantic conventions, old
// (http.method, http.url, http.status_code...) and new (http.request.method,
// url.full, http.response.status_code...), as the translator's makeHTTP does.
func (t *Translator) appendHTTP(b []byte, sp ptrace.Span, a *spanAttrs, e *segment.Entity) []byte {
	method, hasMethod := a.str(kHTTPRequestMethod, kHTTPMethod)
	status, hasStatus := a.int(kHTTPResponseStatusCode, kHTTPStatusCode)
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
	if v, ok := a.str(kUserAgentOriginal, kHTTPUserAgent); ok {
		h.UserAgent = t.cut(v)
		b = strField(b, "user_agent", h.UserAgent)
	}
	if server {
		if v, ok := a.str(kClientAddress, kHTTPClientIP); ok {
			b = strField(b, "client_ip", v)
			b = append(key(b, "x_forwarded_for"), "true"...)
			h.ClientIP, h.XForwardedFor = v, true
		} else if v, ok := a.str(kNetworkPeerAddress, kNetSockPeerAddr, kNetPeerIP); ok {
			b = strField(b, "client_ip", v)
			h.ClientIP = v
		}
	}
	b = append(b, '}')
	if hasStatus || a.hasAny(kHTTPResponseBodySize, kHTTPResponseContentLength) {
		b = append(key(b, "response"), '{')
		if hasStatus {
			b = intField(b, "status", status)
			h.Status = int(status)
		}
		if n, ok := a.int(kHTTPResponseBodySize, kHTTPResponseContentLength); ok {
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

// requestURL is url.full (http.url), or else the URL put together from its
// parts: scheme, host, port, path and query (or http.target).
func requestURL(a *spanAttrs, server bool) string {
	if u, ok := a.str(kURLFull, kHTTPURL); ok {
		return u
	}
	scheme, ok := a.str(kURLScheme, kHTTPScheme)
	if !ok {
		scheme = "http"
	}
	hostKeys := []attrKey{kServerAddress, kHTTPHost, kNetPeerName}
	if server {
		hostKeys = []attrKey{kServerAddress, kHTTPHost, kNetHostName, kHTTPServerName}
	}
	host, ok := a.str(hostKeys...)
	if !ok {
		return ""
	}
	if port, ok := a.int(kServerPort, kNetHostPort, kNetPeerPort); ok && !strings.Contains(host, ":") &&
		!(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		host += ":" + strconv.FormatInt(port, 10)
	}
	target, _ := a.str(kHTTPTarget)
	if path, ok := a.str(kURLPath); ok {
		target = path
		if q, ok := a.str(kURLQuery); ok {
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
func (t *Translator) appendAWS(b []byte, a *spanAttrs, e *segment.Entity) []byte {
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
	svc, _ := a.str(kRPCService, kAWSService)
	msys, _ := a.str(kMessagingSystem)
	if v, ok := a.str(kAWSOperation); ok {
		str("operation", &d.Operation, v)
	} else if v, ok := a.str(kRPCMethod); ok && api {
		str("operation", &d.Operation, v)
	}
	if v, ok := a.str(kAWSRegion, kCloudRegion); ok {
		str("region", &d.Region, v)
	}
	if v, ok := a.str(kAWSRequestID, kAWSRequestId); ok {
		str("request_id", &d.RequestID, v)
	}
	if v, ok := a.str(kAWSAccountID); ok {
		str("account_id", &d.AccountID, v)
	}
	tables := a.strings(kAWSDynamodbTableNames)
	if v, ok := a.str(kAWSTableName); ok {
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
	if v, ok := a.str(kAWSQueueURL, kAWSSQSQueueURL); ok {
		str("queue_url", &d.QueueURL, v)
	} else if v, ok := a.str(kMessagingURL, kMessagingDestinationName, kMessagingDestination); ok && sqs {
		// A queue name is enough: the node is named after the URL's last
		// path element.
		str("queue_url", &d.QueueURL, v)
	}
	if v, ok := a.str(kAWSS3Bucket, kAWSBucketName); ok {
		str("bucket_name", &d.BucketName, v)
	}
	if v, ok := a.str(kAWSSNSTopicARN); ok {
		str("topic_arn", &d.TopicARN, v)
	} else if v, ok := a.str(kMessagingDestinationName, kMessagingDestination); ok && sns {
		str("topic_arn", &d.TopicARN, v)
	}
	if v, ok := a.str(kAWSLambdaFunctionName, kFaaSInvokedName); ok && (api || svc == "Lambda") {
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

func isSQL(a *spanAttrs) bool {
	sys, _ := a.str(kDBSystemName, kDBSystem)
	return sqlSystems[sys]
}

// dbHost is the database host: from the connection string (jdbc: prefix
// dropped) or server.address / net.peer.name.
func dbHost(a *spanAttrs) string {
	if cs, ok := a.str(kDBConnectionString); ok {
		if h := urlHost(strings.TrimPrefix(cs, "jdbc:")); h != "" {
			return h
		}
	}
	h, _ := a.str(kServerAddress, kNetPeerName)
	return h
}

// appendSQL writes the sql object of a call to an SQL database.
func (t *Translator) appendSQL(b []byte, a *spanAttrs, e *segment.Entity) []byte {
	if !isSQL(a) {
		return b
	}
	var d segment.SQL
	sys, _ := a.str(kDBSystemName, kDBSystem)
	b = append(key(b, "sql"), '{')
	if cs, ok := a.str(kDBConnectionString); ok {
		d.URL = t.cut(cs)
		b = strField(b, "url", d.URL)
	} else if host := dbHost(a); host != "" {
		u := host
		if port, ok := a.int(kServerPort, kNetPeerPort); ok {
			u += ":" + strconv.FormatInt(port, 10)
		}
		if db, ok := a.str(kDBNamespace, kDBName); ok {
			u += "/" + db
		}
		b = strField(b, "url", u)
		d.URL = u
	}
	if q, ok := a.str(kDBQueryText, kDBStatement); ok {
		d.SanitizedQuery = t.cut(q)
		b = strField(b, "sanitized_query", d.SanitizedQuery)
	}
	b = strField(b, "database_type", sys)
	d.DatabaseType = sys
	if u, ok := a.str(kDBUser); ok {
		b = strField(b, "user", u)
		d.User = u
	}
	if e != nil {
		d.URL, d.SanitizedQuery, d.DatabaseType, d.User = t.dstr(d.URL), t.dstr(d.SanitizedQuery), t.dstr(d.DatabaseType), t.dstr(d.User)
		e.SQL = &d
	}
	return append(b, '}')
}

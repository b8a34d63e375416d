package loadgen

import (
	"strconv"
	"strings"
)

// Text the services and SDKs write: runtimes, user agents, SDK names,
// exception types and messages, stack frames. Per dialect, because a Go
// service fails with *url.Error and a Python one with a ConnectionError.

var browserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}

var appAgents = []string{
	"ShopApp/4.12.1 (iPhone; iOS 17.4; Scale/3.00)",
	"ShopApp/4.12.0 (iPhone; iOS 16.7; Scale/2.00)",
	"okhttp/4.12.0",
	"ShopApp/4.11.3 (Android 14; Pixel 8)",
}

func dialectService(d dialect, version string) *serviceInfo {
	switch d {
	case dialectPython:
		return &serviceInfo{version: version, runtime: "CPython", runtimeVersion: "3.11.9"}
	case dialectNode:
		return &serviceInfo{version: version, runtime: "node", runtimeVersion: "v20.11.1"}
	case dialectGo:
		return &serviceInfo{version: version, runtime: "gc", runtimeVersion: "go1.26.8"}
	}
	return nil
}

func dialectUserAgent(d dialect) string {
	switch d {
	case dialectPython:
		return "python-requests/2.31.0"
	case dialectNode:
		return "axios/1.6.8"
	}
	return "Go-http-client/1.1"
}

// dialectSDK returns aws.xray's sdk, sdk_version and (Node only) package.
func dialectSDK(d dialect) (sdk, version, pkg string) {
	switch d {
	case dialectPython:
		return "X-Ray for Python", "2.15.0", ""
	case dialectNode:
		return "X-Ray for Node.js", "3.12.0", "aws-xray-sdk"
	case dialectGo:
		return "X-Ray for Go", "1.8.5", ""
	}
	return "", "", ""
}

// awsSubsegmentName is what each SDK calls an AWS call's subsegment: the
// service ID in Go and Node, botocore's endpoint prefix in Python.
func awsSubsegmentName(k callKind, d dialect) string {
	names := awsServiceNames[k]
	if d == dialectPython {
		return names[1]
	}
	return names[0]
}

var awsServiceNames = map[callKind][2]string{
	callDynamo: {"DynamoDB", "dynamodb"},
	callSQS:    {"SQS", "sqs"},
	callSNS:    {"SNS", "sns"},
	callS3:     {"S3", "s3"},
	callLambda: {"Lambda", "lambda"},
}

// faultTemplates prepares a service's stack traces and the bugs it has.
func faultTemplates(r *rng, def *svcDef) ([][]frame, []excTemplate) {
	pkg := strings.TrimSuffix(def.name, "-service")
	var stacks [][]frame
	var faults []excTemplate
	switch def.dialect {
	case dialectPython:
		for _, fn := range []string{"handle", "load", "score"} {
			stacks = append(stacks, []frame{
				{path: "/app/" + strings.ReplaceAll(pkg, "-", "_") + "/views.py", line: 20 + r.intn(300), label: fn},
				{path: "/app/" + strings.ReplaceAll(pkg, "-", "_") + "/service.py", line: 20 + r.intn(300), label: "_" + fn + "_items"},
				{path: "/usr/local/lib/python3.11/site-packages/flask/app.py", line: 1469, label: "dispatch_request"},
				{path: "/usr/local/lib/python3.11/site-packages/flask/app.py", line: 1455, label: "full_dispatch_request"},
				{path: "/usr/local/lib/python3.11/site-packages/aws_xray_sdk/ext/flask/middleware.py", line: 89, label: "_after_request"},
			})
		}
		faults = []excTemplate{
			{"KeyError", "'customer_id'"},
			{"ValueError", "invalid literal for int() with base 10: 'null'"},
			{"TypeError", "unsupported operand type(s) for +: 'NoneType' and 'float'"},
		}
	case dialectNode:
		for _, fn := range []string{"handler", "loadItems", "render"} {
			stacks = append(stacks, []frame{
				{path: "/usr/src/app/src/routes/" + pkg + ".js", line: 10 + r.intn(200), label: fn},
				{path: "/usr/src/app/src/lib/" + pkg + "-client.js", line: 10 + r.intn(200), label: "async " + fn},
				{path: "/usr/src/app/node_modules/express/lib/router/layer.js", line: 95, label: "Layer.handle [as handle_request]"},
				{path: "node:internal/process/task_queues", label: "process.processTicksAndRejections"},
			})
		}
		faults = []excTemplate{
			{"TypeError", "Cannot read properties of undefined (reading 'price')"},
			{"RangeError", "Invalid time value"},
			{"Error", "connect ECONNRESET 10.0.3.17:6379"},
		}
	default:
		base := "github.com/example-shop/" + def.name + "/internal/" + strings.ReplaceAll(pkg, "-", "")
		for _, fn := range []string{"Get", "Create", "List"} {
			stacks = append(stacks, []frame{
				{path: "/build/internal/" + strings.ReplaceAll(pkg, "-", "") + "/service.go", line: 20 + r.intn(400), label: base + ".(*Service)." + fn},
				{path: "/build/internal/" + strings.ReplaceAll(pkg, "-", "") + "/handler.go", line: 20 + r.intn(200), label: base + ".(*Handler)." + fn},
				{path: "/usr/local/go/src/net/http/server.go", line: 2220, label: "net/http.HandlerFunc.ServeHTTP"},
				{path: "/go/pkg/mod/github.com/aws/aws-xray-sdk-go@v1.8.5/xray/handler.go", line: 123, label: "github.com/aws/aws-xray-sdk-go/xray.Handler.func1"},
				{path: "/usr/local/go/src/net/http/server.go", line: 3210, label: "net/http.serverHandler.ServeHTTP"},
			})
		}
		faults = []excTemplate{
			{"runtime.Error", "runtime error: invalid memory address or nil pointer dereference"},
			{"*errors.errorString", "inconsistent state: reservation without order"},
			{"*fmt.wrapError", "decode request: unexpected EOF"},
		}
	}
	return stacks, faults
}

// httpStatusError is the error a client library returns for a bad status.
func httpStatusError(d dialect, method, url string, status int) excTemplate {
	code := strconv.Itoa(status)
	switch d {
	case dialectPython:
		return excTemplate{"requests.exceptions.HTTPError", code + " " + statusReason(status) + " for url: " + url}
	case dialectNode:
		return excTemplate{"AxiosError", "Request failed with status code " + code}
	}
	return excTemplate{"*errors.errorString", method + " " + url + ": unexpected status " + code + " " + statusReason(status)}
}

// brokenConnError is the error for a connection that died mid-request.
func brokenConnError(d dialect, method, url string) excTemplate {
	switch d {
	case dialectPython:
		return excTemplate{"requests.exceptions.ConnectionError", "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"}
	case dialectNode:
		return excTemplate{"Error", "socket hang up"}
	}
	return excTemplate{"*url.Error", method + ` "` + url + `": EOF`}
}

// awsError is the error an AWS SDK returns for a failed call.
func awsError(d dialect, service, operation, code, message string, status int, requestID string) excTemplate {
	switch d {
	case dialectPython:
		return excTemplate{"botocore.exceptions.ClientError", "An error occurred (" + code + ") when calling the " + operation + " operation: " + message}
	case dialectNode:
		return excTemplate{code, message}
	}
	return excTemplate{"*smithy.OperationError", "operation error " + service + ": " + operation + ", https response error StatusCode: " +
		strconv.Itoa(status) + ", RequestID: " + requestID + ", api error " + code + ": " + message}
}

var sqlFaults = []string{
	"canceling statement due to statement timeout",
	"deadlock detected",
	"could not serialize access due to concurrent update",
	"remaining connection slots are reserved for non-replication superuser connections",
}

func sqlError(d dialect, databaseType, message string) excTemplate {
	if databaseType == "MySQL" {
		return excTemplate{"*mysql.MySQLError", "Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction"}
	}
	switch d {
	case dialectPython:
		return excTemplate{"psycopg2.errors.QueryCanceled", message}
	case dialectNode:
		return excTemplate{"error", message}
	}
	return excTemplate{"*pgconn.PgError", "ERROR: " + message + " (SQLSTATE 57014)"}
}

func statusReason(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 404:
		return "Not Found"
	case 409:
		return "Conflict"
	case 422:
		return "Unprocessable Entity"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return "Error"
}

package loadgen

import "github.com/counterspy/counterspy/internal/xrayid"

// dialect is who writes a document: an X-Ray SDK or an AWS service. Each has
// its own field order, time precision and quirks (see each SDK's emitter:
// github.com/aws/aws-xray-sdk-go xray/segment_model.go, aws-xray-sdk-python
// aws_xray_sdk/core/models, aws-xray-sdk-node packages/core/lib/segments), and a backend
// must accept them all, so the generator reproduces them.
type dialect uint8

const (
	dialectGo     dialect = iota // "Dummy":false, shortest float times
	dialectPython                // ", " / ": " separators, "in_progress":false, "type" on embedded subsegments
	dialectNode                  // millisecond times, top-level "traced", "line":null frames
	dialectAWS                   // Lambda and API Gateway: Java-style 1.6E9 times
)

// entity is a segment or subsegment under construction. Times are Unix
// nanoseconds; they are turned into each dialect's number form on output.
type entity struct {
	id     xrayid.SegmentID
	parent xrayid.SegmentID // written on top-level and independent documents only
	name   string
	start  int64
	end    int64
	// awsMicro selects microsecond precision for AWS-written entities (the
	// Lambda function segment); the service segment uses milliseconds.
	awsMicro bool

	origin, namespace, resourceARN, user string
	fault, err, throttle                 bool

	cause       *cause
	http        *httpInfo
	aws         *awsInfo
	sql         *sqlInfo
	service     *serviceInfo
	annotations []annotation
	metadata    []metaKV
	subs        []*entity
}

type cause struct {
	workingDir string
	exceptions []exception
}

type exception struct {
	id, typ, message string
	remote           bool
	stack            []frame
}

// frame is a stack frame; line 0 is written as null by Node and omitted by Go.
type frame struct {
	path  string
	line  int
	label string
}

type httpInfo struct {
	method, url, userAgent, clientIP string
	xForwardedFor, traced            bool
	status                           int
	contentLength                    int64
}

// awsInfo holds the aws object members we emit; each is omitted when empty.
type awsInfo struct {
	accountID      string
	apiGateway     *apiGatewayInfo
	bucketName     string
	logGroup       string // cloudwatch_logs[0].log_group
	ec2            *ec2Info
	ecs            *ecsInfo
	eks            *eksInfo
	functionARN    string
	functionError  string
	functionName   string
	invocationType string
	key            string
	messageID      string
	operation      string
	queueURL       string
	region         string
	requestID      string
	resourceNames  []string
	retries        int
	hasRetries     bool
	statusCode     int
	tableName      string
	topicARN       string
	xraySDK        string
	xraySDKVersion string
	xrayPackage    string
}

type apiGatewayInfo struct{ accountID, requestID, restAPIID, stage string }
type ec2Info struct{ az, instanceID, instanceSize, amiID string }
type ecsInfo struct{ container, containerID string }
type eksInfo struct{ clusterName, containerID, pod string }

type sqlInfo struct {
	url, databaseType, databaseVersion, driverVersion, user, preparation, sanitizedQuery string
}

type serviceInfo struct{ version, runtime, runtimeVersion string }

type annotationKind uint8

const (
	annString annotationKind = iota
	annNumber
	annBool
)

type annotation struct {
	key  string
	kind annotationKind
	s    string
	n    float64
	b    bool
}

func annStr(k, v string) annotation          { return annotation{key: k, kind: annString, s: v} }
func annNum(k string, v float64) annotation  { return annotation{key: k, kind: annNumber, n: v} }
func annBoolean(k string, v bool) annotation { return annotation{key: k, kind: annBool, b: v} }

// metaKV is one string value in the "default" metadata namespace.
type metaKV struct{ key, value string }

// count returns the number of subsegments below e (not counting e).
func (e *entity) count() int {
	n := 0
	for _, s := range e.subs {
		n += 1 + s.count()
	}
	return n
}

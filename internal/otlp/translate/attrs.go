package translate

import "go.opentelemetry.io/collector/pdata/pcommon"

// attrKey names a span attribute the mapping reads.
type attrKey uint8

const (
	kFaaSInvocationID          attrKey = iota // faas.invocation_id
	kFaaSExecution                            // faas.execution
	kAWSRequestID                             // aws.request_id
	kCloudResourceID                          // cloud.resource_id
	kFaaSID                                   // faas.id
	kEnduserID                                // enduser.id
	kAWSLocalService                          // aws.local.service
	kAWSRemoteService                         // aws.remote.service
	kPeerService                              // peer.service
	kAWSService                               // aws.service
	kRPCService                               // rpc.service
	kDBNamespace                              // db.namespace
	kDBName                                   // db.name
	kServerAddress                            // server.address
	kHTTPHost                                 // http.host
	kNetPeerName                              // net.peer.name
	kURLFull                                  // url.full
	kHTTPURL                                  // http.url
	kRPCSystem                                // rpc.system
	kHTTPRequestMethod                        // http.request.method
	kHTTPMethod                               // http.method
	kHTTPResponseStatusCode                   // http.response.status_code
	kHTTPStatusCode                           // http.status_code
	kUserAgentOriginal                        // user_agent.original
	kHTTPUserAgent                            // http.user_agent
	kClientAddress                            // client.address
	kHTTPClientIP                             // http.client_ip
	kNetworkPeerAddress                       // network.peer.address
	kNetSockPeerAddr                          // net.sock.peer.addr
	kNetPeerIP                                // net.peer.ip
	kHTTPResponseBodySize                     // http.response.body.size
	kHTTPResponseContentLength                // http.response_content_length
	kURLScheme                                // url.scheme
	kHTTPScheme                               // http.scheme
	kServerPort                               // server.port
	kNetHostPort                              // net.host.port
	kNetPeerPort                              // net.peer.port
	kHTTPTarget                               // http.target
	kURLPath                                  // url.path
	kURLQuery                                 // url.query
	kMessagingSystem                          // messaging.system
	kAWSOperation                             // aws.operation
	kRPCMethod                                // rpc.method
	kAWSRegion                                // aws.region
	kCloudRegion                              // cloud.region
	kAWSRequestId                             // aws.requestId
	kAWSAccountID                             // aws.account_id
	kAWSDynamodbTableNames                    // aws.dynamodb.table_names
	kAWSTableName                             // aws.table_name
	kAWSQueueURL                              // aws.queue_url
	kAWSSQSQueueURL                           // aws.sqs.queue_url
	kMessagingURL                             // messaging.url
	kMessagingDestinationName                 // messaging.destination.name
	kMessagingDestination                     // messaging.destination
	kAWSS3Bucket                              // aws.s3.bucket
	kAWSBucketName                            // aws.bucket_name
	kAWSSNSTopicARN                           // aws.sns.topic_arn
	kAWSLambdaFunctionName                    // aws.lambda.function.name
	kFaaSInvokedName                          // faas.invoked_name
	kDBSystemName                             // db.system.name
	kDBSystem                                 // db.system
	kDBConnectionString                       // db.connection_string
	kDBQueryText                              // db.query.text
	kDBStatement                              // db.statement
	kDBUser                                   // db.user
	kNetHostName                              // net.host.name
	kHTTPServerName                           // http.server_name
	kAWSXRayAnnotations                       // aws.xray.annotations
	numAttrKeys
)

// attrKeys maps the attribute names the mapping reads to their attrKey.
var attrKeys = map[string]attrKey{
	"faas.invocation_id":           kFaaSInvocationID,
	"faas.execution":               kFaaSExecution,
	"aws.request_id":               kAWSRequestID,
	"cloud.resource_id":            kCloudResourceID,
	"faas.id":                      kFaaSID,
	"enduser.id":                   kEnduserID,
	"aws.local.service":            kAWSLocalService,
	"aws.remote.service":           kAWSRemoteService,
	"peer.service":                 kPeerService,
	"aws.service":                  kAWSService,
	"rpc.service":                  kRPCService,
	"db.namespace":                 kDBNamespace,
	"db.name":                      kDBName,
	"server.address":               kServerAddress,
	"http.host":                    kHTTPHost,
	"net.peer.name":                kNetPeerName,
	"url.full":                     kURLFull,
	"http.url":                     kHTTPURL,
	"rpc.system":                   kRPCSystem,
	"http.request.method":          kHTTPRequestMethod,
	"http.method":                  kHTTPMethod,
	"http.response.status_code":    kHTTPResponseStatusCode,
	"http.status_code":             kHTTPStatusCode,
	"user_agent.original":          kUserAgentOriginal,
	"http.user_agent":              kHTTPUserAgent,
	"client.address":               kClientAddress,
	"http.client_ip":               kHTTPClientIP,
	"network.peer.address":         kNetworkPeerAddress,
	"net.sock.peer.addr":           kNetSockPeerAddr,
	"net.peer.ip":                  kNetPeerIP,
	"http.response.body.size":      kHTTPResponseBodySize,
	"http.response_content_length": kHTTPResponseContentLength,
	"url.scheme":                   kURLScheme,
	"http.scheme":                  kHTTPScheme,
	"server.port":                  kServerPort,
	"net.host.port":                kNetHostPort,
	"net.peer.port":                kNetPeerPort,
	"http.target":                  kHTTPTarget,
	"url.path":                     kURLPath,
	"url.query":                    kURLQuery,
	"messaging.system":             kMessagingSystem,
	"aws.operation":                kAWSOperation,
	"rpc.method":                   kRPCMethod,
	"aws.region":                   kAWSRegion,
	"cloud.region":                 kCloudRegion,
	"aws.requestId":                kAWSRequestId,
	"aws.account_id":               kAWSAccountID,
	"aws.dynamodb.table_names":     kAWSDynamodbTableNames,
	"aws.table_name":               kAWSTableName,
	"aws.queue_url":                kAWSQueueURL,
	"aws.sqs.queue_url":            kAWSSQSQueueURL,
	"messaging.url":                kMessagingURL,
	"messaging.destination.name":   kMessagingDestinationName,
	"messaging.destination":        kMessagingDestination,
	"aws.s3.bucket":                kAWSS3Bucket,
	"aws.bucket_name":              kAWSBucketName,
	"aws.sns.topic_arn":            kAWSSNSTopicARN,
	"aws.lambda.function.name":     kAWSLambdaFunctionName,
	"faas.invoked_name":            kFaaSInvokedName,
	"db.system.name":               kDBSystemName,
	"db.system":                    kDBSystem,
	"db.connection_string":         kDBConnectionString,
	"db.query.text":                kDBQueryText,
	"db.statement":                 kDBStatement,
	"db.user":                      kDBUser,
	"net.host.name":                kNetHostName,
	"http.server_name":             kHTTPServerName,
	"aws.xray.annotations":         kAWSXRayAnnotations,
}

// spanAttrs indexes one span's attributes by the keys the mapping reads:
// one pass over them, instead of a linear Map.Get for each of the few dozen
// keys the mapping looks up. Like Map.Get it holds the first of repeated
// keys.
type spanAttrs struct {
	v   [numAttrKeys]pcommon.Value
	has [numAttrKeys]bool
}

// noAttrs has no attributes (the service segment made for a call span).
var noAttrs spanAttrs

// index reads m.
func (a *spanAttrs) index(m pcommon.Map) {
	a.has = [numAttrKeys]bool{}
	m.Range(func(k string, v pcommon.Value) bool {
		if i, ok := attrKeys[k]; ok && !a.has[i] {
			a.v[i], a.has[i] = v, true
		}
		return true
	})
}

func (a *spanAttrs) get(k attrKey) (pcommon.Value, bool) {
	return a.v[k], a.has[k]
}

// str is the first of keys present as text (as attrStr reads it).
func (a *spanAttrs) str(keys ...attrKey) (string, bool) {
	for _, k := range keys {
		if a.has[k] {
			if s, ok := valueStr(a.v[k]); ok {
				return s, true
			}
		}
	}
	return "", false
}

// int is the first of keys present as an integer (valueInt).
func (a *spanAttrs) int(keys ...attrKey) (int64, bool) {
	for _, k := range keys {
		if a.has[k] {
			if n, ok := valueInt(a.v[k]); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// strings is the attribute k as attrStrings reads it.
func (a *spanAttrs) strings(k attrKey) []string {
	if !a.has[k] {
		return nil
	}
	return valueStrings(a.v[k])
}

func (a *spanAttrs) hasAny(keys ...attrKey) bool {
	for _, k := range keys {
		if a.has[k] {
			return true
		}
	}
	return false
}

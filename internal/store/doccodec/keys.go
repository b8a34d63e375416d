package doccodec

// keyTable are the object keys the skeleton writes as one byte, 0x80 + the
// key's index: those of X-Ray segment documents (the AWS X-Ray Developer
// Guide, "AWS X-Ray segment documents"), of the AWS fields the X-Ray SDKs
// record for AWS calls and resources, and of the OpenTelemetry
// translation's metadata (docs/otlp.md). Stored skeletons refer to keys
// by position, so the table is append-only: never reorder, change or
// remove an entry. At most 128 entries.
var keyTable = [...]string{
	// Segments and subsegments.
	"id", "name", "trace_id", "start_time", "end_time", "in_progress", "parent_id", "type",
	"service", "version", "user", "origin", "http", "request", "method", "url",
	"user_agent", "client_ip", "x_forwarded_for", "traced", "response", "status", "content_length", "aws",
	"error", "throttle", "fault", "cause", "working_directory", "paths", "exceptions", "message",
	"remote", "truncated", "skipped", "stack", "path", "line", "label", "annotations",
	"metadata", "default", "subsegments", "namespace", "precursor_ids", "sql", "connection_string", "database_type",
	"database_version", "driver_version", "preparation", "sanitized_query", "runtime", "runtime_version", "Dummy", "inferred",
	// The aws object: resources and the SDK.
	"ec2", "instance_id", "instance_size", "ami_id", "availability_zone", "ecs", "container", "container_id",
	"container_arn", "eks", "pod", "cluster_name", "elastic_beanstalk", "environment_name", "version_label", "deployment_id",
	"xray", "sdk", "sdk_version", "auto_instrumentation", "package", "rule_name", "account_id", "cloudwatch_logs",
	"log_group", "arn", "function_arn", "resource_arn", "api_gateway", "stage", "rest_api_id", "lambda",
	// The aws object: calls to AWS services.
	"operation", "region", "request_id", "retries", "table_name", "queue_url", "bucket_name", "key",
	"function_name", "resource_names", "topic_arn", "message_id", "invocation_type", "function_error", "status_code", "consistent_read",
	"provisioned_throughput", "table_names", "item_count", "attempts", "log_type", "qualifier", "payload_count", "message_count",
	// The OpenTelemetry translation.
	"otel", "span", "kind", "flags", "attributes", "resource", "scope", "links",
	"span_id", "trace_state", "dropped_attributes_count", "events", "time_unix_nano", "schema_url", "timestamps", "code",
}

// keySlot finds a key's entry: a perfect hash of the table's keys (no two
// share a slot: the multiplier was searched for), 1 + the key's index, 0
// for none.
var keySlot = func() (t [1 << 10]uint8) {
	for i, k := range keyTable {
		h := keyHash([]byte(k))
		if t[h] != 0 {
			panic("doccodec: keys " + keyTable[t[h]-1] + " and " + k + " share a hash slot")
		}
		t[h] = uint8(i + 1)
	}
	return t
}()

// keyHash hashes a non-empty key's length and first, middle and last
// bytes into keySlot.
func keyHash(k []byte) uint32 {
	x := uint32(len(k)) | uint32(k[0])<<8 | uint32(k[len(k)-1])<<16 | uint32(k[len(k)/2])<<24
	return x * 1093778269 >> 22
}

// quotedKeys are keyTable's keys in quotes, as Join writes them.
var quotedKeys = func() (q [len(keyTable)]string) {
	for i, k := range keyTable {
		q[i] = `"` + k + `"`
	}
	return q
}()

// keyToken returns the skeleton byte of key k, if the table has it.
func keyToken(k []byte) (byte, bool) {
	if len(k) == 0 {
		return 0, false
	}
	i := keySlot[keyHash(k)]
	if i == 0 || keyTable[i-1] != string(k) {
		return 0, false
	}
	return 0x80 + i - 1, true
}

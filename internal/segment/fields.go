package segment

import (
	"strconv"

	"github.com/valyala/fastjson"
)

// Decoders for the objects an entity holds. Fields not listed are tolerated
// and left in Raw, unchecked: SDKs and AWS services add keys freely, and only
// the digest's fields are type-checked.

func (d *Decoder) http(idx int32, v *fastjson.Value) *Error {
	o, err := v.Object()
	if err != nil {
		return d.typeErr(idx, "http", "an object", v)
	}
	if rv := o.Get("request"); rv != nil && rv.Type() != fastjson.TypeNull {
		if e := d.httpRequest(idx, rv); e != nil {
			return e
		}
	}
	if rv := o.Get("response"); rv != nil && rv.Type() != fastjson.TypeNull {
		return d.httpResponse(idx, rv)
	}
	return nil
}

func (d *Decoder) httpRequest(idx int32, v *fastjson.Value) *Error {
	o, err := v.Object()
	if err != nil {
		return d.typeErr(idx, "http.request", "an object", v)
	}
	ent := &d.ents[idx]
	h := &ent.HTTP
	var e *Error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "method":
			h.Method, e = d.internedString(idx, "http.request.method", v)
		case "url":
			// Not held to the 250-character limit: SDKs send longer URLs.
			h.URL, e = d.str(idx, "http.request.url", v)
		case "user_agent":
			h.UserAgent, e = d.str(idx, "http.request.user_agent", v)
		case "client_ip":
			h.ClientIP, e = d.str(idx, "http.request.client_ip", v)
		case "x_forwarded_for":
			h.XForwardedFor, e = d.boolean(idx, "http.request.x_forwarded_for", v)
		case "traced":
			var b bool
			b, e = d.boolean(idx, "http.request.traced", v)
			ent.Traced = ent.Traced || b
		}
	})
	return e
}

func (d *Decoder) httpResponse(idx int32, v *fastjson.Value) *Error {
	o, err := v.Object()
	if err != nil {
		return d.typeErr(idx, "http.response", "an object", v)
	}
	h := &d.ents[idx].HTTP
	if sv := o.Get("status"); sv != nil && sv.Type() != fastjson.TypeNull {
		n, e := intValue(sv)
		if e != nil {
			return d.at(idx, "http.response.status", e)
		}
		// Range is not checked: the status is reported, not interpreted, and
		// only the SDK's flags say whether the call failed.
		h.Status = int(n)
	}
	if cv := o.Get("content_length"); cv != nil && cv.Type() != fastjson.TypeNull {
		n, e := contentLength(cv)
		if e != nil {
			return d.at(idx, "http.response.content_length", e)
		}
		h.ContentLength = n
	}
	return nil
}

// contentLength takes an integer or, as the OTel exporter may write it, a
// string holding one.
func contentLength(v *fastjson.Value) (int64, *Error) {
	if v.Type() == fastjson.TypeString {
		b, _ := v.StringBytes()
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return 0, problem(CodeInvalidSegment, "expected an integer or a numeric string, found %q", clip(b))
		}
		return n, nil
	}
	n, e := intValue(v)
	if e != nil {
		return 0, problem(CodeInvalidSegment, "expected an integer or a numeric string, found %s", typeName(v))
	}
	return n, nil
}

func (d *Decoder) aws(idx int32, v *fastjson.Value) *Error {
	o, err := v.Object()
	if err != nil {
		return d.typeErr(idx, "aws", "an object", v)
	}
	a := &d.ents[idx].AWS
	var ecsZone string
	var e *Error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "account_id":
			a.AccountID, e = d.str(idx, "aws.account_id", v)
		case "operation":
			a.Operation, e = d.internedString(idx, "aws.operation", v)
		case "region":
			a.Region, e = d.internedString(idx, "aws.region", v)
		case "request_id":
			a.RequestID, e = d.str(idx, "aws.request_id", v)
		case "table_name":
			a.TableName, e = d.internedString(idx, "aws.table_name", v)
		case "queue_url":
			a.QueueURL, e = d.internedString(idx, "aws.queue_url", v)
		case "bucket_name":
			a.BucketName, e = d.internedString(idx, "aws.bucket_name", v)
		case "topic_arn":
			a.TopicARN, e = d.internedString(idx, "aws.topic_arn", v)
		case "function_arn":
			a.FunctionARN, e = d.internedString(idx, "aws.function_arn", v)
		case "function_name":
			a.FunctionName, e = d.internedString(idx, "aws.function_name", v)
		case "resource_names":
			a.ResourceNames, e = d.stringList(idx, "aws.resource_names", v)
		case "ec2":
			e = d.placement(idx, v, placementEC2, &a.InstanceID, &a.AvailabilityZone)
		case "ecs":
			e = d.placement(idx, v, placementECS, nil, &ecsZone)
		case "cloudwatch_logs":
			a.LogGroups, e = d.logGroups(idx, v)
		}
	})
	if e != nil {
		return e
	}
	// EC2 placement is the more specific one when a task reports both.
	if a.AvailabilityZone == "" {
		a.AvailabilityZone = ecsZone
	}
	return nil
}

// placementFields names the fields of aws.ec2 or aws.ecs (constants, so the
// happy path builds no strings).
type placementFields struct{ object, instance, zone string }

var (
	placementEC2 = placementFields{"aws.ec2", "aws.ec2.instance_id", "aws.ec2.availability_zone"}
	placementECS = placementFields{"aws.ecs", "", "aws.ecs.availability_zone"}
)

// placement reads instance_id (when instance is non-nil) and
// availability_zone from aws.ec2 or aws.ecs.
func (d *Decoder) placement(idx int32, v *fastjson.Value, f placementFields, instance, zone *string) *Error {
	o, err := v.Object()
	if err != nil {
		return d.typeErr(idx, f.object, "an object", v)
	}
	if instance != nil {
		if iv := o.Get("instance_id"); iv != nil && iv.Type() != fastjson.TypeNull {
			s, e := d.str(idx, f.instance, iv)
			if e != nil {
				return e
			}
			*instance = s
		}
	}
	if zv := o.Get("availability_zone"); zv != nil && zv.Type() != fastjson.TypeNull {
		s, e := d.internedString(idx, f.zone, zv)
		if e != nil {
			return e
		}
		*zone = s
	}
	return nil
}

func (d *Decoder) logGroups(idx int32, v *fastjson.Value) ([]string, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, d.typeErr(idx, "aws.cloudwatch_logs", "an array", v)
	}
	var groups []string
	for i, lv := range arr {
		lo, err := lv.Object()
		if err != nil {
			return nil, d.typeErr(idx, indexed("aws.cloudwatch_logs", i), "an object", lv)
		}
		gv := lo.Get("log_group")
		if gv == nil || gv.Type() == fastjson.TypeNull {
			continue
		}
		b, e := stringValue(gv)
		if e != nil {
			return nil, d.at(idx, indexed("aws.cloudwatch_logs", i)+".log_group", e)
		}
		if groups == nil {
			groups = make([]string, 0, len(arr))
		}
		groups = append(groups, d.intern(b))
	}
	return groups, nil
}

func (d *Decoder) stringList(idx int32, field string, v *fastjson.Value) ([]string, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, d.typeErr(idx, field, "an array", v)
	}
	if len(arr) == 0 {
		return nil, nil
	}
	list := make([]string, len(arr))
	for i, sv := range arr {
		b, e := stringValue(sv)
		if e != nil {
			return nil, d.at(idx, indexed(field, i), e)
		}
		list[i] = d.intern(b)
	}
	return list, nil
}

func (d *Decoder) sql(idx int32, v *fastjson.Value) (*SQL, *Error) {
	o, err := v.Object()
	if err != nil {
		return nil, d.typeErr(idx, "sql", "an object", v)
	}
	s := new(SQL)
	var e *Error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "url":
			s.URL, e = d.internedString(idx, "sql.url", v)
		case "connection_string":
			s.ConnectionString, e = d.internedString(idx, "sql.connection_string", v)
		case "sanitized_query":
			s.SanitizedQuery, e = d.str(idx, "sql.sanitized_query", v)
		case "database_type":
			s.DatabaseType, e = d.internedString(idx, "sql.database_type", v)
		case "database_version":
			s.DatabaseVersion, e = d.internedString(idx, "sql.database_version", v)
		case "driver_version":
			s.DriverVersion, e = d.internedString(idx, "sql.driver_version", v)
		case "user":
			s.User, e = d.internedString(idx, "sql.user", v)
		case "preparation":
			s.Preparation, e = d.internedString(idx, "sql.preparation", v)
		}
	})
	if e != nil {
		return nil, e
	}
	return s, nil
}

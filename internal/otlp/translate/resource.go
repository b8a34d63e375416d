package translate

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/counterspy/counterspy/internal/jsonenc"
	"github.com/counterspy/counterspy/internal/segment"
)

// Origins, as the awsxray exporter's translator sets them (determineAwsOrigin)
// plus Lambda, whose functions X-Ray shows as AWS::Lambda::Function.
const (
	OriginLambda     = "AWS::Lambda::Function"
	OriginEC2        = "AWS::EC2::Instance"
	OriginECS        = "AWS::ECS::Container"
	OriginECSEC2     = "AWS::ECS::EC2"
	OriginECSFargate = "AWS::ECS::Fargate"
	OriginEKS        = "AWS::EKS::Container"
	OriginEB         = "AWS::ElasticBeanstalk::Environment"
	OriginAppRunner  = "AWS::AppRunner::Service"
)

// resourceInfo is what the segments of one resource share.
type resourceInfo struct {
	service        string
	serviceVersion string
	origin         string
	language       string // telemetry.sdk.language, for stack trace parsing
	hasARN         bool   // the aws object has the function ARN already
	// aws is the resource part of a segment's aws object, written once;
	// awsDigest is what the decoder reads from it, and awsSlow says it holds
	// text jsonenc changes (digest.go).
	aws       []byte
	awsDigest segment.AWS
	awsSlow   bool
}

func readResource(r pcommon.Resource) resourceInfo {
	a := r.Attributes()
	var ri resourceInfo
	ri.service, _ = attrStr(a, "service.name")
	ri.serviceVersion, _ = attrStr(a, "service.version")
	ri.language, _ = attrStr(a, "telemetry.sdk.language")
	ri.origin = origin(a)
	ri.aws = resourceAWS(nil, a, ri.origin, &ri.awsDigest)
	d := &ri.awsDigest
	for _, s := range append([]string{d.AccountID, d.Region, d.InstanceID, d.AvailabilityZone, d.FunctionARN, d.FunctionName}, d.LogGroups...) {
		ri.awsSlow = ri.awsSlow || !utf8.ValidString(s)
	}
	_, ri.hasARN = attrStr(a, "cloud.resource_id", "faas.id")
	ri.hasARN = ri.hasARN && ri.origin == OriginLambda
	return ri
}

// origin maps cloud.provider and cloud.platform to a segment origin. A
// resource on another cloud has none.
func origin(a pcommon.Map) string {
	if p, ok := attrStr(a, "cloud.provider"); ok && p != "aws" {
		return ""
	}
	platform, _ := attrStr(a, "cloud.platform")
	switch platform {
	case "aws_lambda":
		return OriginLambda
	case "aws_ec2":
		return OriginEC2
	case "aws_ecs":
		switch lt, _ := attrStr(a, "aws.ecs.launchtype"); lt {
		case "ec2":
			return OriginECSEC2
		case "fargate":
			return OriginECSFargate
		}
		return OriginECS
	case "aws_eks":
		return OriginEKS
	case "aws_elastic_beanstalk":
		return OriginEB
	case "aws_app_runner":
		return OriginAppRunner
	}
	return ""
}

// resourceAWS writes the fields of a segment's aws object that come from the
// resource (without braces): account, region, placement, the Lambda
// function, log groups and the SDK, as the translator's makeAws does.
func resourceAWS(b []byte, a pcommon.Map, origin string, d *segment.AWS) []byte {
	b = append(b, '{')
	if v, ok := attrStr(a, "cloud.account.id"); ok {
		b = strField(b, "account_id", v)
		d.AccountID = v
	}
	if v, ok := attrStr(a, "cloud.region"); ok {
		b = strField(b, "region", v)
		d.Region = v
	}
	zone, _ := attrStr(a, "cloud.availability_zone")
	switch origin {
	case OriginEC2, OriginEB:
		b = append(key(b, "ec2"), '{')
		if v, ok := attrStr(a, "host.id"); ok {
			b = strField(b, "instance_id", v)
			d.InstanceID = v
		}
		if v, ok := attrStr(a, "host.type"); ok {
			b = strField(b, "instance_size", v)
		}
		if v, ok := attrStr(a, "host.image.id"); ok {
			b = strField(b, "ami_id", v)
		}
		if zone != "" {
			b = strField(b, "availability_zone", zone)
			d.AvailabilityZone = zone
		}
		b = append(b, '}')
	case OriginECS, OriginECSEC2, OriginECSFargate:
		b = append(key(b, "ecs"), '{')
		if v, ok := attrStr(a, "container.name", "host.name"); ok {
			b = strField(b, "container", v)
		}
		if v, ok := attrStr(a, "container.id"); ok {
			b = strField(b, "container_id", v)
		}
		if v, ok := attrStr(a, "aws.ecs.cluster.arn"); ok {
			b = strField(b, "cluster_arn", v)
		}
		if v, ok := attrStr(a, "aws.ecs.task.arn"); ok {
			b = strField(b, "task_arn", v)
		}
		if zone != "" {
			b = strField(b, "availability_zone", zone)
			d.AvailabilityZone = zone
		}
		b = append(b, '}')
	case OriginEKS:
		b = append(key(b, "eks"), '{')
		if v, ok := attrStr(a, "k8s.cluster.name"); ok {
			b = strField(b, "cluster_name", v)
		}
		if v, ok := attrStr(a, "k8s.pod.name", "host.name"); ok {
			b = strField(b, "pod", v)
		}
		if v, ok := attrStr(a, "container.id"); ok {
			b = strField(b, "container_id", v)
		}
		b = append(b, '}')
	case OriginLambda:
		if v, ok := attrStr(a, "cloud.resource_id", "faas.id"); ok {
			b = strField(b, "function_arn", v)
			d.FunctionARN = v
		}
		if v, ok := attrStr(a, "faas.name"); ok {
			b = strField(b, "function_name", v)
			d.FunctionName = v
		}
	}
	if groups := attrStrings(a, "aws.log.group.names"); len(groups) > 0 {
		b = append(key(b, "cloudwatch_logs"), '[')
		for i, g := range groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(strField(append(b, '{'), "log_group", g), '}')
		}
		d.LogGroups = groups
		b = append(b, ']')
	}
	lang, _ := attrStr(a, "telemetry.sdk.language")
	sdkName, _ := attrStr(a, "telemetry.sdk.name")
	sdkVersion, _ := attrStr(a, "telemetry.sdk.version")
	if lang != "" || sdkName != "" || sdkVersion != "" {
		b = append(key(b, "xray"), '{')
		sdk := "opentelemetry"
		if sdkName != "" {
			sdk = sdkName
		}
		if lang != "" {
			sdk += " for " + lang
		}
		b = strField(b, "sdk", sdk)
		if sdkVersion != "" {
			b = strField(b, "sdk_version", sdkVersion)
		}
		if _, ok := attrStr(a, "telemetry.auto.version", "telemetry.distro.version"); ok {
			b = append(key(b, "auto_instrumentation"), "true"...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendResource writes the lossless copy of the resource.
func (t *Translator) appendResource(b []byte, r pcommon.Resource, schemaURL string) []byte {
	b = append(key(b, "resource"), '{')
	b = t.appendMap(key(b, "attributes"), r.Attributes(), 0)
	if n := r.DroppedAttributesCount(); n > 0 {
		b = intField(b, "dropped_attributes_count", int64(n))
	}
	if schemaURL != "" {
		b = key(b, "schema_url")
		b = jsonenc.AppendString(b, schemaURL)
	}
	return append(b, '}')
}

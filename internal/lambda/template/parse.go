// Package template reads Lambda function definitions, S3 buckets and SNS
// topics from the templates users already have: a SAM template.yaml (YAML
// with CloudFormation's short-form tags !Ref, !GetAtt, !Sub, ...) and a
// synthesized CloudFormation template (the JSON `cdk synth` writes into
// cdk.out/<Stack>.template.json, whose Code points at asset.<hash>
// directories named by the aws:asset:path metadata).
//
// It understands the resources the local emulator can run:
//
//	AWS::Serverless::Function, AWS::Lambda::Function   functions (+ SAM Globals.Function)
//	AWS::S3::Bucket (NotificationConfiguration)          buckets → topics / functions
//	Custom::S3BucketNotifications                        CDK's bucket.addEventNotification
//	AWS::SNS::Topic (Subscription), AWS::SNS::Subscription  topics → functions
//	SAM Events of type S3 and SNS                        bucket → function, topic → function
//
// Intrinsic functions are resolved as far as a local run needs: Ref and
// Fn::GetAtt name resources (a function's name, a bucket's name, a topic's
// ARN), Fn::Sub substitutes references and pseudo parameters, Fn::Join
// joins; anything else becomes the logical ID it refers to. Template
// anatomy: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html,
// SAM: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html.
package template

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on what Parse accepts: templates are small (CloudFormation allows
// 1 MB and 500 resources); the limits keep a hostile file from exhausting
// memory through YAML aliases or nesting.
const (
	MaxTemplateSize = 2 << 20
	maxNodes        = 200_000
	maxDepth        = 200
)

// decode reads YAML or JSON (JSON is YAML) into plain values: maps with
// string keys, slices, strings, float64/int/bool, nil. A short-form tag
// (!Ref x) becomes its long form ({"Ref": x}, {"Fn::GetAtt": [a, b]}).
func decode(data []byte) (map[string]any, error) {
	if len(data) > MaxTemplateSize {
		return nil, fmt.Errorf("template is %d bytes, more than the %d accepted", len(data), MaxTemplateSize)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	c := converter{}
	v, err := c.convert(&doc, 0)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template: the document is not a mapping")
	}
	return m, nil
}

type converter struct{ nodes int }

// shortForms maps CloudFormation's YAML short-form tags to their long
// names (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html).
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
	"!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString",
	"!Length": "Fn::Length",
}

func (c *converter) convert(n *yaml.Node, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxNodes {
		return nil, errors.New("too many nodes (aliases expand beyond the limit)")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	v, err := c.plain(n, depth)
	if err != nil {
		return nil, err
	}
	if long, ok := shortForms[n.Tag]; ok {
		if long == "Fn::GetAtt" {
			// !GetAtt Resource.Attribute is the string form of [Resource, Attribute].
			if s, ok := v.(string); ok {
				res, attr, _ := strings.Cut(s, ".")
				v = []any{res, attr}
			}
		}
		return map[string]any{long: v}, nil
	}
	return v, nil
}

func (c *converter) plain(n *yaml.Node, depth int) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		return c.convert(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := c.convert(n.Content[i], depth+1)
			if err != nil {
				return nil, err
			}
			v, err := c.convert(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.convert(e, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return i, nil
			}
			return n.Value, nil
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f, nil
			}
			return n.Value, nil
		case "!!bool":
			if b, err := strconv.ParseBool(n.Value); err == nil {
				return b, nil
			}
			return n.Value, nil
		case "!!null":
			return nil, nil
		}
		return n.Value, nil
	}
	return nil, nil
}

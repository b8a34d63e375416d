package template

import (
	"fmt"
	"strconv"
	"strings"
)

// maxResolve bounds how deep references may chain (a FunctionName that is
// a !Sub of another resource's name, ...), so a cycle ends.
const maxResolve = 16

// str resolves a property value to a string (see resolve).
func (p *parser) str(v any) string { return p.resolve(v, 0) }

// scalar is v as a string when it is a plain scalar.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// resolve evaluates the intrinsic functions a local run needs: Ref,
// Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, and pseudo parameters; what
// it cannot evaluate (Fn::ImportValue, conditions) resolves to "".
func (p *parser) resolve(v any, depth int) string {
	if depth > maxResolve {
		return ""
	}
	if s, ok := scalar(v); ok {
		return s
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ""
	}
	for fn, arg := range m {
		switch fn {
		case "Ref":
			s, _ := arg.(string)
			return p.ref(s, depth+1)
		case "Fn::GetAtt":
			id, attr := getAttArgs(arg, p, depth)
			return p.getAtt(id, attr, depth+1)
		case "Fn::Sub":
			return p.sub(arg, depth+1)
		case "Fn::Join":
			a, _ := arg.([]any)
			if len(a) != 2 {
				return ""
			}
			delim, _ := a[0].(string)
			var parts []string
			for _, e := range list(a[1]) {
				parts = append(parts, p.resolve(e, depth+1))
			}
			return strings.Join(parts, delim)
		case "Fn::Select":
			a, _ := arg.([]any)
			if len(a) != 2 {
				return ""
			}
			i, err := strconv.Atoi(p.resolve(a[0], depth+1))
			items := list(a[1])
			if err != nil || i < 0 || i >= len(items) {
				return ""
			}
			return p.resolve(items[i], depth+1)
		}
	}
	return ""
}

// getAttArgs reads [Resource, Attribute] or "Resource.Attribute".
func getAttArgs(arg any, p *parser, depth int) (id, attr string) {
	switch a := arg.(type) {
	case string:
		id, attr, _ = strings.Cut(a, ".")
	case []any:
		if len(a) == 2 {
			id, _ = a[0].(string)
			attr = p.resolve(a[1], depth+1)
		}
	}
	return id, attr
}

// ref is what Ref returns: a parameter's value, a pseudo parameter, a
// function's or bucket's name, a topic's ARN, another resource's name.
func (p *parser) ref(id string, depth int) string {
	switch id {
	case "AWS::Region":
		return p.opts.Region
	case "AWS::AccountId":
		return p.opts.AccountID
	case "AWS::StackName":
		return p.opts.StackName
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + p.opts.Region + ":" + p.opts.AccountID + ":stack/" + p.opts.StackName + "/local"
	case "AWS::Partition":
		return "aws"
	case "AWS::URLSuffix":
		return "amazonaws.com"
	case "AWS::NoValue":
		return ""
	}
	if v, ok := p.params[id]; ok {
		return v
	}
	r, ok := p.resources[id]
	if !ok {
		return id
	}
	if r.typ == typeTopic {
		return p.arn("sns", p.nameAt(id, depth))
	}
	return p.nameAt(id, depth)
}

// getAtt is what Fn::GetAtt returns for the attributes templates use.
func (p *parser) getAtt(id, attr string, depth int) string {
	r, ok := p.resources[id]
	if !ok {
		return id + "." + attr
	}
	name := p.nameAt(id, depth)
	switch {
	case attr == "Arn" && (r.typ == typeFunction || r.typ == typeSAMFunction):
		return p.arn("lambda", "function:"+name)
	case attr == "Arn" && r.typ == typeBucket:
		return "arn:aws:s3:::" + name
	case attr == "TopicArn" && r.typ == typeTopic:
		return p.arn("sns", name)
	case attr == "TopicName" && r.typ == typeTopic:
		return name
	case attr == "Arn" && r.typ == "AWS::DynamoDB::Table":
		return p.arn("dynamodb", "table/"+name)
	case attr == "Arn" && r.typ == "AWS::SQS::Queue":
		return p.arn("sqs", name)
	case attr == "Arn" && r.typ == "AWS::IAM::Role":
		return "arn:aws:iam::" + p.opts.AccountID + ":role/" + name
	case attr == "DomainName" && r.typ == typeBucket:
		return name + ".s3.amazonaws.com"
	}
	return name
}

func (p *parser) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + p.opts.Region + ":" + p.opts.AccountID + ":" + resource
}

// sub evaluates Fn::Sub: "${Name}", "${Resource.Attr}", "${!Literal}",
// with the optional variable map of the list form.
func (p *parser) sub(arg any, depth int) string {
	var s string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		s = a
	case []any:
		if len(a) > 0 {
			s, _ = a[0].(string)
		}
		if len(a) > 1 {
			vars, _ = a[1].(map[string]any)
		}
	default:
		return ""
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			b.WriteString("${")
			b.WriteString(s)
			return b.String()
		}
		name := s[:j]
		s = s[j+1:]
		switch {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case vars[name] != nil:
			b.WriteString(p.resolve(vars[name], depth+1))
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			id, attr, _ := strings.Cut(name, ".")
			b.WriteString(p.getAtt(id, attr, depth+1))
		default:
			b.WriteString(p.ref(name, depth+1))
		}
	}
}

// nameAt is a resource's physical name: its name property when the
// template sets one, else the logical ID (lower case for buckets, whose
// names must be).
func (p *parser) nameAt(id string, depth int) string {
	r := p.resources[id]
	prop := map[string]string{
		typeFunction: "FunctionName", typeSAMFunction: "FunctionName", typeBucket: "BucketName",
		typeTopic: "TopicName", "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
		"AWS::IAM::Role": "RoleName",
	}[r.typ]
	if prop != "" && depth <= maxResolve {
		if v := p.resolve(r.props[prop], depth+1); v != "" {
			return v
		}
	}
	if r.typ == typeBucket {
		return strings.ToLower(id)
	}
	return id
}

func (p *parser) physicalName(id string) string { return p.nameAt(id, 0) }
func (p *parser) functionName(id string) string { return p.nameAt(id, 0) }

// refTarget is the logical ID a value points at: {"Ref": id},
// {"Fn::GetAtt": [id, attr]}, a "${id}" or "${id.Attr}" Fn::Sub, or a
// plain string equal to a resource's name or ARN.
func (p *parser) refTarget(v any) string {
	switch x := v.(type) {
	case string:
		for _, id := range p.ids {
			if x == id || x == p.physicalName(id) || x == p.ref(id, 0) || x == p.getAtt(id, "Arn", 0) {
				return id
			}
		}
		return ""
	case map[string]any:
		if len(x) != 1 {
			return ""
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				s, _ := arg.(string)
				if _, ok := p.resources[s]; ok {
					return s
				}
			case "Fn::GetAtt":
				id, _ := getAttArgs(arg, p, 0)
				if _, ok := p.resources[id]; ok {
					return id
				}
			case "Fn::Sub":
				if s, ok := arg.(string); ok && strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
					id, _, _ := strings.Cut(s[2:len(s)-1], ".")
					if _, ok := p.resources[id]; ok {
						return id
					}
				}
			}
		}
	}
	return ""
}

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/store"
)

// Account settings X-Ray keeps and reports: resource tags, the encryption
// configuration, the trace segment destination, indexing rules and
// resource policies. Each is a small JSON value in the store's metadata
// (keys "tags/<ARN>", "config/encryption", "config/destination",
// "indexing-rule/<name>", "resource-policy/<name>"). Counterspy keeps its
// data on local disk whatever they say: they are stored and reported so
// that infrastructure code (Terraform, the CDK) that sets them works.

func (a *API) addConfigOps(h map[string]func(context.Context, []byte) (any, error)) {
	h["TagResource"] = a.tagResource
	h["UntagResource"] = a.untagResource
	h["ListTagsForResource"] = a.listTagsForResource
	h["GetEncryptionConfig"] = a.getEncryptionConfig
	h["PutEncryptionConfig"] = a.putEncryptionConfig
	h["GetTraceSegmentDestination"] = a.getTraceSegmentDestination
	h["UpdateTraceSegmentDestination"] = a.updateTraceSegmentDestination
	h["GetIndexingRules"] = a.getIndexingRules
	h["UpdateIndexingRule"] = a.updateIndexingRule
	h["PutResourcePolicy"] = a.putResourcePolicy
	h["ListResourcePolicies"] = a.listResourcePolicies
	h["DeleteResourcePolicy"] = a.deleteResourcePolicy
}

// getJSON reads a metadata value into v; false if there is none.
func (a *API) getJSON(ctx context.Context, key string, v any) (bool, error) {
	b, ok, err := a.meta.GetMeta(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("stored %s: %w", key, err)
	}
	return true, nil
}

func (a *API) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := a.meta.PutMeta(ctx, key, b); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// --- tags

type tag struct {
	Key   string
	Value string
}

// maxTagsPerResource is X-Ray's limit ("Maximum tags per resource: 50").
const maxTagsPerResource = 50

func checkTags(in []tagInput) ([]tag, error) {
	out := make([]tag, 0, len(in))
	for _, t := range in {
		if t.Key == nil || t.Value == nil {
			return nil, invalid("Tags: every tag needs a Key and a Value")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return nil, invalid("Tag key %q: the aws: prefix is reserved for AWS", *t.Key)
		}
		out = append(out, tag{*t.Key, *t.Value})
	}
	if len(out) > maxTagsPerResource {
		return nil, &Error{Status: 400, Code: "TooManyTagsException", Message: fmt.Sprintf("at most %d tags per resource", maxTagsPerResource)}
	}
	return out, nil
}

func tagsKey(arn string) string { return "tags/" + arn }

func (a *API) loadTags(ctx context.Context, arn string) ([]tag, error) {
	var tags []tag
	if _, err := a.getJSON(ctx, tagsKey(arn), &tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// putTags merges tags into a resource's (a key given again takes the new
// value).
func (a *API) putTags(ctx context.Context, arn string, add []tag) error {
	cur, err := a.loadTags(ctx, arn)
	if err != nil {
		return err
	}
	for _, t := range add {
		if i := slices.IndexFunc(cur, func(c tag) bool { return c.Key == t.Key }); i >= 0 {
			cur[i] = t
		} else {
			cur = append(cur, t)
		}
	}
	if len(cur) > maxTagsPerResource {
		return &Error{Status: 400, Code: "TooManyTagsException", ResourceName: arn,
			Message: fmt.Sprintf("%s would have %d tags; at most %d are allowed", arn, len(cur), maxTagsPerResource)}
	}
	sort.Slice(cur, func(i, j int) bool { return cur[i].Key < cur[j].Key })
	return a.putJSON(ctx, tagsKey(arn), cur)
}

func (a *API) deleteTags(ctx context.Context, arn string) error {
	if err := a.meta.DeleteMeta(ctx, tagsKey(arn)); err != nil {
		return fmt.Errorf("delete tags of %s: %w", arn, err)
	}
	return nil
}

// taggable checks that arn names a group or a sampling rule.
func (a *API) taggable(arn string) error {
	notFound := &Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", ResourceName: arn,
		Message: fmt.Sprintf("Resource %s not found: tags go on groups and sampling rules", arn)}
	switch {
	case strings.Contains(arn, ":group/"):
		if _, err := a.lookupGroup(nil, &arn); err != nil {
			return notFound
		}
	case strings.Contains(arn, ":sampling-rule/"):
		if r, ok := a.rules.Get(arn); !ok || r.ARN != arn {
			return notFound
		}
	default:
		return notFound
	}
	return nil
}

func (a *API) tagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string
		Tags        []tagInput
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := a.taggable(in.ResourceARN); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	a.tagsMu.Lock()
	defer a.tagsMu.Unlock()
	return struct{}{}, a.putTags(ctx, in.ResourceARN, tags)
}

func (a *API) untagResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string
		TagKeys     []string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := a.taggable(in.ResourceARN); err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalid("Tag key %q: the aws: prefix is reserved for AWS", k)
		}
	}
	a.tagsMu.Lock()
	defer a.tagsMu.Unlock()
	cur, err := a.loadTags(ctx, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	cur = slices.DeleteFunc(cur, func(t tag) bool { return slices.Contains(in.TagKeys, t.Key) })
	return struct{}{}, a.putJSON(ctx, tagsKey(in.ResourceARN), cur)
}

func (a *API) listTagsForResource(ctx context.Context, body []byte) (any, error) {
	var in struct {
		ResourceARN string
		NextToken   *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if err := a.taggable(in.ResourceARN); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken %q is not a token from ListTagsForResource: tags fit in one page", *in.NextToken)
	}
	tags, err := a.loadTags(ctx, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []tag{}
	}
	return struct{ Tags []tag }{tags}, nil
}

// --- encryption

type encryptionConfig struct {
	KeyId  string `json:",omitempty"`
	Status string
	Type   string
}

func (a *API) encryption(ctx context.Context) (encryptionConfig, error) {
	ec := encryptionConfig{Type: "NONE"}
	if _, err := a.getJSON(ctx, "config/encryption", &ec); err != nil {
		return ec, err
	}
	// Nothing is re-encrypted here, so a change is in force at once
	// (X-Ray reports UPDATING while it re-encrypts).
	ec.Status = "ACTIVE"
	return ec, nil
}

func (a *API) getEncryptionConfig(ctx context.Context, body []byte) (any, error) {
	ec, err := a.encryption(ctx)
	if err != nil {
		return nil, err
	}
	return struct{ EncryptionConfig encryptionConfig }{ec}, nil
}

func (a *API) putEncryptionConfig(ctx context.Context, body []byte) (any, error) {
	var in struct {
		KeyId *string
		Type  string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	ec := encryptionConfig{Type: in.Type, Status: "ACTIVE"}
	switch {
	case in.Type == "KMS" && (in.KeyId == nil || *in.KeyId == ""):
		return nil, invalid("KeyId is required when Type is KMS")
	case in.Type == "NONE" && in.KeyId != nil:
		return nil, invalid("KeyId must be omitted when Type is NONE")
	case in.Type == "KMS":
		ec.KeyId = *in.KeyId
	}
	if err := a.putJSON(ctx, "config/encryption", ec); err != nil {
		return nil, err
	}
	return struct{ EncryptionConfig encryptionConfig }{ec}, nil
}

// --- trace segment destination

type destinationOutput struct {
	Destination string
	Status      string
}

func (a *API) destination(ctx context.Context) (destinationOutput, error) {
	d := destinationOutput{Destination: "XRay"}
	_, err := a.getJSON(ctx, "config/destination", &d)
	d.Status = "ACTIVE"
	return d, err
}

func (a *API) getTraceSegmentDestination(ctx context.Context, body []byte) (any, error) {
	return a.destination(ctx)
}

func (a *API) updateTraceSegmentDestination(ctx context.Context, body []byte) (any, error) {
	var in struct{ Destination *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	d, err := a.destination(ctx)
	if err != nil {
		return nil, err
	}
	if in.Destination != nil {
		d.Destination = *in.Destination
		if err := a.putJSON(ctx, "config/destination", d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// --- indexing rules

// defaultIndexingPercentage is X-Ray's default for the Default indexing
// rule (Transaction Search indexes 1 % of spans as trace summaries unless
// told otherwise).
const defaultIndexingPercentage = 1

type indexingRule struct {
	Name string
	// ModifiedAt is absent until the rule is first updated.
	ModifiedAt *Timestamp `json:",omitempty"`
	Rule       struct {
		Probabilistic struct {
			DesiredSamplingPercentage float64
			// ActualSamplingPercentage is 100: Counterspy indexes every
			// stored segment, whatever is desired.
			ActualSamplingPercentage float64
		}
	}
}

func (a *API) indexingRule(ctx context.Context) (indexingRule, error) {
	var r indexingRule
	r.Name = "Default"
	r.Rule.Probabilistic.DesiredSamplingPercentage = defaultIndexingPercentage
	_, err := a.getJSON(ctx, "indexing-rule/Default", &r)
	r.Rule.Probabilistic.ActualSamplingPercentage = 100
	return r, err
}

func (a *API) getIndexingRules(ctx context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	r, err := a.indexingRule(ctx)
	if err != nil {
		return nil, err
	}
	return struct{ IndexingRules []indexingRule }{[]indexingRule{r}}, nil
}

func (a *API) updateIndexingRule(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Name string
		Rule struct {
			Probabilistic *struct{ DesiredSamplingPercentage *float64 }
		}
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.Name != "Default" {
		return nil, &Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", ResourceName: in.Name,
			Message: fmt.Sprintf("Indexing rule %q not found: the only indexing rule is Default", in.Name)}
	}
	p := in.Rule.Probabilistic
	if p == nil || p.DesiredSamplingPercentage == nil {
		return nil, invalid("Rule.Probabilistic.DesiredSamplingPercentage is required")
	}
	if *p.DesiredSamplingPercentage < 0 || *p.DesiredSamplingPercentage > 100 {
		return nil, invalid("DesiredSamplingPercentage %v: want 0 to 100", *p.DesiredSamplingPercentage)
	}
	r, err := a.indexingRule(ctx)
	if err != nil {
		return nil, err
	}
	r.Rule.Probabilistic.DesiredSamplingPercentage = *p.DesiredSamplingPercentage
	r.ModifiedAt = &Timestamp{a.opts.Now().UTC()}
	if err := a.putJSON(ctx, "indexing-rule/Default", r); err != nil {
		return nil, err
	}
	return struct{ IndexingRule indexingRule }{r}, nil
}

// --- resource policies

// X-Ray's resource policy quotas.
const (
	maxPolicies     = 5
	maxPolicyBytes  = 5120
	policyKeyPrefix = "resource-policy/"
)

type resourcePolicy struct {
	PolicyName       string
	PolicyDocument   string
	PolicyRevisionId string
	LastUpdatedTime  Timestamp
}

func policyError(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (a *API) policies(ctx context.Context) ([]resourcePolicy, error) {
	var out []resourcePolicy
	for e, err := range a.meta.ListMeta(ctx, policyKeyPrefix) {
		if err != nil {
			return nil, fmt.Errorf("list resource policies: %w", err)
		}
		var p resourcePolicy
		if err := json.Unmarshal(e.Value, &p); err != nil {
			return nil, fmt.Errorf("stored %s: %w", e.Key, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPolicy parses an IAM policy document: JSON with a Statement of
// Effect Allow or Deny. It reports whether the policy denies
// xray:PutResourcePolicy (a lockout).
func checkPolicy(doc string) (lockout bool, err error) {
	var p struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, policyError("MalformedPolicyDocumentException", "Policy document is not JSON: %v", err)
	}
	var stmts []map[string]any
	if err := json.Unmarshal(p.Statement, &stmts); err != nil {
		var one map[string]any
		if err2 := json.Unmarshal(p.Statement, &one); err2 != nil || one == nil {
			return false, policyError("MalformedPolicyDocumentException", "Policy document needs a Statement")
		}
		stmts = []map[string]any{one}
	}
	if len(stmts) == 0 {
		return false, policyError("MalformedPolicyDocumentException", "Policy document needs a Statement")
	}
	for i, s := range stmts {
		eff, _ := s["Effect"].(string)
		if eff != "Allow" && eff != "Deny" {
			return false, policyError("MalformedPolicyDocumentException", "Statement %d: Effect must be Allow or Deny", i)
		}
		if s["Action"] == nil {
			return false, policyError("MalformedPolicyDocumentException", "Statement %d: Action is required", i)
		}
		if eff == "Deny" {
			for _, act := range stringsOf(s["Action"]) {
				if act == "*" || strings.EqualFold(act, "xray:*") || strings.EqualFold(act, "xray:PutResourcePolicy") {
					lockout = true
				}
			}
		}
	}
	return lockout, nil
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (a *API) putResourcePolicy(ctx context.Context, body []byte) (any, error) {
	var in struct {
		PolicyName               string
		PolicyDocument           string
		PolicyRevisionId         *string
		BypassPolicyLockoutCheck bool
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if len(in.PolicyDocument) > maxPolicyBytes {
		return nil, policyError("PolicySizeLimitExceededException", "Policy document is %d bytes; at most %d", len(in.PolicyDocument), maxPolicyBytes)
	}
	lockout, err := checkPolicy(in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	if lockout && !in.BypassPolicyLockoutCheck {
		return nil, policyError("LockoutPreventionException", "The policy would deny xray:PutResourcePolicy; set BypassPolicyLockoutCheck to put it anyway")
	}
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	var cur resourcePolicy
	exists, err := a.getJSON(ctx, policyKeyPrefix+in.PolicyName, &cur)
	if err != nil {
		return nil, err
	}
	if in.PolicyRevisionId != nil && (!exists || *in.PolicyRevisionId != cur.PolicyRevisionId) {
		return nil, policyError("InvalidPolicyRevisionIdException", "PolicyRevisionId %q does not match the current revision of %q", *in.PolicyRevisionId, in.PolicyName)
	}
	if !exists {
		all, err := a.policies(ctx)
		if err != nil {
			return nil, err
		}
		if len(all) >= maxPolicies {
			return nil, policyError("PolicyCountLimitExceededException", "At most %d resource policies", maxPolicies)
		}
	}
	p := resourcePolicy{PolicyName: in.PolicyName, PolicyDocument: in.PolicyDocument,
		PolicyRevisionId: strings.ReplaceAll(uuid.NewString(), "-", ""), LastUpdatedTime: Timestamp{a.opts.Now().UTC()}}
	if err := a.putJSON(ctx, policyKeyPrefix+p.PolicyName, p); err != nil {
		return nil, err
	}
	return struct{ ResourcePolicy resourcePolicy }{p}, nil
}

func (a *API) listResourcePolicies(ctx context.Context, body []byte) (any, error) {
	var in struct{ NextToken *string }
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	if in.NextToken != nil && *in.NextToken != "" {
		return nil, invalid("NextToken %q is not a token from ListResourcePolicies: policies fit in one page", *in.NextToken)
	}
	ps, err := a.policies(ctx)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []resourcePolicy{}
	}
	return struct{ ResourcePolicies []resourcePolicy }{ps}, nil
}

func (a *API) deleteResourcePolicy(ctx context.Context, body []byte) (any, error) {
	var in struct {
		PolicyName       string
		PolicyRevisionId *string
	}
	if err := decodeInput(body, &in); err != nil {
		return nil, err
	}
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	var cur resourcePolicy
	exists, err := a.getJSON(ctx, policyKeyPrefix+in.PolicyName, &cur)
	if err != nil {
		return nil, err
	}
	if in.PolicyRevisionId != nil && (!exists || *in.PolicyRevisionId != cur.PolicyRevisionId) {
		return nil, policyError("InvalidPolicyRevisionIdException", "PolicyRevisionId %q does not match the current revision of %q", *in.PolicyRevisionId, in.PolicyName)
	}
	if err := a.meta.DeleteMeta(ctx, policyKeyPrefix+in.PolicyName); err != nil {
		return nil, fmt.Errorf("delete resource policy %q: %w", in.PolicyName, err)
	}
	return struct{}{}, nil
}

// --- an in-memory MetaStore, for an API built without a store's

type memMeta struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memMeta) GetMeta(ctx context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return slices.Clone(v), ok, nil
}

func (m *memMeta) PutMeta(ctx context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[key] = slices.Clone(value)
	return nil
}

func (m *memMeta) DeleteMeta(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

func (m *memMeta) ListMeta(ctx context.Context, prefix string) iter.Seq2[store.MetaEntry, error] {
	m.mu.Lock()
	var out []store.MetaEntry
	for k, v := range m.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.MetaEntry{Key: k, Value: slices.Clone(v)})
		}
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return func(yield func(store.MetaEntry, error) bool) {
		for _, e := range out {
			if !yield(e, nil) {
				return
			}
		}
	}
}

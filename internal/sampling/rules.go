// Package sampling is X-Ray's centralized sampling: the rules (persisted in
// the store's metadata, key "sampling-rule/<name>"), their matching order
// and semantics, the reservoir of each rule shared out among the SDK
// clients that report statistics (GetSamplingTargets), and the statistics
// aggregated per 10-second window (GetSamplingStatisticSummaries).
//
// How X-Ray does it (AWS X-Ray developer guide, "Configuring sampling
// rules"; the X-Ray SDKs' centralized strategies): an SDK fetches the rules,
// matches each request against them in priority order (then name), and
// samples the first ReservoirSize matching requests each second, then
// FixedRate of the rest. With several instances the service gives each one
// a ReservoirQuota (valid until ReservoirQuotaTTL) so that together they
// sample ReservoirSize per second; instances report every Interval (10 s)
// what they saw and sampled.
package sampling

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

// DefaultName is the rule every request matches last.
const DefaultName = "Default"

// DefaultPriority orders Default after every rule (whose priorities are
// 1 to 9999).
const DefaultPriority = 10000

const metaPrefix = "sampling-rule/"

// MaxRules is X-Ray's quota of sampling rules per Region and account,
// Default excluded.
const MaxRules = 25

// Interval is how often SDKs report statistics and fetch targets.
const Interval = 10 * time.Second

// Rule is one sampling rule (X-Ray's SamplingRule) with its record times.
type Rule struct {
	Name, ARN     string
	ResourceARN   string
	Priority      int
	FixedRate     float64
	ReservoirSize int
	ServiceName   string
	ServiceType   string
	Host          string
	HTTPMethod    string
	URLPath       string
	Version       int
	Attributes    map[string]string
	// Boost is X-Ray's SamplingRateBoost (stored and reported).
	Boost      *Boost `json:",omitempty"`
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Boost is a rule's adaptive sampling boost.
type Boost struct {
	MaxRate               float64
	CooldownWindowMinutes int
}

// Error is a refused request.
type Error struct {
	// Limit is set when the rule quota is reached
	// (RuleLimitExceededException).
	Limit bool
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

func invalid(format string, args ...any) *Error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Options configures Rules.
type Options struct {
	Region, AccountID string
	// DefaultRate and DefaultReservoir make the Default rule until it is
	// updated. Defaults 1.0 and 1.
	DefaultRate      float64
	DefaultReservoir int
	Now              func() time.Time
	Logger           *slog.Logger
}

// Rules is the set of rules, their reservoirs and statistics.
type Rules struct {
	meta store.MetaStore
	opts Options

	mu      sync.Mutex
	rules   map[string]*Rule
	lastMod time.Time
	res     map[string]*reservoir // by rule name
	stats   map[string]*windowStats
	// boosts are the boosts in force and boostStart when each rule's
	// last one started.
	boosts     map[string]*ActiveBoost
	boostStart map[string]time.Time
}

// Open loads the stored rules.
func Open(ctx context.Context, meta store.MetaStore, opts Options) (*Rules, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.DefaultRate <= 0 || opts.DefaultRate > 1 {
		opts.DefaultRate = 1
	}
	if opts.DefaultReservoir <= 0 {
		opts.DefaultReservoir = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Rules{meta: meta, opts: opts, rules: map[string]*Rule{}, res: map[string]*reservoir{}, stats: map[string]*windowStats{},
		boosts: map[string]*ActiveBoost{}, boostStart: map[string]time.Time{}}
	epoch := time.Unix(0, 0).UTC()
	r.rules[DefaultName] = &Rule{Name: DefaultName, ARN: r.arn(DefaultName), ResourceARN: "*", Priority: DefaultPriority,
		FixedRate: opts.DefaultRate, ReservoirSize: opts.DefaultReservoir, ServiceName: "*", ServiceType: "*", Host: "*",
		HTTPMethod: "*", URLPath: "*", Version: 1, Attributes: map[string]string{}, CreatedAt: epoch, ModifiedAt: epoch}
	for e, err := range meta.ListMeta(ctx, metaPrefix) {
		if err != nil {
			return nil, fmt.Errorf("sampling: list stored rules: %w", err)
		}
		var rec record
		if err := json.Unmarshal(e.Value, &rec); err != nil || rec.V != 1 || rec.Rule.Name == "" {
			return nil, fmt.Errorf("sampling: stored rule %q is not a version 1 rule record (err %v)", e.Key, err)
		}
		rule := rec.Rule
		if rule.Attributes == nil {
			rule.Attributes = map[string]string{}
		}
		r.rules[rule.Name] = &rule
		r.lastMod = maxTime(r.lastMod, rule.ModifiedAt)
	}
	return r, nil
}

type record struct {
	V    int  `json:"v"`
	Rule Rule `json:"rule"`
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *Rules) arn(name string) string {
	return "arn:aws:xray:" + r.opts.Region + ":" + r.opts.AccountID + ":sampling-rule/" + name
}

// List returns every rule in matching order: priority, then name.
func (r *Rules) List() []Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listLocked()
}

func (r *Rules) listLocked() []Rule {
	out := make([]Rule, 0, len(r.rules))
	for _, rule := range r.rules {
		c := *rule
		c.Attributes = cloneMap(rule.Attributes)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Rule) int {
		if a.Priority != b.Priority {
			return a.Priority - b.Priority
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// LastModification is when a rule last changed (X-Ray's
// LastRuleModification: SDKs fetch the rules again when it moves).
func (r *Rules) LastModification() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastMod
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Get finds a rule by name or ARN.
func (r *Rules) Get(nameOrARN string) (Rule, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rule := r.findLocked(nameOrARN)
	if rule == nil {
		return Rule{}, false
	}
	c := *rule
	c.Attributes = cloneMap(rule.Attributes)
	return c, true
}

func (r *Rules) findLocked(nameOrARN string) *Rule {
	if rule, ok := r.rules[nameOrARN]; ok {
		return rule
	}
	if name, ok := strings.CutPrefix(nameOrARN, r.arn("")); ok {
		return r.rules[name]
	}
	return nil
}

// Create adds a rule. X-Ray's rules: Version 1, Priority 1 to 9999, a
// name not taken, at most MaxRules rules besides Default.
func (r *Rules) Create(ctx context.Context, rule Rule) (Rule, error) {
	if rule.Name == "" {
		return Rule{}, invalid("RuleName is required")
	}
	if rule.Version != 1 {
		return Rule{}, invalid("Version %d is not supported: the sampling rule format is version 1", rule.Version)
	}
	if rule.Priority < 1 || rule.Priority > 9999 {
		return Rule{}, invalid("Priority %d: want 1 to 9999", rule.Priority)
	}
	if err := check(&rule); err != nil {
		return Rule{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.rules[rule.Name]; ok {
		return Rule{}, invalid("Sampling rule %q already exists", rule.Name)
	}
	if len(r.rules)-1 >= MaxRules {
		return Rule{}, &Error{Limit: true, Msg: fmt.Sprintf("Cannot create sampling rule %q: at most %d rules besides Default", rule.Name, MaxRules)}
	}
	now := r.opts.Now().UTC()
	rule.ARN, rule.CreatedAt, rule.ModifiedAt = r.arn(rule.Name), now, now
	if rule.Attributes == nil {
		rule.Attributes = map[string]string{}
	}
	if err := r.put(ctx, &rule); err != nil {
		return Rule{}, err
	}
	r.rules[rule.Name] = &rule
	r.lastMod = now
	return rule, nil
}

func check(rule *Rule) error {
	switch {
	case rule.FixedRate < 0 || rule.FixedRate > 1:
		return invalid("FixedRate %v: want 0 to 1", rule.FixedRate)
	case rule.ReservoirSize < 0:
		return invalid("ReservoirSize %d: want 0 or more", rule.ReservoirSize)
	case len(rule.Attributes) > 5:
		return invalid("Attributes: at most 5")
	}
	for _, p := range []string{rule.ServiceName, rule.ServiceType, rule.Host, rule.HTTPMethod, rule.URLPath, rule.ResourceARN} {
		if p == "" {
			return invalid("ServiceName, ServiceType, Host, HTTPMethod, URLPath and ResourceARN are required (use \"*\" to match anything)")
		}
	}
	return nil
}

// Update is a change to a rule; nil members stay.
type Update struct {
	ResourceARN, ServiceName, ServiceType, Host, HTTPMethod, URLPath *string
	Priority, ReservoirSize                                          *int
	FixedRate                                                        *float64
	Attributes                                                       map[string]string
	Boost                                                            *Boost
}

// Update changes a rule. Default keeps matching everything: only its
// FixedRate and ReservoirSize change (X-Ray: "you can't change the
// default rule's matching criteria").
func (r *Rules) Update(ctx context.Context, nameOrARN string, u Update) (Rule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.findLocked(nameOrARN)
	if old == nil {
		return Rule{}, invalid("Sampling rule %q does not exist", nameOrARN)
	}
	rule := *old
	rule.Attributes = cloneMap(old.Attributes)
	if rule.Name == DefaultName && (u.ResourceARN != nil || u.ServiceName != nil || u.ServiceType != nil || u.Host != nil ||
		u.HTTPMethod != nil || u.URLPath != nil || u.Priority != nil || u.Attributes != nil) {
		return Rule{}, invalid("The Default rule's matching criteria cannot change: only FixedRate and ReservoirSize")
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&rule.ResourceARN, u.ResourceARN)
	set(&rule.ServiceName, u.ServiceName)
	set(&rule.ServiceType, u.ServiceType)
	set(&rule.Host, u.Host)
	set(&rule.HTTPMethod, u.HTTPMethod)
	set(&rule.URLPath, u.URLPath)
	if u.Priority != nil {
		if *u.Priority < 1 || *u.Priority > 9999 {
			return Rule{}, invalid("Priority %d: want 1 to 9999", *u.Priority)
		}
		rule.Priority = *u.Priority
	}
	if u.ReservoirSize != nil {
		rule.ReservoirSize = *u.ReservoirSize
	}
	if u.FixedRate != nil {
		rule.FixedRate = *u.FixedRate
	}
	if u.Attributes != nil {
		rule.Attributes = cloneMap(u.Attributes)
	}
	if u.Boost != nil {
		b := *u.Boost
		rule.Boost = &b
	}
	if err := check(&rule); err != nil {
		return Rule{}, err
	}
	rule.ModifiedAt = r.opts.Now().UTC()
	if err := r.put(ctx, &rule); err != nil {
		return Rule{}, err
	}
	r.rules[rule.Name] = &rule
	r.lastMod = rule.ModifiedAt
	return rule, nil
}

// Delete removes a rule (not Default) and returns it.
func (r *Rules) Delete(ctx context.Context, nameOrARN string) (Rule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rule := r.findLocked(nameOrARN)
	if rule == nil {
		return Rule{}, invalid("Sampling rule %q does not exist", nameOrARN)
	}
	if rule.Name == DefaultName {
		return Rule{}, invalid("The Default sampling rule cannot be deleted")
	}
	if err := r.meta.DeleteMeta(ctx, metaPrefix+rule.Name); err != nil {
		return Rule{}, fmt.Errorf("sampling: delete rule %q: %w", rule.Name, err)
	}
	delete(r.rules, rule.Name)
	delete(r.res, rule.Name)
	delete(r.stats, rule.Name)
	delete(r.boosts, rule.Name)
	delete(r.boostStart, rule.Name)
	r.lastMod = r.opts.Now().UTC()
	return *rule, nil
}

func (r *Rules) put(ctx context.Context, rule *Rule) error {
	b, err := json.Marshal(record{V: 1, Rule: *rule})
	if err != nil {
		return fmt.Errorf("sampling: encode rule %q: %w", rule.Name, err)
	}
	if err := r.meta.PutMeta(ctx, metaPrefix+rule.Name, b); err != nil {
		return fmt.Errorf("sampling: store rule %q: %w", rule.Name, err)
	}
	return nil
}

// Request is what an SDK matches a request on.
type Request struct {
	ServiceName, ServiceType, Host, HTTPMethod, URLPath, ResourceARN string
	Attributes                                                       map[string]string
}

// Match returns the first rule (in priority, then name order) that
// matches req, as the SDKs match: each criterion a glob (* any run, ? one
// character, case-insensitive as the SDKs compare), every attribute of
// the rule present in the request and matching. Default matches anything.
func (r *Rules) Match(req Request) Rule {
	for _, rule := range r.List() {
		if rule.Matches(req) {
			return rule
		}
	}
	rule, _ := r.Get(DefaultName)
	return rule
}

// Matches reports whether req matches the rule's criteria.
func (rule *Rule) Matches(req Request) bool {
	if !Glob(rule.ServiceName, req.ServiceName) || !Glob(rule.ServiceType, req.ServiceType) ||
		!Glob(rule.Host, req.Host) || !Glob(rule.HTTPMethod, req.HTTPMethod) ||
		!Glob(rule.URLPath, req.URLPath) || !Glob(rule.ResourceARN, req.ResourceARN) {
		return false
	}
	for k, pat := range rule.Attributes {
		v, ok := req.Attributes[k]
		if !ok || !Glob(pat, v) {
			return false
		}
	}
	return true
}

// Glob matches s against a pattern of * and ? (the SDKs' wildcard match),
// ignoring case. "*" matches everything, the empty string included.
func Glob(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	p := strings.ToLower(pattern)
	// path.Match treats [ and \ specially and * stops at '/': escape them
	// and match '/' explicitly by replacing it.
	var b strings.Builder
	for _, c := range p {
		switch c {
		case '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '/':
			b.WriteRune('\x00')
		default:
			b.WriteRune(c)
		}
	}
	ok, err := path.Match(b.String(), strings.ReplaceAll(strings.ToLower(s), "/", "\x00"))
	return err == nil && ok
}

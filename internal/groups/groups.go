// Package groups keeps X-Ray groups: named filter expressions that scope
// trace summaries (group.name in filters) and the service graph (the
// graph's counters are kept per group, see package graph).
//
// The Registry is backed by a store.MetaStore (one value per group, key
// "group/<name>"), loaded at start and cached; reads never touch the
// store. The implicit Default group matches every trace, has no filter,
// and cannot be created, renamed or deleted.
package groups

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/counterspy/counterspy/internal/filter"
	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/summary"
)

// DefaultName is the name of the implicit group of every trace.
const DefaultName = "Default"

// metaPrefix is the MetaStore key prefix of groups.
const metaPrefix = "group/"

// Limits (X-Ray's, where it documents them).
const (
	maxNameLen  = 32
	maxTags     = 200
	maxTagKey   = 128
	maxTagValue = 256
)

// Insights is a group's InsightsConfiguration. Counterspy stores and echoes
// it; it computes no insights.
type Insights struct {
	InsightsEnabled, NotificationsEnabled bool
}

// Tag is a resource tag given at creation.
type Tag struct {
	Key, Value string
}

// Group is one group.
type Group struct {
	Name string
	ARN  string
	// ID is the unique part of the ARN; "" for Default. A group's
	// service-graph counters are kept under its ID, so a group deleted and
	// created again under the same name starts from nothing.
	ID               string
	FilterExpression string
	Insights         Insights
	Tags             []Tag
	// Versions are the times the filter expression was set: at creation,
	// then at every change. (Default has none.)
	Versions []time.Time
}

// ChangedWithin reports whether the filter expression changed (after the
// group's creation) in [from, to): a graph of that window mixes counts made
// with several versions (X-Ray's ContainsOldGroupVersions).
func (g *Group) ChangedWithin(from, to time.Time) bool {
	for i, v := range g.Versions {
		if i > 0 && !v.Before(from) && v.Before(to) {
			return true
		}
	}
	return false
}

func (g *Group) clone() Group {
	c := *g
	c.Tags = slices.Clone(g.Tags)
	c.Versions = slices.Clone(g.Versions)
	return c
}

// Code classifies a registry error.
type Code uint8

const (
	// Invalid is a request that breaks a rule (name, expression, limits).
	Invalid Code = iota
	// NotFound is a group that does not exist.
	NotFound
	// Exists is a name already taken.
	Exists
)

// Error is a request the registry refuses. The API reports every code as an
// InvalidRequestException with Msg, as X-Ray does for groups.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func invalid(format string, args ...any) *Error {
	return &Error{Code: Invalid, Msg: fmt.Sprintf(format, args...)}
}

// Options configures a Registry.
type Options struct {
	// Region and AccountID go into ARNs. Defaults us-east-1 and
	// 000000000000 (the API's defaults).
	Region, AccountID string
	// MaxGroups caps the groups besides Default. Every group's expression
	// is evaluated on every trace update at ingest. Default 100.
	MaxGroups int
	Now       func() time.Time
	Logger    *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Registry is the set of groups. Its methods are safe for concurrent use;
// reads (Get, List, Match, Resolve) take no lock.
type Registry struct {
	meta store.MetaStore
	opts Options
	mu   sync.Mutex // serializes changes
	cur  atomic.Pointer[state]
}

// state is an immutable snapshot of the groups.
type state struct {
	def    *Group
	byName map[string]*Group
	byARN  map[string]*Group
	sorted []*Group // non-Default groups by name
	match  []compiled
	// broken are the groups whose expression no longer parses (it refers
	// to a group that changed or went away): they match nothing.
	broken map[string]string
}

type compiled struct {
	id   string
	expr *filter.Expr
}

// Open loads the groups stored in meta.
func Open(ctx context.Context, meta store.MetaStore, opts Options) (*Registry, error) {
	opts.setDefaults()
	r := &Registry{meta: meta, opts: opts}
	def := &Group{Name: DefaultName, ARN: r.arn(DefaultName, "")}
	var groups []*Group
	for e, err := range meta.ListMeta(ctx, metaPrefix) {
		if err != nil {
			return nil, fmt.Errorf("groups: list stored groups: %w", err)
		}
		g, err := decodeRecord(e.Value)
		if err != nil {
			return nil, fmt.Errorf("groups: stored group %q: %w", e.Key, err)
		}
		if g.Name == DefaultName {
			def.Insights = g.Insights
			continue
		}
		groups = append(groups, g)
	}
	r.install(def, groups)
	return r, nil
}

func (r *Registry) arn(name, id string) string {
	a := "arn:aws:xray:" + r.opts.Region + ":" + r.opts.AccountID + ":group/" + name
	if id != "" {
		a += "/" + id
	}
	return a
}

// install makes a new snapshot current, compiling every expression (group
// references are expanded at parse time, so a change to one group can
// break or repair another).
func (r *Registry) install(def *Group, groups []*Group) *state {
	st := &state{def: def, byName: map[string]*Group{DefaultName: def}, byARN: map[string]*Group{def.ARN: def},
		broken: map[string]string{}}
	slices.SortFunc(groups, func(a, b *Group) int { return strings.Compare(a.Name, b.Name) })
	st.sorted = groups
	for _, g := range groups {
		st.byName[g.Name] = g
		st.byARN[g.ARN] = g
	}
	for _, g := range groups {
		e, err := filter.Parse(g.FilterExpression, filter.Options{Group: st.resolve})
		if err != nil {
			st.broken[g.Name] = err.Error()
			r.opts.Logger.Warn("group filter expression no longer valid; the group matches no new traces until it is fixed",
				"group", g.Name, "err", err)
			continue
		}
		st.match = append(st.match, compiled{id: g.ID, expr: e})
	}
	r.cur.Store(st)
	return st
}

func (st *state) find(nameOrARN string) (*Group, bool) {
	if g, ok := st.byName[nameOrARN]; ok {
		return g, true
	}
	g, ok := st.byARN[nameOrARN]
	return g, ok
}

func (st *state) resolve(nameOrARN string) (string, bool) {
	g, ok := st.find(nameOrARN)
	if !ok {
		return "", false
	}
	return g.FilterExpression, true
}

// Resolve returns the filter expression of the group with the given name
// or ARN ("" for Default), for group.name and group.arn in filters.
func (r *Registry) Resolve(nameOrARN string) (expression string, ok bool) {
	return r.cur.Load().resolve(nameOrARN)
}

// Get returns the group with the given name or ARN.
func (r *Registry) Get(nameOrARN string) (Group, error) {
	g, ok := r.cur.Load().find(nameOrARN)
	if !ok {
		return Group{}, notFound(nameOrARN)
	}
	return g.clone(), nil
}

func notFound(nameOrARN string) *Error {
	return &Error{Code: NotFound, Msg: fmt.Sprintf("Group not found: %q", nameOrARN)}
}

// List returns every group: Default first, then the others by name.
func (r *Registry) List() []Group {
	st := r.cur.Load()
	out := make([]Group, 0, 1+len(st.sorted))
	out = append(out, st.def.clone())
	for _, g := range st.sorted {
		out = append(out, g.clone())
	}
	return out
}

// Match returns the IDs (Group.ID) of the groups besides Default whose
// expression matches s: the groups whose service-graph counters s counts
// in. Nil when none does.
func (r *Registry) Match(s *summary.Summary) []string {
	var out []string
	for _, c := range r.cur.Load().match {
		if c.expr.Match(s) {
			out = append(out, c.id)
		}
	}
	return out
}

// Broken reports why a group's expression no longer parses ("" if it
// does).
func (r *Registry) Broken(name string) string { return r.cur.Load().broken[name] }

// CreateInput is a new group.
type CreateInput struct {
	Name             string
	FilterExpression string
	Insights         *Insights
	Tags             []Tag
}

// Create adds a group and stores it.
func (r *Registry) Create(ctx context.Context, in CreateInput) (Group, error) {
	if err := checkName(in.Name); err != nil {
		return Group{}, err
	}
	if err := checkTags(in.Tags); err != nil {
		return Group{}, err
	}
	ins := Insights{}
	if in.Insights != nil {
		ins = *in.Insights
	}
	if err := checkInsights(ins); err != nil {
		return Group{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.cur.Load()
	if _, ok := st.byName[in.Name]; ok {
		return Group{}, &Error{Code: Exists, Msg: fmt.Sprintf("Group %q already exists", in.Name)}
	}
	if len(st.sorted) >= r.opts.MaxGroups {
		return Group{}, invalid("Cannot create group %q: at most %d groups (besides Default) are allowed", in.Name, r.opts.MaxGroups)
	}
	if err := checkExpression(st, in.Name, in.FilterExpression); err != nil {
		return Group{}, err
	}
	id, err := newID()
	if err != nil {
		return Group{}, err
	}
	g := &Group{Name: in.Name, ID: id, ARN: r.arn(in.Name, id), FilterExpression: in.FilterExpression,
		Insights: ins, Tags: slices.Clone(in.Tags), Versions: []time.Time{r.opts.Now().UTC()}}
	if err := r.put(ctx, g); err != nil {
		return Group{}, err
	}
	r.install(st.def, append(slices.Clone(st.sorted), g))
	return g.clone(), nil
}

// UpdateInput changes a group; nil members stay as they are.
type UpdateInput struct {
	FilterExpression *string
	Insights         *Insights
}

// Update changes a group's expression or insights configuration. Counts
// made before an expression change stay as they were (X-Ray: "updating a
// filter only affects traces processed afterwards").
func (r *Registry) Update(ctx context.Context, nameOrARN string, in UpdateInput) (Group, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.cur.Load()
	old, ok := st.find(nameOrARN)
	if !ok {
		return Group{}, notFound(nameOrARN)
	}
	g := old.clone()
	if in.Insights != nil {
		if err := checkInsights(*in.Insights); err != nil {
			return Group{}, err
		}
		g.Insights = *in.Insights
	}
	if in.FilterExpression != nil && *in.FilterExpression != g.FilterExpression {
		if g.Name == DefaultName {
			return Group{}, invalid("The Default group's filter expression cannot be changed: it holds every trace")
		}
		if err := checkExpression(st, g.Name, *in.FilterExpression); err != nil {
			return Group{}, err
		}
		g.FilterExpression = *in.FilterExpression
		g.Versions = append(g.Versions, r.opts.Now().UTC())
	}
	if err := r.put(ctx, &g); err != nil {
		return Group{}, err
	}
	def, groups := st.def, slices.Clone(st.sorted)
	if g.Name == DefaultName {
		def = &g
	} else {
		groups[slices.Index(groups, old)] = &g
	}
	r.install(def, groups)
	return g.clone(), nil
}

// Delete removes a group. Its service-graph counters stay in the store
// (under its ID, which no new group reuses) until retention drops them.
func (r *Registry) Delete(ctx context.Context, nameOrARN string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.cur.Load()
	g, ok := st.find(nameOrARN)
	if !ok {
		return notFound(nameOrARN)
	}
	if g.Name == DefaultName {
		return invalid("The Default group cannot be deleted")
	}
	if err := r.meta.DeleteMeta(ctx, metaPrefix+g.Name); err != nil {
		return fmt.Errorf("groups: delete group %q: %w", g.Name, err)
	}
	r.install(st.def, slices.DeleteFunc(slices.Clone(st.sorted), func(x *Group) bool { return x == g }))
	return nil
}

func (r *Registry) put(ctx context.Context, g *Group) error {
	b, err := encodeRecord(g)
	if err != nil {
		return err
	}
	if err := r.meta.PutMeta(ctx, metaPrefix+g.Name, b); err != nil {
		return fmt.Errorf("groups: store group %q: %w", g.Name, err)
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return invalid("GroupName is required")
	case len(name) > maxNameLen:
		return invalid("GroupName %q is longer than %d characters", name, maxNameLen)
	case name == DefaultName:
		return invalid("GroupName %q is reserved", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return invalid("GroupName %q: only letters, digits and dashes are allowed", name)
		}
	}
	return nil
}

func checkTags(tags []Tag) error {
	if len(tags) > maxTags {
		return invalid("Too many tags: %d (at most %d)", len(tags), maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || len([]rune(t.Key)) > maxTagKey:
			return invalid("Tag key %q: want 1 to %d characters", t.Key, maxTagKey)
		case len([]rune(t.Value)) > maxTagValue:
			return invalid("Tag %q: value longer than %d characters", t.Key, maxTagValue)
		case seen[t.Key]:
			return invalid("Tag key %q given twice", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func checkInsights(in Insights) error {
	if in.NotificationsEnabled && !in.InsightsEnabled {
		return invalid("Notifications can only be enabled on a group with InsightsEnabled set to true")
	}
	return nil
}

// checkExpression parses a group's new expression as it would be compiled,
// with references to the group itself meaning the new expression, so that
// a loop of references through it is an error.
func checkExpression(st *state, name, expr string) error {
	resolve := func(ref string) (string, bool) {
		if g, ok := st.find(ref); ref == name || ok && g.Name == name {
			return expr, true
		}
		return st.resolve(ref)
	}
	if _, err := filter.Parse(expr, filter.Options{Group: resolve}); err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) {
			return invalid("Invalid filter expression for group %q: %s", name, fe.Error())
		}
		return invalid("Invalid filter expression for group %q: %v", name, err)
	}
	return nil
}

func newID() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("groups: random ID: %w", err)
	}
	return base32.StdEncoding.EncodeToString(b[:]), nil
}

// record is a group as stored (JSON). Version 1; a reader refuses newer
// versions rather than lose their fields on the next write.
type record struct {
	Version  int         `json:"v"`
	Name     string      `json:"name"`
	ID       string      `json:"id,omitempty"`
	ARN      string      `json:"arn"`
	Filter   string      `json:"filter,omitempty"`
	Insights Insights    `json:"insights"`
	Tags     []Tag       `json:"tags,omitempty"`
	Versions []time.Time `json:"versions,omitempty"`
}

const recordVersion = 1

func encodeRecord(g *Group) ([]byte, error) {
	b, err := json.Marshal(record{Version: recordVersion, Name: g.Name, ID: g.ID, ARN: g.ARN, Filter: g.FilterExpression,
		Insights: g.Insights, Tags: g.Tags, Versions: g.Versions})
	if err != nil {
		return nil, fmt.Errorf("groups: encode group %q: %w", g.Name, err)
	}
	return b, nil
}

func decodeRecord(b []byte) (*Group, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("not a group record: %w", err)
	}
	if rec.Version != recordVersion {
		return nil, fmt.Errorf("record version %d (this counterspy reads version %d)", rec.Version, recordVersion)
	}
	if rec.Name == "" || rec.Name != DefaultName && (rec.ID == "" || rec.ARN == "") {
		return nil, errors.New("record without name, ID or ARN")
	}
	return &Group{Name: rec.Name, ID: rec.ID, ARN: rec.ARN, FilterExpression: rec.Filter, Insights: rec.Insights,
		Tags: rec.Tags, Versions: rec.Versions}, nil
}

package groups

import (
	"context"
	"fmt"
	"reflect"
)

// Reload makes the cached groups what the store holds now. Several
// servers sharing one store (docs/scaling.md) each cache the groups; a
// change made through one is seen by the others when they reload. It
// reports whether anything changed.
func (r *Registry) Reload(ctx context.Context) (bool, error) {
	var insights Insights
	var groups []*Group
	for e, err := range r.meta.ListMeta(ctx, metaPrefix) {
		if err != nil {
			return false, fmt.Errorf("groups: list stored groups: %w", err)
		}
		g, err := decodeRecord(e.Value)
		if err != nil {
			return false, fmt.Errorf("groups: stored group %q: %w", e.Key, err)
		}
		if g.Name == DefaultName {
			insights = g.Insights
			continue
		}
		groups = append(groups, g)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.cur.Load()
	def := &Group{Name: DefaultName, ARN: r.arn(DefaultName, ""), Insights: insights}
	if reflect.DeepEqual(cur.def, def) && sameGroups(cur.sorted, groups) {
		return false, nil
	}
	r.install(def, groups)
	return true, nil
}

// sameGroups compares the stored groups with a snapshot's (sorted by name).
func sameGroups(sorted, loaded []*Group) bool {
	if len(sorted) != len(loaded) {
		return false
	}
	byName := make(map[string]*Group, len(loaded))
	for _, g := range loaded {
		byName[g.Name] = g
	}
	for _, g := range sorted {
		if !reflect.DeepEqual(g, byName[g.Name]) {
			return false
		}
	}
	return true
}

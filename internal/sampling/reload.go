package sampling

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// Reload makes the rules what the store holds now. Several servers sharing
// one store (docs/scaling.md) each cache the rules; a change made through
// one is seen by the others when they reload. Reservoirs and statistics
// stay per server. It reports whether anything changed; a change moves
// LastModification, so that SDKs fetch the rules again.
func (r *Rules) Reload(ctx context.Context) (bool, error) {
	stored := map[string]*Rule{}
	for e, err := range r.meta.ListMeta(ctx, metaPrefix) {
		if err != nil {
			return false, fmt.Errorf("sampling: list stored rules: %w", err)
		}
		var rec record
		if err := json.Unmarshal(e.Value, &rec); err != nil || rec.V != 1 || rec.Rule.Name == "" {
			return false, fmt.Errorf("sampling: stored rule %q is not a version 1 rule record (err %v)", e.Key, err)
		}
		rule := rec.Rule
		if rule.Attributes == nil {
			rule.Attributes = map[string]string{}
		}
		stored[rule.Name] = &rule
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The Default rule exists whether stored or not: the stored one (once
	// updated through any server), else the one this server started with.
	if _, ok := stored[DefaultName]; !ok {
		stored[DefaultName] = r.rules[DefaultName]
	}
	if len(stored) == len(r.rules) {
		same := true
		for name, rule := range stored {
			if !reflect.DeepEqual(rule, r.rules[name]) {
				same = false
				break
			}
		}
		if same {
			return false, nil
		}
	}
	r.rules = stored
	r.lastMod = maxTime(r.lastMod, r.opts.Now())
	for _, rule := range stored {
		r.lastMod = maxTime(r.lastMod, rule.ModifiedAt)
	}
	return true, nil
}

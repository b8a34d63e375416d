package groups_test

import (
	"context"
	"testing"

	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/store/memstore"
)

// Two registries over one store, as two servers sharing a database: a
// group created, changed or deleted through one is seen by the other once
// it reloads, and a reload with nothing new changes nothing.
func TestReloadSeesAnotherRegistrysChanges(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	a, err := groups.Open(ctx, st, groups.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := groups.Open(ctx, st, groups.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, groups.CreateInput{Name: "slow", FilterExpression: "responsetime > 2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get("slow"); err == nil {
		t.Fatal("b knows the group before reloading")
	}
	if changed, err := b.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload: %v, %v; want a change", changed, err)
	}
	g, err := b.Get("slow")
	if err != nil || g.FilterExpression != "responsetime > 2" {
		t.Fatalf("after Reload: %+v, %v", g, err)
	}
	if changed, err := b.Reload(ctx); err != nil || changed {
		t.Fatalf("second Reload: %v, %v; want no change", changed, err)
	}
	if err := a.Delete(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload after a delete: %v, %v", changed, err)
	}
	if _, err := b.Get("slow"); err == nil {
		t.Fatal("b still has the deleted group")
	}
}

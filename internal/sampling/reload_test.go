package sampling_test

import (
	"context"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/sampling"
	"github.com/counterspy/counterspy/internal/store/memstore"
)

// Two rule sets over one store, as two servers sharing a database: rules
// created, updated (Default included) or deleted through one are the
// other's after it reloads, which moves its LastModification; a reload
// with nothing new changes nothing.
func TestReloadSeesAnotherServersRules(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, err := sampling.Open(ctx, st, sampling.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sampling.Open(ctx, st, sampling.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(ctx); err != nil || changed {
		t.Fatalf("Reload with nothing stored: %v, %v; want no change", changed, err)
	}
	if _, err := a.Create(ctx, rule("orders", 5, "orders")); err != nil {
		t.Fatal(err)
	}
	rate := 0.5
	if _, err := a.Update(ctx, sampling.DefaultName, sampling.Update{FixedRate: &rate}); err != nil {
		t.Fatal(err)
	}
	before := b.LastModification()
	now = now.Add(time.Minute)
	if changed, err := b.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload: %v, %v; want a change", changed, err)
	}
	if r, ok := b.Get("orders"); !ok || r.ServiceName != "orders" {
		t.Fatalf("after Reload: %+v, %v", r, ok)
	}
	if d, _ := b.Get(sampling.DefaultName); d.FixedRate != 0.5 {
		t.Fatalf("Default's rate after Reload: %v, want 0.5", d.FixedRate)
	}
	if !b.LastModification().After(before) {
		t.Fatal("LastModification did not move: SDKs would keep the old rules")
	}
	if changed, err := b.Reload(ctx); err != nil || changed {
		t.Fatalf("second Reload: %v, %v; want no change", changed, err)
	}
	if _, err := a.Delete(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(ctx); err != nil || !changed {
		t.Fatalf("Reload after a delete: %v, %v", changed, err)
	}
	if _, ok := b.Get("orders"); ok {
		t.Fatal("b still has the deleted rule")
	}
	if _, ok := b.Get(sampling.DefaultName); !ok {
		t.Fatal("b lost the Default rule")
	}
}

package groups_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/graph/graphtest"
	"github.com/counterspy/counterspy/internal/groups"
	"github.com/counterspy/counterspy/internal/summary"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func open(t *testing.T, meta *graphtest.Store, clk *clock) *groups.Registry {
	t.Helper()
	r, err := groups.Open(context.Background(), meta, groups.Options{Region: "eu-west-1", AccountID: "123456789012",
		Now: clk.Now, Logger: quiet, MaxGroups: 5})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newMeta() *graphtest.Store { return graphtest.Wrap(nil) }

func code(err error) string {
	var ge *groups.Error
	if !errors.As(err, &ge) {
		return fmt.Sprintf("not a groups.Error: %v", err)
	}
	return []string{"Invalid", "NotFound", "Exists"}[ge.Code]
}

func TestCreateGetListUpdateDelete(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	meta := newMeta()
	r := open(t, meta, clk)

	if l := r.List(); len(l) != 1 || l[0].Name != "Default" || l[0].FilterExpression != "" ||
		l[0].ARN != "arn:aws:xray:eu-west-1:123456789012:group/Default" {
		t.Fatalf("fresh registry lists %+v", l)
	}
	g, err := r.Create(ctx, groups.CreateInput{Name: "python-faults", FilterExpression: `service("xraystarter-py") { fault }`,
		Insights: &groups.Insights{InsightsEnabled: true}, Tags: []groups.Tag{{Key: "team", Value: "py"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.ARN, "arn:aws:xray:eu-west-1:123456789012:group/python-faults/") || g.ID == "" ||
		!strings.HasSuffix(g.ARN, "/"+g.ID) || !g.Insights.InsightsEnabled || len(g.Versions) != 1 {
		t.Fatalf("created %+v", g)
	}
	if _, err := r.Create(ctx, groups.CreateInput{Name: "aaa"}); err != nil {
		t.Fatal(err)
	}
	names := func() string {
		var s []string
		for _, g := range r.List() {
			s = append(s, g.Name)
		}
		return strings.Join(s, ",")
	}
	if got := names(); got != "Default,aaa,python-faults" {
		t.Fatalf("List: %s", got)
	}
	for _, ref := range []string{"python-faults", g.ARN} {
		got, err := r.Get(ref)
		if err != nil || got.Name != "python-faults" || got.FilterExpression != g.FilterExpression {
			t.Fatalf("Get(%q) = %+v, %v", ref, got, err)
		}
		if expr, ok := r.Resolve(ref); !ok || expr != g.FilterExpression {
			t.Fatalf("Resolve(%q) = %q, %v", ref, expr, ok)
		}
	}
	if _, err := r.Get("Python-Faults"); code(err) != "NotFound" {
		t.Fatalf("names are case-sensitive: %v", err)
	}
	if expr, ok := r.Resolve("Default"); !ok || expr != "" {
		t.Fatalf("Resolve(Default) = %q, %v", expr, ok)
	}

	clk.Set(clk.Now().Add(time.Hour))
	newExpr := `service("xraystarter-py") { fault OR error }`
	u, err := r.Update(ctx, g.ARN, groups.UpdateInput{FilterExpression: &newExpr})
	if err != nil {
		t.Fatal(err)
	}
	if u.FilterExpression != newExpr || !u.Insights.InsightsEnabled || len(u.Versions) != 2 || u.ARN != g.ARN {
		t.Fatalf("updated %+v", u)
	}
	if !u.ChangedWithin(clk.Now().Add(-time.Minute), clk.Now().Add(time.Minute)) ||
		u.ChangedWithin(clk.Now().Add(time.Second), clk.Now().Add(time.Hour)) ||
		u.ChangedWithin(clk.Now().Add(-2*time.Hour), clk.Now().Add(-time.Minute)) {
		t.Fatalf("ChangedWithin wrong for versions %v", u.Versions)
	}
	// The same expression again is no new version; insights alone change.
	u, err = r.Update(ctx, "python-faults", groups.UpdateInput{FilterExpression: &newExpr, Insights: &groups.Insights{}})
	if err != nil || len(u.Versions) != 2 || u.Insights.InsightsEnabled {
		t.Fatalf("update insights: %+v, %v", u, err)
	}
	// Default's insights can change, its expression cannot.
	if d, err := r.Update(ctx, "Default", groups.UpdateInput{Insights: &groups.Insights{InsightsEnabled: true, NotificationsEnabled: true}}); err != nil || !d.Insights.NotificationsEnabled {
		t.Fatalf("update Default insights: %+v, %v", d, err)
	}
	bad := "http.status = 500"
	if _, err := r.Update(ctx, "Default", groups.UpdateInput{FilterExpression: &bad}); code(err) != "Invalid" {
		t.Fatalf("Default's expression changed: %v", err)
	}

	// Everything survives a restart.
	r2 := open(t, meta, clk)
	if fmt.Sprintf("%+v", r2.List()) != fmt.Sprintf("%+v", r.List()) {
		t.Fatalf("after reopen:\n%+v\nwant\n%+v", r2.List(), r.List())
	}

	if err := r.Delete(ctx, "aaa"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "aaa"); code(err) != "NotFound" {
		t.Fatalf("second delete: %v", err)
	}
	if err := r.Delete(ctx, "Default"); code(err) != "Invalid" {
		t.Fatalf("deleting Default: %v", err)
	}
	if got := names(); got != "Default,python-faults" {
		t.Fatalf("after delete: %s", got)
	}
	if got := open(t, meta, clk).List(); len(got) != 2 {
		t.Fatalf("delete not persisted: %+v", got)
	}
	// A name deleted and created again is a new group (new ID).
	g2, err := r.Create(ctx, groups.CreateInput{Name: "aaa"})
	if err != nil {
		t.Fatal(err)
	}
	if g2.ID == "" || strings.Contains(g.ARN, g2.ID) {
		t.Fatalf("recreated group reuses an ID: %+v", g2)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	r := open(t, newMeta(), &clock{now: time.Unix(1e9, 0)})
	f := func(in groups.CreateInput, wantCode, wantMsg string) {
		t.Helper()
		_, err := r.Create(ctx, in)
		if code(err) != wantCode || !strings.Contains(err.Error(), wantMsg) {
			t.Fatalf("Create(%+v) = %v, want %s containing %q", in, err, wantCode, wantMsg)
		}
	}
	f(groups.CreateInput{}, "Invalid", "GroupName is required")
	f(groups.CreateInput{Name: "Default"}, "Invalid", "reserved")
	f(groups.CreateInput{Name: strings.Repeat("a", 33)}, "Invalid", "longer than 32")
	f(groups.CreateInput{Name: "a_b"}, "Invalid", "only letters, digits and dashes")
	f(groups.CreateInput{Name: "a b"}, "Invalid", "only letters")
	f(groups.CreateInput{Name: "ok", FilterExpression: "service(\"a\") {"}, "Invalid", "Invalid filter expression")
	f(groups.CreateInput{Name: "ok", FilterExpression: "group.name = \"nope\""}, "Invalid", "unknown group")
	f(groups.CreateInput{Name: "ok", FilterExpression: "group.name = \"ok\""}, "Invalid", "refers to itself")
	f(groups.CreateInput{Name: "ok", Insights: &groups.Insights{NotificationsEnabled: true}}, "Invalid", "Notifications")
	f(groups.CreateInput{Name: "ok", Tags: []groups.Tag{{Key: ""}}}, "Invalid", "Tag key")
	f(groups.CreateInput{Name: "ok", Tags: []groups.Tag{{Key: "a"}, {Key: "a"}}}, "Invalid", "twice")
	if _, err := r.Create(ctx, groups.CreateInput{Name: strings.Repeat("a", 32)}); err != nil {
		t.Fatal(err)
	}
	f(groups.CreateInput{Name: strings.Repeat("a", 32)}, "Exists", "already exists")
	for i := range 4 {
		if _, err := r.Create(ctx, groups.CreateInput{Name: fmt.Sprint("g-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	f(groups.CreateInput{Name: "one-too-many"}, "Invalid", "at most 5 groups")
}

func summaryOf(service string, fault bool) *summary.Summary {
	return &summary.Summary{Entry: 0, HasFault: fault, Nodes: []summary.Node{{Name: service, Names: []string{service},
		Type: "AWS::Lambda::Function", Root: true, Fault: fault, Ok: !fault,
		Requests: []summary.Call{{Start: 1, End: 2, Fault: fault}}}}}
}

func TestMatchAndReferences(t *testing.T) {
	ctx := context.Background()
	meta := newMeta()
	r := open(t, meta, &clock{now: time.Unix(1e9, 0)})
	py, err := r.Create(ctx, groups.CreateInput{Name: "python-faults", FilterExpression: `service("xraystarter-py") { fault }`})
	if err != nil {
		t.Fatal(err)
	}
	all, err := r.Create(ctx, groups.CreateInput{Name: "all"})
	if err != nil {
		t.Fatal(err)
	}
	// A group made of another group.
	ref, err := r.Create(ctx, groups.CreateInput{Name: "ref", FilterExpression: `group.name = "python-faults" AND !ok`})
	if err != nil {
		t.Fatal(err)
	}
	f := func(s *summary.Summary, want ...string) {
		t.Helper()
		if got := r.Match(s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Match = %v, want %v", got, want)
		}
	}
	f(summaryOf("xraystarter-py", true), all.ID, py.ID, ref.ID)
	f(summaryOf("xraystarter-py", false), all.ID)
	f(summaryOf("xraystarter-go", true), all.ID)

	// Deleting the referenced group breaks "ref": it matches nothing, and
	// says why; creating it again repairs it.
	if err := r.Delete(ctx, "python-faults"); err != nil {
		t.Fatal(err)
	}
	if r.Broken("ref") == "" {
		t.Fatal("ref not reported broken")
	}
	f(summaryOf("xraystarter-py", true), all.ID)
	if _, err := open(t, meta, &clock{}).Get("ref"); err != nil {
		t.Fatalf("a broken group must still load: %v", err)
	}
	py2, err := r.Create(ctx, groups.CreateInput{Name: "python-faults", FilterExpression: `service("xraystarter-py") { fault }`})
	if err != nil {
		t.Fatal(err)
	}
	if r.Broken("ref") != "" {
		t.Fatalf("ref still broken: %s", r.Broken("ref"))
	}
	f(summaryOf("xraystarter-py", true), all.ID, py2.ID, ref.ID)

	// A loop through an update is refused.
	loop := `group.name = "ref"`
	if _, err := r.Update(ctx, "python-faults", groups.UpdateInput{FilterExpression: &loop}); code(err) != "Invalid" ||
		!strings.Contains(err.Error(), "refers to itself") {
		t.Fatalf("loop accepted: %v", err)
	}
}

// Reads run concurrently with changes (go test -race).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	r := open(t, newMeta(), &clock{now: time.Unix(1e9, 0)})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			s := summaryOf("xraystarter-py", true)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r.Match(s)
				r.List()
				r.Resolve("g")
			}
		})
	}
	for i := range 50 {
		expr := fmt.Sprintf("responsetime > %d", i)
		if i == 0 {
			if _, err := r.Create(ctx, groups.CreateInput{Name: "g", FilterExpression: expr}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := r.Update(ctx, "g", groups.UpdateInput{FilterExpression: &expr}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if g, _ := r.Get("g"); len(g.Versions) != 50 {
		t.Fatalf("%d versions", len(g.Versions))
	}
}

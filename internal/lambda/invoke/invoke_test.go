package invoke

import (
	"time"

	"testing"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/lambda/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLookup(t *testing.T) {
	s := New([]*Function{{Name: "f", ARN: "arn:aws:lambda:us-east-1:123456789012:function:f", Pool: pool.New(pool.Function{Name: "f"}, pool.Options{})}}, Options{})
	f := func(name, qualifier string, ok bool) {
		t.Helper()
		if _, err := s.Lookup(name, qualifier); (err == nil) != ok {
			t.Errorf("Lookup(%q, %q): %v", name, qualifier, err)
		}
	}
	f("f", "", true)
	f("f", "$LATEST", true)
	f("f:$LATEST", "", true)
	f("arn:aws:lambda:us-east-1:123456789012:function:f", "", true)
	f("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", "", true)
	f("123456789012:function:f", "", true)
	f("f", "prod", false)
	f("g", "", false)
	f("arn:aws:lambda:us-east-1:123456789012:layer:f", "", false)
}

func TestDecide(t *testing.T) {
	s := New(nil, Options{})
	active, pass := &Function{Tracing: Active}, &Function{Tracing: PassThrough}
	f := func(fn *Function, header string, sampled bool, wantHeader string) {
		t.Helper()
		tc := s.decide(fn, header, time.Time{})
		if tc.sampled != sampled {
			t.Errorf("%s %q: sampled %v", fn.Tracing, header, tc.sampled)
		}
		h := tc.runtimeHeader(0x53995c3f42cd8ad8)
		if wantHeader != "" && h != wantHeader {
			t.Errorf("%s %q: runtime header %q, want %q", fn.Tracing, header, h, wantHeader)
		}
	}
	up := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=1111111111111111"
	f(active, up+";Sampled=1", true, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	f(active, up+";Sampled=0", false, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
	f(active, up, true, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	f(active, "", true, "")
	f(pass, up, false, "Root=1-5759e988-bd862e3fe1be46a994272793")
	f(pass, up+";Sampled=1", true, "")
	f(active, "Root=garbage;Sampled=1", true, "")
}

package instance

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/logs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReaderBarriers: lines take the attribution of the last barrier before
// them; a barrier cut across reads, or inside an unfinished line, works.
func TestReaderBarriers(t *testing.T) {
	var got []Line
	attrs := []Attribution{{RequestID: "r1"}, {}}
	r := newReader(nil, logs.Stdout, "n0nce", func(l Line) { got = append(got, l) }, func(n int) Attribution { return attrs[n] })
	ch0, ch1 := r.expect(0), r.expect(1)
	m := func(n string) string { return barrierPrefix + "n0nce:" + n + "\x00" }
	in := "init\n" + m("0") + "handler 1\npart" + m("1") + "ial\nlast"
	var rest []byte
	for i := 0; i < len(in); i += 7 { // feed in small pieces
		rest = r.process(append(rest, in[i:min(i+7, len(in))]...), false)
	}
	r.process(rest, true)
	want := []Line{{Text: "init"}, {Text: "handler 1", Attr: attrs[0]}, {Text: "part", Attr: attrs[0]}, {Text: "ial"}, {Text: "last"}}
	if len(got) != len(want) {
		t.Fatalf("lines %+v", got)
	}
	for i := range want {
		if got[i].Text != want[i].Text || got[i].Attr != want[i].Attr || got[i].Stream != logs.Stdout {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, ch := range []<-chan struct{}{ch0, ch1} {
		select {
		case <-ch:
		default:
			t.Error("barrier not acknowledged")
		}
	}
}

func TestProcessOutputAndMemory(t *testing.T) {
	lines := make(chan Line, 10)
	p, err := Start(Spec{Command: []string{"/bin/sh", "-c", "echo out; echo err >&2; exec sleep 30"}, Output: func(l Line) { lines <- l }})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[logs.Stream]string{}
	for len(seen) < 2 {
		l := <-lines
		seen[l.Stream] = l.Text
	}
	if seen[logs.Stdout] != "out" || seen[logs.Stderr] != "err" {
		t.Errorf("lines %v", seen)
	}
	if m := p.PeakMemory(); m <= 0 {
		t.Errorf("peak memory %d", m)
	}
	p.Stop(0)
	<-p.OutputDone()
	if p.ExitErr() == nil {
		t.Error("killed process reported success")
	}
}

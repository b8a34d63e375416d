package xraysegments

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/segment"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeader(t *testing.T) {
	f := func(in, root, parent, sampled, out string) {
		t.Helper()
		h := ParseHeader(in)
		if h.Root != root || h.Parent != parent || h.Sampled != sampled || h.String() != out {
			t.Errorf("%q: %+v → %q", in, h, h.String())
		}
	}
	f("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "1-5759e988-bd862e3fe1be46a994272793",
		"53995c3f42cd8ad8", "1", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	f(" root=1-a ; sampled=? ;Self=1-x;Lineage=2:c3e4b99a:0", "1-a", "", "?", "Root=1-a;Sampled=?;Lineage=2:c3e4b99a:0")
	f("", "", "", "", "")
}

func decode(t *testing.T, doc []byte) segment.Segment {
	t.Helper()
	segs, err := segment.NewDecoder(0).Decode(nil, doc)
	if err != nil || len(segs) != 1 {
		t.Fatalf("decode %s: %v", doc, err)
	}
	return segs[0]
}

func TestSegmentsDecode(t *testing.T) {
	ids := NewIDs()
	t0 := time.Unix(1681574429, 596000000)
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	trace := ids.Trace(t0)
	svc := Service{TraceID: trace, ID: ids.Segment(), Name: "fn \"quoted\"", ARN: "arn:aws:lambda:us-east-1:1:function:fn",
		RequestID: "r-1", Start: at(0), End: at(60), Status: 202,
		Dwell: &Span{ID: ids.Segment(), Start: at(0), End: at(40)}, Attempts: []Span{{ID: ids.Segment(), Start: at(40), End: at(59)}}}
	s := decode(t, svc.AppendJSON(nil))
	r := s.Root()
	if r.Origin != "AWS::Lambda" || r.Name != svc.Name || r.HTTP.Status != 202 || r.AWS.RequestID != "r-1" || s.TraceID != trace ||
		len(s.Entities) != 3 || s.Entities[1].Name != "Dwell Time" || s.Entities[2].Name != "Attempt #1" || r.End-r.Start < 0.0599 {
		t.Errorf("service segment: %+v", s)
	}
	svc.InProgress = true
	if s := decode(t, svc.AppendJSON(nil)); !s.Root().InProgress {
		t.Error("in-progress service segment")
	}

	fn := Function{TraceID: trace, ID: ids.Segment(), Parent: svc.ID, Name: "fn", ARN: svc.ARN, AccountID: "1", LogGroup: "/aws/lambda/fn",
		Start: at(41), End: at(58), Init: &Span{ID: ids.Segment(), Start: at(30), End: at(41)},
		Invocation: &Span{ID: ids.Segment(), Start: at(41), End: at(57), Fault: true}, Overhead: &Span{ID: ids.Segment(), Start: at(57), End: at(58)},
		Fault: true, Cause: Cause(ids, "/var/task", "Sandbox.Timedout", "Task timed out\n after 3.00 seconds"),
		ResponseLatency: 16 * time.Millisecond, RuntimeOverhead: time.Millisecond}
	s = decode(t, fn.AppendJSON(nil))
	r = s.Root()
	if r.Origin != "AWS::Lambda::Function" || s.ParentID != svc.ID || !r.Fault || r.AWS.FunctionARN != svc.ARN || r.AWS.AccountID != "1" ||
		len(r.AWS.LogGroups) != 1 || len(r.Cause.Exceptions) != 1 || r.Cause.Exceptions[0].Type != "Sandbox.Timedout" ||
		len(r.Annotations) != 2 || len(s.Entities) != 4 || s.Entities[1].Name != "Initialization" || !s.Entities[2].Fault {
		t.Errorf("function segment: %+v", s)
	}
}

func TestFixCause(t *testing.T) {
	ids := NewIDs()
	raw := []byte(`{"working_directory":"/var/task","exceptions":[{"type":"errorString","message":"boom","stack":[]}],"paths":[]}`)
	var c struct {
		Exceptions []map[string]any `json:"exceptions"`
	}
	if err := json.Unmarshal(FixCause(ids, raw), &c); err != nil || len(c.Exceptions) != 1 || len(c.Exceptions[0]["id"].(string)) != 16 {
		t.Errorf("fixed cause: %+v %v", c, err)
	}
	if FixCause(ids, []byte("not json")) != nil {
		t.Error("a non-object cause was kept")
	}
}

func TestEmitter(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	e, err := NewEmitter(conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ids := NewIDs()
	svc := Service{TraceID: ids.Trace(time.Now()), ID: ids.Segment(), Name: "fn", Start: time.Now(), End: time.Now()}
	if err := e.SendService(&svc); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := bytes.Cut(buf[:n], []byte("\n"))
	if string(header) != `{"format": "json", "version": 1}` {
		t.Errorf("header %q", header)
	}
	if s := decode(t, body); s.ID() != svc.ID {
		t.Errorf("id %v", s.ID())
	}
}

package runtimeapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRoundTrip(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	base := "http://" + s.Addr() + "/2018-06-01/runtime/"
	post := func(path, body string, h map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	type next struct {
		h    http.Header
		body string
	}
	getNext := func() chan next {
		ch := make(chan next, 1)
		go func() {
			resp, err := client.Get(base + "invocation/next")
			if err != nil {
				close(ch)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch <- next{resp.Header, string(b)}
		}()
		return ch
	}

	nc := getNext()
	deadline := time.Now().Add(10 * time.Second)
	for n, _, _ := s.NextState(); n == 0 && time.Now().Before(deadline); n, _, _ = s.NextState() {
		time.Sleep(time.Millisecond)
	}
	inv := NewInvocation()
	inv.RequestID, inv.FunctionARN, inv.TraceHeader = "req-1", "arn:aws:lambda:us-east-1:1:function:f", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	inv.Deadline, inv.Payload = time.UnixMilli(1700000000123), []byte(`{"a":1}`)
	if !s.Deliver(inv, nil, nil) {
		t.Fatal("not delivered")
	}
	got := <-nc
	if got.body != `{"a":1}` || got.h.Get(HeaderRequestID) != "req-1" || got.h.Get(HeaderDeadlineMs) != "1700000000123" ||
		got.h.Get(HeaderTraceID) != inv.TraceHeader || got.h.Get(HeaderFunctionARN) != inv.FunctionARN {
		t.Errorf("next: %v %q", got.h, got.body)
	}
	if at, seq := s.Delivered(inv); at.IsZero() || seq != 1 {
		t.Errorf("delivered %v %d", at, seq)
	}
	if code := post("invocation/other/response", "x", nil); code != 400 {
		t.Errorf("response for an unknown request: %d", code)
	}
	if code := post("invocation/req-1/error", `{"errorMessage":"boom","errorType":"MyError"}`, map[string]string{HeaderXRayErrorCause: `{"exceptions":[]}`}); code != 202 {
		t.Errorf("error: %d", code)
	}
	<-inv.Done()
	if r := inv.Result(); r.Err == nil || r.Err.Type != "MyError" || r.Err.Message != "boom" || string(r.XRayCause) != `{"exceptions":[]}` {
		t.Errorf("result %+v", r)
	}
	if code := post("invocation/req-1/response", "late", nil); code != 400 {
		t.Errorf("second answer: %d", code)
	}

	nc = getNext()
	inv2 := NewInvocation()
	inv2.RequestID = "req-2"
	s.Deliver(inv2, nil, nil)
	<-nc
	if code := post("invocation/req-2/response", `{"ok":true}`, map[string]string{"Content-Type": "application/json"}); code != 202 {
		t.Errorf("response: %d", code)
	}
	<-inv2.Done()
	if r := inv2.Result(); r.Err != nil || string(r.Payload) != `{"ok":true}` {
		t.Errorf("result %+v", r)
	}

	if code := post("init/error", `{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}`, nil); code != 202 {
		t.Errorf("init error: %d", code)
	}
	ch, _ := s.InitError()
	<-ch
	if _, e := s.InitError(); e == nil || e.Type != "Runtime.ImportModuleError" {
		t.Errorf("init error %+v", e)
	}

	nc = getNext()
	s.Close()
	<-nc
}

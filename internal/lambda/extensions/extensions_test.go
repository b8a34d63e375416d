package extensions

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T) (*Registry, *httptest.Server) {
	r := New(Function{Name: "fn", Version: "$LATEST", Handler: "bootstrap", AccountID: "123456789012"})
	mux := http.NewServeMux()
	r.Register(mux.Handle)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { r.Close(); srv.Close() })
	return r, srv
}

func call(t *testing.T, method, url, body string, h map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestRegisterAndLifecycle(t *testing.T) {
	r, srv := serve(t)
	reg := srv.URL + prefix + "register"
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"", `{"events":["INVOKE"]}`, 400, "header is required"},
		{"x", `{"events":["WAKE"]}`, 400, "Extension.InvalidEventType"},
		{"x", `nope`, 400, "InvalidRequest"},
	} {
		if s, _, b := call(t, "POST", reg, c.body, map[string]string{HeaderName: c.name}); s != c.status || !strings.Contains(b, c.want) {
			t.Errorf("register %q %s: %d %s", c.name, c.body, s, b)
		}
	}
	s, h, b := call(t, "POST", reg, `{"events":["INVOKE","SHUTDOWN"]}`, map[string]string{HeaderName: "ext"})
	id := h.Get(HeaderIdentifier)
	if s != 200 || id == "" || !strings.Contains(b, `"functionName":"fn"`) || !strings.Contains(b, `"handler":"bootstrap"`) {
		t.Fatalf("register: %d %q %s", s, id, b)
	}
	if s, _, b := call(t, "POST", reg, `{"events":[]}`, map[string]string{HeaderName: "ext"}); s != 409 {
		t.Errorf("second registration of a name: %d %s", s, b)
	}
	if s, _, _ := call(t, "GET", srv.URL+prefix+"event/next", "", map[string]string{HeaderIdentifier: "nope"}); s != 403 {
		t.Errorf("next with an unknown identifier: %d", s)
	}
	if err := r.WaitRegistered([]string{"ext"}, time.Now().Add(5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	// The extension asks for its next event: init is done for it.
	got := make(chan string, 4)
	next := func() {
		_, h, b := call(t, "GET", srv.URL+prefix+"event/next", "", map[string]string{HeaderIdentifier: id})
		if h.Get(HeaderEventID) == "" && b != "" {
			t.Errorf("event without %s", HeaderEventID)
		}
		got <- b
	}
	go next()
	waitReady(t, r)
	r.InitDone()
	if s, _, _ := call(t, "POST", reg, `{"events":[]}`, map[string]string{HeaderName: "late"}); s != 403 {
		t.Errorf("registration after init: %d", s)
	}
	r.Invoke(InvokeEvent{RequestID: "req-1", FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:fn",
		TraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", Deadline: time.UnixMilli(1700000000000)})
	ev := <-got
	for _, w := range []string{`"eventType":"INVOKE"`, `"requestId":"req-1"`, `"deadlineMs":1700000000000`,
		`"invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:fn"`, `"type":"X-Amzn-Trace-Id"`} {
		if !strings.Contains(ev, w) {
			t.Errorf("INVOKE %s lacks %s", ev, w)
		}
	}
	// Not done until the extension asks again.
	if _, err := r.WaitInvokeDone(time.Now().Add(50*time.Millisecond), nil); err == nil {
		t.Error("invoke done before the extension asked for its next event")
	}
	go next()
	if _, err := r.WaitInvokeDone(time.Now().Add(10*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	r.Shutdown("spindown", time.Now().Add(200*time.Millisecond), nil) // nobody asks again: returns at the deadline
	if ev := <-got; !strings.Contains(ev, `"eventType":"SHUTDOWN"`) || !strings.Contains(ev, `"shutdownReason":"spindown"`) {
		t.Errorf("SHUTDOWN: %s", ev)
	}
}

func waitReady(t *testing.T, r *Registry) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		ready, _, ch := r.InitState()
		if ready {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("extension never ready")
		}
	}
}

func TestInitError(t *testing.T) {
	r, srv := serve(t)
	_, h, _ := call(t, "POST", srv.URL+prefix+"register", `{"events":["INVOKE"]}`, map[string]string{HeaderName: "ext"})
	s, _, _ := call(t, "POST", srv.URL+prefix+"init/error", `{"errorMessage":"no config","errorType":"Extension.ConfigInvalid"}`,
		map[string]string{HeaderIdentifier: h.Get(HeaderIdentifier), HeaderErrorType: "Extension.ConfigInvalid"})
	_, e, _ := r.InitState()
	if s != 202 || e == nil || e.Type != "Extension.ConfigInvalid" || e.Message != "no config" || e.Extension != "ext" {
		t.Errorf("init error: %d %+v", s, e)
	}
}

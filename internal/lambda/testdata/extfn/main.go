// Command extfn is the extension tests' external extension: it registers
// for INVOKE and SHUTDOWN through the Extensions API, subscribes to the
// Telemetry API with an HTTP listener, and appends everything it receives
// (register answer, subscription status, events, telemetry batches) to the
// JSON-lines file EXT_RECORD. After each INVOKE it works EXT_POST_MS
// milliseconds before asking for the next event, like an extension that
// flushes after every invocation. It exits after SHUTDOWN. With
// EXT_INIT_ERROR=<type> it reports an init error instead.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

var (
	mu  sync.Mutex
	out *os.File
)

func record(kind string, v any) {
	b, _ := json.Marshal(map[string]any{"kind": kind, "data": v})
	mu.Lock()
	defer mu.Unlock()
	out.Write(append(b, '\n'))
	out.Sync()
}

func fail(err error) {
	record("fatal", err.Error())
	fmt.Fprintln(os.Stderr, "extfn:", err)
	os.Exit(1)
}

func main() {
	var err error
	out, err = os.OpenFile(os.Getenv("EXT_RECORD"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "extfn:", err)
		os.Exit(1)
	}
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API")
	post, _ := strconv.Atoi(os.Getenv("EXT_POST_MS"))

	req, _ := http.NewRequest(http.MethodPost, api+"/2020-01-01/extension/register", bytes.NewReader([]byte(`{"events":["INVOKE","SHUTDOWN"]}`)))
	req.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Extension-Identifier")
	var reg any
	json.Unmarshal(body, &reg)
	record("register", map[string]any{"status": resp.StatusCode, "id": id, "body": reg})
	if typ := os.Getenv("EXT_INIT_ERROR"); typ != "" {
		// Fail init the documented way: report, then exit.
		req, _ := http.NewRequest(http.MethodPost, api+"/2020-01-01/extension/init/error",
			bytes.NewReader([]byte(`{"errorMessage":"cannot read the collector configuration","errorType":"`+typ+`"}`)))
		req.Header.Set("Lambda-Extension-Identifier", id)
		req.Header.Set("Lambda-Extension-Function-Error-Type", typ)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &batch); err != nil {
			record("bad-batch", string(b))
		}
		for _, ev := range batch {
			record("telemetry", ev)
		}
	}))
	port := ln.Addr().(*net.TCPAddr).Port
	sub := fmt.Sprintf(`{"schemaVersion":"2022-12-13","types":["platform","function","extension"],
		"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},
		"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:%d/telemetry"}}`, port)
	req, _ = http.NewRequest(http.MethodPut, api+"/2022-07-01/telemetry", bytes.NewReader([]byte(sub)))
	req.Header.Set("Lambda-Extension-Identifier", id)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	record("subscribe", map[string]any{"status": resp.StatusCode, "body": string(body)})

	for {
		req, _ := http.NewRequest(http.MethodGet, api+"/2020-01-01/extension/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fail(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			fail(fmt.Errorf("event %d %q: %v", resp.StatusCode, b, err))
		}
		ev["eventIdentifier"] = resp.Header.Get("Lambda-Extension-Event-Identifier")
		record("event", ev)
		switch ev["eventType"] {
		case "INVOKE":
			fmt.Println("ext: got INVOKE", ev["requestId"])
			time.Sleep(time.Duration(post) * time.Millisecond)
		case "SHUTDOWN":
			fmt.Println("ext: shutting down:", ev["shutdownReason"])
			os.Exit(0)
		}
	}
}

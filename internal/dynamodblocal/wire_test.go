package dynamodblocal

import (
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWireProtocol drives the stand-in with raw JSON 1.0 requests, as
// DynamoDB's API reference shows them
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/Welcome.html).
// clienttests/dynamodblocal drives it with the AWS SDK for Go v2, as the
// example function does.
func TestWireProtocol(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	call := func(op, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if crc := resp.Header.Get("X-Amz-Crc32"); crc != strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10) {
			t.Errorf("%s: X-Amz-Crc32 %q does not match the body", op, crc)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v: %s", op, err, b)
		}
		return resp.StatusCode, out
	}

	if code, out := call("CreateTable", `{"TableName":"items","BillingMode":"PAY_PER_REQUEST",
		"KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],
		"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}]}`); code != 200 {
		t.Fatalf("CreateTable: %d %v", code, out)
	}
	for _, k := range []string{"a.txt", "b.txt", "a.txt"} {
		if code, out := call("PutItem", `{"TableName":"items","Item":{"id":{"S":"`+k+`"},"n":{"N":"1"}}}`); code != 200 {
			t.Fatalf("PutItem %s: %d %v", k, code, out)
		}
	}
	code, out := call("GetItem", `{"TableName":"items","Key":{"id":{"S":"b.txt"}}}`)
	if item, _ := out["Item"].(map[string]any); code != 200 || item["n"].(map[string]any)["N"] != "1" {
		t.Fatalf("GetItem: %d %v", code, out)
	}
	if code, out := call("Scan", `{"TableName":"items"}`); code != 200 || out["Count"] != 2.0 || len(s.Items("items")) != 2 {
		t.Fatalf("Scan: %d %v", code, out)
	}
	if code, out := call("ListTables", `{}`); code != 200 || len(out["TableNames"].([]any)) != 1 {
		t.Fatalf("ListTables: %d %v", code, out)
	}
	code, out = call("PutItem", `{"TableName":"nope","Item":{"id":{"S":"x"}}}`)
	if code != 400 || !strings.HasSuffix(out["__type"].(string), "#ResourceNotFoundException") {
		t.Errorf("PutItem on a missing table: %d %v", code, out)
	}
	code, out = call("Query", `{"TableName":"items"}`)
	if code != 400 || !strings.HasSuffix(out["__type"].(string), "#UnknownOperationException") {
		t.Errorf("an operation the stand-in lacks: %d %v", code, out)
	}
}

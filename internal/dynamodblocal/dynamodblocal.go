// Package dynamodblocal is a minimal, in-memory stand-in for DynamoDB that
// the example function talks to over the real wire protocol (JSON 1.0,
// X-Amz-Target: DynamoDB_20120810.<Operation>), so the function's AWS SDK,
// its X-Ray instrumentation and the DynamoDB subsegment are exactly what
// they are against AWS. It implements what the example needs: CreateTable,
// DescribeTable, ListTables, PutItem, GetItem, DeleteItem and Scan, with
// hash (and optional range) keys. Conditions, expressions, indexes and
// pagination are not implemented (see examples/README.md for real local
// DynamoDB servers).
package dynamodblocal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Item is a DynamoDB item in DynamoDB JSON: attribute name → {"S": "..."}.
type Item map[string]map[string]any

// Server is a running stand-in.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu     sync.Mutex
	tables map[string]*table
}

type table struct {
	name            string
	hashKey         string
	rangeKey        string
	created         time.Time
	items           map[string]Item
	order           []string // insertion order of keys, for Scan
	hashType        string
	rangeType       string
	billingOnDemand bool
}

// Start listens on addr (e.g. "127.0.0.1:0").
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, tables: map[string]*table{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the endpoint for AWS_ENDPOINT_URL_DYNAMODB.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// CreateTable creates a table keyed by a string hash key (what the example
// needs); it is a no-op when the table exists.
func (s *Server) CreateTable(name, hashKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[name]; !ok {
		s.tables[name] = &table{name: name, hashKey: hashKey, hashType: "S", created: time.Now(), items: map[string]Item{}, billingOnDemand: true}
	}
}

// Items returns a copy of a table's items in insertion order.
func (s *Server) Items(name string) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[name]
	if !ok {
		return nil
	}
	out := make([]Item, 0, len(t.order))
	for _, k := range t.order {
		out = append(out, t.items[k])
	}
	return out
}

type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func validation(format string, args ...any) *apiError {
	return &apiError{400, "ValidationException", fmt.Sprintf(format, args...)}
}

func notFound() *apiError {
	return &apiError{400, "ResourceNotFoundException", "Requested resource not found"}
}

// ServeHTTP implements the DynamoDB JSON 1.0 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	if r.Method != http.MethodPost || !ok {
		s.reply(w, nil, &apiError{400, "UnknownOperationException", "expected POST with X-Amz-Target: DynamoDB_20120810.<Operation>"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		s.reply(w, nil, validation("reading the request: %v", err))
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		s.reply(w, nil, &apiError{400, "SerializationException", "request body is not a JSON object"})
		return
	}
	var out any
	var aerr *apiError
	s.mu.Lock()
	switch op {
	case "CreateTable":
		out, aerr = s.createTable(in)
	case "DescribeTable":
		out, aerr = s.describeTable(in)
	case "ListTables":
		names := make([]string, 0, len(s.tables))
		for n := range s.tables {
			names = append(names, n)
		}
		slices.Sort(names)
		out = map[string]any{"TableNames": names}
	case "PutItem":
		out, aerr = s.putItem(in)
	case "GetItem":
		out, aerr = s.getItem(in)
	case "DeleteItem":
		out, aerr = s.deleteItem(in)
	case "Scan":
		out, aerr = s.scan(in)
	default:
		aerr = &apiError{400, "UnknownOperationException", "operation " + op + " is not implemented by this stand-in"}
	}
	s.mu.Unlock()
	s.reply(w, out, aerr)
}

func (s *Server) reply(w http.ResponseWriter, out any, aerr *apiError) {
	status := http.StatusOK
	if aerr != nil {
		status = aerr.status
		out = map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + aerr.typ, "message": aerr.msg}
	}
	b, _ := json.Marshal(out)
	var id [26]byte
	rand.Read(id[:])
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", strings.ToUpper(hex.EncodeToString(id[:]))[:52])
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(status)
	w.Write(b)
}

func str(in map[string]json.RawMessage, k string) string {
	var v string
	json.Unmarshal(in[k], &v)
	return v
}

func (s *Server) table(in map[string]json.RawMessage) (*table, *apiError) {
	name := str(in, "TableName")
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t, ok := s.tables[name]
	if !ok {
		return nil, notFound()
	}
	return t, nil
}

func (s *Server) createTable(in map[string]json.RawMessage) (any, *apiError) {
	name := str(in, "TableName")
	if name == "" {
		return nil, validation("TableName is required")
	}
	if _, ok := s.tables[name]; ok {
		return nil, &apiError{400, "ResourceInUseException", "Table already exists: " + name}
	}
	var keys []struct{ AttributeName, KeyType string }
	var defs []struct{ AttributeName, AttributeType string }
	json.Unmarshal(in["KeySchema"], &keys)
	json.Unmarshal(in["AttributeDefinitions"], &defs)
	t := &table{name: name, created: time.Now(), items: map[string]Item{}, billingOnDemand: str(in, "BillingMode") == "PAY_PER_REQUEST"}
	for _, k := range keys {
		switch k.KeyType {
		case "HASH":
			t.hashKey = k.AttributeName
		case "RANGE":
			t.rangeKey = k.AttributeName
		}
	}
	if t.hashKey == "" {
		return nil, validation("KeySchema needs a HASH key")
	}
	for _, d := range defs {
		switch d.AttributeName {
		case t.hashKey:
			t.hashType = d.AttributeType
		case t.rangeKey:
			t.rangeType = d.AttributeType
		}
	}
	s.tables[name] = t
	return map[string]any{"TableDescription": t.description("CREATING")}, nil
}

func (t *table) description(status string) map[string]any {
	keys := []map[string]string{{"AttributeName": t.hashKey, "KeyType": "HASH"}}
	defs := []map[string]string{{"AttributeName": t.hashKey, "AttributeType": cmp(t.hashType, "S")}}
	if t.rangeKey != "" {
		keys = append(keys, map[string]string{"AttributeName": t.rangeKey, "KeyType": "RANGE"})
		defs = append(defs, map[string]string{"AttributeName": t.rangeKey, "AttributeType": cmp(t.rangeType, "S")})
	}
	d := map[string]any{
		"TableName": t.name, "TableStatus": status, "KeySchema": keys, "AttributeDefinitions": defs,
		"CreationDateTime": float64(t.created.UnixMilli()) / 1000, "ItemCount": len(t.items),
		"TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/" + t.name,
	}
	if t.billingOnDemand {
		d["BillingModeSummary"] = map[string]string{"BillingMode": "PAY_PER_REQUEST"}
	}
	return d
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) describeTable(in map[string]json.RawMessage) (any, *apiError) {
	t, err := s.table(in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t.description("ACTIVE")}, nil
}

// key returns the item's primary key as a string.
func (t *table) key(it Item) (string, *apiError) {
	h, ok := it[t.hashKey]
	if !ok {
		return "", validation("One of the required keys was not given a value")
	}
	b, _ := json.Marshal(h)
	k := string(b)
	if t.rangeKey != "" {
		r, ok := it[t.rangeKey]
		if !ok {
			return "", validation("One of the required keys was not given a value")
		}
		rb, _ := json.Marshal(r)
		k += "\x00" + string(rb)
	}
	return k, nil
}

func item(raw json.RawMessage, what string) (Item, *apiError) {
	var it Item
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&it); err != nil || it == nil {
		return nil, validation("%s must be a map of attribute values", what)
	}
	for name, v := range it {
		if len(v) != 1 {
			return nil, validation("Supplied AttributeValue for %q has %d data types; exactly one is required", name, len(v))
		}
	}
	return it, nil
}

func (s *Server) putItem(in map[string]json.RawMessage) (any, *apiError) {
	t, err := s.table(in)
	if err != nil {
		return nil, err
	}
	it, err := item(in["Item"], "Item")
	if err != nil {
		return nil, err
	}
	k, err := t.key(it)
	if err != nil {
		return nil, err
	}
	old, existed := t.items[k]
	if !existed {
		t.order = append(t.order, k)
	}
	t.items[k] = it
	if str(in, "ReturnValues") == "ALL_OLD" && existed {
		return map[string]any{"Attributes": old}, nil
	}
	return map[string]any{}, nil
}

func (s *Server) getItem(in map[string]json.RawMessage) (any, *apiError) {
	t, err := s.table(in)
	if err != nil {
		return nil, err
	}
	key, err := item(in["Key"], "Key")
	if err != nil {
		return nil, err
	}
	k, err := t.key(key)
	if err != nil {
		return nil, err
	}
	if it, ok := t.items[k]; ok {
		return map[string]any{"Item": it}, nil
	}
	return map[string]any{}, nil
}

func (s *Server) deleteItem(in map[string]json.RawMessage) (any, *apiError) {
	t, err := s.table(in)
	if err != nil {
		return nil, err
	}
	key, err := item(in["Key"], "Key")
	if err != nil {
		return nil, err
	}
	k, err := t.key(key)
	if err != nil {
		return nil, err
	}
	if _, ok := t.items[k]; ok {
		delete(t.items, k)
		t.order = slices.DeleteFunc(t.order, func(o string) bool { return o == k })
	}
	return map[string]any{}, nil
}

func (s *Server) scan(in map[string]json.RawMessage) (any, *apiError) {
	t, err := s.table(in)
	if err != nil {
		return nil, err
	}
	var limit int
	json.Unmarshal(in["Limit"], &limit)
	items := make([]Item, 0, len(t.order))
	for _, k := range t.order {
		if limit > 0 && len(items) == limit {
			break
		}
		items = append(items, t.items[k])
	}
	return map[string]any{"Items": items, "Count": len(items), "ScannedCount": len(items)}, nil
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go"

	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server"
)

func startServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.Start(server.Config{
		Addr:          "127.0.0.1:0",
		DataDir:       t.TempDir(),
		FlushInterval: 10 * time.Millisecond,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// xrayClient is the AWS SDK for Go v2's X-Ray client pointed at srv, as a
// user would configure it.
func xrayClient(srv *server.Server) *awsxray.Client {
	return awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String("http://" + srv.HTTPAddr()),
		HTTPClient:   sdkhttp.Client(),
	})
}

// relay forwards UDP datagrams to the server and keeps a copy of each, so a
// test knows exactly what an SDK sent.
type relay struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  [][]byte
}

func newRelay(t *testing.T, to string) *relay {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.got = append(r.got, append([]byte(nil), buf[:n]...))
			r.mu.Unlock()
			c.WriteToUDP(buf[:n], dst)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return r
}

func (r *relay) addr() string { return r.conn.LocalAddr().String() }

// documents returns the bodies of the datagrams seen so far.
func (r *relay) documents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var docs []string
	for _, d := range r.got {
		_, body, _ := strings.Cut(string(d), "\n")
		docs = append(docs, body)
	}
	return docs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// entity is the part of a segment document these tests look at.
type entity struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	TraceID     string   `json:"trace_id"`
	ParentID    string   `json:"parent_id"`
	Type        string   `json:"type"`
	Namespace   string   `json:"namespace"`
	Inferred    bool     `json:"inferred"`
	Origin      string   `json:"origin"`
	Subsegments []entity `json:"subsegments"`
	AWS         struct {
		TableName string `json:"table_name"`
		Operation string `json:"operation"`
	} `json:"aws"`
}

func parseEntity(t *testing.T, doc string) entity {
	t.Helper()
	var e entity
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatalf("document is not JSON: %v\n%s", err, doc)
	}
	return e
}

func getJSON(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func newRequest(method, url, body string) (*http.Request, error) {
	return http.NewRequest(method, url, strings.NewReader(body))
}

// Package servertest starts servers and drives them the way the server's
// tests do, for those tests and for the client tests of the clienttests
// module (a test package of another module cannot share _test.go helpers),
// as net/http/httptest does for net/http.
package servertest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	otelxray "go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/counterspy/counterspy/internal/sdkhttp"
	"github.com/counterspy/counterspy/internal/server"
)

// Start starts a server with the defaults of StartConfig.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartConfig(t, server.Config{})
}

// StartConfig starts a server with cfg and closes it when t ends. Empty
// fields take test defaults: a free loopback port, a temporary data
// directory, a 10 ms flush interval, and no log output.
func StartConfig(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 10 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.Start(cfg)
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

// StartOTLP starts a server with both OTLP receivers on free ports,
// indexing the attribute "tier" as an annotation.
func StartOTLP(t testing.TB) *server.Server {
	t.Helper()
	return StartConfig(t, server.Config{OTLPHTTPAddr: "127.0.0.1:0", OTLPGRPCAddr: "127.0.0.1:0", OTLPAnnotations: []string{"tier"}})
}

// TracerProvider is the OpenTelemetry Go SDK exporting to srv over protocol
// ("http" or "grpc"), with the X-Ray ID generator, for a service on EC2.
func TracerProvider(t testing.TB, srv *server.Server, protocol, service string) *sdktrace.TracerProvider {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.OTLPGRPCAddr()), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithCompressor("gzip"))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(srv.OTLPHTTPAddr()), otlptracehttp.WithInsecure(),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", service), attribute.String("cloud.provider", "aws"),
		attribute.String("cloud.platform", "aws_ec2"), attribute.String("host.id", "i-0abc"),
		attribute.String("telemetry.sdk.language", "go"))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithIDGenerator(otelxray.NewIDGenerator()),
		sdktrace.WithResource(res))
}

// XRayClient is the AWS SDK for Go v2's X-Ray client pointed at srv, as a
// user would configure it.
func XRayClient(srv *server.Server) *awsxray.Client {
	return awsxray.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String("http://" + srv.HTTPAddr()),
		HTTPClient:   sdkhttp.Client(),
	})
}

// Relay forwards UDP datagrams to the server and keeps a copy of each, so a
// test knows exactly what an SDK sent.
type Relay struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  [][]byte
}

func NewRelay(t testing.TB, to string) *Relay {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{conn: c}
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

// Addr is where an SDK sends its datagrams.
func (r *Relay) Addr() string { return r.conn.LocalAddr().String() }

// Documents returns the bodies of the datagrams seen so far.
func (r *Relay) Documents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var docs []string
	for _, d := range r.got {
		_, body, _ := strings.Cut(string(d), "\n")
		docs = append(docs, body)
	}
	return docs
}

// WaitFor polls cond until it holds, failing t after 15 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Entity is the part of a segment document these tests look at.
type Entity struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	TraceID     string   `json:"trace_id"`
	ParentID    string   `json:"parent_id"`
	Type        string   `json:"type"`
	Namespace   string   `json:"namespace"`
	Inferred    bool     `json:"inferred"`
	Origin      string   `json:"origin"`
	Subsegments []Entity `json:"subsegments"`
	AWS         struct {
		TableName string `json:"table_name"`
		Operation string `json:"operation"`
	} `json:"aws"`
}

// ParseEntity decodes doc, failing t when it is not JSON.
func ParseEntity(t testing.TB, doc string) Entity {
	t.Helper()
	var e Entity
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatalf("document is not JSON: %v\n%s", err, doc)
	}
	return e
}

// Walk visits e and every nested subsegment.
func Walk(e Entity, f func(Entity)) {
	f(e)
	for _, s := range e.Subsegments {
		Walk(s, f)
	}
}

// CreateSamplingRule creates the rule the SDK sampling tests use: checkout's
// GET /cart*, reservoir 1, rate 0.1.
func CreateSamplingRule(t testing.TB, srv *server.Server, name string) {
	t.Helper()
	_, err := XRayClient(srv).CreateSamplingRule(context.Background(), &awsxray.CreateSamplingRuleInput{SamplingRule: &types.SamplingRule{
		RuleName: aws.String(name), ResourceARN: aws.String("*"), Priority: aws.Int32(1), FixedRate: 0.1,
		ReservoirSize: 1, ServiceName: aws.String("checkout"), ServiceType: aws.String("*"), Host: aws.String("*"),
		HTTPMethod: aws.String("GET"), URLPath: aws.String("/cart*"), Version: aws.Int32(1),
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// Band is the range of sampled counts X-Ray's algorithm gives for n
// requests spread over seconds distinct seconds, with reservoir 1 and rate
// 0.1: the reservoir takes between 0 and seconds requests, 10 % of the
// others are sampled.
func Band(n, seconds int) (lo, hi int) {
	const rate, z = 0.1, 5
	sd := func(k int) float64 { return math.Sqrt(float64(k) * rate * (1 - rate)) }
	rest := n - seconds
	lo = int(math.Floor(float64(rest)*rate - z*sd(rest)))
	hi = seconds + int(math.Ceil(float64(n)*rate+z*sd(n)))
	return lo, hi
}

// Package eventsource reproduces the seed's event pipeline: an object
// upload to a bucket becomes an S3 ObjectCreated:Put event, published to the
// bucket's SNS topic, which invokes every subscribed function
// asynchronously with the S3 event wrapped in an SNS notification
// (Records[0].Sns.Message is the S3 event JSON). Neither S3 nor SNS is
// traced here, as in the seed: each invocation starts its own trace at the
// Lambda service.
//
// Uploads arrive on the emulator's address:
//
//	PUT|POST /counterspy/v1/s3/{bucket}/{key...}   body = the object
//	POST     /counterspy/v1/sns/{topic}            body = the message (Subject from ?subject=)
package eventsource

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Invoker runs asynchronous invocations (the Invoke API's Event type).
type Invoker interface {
	InvokeAsync(function string, payload []byte) (requestID string, err error)
}

// Bucket is an S3 bucket with its event notifications.
type Bucket struct {
	Name string
	// Topic receives the bucket's ObjectCreated events (S3 → SNS).
	Topic string
	// Functions are invoked directly with the S3 event (S3 → Lambda).
	Functions []string
}

// Topic is an SNS topic and the functions subscribed to it.
type Topic struct {
	Name        string
	Subscribers []string
}

// Config declares buckets and topics.
type Config struct {
	Region, AccountID string
	Buckets           []Bucket
	Topics            []Topic
	// MaxObjectSize bounds an upload (default 64 MiB).
	MaxObjectSize int64
}

// Source turns uploads and publications into invocations.
type Source struct {
	cfg     Config
	buckets map[string]Bucket
	topics  map[string]Topic
	inv     Invoker
	seq     atomic.Uint64
}

// New checks cfg (topics exist, names are unique) and returns a source.
// Functions are not checked here; the invoker reports unknown ones.
func New(cfg Config, inv Invoker) (*Source, error) {
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 64 << 20
	}
	s := &Source{cfg: cfg, buckets: map[string]Bucket{}, topics: map[string]Topic{}, inv: inv}
	for _, t := range cfg.Topics {
		if t.Name == "" {
			return nil, errors.New("a topic has no name")
		}
		if _, dup := s.topics[t.Name]; dup {
			return nil, fmt.Errorf("topic %q declared twice", t.Name)
		}
		s.topics[t.Name] = t
	}
	for _, b := range cfg.Buckets {
		if b.Name == "" {
			return nil, errors.New("a bucket has no name")
		}
		if _, dup := s.buckets[b.Name]; dup {
			return nil, fmt.Errorf("bucket %q declared twice", b.Name)
		}
		if _, ok := s.topics[b.Topic]; b.Topic != "" && !ok {
			return nil, fmt.Errorf("bucket %q notifies topic %q, which is not declared", b.Name, b.Topic)
		}
		s.buckets[b.Name] = b
	}
	return s, nil
}

// Delivery is one invocation an event caused.
type Delivery struct {
	Function  string `json:"function"`
	RequestID string `json:"requestId,omitempty"`
	Via       string `json:"via"` // "sns:<topic>" or "s3"
	Error     string `json:"error,omitempty"`
}

// UploadResult describes an upload and what it triggered.
type UploadResult struct {
	Bucket      string     `json:"bucket"`
	Key         string     `json:"key"`
	Size        int        `json:"size"`
	ETag        string     `json:"eTag"`
	Invocations []Delivery `json:"invocations"`
}

// ErrNoBucket is returned for an upload to an undeclared bucket.
var ErrNoBucket = errors.New("no such bucket")

// ErrNoTopic is returned for a publication to an undeclared topic.
var ErrNoTopic = errors.New("no such topic")

// Upload stores nothing; it emits the bucket's ObjectCreated:Put event to
// its topic and functions.
func (s *Source) Upload(bucket, key string, body []byte, sourceIP string) (*UploadResult, error) {
	b, ok := s.buckets[bucket]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoBucket, bucket)
	}
	sum := md5.Sum(body)
	etag := hex.EncodeToString(sum[:])
	ev := s.S3Event(bucket, key, len(body), etag, sourceIP, time.Now())
	res := &UploadResult{Bucket: bucket, Key: key, Size: len(body), ETag: etag}
	for _, fn := range b.Functions {
		res.Invocations = append(res.Invocations, s.deliver(fn, ev, "s3"))
	}
	if b.Topic != "" {
		ds, _ := s.Publish(b.Topic, "Amazon S3 Notification", string(ev))
		res.Invocations = append(res.Invocations, ds...)
	}
	return res, nil
}

// Publish sends message to every subscriber of topic.
func (s *Source) Publish(topic, subject, message string) ([]Delivery, error) {
	t, ok := s.topics[topic]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoTopic, topic)
	}
	at := time.Now()
	msgID := uuid.NewString()
	var out []Delivery
	for _, fn := range t.Subscribers {
		ev := s.SNSEvent(topic, fn, msgID, subject, message, at)
		out = append(out, s.deliver(fn, ev, "sns:"+topic))
	}
	return out, nil
}

func (s *Source) deliver(fn string, payload []byte, via string) Delivery {
	d := Delivery{Function: fn, Via: via}
	id, err := s.inv.InvokeAsync(fn, payload)
	if err != nil {
		d.Error = err.Error()
	}
	d.RequestID = id
	return d
}

// S3Event builds the ObjectCreated:Put notification S3 sends (event
// version 2.1; the key is URL-encoded as S3 does, spaces as '+').
func (s *Source) S3Event(bucket, key string, size int, etag, sourceIP string, at time.Time) []byte {
	if sourceIP == "" {
		sourceIP = "127.0.0.1"
	}
	type obj = map[string]any
	seq := s.seq.Add(1)
	ev := obj{"Records": []obj{{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"awsRegion":    s.cfg.Region,
		"eventTime":    at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventName":    "ObjectCreated:Put",
		"userIdentity": obj{"principalId": "AWS:" + s.cfg.AccountID},
		"requestParameters": obj{
			"sourceIPAddress": sourceIP,
		},
		"responseElements": obj{
			"x-amz-request-id": strings.ToUpper(randomHex(8)),
			"x-amz-id-2":       randomHex(32),
		},
		"s3": obj{
			"s3SchemaVersion": "1.0",
			"configurationId": "counterspy-" + bucket,
			"bucket": obj{
				"name":          bucket,
				"ownerIdentity": obj{"principalId": s.cfg.AccountID},
				"arn":           "arn:aws:s3:::" + bucket,
			},
			"object": obj{
				"key":       strings.ReplaceAll(url.QueryEscape(key), "%2F", "/"),
				"size":      size,
				"eTag":      etag,
				"sequencer": fmt.Sprintf("%016X", uint64(at.UnixNano())+seq),
			},
		},
	}}}
	b, _ := json.Marshal(ev)
	return b
}

// SNSEvent builds the event SNS delivers to a subscribed function.
func (s *Source) SNSEvent(topic, function, messageID, subject, message string, at time.Time) []byte {
	topicARN := "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + topic
	type obj = map[string]any
	sns := obj{
		"Type":              "Notification",
		"MessageId":         messageID,
		"TopicArn":          topicARN,
		"Subject":           subject,
		"Message":           message,
		"Timestamp":         at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"SignatureVersion":  "1",
		"Signature":         "EXAMPLE",
		"SigningCertUrl":    "EXAMPLE",
		"UnsubscribeUrl":    "EXAMPLE",
		"MessageAttributes": obj{},
	}
	if subject == "" {
		sns["Subject"] = nil
	}
	ev := obj{"Records": []obj{{
		"EventSource":          "aws:sns",
		"EventVersion":         "1.0",
		"EventSubscriptionArn": topicARN + ":" + subscriptionID(topic, function),
		"Sns":                  sns,
	}}}
	b, _ := json.Marshal(ev)
	return b
}

// subscriptionID is stable per topic and function, like a real
// subscription's.
func subscriptionID(topic, function string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("sns:"+topic+":"+function)).String()
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// Paths of the upload and publish endpoints.
const (
	S3Prefix  = "/counterspy/v1/s3/"
	SNSPrefix = "/counterspy/v1/sns/"
)

// Register adds the upload and publish endpoints to mux.
func (s *Source) Register(mux *http.ServeMux) {
	upload := func(w http.ResponseWriter, r *http.Request) {
		bucket, key := r.PathValue("bucket"), r.PathValue("key")
		if key == "" {
			httpError(w, http.StatusBadRequest, "InvalidArgument", "no object key: use "+S3Prefix+"{bucket}/{key}")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxObjectSize+1))
		if err != nil {
			httpError(w, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		if int64(len(body)) > s.cfg.MaxObjectSize {
			httpError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", fmt.Sprintf("objects are limited to %d bytes here", s.cfg.MaxObjectSize))
			return
		}
		ip := r.RemoteAddr
		if i := strings.LastIndexByte(ip, ':'); i > 0 {
			ip = strings.Trim(ip[:i], "[]")
		}
		res, err := s.Upload(bucket, key, body, ip)
		if err != nil {
			httpError(w, http.StatusNotFound, "NoSuchBucket", err.Error()+"; declared buckets: "+strings.Join(s.bucketNames(), ", "))
			return
		}
		w.Header().Set("ETag", `"`+res.ETag+`"`)
		writeJSON(w, http.StatusOK, res)
	}
	mux.HandleFunc("PUT "+S3Prefix+"{bucket}/{key...}", upload)
	mux.HandleFunc("POST "+S3Prefix+"{bucket}/{key...}", upload)
	mux.HandleFunc("POST "+SNSPrefix+"{topic}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 256<<10+1))
		if err != nil || len(body) > 256<<10 {
			httpError(w, http.StatusBadRequest, "InvalidParameter", "messages are limited to 256 KiB")
			return
		}
		ds, err := s.Publish(r.PathValue("topic"), r.URL.Query().Get("subject"), string(body))
		if err != nil {
			httpError(w, http.StatusNotFound, "NotFound", err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"invocations": ds})
	})
}

func (s *Source) bucketNames() []string {
	var names []string
	for n := range s.buckets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

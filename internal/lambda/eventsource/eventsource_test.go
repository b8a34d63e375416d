package eventsource

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu    sync.Mutex
	calls map[string][][]byte
}

func (r *recorder) InvokeAsync(fn string, payload []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fn == "missing" {
		return "", errors.New("Function not found")
	}
	r.calls[fn] = append(r.calls[fn], payload)
	return "req-" + fn, nil
}

// TestUploadEvents checks the events' shape with local types (the fields a
// function reads); clienttests/eventsource decodes them with aws-lambda-go's
// own types, as a function receives them.
func TestUploadEvents(t *testing.T) {
	rec := &recorder{calls: map[string][][]byte{}}
	s, err := New(Config{Region: "us-east-1", AccountID: "123456789012",
		Buckets: []Bucket{{Name: "uploads", Topic: "t", Functions: []string{"direct"}}},
		Topics:  []Topic{{Name: "t", Subscribers: []string{"go", "missing"}}}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Upload("uploads", "dir/my file+x.txt", []byte("hello"), "10.0.0.1")
	if err != nil || len(res.Invocations) != 3 || res.Invocations[2].Error == "" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	type s3Event struct {
		Records []struct {
			EventName string
			S3        struct {
				Bucket struct{ Name, Arn string }
				Object struct {
					Key  string
					Size int64
				}
			}
		}
	}
	var sns struct {
		Records []struct {
			EventSource string
			Sns         struct{ TopicArn, Type, Message string }
		}
	}
	if err := json.Unmarshal(rec.calls["go"][0], &sns); err != nil || len(sns.Records) != 1 {
		t.Fatalf("SNS event: %v %s", err, rec.calls["go"][0])
	}
	if r := sns.Records[0]; r.EventSource != "aws:sns" || r.Sns.TopicArn != "arn:aws:sns:us-east-1:123456789012:t" || r.Sns.Type != "Notification" {
		t.Errorf("SNS record %+v", r)
	}
	for _, raw := range [][]byte{rec.calls["direct"][0], []byte(sns.Records[0].Sns.Message)} {
		var ev s3Event
		if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("S3 event: %v %s", err, raw)
		}
		if r := ev.Records[0]; r.EventName != "ObjectCreated:Put" || r.S3.Bucket.Name != "uploads" || r.S3.Bucket.Arn != "arn:aws:s3:::uploads" ||
			r.S3.Object.Key != "dir/my+file%2Bx.txt" || r.S3.Object.Size != 5 {
			t.Errorf("S3 record %+v", r)
		}
	}
	if _, err := s.Upload("nope", "k", nil, ""); !errors.Is(err, ErrNoBucket) {
		t.Errorf("unknown bucket: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	f := func(cfg Config) {
		t.Helper()
		if _, err := New(cfg, &recorder{}); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	f(Config{Buckets: []Bucket{{Name: "b", Topic: "undeclared"}}})
	f(Config{Buckets: []Bucket{{Name: "b"}, {Name: "b"}}})
	f(Config{Topics: []Topic{{Name: ""}}})
}

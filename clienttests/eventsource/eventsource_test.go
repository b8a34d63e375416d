package eventsource_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/goleak"

	"github.com/counterspy/counterspy/internal/lambda/eventsource"
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

// TestUploadEventsDecode: the events decode with aws-lambda-go's own types,
// as a function receives them.
func TestUploadEventsDecode(t *testing.T) {
	rec := &recorder{calls: map[string][][]byte{}}
	s, err := eventsource.New(eventsource.Config{Region: "us-east-1", AccountID: "123456789012",
		Buckets: []eventsource.Bucket{{Name: "uploads", Topic: "t", Functions: []string{"direct"}}},
		Topics:  []eventsource.Topic{{Name: "t", Subscribers: []string{"go", "py", "missing"}}}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Upload("uploads", "dir/my file+x.txt", []byte("hello"), "10.0.0.1")
	if err != nil || len(res.Invocations) != 4 || res.ETag != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	if res.Invocations[3].Error == "" {
		t.Error("a failed delivery is not reported")
	}
	var direct events.S3Event
	if err := json.Unmarshal(rec.calls["direct"][0], &direct); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"go", "py"} {
		var sns events.SNSEvent
		if err := json.Unmarshal(rec.calls[fn][0], &sns); err != nil || len(sns.Records) != 1 {
			t.Fatalf("%s: %v", fn, err)
		}
		e := sns.Records[0]
		if e.EventSource != "aws:sns" || e.SNS.TopicArn != "arn:aws:sns:us-east-1:123456789012:t" || e.SNS.Subject != "Amazon S3 Notification" ||
			e.SNS.Timestamp.IsZero() || e.SNS.Type != "Notification" {
			t.Errorf("%s: SNS record %+v", fn, e)
		}
		var s3 events.S3Event
		if err := json.Unmarshal([]byte(e.SNS.Message), &s3); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []events.S3Event{s3, direct} {
			r := ev.Records[0]
			if r.EventName != "ObjectCreated:Put" || r.S3.Bucket.Name != "uploads" || r.S3.Bucket.Arn != "arn:aws:s3:::uploads" ||
				r.S3.Object.Key != "dir/my+file%2Bx.txt" || r.S3.Object.URLDecodedKey != "dir/my file+x.txt" || r.S3.Object.Size != 5 ||
				r.RequestParameters.SourceIPAddress != "10.0.0.1" || r.AWSRegion != "us-east-1" {
				t.Errorf("S3 record %+v", r)
			}
		}
	}
	if _, err := s.Upload("nope", "k", nil, ""); !errors.Is(err, eventsource.ErrNoBucket) {
		t.Errorf("unknown bucket: %v", err)
	}
}

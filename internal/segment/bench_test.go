package segment

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// benchDoc is a ~1.5 KB Go SDK segment with five subsegments (aws, remote
// http, sql and two local ones), the shape the ingest goal is stated in.
func benchDoc(b *testing.B) []byte {
	b.Helper()
	doc, err := os.ReadFile("testdata/bench_go_sdk.json")
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

func BenchmarkDecode(b *testing.B) {
	doc := benchDoc(b)
	d := NewDecoder(0)
	var segs []Segment
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		segs, err = d.Decode(segs[:0], doc)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// jsonEntity is what encoding/json needs to extract a comparable digest; it
// does less than Decode (no ID parsing, no validation beyond types).
type jsonEntity struct {
	ID          string   `json:"id"`
	TraceID     string   `json:"trace_id"`
	ParentID    string   `json:"parent_id"`
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Namespace   string   `json:"namespace"`
	Origin      string   `json:"origin"`
	StartTime   float64  `json:"start_time"`
	EndTime     float64  `json:"end_time"`
	InProgress  bool     `json:"in_progress"`
	Error       bool     `json:"error"`
	Fault       bool     `json:"fault"`
	Throttle    bool     `json:"throttle"`
	Traced      bool     `json:"traced"`
	User        string   `json:"user"`
	ResourceARN string   `json:"resource_arn"`
	Precursors  []string `json:"precursor_ids"`
	HTTP        *struct {
		Request *struct {
			Method        string `json:"method"`
			URL           string `json:"url"`
			UserAgent     string `json:"user_agent"`
			ClientIP      string `json:"client_ip"`
			XForwardedFor bool   `json:"x_forwarded_for"`
			Traced        bool   `json:"traced"`
		} `json:"request"`
		Response *struct {
			Status        int             `json:"status"`
			ContentLength json.RawMessage `json:"content_length"`
		} `json:"response"`
	} `json:"http"`
	AWS *struct {
		AccountID     string   `json:"account_id"`
		Operation     string   `json:"operation"`
		Region        string   `json:"region"`
		RequestID     string   `json:"request_id"`
		TableName     string   `json:"table_name"`
		QueueURL      string   `json:"queue_url"`
		BucketName    string   `json:"bucket_name"`
		TopicARN      string   `json:"topic_arn"`
		FunctionARN   string   `json:"function_arn"`
		FunctionName  string   `json:"function_name"`
		ResourceNames []string `json:"resource_names"`
		EC2           *struct {
			InstanceID       string `json:"instance_id"`
			AvailabilityZone string `json:"availability_zone"`
		} `json:"ec2"`
		CloudWatchLogs []struct {
			LogGroup string `json:"log_group"`
		} `json:"cloudwatch_logs"`
	} `json:"aws"`
	SQL         *SQL              `json:"sql"`
	Annotations map[string]any    `json:"annotations"`
	Metadata    map[string]any    `json:"metadata"`
	Cause       json.RawMessage   `json:"cause"`
	Subsegments []jsonEntity      `json:"subsegments"`
	Links       []map[string]any  `json:"links"`
	Service     map[string]string `json:"service"`
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	doc := benchDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var e jsonEntity
		if err := json.Unmarshal(doc, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeLarge decodes near-64 KiB documents of the shapes that cost
// the most per byte, to show that cost stays linear in the document's size.
func BenchmarkDecodeLarge(b *testing.B) {
	const budget = 60000
	var entities, anns, elems []string
	for i := 0; len(strings.Join(entities, ",")) < budget; i++ {
		entities = append(entities, sub(fmt.Sprintf("d%015x", i)))
	}
	for i := 0; len(strings.Join(anns, ",")) < budget; i++ {
		anns = append(anns, fmt.Sprintf(`"k%05d":%d`, i, i))
	}
	for i := 0; len(strings.Join(elems, ",")) < budget; i++ {
		elems = append(elems, strings.Replace(obj(independent), "53995c3f42cd8ad8", fmt.Sprintf("e%015x", i), 1))
	}
	deep := sub("f000000000000000")
	for i := 1; i < 140; i++ { // two JSON levels each, under the parser's 300
		deep = sub(fmt.Sprintf("f%015x", i), subs(deep))
	}
	docs := []struct{ name, doc string }{
		{"subsegments", obj(complete, subs(entities...))},
		{"annotations", obj(complete, `"annotations":{`+strings.Join(anns, ",")+`}`)},
		{"array", "[" + strings.Join(elems, ",") + "]"},
		{"nested", obj(complete, subs(deep))},
	}
	for _, c := range docs {
		b.Run(c.name, func(b *testing.B) {
			doc := []byte(c.doc)
			d := NewDecoder(0)
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(nil, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package lambda_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/eventsource"
)

// TestTemplateRuns: a SAM template whose functions are a code directory
// and a zip runs as written: an upload to its bucket reaches both
// functions through its topic.
func TestTemplateRuns(t *testing.T) {
	bin := buildFunction(t, "xrayfn")
	dir := filepath.Join(t.TempDir(), "proj")
	if err := os.MkdirAll(filepath.Join(dir, "greeter"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(bin)
	os.WriteFile(filepath.Join(dir, "greeter", "bootstrap"), b, 0o755)
	os.WriteFile(filepath.Join(dir, "zipped.zip"), zipOf(t, map[string]string{"bootstrap": bin}), 0o644)
	tpl := `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Tracing: Active
Resources:
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-uploads"
      NotificationConfiguration:
        TopicConfigurations:
          - Event: s3:ObjectCreated:*
            Topic: !Ref Topic
  Topic:
    Type: AWS::SNS::Topic
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: greeter
      CodeUri: greeter/
      Events:
        Up: {Type: SNS, Properties: {Topic: !Ref Topic}}
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: zipped.zip
      MemorySize: 256
      Environment:
        Variables:
          GREETER: !GetAtt Greeter.Arn
      Events:
        Up: {Type: SNS, Properties: {Topic: !Ref Topic}}
`
	path := filepath.Join(dir, "template.yaml")
	os.WriteFile(path, []byte(tpl), 0o644)
	codeRoot := t.TempDir()
	cfg, warnings, err := lambda.LoadTemplate(path, codeRoot, "", "")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("LoadTemplate: %v %q", err, warnings)
	}
	if len(cfg.Functions) != 2 || cfg.Functions[1].Name != "Zipped" || !strings.HasPrefix(cfg.Functions[1].Dir, codeRoot) ||
		cfg.Functions[1].Environment["GREETER"] != "arn:aws:lambda:us-east-1:123456789012:function:greeter" {
		t.Fatalf("functions: %+v", cfg.Functions)
	}
	if st, err := os.Stat(filepath.Join(cfg.Functions[1].Dir, "bootstrap")); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("unpacked bootstrap: %v %v", st, err)
	}
	wantB := []eventsource.Bucket{{Name: "proj-uploads", Topic: "Topic"}}
	if !slices.EqualFunc(cfg.Buckets, wantB, func(a, b eventsource.Bucket) bool { return a.Name == b.Name && a.Topic == b.Topic }) {
		t.Fatalf("buckets: %+v", cfg.Buckets)
	}
	_, _, url := startEmulator(t, cfg)
	resp, err := http.Post(url+"/counterspy/v1/s3/proj-uploads/k.txt", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	var res eventsource.UploadResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	var got []string
	for _, inv := range res.Invocations {
		if inv.Error != "" {
			t.Errorf("delivery to %s: %s", inv.Function, inv.Error)
		}
		got = append(got, inv.Function)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"Zipped", "greeter"}) {
		t.Errorf("upload reached %v", got)
	}
	// Loading again reuses the unpacked package.
	cfg2, _, err := lambda.LoadTemplate(path, codeRoot, "", "")
	if err != nil || cfg2.Functions[1].Dir != cfg.Functions[1].Dir {
		t.Errorf("second load: %v %s vs %s", err, cfg2.Functions[1].Dir, cfg.Functions[1].Dir)
	}
}

// TestLoadFileDetectsTemplates: --config takes functions.json files and
// templates alike.
func TestLoadFileDetectsTemplates(t *testing.T) {
	cfg, warnings, err := lambda.LoadFile("template/testdata/cdk.out/XrayStarterStack.template.json", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range cfg.Functions {
		names = append(names, f.Name+":"+f.Runtime+" "+f.Handler+strings.Join(f.Command, " "))
	}
	// No command: the emulator starts each runtime as Lambda does.
	want := []string{"TsFunction0B1C2D3E:nodejs22.x index.handler", "xraystarter-go:provided.al2023 bootstrap",
		"xraystarter-py:python3.12 app.lambda_handler"}
	slices.Sort(names)
	if !slices.Equal(names, want) || len(warnings) == 0 {
		t.Errorf("functions %q warnings %q", names, warnings)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "functions.json")
	os.WriteFile(p, []byte(`{"functions":[{"name":"a","command":["./a"]}]}`), 0o644)
	if cfg, _, err := lambda.LoadFile(p, ""); err != nil || len(cfg.Functions) != 1 {
		t.Errorf("functions.json: %+v %v", cfg, err)
	}
}

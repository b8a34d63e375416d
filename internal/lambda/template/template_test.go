package template

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func byName(t *testing.T, tpl *Template) map[string]Function {
	t.Helper()
	m := map[string]Function{}
	for _, f := range tpl.Functions {
		m[f.Name] = f
	}
	return m
}

func TestSAMTemplate(t *testing.T) {
	tpl, err := Load("testdata/sam/template.yaml", Options{StackName: "xraystarter"})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata/sam")
	fns := byName(t, tpl)
	if len(fns) != 3 {
		t.Fatalf("functions: %+v", tpl.Functions)
	}
	goFn := fns["xraystarter-go"]
	want := Function{Name: "xraystarter-go", LogicalID: "GoFunction", Runtime: "provided.al2023", Handler: "bootstrap",
		CodeDir: filepath.Join(dir, "go"), MemoryMB: 256, Timeout: 10 * time.Second, Tracing: "Active",
		Environment: map[string]string{"TABLE_NAME": "items", "POWERTOOLS_SERVICE_NAME": "xraystarter"}}
	if !reflect.DeepEqual(goFn, want) {
		t.Errorf("go function:\n got %+v\nwant %+v", goFn, want)
	}
	py := fns["xraystarter-py"]
	if py.Runtime != "python3.12" || py.Handler != "app.lambda_handler" || py.MemoryMB != 512 || py.ReservedConcurrency != 2 ||
		py.Timeout != 10*time.Second || py.CodeDir != filepath.Join(dir, "py") {
		t.Errorf("python function: %+v", py)
	}
	// The function's variables merge over Globals'.
	wantEnv := map[string]string{"TABLE_NAME": "items", "POWERTOOLS_SERVICE_NAME": "xraystarter",
		"TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/items"}
	if !reflect.DeepEqual(py.Environment, wantEnv) {
		t.Errorf("python env: %v", py.Environment)
	}
	if ts := fns["xraystarter-ts"]; ts.Tracing != "PassThrough" || ts.Runtime != "nodejs22.x" || ts.Handler != "index.handler" {
		t.Errorf("ts function: %+v", ts)
	}
	wantB := []Bucket{{Name: "xraystarter-uploads", LogicalID: "UploadsBucket", Topic: "xraystarter-uploads-topic"}}
	if !reflect.DeepEqual(tpl.Buckets, wantB) {
		t.Errorf("buckets: %+v", tpl.Buckets)
	}
	wantT := []Topic{{Name: "xraystarter-uploads-topic", LogicalID: "UploadsTopic",
		Subscribers: []string{"xraystarter-go", "xraystarter-py", "xraystarter-ts"}}}
	if !reflect.DeepEqual(tpl.Topics, wantT) {
		t.Errorf("topics: %+v", tpl.Topics)
	}
}

func TestCDKSynthTemplate(t *testing.T) {
	tpl, err := Load("testdata/cdk.out/XrayStarterStack.template.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := filepath.Abs("testdata/cdk.out")
	fns := byName(t, tpl)
	if len(fns) != 3 {
		t.Fatalf("functions (the notifications handler must be left out): %+v", tpl.Functions)
	}
	goFn := fns["xraystarter-go"]
	if goFn.CodeDir != filepath.Join(out, "asset.3f1c9a0d6e4b2a8c7d5e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e") ||
		goFn.Handler != "bootstrap" || goFn.Runtime != "provided.al2023" || goFn.Tracing != "Active" ||
		goFn.Environment["TABLE_NAME"] != "items" || goFn.MemoryMB != 256 || goFn.Timeout != 10*time.Second {
		t.Errorf("go function: %+v", goFn)
	}
	// No FunctionName: the logical ID names it.
	ts, ok := fns["TsFunction0B1C2D3E"]
	if !ok || ts.ReservedConcurrency != 5 || ts.Environment["NODE_OPTIONS"] != "--enable-source-maps" {
		t.Errorf("ts function: %+v (functions %v)", ts, tpl.Functions)
	}
	wantB := []Bucket{{Name: "xraystarter-uploads", LogicalID: "UploadsBucketE0A3C5B4", Topic: "xraystarter-uploads-topic"}}
	if !reflect.DeepEqual(tpl.Buckets, wantB) {
		t.Errorf("buckets: %+v", tpl.Buckets)
	}
	wantT := []Topic{{Name: "xraystarter-uploads-topic", LogicalID: "UploadsTopic2B1E7A50",
		Subscribers: []string{"xraystarter-go", "xraystarter-py", "TsFunction0B1C2D3E"}}}
	if !reflect.DeepEqual(tpl.Topics, wantT) {
		t.Errorf("topics: %+v", tpl.Topics)
	}
	if !strings.Contains(strings.Join(tpl.Warnings, "\n"), "BucketNotificationsHandler") {
		t.Errorf("warnings do not mention the skipped handler: %q", tpl.Warnings)
	}
}

func TestShortFormsAndEvents(t *testing.T) {
	src := `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: build/fn.zip
      Handler: !Join ["", ["index", ".handler"]]
      Runtime: nodejs20.x
      Environment:
        Variables:
          TOPIC: !Ref Topic
          BUCKET_ARN: !GetAtt [Bucket, Arn]
          SELF: !Sub "${Fn.Arn}/${!Literal}/${AWS::Region}"
          PICK: !Select [1, [a, b, c]]
      Events:
        Up:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: [s3:ObjectCreated:Put]
        Gone:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: s3:ObjectRemoved:*
        Sched:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
  Bucket:
    Type: AWS::S3::Bucket
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Protocol: lambda
          Endpoint: !GetAtt Fn.Arn
        - Protocol: email
          Endpoint: someone@example.com
`
	tpl, err := Parse([]byte(src), "/proj", Options{Region: "eu-west-1", AccountID: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	f := tpl.Functions[0]
	if f.Name != "Fn" || f.CodeZip != "/proj/build/fn.zip" || f.CodeDir != "" || f.Handler != "index.handler" {
		t.Errorf("function: %+v", f)
	}
	wantEnv := map[string]string{
		"TOPIC":      "arn:aws:sns:eu-west-1:111122223333:Topic",
		"BUCKET_ARN": "arn:aws:s3:::bucket",
		"SELF":       "arn:aws:lambda:eu-west-1:111122223333:function:Fn/${Literal}/eu-west-1",
		"PICK":       "b",
	}
	if !reflect.DeepEqual(f.Environment, wantEnv) {
		t.Errorf("env: %v", f.Environment)
	}
	if want := []Bucket{{Name: "bucket", LogicalID: "Bucket", Functions: []string{"Fn"}}}; !reflect.DeepEqual(tpl.Buckets, want) {
		t.Errorf("buckets: %+v", tpl.Buckets)
	}
	if want := []Topic{{Name: "Topic", LogicalID: "Topic", Subscribers: []string{"Fn"}}}; !reflect.DeepEqual(tpl.Topics, want) {
		t.Errorf("topics: %+v", tpl.Topics)
	}
	w := strings.Join(tpl.Warnings, "\n")
	for _, s := range []string{"ObjectCreated", "Schedule", "email"} {
		if !strings.Contains(w, s) {
			t.Errorf("no warning about %s: %q", s, tpl.Warnings)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := map[string]struct{ src, want string }{
		"not yaml":      {"Resources: [", "template:"},
		"no resources":  {"Description: x\n", "no Resources"},
		"no functions":  {"Resources:\n  B:\n    Type: AWS::S3::Bucket\n", "no AWS::Serverless::Function"},
		"s3 code":       {"Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      Code: {S3Bucket: b, S3Key: k}\n", "Code in S3"},
		"inline code":   {"Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      Code: {ZipFile: 'x'}\n", "inline Code.ZipFile"},
		"s3 codeuri":    {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      CodeUri: s3://b/k.zip\n", "in S3"},
		"memory":        {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      MemorySize: 64\n", "MemorySize 64"},
		"timeout":       {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      Timeout: 901\n", "Timeout 901"},
		"name":          {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: 'a b'\n      Runtime: python3.12\n      Handler: a.b\n", "function name"},
		"image":         {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n", "PackageType Image"},
		"s3 event ref":  {"Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: a.b\n      Events:\n        E:\n          Type: S3\n          Properties: {Bucket: elsewhere, Events: 's3:ObjectCreated:*'}\n", "Bucket must be a !Ref"},
		"alias bomb":    {aliasBomb(), "too many nodes"},
		"not a mapping": {"- a\n- b\n", "not a mapping"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.src), "/proj", Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// aliasBomb is a "billion laughs" document: each level doubles the
// expansion (yaml.v3 itself allows it when the aliases are few).
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i <= 30; i++ {
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [*a" + strconv.Itoa(i-1) + ", *a" + strconv.Itoa(i-1) + "]\n")
	}
	b.WriteString("Resources: *a30\n")
	return b.String()
}

func FuzzTemplate(f *testing.F) {
	for _, p := range []string{"testdata/sam/template.yaml", "testdata/cdk.out/XrayStarterStack.template.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: !Sub '${F.Arn}${AWS::Region}', Handler: !GetAtt F.Arn, FunctionName: !Ref F}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse(data, "/proj", Options{})
		if err != nil {
			return
		}
		if len(tpl.Functions) == 0 {
			t.Fatal("a template without functions parsed without error")
		}
		for _, fn := range tpl.Functions {
			if !lambdaName.MatchString(fn.Name) || (fn.CodeDir == "") == (fn.CodeZip == "") {
				t.Fatalf("invalid function accepted: %+v", fn)
			}
		}
	})
}

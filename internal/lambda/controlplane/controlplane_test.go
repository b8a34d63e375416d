package controlplane

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSplitName(t *testing.T) {
	for in, want := range map[string][2]string{
		"fn":                         {"fn", ""},
		"fn:$LATEST":                 {"fn", "$LATEST"},
		"123456789012:function:fn":   {"fn", ""},
		"123456789012:function:fn:7": {"fn", "7"},
		"arn:aws:lambda:us-east-1:123456789012:function:fn":     {"fn", ""},
		"arn:aws:lambda:us-east-1:123456789012:function:fn:prd": {"fn", "prd"},
	} {
		if n, q := splitName(in); n != want[0] || q != want[1] {
			t.Errorf("%s: %q %q, want %q", in, n, q, want)
		}
	}
}

func TestApplyValidates(t *testing.T) {
	for body, want := range map[string]string{
		`{"Timeout":0}`:                   "timeout",
		`{"Timeout":901}`:                 "timeout",
		`{"MemorySize":64}`:               "memorySize",
		`{"TracingConfig":{"Mode":"On"}}`: "tracingConfig",
		`{"Environment":{"Variables":{"AWS_REGION":"x"}}}`:   "reserved keys",
		`{"PackageType":"Image"}`:                            "Image",
		`{"Description":"` + strings.Repeat("d", 257) + `"}`: "description",
	} {
		var in configInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatal(err)
		}
		f := Function{}
		if err := in.apply(&f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	var in configInput
	json.Unmarshal([]byte(`{"Runtime":"python3.12","Handler":"app.h","Timeout":30,"MemorySize":512,"TracingConfig":{"Mode":"Active"},"Environment":{"Variables":{"A":"1"}}}`), &in)
	f := Function{}
	if err := in.apply(&f); err != nil || f.Runtime != "python3.12" || f.Handler != "app.h" || f.Timeout != 30*time.Second ||
		f.MemoryMB != 512 || f.Tracing != "Active" || f.Environment["A"] != "1" {
		t.Errorf("apply: %+v %v", f, err)
	}
}

// FuzzConfigInput: whatever a CreateFunction/UpdateFunctionConfiguration
// body holds, what apply accepts is within Lambda's limits.
func FuzzConfigInput(f *testing.F) {
	f.Add([]byte(`{"Runtime":"python3.12","Handler":"app.h","Timeout":30,"MemorySize":512,"TracingConfig":{"Mode":"Active"}}`))
	f.Add([]byte(`{"Timeout":-1,"MemorySize":99999999999}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in configInput
		if json.Unmarshal(b, &in) != nil {
			return
		}
		fn := Function{MemoryMB: 128, Timeout: 3 * time.Second, Tracing: "PassThrough"}
		if in.apply(&fn) != nil {
			return
		}
		if fn.MemoryMB < 128 || fn.MemoryMB > 10240 || fn.Timeout < time.Second || fn.Timeout > 900*time.Second ||
			(fn.Tracing != "Active" && fn.Tracing != "PassThrough") || len(fn.Description) > 256 {
			t.Fatalf("accepted %s: %+v", b, fn)
		}
		for k := range fn.Environment {
			if strings.HasPrefix(k, "AWS_") && k != "AWS_LAMBDA_EXEC_WRAPPER" {
				t.Fatalf("accepted reserved variable %s", k)
			}
		}
	})
}

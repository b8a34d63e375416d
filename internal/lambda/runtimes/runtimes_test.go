package runtimes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/counterspy/counterspy/internal/testenv"
)

func TestParse(t *testing.T) {
	for rt, want := range map[string]Kind{"": Custom, "provided": Custom, "provided.al2": Custom, "provided.al2023": Custom,
		"go1.x": Custom, "python3.9": Python, "python3.12": Python, "python3.13": Python, "nodejs18.x": Node, "nodejs22.x": Node} {
		if k, err := Parse(rt); err != nil || k != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", rt, k, err, want)
		}
	}
	for _, rt := range []string{"java21", "python2.7", "python3", "nodejs", "node20.x", "ruby3.3", "dotnet8", "provided.al2024"} {
		if _, err := Parse(rt); err == nil || !strings.Contains(err.Error(), "want python3.x") {
			t.Errorf("Parse(%q): %v, want an error", rt, err)
		}
	}
}

func TestLaunchCustom(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	l, err := s.Launch("provided.al2023", "ignored.handler", "/code")
	if err != nil || !slices.Equal(l.Command, []string{"/code/bootstrap"}) || l.RuntimeDir != "/code" || len(l.Env) != 0 {
		t.Errorf("provided.al2023: %+v %v", l, err)
	}
	if l, err = s.Launch("go1.x", "hello", "/code"); err != nil || !slices.Equal(l.Command, []string{"/code/hello"}) {
		t.Errorf("go1.x: %+v %v", l, err)
	}
	if _, err = s.Launch("java21", "x", "/code"); err == nil {
		t.Error("java21: no error")
	}
}

func TestLaunchPython(t *testing.T) {
	testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3")
	s := New(Options{})
	l, err := s.Launch("python3.12", "app.handler", "/code")
	if err != nil {
		t.Fatal(err)
	}
	if l.Command[1] != "-S" || !slices.Contains(l.Env, "AWS_EXECUTION_ENV=AWS_Lambda_python3.12") {
		t.Errorf("launch: %+v", l)
	}
	var path string
	for _, kv := range l.Env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			path = v
		}
	}
	parts := strings.Split(path, ":")
	if len(parts) != 3 || parts[0] != "/code" || parts[1] != l.RuntimeDir {
		t.Fatalf("PYTHONPATH %q", path)
	}
	// The runtime-provided directory holds boto3 and its dependencies, not
	// the host's other packages.
	if _, err := os.Stat(filepath.Join(parts[2], "boto3", "__init__.py")); err != nil {
		t.Errorf("boto3 not provided: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(parts[2], "aws_xray_sdk")); err == nil {
		t.Error("aws_xray_sdk is provided by the runtime; AWS's is not")
	}
	dir := l.RuntimeDir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("runtime directory left behind: %v", err)
	}
}

func TestVendorPython(t *testing.T) {
	testenv.Require(t, "python3", "COUNTERSPY_PYTHON", "python3")
	dst := t.TempDir()
	if err := VendorPython("", dst, "json"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "json", "__init__.py")); err != nil {
		t.Errorf("json not vendored: %v", err)
	}
	if err := VendorPython("", dst, "no_such_module_xyz"); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("missing module: %v", err)
	}
}

// Package testenv finds the external programs tests need. Outside CI a
// missing program skips the test; in CI (CI=true) it fails it, because the
// test command installs everything.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of a program: the first of envVar's value and the
// candidate paths that exists.
func Require(t testing.TB, what, envVar string, candidates ...string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		candidates = append([]string{p}, candidates...)
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	missing(t, what+" not found (set "+envVar+"; scripts/test installs it)")
	return ""
}

// AWSCLI returns the AWS CLI v2 (a plain `aws` on PATH may be an old v1).
func AWSCLI(t testing.TB) string {
	return Require(t, "AWS CLI v2", "COUNTERSPY_AWS_CLI", "/usr/bin/aws")
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Chromium returns a headless-capable Chromium (Debian's chromium package;
// scripts/test installs it).
func Chromium(t testing.TB) string {
	return Require(t, "Chromium", "COUNTERSPY_CHROMIUM", "/usr/bin/chromium", "chromium")
}

// Node returns the Node.js interpreter that runs the console's browser tests.
func Node(t testing.TB) string {
	return Require(t, "Node.js", "COUNTERSPY_NODE", "node")
}

// NodeModule checks that the npm package pkg is installed under
// dir/node_modules (scripts/test runs `npm ci` in web/).
func NodeModule(t testing.TB, dir, pkg string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		missing(t, "npm package "+pkg+" not installed in "+dir+" (run `npm ci` there; scripts/test does)")
	}
}

// Package testenv finds the external programs tests need. Outside CI a
// missing program skips the test; in CI (CI=true) it fails it, because the
// test command installs everything.
package testenv

import (
	"os"
	"os/exec"
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

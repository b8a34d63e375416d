package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Boto3 returns a Python 3 interpreter that can import boto3 (Debian's
// python3-boto3 for /usr/bin/python3; scripts/test installs it).
func Boto3(t testing.TB) string {
	t.Helper()
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("COUNTERSPY_PYTHON"); p != "" {
		candidates = append([]string{p}, candidates...)
	}
	for _, c := range candidates {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import boto3").Run() == nil {
			return p
		}
	}
	missing(t, "Python 3 with boto3 not found (set COUNTERSPY_PYTHON; scripts/test installs python3-boto3)")
	return ""
}

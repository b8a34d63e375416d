package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compact reads COUNTERSPY_DATA_DIR as serve does (one environment name per
// flag name across commands), and the flag still wins.
func TestCompactDataDirFromEnvironment(t *testing.T) {
	withStore, without := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(withStore, "traces"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COUNTERSPY_DATA_DIR", without)
	if code, _, errOut := runCLI("compact"); code != 1 || !strings.Contains(errOut, without) {
		t.Errorf("compact with COUNTERSPY_DATA_DIR=%s (no store): exit %d, %q; want an error naming it", without, code, errOut)
	}
	t.Setenv("COUNTERSPY_DATA_DIR", withStore)
	if code, _, errOut := runCLI("compact"); code != 0 {
		t.Errorf("compact with COUNTERSPY_DATA_DIR=%s: exit %d: %s", withStore, code, errOut)
	}
	if code, _, errOut := runCLI("compact", "--data-dir", without); code != 1 || !strings.Contains(errOut, without) {
		t.Errorf("compact --data-dir %s under COUNTERSPY_DATA_DIR=%s: exit %d, %q; want the flag to win", without, withStore, code, errOut)
	}
}

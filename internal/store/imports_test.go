package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports checks the data flow below the contract (docs/architecture.md):
// no store package depends, outside its tests, on a package above the store
// (index, summary, segment and everything that builds on them). Within the
// module a store package may use only these.
func TestImports(t *testing.T) {
	const module = "github.com/counterspy/counterspy/"
	allowed := []string{
		module + "internal/store",   // the contract and its backends
		module + "internal/logs",    // the log record type of LogStore
		module + "internal/xrayid",  // trace and segment IDs
		module + "internal/testenv", // chtest: how tests find clickhouse-server
	}
	// .Deps are the transitive imports without the tests'.
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"internal/store/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list listed %d store packages:\n%s", len(lines), out)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, dep := range f[1:] {
			if !strings.HasPrefix(dep, module) {
				continue
			}
			ok := false
			for _, a := range allowed {
				if dep == a || strings.HasPrefix(dep, a+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s depends on %s: store packages may not import packages above the store", f[0], dep)
			}
		}
	}
}

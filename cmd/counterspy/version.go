package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

func init() {
	commands["version"] = command{"print the version, commit, Go version and store format of this binary", runVersion}
}

// commit can be set at link time (-ldflags "-X main.commit=...") for builds
// made without VCS stamping; a build from a git checkout stamps it itself.
var commit = ""

// buildVersion describes this binary.
type buildVersion struct {
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	Modified    bool   `json:"modified,omitempty"`
	GoVersion   string `json:"go"`
	StoreFormat int    `json:"store_format"`
}

func currentVersion() buildVersion {
	v := buildVersion{Version: "(devel)", Commit: commit, StoreFormat: pebblestore.FormatVersion()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.GoVersion = bi.GoVersion
	if bi.Main.Version != "" {
		// "(devel)" from a checkout; vX.Y.Z from `go install module@vX.Y.Z`.
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.Commit == "" {
				v.Commit = s.Value
			}
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: the banner's first line and `version`'s output.
func (v buildVersion) String() string {
	c := v.Commit
	switch {
	case c == "":
		c = "unknown commit (built without VCS stamping)"
	case len(c) > 12:
		c = "commit " + c[:12]
	default:
		c = "commit " + c
	}
	if v.Modified {
		c += "+modified"
	}
	return fmt.Sprintf("counterspy %s (%s, %s, store format %d)", v.Version, c, v.GoVersion, v.StoreFormat)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	asJSON := fs.Bool("json", false, "print the version as a JSON object")
	setUsage(fs, "[--json]", "Prints the module version, commit, Go version and store format of this binary.",
		"counterspy version", "counterspy version --json")

	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v := currentVersion()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	_, err := fmt.Fprintln(stdout, v)
	return err
}

package lambda

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/counterspy/counterspy/internal/lambda/code"
	"github.com/counterspy/counterspy/internal/lambda/eventsource"
	"github.com/counterspy/counterspy/internal/lambda/template"
)

// DefaultCodeRoot is where deployment packages (zips from a template or
// from CreateFunction) are unpacked when no other directory is given.
func DefaultCodeRoot() string { return filepath.Join(os.TempDir(), "counterspy-lambda-code") }

// LoadTemplate reads the functions, buckets and topics of a SAM
// template.yaml or a synthesized CloudFormation template (cdk.out/*.template.json)
// into a Config. Zipped code is unpacked under codeRoot (default
// DefaultCodeRoot). The warnings name what the template declares but the
// emulator does not run.
func LoadTemplate(path, codeRoot string, region, accountID string) (Config, []string, error) {
	if region == "" {
		region = DefaultRegion
	}
	if accountID == "" {
		accountID = DefaultAccountID
	}
	t, err := template.Load(path, template.Options{Region: region, AccountID: accountID})
	if err != nil {
		return Config{}, nil, err
	}
	if codeRoot == "" {
		codeRoot = DefaultCodeRoot()
	}
	cfg := Config{Region: region, AccountID: accountID}
	for _, f := range t.Functions {
		dir := f.CodeDir
		if f.CodeZip != "" {
			b, err := os.ReadFile(f.CodeZip)
			if err != nil {
				return Config{}, nil, fmt.Errorf("%s: function %s: %w", path, f.Name, err)
			}
			if dir, err = unpack(codeRoot, f.Name, b); err != nil {
				return Config{}, nil, fmt.Errorf("%s: function %s: %s: %w", path, f.Name, f.CodeZip, err)
			}
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return Config{}, nil, fmt.Errorf("%s: function %s: code directory %s does not exist (build the project first: sam build, cdk synth)", path, f.Name, dir)
		}
		cfg.Functions = append(cfg.Functions, FunctionConfig{
			// No command: the emulator starts the runtime as Lambda does
			// (package runtimes).
			Name: f.Name, Dir: dir, Handler: f.Handler, Runtime: f.Runtime,
			MemoryMB: f.MemoryMB, Timeout: Duration(f.Timeout), Environment: f.Environment, Tracing: f.Tracing,
			Concurrency: f.ReservedConcurrency,
		})
	}
	for _, b := range t.Buckets {
		cfg.Buckets = append(cfg.Buckets, eventsource.Bucket{Name: b.Name, Topic: b.Topic, Functions: b.Functions})
	}
	for _, tp := range t.Topics {
		cfg.Topics = append(cfg.Topics, eventsource.Topic{Name: tp.Name, Subscribers: tp.Subscribers})
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, t.Warnings, nil
}

// unpack extracts a deployment package into codeRoot/<function>-<hash>,
// reusing the directory when the same package was unpacked before.
func unpack(codeRoot, function string, zip []byte) (string, error) {
	sum := strings.NewReplacer("/", "_", "+", "-", "=", "").Replace(code.Sha256(zip))
	dir := filepath.Join(codeRoot, function+"-"+sum[:16])
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, nil
	}
	// Unpack next to it and rename, so a crash never leaves half a package
	// under the reused name.
	tmp := dir + ".tmp-" + newSuffix()
	if err := code.Unzip(zip, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return dir, nil // unpacked meanwhile by another caller
		}
		return "", err
	}
	return dir, nil
}

func newSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LoadFile reads a functions.json file (see Load) or a template (see
// LoadTemplate, codeRoot): YAML files and JSON documents with a top-level
// Resources section are templates.
func LoadFile(path, codeRoot string) (Config, []string, error) {
	if isTemplate(path) {
		return LoadTemplate(path, codeRoot, "", "")
	}
	cfg, err := Load(path)
	return cfg, nil, err
}

func isTemplate(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return true
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	_, ok := top["Resources"]
	return ok
}

// Package runtimes starts functions defined by a managed runtime and a
// handler, the way Lambda does: for python3.x and nodejs*.x it runs the
// language's runtime interface client (the official one when it is
// installed, else the client shipped here, embedded in the binary) with
// the function's code directory as LAMBDA_TASK_ROOT; for provided.* and
// go1.x it runs the code directory's executable (bootstrap, or the
// handler for go1.x).
//
// Python functions see what AWS's Python runtime provides — the standard
// library and the AWS SDK (boto3, botocore and their dependencies) — plus
// their code directory, and not the host's other site-packages: on AWS a
// module that was not packaged with the function (the seed post's
// aws_xray_sdk) fails to import with Runtime.ImportModuleError, and it
// must fail here too. The interpreter runs with -S (no site-packages) and
// PYTHONPATH lists the task root, the runtime client and a directory of
// symlinks to the host's boto3 and its dependencies.
// See https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
// (runtimes and what they include) and
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
// (the variables a runtime sets).
package runtimes

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

//go:embed python/bootstrap.py node/index.mjs
var clients embed.FS

// Kind is a runtime family.
type Kind int

// Runtime families.
const (
	Custom Kind = iota // provided, provided.al2, provided.al2023, go1.x
	Python
	Node
)

var (
	pythonRE = regexp.MustCompile(`^python3\.[0-9]{1,2}$`)
	nodeRE   = regexp.MustCompile(`^nodejs[0-9]{1,2}\.x$`)
)

// Parse tells a runtime identifier's family; an identifier Lambda does not
// have (or that the emulator cannot run: java, dotnet, ruby) is an error.
func Parse(runtime string) (Kind, error) {
	switch {
	case runtime == "" || runtime == "provided" || runtime == "provided.al2" || runtime == "provided.al2023" || runtime == "go1.x":
		return Custom, nil
	case pythonRE.MatchString(runtime):
		return Python, nil
	case nodeRE.MatchString(runtime):
		return Node, nil
	}
	return 0, fmt.Errorf("runtime %q: want python3.x, nodejsNN.x, provided.al2023, provided.al2, provided or go1.x", runtime)
}

// Launch is how to start one function's instances.
type Launch struct {
	Command []string
	// RuntimeDir is LAMBDA_RUNTIME_DIR (the runtime client's directory).
	RuntimeDir string
	// Env are the runtime's own variables (AWS_EXECUTION_ENV, PYTHONPATH,
	// NODE_PATH), set before the function's environment.
	Env []string
}

// Options locate the interpreters.
type Options struct {
	// Python and Node are the interpreters (default "python3" and "node"
	// from PATH).
	Python, Node string
}

// Set prepares runtime clients on first use, in a temporary directory that
// Close removes.
type Set struct {
	opts Options

	mu     sync.Mutex
	dir    string
	python *pythonSetup
	node   string // directory of index.mjs
}

// New returns an empty set.
func New(opts Options) *Set {
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.Node == "" {
		opts.Node = "node"
	}
	return &Set{opts: opts}
}

// Close removes the runtime clients' directory.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return nil
	}
	err := os.RemoveAll(s.dir)
	s.dir, s.python, s.node = "", nil, ""
	return err
}

// Launch returns the command and runtime environment of a function with
// the given runtime, handler and code directory.
func (s *Set) Launch(runtime, handler, codeDir string) (Launch, error) {
	kind, err := Parse(runtime)
	if err != nil {
		return Launch{}, err
	}
	switch kind {
	case Python:
		return s.launchPython(runtime, handler, codeDir)
	case Node:
		return s.launchNode(runtime, handler, codeDir)
	}
	// OS-only runtimes run the code directory's bootstrap; go1.x ran the
	// executable the handler names. AWS_EXECUTION_ENV is not set for
	// them.
	exe := "bootstrap"
	if runtime == "go1.x" && handler != "" {
		exe = handler
	}
	return Launch{Command: []string{filepath.Join(codeDir, exe)}, RuntimeDir: codeDir}, nil
}

func (s *Set) tempDir() (string, error) {
	if s.dir == "" {
		d, err := os.MkdirTemp("", "counterspy-runtimes-")
		if err != nil {
			return "", fmt.Errorf("runtime clients: %w", err)
		}
		s.dir = d
	}
	return s.dir, nil
}

// writeClient writes an embedded client file under the set's directory.
func (s *Set) writeClient(name string) (string, error) {
	dir, err := s.tempDir()
	if err != nil {
		return "", err
	}
	b, err := clients.ReadFile(name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("runtime client: %w", err)
	}
	return path, nil
}

// pythonSetup is the Python runtime as prepared once per set.
type pythonSetup struct {
	interpreter string
	clientDir   string // our bootstrap.py (LAMBDA_RUNTIME_DIR)
	providedDir string // symlinks to boto3 & co.
	officialRIC bool   // awslambdaric is importable and linked in
}

// pythonProvided are the top-level modules AWS's Python runtimes include
// besides the standard library: the AWS SDK and its dependencies.
var pythonProvided = []string{"boto3", "botocore", "dateutil", "jmespath", "s3transfer", "urllib3", "six"}

// pythonRIC are awslambdaric's modules (its C extension runtime_client and
// its dependency simplejson).
var pythonRIC = []string{"awslambdaric", "runtime_client", "simplejson"}

// probe prints where the host's interpreter finds each module (null when
// it does not).
const probe = `import importlib.util, json, sys
out = {"sys.executable": sys.executable}
for m in sys.argv[1:]:
    try:
        s = importlib.util.find_spec(m)
    except Exception:
        s = None
    out[m] = None if s is None or not s.origin or s.origin in ("built-in", "frozen") else (
        s.submodule_search_locations[0] if s.submodule_search_locations else s.origin)
print(json.dumps(out))
`

func (s *Set) preparePython() (*pythonSetup, error) {
	if s.python != nil {
		return s.python, nil
	}
	interp, err := exec.LookPath(s.opts.Python)
	if err != nil {
		return nil, fmt.Errorf("python runtime: %w", err)
	}
	boot, err := s.writeClient("python/bootstrap.py")
	if err != nil {
		return nil, err
	}
	ps := &pythonSetup{interpreter: interp, clientDir: filepath.Dir(boot),
		providedDir: filepath.Join(s.dir, "python-provided")}
	if err := os.MkdirAll(ps.providedDir, 0o755); err != nil {
		return nil, err
	}
	where, err := probePython(interp, append(pythonProvided, pythonRIC...))
	if err != nil {
		return nil, fmt.Errorf("python runtime: %w", err)
	}
	// The interpreter itself rather than a wrapper such as pyenv's shim,
	// a shell script that would add its own start-up to every cold start.
	if exe := where["sys.executable"]; exe != nil && *exe != "" {
		ps.interpreter = *exe
	}
	link := func(m string) error {
		p := where[m]
		if p == nil {
			return nil
		}
		return os.Symlink(*p, filepath.Join(ps.providedDir, filepath.Base(*p)))
	}
	for _, m := range pythonProvided {
		if err := link(m); err != nil {
			return nil, fmt.Errorf("python runtime: %w", err)
		}
	}
	if where["awslambdaric"] != nil && where["runtime_client"] != nil {
		ps.officialRIC = true
		for _, m := range pythonRIC {
			if err := link(m); err != nil {
				return nil, fmt.Errorf("python runtime: %w", err)
			}
		}
	}
	s.python = ps
	return ps, nil
}

// probePython asks the host's interpreter where it finds each module
// (nil when it does not).
func probePython(interp string, modules []string) (map[string]*string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, interp, append([]string{"-c", probe}, modules...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("probing %s for %v: %w", interp, modules, err)
	}
	var where map[string]*string
	if err := json.Unmarshal(out, &where); err != nil {
		return nil, fmt.Errorf("probe output %q: %w", out, err)
	}
	return where, nil
}

// VendorPython puts the host's installation of each module into the code
// directory dst, as symbolic links: what `pip install -t dst` does for a
// deployment package, for machines that cannot reach PyPI. python is the
// interpreter whose site-packages are used ("" for python3).
func VendorPython(python, dst string, modules ...string) error {
	if python == "" {
		python = "python3"
	}
	where, err := probePython(python, modules)
	if err != nil {
		return err
	}
	for _, m := range modules {
		p := where[m]
		if p == nil {
			return fmt.Errorf("python module %s is not installed on this machine", m)
		}
		link := filepath.Join(dst, filepath.Base(*p))
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(*p, link); err != nil {
			return err
		}
	}
	return nil
}

func (s *Set) launchPython(runtime, handler, codeDir string) (Launch, error) {
	s.mu.Lock()
	ps, err := s.preparePython()
	s.mu.Unlock()
	if err != nil {
		return Launch{}, err
	}
	// -S: no site-packages, only what PYTHONPATH lists (see the package
	// comment). awslambdaric's entry point takes the handler as argument
	// and the task root as working directory.
	cmd := []string{ps.interpreter, "-S", filepath.Join(ps.clientDir, "bootstrap.py")}
	if ps.officialRIC {
		cmd = []string{ps.interpreter, "-S", "-m", "awslambdaric", handler}
	}
	return Launch{
		Command:    cmd,
		RuntimeDir: ps.clientDir,
		Env: []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
			"PYTHONPATH=" + strings.Join([]string{codeDir, ps.clientDir, ps.providedDir}, string(os.PathListSeparator)),
			// Lambda's task root is read-only: no byte code written into
			// the user's code directory. (A PYTHONPYCACHEPREFIX would also
			// hide boto3's existing byte code and recompile it on every
			// cold start.)
			"PYTHONDONTWRITEBYTECODE=1",
		},
	}, nil
}

func (s *Set) launchNode(runtime, handler, codeDir string) (Launch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node, err := exec.LookPath(s.opts.Node)
	if err != nil {
		return Launch{}, fmt.Errorf("node runtime: %w", err)
	}
	if s.node == "" {
		p, err := s.writeClient("node/index.mjs")
		if err != nil {
			return Launch{}, err
		}
		s.node = filepath.Dir(p)
	}
	cmd := []string{node, filepath.Join(s.node, "index.mjs")}
	// The official client, when the function bundles it
	// (npm install aws-lambda-ric), takes the handler as argument.
	if ric := filepath.Join(codeDir, "node_modules", ".bin", "aws-lambda-ric"); isFile(ric) {
		cmd = []string{ric, handler}
	}
	return Launch{
		Command:    cmd,
		RuntimeDir: s.node,
		Env: []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
			// As Lambda's Node runtimes set it, with our directories for
			// /opt and /var/runtime: lets CommonJS handlers require()
			// what the runtime provides.
			"NODE_PATH=" + strings.Join([]string{s.node, codeDir}, string(os.PathListSeparator)),
		},
	}, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

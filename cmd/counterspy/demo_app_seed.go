package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/counterspy/counterspy/internal/lambda"
	"github.com/counterspy/counterspy/internal/lambda/runtimes"
)

// The seed post's Python and TypeScript functions, run by the emulator's
// managed runtimes from their code directories.
const (
	demoPyFunction = "xraystarter-py"
	demoTSFunction = "xraystarter-ts"
)

// prepareSeedFunctions makes the code directories of the Python and
// TypeScript functions: the Python one is a deployment package built in
// dir (lambda_function.py plus aws_xray_sdk and wrapt from this machine's
// Python, as `pip install -t` would add them; without them when
// withoutXRaySDK, which reproduces the post's Runtime.ImportModuleError);
// the TypeScript one is examples/xraystarter-ts with its node_modules. A
// function whose language or dependencies are missing here is left out,
// with a message saying why: the demo never shows a trace for code that
// did not run.
func prepareSeedFunctions(ctx context.Context, repo, dir string, withoutXRaySDK bool, out io.Writer) (pyDir, nodeDir string) {
	repo, err := findRepo(ctx, repo)
	if err != nil {
		fmt.Fprintf(out, "counterspy demo: Python and TypeScript functions not run: %v\n", err)
		return "", ""
	}
	pyDir, err = preparePython(repo, filepath.Join(dir, demoPyFunction), withoutXRaySDK)
	if err != nil {
		fmt.Fprintf(out, "counterspy demo: %s not run: %v\n", demoPyFunction, err)
		pyDir = ""
	}
	nodeDir = filepath.Join(repo, "examples", demoTSFunction)
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Fprintf(out, "counterspy demo: %s not run: node is not installed\n", demoTSFunction)
		nodeDir = ""
	} else if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "aws-xray-sdk-core")); err != nil {
		fmt.Fprintf(out, "counterspy demo: %s not run: its dependencies are not installed (run `npm ci` in %s)\n", demoTSFunction, nodeDir)
		nodeDir = ""
	}
	return pyDir, nodeDir
}

func preparePython(repo, dst string, withoutXRaySDK bool) (string, error) {
	if _, err := exec.LookPath("python3"); err != nil {
		return "", fmt.Errorf("python3 is not installed")
	}
	src, err := os.ReadFile(filepath.Join(repo, "examples", demoPyFunction, "lambda_function.py"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dst, "lambda_function.py"), src, 0o644); err != nil {
		return "", err
	}
	if !withoutXRaySDK {
		if err := runtimes.VendorPython("", dst, "aws_xray_sdk", "wrapt"); err != nil {
			return "", fmt.Errorf("%w (pass --python-without-xray-sdk to run it without, as in the seed post)", err)
		}
	}
	return dst, nil
}

// seedFunctions defines the Python and TypeScript functions whose code
// directories are given, as the seed app's CDK stack deploys them.
func seedFunctions(pyDir, nodeDir string, env map[string]string) []lambda.FunctionConfig {
	var fns []lambda.FunctionConfig
	if pyDir != "" {
		fns = append(fns, lambda.FunctionConfig{Name: demoPyFunction, Runtime: "python3.12", Handler: "lambda_function.lambda_handler",
			Dir: pyDir, MemoryMB: 128, Timeout: lambda.Duration(10 * time.Second), Tracing: "Active", Environment: env})
	}
	if nodeDir != "" {
		fns = append(fns, lambda.FunctionConfig{Name: demoTSFunction, Runtime: "nodejs20.x", Handler: "index.handler",
			Dir: nodeDir, MemoryMB: 128, Timeout: lambda.Duration(10 * time.Second), Tracing: "Active", Environment: env})
	}
	return fns
}

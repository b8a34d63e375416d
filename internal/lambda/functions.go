package lambda

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/counterspy/counterspy/internal/lambda/code"
	"github.com/counterspy/counterspy/internal/lambda/controlplane"
	"github.com/counterspy/counterspy/internal/lambda/invoke"
	"github.com/counterspy/counterspy/internal/lambda/pool"
)

// definition is a function as the emulator holds it: its configuration
// and what the control plane API reports about it.
type definition struct {
	FunctionConfig
	// reservedSet tells a reserved concurrency (Concurrency, possibly 0:
	// every invocation throttled) from the default.
	reservedSet bool
	role        string
	description string
	// managed: codeDir was unpacked by the control plane and is removed
	// once no instance runs from it.
	managed      bool
	codeSize     int64
	codeSha256   string
	lastModified time.Time
	revision     string
}

// drainTimeout bounds how long a replaced function's running invocations
// may go on (Lambda's longest timeout).
const drainTimeout = 15 * time.Minute

// put adds or replaces a function; a replaced function's pool finishes its
// running invocations in the background, then shuts down.
func (e *Emulator) put(d *definition) error {
	fc := d.FunctionConfig
	if d.reservedSet && fc.Concurrency == 0 {
		fc.Concurrency = 1 // throttled before the pool; the pool needs a size
	}
	if err := (&Config{Functions: []FunctionConfig{fc}}).Validate(); err != nil {
		return err
	}
	pf, err := e.poolFunction(fc)
	if err != nil {
		return err
	}
	p := pool.New(pf, pool.Options{Logs: e.writer, Env: e.cfg.Env, Logger: e.cfg.Logger})
	tracing := fc.Tracing
	if tracing == "" {
		tracing = invoke.Active
	}
	f := &invoke.Function{Name: fc.Name, ARN: pf.ARN, Tracing: tracing, Pool: p,
		Stopped: d.reservedSet && d.Concurrency == 0}
	if d.lastModified.IsZero() {
		d.lastModified = time.Now()
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		p.Close(0)
		return errors.New("the emulator is shutting down")
	}
	old, oldDef := e.pools[fc.Name], e.defs[fc.Name]
	e.pools[fc.Name], e.fns[fc.Name], e.defs[fc.Name] = p, f, d
	if old != nil {
		e.replaced[old] = struct{}{}
	}
	e.mu.Unlock()
	e.svc.Put(f)
	if old != nil {
		e.retire(old, oldDef, d.Dir)
	}
	return nil
}

// retire drains a replaced or deleted function's pool and removes its
// managed code directory unless the new definition still uses it.
func (e *Emulator) retire(old *pool.Pool, def *definition, keepDir string) {
	e.retiring.Go(func() {
		if err := old.Drain(drainTimeout); err != nil {
			e.log.Warn("lambda: replaced function's instances did not finish", "err", err)
		}
		e.mu.Lock()
		delete(e.replaced, old)
		e.mu.Unlock()
		if def != nil && def.managed && def.Dir != keepDir {
			if err := os.RemoveAll(def.Dir); err != nil {
				e.log.Warn("lambda: removing old function code", "dir", def.Dir, "err", err)
			}
		}
	})
}

// remove deletes a function.
func (e *Emulator) remove(name string) error {
	e.mu.Lock()
	p, d := e.pools[name], e.defs[name]
	if p == nil {
		e.mu.Unlock()
		return controlplane.ErrNotFound
	}
	delete(e.pools, name)
	delete(e.fns, name)
	delete(e.defs, name)
	e.replaced[p] = struct{}{}
	e.mu.Unlock()
	e.svc.Remove(name)
	e.retire(p, d, "")
	return nil
}

// controlPlane serves the control plane operations on the emulator's
// functions.
func (e *Emulator) controlPlane() *controlplane.Service {
	root := e.cfg.CodeRoot
	if root == "" {
		root = DefaultCodeRoot()
	}
	return controlplane.New(backend{e}, root, e.log)
}

// backend adapts the emulator to the control plane.
type backend struct{ e *Emulator }

func (b backend) ARN(name string) string { return b.e.ARN(name) }

func (b backend) Functions() []controlplane.Function {
	b.e.mu.RLock()
	defs := make([]*definition, 0, len(b.e.defs))
	for _, d := range b.e.defs {
		defs = append(defs, d)
	}
	b.e.mu.RUnlock()
	out := make([]controlplane.Function, 0, len(defs))
	for _, d := range defs {
		out = append(out, b.e.describe(d))
	}
	return out
}

func (b backend) Function(name string) (controlplane.Function, bool) {
	b.e.mu.RLock()
	d, ok := b.e.defs[name]
	b.e.mu.RUnlock()
	if !ok {
		return controlplane.Function{}, false
	}
	return b.e.describe(d), true
}

func (b backend) Create(f controlplane.Function) error {
	b.e.mu.RLock()
	_, exists := b.e.defs[f.Name]
	b.e.mu.RUnlock()
	if exists {
		return controlplane.ErrExists
	}
	return b.e.put(definitionOf(f))
}

func (b backend) Update(f controlplane.Function) error {
	b.e.mu.RLock()
	_, exists := b.e.defs[f.Name]
	b.e.mu.RUnlock()
	if !exists {
		return controlplane.ErrNotFound
	}
	return b.e.put(definitionOf(f))
}

func (b backend) Delete(name string) error { return b.e.remove(name) }

// describe is a definition as the control plane reports it; the size and
// hash of configured (not uploaded) code are those of its executable,
// computed once.
func (e *Emulator) describe(d *definition) controlplane.Function {
	e.mu.RLock()
	fc, size, sha := d.FunctionConfig, d.codeSize, d.codeSha256
	var pf pool.Function
	if p := e.pools[d.Name]; p != nil {
		pf = p.Function()
	}
	e.mu.RUnlock()
	if sha == "" && len(pf.Command) > 0 {
		if b, err := os.ReadFile(pf.Command[0]); err == nil {
			size, sha = int64(len(b)), code.Sha256(b)
			e.mu.Lock()
			d.codeSize, d.codeSha256 = size, sha
			e.mu.Unlock()
		}
	}
	f := controlplane.Function{
		Name: fc.Name, Runtime: fc.Runtime, Handler: fc.Handler, Role: d.role, Description: d.description,
		MemoryMB: pf.MemoryMB, Timeout: pf.Timeout, Environment: fc.Environment, Tracing: fc.Tracing,
		CodeDir: pf.Dir, Managed: d.managed, CodeSize: size, CodeSha256: sha, Command: fc.Command,
		LastModified: d.lastModified, RevisionID: d.revision,
	}
	if f.Tracing == "" {
		f.Tracing = invoke.Active
	}
	if f.Runtime == "" {
		f.Runtime = pf.Runtime
	}
	if f.Handler == "" {
		f.Handler = pf.Handler
	}
	if d.reservedSet {
		n := fc.Concurrency
		f.Reserved = &n
	}
	return f
}

// definitionOf turns a control plane definition into the emulator's.
func definitionOf(f controlplane.Function) *definition {
	// Without a command the emulator starts the runtime as Lambda does
	// (package runtimes).
	cmd := slices.Clone(f.Command)
	d := &definition{
		FunctionConfig: FunctionConfig{
			Name: f.Name, Command: cmd, Dir: f.CodeDir, Handler: f.Handler, Runtime: f.Runtime,
			MemoryMB: f.MemoryMB, Timeout: Duration(f.Timeout), Environment: f.Environment, Tracing: f.Tracing,
		},
		role: f.Role, description: f.Description, managed: f.Managed, codeSize: f.CodeSize,
		codeSha256: f.CodeSha256, lastModified: f.LastModified, revision: f.RevisionID,
	}
	if f.Reserved != nil {
		d.reservedSet, d.Concurrency = true, *f.Reserved
	}
	return d
}

// String helps error messages name a definition.
func (d *definition) String() string { return fmt.Sprintf("function %s (%s)", d.Name, d.Dir) }

// Package instance runs one function instance's process: start with the
// Lambda environment, line-by-line capture of stdout and stderr with each
// line attributed to the invocation that wrote it, peak memory from /proc,
// and shutdown of the whole process group.
package instance

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/counterspy/counterspy/internal/logs"
)

// Spec says what to run.
type Spec struct {
	// Command is the program and its arguments; Command[0] is looked up in
	// PATH when it has no slash.
	Command []string
	Dir     string
	// Env is the complete environment (KEY=VALUE).
	Env []string
	// Output receives every line the process writes, with the attribution
	// set by the last Attribute barrier the line came after. It is called
	// from the two reader goroutines (stdout, stderr), never concurrently
	// for one stream.
	Output func(Line)
}

// Line is one line of output.
type Line struct {
	Stream logs.Stream
	Time   time.Time
	Text   string
	Attr   Attribution
}

// Attribution tells which invocation the following lines belong to.
type Attribution struct {
	RequestID, TraceID string
}

// Process is a running (or finished) instance process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // exit error, valid after exited

	outs    [2]*reader
	writers [2]*os.File // our copies of the pipes' write ends (barriers)
	wmu     sync.Mutex
	nonce   string
	attrs   []Attribution // barrier number → attribution
	outDone chan struct{}
}

// Start starts the process in its own process group.
func Start(spec Spec) (*Process, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("no command")
	}
	var nonce [8]byte
	crand.Read(nonce[:])
	p := &Process{exited: make(chan struct{}), outDone: make(chan struct{}), nonce: hex.EncodeToString(nonce[:])}
	var childEnds [2]*os.File
	for i, stream := range []logs.Stream{logs.Stdout, logs.Stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closePipes(childEnds[:])
			return nil, err
		}
		childEnds[i], p.writers[i] = w, w
		p.outs[i] = newReader(r, stream, p.nonce, spec.Output, p.attribution)
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = childEnds[0], childEnds[1]
	// A process group, so a timeout or shutdown ends everything the
	// function started; Pdeathsig so nothing outlives a crashed emulator.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		for _, o := range p.outs {
			o.f.Close()
		}
		p.closePipes(p.writers[:])
		return nil, fmt.Errorf("start %q: %w", spec.Command[0], err)
	}
	p.cmd = cmd
	for _, o := range p.outs {
		go o.run()
	}
	go func() {
		p.err = cmd.Wait()
		// The child is gone: drop our write ends so the readers see EOF
		// once any grandchildren holding the pipes are gone too.
		p.wmu.Lock()
		p.closePipes(p.writers[:])
		p.writers = [2]*os.File{}
		p.wmu.Unlock()
		close(p.exited)
	}()
	go func() {
		for _, o := range p.outs {
			<-o.done
		}
		close(p.outDone)
	}()
	return p, nil
}

func (p *Process) closePipes(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitErr is the exit status as an error (nil for status 0); valid once
// Exited is closed.
func (p *Process) ExitErr() error { return p.err }

// OutputDone is closed when both output streams reached their end (after
// exit).
func (p *Process) OutputDone() <-chan struct{} { return p.outDone }

// Attribute makes the lines written from now on belong to a. It writes a
// barrier into both output pipes behind everything the process has written
// so far and returns a channel closed once both readers passed it; lines
// before the barrier keep the previous attribution. Call it when the
// process is known to have finished its writes for the previous phase (it
// asked for the next event), so nothing is misattributed.
func (p *Process) Attribute(a Attribution) <-chan struct{} {
	waits := p.barrier(a, true)
	done := make(chan struct{})
	go func() {
		for _, ch := range waits {
			select {
			case <-ch:
			case <-p.outDone:
			}
		}
		close(done)
	}()
	return done
}

// Switch is Attribute without waiting for the readers.
func (p *Process) Switch(a Attribution) { p.barrier(a, false) }

func (p *Process) barrier(a Attribution, ack bool) []<-chan struct{} {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	n := len(p.attrs)
	p.attrs = append(p.attrs, a)
	marker := []byte(barrierPrefix + p.nonce + ":" + strconv.Itoa(n) + "\x00")
	var waits []<-chan struct{}
	for i, w := range p.writers {
		if w == nil {
			continue
		}
		var ch <-chan struct{}
		if ack {
			ch = p.outs[i].expect(n)
		}
		if _, err := w.Write(marker); err != nil {
			if ack {
				p.outs[i].forget(n)
			}
			continue
		}
		if ack {
			waits = append(waits, ch)
		}
	}
	return waits
}

func (p *Process) attribution(n int) Attribution {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if n < 0 || n >= len(p.attrs) {
		return Attribution{}
	}
	return p.attrs[n]
}

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Stop asks the process group to terminate (SIGTERM, as Lambda does at
// shutdown), then kills it after grace; it returns once the process exited.
func (p *Process) Stop(grace time.Duration) {
	p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
	}
	p.Kill()
}

// Kill kills the process group and waits for the process to exit.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	// Children of the group that escaped the group are not waited for.
	<-p.exited
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

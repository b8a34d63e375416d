package instance

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// PeakMemory returns the peak resident memory in bytes of the process and
// its live descendants (the sum of their VmHWM in /proc/<pid>/status), like
// Lambda's "Max Memory Used" of the sandbox. Peaks cannot be reset, so this
// is the maximum so far for the instance, as Lambda reports it. For a
// process that exited it returns the kernel's ru_maxrss of it.
func (p *Process) PeakMemory() int64 {
	select {
	case <-p.exited:
		if st := p.cmd.ProcessState; st != nil {
			if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
				return ru.Maxrss << 10
			}
		}
		return 0
	default:
	}
	var total int64
	seen := map[int]bool{}
	var walk func(pid, depth int)
	walk = func(pid, depth int) {
		if seen[pid] || depth > 8 {
			return
		}
		seen[pid] = true
		total += vmHWM(pid)
		for _, c := range children(pid) {
			walk(c, depth+1)
		}
	}
	walk(p.cmd.Process.Pid, 0)
	return total
}

// vmHWM reads the VmHWM line of /proc/<pid>/status, in bytes.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len("VmHWM:"):])
	if len(f) < 2 {
		return 0
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// children lists the child processes of pid (all its threads' children).
func children(pid int) []int {
	base := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(base + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

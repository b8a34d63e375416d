package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A server's CPU cost per stored segment depends on how busy the machine
// is, not only on the code: when other processes keep the cores busy, the
// server's readers find many datagrams waiting in the socket and its
// goroutines rarely park, so each segment costs less CPU than on an idle
// machine, where every datagram wakes a sleeping thread. The same command
// gave 36–40 k segments per server CPU-second on a 2-core VM with a load
// average of 12–17 and 14–16 k on a quiet one (docs/benchmarks.md). So the
// load report states the conditions of its run beside the figure.

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 on every Linux
// architecture Go supports (proc(5)).
const userHZ = 100

// hostSample is the machine's CPU time and this process's own CPU time at one
// instant.
type hostSample struct {
	at          time.Time
	busy, total float64 // seconds summed over all CPUs, from /proc/stat
	self        float64 // this process's CPU seconds
	ok          bool    // /proc/stat could be read (Linux)
}

func sampleHost() hostSample {
	s := hostSample{at: time.Now(), self: selfCPUSeconds()}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s
	}
	defer f.Close()
	s.busy, s.total, err = parseProcStat(f)
	s.ok = err == nil
	return s
}

// parseProcStat reads the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal ... (proc(5)). Idle and iowait are
// the machine's spare time; guest times are already counted in user.
func parseProcStat(r io.Reader) (busy, total float64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[0] != "cpu" {
			continue
		}
		for i, f := range fields[1:min(len(fields), 9)] {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat cpu field %d: %w", i+1, err)
			}
			total += v / userHZ
			if i != 3 && i != 4 { // idle, iowait
				busy += v / userHZ
			}
		}
		return busy, total, nil
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("/proc/stat: %w", err)
	}
	return 0, 0, fmt.Errorf("/proc/stat: no aggregate cpu line")
}

func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// conditions describes the run between two samples: the machine's busy
// cores, the load generator's own CPU and, when the server runs on this
// machine, the cores everything else used (other_cores). A figure taken
// with other_cores well above zero is not comparable with a quiet run.
func conditions(before, after hostSample, serverCPU float64) string {
	wall := after.at.Sub(before.at).Seconds()
	loadgenCPU := after.self - before.self
	var b strings.Builder
	fmt.Fprintf(&b, "conditions: cpus=%d wall_seconds=%.1f loadgen_cpu_seconds=%.2f server_cores=%.2f",
		runtime.NumCPU(), wall, loadgenCPU, serverCPU/max(wall, 1e-9))
	if before.ok && after.ok && wall > 0 {
		busy := (after.busy - before.busy) / wall
		other := busy - (serverCPU+loadgenCPU)/wall
		fmt.Fprintf(&b, " machine_busy_cores=%.2f other_cores=%.2f (if the server runs on this machine)", busy, max(other, 0))
	}
	return b.String()
}

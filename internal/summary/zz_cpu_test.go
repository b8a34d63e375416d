package summary

import (
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	docs := benchTrace(t)
	small := decodeDocs(t, webDoc, apiDoc)
	var bl Builder
	measure := func(name string, n int, f func()) {
		for range n / 10 {
			f()
		}
		best := time.Duration(1 << 62)
		for range 5 {
			c := cpuNow()
			for range n {
				f()
			}
			best = min(best, (cpuNow()-c)/time.Duration(n))
		}
		t.Logf("%-28s %v CPU/op", name, best)
	}
	measure("Build ten docs", 20000, func() { bl.Build(testTraceID, docs, 1) })
	measure("Build two docs", 20000, func() { bl.Build(testTraceID, small, 1) })
	s := Build(testTraceID, docs, 1)
	buf := s.AppendBinary(nil)
	measure("AppendBinary ten docs", 20000, func() { buf = s.AppendBinary(buf[:0]) })
	var dst Summary
	measure("Unmarshal ten docs", 20000, func() { dst.UnmarshalBinary(buf) })
	s2 := Build(testTraceID, realisticTrace(t), 1)
	buf2 := s2.AppendBinary(nil)
	measure("Unmarshal two services", 50000, func() { dst.UnmarshalBinary(buf2) })
	measure("Unmarshal two svc fresh", 50000, func() { var d Summary; d.UnmarshalBinary(buf2) })
}

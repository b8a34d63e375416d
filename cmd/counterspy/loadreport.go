package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// serverProbe reads a Counterspy server's /metrics around a load run, so
// `counterspy loadgen --server` can report what the server spent: segments
// durably stored per server CPU-second, drops, memory.
type serverProbe struct {
	url    string
	client *http.Client

	mu     sync.Mutex
	maxRSS float64
	stop   chan struct{}
	done   chan struct{}
}

// serverMetrics are the counters the report uses.
type serverMetrics struct {
	cpu, stored, received, rejected, dropped, kernelDrops, rss, diskBytes float64
	// otlpSpans counts spans the OTLP receivers stored (acknowledged).
	otlpSpans float64
}

func newServerProbe(base string) *serverProbe {
	base = strings.TrimSuffix(base, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &serverProbe{url: base + "/metrics", client: &http.Client{Timeout: 10 * time.Second}}
}

func (p *serverProbe) scrape(ctx context.Context) (serverMetrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return serverMetrics{}, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return serverMetrics{}, fmt.Errorf("scrape %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverMetrics{}, fmt.Errorf("scrape %s: %s", p.url, resp.Status)
	}
	return parseServerMetrics(resp.Body)
}

func parseServerMetrics(r io.Reader) (serverMetrics, error) {
	var m serverMetrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name, val := line[:sp], line[sp+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		base, _, _ := strings.Cut(name, "{")
		switch base {
		case "process_cpu_seconds_total":
			m.cpu = v
		case "counterspy_segments_stored_total":
			m.stored = v
		case "counterspy_segments_received_total":
			m.received += v
			if strings.Contains(name, `protocol="otlp_`) {
				m.otlpSpans += v
			}
		case "counterspy_segments_rejected_total":
			m.rejected += v
		case "counterspy_segments_dropped_total":
			// Every reason; the UDP receiver's not-queued counter counts
			// the same segments again.
			m.dropped += v
		case "counterspy_udp_kernel_drops_total":
			m.kernelDrops = v
		case "process_resident_memory_bytes":
			m.rss = v
		case "counterspy_store_disk_bytes":
			m.diskBytes = v
		}
	}
	return m, sc.Err()
}

// watchRSS samples the server's resident memory during the run.
func (p *serverProbe) watchRSS(ctx context.Context) {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := p.scrape(ctx); err == nil {
				p.mu.Lock()
				p.maxRSS = max(p.maxRSS, m.rss)
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// settle waits until the server has stored (or dropped, or rejected)
// everything it received and its counters stop moving, then returns them.
func (p *serverProbe) settle(ctx context.Context, before serverMetrics, sent int64) (serverMetrics, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var last serverMetrics
	stable := 0
	for {
		m, err := p.scrape(ctx)
		if err != nil {
			return m, err
		}
		accounted := (m.stored - before.stored) + (m.rejected - before.rejected) + (m.dropped - before.dropped) +
			(m.kernelDrops - before.kernelDrops)
		if m.stored == last.stored && m.received == last.received {
			stable++
		} else {
			stable = 0
		}
		if (accounted >= float64(sent) && stable >= 2) || stable >= 10 || time.Now().After(deadline) {
			close(p.stop)
			<-p.done
			return m, nil
		}
		last = m
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (p *serverProbe) report(w io.Writer, before, after serverMetrics, sent int64, meanDoc float64) {
	stored := after.stored - before.stored
	cpu := after.cpu - before.cpu
	fmt.Fprintf(w, "server: stored=%.0f of sent=%d rejected=%.0f dropped=%.0f kernel_drops=%.0f cpu_seconds=%.2f",
		stored, sent, after.rejected-before.rejected, after.dropped-before.dropped, after.kernelDrops-before.kernelDrops, cpu)
	if cpu > 0 {
		fmt.Fprintf(w, " stored_per_cpu_second=%.0f", stored/cpu)
	}
	p.mu.Lock()
	fmt.Fprintf(w, " max_rss_mib=%.0f", max(p.maxRSS, after.rss)/(1<<20))
	p.mu.Unlock()
	if after.diskBytes > 0 && after.stored > 0 {
		fmt.Fprintf(w, " disk_bytes=%.0f disk_bytes_per_segment=%.0f (before compaction)", after.diskBytes, after.diskBytes/after.stored)
	}
	fmt.Fprintf(w, " mean_doc_bytes=%.0f\n", meanDoc)
}

package pebblestore

import (
	"encoding/binary"
	"sync"

	"github.com/counterspy/counterspy/internal/store"
)

// Dense terms. Some terms are carried by most traces (a service every trace
// passes through, its inferred downstream nodes): on Jaeger's tracegen load,
// 10 of a trace's 13 terms. Listing every trace under them costs most of the
// term index's bytes and serves nobody: the query planner follows a term
// only when it is selective (internal/query: IndexRatio of the probed rows),
// and scans every summary otherwise. So once a term is seen in at least half
// of the summaries written to an hour bucket (after denseMinSummaries of
// them), the bucket is marked dense for the term and later Writes stop
// listing traces under it there: the marker (a j key with the second
// denseSec and kind refDense, empty value) says "every trace of this bucket
// may carry the term", and a scan or count of the term reads the bucket's
// summaries instead, each re-checked by the caller like any candidate.
// References written before the marker stay and are redundant. Every Write
// that leaves out a reference sets the marker again in its own batch, so it
// is durable whenever an omission is, whichever Write commits first. After a
// restart the counts start again, and the markers on disk stay in force.

const (
	// refDense is the kind byte of a dense marker.
	refDense = 'd'
	// denseSec is the second field of a dense marker: above any placement
	// second a term key of the bucket can have, so markers stay out of the
	// cursors' ranges.
	denseSec = 1<<32 - 1
	// denseMinSummaries is how many summaries a bucket must have had
	// before a term may be found dense in it, so that a few early traces
	// decide nothing.
	denseMinSummaries = 1000
	// denseMaxTerms bounds the terms counted per bucket: terms unique to a
	// trace (IDs in annotations) would otherwise grow the map without
	// bound. When full, the counts start again (dense terms are found again
	// quickly; the marks stay).
	denseMaxTerms = 8192
	// denseBuckets is how many buckets keep their marks in memory.
	denseBuckets = 4
)

// denseKey is the marker of term in bucket.
func denseKey(dst []byte, bucket uint32, term store.Term) []byte {
	dst = refKeyPrefix(dst, bucket, term)
	dst = binary.BigEndian.AppendUint32(dst, denseSec)
	return append(dst, refDense)
}

// denseTracker counts terms per bucket and remembers which are dense.
type denseTracker struct {
	mu      sync.Mutex
	buckets map[uint32]*bucketTerms
	newest  uint32
}

type bucketTerms struct {
	summaries int
	counts    map[store.Term]int
	dense     map[store.Term]bool
}

type denseMark struct {
	bucket uint32
	term   store.Term
}

// filter counts a Write's summaries (sums, by the bucket of each one's
// placement second in secs) and term entries, drops the entries of terms
// dense in their bucket from terms, and returns them and the markers the
// Write must set.
func (d *denseTracker) filter(secs []uint32, terms []termEntry, marks []denseMark) ([]termEntry, []denseMark) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.buckets == nil {
		d.buckets = map[uint32]*bucketTerms{}
	}
	for _, sec := range secs {
		if bt := d.bucket(sec / termBucketSecs); bt != nil {
			bt.summaries++
		}
	}
	kept := terms[:0]
	for _, e := range terms {
		b := e.sec / termBucketSecs
		bt := d.bucket(b)
		if bt == nil {
			kept = append(kept, e)
			continue
		}
		if !bt.dense[e.term] {
			if len(bt.counts) >= denseMaxTerms {
				clear(bt.counts)
			}
			bt.counts[e.term]++
			if bt.summaries < denseMinSummaries || 2*bt.counts[e.term] < bt.summaries {
				kept = append(kept, e)
				continue
			}
			bt.dense[e.term] = true
			delete(bt.counts, e.term)
		}
		if m := (denseMark{b, e.term}); len(marks) == 0 || marks[len(marks)-1] != m {
			marks = append(marks, m)
		}
	}
	return kept, marks
}

// bucket returns the counts of bucket b, or nil for a bucket older than
// the ones kept.
func (d *denseTracker) bucket(b uint32) *bucketTerms {
	if bt, ok := d.buckets[b]; ok {
		return bt
	}
	if b+denseBuckets <= d.newest {
		return nil
	}
	bt := &bucketTerms{counts: map[store.Term]int{}, dense: map[store.Term]bool{}}
	d.buckets[b] = bt
	if b > d.newest {
		d.newest = b
		for old := range d.buckets {
			if old+denseBuckets <= b {
				delete(d.buckets, old)
			}
		}
	}
	return bt
}

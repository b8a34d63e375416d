package pebblestore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// recordOverhead approximates a record's column bytes in a frame payload,
// for cutting frames at FrameSize.
const recordOverhead = 16

// writePlan is the work of one Write before it touches the database: records
// sorted for framing, compressed frames, and one index entry per trace. Plans
// are pooled; their buffers grow to the largest batch seen.
type writePlan struct {
	sorted    []sortRec
	recs      []*store.Record
	traces    []traceEntry
	payload   []byte
	frames    []byte // compressed frame values, back to back
	frameEnds []int  // end of each frame in frames
	locs      []byte // index values, back to back
	runs      []xrayid.TraceID
	runRefs   []runRef
	key       []byte
	counts    map[uint32]int64 // records per placement minute
	// sums holds, for each SummaryRecord of the batch, its trace's entry in
	// traces. Traces with a summary but no records in the batch follow the
	// sorted ones; extra finds them.
	sums  []int
	extra map[xrayid.TraceID]int
	// terms are the batch's index entries, sorted into one merge operand
	// per term and second.
	terms []termEntry
	ids   []byte
	// secs are the placements of the batch's summaries and marks the
	// dense markers it sets (dense.go).
	secs  []uint32
	marks []denseMark
	// cells finds the sum of a graph cell's deltas in graphSums; counters
	// and spare are scratch vectors; val is a graph or log value.
	cells     map[graphCell]int
	graphSums []graphSum
	counters  []store.Counter
	spare     []store.Counter
	val       []byte
}

// termEntry is one trace indexed under one term: a reference (traceRef).
type termEntry struct {
	term store.Term
	sec  uint32
	kind byte
	ref  [refLen]byte
}

// compareTermEntries orders entries as their keys, then by reference.
func compareTermEntries(a, b termEntry) int {
	if c := cmp.Compare(a.sec/termBucketSecs, b.sec/termBucketSecs); c != 0 {
		return c
	}
	if c := cmp.Compare(a.term, b.term); c != 0 {
		return c
	}
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	return bytes.Compare(a.ref[:], b.ref[:])
}

// runRef is one run of a Write: a trace's records in one frame.
type runRef struct {
	id         xrayid.TraceID
	frame, run int
	records    int
	arrival    int64
}

// traceEntry is one trace of a Write: where its records went and where it
// is placed.
type traceEntry struct {
	id            xrayid.TraceID
	arrival       int64 // earliest arrival second in the batch
	records       int
	locEnd        int // end of its index value in locs
	sec           uint32
	writeRedirect bool
}

var writePlans = sync.Pool{New: func() any {
	return &writePlan{counts: map[uint32]int64{}, extra: map[xrayid.TraceID]int{}}
}}

// maxSummarySize bounds an encoded summary.
const maxSummarySize = 32 << 20

// Write implements store.Writer. It holds no reference to b after returning.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.tryRecover(); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if b == nil || len(b.Records) == 0 && len(b.Summaries) == 0 && len(b.Graph) == 0 && len(b.Logs) == 0 {
		return nil
	}
	for i := range b.Records {
		if r := &b.Records[i]; len(r.Doc) > maxDocSize {
			return fmt.Errorf("record %d (trace %s, segment %s): %d-byte document exceeds the %d-byte limit",
				i, r.TraceID, r.ID, len(r.Doc), maxDocSize)
		}
	}
	for i := range b.Summaries {
		if r := &b.Summaries[i]; len(r.Summary) > maxSummarySize {
			return fmt.Errorf("summary %d (trace %s): %d bytes exceeds the %d-byte limit",
				i, r.TraceID, len(r.Summary), maxSummarySize)
		}
	}
	if err := checkGraph(b.Graph); err != nil {
		return err
	}
	if err := checkLogs(b.Logs); err != nil {
		return err
	}

	p := writePlans.Get().(*writePlan)
	defer func() {
		clear(p.recs)  // drop references to the caller's records
		clear(p.cells) // drop references to the caller's deltas
		for i := range p.graphSums {
			p.graphSums[i].d = nil
		}
		writePlans.Put(p)
	}()
	now := time.Now().UnixNano()
	p.build(s.codec, b.Records, s.opts.FrameSize, now)
	p.addSummaries(b.Summaries, now)

	// Placement, sequence numbers and commit happen under dropMu (shared),
	// so that DropBefore sees either all of this Write or none of it when it
	// counts what it deletes.
	s.dropMu.RLock()
	defer s.dropMu.RUnlock()
	if err := s.checkSpace(len(p.frames) + len(p.locs)); err != nil {
		return err
	}
	seq, err := s.placeAll(p, now, len(b.Logs))
	if err != nil {
		return err
	}
	if err := s.commit(p, seq, b); err != nil {
		return fmt.Errorf("write %d records in %d frames, %d summaries, %d graph deltas and %d log lines: %w",
			len(p.recs), len(p.frameEnds), len(b.Summaries), len(b.Graph), len(b.Logs), err)
	}
	s.mu.Lock()
	for i := range p.traces {
		if t := &p.traces[i]; t.writeRedirect {
			if r, ok := s.redirects.get(t.id); ok && r.sec == t.sec {
				s.redirects.put(t.id, redirect{sec: t.sec, durable: true})
			}
		}
	}
	s.mu.Unlock()
	s.records.Add(int64(len(p.recs)))
	return nil
}

// build sorts the records, cuts and compresses frames and lays out the
// index values. It needs no lock: it only reads the batch.
func (p *writePlan) build(c *codec, records []store.Record, frameSize int, now int64) {
	p.sorted = p.sorted[:0]
	for i := range records {
		p.sorted = append(p.sorted, sortRec{name: docName(records[i].Doc), rec: &records[i], i: i})
	}
	sortRecords(p.sorted)
	p.recs = p.recs[:0]
	for _, sr := range p.sorted {
		p.recs = append(p.recs, sr.rec)
	}
	clear(p.sorted) // drop references to the caller's documents

	p.frames, p.frameEnds, p.runRefs = p.frames[:0], p.frameEnds[:0], p.runRefs[:0]
	lo, size := 0, 0
	for i, r := range p.recs {
		size += len(r.Doc) + recordOverhead
		if size < frameSize && i < len(p.recs)-1 {
			continue
		}
		frameNo := len(p.frameEnds)
		p.payload, p.runs = appendPayload(p.payload[:0], p.recs[lo:i+1], p.runs)
		p.frames = c.appendFrame(p.frames, p.payload)
		p.frameEnds = append(p.frameEnds, len(p.frames))
		run := -1
		for j, r := range p.recs[lo : i+1] {
			arrival := arrivalSec(r.Received, now)
			if j == 0 || r.TraceID != p.recs[lo+j-1].TraceID {
				run++
				p.runRefs = append(p.runRefs, runRef{id: r.TraceID, frame: frameNo, run: run, arrival: arrival})
			}
			ref := &p.runRefs[len(p.runRefs)-1]
			ref.records++
			ref.arrival = min(ref.arrival, arrival)
		}
		lo, size = i+1, 0
	}

	// One index entry per trace, listing its runs in frame order.
	slices.SortFunc(p.runRefs, func(a, b runRef) int {
		if c := compareTraceIDs(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.frame, b.frame) // runs of a trace in one frame are one run
	})
	p.traces, p.locs = p.traces[:0], p.locs[:0]
	for i, ref := range p.runRefs {
		if i == 0 || ref.id != p.runRefs[i-1].id {
			p.traces = append(p.traces, traceEntry{id: ref.id, arrival: ref.arrival})
		}
		t := &p.traces[len(p.traces)-1]
		t.arrival = min(t.arrival, ref.arrival)
		t.records += ref.records
		p.locs = binary.AppendUvarint(p.locs, uint64(ref.frame))
		p.locs = binary.AppendUvarint(p.locs, uint64(ref.run))
		t.locEnd = len(p.locs)
	}
}

// addSummaries finds the trace entry of each summary, adding entries for
// traces that have no records in the batch: they are placed like a record
// arriving now.
func (p *writePlan) addSummaries(sums []store.SummaryRecord, now int64) {
	p.sums = p.sums[:0]
	clear(p.extra)
	sorted := p.traces
	for i := range sums {
		id := sums[i].TraceID
		j, found := slices.BinarySearchFunc(sorted, id, func(t traceEntry, id xrayid.TraceID) int {
			return compareTraceIDs(t.id, id)
		})
		if !found {
			if j, found = p.extra[id]; !found {
				j = len(p.traces)
				p.traces = append(p.traces, traceEntry{id: id, arrival: arrivalSec(0, now)})
				p.extra[id] = j
			}
		}
		p.sums = append(p.sums, j)
	}
}

// sortRec is a record with its sort key, computed once.
type sortRec struct {
	name []byte
	rec  *store.Record
	i    int // position in the batch
}

// sortRecords orders a Write's records for framing: by service name, so that
// alike documents share frames and compress together, then by trace, so that
// a trace's documents in a frame form one run, then by position in the batch,
// so that a trace keeps its write order.
func sortRecords(recs []sortRec) {
	slices.SortFunc(recs, func(a, b sortRec) int {
		if c := bytes.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := compareTraceIDs(a.rec.TraceID, b.rec.TraceID); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
}

// placeAll places every trace of the plan and reserves one sequence number
// per frame, then one per log line, under s.mu.
func (s *Store) placeAll(p *writePlan, now int64, lines int) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range p.traces {
		t := &p.traces[i]
		sec, writeRedirect, err := s.placeLocked(t.id, t.arrival)
		if err != nil {
			return 0, err
		}
		t.sec, t.writeRedirect = sec, writeRedirect
		s.sums.widen(sec)
	}
	seq := max(uint64(now), s.lastSeq+1)
	s.lastSeq = seq + uint64(len(p.frameEnds)+lines) - 1
	return seq, nil
}

// commit writes the plan as one Pebble batch: frames, index keys, new
// redirects, record counts, summaries, graph counters and log lines.
func (s *Store) commit(p *writePlan, seq uint64, b *store.Batch) error {
	sums := b.Summaries
	clear(p.counts)
	for i := range p.traces {
		if n := p.traces[i].records; n > 0 {
			p.counts[p.traces[i].sec/60] += int64(n)
		}
	}
	size := len(p.frames) + len(p.frameEnds)*(frameKeyLen+8) + len(p.locs) +
		len(p.traces)*(traceKeyLen+8) + len(p.counts)*(countKeyLen+16)
	for i := range sums {
		size += summaryKeyLen + 4 + fieldHeaderLen + len(sums[i].Summary) + 2*(endKeyLen+4) + len(sums[i].Terms)*(refKeyLen+refLen+4) + 24
	}
	for i := range b.Graph {
		d := &b.Graph[i]
		size += graphMinuteLen + 2*binary.MaxVarintLen64 + len(d.Group) + len(d.Key) + len(d.Values)*(2+binary.MaxVarintLen64) + 8
	}
	for i := range b.Logs {
		size += 3 * (logDayLen + 3*binary.MaxVarintLen64 + len(b.Logs[i].TraceID) + logSuffixLen + logSize(&b.Logs[i]) + 8 + logFields*2)
	}
	batch := s.db.NewBatchWithSize(size)
	defer batch.Close()

	start := 0
	for f, end := range p.frameEnds {
		p.key = frameKey(p.key[:0], seq+uint64(f))
		if err := batch.Set(p.key, p.frames[start:end], nil); err != nil {
			return err
		}
		start = end
	}
	start = 0
	var sec [4]byte
	for i := range p.traces {
		t := &p.traces[i]
		if t.records > 0 {
			p.key = traceKey(p.key[:0], t.sec, t.id, seq)
			if err := batch.Set(p.key, p.locs[start:t.locEnd], nil); err != nil {
				return err
			}
			start = t.locEnd
		}
		if t.writeRedirect {
			binary.BigEndian.PutUint32(sec[:], t.sec)
			if err := batch.Set(redirectKey(p.key[:0], t.id), sec[:], nil); err != nil {
				return err
			}
			// Retention finds a redirect through its trace's index keys
			// (retention.go); one without records here may have none, and
			// gets the time-ordered twin that format 3 wrote for all.
			if t.records == 0 {
				if err := batch.Set(redirectTimeKey(p.key[:0], t.sec, t.id), nil, nil); err != nil {
					return err
				}
			}
		}
	}
	var v []byte
	for minute, n := range p.counts {
		v = binary.AppendVarint(v[:0], n)
		if err := batch.Merge(countKey(p.key[:0], minute), v, nil); err != nil {
			return err
		}
	}
	p.terms = p.terms[:0]
	for i := range sums {
		if err := p.putSummary(batch, &sums[i], &p.traces[p.sums[i]]); err != nil {
			return err
		}
	}
	if err := p.putTerms(batch, &s.dense); err != nil {
		return err
	}
	if err := p.putGraph(batch, b.Graph); err != nil {
		return err
	}
	if len(b.Logs) > 0 {
		logSeq := seq + uint64(len(p.frameEnds))
		if err := p.putLogs(batch, b.Logs, logSeq); err != nil {
			return err
		}
		last := binary.BigEndian.AppendUint64(p.val[:0], logSeq+uint64(len(b.Logs))-1)
		if err := batch.Merge(metaSeqKey, last, nil); err != nil {
			return err
		}
	}
	if n := len(p.recs) + len(b.Logs); n > 0 {
		v = binary.AppendVarint(v[:0], int64(n))
		if err := batch.Merge(metaWrittenKey, v, nil); err != nil {
			return err
		}
	}
	if err := s.commitBatch(batch, s.wopts); err != nil {
		return err
	}
	s.ledger.add(int64(len(p.recs)+len(b.Logs)), s.log)
	return nil
}

// putTerms adds the batch's index entries: one merge operand per term,
// second and reference kind, listing its references in order, except for
// terms dense in their bucket, whose markers it sets instead (dense.go).
func (p *writePlan) putTerms(batch *pebble.Batch, d *denseTracker) error {
	slices.SortFunc(p.terms, compareTermEntries)
	p.secs = p.secs[:0]
	for _, j := range p.sums {
		p.secs = append(p.secs, p.traces[j].sec)
	}
	p.terms, p.marks = d.filter(p.secs, p.terms, p.marks[:0])
	for _, m := range p.marks {
		if err := batch.Set(denseKey(p.key[:0], m.bucket, m.term), nil, nil); err != nil {
			return err
		}
	}
	for i := 0; i < len(p.terms); {
		e := p.terms[i]
		p.ids = p.ids[:0]
		j := i
		for ; j < len(p.terms) && p.terms[j].term == e.term && p.terms[j].sec == e.sec && p.terms[j].kind == e.kind; j++ {
			if j == i || p.terms[j].ref != p.terms[j-1].ref {
				p.ids = append(p.ids, p.terms[j].ref[:]...)
			}
		}
		if err := batch.Merge(refKey(p.key[:0], e.sec, e.term, e.kind), p.ids, nil); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// putSummary adds one SummaryRecord to the batch: the summary at the trace's
// placement, its ByEnd entry (replacing the previous revision's) and its new
// terms.
func (p *writePlan) putSummary(batch *pebble.Batch, r *store.SummaryRecord, t *traceEntry) error {
	end := clampSec(r.End)
	p.key = posKey(p.key[:0], prefixSummary, t.sec, t.id)
	hdr := 0
	if fieldsKnown(&r.Fields) {
		hdr = fieldHeaderLen
	}
	op := batch.SetDeferred(len(p.key), 4+hdr+len(r.Summary))
	copy(op.Key, p.key)
	binary.BigEndian.PutUint32(op.Value, end)
	if hdr > 0 {
		putFieldHeader(op.Value[4:], &r.Fields)
	}
	copy(op.Value[4+hdr:], r.Summary)
	if err := op.Finish(); err != nil {
		return err
	}
	if r.PrevEnd != 0 {
		if prev := clampSec(r.PrevEnd); prev != end {
			if err := batch.Delete(posKey(p.key[:0], prefixEnd, prev, t.id), nil); err != nil {
				return err
			}
		}
	}
	var sec [4]byte
	binary.BigEndian.PutUint32(sec[:], t.sec)
	if err := batch.Set(posKey(p.key[:0], prefixEnd, end, t.id), sec[:], nil); err != nil {
		return err
	}
	kind, ref := traceRef(t.sec, t.id)
	for _, term := range r.Terms {
		p.terms = append(p.terms, termEntry{term: term, sec: t.sec, kind: kind, ref: ref})
	}
	return nil
}

// compareTraceIDs orders IDs bytewise, which is time order of their epochs.
func compareTraceIDs(a, b xrayid.TraceID) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// docName returns the document's first "name" value, the service for a
// segment: a grouping hint for compression, nothing relies on it.
func docName(d []byte) []byte {
	i := bytes.Index(d, nameKey)
	if i < 0 {
		return nil
	}
	d = d[i+len(nameKey):]
	j := bytes.IndexByte(d[:min(len(d), 256)], '"')
	if j < 0 {
		return nil
	}
	return d[:j]
}

var nameKey = []byte(`"name":"`)

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

var writePlans = sync.Pool{New: func() any { return &writePlan{counts: map[uint32]int64{}} }}

// Write implements store.Writer. It holds no reference to b after returning.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if b == nil || len(b.Records) == 0 {
		return nil
	}
	for i := range b.Records {
		if r := &b.Records[i]; len(r.Doc) > maxDocSize {
			return fmt.Errorf("record %d (trace %s, segment %s): %d-byte document exceeds the %d-byte limit",
				i, r.TraceID, r.ID, len(r.Doc), maxDocSize)
		}
	}

	p := writePlans.Get().(*writePlan)
	defer func() {
		clear(p.recs) // drop references to the caller's records
		writePlans.Put(p)
	}()
	now := time.Now().UnixNano()
	p.build(s.codec, b.Records, s.opts.FrameSize, now)

	// Placement, sequence numbers and commit happen under dropMu (shared),
	// so that DropBefore sees either all of this Write or none of it when it
	// counts what it deletes.
	s.dropMu.RLock()
	defer s.dropMu.RUnlock()
	seq, err := s.placeAll(p, now)
	if err != nil {
		return err
	}
	if err := s.commit(p, seq); err != nil {
		return fmt.Errorf("write %d records in %d frames: %w", len(p.recs), len(p.frameEnds), err)
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

// placeAll places every trace of the plan and reserves one frame sequence
// number per frame, under s.mu.
func (s *Store) placeAll(p *writePlan, now int64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range p.traces {
		t := &p.traces[i]
		sec, writeRedirect, err := s.placeLocked(t.id, t.arrival)
		if err != nil {
			return 0, err
		}
		t.sec, t.writeRedirect = sec, writeRedirect
	}
	seq := max(uint64(now), s.lastSeq+1)
	s.lastSeq = seq + uint64(len(p.frameEnds)) - 1
	return seq, nil
}

// commit writes the plan as one Pebble batch: frames, index keys, new
// redirects and record counts.
func (s *Store) commit(p *writePlan, seq uint64) error {
	clear(p.counts)
	for i := range p.traces {
		p.counts[p.traces[i].sec/60] += int64(p.traces[i].records)
	}
	size := len(p.frames) + len(p.frameEnds)*(frameKeyLen+8) + len(p.locs) +
		len(p.traces)*(traceKeyLen+8) + len(p.counts)*(countKeyLen+16)
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
		p.key = traceKey(p.key[:0], t.sec, t.id, seq)
		if err := batch.Set(p.key, p.locs[start:t.locEnd], nil); err != nil {
			return err
		}
		start = t.locEnd
		if t.writeRedirect {
			binary.BigEndian.PutUint32(sec[:], t.sec)
			if err := batch.Set(redirectKey(p.key[:0], t.id), sec[:], nil); err != nil {
				return err
			}
			if err := batch.Set(redirectTimeKey(p.key[:0], t.sec, t.id), nil, nil); err != nil {
				return err
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
	return batch.Commit(s.wopts)
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

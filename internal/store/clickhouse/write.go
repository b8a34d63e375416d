package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/doccodec"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// Write inserts the batch, one block per table. A retry of a failed
// Write's Batch.ID inserts only the tables not stored yet (retry.go).
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	ctx = withBatch(ctx, b.ID)
	for _, d := range b.Graph {
		for _, c := range d.Values {
			if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
				return fmt.Errorf("clickhouse: graph counter %d of key %q (minute %d, group %q) is %v: not stored", c.Index, d.Key, d.Minute, d.Group, c.Value)
			}
		}
	}
	if len(b.Records) == 0 && len(b.Summaries) == 0 && len(b.Graph) == 0 && len(b.Logs) == 0 {
		return nil
	}
	start := time.Now()
	if err := s.health.admit(start); err != nil {
		return err
	}
	err := s.write(ctx, b)
	s.health.done(ctx, start, time.Now(), err)
	return err
}

// write inserts a non-empty batch.
func (s *Store) write(ctx context.Context, b *store.Batch) error {
	places, newPlaces, err := s.place(ctx, b)
	if err != nil {
		return err
	}
	seq := s.nextSeq(len(b.Records) + len(b.Summaries) + len(b.Logs))
	if len(newPlaces) > 0 {
		if err := s.insert(ctx, "placements", len(newPlaces), func(app func(...any) error) error {
			for id, p := range newPlaces {
				if err := app(string(id[:]), p); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			// Not stored: the next Write of these traces places them again.
			s.mu.Lock()
			for id := range newPlaces {
				delete(s.placed, id)
			}
			s.mu.Unlock()
			return err
		}
	}
	// The tables' inserts run in parallel: a Write costs one round trip
	// to the server, not one per table.
	var jobs []func() error
	if len(b.Records) > 0 {
		recSeq := seq
		jobs = append(jobs, func() error {
			return s.insert(ctx, "records", len(b.Records), func(app func(...any) error) error {
				var p doccodec.Parts
				for i := range b.Records {
					r := &b.Records[i]
					if err := recordRow(app, &p, r, places[r.TraceID], recSeq+uint64(i)); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	seq += uint64(len(b.Records))
	if len(b.Summaries) > 0 {
		sumSeq := seq
		jobs = append(jobs, func() error {
			return s.insert(ctx, "summaries", len(b.Summaries), func(app func(...any) error) error {
				for i, r := range b.Summaries {
					f := &r.Fields
					if err := app(string(r.TraceID[:]), places[r.TraceID], r.End, sumSeq+uint64(i), string(r.Summary),
						f.Duration, f.ResponseTime, b2u(f.Fault), b2u(f.Error), b2u(f.Throttle), partialBits(f),
						uint16(min(max(f.HTTPStatus, 0), 65535)), f.HTTPMethod, f.HTTPURL, servicesColumn(f), nonNil(f.AnnotationKeys),
						fieldsVersion(f), edgeKeys(f), edgeFlags(f)); err != nil {
						return err
					}
				}
				return nil
			})
		})
		jobs = append(jobs, func() error {
			return s.insert(ctx, "summary_ends", len(b.Summaries), func(app func(...any) error) error {
				for _, r := range b.Summaries {
					if err := app(r.End, places[r.TraceID], string(r.TraceID[:])); err != nil {
						return err
					}
				}
				return nil
			})
		})
		n := 0
		for _, r := range b.Summaries {
			n += len(r.Terms)
		}
		if n > 0 {
			jobs = append(jobs, func() error {
				return s.insert(ctx, "terms", n, func(app func(...any) error) error {
					for _, r := range b.Summaries {
						for _, t := range r.Terms {
							if err := app(uint64(t), places[r.TraceID], string(r.TraceID[:])); err != nil {
								return err
							}
						}
					}
					return nil
				})
			})
		}
	}
	seq += uint64(len(b.Summaries))
	if len(b.Logs) > 0 {
		logSeq := seq
		jobs = append(jobs, func() error {
			return s.insert(ctx, "logs", len(b.Logs), func(app func(...any) error) error {
				for i, l := range b.Logs {
					if err := app(lineNanos(l.Time), logSeq+uint64(i), l.Function, l.LogGroup, l.LogStream, l.RequestID, l.TraceID, string(l.Stream), l.Message); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	n := 0
	for _, d := range b.Graph {
		n += len(d.Values)
	}
	if n > 0 {
		jobs = append(jobs, func() error {
			return s.insert(ctx, "graph", n, func(app func(...any) error) error {
				for _, d := range b.Graph {
					for _, c := range d.Values {
						if err := app(d.Group, d.Minute, d.Key, c.Index, c.Value); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { errs[i] = job() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.retries.finished(ctx)
	return nil
}

// insert sends one block of rows to table.
func (s *Store) insert(ctx context.Context, table string, n int, fill func(app func(...any) error) error) error {
	if s.retries.stored(ctx, table) {
		return nil
	}
	if err := s.retries.injected(table); err != nil {
		return s.wrap(ctx, "insert into "+table, err)
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table)
	if err != nil {
		return s.wrap(ctx, "insert into "+table, err)
	}
	defer func() { _ = batch.Abort() }()
	if err := fill(batch.Append); err != nil {
		return s.wrap(ctx, "insert into "+table, err)
	}
	if err := batch.Send(); err != nil {
		return s.wrap(ctx, fmt.Sprintf("insert %d rows into %s", n, table), err)
	}
	s.retries.insertDone(ctx, table)
	return nil
}

// place returns the placement second of every trace in b, and those of
// traces with implausible epochs seen for the first time (to be stored).
func (s *Store) place(ctx context.Context, b *store.Batch) (map[xrayid.TraceID]int64, map[xrayid.TraceID]int64, error) {
	now := time.Now().UnixNano()
	arrival := map[xrayid.TraceID]int64{}
	for _, r := range b.Records {
		a := r.Received
		if a <= 0 || a > now {
			a = now
		}
		if old, ok := arrival[r.TraceID]; !ok || a < old {
			arrival[r.TraceID] = a
		}
	}
	for _, r := range b.Summaries {
		if _, ok := arrival[r.TraceID]; !ok {
			arrival[r.TraceID] = now
		}
	}
	places := make(map[xrayid.TraceID]int64, len(arrival))
	var lookup []xrayid.TraceID
	s.mu.Lock()
	for id, a := range arrival {
		if p, ok := s.placed[id]; ok {
			places[id] = p
			continue
		}
		e, sec := int64(id.Epoch()), a/int64(time.Second)
		if e >= sec-int64(s.opts.EpochPast/time.Second) && e <= sec+int64(s.opts.EpochFuture/time.Second) {
			places[id] = e
			continue
		}
		lookup = append(lookup, id)
	}
	s.mu.Unlock()
	if len(lookup) == 0 {
		return places, nil, nil
	}
	found, err := s.readPlacements(ctx, lookup)
	if err != nil {
		return nil, nil, err
	}
	fresh := map[xrayid.TraceID]int64{}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.placed) > 1<<20 {
		clear(s.placed)
	}
	for _, id := range lookup {
		p, ok := found[id]
		if !ok {
			p = arrival[id] / int64(time.Second)
			fresh[id] = p
		}
		places[id] = p
		s.placed[id] = p
	}
	return places, fresh, nil
}

func (s *Store) readPlacements(ctx context.Context, ids []xrayid.TraceID) (map[xrayid.TraceID]int64, error) {
	found := map[xrayid.TraceID]int64{}
	for chunk := range slices.Chunk(ids, 1000) {
		rows, err := s.conn.Query(ctx, "SELECT trace_id, min(place) FROM placements WHERE trace_id IN "+idList(chunk)+" GROUP BY trace_id")
		if err != nil {
			return nil, s.wrap(ctx, "read placements", err)
		}
		for rows.Next() {
			var id string
			var p int64
			if err := rows.Scan(&id, &p); err != nil {
				rows.Close()
				return nil, s.wrap(ctx, "read placements", err)
			}
			tid, err := toID(id)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found[tid] = p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.wrap(ctx, "read placements", err)
		}
	}
	return found, nil
}

// DropBefore drops the daily partitions that hold only data older than
// cutoff.
func (s *Store) DropBefore(ctx context.Context, cutoff time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	cut := cutoff.Unix()
	conns, addrs, suffix := s.partsConns()
	for i, conn := range conns {
		for _, table := range partitioned {
			if err := s.dropPartitions(ctx, conn, addrs[i], table+suffix, cut); err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	for id, p := range s.placed {
		if (p/86400+1)*86400 <= cut {
			delete(s.placed, id)
		}
	}
	s.mu.Unlock()
	return nil
}

// dropPartitions drops the daily partitions of table (on conn) that end
// at or before cut.
func (s *Store) dropPartitions(ctx context.Context, conn driver.Conn, addr, table string, cut int64) error {
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE active AND database = "+quote(s.opts.Database)+" AND table = "+quote(table))
	if err != nil {
		return s.wrap(ctx, "list partitions of "+table+" on "+addr, err)
	}
	var drop []uint64
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return s.wrap(ctx, "list partitions of "+table+" on "+addr, err)
		}
		d, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			rows.Close()
			return fmt.Errorf("clickhouse: partition %q of %s is not a day number", name, table)
		}
		if d == math.MaxUint32 {
			continue // the clamped far future
		}
		// Partition d holds [d, d+1) days; minutes and log lines
		// end by then too.
		if end := int64(d+1) * 86400; end <= cut {
			drop = append(drop, d)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return s.wrap(ctx, "list partitions of "+table+" on "+addr, err)
	}
	for _, d := range drop {
		if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", table, d)); err != nil {
			return s.wrap(ctx, fmt.Sprintf("drop partition %d of %s on %s", d, table, addr), err)
		}
	}
	return nil
}

// nonNil is xs, or an empty slice for nil (an empty Array column).
func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// fieldsKnown reports whether a writer filled f: the summarizer always
// names at least one service. Scans never skip a row on the zero values
// of fields it never had (as the Pebble backend).
func fieldsKnown(f *store.SummaryFields) bool {
	return len(f.Services) > 0 || len(f.AnnotationKeys) > 0 || f.Fault || f.Error || f.Throttle || f.Partial || f.Inferred ||
		f.Duration != 0 || f.ResponseTime != 0 || f.HTTPStatus != 0 || f.HTTPMethod != "" || f.HTTPURL != ""
}

// partialBits is the partial column: bit 0 the partial flag, bit 1 the
// inferred one (known with the service names: fieldsNames).
func partialBits(f *store.SummaryFields) uint8 {
	b := b2u(f.Partial)
	if f.ServiceNames && f.Inferred {
		b |= 2
	}
	return b
}

// fieldsVersion is the fields column of a row (schema.go), what its
// flat columns can be trusted for: 0 when the writer filled no Fields,
// 1 the flat values, 2 also the edges (schema 3), 3 also every name of
// every node in services (SummaryFields.ServiceNames) and the inferred
// flag in partial's bit 1, 4 those without the edges, 5 and 6 the same
// as 3 and 4 with the services' flags in services (servicesColumn). Rows
// written before 3 to 6 existed hold 0 to 2.
func fieldsVersion(f *store.SummaryFields) uint8 {
	switch {
	case !fieldsKnown(f):
		return 0
	case f.HasEdges && f.ServiceNames && f.HasServiceFlags:
		return 5
	case f.ServiceNames && f.HasServiceFlags:
		return 6
	case f.HasEdges && f.ServiceNames:
		return 3
	case f.HasEdges:
		return 2
	case f.ServiceNames:
		return 4
	}
	return 1
}

// The fields values whose rows hold the edges (fieldsEdges), every
// service name and the inferred flag (fieldsNames), the services' flags
// (fieldsServiceFlags): the push-down skips only those rows on an edge, a
// service or inferred, a service's flag.
const (
	fieldsEdges        = "2, 3, 5"
	fieldsNames        = "3, 4, 5, 6"
	fieldsServiceFlags = "5, 6"
)

// servicesColumn is the services column: f.Services, then, for each of
// f.ServiceFlags, one entry per flag it has, serviceFlagKey(name, flag).
// A service's flags ride in the same array as its names, so that
// service("x") { fault } is one has() and the column needs no schema
// change; no name has such an entry's 0xff byte (not UTF-8).
func servicesColumn(f *store.SummaryFields) []string {
	if len(f.ServiceFlags) == 0 {
		return nonNil(f.Services)
	}
	out := append(make([]string, 0, len(f.Services)+2*len(f.ServiceFlags)), f.Services...)
	for _, sf := range f.ServiceFlags {
		for _, fl := range [...]store.EdgeFlags{store.EdgeError, store.EdgeFault, store.EdgeThrottle} {
			if sf.Flags&fl != 0 {
				out = append(out, serviceFlagKey(sf.Name, fl))
			}
		}
	}
	return out
}

// serviceFlagKey is the services entry saying that a node known by name
// had flag (one EdgeFlags bit).
func serviceFlagKey(name string, flag store.EdgeFlags) string {
	return name + "\xff" + string(rune('0'+flag))
}

// edgeKeys and edgeFlags are the edges and edge_flags columns: f.Edges'
// keys and flags, in the same order.
func edgeKeys(f *store.SummaryFields) []string {
	out := make([]string, len(f.Edges))
	for i, e := range f.Edges {
		out[i] = e.Key
	}
	return out
}

func edgeFlags(f *store.SummaryFields) []uint8 {
	out := make([]uint8, len(f.Edges))
	for i, e := range f.Edges {
		out[i] = uint8(e.Flags)
	}
	return out
}

// fieldsKnownSQL is fieldsKnown over a row of the version 1 summaries
// table, which had no fields column (migrate.go).
const fieldsKnownSQL = "notEmpty(services) OR notEmpty(annotation_keys) OR fault != 0 OR error != 0 OR throttle != 0 OR partial != 0" +
	" OR duration != 0 OR response_time != 0 OR http_status != 0 OR http_method != '' OR http_url != ''"

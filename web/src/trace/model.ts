// Turns a compiled trace (BatchGetTraces' documents) into the rows of the
// timeline: one group per service node, each segment followed by its
// subsegments depth first, every row on the trace's single time axis.
import type { SegmentDoc, Trace } from '../types';

export type Status = 'ok' | 'error' | 'throttle' | 'fault';

export interface Row {
  /** Unique per row: the document id (ids repeat only in broken input). */
  key: string;
  doc: SegmentDoc;
  /** The top-level segment document this row belongs to. */
  segment: SegmentDoc;
  depth: number;
  isSegment: boolean;
  start: number;
  /** End time; for in-progress entities the trace's end. */
  end: number;
  inProgress: boolean;
  status: Status;
  /** A Lambda platform phase (Dwell Time, Attempt #n, Initialization, Invocation, Overhead, Restore). */
  lambdaPhase: boolean;
}

export interface Group {
  key: string;
  name: string;
  type: string;
  inferred: boolean;
  rows: Row[];
}

export interface Timeline {
  id: string;
  start: number;
  end: number;
  groups: Group[];
  documents: SegmentDoc[];
  byId: Map<string, Row>;
}

const lambdaPhase = /^(Dwell Time|Attempt #\d+|Initialization|Invocation|Overhead|Restore)$/;

export function status(d: SegmentDoc): Status {
  if (d.fault) return 'fault';
  if (d.throttle) return 'throttle';
  if (d.error) return 'error';
  return 'ok';
}

/** The service-map node a segment document belongs to (inferred segments are named after their resource). */
export function nodeOf(d: SegmentDoc): { name: string; type: string } {
  const type = d.origin ?? '';
  if (d.inferred) {
    const aws = (d.aws ?? {}) as Record<string, unknown>;
    if (typeof aws.table_name === 'string') return { name: aws.table_name, type };
    if (typeof aws.bucket_name === 'string') return { name: aws.bucket_name, type };
    if (typeof aws.queue_url === 'string') return { name: aws.queue_url.split('/').pop() ?? d.name, type };
  }
  return { name: d.name, type };
}

export function parseDocuments(trace: Trace): SegmentDoc[] {
  const docs: SegmentDoc[] = [];
  for (const s of trace.Segments) {
    try {
      docs.push(JSON.parse(s.Document) as SegmentDoc);
    } catch {
      docs.push({ id: s.Id, name: '(unreadable document)', start_time: 0 });
    }
  }
  return docs;
}

export function buildTimeline(trace: Trace): Timeline {
  const documents = parseDocuments(trace);
  let start = Infinity;
  let end = -Infinity;
  const visit = (d: SegmentDoc) => {
    if (Number.isFinite(d.start_time)) start = Math.min(start, d.start_time);
    if (d.end_time !== undefined) end = Math.max(end, d.end_time);
    else if (Number.isFinite(d.start_time)) end = Math.max(end, d.start_time);
    d.subsegments?.forEach(visit);
  };
  documents.forEach(visit);
  if (!Number.isFinite(start)) start = 0;
  if (!Number.isFinite(end) || end < start) end = start;

  // Order segments so that each follows its parent: parents are found
  // through the ids of segments and of their subsegments.
  const owner = new Map<string, SegmentDoc>();
  for (const seg of documents) {
    const walk = (d: SegmentDoc) => {
      owner.set(d.id, seg);
      d.subsegments?.forEach(walk);
    };
    walk(seg);
  }
  const depthOf = (seg: SegmentDoc): number => {
    let n = 0;
    let cur: SegmentDoc | undefined = seg;
    const seen = new Set<string>();
    while (cur?.parent_id && owner.has(cur.parent_id) && !seen.has(cur.id)) {
      seen.add(cur.id);
      cur = owner.get(cur.parent_id);
      n++;
    }
    return n;
  };
  const ordered = [...documents].sort((a, b) => depthOf(a) - depthOf(b) || a.start_time - b.start_time);

  const groups = new Map<string, Group>();
  const byId = new Map<string, Row>();
  for (const seg of ordered) {
    const node = nodeOf(seg);
    const key = `${node.type}|${node.name}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, name: node.name, type: node.type, inferred: !!seg.inferred, rows: [] };
      groups.set(key, g);
    }
    const add = (d: SegmentDoc, depth: number, parentOpen: boolean) => {
      const inProgress = !!d.in_progress && d.end_time === undefined;
      let rowKey = d.id;
      for (let n = 2; byId.has(rowKey); n++) rowKey = `${d.id}#${n}`;
      const row: Row = {
        key: rowKey,
        doc: d,
        segment: seg,
        depth,
        isSegment: depth === 0,
        start: d.start_time,
        end: d.end_time ?? end,
        inProgress: inProgress || (parentOpen && d.end_time === undefined),
        status: status(d),
        lambdaPhase: depth > 0 && lambdaPhase.test(d.name),
      };
      byId.set(rowKey, row);
      g!.rows.push(row);
      const subs = [...(d.subsegments ?? [])].sort((a, b) => a.start_time - b.start_time);
      subs.forEach((s) => add(s, depth + 1, row.inProgress));
    };
    add(seg, 0, false);
  }
  return { id: trace.Id, start, end, groups: [...groups.values()], documents, byId };
}

/** The exceptions of a cause, following a cause that refers to another entity's exception by id. */
export function exceptionsOf(d: SegmentDoc, tl: Timeline) {
  if (!d.cause) return { workingDirectory: undefined, exceptions: [], refersTo: undefined };
  if (typeof d.cause === 'string') {
    for (const row of tl.byId.values()) {
      const c = row.doc.cause;
      if (c && typeof c === 'object' && c.exceptions?.some((e) => e.id === d.cause)) {
        return { workingDirectory: c.working_directory, exceptions: c.exceptions.filter((e) => e.id === d.cause), refersTo: row };
      }
    }
    return { workingDirectory: undefined, exceptions: [], refersTo: undefined };
  }
  return { workingDirectory: d.cause.working_directory, exceptions: d.cause.exceptions ?? [], refersTo: undefined };
}

import { describe, expect, it } from 'vitest';
import { fmtPercent, fmtSeconds, quote } from './format';
import { edgeFilter, health, healthClass, serviceFilter } from './health';
import { binValues, niceStep } from './histogram';
import { parseRoute } from './router';
import { daySlices, rangeFromQuery, rangeToQuery, resolveRange } from './time';
import { timeTicks } from './components/TimeSeriesChart';
import { buildTimeline, nodeOf } from './trace/model';
import type { Trace } from './types';

describe('format', () => {
  it('formats durations in the unit that reads best', () => {
    expect(fmtSeconds(0.0000425)).toBe('42.5 µs');
    expect(fmtSeconds(0.1)).toBe('100 ms');
    expect(fmtSeconds(0.01234)).toBe('12.3 ms');
    expect(fmtSeconds(1.2345)).toBe('1.23 s');
    expect(fmtSeconds(125)).toBe('2 min 5 s');
    expect(fmtSeconds(undefined)).toBe('–');
    expect(fmtPercent(0, 10)).toBe('0%');
    expect(fmtPercent(1, 5)).toBe('20%');
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('health', () => {
  it('splits statistics like the X-Ray console', () => {
    const h = health({ OkCount: 6, ErrorStatistics: { ThrottleCount: 1, OtherCount: 1, TotalCount: 2 }, FaultStatistics: { TotalCount: 2 }, TotalCount: 10, TotalResponseTime: 5 });
    expect(h).toEqual({ total: 10, ok: 6, error: 1, throttle: 1, fault: 2, avg: 0.5 });
    expect(healthClass(h)).toBe('fault');
    expect(healthClass(health({ OkCount: 3, TotalCount: 3 }))).toBe('ok');
  });

  it('builds filters that name a node exactly', () => {
    const fn = { ReferenceId: 1, Name: 'xraystarter-py', Type: 'AWS::Lambda::Function' };
    const table = { ReferenceId: 2, Name: 'items', Type: 'AWS::DynamoDB::Table' };
    expect(serviceFilter(fn)).toBe('service(id(name: "xraystarter-py", type: "AWS::Lambda::Function"))');
    expect(edgeFilter(fn, table)).toBe('edge(id(name: "xraystarter-py", type: "AWS::Lambda::Function"), id(name: "items", type: "AWS::DynamoDB::Table"))');
    expect(edgeFilter({ ReferenceId: 0, Name: 'xraystarter-py', Type: 'client' }, fn)).toBe(
      'service(id(name: "xraystarter-py", type: "AWS::Lambda::Function")) { root }',
    );
  });
});

describe('histogram', () => {
  it('bins on round widths', () => {
    expect(niceStep(1, 40)).toBe(0.025);
    const b = binValues([0.01, 0.02, 0.021, 0.5], undefined, 10);
    expect(b.step).toBe(0.05);
    expect(b.bins[0].count).toBe(3);
    expect(b.bins.at(-1)!.count).toBe(1);
    expect(b.total).toBe(4);
    expect(binValues([0.1, 0.2], [5, 7], 10).total).toBe(12);
  });
});

describe('router and time', () => {
  it('parses console paths', () => {
    expect(parseRoute('/')).toEqual({ page: 'map' });
    expect(parseRoute('/traces/')).toEqual({ page: 'traces' });
    expect(parseRoute('/traces/1-abc')).toEqual({ page: 'trace', id: '1-abc' });
    expect(parseRoute('/nope').page).toBe('notfound');
  });

  it('reads and writes ranges', () => {
    expect(rangeFromQuery(new URLSearchParams('last=15m'))).toEqual({ kind: 'relative', seconds: 900 });
    // longer than a day is asked a day at a time; the console caps at 31 days
    expect(rangeFromQuery(new URLSearchParams('last=7d'))).toEqual({ kind: 'relative', seconds: 7 * 86400 });
    expect(rangeFromQuery(new URLSearchParams('last=90d'))).toEqual({ kind: 'relative', seconds: 31 * 86400 });
    const abs = rangeFromQuery(new URLSearchParams('start=2026-11-20T10:00:00Z&end=2026-11-20T11:00:00Z'));
    expect(abs).toEqual({ kind: 'absolute', start: 1795168800, end: 1795172400 });
    expect(rangeToQuery(abs)).toEqual({ last: undefined, start: '2026-11-20T10:00:00Z', end: '2026-11-20T11:00:00Z' });
    expect(resolveRange({ kind: 'relative', seconds: 60 }, 1_000_000_500)).toEqual({ start: 999_941, end: 1_000_001 });
  });
});

describe('timeline model', () => {
  const doc = (d: object) => ({ Id: 'x', Document: JSON.stringify(d) });
  const trace: Trace = {
    Id: '1-6b06e8b2-fd37d3d8bab18359c08e61b4',
    Segments: [
      doc({ id: 'fn', name: 'f', parent_id: 'svc', origin: 'AWS::Lambda::Function', start_time: 10.1, end_time: 10.3, fault: true,
        subsegments: [{ id: 'inv', name: 'Invocation', start_time: 10.1, end_time: 10.29, subsegments: [{ id: 'ddb', name: 'DynamoDB', namespace: 'aws', start_time: 10.15, end_time: 10.2 }] }] }),
      doc({ id: 'ddbi', name: 'DynamoDB', parent_id: 'ddb', inferred: true, origin: 'AWS::DynamoDB::Table', aws: { table_name: 'items' }, start_time: 10.15, end_time: 10.2 }),
      doc({ id: 'svc', name: 'f', origin: 'AWS::Lambda', start_time: 10, end_time: 10.3, subsegments: [{ id: 'dw', name: 'Dwell Time', start_time: 10, end_time: 10.05 }] }),
      doc({ id: 'open', name: 'worker', parent_id: 'svc', start_time: 10.2, in_progress: true }),
    ],
  };
  it('groups by service, parents first, on one time axis', () => {
    const tl = buildTimeline(trace);
    expect(tl.start).toBe(10);
    expect(tl.end).toBe(10.3);
    expect(tl.groups.map((g) => `${g.name}|${g.type}`)).toEqual(['f|AWS::Lambda', 'f|AWS::Lambda::Function', 'worker|', 'items|AWS::DynamoDB::Table']);
    const fn = tl.groups[1];
    expect(fn.rows.map((r) => [r.doc.name, r.depth, r.lambdaPhase, r.status])).toEqual([
      ['f', 0, false, 'fault'],
      ['Invocation', 1, true, 'ok'],
      ['DynamoDB', 2, false, 'ok'],
    ]);
    expect(tl.groups[0].rows[1]).toMatchObject({ lambdaPhase: true, depth: 1 });
    const open = tl.byId.get('open')!;
    expect(open.inProgress).toBe(true);
    expect(open.end).toBe(10.3);
    expect(nodeOf({ id: 'q', name: 'SQS', inferred: true, start_time: 0, aws: { queue_url: 'https://sqs/1/jobs' } }).name).toBe('jobs');
  });
});

describe('daySlices', () => {
  it('cuts a window into days, newest first', () => {
    expect(daySlices(0, 100)).toEqual([{ start: 0, end: 100 }]);
    expect(daySlices(0, 2.5 * 86400)).toEqual([
      { start: 1.5 * 86400, end: 2.5 * 86400 },
      { start: 0.5 * 86400, end: 1.5 * 86400 },
      { start: 0, end: 0.5 * 86400 },
    ]);
  });
});

describe('timeTicks', () => {
  it('puts ticks on round instants inside the window', () => {
    const start = Date.UTC(2026, 11, 7, 13, 26, 10) / 1000;
    const ticks = timeTicks(start, start + 3600, 8);
    expect(ticks.length).toBeGreaterThan(3);
    expect(ticks.length).toBeLessThanOrEqual(8);
    for (const t of ticks) {
      expect(t).toBeGreaterThanOrEqual(start);
      expect(t).toBeLessThanOrEqual(start + 3600);
      expect(t % 60).toBe(0);
    }
  });
});

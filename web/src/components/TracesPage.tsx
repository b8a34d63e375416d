// The trace list: filter bar, the response-time distribution of the
// current result (drag to narrow the list) and a sortable, paged table of
// trace summaries. Everything a user chose is in the URL.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, getGroups, getServiceGraph, getTraceStats, getTraceSummaries, periodFor } from '../api';
import { parseFilterError, type FilterError } from '../filter/lex';
import { fmtCount, fmtSeconds, quote } from '../format';
import { binValues } from '../histogram';
import { typeInfo } from '../health';
import { rememberTraceList, useAsync } from '../hooks';
import { href, linkClick, setQuery } from '../router';
import { daySlices, formatClock, formatTimeMs, rangeFromQuery, rangeToQuery, resolveRange, type TimeRange } from '../time';
import type { TraceSummary } from '../types';
import { FilterBar } from './FilterBar';
import { Histogram, type Range } from './Histogram';
import { TimeRangePicker } from './TimeRangePicker';
import { TimeSeriesChart } from './TimeSeriesChart';

/** Pages of 100 fetched per load (the charts and counts cover the whole window, from the server). */
const PAGES_PER_LOAD = 10;
const PAGE_SIZE = 25;

export type TraceStatus = 'fault' | 'error' | 'throttle' | 'ok';

/** A trace's worst outcome, at its entry point or (through its root causes) further down. */
export function traceStatus(s: TraceSummary): { status: TraceStatus; where?: string; exception?: string; message?: string } {
  const from = (rcs: TraceSummary['FaultRootCauses']) => {
    for (const rc of rcs ?? []) {
      const svcs = rc.Services ?? [];
      const withExc = svcs.find((x) => x.EntityPath?.some((e) => e.Exceptions?.length));
      const svc = withExc ?? svcs.at(-1);
      const exc = svc?.EntityPath?.flatMap((e) => e.Exceptions ?? [])[0];
      if (svc) return { where: svc.Name, exception: exc?.Name, message: exc?.Message };
    }
    return undefined;
  };
  if (s.HasFault || s.FaultRootCauses?.length) return { status: 'fault', ...from(s.FaultRootCauses) };
  if (s.HasError || s.ErrorRootCauses?.length) return { status: 'error', ...from(s.ErrorRootCauses) };
  if (s.HasThrottle) return { status: 'throttle' };
  return { status: 'ok' };
}

const statusRank: Record<TraceStatus, number> = { fault: 3, error: 2, throttle: 1, ok: 0 };

type SortKey = 'start' | 'rt' | 'duration' | 'status' | 'entry' | 'http';

const sorters: Record<SortKey, (a: TraceSummary, b: TraceSummary) => number> = {
  start: (a, b) => (a.StartTime ?? 0) - (b.StartTime ?? 0),
  rt: (a, b) => (a.ResponseTime ?? 0) - (b.ResponseTime ?? 0),
  duration: (a, b) => (a.Duration ?? 0) - (b.Duration ?? 0),
  status: (a, b) => statusRank[traceStatus(a).status] - statusRank[traceStatus(b).status],
  entry: (a, b) => (a.EntryPoint?.Name ?? '').localeCompare(b.EntryPoint?.Name ?? ''),
  http: (a, b) => (a.Http?.HttpStatus ?? 0) - (b.Http?.HttpStatus ?? 0),
};

function parseSort(p: string | null): { key: SortKey; desc: boolean } {
  const desc = !p || p.startsWith('-');
  const key = (p ?? '-start').replace(/^-/, '') as SortKey;
  return key in sorters ? { key, desc } : { key: 'start', desc: true };
}

function parseRt(p: string | null): Range | undefined {
  const m = /^(\d*\.?\d+)-(\d*\.?\d+)$/.exec(p ?? '');
  if (!m) return undefined;
  const lo = parseFloat(m[1]);
  const hi = parseFloat(m[2]);
  return hi > lo ? [lo, hi] : undefined;
}

/** Where the list resumes: the day slice of the window (newest first) and the NextToken inside it. */
interface Cursor {
  slice: number;
  token?: string;
}

/** The services where the window's traces fault below their entry point, from a first page of `service() { fault }`. */
export const deepFaultFilter = 'service() { fault }';

interface Loaded {
  summaries: TraceSummary[];
  next?: Cursor;
  scanned: number;
  loading: boolean;
  error?: Error;
}

export function TracesPage({ query }: { query: URLSearchParams }) {
  const range = rangeFromQuery(query);
  const rangeKey = JSON.stringify(range);
  const filter = query.get('filter') ?? '';
  // A profile's example traces: the filter lists their IDs, this says
  // which band of which part they come from.
  const examples = query.get('examples');
  const sort = parseSort(query.get('sort'));
  const rt = parseRt(query.get('rt'));
  const page = Math.max(1, parseInt(query.get('page') ?? '1', 10) || 1);
  const [tick, setTick] = useState(0);
  const [data, setData] = useState<Loaded>({ summaries: [], scanned: 0, loading: true });
  const windowRef = useRef(resolveRange(range));
  const abortRef = useRef<AbortController | null>(null);

  // X-Ray answers at most a day per GetTraceSummaries call: longer windows
  // are listed a day at a time, newest first.
  const load = async (from: Loaded, at: Cursor, ctl: AbortController) => {
    let cur = { ...from, loading: true, error: undefined };
    setData(cur);
    try {
      const slices = daySlices(windowRef.current.start, windowRef.current.end);
      let pos: Cursor | undefined = at;
      for (let i = 0; i < PAGES_PER_LOAD && pos; i++) {
        const w = slices[pos.slice];
        const out = await getTraceSummaries({ start: w.start, end: w.end, filter, nextToken: pos.token }, ctl.signal);
        if (ctl.signal.aborted) return;
        const token = out.NextToken || undefined;
        pos = token ? { slice: pos.slice, token } : pos.slice + 1 < slices.length ? { slice: pos.slice + 1 } : undefined;
        cur = { ...cur, summaries: [...cur.summaries, ...(out.TraceSummaries ?? [])], next: pos, scanned: cur.scanned + (out.TracesProcessedCount ?? 0) };
        setData(cur);
      }
      setData({ ...cur, loading: false });
    } catch (e) {
      if (!ctl.signal.aborted) setData({ ...cur, loading: false, error: e as Error });
    }
  };

  useEffect(() => {
    abortRef.current?.abort();
    const ctl = new AbortController();
    abortRef.current = ctl;
    windowRef.current = resolveRange(range);
    load({ summaries: [], scanned: 0, loading: true }, { slice: 0 }, ctl);
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeKey, filter, tick]);

  const loadMore = () => {
    abortRef.current?.abort();
    const ctl = new AbortController();
    abortRef.current = ctl;
    if (data.next) load(data, data.next, ctl);
  };

  // Figures of the whole window, aggregated on the server: per-period
  // counts and latency, the histogram, fault/error/throttle counts.
  const stats = useAsync(
    (signal) => {
      const w = resolveRange(range);
      return getTraceStats(filter, w.start, w.end, periodFor(w.end - w.start), signal);
    },
    [rangeKey, filter, tick],
  );
  // Faults below a healthy entry point: `fault` only sees the entry point's
  // own outcome, so when the list is empty, look one page deep for faults
  // anywhere in the window's traces.
  const listEmpty = !data.loading && !data.error && data.summaries.length === 0;
  const deep = useAsync(
    async (signal) => {
      if (!listEmpty || filter.trim() === deepFaultFilter) return undefined;
      const w = resolveRange(range);
      const out = await getTraceSummaries({ start: w.start, end: w.end, filter: deepFaultFilter }, signal);
      const services = new Map<string, number>();
      for (const t of out.TraceSummaries ?? []) {
        const where = traceStatus(t).where;
        if (where) services.set(where, (services.get(where) ?? 0) + 1);
      }
      return (out.TraceSummaries ?? []).length ? { count: (out.TraceSummaries ?? []).length, more: !!out.NextToken, services: [...services.keys()].sort() } : undefined;
    },
    [rangeKey, filter, tick, listEmpty],
  );

  // autocompletion data: services of the window's graph and of the loaded traces, annotation keys of the loaded traces
  const graph = useAsync(async (signal) => {
    const w = resolveRange(range);
    try {
      return (await getServiceGraph(w.start, w.end, undefined, signal)).Services;
    } catch {
      return [];
    }
  }, [rangeKey]);
  const groups = useAsync(async (signal) => {
    try {
      return (await getGroups(signal)).map((g) => g.GroupName);
    } catch {
      return [];
    }
  }, []);
  const ctx = useMemo(() => {
    const services = new Set<string>();
    const types = new Set<string>();
    const keys = new Set<string>();
    for (const s of graph.data ?? []) {
      if (s.Name && s.Type !== 'client') services.add(s.Name);
      if (s.Type && s.Type !== 'client') types.add(s.Type);
    }
    for (const t of data.summaries) {
      for (const id of t.ServiceIds ?? []) {
        if (id.Name) services.add(id.Name);
        if (id.Type) types.add(id.Type);
      }
      for (const k of Object.keys(t.Annotations ?? {})) keys.add(k);
    }
    const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
    return { services: sorted(services), types: sorted(types), annotationKeys: sorted(keys), groups: groups.data ?? [] };
  }, [graph.data, data.summaries, groups.data]);

  const filterError: FilterError | undefined =
    data.error instanceof ApiError && data.error.code === 'InvalidRequestException' && /^filter expression/.test(data.error.message)
      ? parseFilterError(filter, data.error.message)
      : undefined;

  const binned = useMemo(
    () =>
      stats.data
        ? binValues(
            stats.data.histogram.map((e) => e.Value),
            stats.data.histogram.map((e) => e.Count),
          )
        : binValues(data.summaries.map((s) => s.ResponseTime ?? 0)),
    [stats.data, data.summaries],
  );
  const narrowed = useMemo(() => {
    if (!rt) return data.summaries;
    return data.summaries.filter((s) => {
      const v = s.ResponseTime ?? 0;
      return v >= rt[0] - 1e-9 && (v < rt[1] - 1e-9 || rt[1] >= binned.max - 1e-9);
    });
  }, [data.summaries, rt, binned.max]);
  const sorted = useMemo(() => {
    const f = sorters[sort.key];
    const out = [...narrowed].sort((a, b) => f(a, b) || a.Id.localeCompare(b.Id));
    return sort.desc ? out.reverse() : out;
  }, [narrowed, sort.key, sort.desc]);
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const pg = Math.min(page, pages);
  const shown = sorted.slice((pg - 1) * PAGE_SIZE, pg * PAGE_SIZE);

  // Counts of the whole window (server), or of the loaded traces while a
  // response-time range narrows the list or the server's figures are not in.
  const counts = useMemo(() => {
    if (stats.data && !rt) return { fault: stats.data.fault, error: stats.data.error, throttle: stats.data.throttle, ok: stats.data.ok };
    const c = { fault: 0, error: 0, throttle: 0, ok: 0 };
    for (const s of narrowed) c[traceStatus(s).status]++;
    return c;
  }, [narrowed, stats.data, rt]);
  const series = useMemo(
    () =>
      (stats.data?.series ?? []).map((p) => ({ t: p.time, total: p.traces, fault: p.fault, error: p.error, throttle: p.throttle, p50: p.p50, p90: p.p90, p99: p.p99 })),
    [stats.data],
  );
  const estimate = stats.data && !stats.data.complete;

  const changeRange = (r: TimeRange) => setQuery({ ...rangeToQuery(r), page: undefined, rt: undefined }, { push: true });
  const setSort = (key: SortKey) => {
    const desc = sort.key === key ? !sort.desc : key !== 'entry';
    setQuery({ sort: (desc ? '-' : '') + key, page: undefined });
  };
  const setRt = (r: Range | undefined) => setQuery({ rt: r ? `${+r[0].toFixed(6)}-${+r[1].toFixed(6)}` : undefined, page: undefined });
  const applyRtToFilter = () => {
    if (!rt) return;
    const cond = `responsetime >= ${+rt[0].toFixed(6)} AND responsetime <= ${+rt[1].toFixed(6)}`;
    const f = filter.trim() ? `(${filter.trim()}) AND ${cond}` : cond;
    setQuery({ filter: f, rt: undefined, page: undefined }, { push: true });
  };

  const th = (key: SortKey, label: string, cls?: string) => (
    <th scope="col" class={cls} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class="sort" onClick={() => setSort(key)} data-sort={key}>
        {label}
        <span aria-hidden="true" class="sort-mark">
          {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
        </span>
      </button>
    </th>
  );

  const selfUrl = () => location.pathname + location.search;
  // A filter on one service (service("NAME") …) links to its profile.
  const profiled = /^\s*service\(\s*"((?:[^"\\]|\\.)*)"\s*\)/.exec(filter)?.[1]?.replace(/\\(.)/g, '$1');
  const hrefWith = (f: string) => href('/traces', { ...rangeToQuery(range), filter: f, sort: query.get('sort') ?? undefined });
  return (
    <div class="page traces-page">
      <div class="toolbar">
        <h1>Traces</h1>
        <TimeRangePicker range={range} onChange={changeRange} onRefresh={() => setTick((t) => t + 1)} loading={data.loading} />
        {profiled && (
          <a class="button secondary" href={href('/profile', { ...rangeToQuery(range), service: profiled })} onClick={linkClick} title="Where this service's time goes, across its invocations">
            Profile {profiled}
          </a>
        )}
      </div>
      <FilterBar value={filter} error={filterError} ctx={ctx} busy={data.loading} onSubmit={(f) => setQuery({ filter: f || undefined, page: undefined, rt: undefined, examples: undefined }, { push: true })} />
      {examples && (
        <p class="examples-banner" role="note">
          Example traces from the profile: {examples}
        </p>
      )}
      {data.error && !filterError && (
        <div class="error-box" role="alert">
          {data.error.message}
        </div>
      )}
      <section class="analytics" aria-label="Requests over time">
        <div class="analytics-head">
          <h2>Over time</h2>
          <span class="muted small" aria-live="polite">
            {stats.loading ? 'Loading… ' : ''}
            {stats.data &&
              `${fmtCount(stats.data.traces)} traces in the window · p50 ${fmtSeconds(stats.data.p50)} · p90 ${fmtSeconds(stats.data.p90)} · p99 ${fmtSeconds(stats.data.p99)} · drag across the chart to zoom in`}
          </span>
          {estimate && (
            <span class="badge estimate" title={stats.data!.note}>
              estimate: {stats.data!.note}
            </span>
          )}
        </div>
        {stats.error && !filterError && <div class="muted small pad">Could not load the window's figures: {stats.error.message}</div>}
        {series.length > 0 && stats.data && stats.data.traces > 0 && (
          <TimeSeriesChart
            points={series}
            period={stats.data.period}
            start={stats.data.start}
            end={stats.data.end}
            onSelect={(a, b) => changeRange({ kind: 'absolute', start: a, end: b })}
            label="Requests and response time of the matching traces per period"
          />
        )}
      </section>
      <section class="analytics" aria-label="Response time distribution">
        <div class="analytics-head">
          <h2>Response time distribution</h2>
          <span class="muted small" aria-live="polite">
            {stats.data ? `${fmtCount(stats.data.traces)} traces in the window${estimate ? ' (estimate)' : ''} · ` : ''}
            {data.loading ? 'Loading… ' : ''}
            {fmtCount(data.summaries.length)} listed{data.scanned ? ` (${fmtCount(data.scanned)} scanned)` : ''}
            {rt ? ` · ${fmtCount(narrowed.length)} between ${fmtSeconds(rt[0])} and ${fmtSeconds(rt[1])}` : ' · drag across the histogram to narrow the list'}
          </span>
          {rt && (
            <>
              <button type="button" class="secondary small" onClick={() => setRt(undefined)}>
                Clear range
              </button>
              <button type="button" class="secondary small" onClick={applyRtToFilter} title="Add the range to the filter expression (queries the server)">
                Add to filter
              </button>
            </>
          )}
        </div>
        {binned.total > 0 ? (
          <Histogram binned={binned} selection={rt} onSelect={setRt} height={140} label="Response times of the window's matching traces; drag, or use the arrow keys, to narrow the list" />
        ) : (
          <div class="muted small pad">{data.loading ? 'Loading…' : 'No traces to chart.'}</div>
        )}
      </section>
      <section class="results" aria-label="Traces">
        <div class="results-head">
          <span class="counts">
            <span class="badge fault">{fmtCount(counts.fault)} fault</span>
            <span class="badge error">{fmtCount(counts.error)} error</span>
            <span class="badge throttle">{fmtCount(counts.throttle)} throttle</span>
            <span class="badge ok">{fmtCount(counts.ok)} ok</span>
          </span>
          {data.next && !data.loading && (
            <button type="button" class="secondary small" onClick={loadMore}>
              Load {PAGES_PER_LOAD * 100} more{data.next.slice > 0 ? ` (day ${data.next.slice + 1})` : ''}
            </button>
          )}
          <Pager page={pg} pages={pages} total={sorted.length} />
        </div>
        <div class="table-scroll">
        <table class="grid traces" aria-rowcount={sorted.length}>
          <thead>
            <tr>
              <th scope="col">Trace</th>
              {th('start', 'Started')}
              {th('rt', 'Response', 'num')}
              {th('duration', 'Duration', 'num')}
              {th('status', 'Status')}
              {th('http', 'HTTP')}
              {th('entry', 'Entry point')}
              <th scope="col">Root cause</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => {
              const st = traceStatus(s);
              return (
                <tr key={s.Id} data-status={st.status} data-trace-id={s.Id}>
                  <td class="mono">
                    <a href={`/traces/${encodeURIComponent(s.Id)}`} onClick={(e) => (rememberTraceList(selfUrl()), linkClick(e))}>
                      {s.Id}
                    </a>
                  </td>
                  <td title={s.StartTime ? formatClock(s.StartTime) : undefined}>{s.StartTime ? formatTimeMs(s.StartTime) : '–'}</td>
                  <td class="num">{fmtSeconds(s.ResponseTime)}</td>
                  <td class="num">{fmtSeconds(s.Duration)}</td>
                  <td>
                    <span class={`badge ${st.status}`}>{st.status}</span>
                    {s.IsPartial && <span class="badge partial">partial</span>}
                    {st.where && <span class="muted small"> in {st.where}</span>}
                  </td>
                  <td class="http">
                    {s.Http?.HttpMethod && <span class="method">{s.Http.HttpMethod}</span>} {s.Http?.HttpStatus ?? ''}{' '}
                    {s.Http?.HttpURL && <span class="url" title={s.Http.HttpURL}>{s.Http.HttpURL}</span>}
                  </td>
                  <td>
                    {s.EntryPoint?.Name ?? '–'} <span class="muted small">{s.EntryPoint ? typeInfo(s.EntryPoint.Type).label : ''}</span>
                  </td>
                  <td class="small rootcause" title={st.exception ? `${st.exception}${st.message ? ': ' + st.message : ''}` : undefined}>
                    {st.exception && <span class="exc-name">{st.exception}</span>}
                    {st.message && <span class="exc-msg">: {st.message}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        </div>
        {!data.loading && !data.error && sorted.length === 0 && (
          <div class="empty">
            <p>
              No traces {filter ? <>match <code>{filter}</code></> : 'arrived'} in this window{data.summaries.length ? ' and response-time range' : ''}.
            </p>
            {deep.data && (
              <div class="hint fault-hint" role="note">
                <p>
                  But {fmtCount(deep.data.count)}
                  {deep.data.more ? '+' : ''} traces of this window fault below their entry point
                  {deep.data.services.length ? <> (in {deep.data.services.join(', ')})</> : ''}: <code>fault</code> tests only the entry point's own
                  outcome. Faults anywhere in a trace:
                </p>
                <ul class="plain">
                  <li>
                    <a href={hrefWith(deepFaultFilter)} onClick={linkClick} data-filter={deepFaultFilter}>
                      <code>{deepFaultFilter}</code>
                    </a>
                  </li>
                  {deep.data.services.map((svc) => {
                    const f = `service(${quote(svc)}) { fault }`;
                    return (
                      <li key={svc}>
                        <a href={hrefWith(f)} onClick={linkClick} data-filter={f}>
                          <code>{f}</code>
                        </a>
                      </li>
                    );
                  })}
                </ul>
              </div>
            )}
          </div>
        )}
        {sorted.length > PAGE_SIZE && (
          <div class="results-foot">
            <Pager page={pg} pages={pages} total={sorted.length} />
          </div>
        )}
      </section>
    </div>
  );
}

function Pager({ page, pages, total }: { page: number; pages: number; total: number }) {
  const go = (p: number) => setQuery({ page: p === 1 ? undefined : p });
  const first = total ? (page - 1) * PAGE_SIZE + 1 : 0;
  const last = Math.min(total, page * PAGE_SIZE);
  return (
    <nav class="pager" aria-label="Pages of traces">
      <button type="button" class="secondary small" disabled={page <= 1} onClick={() => go(1)} aria-label="First page">
        «
      </button>
      <button type="button" class="secondary small" disabled={page <= 1} onClick={() => go(page - 1)} aria-label="Previous page">
        ‹ Prev
      </button>
      <span class="small">
        {fmtCount(first)}–{fmtCount(last)} of {fmtCount(total)} · page {page} of {pages}
      </span>
      <button type="button" class="secondary small" disabled={page >= pages} onClick={() => go(page + 1)} aria-label="Next page">
        Next ›
      </button>
      <button type="button" class="secondary small" disabled={page >= pages} onClick={() => go(pages)} aria-label="Last page">
        »
      </button>
    </nav>
  );
}


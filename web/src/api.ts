// The X-Ray REST-JSON API on the same origin: every operation is a POST of
// a JSON body to a capitalized path; errors carry x-amzn-ErrorType and
// {"__type","message"}.
import { mergeGraphs } from './graphmerge';
import { daySlices } from './time';
import type {
  Group,
  HistogramEntry,
  Statistics,
  TraceStats,
  LogRecord,
  ProfileExamples,
  ProfileResult,
  Service,
  ServiceGraph,
  Trace,
  TraceSummariesPage,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function call<T>(path: string, body: object, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('NetworkError', `cannot reach the server: ${(e as Error).message}`, 0);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    if (res.ok) throw new ApiError('InvalidResponse', `${path}: answer is not JSON`, res.status);
  }
  if (!res.ok) {
    let code = res.headers.get('x-amzn-ErrorType') ?? String(json.__type ?? json.code ?? 'HTTP' + res.status);
    code = code.split(':')[0].split('#').pop() ?? code;
    const message = String(json.message ?? json.Message ?? (text || res.statusText));
    throw new ApiError(code, message, res.status);
  }
  return json as T;
}

export interface SummariesQuery {
  start: number;
  end: number;
  filter?: string;
  nextToken?: string;
}

export function getTraceSummaries(q: SummariesQuery, signal?: AbortSignal): Promise<TraceSummariesPage> {
  const body: Record<string, unknown> = { StartTime: q.start, EndTime: q.end, TimeRangeType: 'TraceId' };
  if (q.filter && q.filter.trim()) body.FilterExpression = q.filter;
  if (q.nextToken) body.NextToken = q.nextToken;
  return call('/TraceSummaries', body, signal);
}

/** GetServiceGraph over any window: one call (every page) per day, merged. */
export async function getServiceGraph(
  start: number,
  end: number,
  group: string | undefined,
  signal?: AbortSignal,
): Promise<ServiceGraph> {
  const slices = daySlices(start, end);
  if (slices.length === 1) return getServiceGraphDay(start, end, group, signal);
  const graphs = await Promise.all(slices.map((w) => getServiceGraphDay(w.start, w.end, group, signal)));
  return { ...mergeGraphs(graphs), StartTime: start, EndTime: end };
}

/** GetServiceGraph, every page (a window of at most 24 hours). */
async function getServiceGraphDay(
  start: number,
  end: number,
  group: string | undefined,
  signal?: AbortSignal,
): Promise<ServiceGraph> {
  const services: Service[] = [];
  let token: string | undefined;
  let out: ServiceGraph & { NextToken?: string };
  let pages = 0;
  do {
    const body: Record<string, unknown> = { StartTime: start, EndTime: end };
    if (group && group !== 'Default') body.GroupName = group;
    if (token) body.NextToken = token;
    out = await call('/ServiceGraph', body, signal);
    services.push(...(out.Services ?? []));
    token = out.NextToken || undefined;
  } while (token && ++pages < 50);
  return { ...out, Services: services };
}

export async function batchGetTraces(ids: string[], signal?: AbortSignal): Promise<Trace[]> {
  const out = await call<{ Traces?: Trace[] }>('/Traces', { TraceIds: ids }, signal);
  return out.Traces ?? [];
}

export async function getTraceGraph(ids: string[], signal?: AbortSignal): Promise<Service[]> {
  const services: Service[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const body: Record<string, unknown> = { TraceIds: ids };
    if (token) body.NextToken = token;
    const out = await call<{ Services?: Service[]; NextToken?: string }>('/TraceGraph', body, signal);
    services.push(...(out.Services ?? []));
    token = out.NextToken || undefined;
  } while (token && ++pages < 50);
  return services;
}

export async function getGroups(signal?: AbortSignal): Promise<Group[]> {
  const groups: Group[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const out = await call<{ Groups?: Group[]; NextToken?: string }>('/Groups', token ? { NextToken: token } : {}, signal);
    groups.push(...(out.Groups ?? []));
    token = out.NextToken || undefined;
  } while (token && ++pages < 50);
  return groups;
}

/** Function log lines of a trace; null when the server keeps no logs. */
export async function getLogs(traceId: string, signal?: AbortSignal): Promise<LogRecord[] | null> {
  const res = await fetch(`/counterspy/v1/logs?trace_id=${encodeURIComponent(traceId)}`, {
    headers: { Accept: 'application/json' },
    signal,
  });
  if (res.status === 404 || res.status === 405) return null;
  if (!res.ok) throw new ApiError('HTTP' + res.status, (await res.text()) || res.statusText, res.status);
  const type = res.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return null;
  const out = await res.json();
  return Array.isArray(out) ? (out as LogRecord[]) : [];
}

export interface SeriesPoint {
  Timestamp: number;
  EdgeSummaryStatistics?: Statistics;
  ServiceSummaryStatistics?: Statistics;
  ResponseTimeHistogram?: HistogramEntry[];
}

/** GetTimeSeriesServiceStatistics over any window, a day per call, oldest point first. */
export async function getTimeSeries(
  start: number,
  end: number,
  selector: string | undefined,
  group: string | undefined,
  period: number,
  signal?: AbortSignal,
): Promise<SeriesPoint[]> {
  const day = async (w: { start: number; end: number }) => {
    const points: SeriesPoint[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const body: Record<string, unknown> = { StartTime: w.start, EndTime: w.end, Period: period };
      if (selector) body.EntitySelectorExpression = selector;
      if (group && group !== 'Default') body.GroupName = group;
      if (token) body.NextToken = token;
      const out = await call<{ TimeSeriesServiceStatistics?: SeriesPoint[]; NextToken?: string }>('/TimeSeriesServiceStatistics', body, signal);
      points.push(...(out.TimeSeriesServiceStatistics ?? []));
      token = out.NextToken || undefined;
    } while (token && ++pages < 50);
    return points;
  };
  const days = await Promise.all(daySlices(start, end).map(day));
  const seen = new Set<number>();
  return days
    .flat()
    .filter((p) => !seen.has(p.Timestamp) && (seen.add(p.Timestamp), true))
    .sort((a, b) => a.Timestamp - b.Timestamp);
}

/** Counterspy's aggregate over every summary a filter matches in the window (GET /counterspy/v1/trace-stats). */
export async function getTraceStats(filter: string, start: number, end: number, period: number, signal?: AbortSignal): Promise<TraceStats> {
  const q = new URLSearchParams({ start: String(start), end: String(end), period: String(period) });
  if (filter.trim()) q.set('filter', filter);
  return getCounterspyJSON<TraceStats>(`/counterspy/v1/trace-stats?${q}`, signal);
}

/** A period (a multiple of 60 s) giving at most about `points` points over the window. */
export function periodFor(seconds: number, points = 240): number {
  const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  return steps.find((p) => seconds / p <= points) ?? 86400;
}

/** A service's profile (GET /counterspy/v1/profile, docs/profile.md). */
export async function getProfile(
  service: string,
  start: number,
  end: number,
  compareSeconds: number,
  signal?: AbortSignal,
): Promise<ProfileResult> {
  const q = new URLSearchParams({ service, start: String(start), end: String(end) });
  if (compareSeconds > 0) {
    q.set('compare_start', String(start - compareSeconds));
    q.set('compare_end', String(end - compareSeconds));
  }
  return getCounterspyJSON<ProfileResult>(`/counterspy/v1/profile?${q}`, signal);
}

/**
 * Example traces whose invocation of service spent the given percentile
 * band of a part's time (GET /counterspy/v1/profile/examples, docs/profile.md).
 */
export async function getProfileExamples(
  service: string,
  part: string[],
  percentile: number,
  start: number,
  end: number,
  cls: 'cold' | 'warm' | undefined,
  signal?: AbortSignal,
): Promise<ProfileExamples> {
  const q = new URLSearchParams({ service, start: String(start), end: String(end), percentile: String(percentile) });
  for (const l of part) q.append('part', l);
  if (cls) q.set('class', cls);
  return getCounterspyJSON<ProfileExamples>(`/counterspy/v1/profile/examples?${q}`, signal);
}

async function getCounterspyJSON<T>(url: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('NetworkError', `cannot reach the server: ${(e as Error).message}`, 0);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    /* reported below */
  }
  if (!res.ok) throw new ApiError(res.headers.get('x-amzn-ErrorType') ?? 'HTTP' + res.status, String(json.message ?? (text || res.statusText)), res.status);
  return json as unknown as T;
}

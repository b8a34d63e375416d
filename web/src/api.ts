// The X-Ray REST-JSON API on the same origin: every operation is a POST of
// a JSON body to a capitalized path; errors carry x-amzn-ErrorType and
// {"__type","message"}.
import type {
  Group,
  LogRecord,
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

/** GetServiceGraph, every page. */
export async function getServiceGraph(
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

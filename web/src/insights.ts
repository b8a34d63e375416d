// X-Ray Insights (docs/insights.md): the four read operations the console
// uses, on the same origin as the other X-Ray operations (POST of a JSON
// body to a capitalized path, as in api.ts).
import { call } from './api';
import type { ServiceId } from './types';

export interface RequestImpact {
  FaultCount?: number;
  OkCount?: number;
  TotalCount?: number;
}

export interface Insight {
  InsightId: string;
  GroupARN?: string;
  GroupName?: string;
  RootCauseServiceId?: ServiceId;
  Categories?: string[];
  State: 'ACTIVE' | 'CLOSED' | string;
  StartTime: number;
  EndTime?: number;
  LastUpdateTime?: number;
  Summary?: string;
  ClientRequestImpactStatistics?: RequestImpact;
  RootCauseServiceRequestImpactStatistics?: RequestImpact;
  TopAnomalousServices?: { ServiceId?: ServiceId }[];
}

export interface InsightEvent {
  Summary?: string;
  EventTime: number;
  ClientRequestImpactStatistics?: RequestImpact;
  RootCauseServiceRequestImpactStatistics?: RequestImpact;
  TopAnomalousServices?: { ServiceId?: ServiceId }[];
}

export interface ImpactGraphService {
  ReferenceId: number;
  Type?: string;
  Name?: string;
  Names?: string[];
  AccountId?: string;
  Edges?: { ReferenceId: number }[];
}

export interface ImpactGraph {
  InsightId: string;
  StartTime: number;
  EndTime: number;
  ServiceGraphStartTime?: number;
  ServiceGraphEndTime?: number;
  Services?: ImpactGraphService[];
}

/** GetInsightSummaries, every page: insights active at some time in [start, end), most recent first; every group's when group is undefined. */
export async function getInsightSummaries(
  start: number,
  end: number,
  group: string | undefined,
  state: string | undefined,
  signal?: AbortSignal,
): Promise<Insight[]> {
  const out: Insight[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const body: Record<string, unknown> = { StartTime: start, EndTime: end };
    if (group) body.GroupName = group;
    if (state) body.States = [state];
    if (token) body.NextToken = token;
    const page = await call<{ InsightSummaries?: Insight[]; NextToken?: string }>('/InsightSummaries', body, signal);
    out.push(...(page.InsightSummaries ?? []));
    token = page.NextToken || undefined;
  } while (token && ++pages < 50);
  return out;
}

export async function getInsight(id: string, signal?: AbortSignal): Promise<Insight> {
  const out = await call<{ Insight: Insight }>('/Insight', { InsightId: id }, signal);
  return out.Insight;
}

/** GetInsightEvents, every page, most recent first. */
export async function getInsightEvents(id: string, signal?: AbortSignal): Promise<InsightEvent[]> {
  const out: InsightEvent[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const body: Record<string, unknown> = { InsightId: id };
    if (token) body.NextToken = token;
    const page = await call<{ InsightEvents?: InsightEvent[]; NextToken?: string }>('/InsightEvents', body, signal);
    out.push(...(page.InsightEvents ?? []));
    token = page.NextToken || undefined;
  } while (token && ++pages < 50);
  return out;
}

export function getInsightImpactGraph(id: string, start: number, end: number, signal?: AbortSignal): Promise<ImpactGraph> {
  return call('/InsightImpactGraph', { InsightId: id, StartTime: start, EndTime: end }, signal);
}

/**
 * The window of an insight's impact graph: from the start of the recent
 * window that opened it (5 minutes before, docs/insights.md) to its end
 * (or now), at most the 24 hours one GetInsightImpactGraph call takes.
 */
export function impactWindow(i: Insight, now: number = Date.now() / 1000): { start: number; end: number } {
  const end = Math.ceil(i.EndTime ?? now);
  const start = Math.max(Math.floor(i.StartTime - 300), end - 24 * 3600);
  return { start, end: Math.max(end, start + 60) };
}

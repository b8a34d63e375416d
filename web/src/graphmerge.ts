// Merging service graphs of adjacent windows: X-Ray answers GetServiceGraph
// for at most a day, so a week is seven graphs summed node by node (keyed by
// type and name) and edge by edge (keyed by the callee's key).
import { nodeKey } from './health';
import type { Edge, HistogramEntry, Service, ServiceGraph, Statistics } from './types';

function addStats(a: Statistics | undefined, b: Statistics | undefined): Statistics | undefined {
  if (!a) return b && structuredClone(b);
  if (!b) return a;
  const n = (x?: number, y?: number) => (x ?? 0) + (y ?? 0);
  return {
    OkCount: n(a.OkCount, b.OkCount),
    ErrorStatistics: {
      ThrottleCount: n(a.ErrorStatistics?.ThrottleCount, b.ErrorStatistics?.ThrottleCount),
      OtherCount: n(a.ErrorStatistics?.OtherCount, b.ErrorStatistics?.OtherCount),
      TotalCount: n(a.ErrorStatistics?.TotalCount, b.ErrorStatistics?.TotalCount),
    },
    FaultStatistics: {
      OtherCount: n(a.FaultStatistics?.OtherCount, b.FaultStatistics?.OtherCount),
      TotalCount: n(a.FaultStatistics?.TotalCount, b.FaultStatistics?.TotalCount),
    },
    TotalCount: n(a.TotalCount, b.TotalCount),
    TotalResponseTime: n(a.TotalResponseTime, b.TotalResponseTime),
  };
}

export function addHistograms(a: HistogramEntry[] | undefined, b: HistogramEntry[] | undefined): HistogramEntry[] | undefined {
  if (!a) return b && b.map((e) => ({ ...e }));
  if (!b) return a;
  const m = new Map<number, number>();
  for (const e of [...a, ...b]) m.set(e.Value, (m.get(e.Value) ?? 0) + e.Count);
  return [...m].sort((x, y) => x[0] - y[0]).map(([Value, Count]) => ({ Value, Count }));
}

const minT = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
const maxT = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

/** Sums graphs of disjoint windows into one; ReferenceIds are renumbered. */
export function mergeGraphs(graphs: ServiceGraph[]): ServiceGraph {
  const nodes = new Map<string, Service & { edgeMap: Map<string, Edge> }>();
  for (const g of graphs) {
    const keyOf = new Map(g.Services.map((s) => [s.ReferenceId, nodeKey(s)]));
    for (const s of g.Services) {
      const k = nodeKey(s);
      let n = nodes.get(k);
      if (!n) {
        n = { ...s, ReferenceId: nodes.size, Edges: [], SummaryStatistics: undefined, ResponseTimeHistogram: undefined, DurationHistogram: undefined, edgeMap: new Map() };
        nodes.set(k, n);
      }
      n.Root = n.Root || s.Root;
      n.Names = [...new Set([...(n.Names ?? []), ...(s.Names ?? [])])];
      n.StartTime = minT(n.StartTime, s.StartTime);
      n.EndTime = maxT(n.EndTime, s.EndTime);
      n.SummaryStatistics = addStats(n.SummaryStatistics, s.SummaryStatistics);
      n.ResponseTimeHistogram = addHistograms(n.ResponseTimeHistogram, s.ResponseTimeHistogram);
      n.DurationHistogram = addHistograms(n.DurationHistogram, s.DurationHistogram);
      for (const e of s.Edges ?? []) {
        const tk = keyOf.get(e.ReferenceId);
        if (tk === undefined) continue;
        const cur = n.edgeMap.get(tk);
        if (!cur) {
          n.edgeMap.set(tk, { ...e, SummaryStatistics: addStats(undefined, e.SummaryStatistics), ResponseTimeHistogram: addHistograms(undefined, e.ResponseTimeHistogram) });
        } else {
          cur.StartTime = minT(cur.StartTime, e.StartTime);
          cur.EndTime = maxT(cur.EndTime, e.EndTime);
          cur.SummaryStatistics = addStats(cur.SummaryStatistics, e.SummaryStatistics);
          cur.ResponseTimeHistogram = addHistograms(cur.ResponseTimeHistogram, e.ResponseTimeHistogram);
        }
      }
    }
  }
  const services: Service[] = [];
  for (const n of nodes.values()) {
    const { edgeMap, ...s } = n;
    s.Edges = [...edgeMap].map(([tk, e]) => ({ ...e, ReferenceId: nodes.get(tk)!.ReferenceId }));
    services.push(s);
  }
  return {
    Services: services,
    StartTime: graphs.reduce<number | undefined>((m, g) => minT(m, g.StartTime), undefined),
    EndTime: graphs.reduce<number | undefined>((m, g) => maxT(m, g.EndTime), undefined),
    ContainsOldGroupVersions: graphs.some((g) => g.ContainsOldGroupVersions),
  };
}

/** The value below which a share q of the histogram's counts lie (nearest rank). */
export function histogramPercentile(h: HistogramEntry[] | undefined, q: number): number | undefined {
  if (!h?.length) return undefined;
  const sorted = [...h].sort((a, b) => a.Value - b.Value);
  const total = sorted.reduce((n, e) => n + e.Count, 0);
  if (!total) return undefined;
  const rank = Math.ceil(q * total);
  let cum = 0;
  for (const e of sorted) {
    cum += e.Count;
    if (cum >= rank) return e.Value;
  }
  return sorted.at(-1)!.Value;
}

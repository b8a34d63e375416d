// Insights (docs/insights.md): the fault-rate anomalies Counterspy found in
// the groups with Insights on, from GetInsightSummaries over the chosen
// window and group, most recent first. Each row links to the insight's
// page (/insights/<id>) and its root cause to the map and the traces.
import { getGroups } from '../api';
import { fmtCount, fmtPercent } from '../format';
import { idRef } from '../health';
import { useAsync } from '../hooks';
import { getInsightSummaries, type Insight, type RequestImpact } from '../insights';
import { href, linkClick, setQuery } from '../router';
import { formatClock, rangeFromQuery, rangeToQuery, resolveRange, type TimeRange } from '../time';
import type { ServiceId } from '../types';
import { TimeRangePicker } from './TimeRangePicker';
import '../insights.css';

export function StateChip({ state }: { state: string }) {
  return <span class={`badge state ${state === 'ACTIVE' ? 'fault' : 'ok'}`}>{state}</span>;
}

export function serviceLabel(s: ServiceId | undefined): string {
  if (!s) return '?';
  return s.Type ? `${s.Name ?? '?'} (${s.Type})` : (s.Name ?? '?');
}

/** The map centred on a service (its node selected) and its faulting traces, over a window. */
export function serviceLinks(s: ServiceId, range: Record<string, string | undefined>, group: string | undefined) {
  const key = `n:${s.Type ?? ''}|${s.Name ?? ''}`;
  return {
    map: href('/map', { ...range, group: group && group !== 'Default' ? group : undefined, sel: key }),
    traces: href('/traces', { ...range, filter: `service(${idRef(s)}) { fault }` }),
  };
}

/** The window an insight covers, for links: from 5 minutes before it opened to its end (or now). */
export function insightRange(i: Insight): Record<string, string | undefined> {
  const end = i.EndTime ? Math.ceil(i.EndTime) + 60 : undefined;
  return rangeToQuery(end ? { kind: 'absolute', start: Math.floor(i.StartTime) - 300, end } : { kind: 'absolute', start: Math.floor(i.StartTime) - 300, end: Math.ceil(Date.now() / 1000) });
}

export function Impact({ s }: { s: RequestImpact | undefined }) {
  const total = s?.TotalCount ?? 0;
  const faults = s?.FaultCount ?? 0;
  if (!total) return <span class="muted">–</span>;
  return (
    <span title={`${fmtCount(faults)} faults, ${fmtCount(s?.OkCount ?? 0)} OK of ${fmtCount(total)} requests`}>
      <span class="impact-bar" aria-hidden="true">
        <span style={{ width: `${Math.min(100, (100 * faults) / total)}%` }} />
      </span>
      {fmtCount(faults)}/{fmtCount(total)} faults ({fmtPercent(faults, total)})
    </span>
  );
}

export function InsightsPage({ query }: { query: URLSearchParams }) {
  const range = rangeFromQuery(query, { kind: 'relative', seconds: 6 * 3600 });
  // Unlike the map's (where no group is the Default group's whole graph),
  // no group here lists the insights of every group.
  const group = query.get('group') ?? '';
  const state = query.get('state') ?? '';
  const rangeKey = JSON.stringify(range);
  const list = useAsync(
    (signal) => {
      const w = resolveRange(range);
      return getInsightSummaries(w.start, w.end, group || undefined, state || undefined, signal);
    },
    [rangeKey, group, state],
  );
  const groups = useAsync((signal) => getGroups(signal), []);
  const changeRange = (r: TimeRange) => setQuery({ ...rangeToQuery(r) }, { push: true });
  const groupNames = groups.data?.map((g) => g.GroupName) ?? [];
  const insights = list.data ?? [];
  const enabled = groups.data?.filter((g) => (g as { InsightsConfiguration?: { InsightsEnabled?: boolean } }).InsightsConfiguration?.InsightsEnabled).map((g) => g.GroupName);

  return (
    <div class="page insights-page">
      <div class="toolbar">
        <h1>Insights</h1>
        <TimeRangePicker range={range} onChange={changeRange} onRefresh={list.reload} loading={list.loading} />
        <label class="group-select">
          Group{' '}
          <select value={group} onChange={(e) => setQuery({ group: (e.target as HTMLSelectElement).value || undefined }, { push: true })}>
            <option value="">all groups</option>
            {(groupNames.includes(group) || !group ? groupNames : [...groupNames, group]).map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setQuery({ state: (e.target as HTMLSelectElement).value || undefined }, { push: true })}>
            <option value="">any</option>
            <option value="ACTIVE">active</option>
            <option value="CLOSED">closed</option>
          </select>
        </label>
      </div>
      {list.error && (
        <div class="error-box" role="alert">
          Could not load the insights: {list.error.message}
        </div>
      )}
      {!list.loading && !list.error && insights.length === 0 && (
        <div class="empty">
          <p>No insights in this window{group ? ` for group ${group}` : ''}.</p>
          <p class="muted">
            {enabled && enabled.length
              ? `Insights are on for: ${enabled.join(', ')}. `
              : 'No group has Insights on: set InsightsConfiguration.InsightsEnabled with CreateGroup or UpdateGroup (aws xray update-group --group-name Default --insights-configuration InsightsEnabled=true). '}
            Counterspy opens an insight when a service's fault rate over the last 5 minutes rises well above its last hour (docs/insights.md).
          </p>
        </div>
      )}
      {insights.length > 0 && (
        <table class="grid insights-table">
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Root cause</th>
              <th scope="col">Group</th>
              <th scope="col">Categories</th>
              <th scope="col">Started</th>
              <th scope="col">Ended</th>
              <th scope="col">Client request impact</th>
              <th scope="col">Top anomalous services</th>
            </tr>
          </thead>
          <tbody>
            {insights.map((i) => {
              const root = i.RootCauseServiceId;
              const links = root && serviceLinks(root, insightRange(i), i.GroupName);
              return (
                <tr key={i.InsightId} data-insight={i.InsightId} data-state={i.State}>
                  <td>
                    <StateChip state={i.State} />
                  </td>
                  <td>
                    <a class="root-cause" href={`/insights/${encodeURIComponent(i.InsightId)}`} onClick={linkClick} title={i.Summary}>
                      {serviceLabel(root)}
                    </a>
                    {links && (
                      <div class="small">
                        <a href={links.map} onClick={linkClick}>
                          map
                        </a>{' '}
                        ·{' '}
                        <a href={links.traces} onClick={linkClick}>
                          faulting traces
                        </a>
                      </div>
                    )}
                  </td>
                  <td>{i.GroupName}</td>
                  <td>{(i.Categories ?? []).join(', ')}</td>
                  <td class="num">{formatClock(i.StartTime)}</td>
                  <td class="num">{i.EndTime ? formatClock(i.EndTime) : <span class="muted">ongoing</span>}</td>
                  <td>
                    <Impact s={i.ClientRequestImpactStatistics} />
                  </td>
                  <td>{(i.TopAnomalousServices ?? []).map((t) => t.ServiceId?.Name ?? '?').join(', ') || <span class="muted">–</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

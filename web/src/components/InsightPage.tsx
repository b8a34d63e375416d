// One insight (/insights/<id>): GetInsight for its state, root cause and
// impact, GetInsightEvents as a timeline (most recent first), and
// GetInsightImpactGraph drawn with the map's layout, the root cause
// selected, beside a list of its nodes.
import { fmtCount, fmtPercent } from '../format';
import { nodeKey, typeInfo } from '../health';
import { useAsync } from '../hooks';
import { getInsight, getInsightEvents, getInsightImpactGraph, impactWindow } from '../insights';
import { href, linkClick } from '../router';
import { formatClock } from '../time';
import type { Service } from '../types';
import { Impact, insightRange, serviceLabel, serviceLinks, StateChip } from './InsightsPage';
import { ServiceMap } from './ServiceMap';
import '../insights.css';

export function InsightPage({ id }: { id: string }) {
  const insight = useAsync((signal) => getInsight(id, signal), [id]);
  const events = useAsync((signal) => getInsightEvents(id, signal), [id]);
  const i = insight.data;
  const win = i ? impactWindow(i) : undefined;
  const graph = useAsync(
    (signal) => (i && win ? getInsightImpactGraph(id, win.start, win.end, signal) : Promise.resolve(undefined)),
    [id, i?.StartTime, i?.EndTime, i?.LastUpdateTime],
  );

  if (insight.error) {
    return (
      <div class="page">
        <h1>Insight</h1>
        <div class="error-box" role="alert">
          Could not load insight <code>{id}</code>: {insight.error.message}
        </div>
        <p>
          <a href="/insights" onClick={linkClick}>
            All insights
          </a>
        </p>
      </div>
    );
  }
  if (!i) return <div class="page muted">Loading insight…</div>;

  const root = i.RootCauseServiceId;
  const range = insightRange(i);
  const links = root && serviceLinks(root, range, i.GroupName);
  const services = (graph.data?.Services ?? []) as Service[];
  const anomalous = new Set((i.TopAnomalousServices ?? []).map((t) => nodeKey(t.ServiceId ?? {})));
  const byRef = new Map(services.map((x) => [x.ReferenceId, x]));
  const rootNode = root ? services.find((s) => nodeKey(s) === nodeKey(root)) : undefined;
  const ci = i.ClientRequestImpactStatistics;
  const ri = i.RootCauseServiceRequestImpactStatistics;
  const list = href('/insights', { group: i.GroupName });

  return (
    <div class="page insight-page">
      <p class="small">
        <a href={list} onClick={linkClick}>
          ← Insights
        </a>
      </p>
      <div class="insight-head">
        <h1>
          Insight: <span class="root-cause">{serviceLabel(root)}</span>
        </h1>
        <StateChip state={i.State} />
        <span class="muted">
          group {i.GroupName} · {(i.Categories ?? []).join(', ')}
        </span>
      </div>
      {i.Summary && <p class="insight-summary">{i.Summary}</p>}
      <div class="insight-facts">
        <section class="panel">
          <h3>Root cause</h3>
          <div class="big">{root?.Name ?? '?'}</div>
          <div class="muted small">{typeInfo(root?.Type).label}</div>
          {links && (
            <div class="small">
              <a href={links.map} onClick={linkClick}>
                Show on the map
              </a>{' '}
              ·{' '}
              <a href={links.traces} onClick={linkClick}>
                Faulting traces
              </a>
            </div>
          )}
        </section>
        <section class="panel">
          <h3>Time</h3>
          <div>Started {formatClock(i.StartTime)}</div>
          <div>{i.EndTime ? `Ended ${formatClock(i.EndTime)}` : 'Ongoing'}</div>
          {i.EndTime && <div class="muted small">lasted {Math.round((i.EndTime - i.StartTime) / 60)} min</div>}
        </section>
        <section class="panel">
          <h3>Client request impact</h3>
          <Impact s={ci} />
          <div class="muted small">requests from outside into the group, over the last 5 minutes tested</div>
        </section>
        <section class="panel">
          <h3>Root cause service requests</h3>
          <Impact s={ri} />
        </section>
      </div>
      <div class="insight-layout">
        <section class="insight-graph" aria-label="Impact graph">
          <h2>Impact graph</h2>
          {graph.error && (
            <div class="error-box" role="alert">
              Could not load the impact graph: {graph.error.message}
            </div>
          )}
          {graph.data && (
            <p class="muted small">
              The group's services from {formatClock(graph.data.ServiceGraphStartTime ?? graph.data.StartTime)} to{' '}
              {formatClock(graph.data.ServiceGraphEndTime ?? graph.data.EndTime)}; the root cause is selected.
            </p>
          )}
          {services.length > 0 && (
            <ServiceMap
              services={services}
              selection={rootNode ? { kind: 'node', ref: rootNode.ReferenceId } : undefined}
              height="320px"
              compact
              label={`Impact graph of the insight, ${services.length} nodes`}
            />
          )}
          {services.length > 0 && (
            <table class="grid impact-nodes">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Type</th>
                  <th scope="col">Calls</th>
                  <th scope="col">In this insight</th>
                </tr>
              </thead>
              <tbody>
                {services.map((s) => {
                  const k = nodeKey(s);
                  const role = root && k === nodeKey(root) ? 'root cause' : anomalous.has(k) ? 'anomalous' : '';
                  return (
                    <tr key={s.ReferenceId} data-name={s.Name}>
                      <td>{s.Name}</td>
                      <td>{typeInfo(s.Type).label}</td>
                      <td>{(s.Edges ?? []).map((e) => byRef.get(e.ReferenceId)?.Name ?? '?').join(', ') || <span class="muted">–</span>}</td>
                      <td>{role && <span class={`badge state ${role === 'root cause' ? 'fault' : 'error'}`}>{role}</span>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
        <section class="panel" aria-label="Events">
          <h2>Events</h2>
          {events.error && (
            <div class="error-box" role="alert">
              Could not load the events: {events.error.message}
            </div>
          )}
          {events.data && events.data.length === 0 && <p class="muted">No events.</p>}
          <ol class="insight-timeline">
            {(events.data ?? []).map((e, k) => {
              const c = e.ClientRequestImpactStatistics;
              return (
                <li key={k} class="insight-event">
                  <time>{formatClock(e.EventTime)}</time>
                  <div>{e.Summary}</div>
                  <div class="muted small">
                    client requests: {fmtCount(c?.FaultCount ?? 0)} faults of {fmtCount(c?.TotalCount ?? 0)} ({fmtPercent(c?.FaultCount ?? 0, c?.TotalCount ?? 0)})
                    {(e.TopAnomalousServices ?? []).length > 0 && <> · anomalous: {(e.TopAnomalousServices ?? []).map((t) => t.ServiceId?.Name).join(', ')}</>}
                  </div>
                </li>
              );
            })}
          </ol>
        </section>
      </div>
    </div>
  );
}

// One trace: its own service map, the timeline of every segment and
// subsegment on one time axis (grouped by service), the details of the
// selected bar, the raw documents and the functions' log lines.
import { useEffect, useMemo } from 'preact/hooks';
import { batchGetTraces, getLogs, getTraceGraph, getTraceSummaries } from '../api';
import { fmtSeconds } from '../format';
import { useAsync, lastTraceList } from '../hooks';
import { linkClick, setQuery } from '../router';
import { formatClock, formatTimeMs } from '../time';
import { buildTimeline, type Timeline } from '../trace/model';
import { ServiceMap } from './ServiceMap';
import { SegmentDetails } from './SegmentDetails';
import { TimelineView } from './TimelineView';
import type { RootCause } from '../types';

type Tab = 'timeline' | 'raw' | 'logs';

export function TracePage({ id, query }: { id: string; query: URLSearchParams }) {
  const trace = useAsync(async (signal) => {
    const traces = await batchGetTraces([id], signal);
    return traces.find((t) => t.Id === id) ?? null;
  }, [id]);
  const graph = useAsync((signal) => getTraceGraph([id], signal), [id]);
  const tl = useMemo(() => (trace.data ? buildTimeline(trace.data) : undefined), [trace.data]);
  const tab = (['timeline', 'raw', 'logs'].includes(query.get('tab') ?? '') ? query.get('tab') : 'timeline') as Tab;
  const sel = query.get('sel') ?? undefined;
  const selected = sel && tl ? tl.byId.get(sel) : undefined;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && sel && !(e.target as HTMLElement).closest('input, select, textarea')) setQuery({ sel: undefined });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [sel]);

  const back = lastTraceList();
  return (
    <div class="page trace-page">
      <div class="toolbar">
        <a href={back} onClick={linkClick} class="back">
          ← Traces
        </a>
        <h1>
          Trace <span class="mono">{id}</span>
        </h1>
        <button type="button" onClick={() => (trace.reload(), graph.reload())} disabled={trace.loading}>
          {trace.loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      {trace.error && (
        <div class="error-box" role="alert">
          Could not load the trace: {trace.error.message}
        </div>
      )}
      {trace.data === null && !trace.loading && (
        <div class="error-box" role="alert">
          No trace <code>{id}</code> in the store (it may be older than the retention, or not yet assembled).
        </div>
      )}
      <RootCauses id={id} />
      {tl && trace.data && (
        <>
          <TraceHeader tl={tl} limitExceeded={!!trace.data.LimitExceeded} />
          <div class="tabs" role="tablist" aria-label="Trace views">
            {(
              [
                ['timeline', 'Timeline'],
                ['raw', 'Raw data'],
                ['logs', 'Logs'],
              ] as [Tab, string][]
            ).map(([t, label]) => (
              <button
                key={t}
                type="button"
                role="tab"
                id={`tab-${t}`}
                aria-selected={tab === t}
                aria-controls={`panel-${t}`}
                class={tab === t ? 'tab active' : 'tab'}
                onClick={() => setQuery({ tab: t === 'timeline' ? undefined : t })}
              >
                {label}
              </button>
            ))}
          </div>
          {tab === 'timeline' && (
            <div id="panel-timeline" role="tabpanel" aria-labelledby="tab-timeline" class="trace-body">
              <div class="trace-main">
                <section class="mini-map" aria-label="Service map of this trace">
                  {graph.data && graph.data.length > 0 ? (
                    <ServiceMap services={graph.data} height="170px" compact label="Service map of this trace" />
                  ) : (
                    <div class="muted small pad">{graph.loading ? 'Loading the trace map…' : graph.error ? `No trace map: ${graph.error.message}` : 'No trace map.'}</div>
                  )}
                </section>
                <TimelineView tl={tl} selected={selected?.key} onSelect={(k) => setQuery({ sel: k })} />
              </div>
              {selected && (
                <aside class="side details-side">
                  <SegmentDetails row={selected} tl={tl} onClose={() => setQuery({ sel: undefined })} />
                </aside>
              )}
            </div>
          )}
          {tab === 'raw' && (
            <div id="panel-raw" role="tabpanel" aria-labelledby="tab-raw">
              <RawDocuments tl={tl} />
            </div>
          )}
          {tab === 'logs' && (
            <div id="panel-logs" role="tabpanel" aria-labelledby="tab-logs">
              <Logs id={id} />
            </div>
          )}
        </>
      )}
    </div>
  );
}

function TraceHeader({ tl, limitExceeded }: { tl: Timeline; limitExceeded: boolean }) {
  const rows = [...tl.byId.values()];
  const count = (st: string) => rows.filter((r) => r.status === st).length;
  const open = rows.filter((r) => r.inProgress).length;
  return (
    <dl class="trace-header">
      <div>
        <dt>Started</dt>
        <dd>{formatClock(tl.start)}</dd>
      </div>
      <div>
        <dt>Duration</dt>
        <dd>{fmtSeconds(tl.end - tl.start)}</dd>
      </div>
      <div>
        <dt>Segments</dt>
        <dd>
          {tl.documents.length} segments, {rows.length - tl.documents.length} subsegments
        </dd>
      </div>
      <div>
        <dt>Services</dt>
        <dd>{tl.groups.length}</dd>
      </div>
      <div>
        <dt>Outcome</dt>
        <dd>
          {count('fault') > 0 && <span class="badge fault">{count('fault')} fault</span>}
          {count('error') > 0 && <span class="badge error">{count('error')} error</span>}
          {count('throttle') > 0 && <span class="badge throttle">{count('throttle')} throttle</span>}
          {open > 0 && <span class="badge partial">{open} in progress</span>}
          {!count('fault') && !count('error') && !count('throttle') && <span class="badge ok">ok</span>}
          {limitExceeded && <span class="badge error">trace too large: truncated</span>}
        </dd>
      </div>
    </dl>
  );
}

function RawDocuments({ tl }: { tl: Timeline }) {
  return (
    <div class="raw">
      <p class="muted small">
        The compiled segment documents as <code>BatchGetTraces</code> returns them ({tl.documents.length}), streamed subsegments nested back into
        their parents; inferred segments carry <code>"inferred": true</code>.
      </p>
      {tl.documents.map((d) => (
        <details key={d.id} open class="raw-doc">
          <summary>
            <span class="mono">{d.id}</span> {d.name} <span class="muted">{d.origin ?? ''}</span>
            {d.inferred && <span class="badge partial">inferred</span>}
          </summary>
          <pre>{JSON.stringify(d, null, 2)}</pre>
        </details>
      ))}
    </div>
  );
}

function Logs({ id }: { id: string }) {
  const logs = useAsync((signal) => getLogs(id, signal), [id]);
  if (logs.loading) return <p class="muted">Loading log lines…</p>;
  if (logs.error)
    return (
      <div class="error-box" role="alert">
        Could not load the log lines: {logs.error.message}
      </div>
    );
  if (logs.data === null || logs.data === undefined)
    return (
      <p class="muted">
        This server keeps no function logs. Functions run by <code>counterspy lambda</code> post theirs to <code>/counterspy/v1/logs</code>.
      </p>
    );
  if (!logs.data.length) return <p class="muted">No log lines for this trace.</p>;
  return (
    <table class="grid logs">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Function</th>
          <th scope="col">Request</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {logs.data.map((l, i) => (
          <tr key={i} class={l.stream === 'stderr' || l.stream === 'platform' ? l.stream : undefined}>
            <td class="mono small">{formatTimeMs(Date.parse(l.time) / 1000)}</td>
            <td>
              {l.function}
              {l.logStream && <div class="muted small">{l.logStream}</div>}
            </td>
            <td class="mono small">{l.requestId}</td>
            <td>
              <pre class="log-line">{l.message}</pre>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The trace's root causes as its summary names them (service, entity, exception type and message), shown without a click. */
function RootCauses({ id }: { id: string }) {
  const summary = useAsync(async (signal) => {
    const m = /^1-([0-9a-f]{8})-/.exec(id);
    if (!m) return undefined;
    const t = parseInt(m[1], 16);
    const out = await getTraceSummaries({ start: t - 60, end: t + 60, filter: id }, signal);
    return out.TraceSummaries?.find((s) => s.Id === id);
  }, [id]);
  const s = summary.data;
  if (!s) return null;
  const items = (kind: 'fault' | 'error', rcs: RootCause[] | undefined) =>
    (rcs ?? []).flatMap((rc, i) => {
      const svcs = rc.Services ?? [];
      const svc = svcs.find((x) => x.EntityPath?.some((e) => e.Exceptions?.length)) ?? svcs.at(-1);
      if (!svc) return [];
      const ent = svc.EntityPath?.find((e) => e.Exceptions?.length) ?? svc.EntityPath?.at(-1);
      const exc = ent?.Exceptions?.[0];
      return [
        <li key={kind + i} class={`rootcause-item ${kind}`}>
          <span class={`badge ${kind}`}>{kind}</span> in <strong>{svc.Name}</strong>
          {svc.Type && <span class="muted small"> ({svc.Type})</span>}
          {ent && ent.Name !== svc.Name && <span> · {ent.Name}</span>}
          {exc && (
            <div class="exception">
              <span class="exc-name">{exc.Name}</span>
              {exc.Message && <span class="exc-msg">: {exc.Message}</span>}
            </div>
          )}
        </li>,
      ];
    });
  const list = [...items('fault', s.FaultRootCauses), ...items('error', s.ErrorRootCauses)];
  if (!list.length) return null;
  return (
    <section class="rootcauses" aria-label="Root cause">
      <h2>Root cause</h2>
      <ul class="plain">{list}</ul>
    </section>
  );
}

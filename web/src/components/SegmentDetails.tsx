// Details of one segment or subsegment: overview, resources (HTTP, AWS,
// SQL), annotations, metadata, exceptions with their stacks, and the raw
// document of the entity; for entities made from OpenTelemetry spans, the
// span's kind, attributes, events, links, scope and resource.
import { useState } from 'preact/hooks';
import { fmtSeconds } from '../format';
import { typeInfo } from '../health';
import { formatClock, formatTimeMs } from '../time';
import { exceptionsOf, nodeOf, type Row, type Timeline } from '../trace/model';
import { otelContext } from '../trace/otel';
import type { SegmentDoc } from '../types';
import { OtelDetails } from './OtelDetails';

type Tab = 'overview' | 'otel' | 'resources' | 'annotations' | 'metadata' | 'exceptions' | 'raw';

function KV({ rows }: { rows: [string, unknown][] }) {
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (!shown.length) return null;
  return (
    <table class="kv">
      <tbody>
        {shown.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === 'object' ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function flat(obj: Record<string, unknown> | undefined, prefix = ''): [string, unknown][] {
  if (!obj) return [];
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flat(v as Record<string, unknown>, prefix + k + '.'));
    else out.push([prefix + k, Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') : v]);
  }
  return out;
}

function withoutChildren(d: SegmentDoc): Omit<SegmentDoc, 'subsegments'> & { subsegments?: string } {
  const { subsegments, ...rest } = d;
  return subsegments?.length ? { ...rest, subsegments: `(${subsegments.length} nested, shown as their own rows)` } : rest;
}

export function SegmentDetails({ row, tl, onClose }: { row: Row; tl: Timeline; onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('overview');
  const d = row.doc;
  const exc = exceptionsOf(d, tl);
  const node = nodeOf(row.segment);
  const annotations = Object.entries(d.annotations ?? {});
  const otel = otelContext(row);
  const hasResources = !!(d.http || d.aws || d.sql || d.service);
  const tabs: [Tab, string, boolean][] = [
    ['overview', 'Overview', true],
    ...(otel ? ([['otel', 'OpenTelemetry', true]] as [Tab, string, boolean][]) : []),
    ['resources', 'Resources', hasResources],
    ['annotations', `Annotations${annotations.length ? ` (${annotations.length})` : ''}`, annotations.length > 0],
    ['metadata', 'Metadata', !!d.metadata && Object.keys(d.metadata).length > 0],
    ['exceptions', `Exceptions${exc.exceptions.length ? ` (${exc.exceptions.length})` : ''}`, exc.exceptions.length > 0],
    ['raw', 'Raw', true],
  ];
  const cur = tabs.find(([t]) => t === tab) ? tab : 'overview';

  return (
    <section class="panel segment-details" aria-label={`Details of ${d.name}`}>
      <div class="panel-head">
        <div>
          <h2>{d.name}</h2>
          <div class="muted">
            {row.isSegment ? 'Segment' : 'Subsegment'} of {node.name} ({typeInfo(node.type).label})
          </div>
        </div>
        <button type="button" class="icon" onClick={onClose} aria-label="Close details" title="Close (Esc)">
          ×
        </button>
      </div>
      <div class="tabs small-tabs" role="tablist" aria-label="Segment details">
        {tabs.map(([t, label, has]) => (
          <button key={t} type="button" role="tab" aria-selected={cur === t} class={`tab${cur === t ? ' active' : ''}${has ? '' : ' empty'}`} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" class="details-body">
        {cur === 'overview' && (
          <>
            <KV
              rows={[
                ['Name', d.name],
                ['ID', d.id],
                ['Parent ID', d.parent_id],
                ['Origin', d.origin],
                ['Namespace', d.namespace],
                ['Span kind', otel?.span.kind],
                ['Span status', otel?.span.status ? `${otel.span.status.code ?? 'Unset'}${otel.span.status.message ? `: ${otel.span.status.message}` : ''}` : undefined],
                ['Start', `${formatClock(d.start_time)} (${formatTimeMs(d.start_time)})`],
                ['End', d.end_time !== undefined ? formatTimeMs(d.end_time) : 'in progress'],
                ['Duration', row.inProgress ? `open for ${fmtSeconds(row.end - row.start)} so far` : fmtSeconds(row.end - row.start)],
                ['Status', [d.fault && 'fault (5xx)', d.error && 'error (4xx)', d.throttle && 'throttled (429)'].filter(Boolean).join(', ') || 'ok'],
                ['HTTP status', d.http?.response?.status],
                ['In progress', row.inProgress ? 'yes' : undefined],
                ['Inferred', d.inferred ? 'yes: drawn from the caller’s subsegment' : undefined],
                ['User', d.user],
                ['Resource ARN', d.resource_arn],
                ['Function ARN', (d.aws as Record<string, unknown> | undefined)?.function_arn],
                ['Request ID', (d.aws as Record<string, unknown> | undefined)?.request_id],
                ['Operation', (d.aws as Record<string, unknown> | undefined)?.operation],
                ['Lambda phase', row.lambdaPhase ? phaseHelp(d.name) : undefined],
              ]}
            />
            {exc.exceptions.length > 0 && (
              <p>
                <button type="button" class="link" onClick={() => setTab('exceptions')}>
                  {exc.exceptions[0].type ?? 'Exception'}: {exc.exceptions[0].message}
                </button>
              </p>
            )}
          </>
        )}
        {cur === 'otel' && otel && <OtelDetails ctx={otel} row={row} tl={tl} />}
        {cur === 'resources' &&
          (hasResources ? (
            <>
              {d.http?.request && (
                <>
                  <h3>HTTP request</h3>
                  <KV rows={flat(d.http.request)} />
                </>
              )}
              {d.http?.response && (
                <>
                  <h3>HTTP response</h3>
                  <KV rows={flat(d.http.response)} />
                </>
              )}
              {d.aws && (
                <>
                  <h3>AWS</h3>
                  <KV rows={flat(d.aws)} />
                </>
              )}
              {d.sql && (
                <>
                  <h3>SQL</h3>
                  <KV rows={flat(d.sql)} />
                </>
              )}
              {d.service && (
                <>
                  <h3>Service</h3>
                  <KV rows={flat(d.service)} />
                </>
              )}
            </>
          ) : (
            <p class="muted">No HTTP, AWS or SQL data.</p>
          ))}
        {cur === 'annotations' &&
          (annotations.length ? <KV rows={annotations.map(([k, v]) => [k, typeof v === 'string' ? JSON.stringify(v) : v])} /> : <p class="muted">No annotations.</p>)}
        {cur === 'metadata' && (d.metadata ? <pre class="json">{JSON.stringify(d.metadata, null, 2)}</pre> : <p class="muted">No metadata.</p>)}
        {cur === 'exceptions' &&
          (exc.exceptions.length ? (
            <>
              {exc.refersTo && <p class="muted small">The exception was recorded on {exc.refersTo.doc.name}.</p>}
              {exc.workingDirectory && (
                <p class="muted small">
                  Working directory <code>{exc.workingDirectory}</code>
                </p>
              )}
              {exc.exceptions.map((e, i) => (
                <div class="exception" key={e.id ?? i}>
                  <div>
                    <strong>{e.type ?? 'Exception'}</strong>
                    {e.remote && <span class="badge partial">remote</span>}
                  </div>
                  <div class="exc-message">{e.message}</div>
                  {e.stack && e.stack.length > 0 && (
                    <ol class="stack">
                      {e.stack.map((f, j) => (
                        <li key={j}>
                          <code>{f.label ?? '?'}</code> <span class="muted">{f.path}{f.line !== null && f.line !== undefined ? `:${f.line}` : ''}</span>
                        </li>
                      ))}
                    </ol>
                  )}
                  {(e.truncated || e.skipped) && <div class="muted small">{e.truncated ? `${e.truncated} frames truncated` : `${e.skipped} frames skipped`}</div>}
                </div>
              ))}
            </>
          ) : (
            <p class="muted">No exceptions.</p>
          ))}
        {cur === 'raw' && <pre class="json">{JSON.stringify(withoutChildren(d), null, 2)}</pre>}
      </div>
    </section>
  );
}

function phaseHelp(name: string): string {
  if (name === 'Dwell Time') return 'Dwell Time: queued before the first attempt (asynchronous invocation)';
  if (name.startsWith('Attempt')) return `${name}: one invocation attempt`;
  if (name === 'Initialization') return 'Initialization: cold start (runtime and code outside the handler)';
  if (name === 'Invocation') return 'Invocation: the handler ran';
  if (name === 'Overhead') return 'Overhead: after the response, before the next invoke';
  if (name === 'Restore') return 'Restore: SnapStart restore';
  return name;
}

// The OpenTelemetry view of an entity made from an OTLP span: the span's
// kind and status, its attributes, events (times relative to the span's
// start), links (to the linked trace when the store holds it), scope and
// resource, read from the lossless copy under metadata.otel (docs/otlp.md).
import type { JSX } from 'preact';
import { batchGetTraces } from '../api';
import { fmtSeconds } from '../format';
import { useAsync } from '../hooks';
import { linkClick } from '../router';
import type { Row, Timeline } from '../trace/model';
import { attrRows, attrText, sinceStart, xrayTraceId, type Attrs, type OtelContext, type OtelLink } from '../trace/otel';

function Value({ v }: { v: unknown }) {
  if (v !== null && typeof v === 'object') {
    // short arrays and maps on one line, longer ones indented
    const line = JSON.stringify(v);
    return line.length <= 60 ? <span class="attr-lit">{line}</span> : <pre class="attr-json">{JSON.stringify(v, null, 2)}</pre>;
  }
  return <span class={typeof v === 'string' ? 'attr-str' : 'attr-lit'}>{attrText(v)}</span>;
}

/** An attribute map as a two-column table, keys sorted. */
export function AttrTable({ attrs, label, empty }: { attrs: Attrs | undefined; label: string; empty?: string }) {
  const rows = attrRows(attrs);
  if (!rows.length) return empty ? <p class="muted small">{empty}</p> : null;
  return (
    <table class="kv attrs" aria-label={label}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k} data-key={k}>
            <th scope="row" class="mono">
              {k}
            </th>
            <td class="mono">
              <Value v={v} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Facts({ rows }: { rows: [string, unknown][] }) {
  // values are text, or an element already formatted
  const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (!shown.length) return null;
  return (
    <table class="kv">
      <tbody>
        {shown.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === 'object' ? (v as JSX.Element) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function count(n: number | undefined, what: string): string | undefined {
  return n ? `${n} ${what} dropped by the SDK` : undefined;
}

export function OtelDetails({ ctx, row, tl }: { ctx: OtelContext; row: Row; tl: Timeline }) {
  const { span, scope, resource } = ctx;
  const attrs = attrRows(span.attributes);
  const events = Array.isArray(span.events) ? span.events : [];
  const links = Array.isArray(span.links) ? span.links : [];
  const resAttrs = attrRows(resource?.attributes);
  return (
    <div class="otel-details">
      <Facts
        rows={[
          ['Span name', span.name],
          ['Kind', span.kind],
          ['Status', span.status ? `${span.status.code ?? 'Unset'}${span.status.message ? `: ${span.status.message}` : ''}` : 'Unset'],
          ['W3C trace ID', span.trace_id && <span class="mono small">{span.trace_id}</span>],
          ['Span ID', span.span_id ? `${span.span_id} (given by the receiver: ${row.doc.id})` : undefined],
          ['Parent span ID', span.parent_span_id],
          ['Trace state', span.trace_state],
          ['Flags', span.flags],
          ['Synthetic', span.synthetic ? 'yes: a service segment made for a call span without parent' : undefined],
          ['Dropped', [count(span.dropped_attributes_count, 'attributes'), count(span.dropped_events_count, 'events'), count(span.dropped_links_count, 'links')].filter(Boolean).join(', ')],
        ]}
      />
      <h3>Attributes{attrs.length ? ` (${attrs.length})` : ''}</h3>
      <AttrTable attrs={span.attributes} label="Span attributes" empty="No attributes." />
      {events.length > 0 && (
        <>
          <h3>Events ({events.length})</h3>
          <table class="grid otel-events" aria-label="Span events">
            <thead>
              <tr>
                <th scope="col">After start</th>
                <th scope="col">Event</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => {
                const dt = sinceStart(span, e.time_unix_nano);
                return (
                  <tr key={i}>
                    <td class="mono small nowrap">{dt === undefined ? '–' : `+${fmtSeconds(dt / 1e9)}`}</td>
                    <td>
                      <strong>{e.name || '(unnamed)'}</strong>
                      {e.name === 'exception' && row.doc.cause && <span class="muted small"> · also under Exceptions</span>}
                      <AttrTable attrs={e.attributes} label={`Attributes of event ${e.name ?? i}`} />
                      {e.dropped_attributes_count ? <div class="muted small">{e.dropped_attributes_count} attributes dropped</div> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      {links.length > 0 && (
        <>
          <h3>Links ({links.length})</h3>
          <Links links={links} tl={tl} />
        </>
      )}
      {scope && (
        <>
          <h3>Instrumentation scope</h3>
          <Facts
            rows={[
              ['Name', scope.name || '(unnamed)'],
              ['Version', scope.version],
              ['Schema URL', scope.schema_url],
            ]}
          />
          <AttrTable attrs={scope.attributes} label="Scope attributes" />
        </>
      )}
      {resource && (
        <>
          <h3>Resource attributes{resAttrs.length ? ` (${resAttrs.length})` : ''}</h3>
          <AttrTable attrs={resource.attributes} label="Resource attributes" empty="No resource attributes." />
          {resource.schema_url && <p class="muted small">Schema {resource.schema_url}</p>}
        </>
      )}
    </div>
  );
}

/** At most this many linked traces are looked up (BatchGetTraces takes 5 IDs a call). */
const maxLookups = 20;

function Links({ links, tl }: { links: OtelLink[]; tl: Timeline }) {
  const ids = [...new Set(links.map((l) => xrayTraceId(l.trace_id)).filter((x): x is string => !!x && x !== tl.id))].slice(0, maxLookups);
  const stored = useAsync(
    async (signal) => {
      const found = new Set<string>();
      for (let i = 0; i < ids.length; i += 5) {
        for (const t of await batchGetTraces(ids.slice(i, i + 5), signal)) found.add(t.Id);
      }
      return found;
    },
    [ids.join(',')],
  );
  return (
    <table class="grid otel-links" aria-label="Span links">
      <thead>
        <tr>
          <th scope="col">Linked span and its attributes</th>
        </tr>
      </thead>
      <tbody>
        {links.map((l, i) => {
          const id = xrayTraceId(l.trace_id);
          const here = id === tl.id;
          const known = here || (id !== undefined && stored.data?.has(id));
          const href = id && `/traces/${id}${l.span_id ? `?sel=${l.span_id}` : ''}`;
          return (
            <tr key={i} data-trace={id}>
              <td class="mono small">
                {known && href ? (
                  <a href={href} onClick={linkClick}>
                    {id}
                  </a>
                ) : (
                  <span>{id ?? l.trace_id ?? '?'}</span>
                )}
                <div class="muted">
                  span {l.span_id ?? '?'}
                  {here ? ' · in this trace' : !known && !stored.loading ? ' · not stored' : ''}
                </div>
                {l.trace_state && <div class="muted">state {l.trace_state}</div>}
                <AttrTable attrs={l.attributes} label={`Attributes of link ${i + 1}`} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

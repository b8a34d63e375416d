// The service map page: GetServiceGraph over the chosen window (and group),
// the map, and a side panel with the selected node's or edge's statistics
// or, with nothing selected, every service sorted by trouble.
import { useEffect, useMemo } from 'preact/hooks';
import { getGroups, getServiceGraph } from '../api';
import { fmtPercent, fmtSeconds } from '../format';
import { colors, edgeFilter, health, healthClass, idRef, nodeKey, typeInfo } from '../health';
import { useAsync } from '../hooks';
import { href, linkClick, setQuery } from '../router';
import { rangeFromQuery, rangeToQuery, resolveRange, type TimeRange } from '../time';
import type { HistogramEntry, Service } from '../types';
import { nodeHealth, ServiceMap, type Selection } from './ServiceMap';
import { MapSeries } from './MapSeries';
import { StatsPanel } from './StatsPanel';
import { TimeRangePicker } from './TimeRangePicker';

/** URL form of a selection: n:<type>|<name> or e:<type>|<name>><type>|<name>. */
function selToParam(sel: Selection | undefined, byRef: Map<number, Service>): string | undefined {
  if (!sel) return undefined;
  if (sel.kind === 'node') {
    const s = byRef.get(sel.ref);
    return s && 'n:' + nodeKey(s);
  }
  const a = byRef.get(sel.from);
  const b = byRef.get(sel.to);
  return a && b && `e:${nodeKey(a)}>${nodeKey(b)}`;
}

function paramToSel(p: string | null, services: Service[]): Selection | undefined {
  if (!p) return undefined;
  const find = (k: string) => services.find((s) => nodeKey(s) === k);
  if (p.startsWith('n:')) {
    const s = find(p.slice(2));
    return s && { kind: 'node', ref: s.ReferenceId };
  }
  if (p.startsWith('e:')) {
    const [a, b] = p.slice(2).split('>');
    const sa = find(a);
    const sb = b !== undefined ? find(b) : undefined;
    return sa && sb ? { kind: 'edge', from: sa.ReferenceId, to: sb.ReferenceId } : undefined;
  }
  return undefined;
}

function mergeHistograms(hs: (HistogramEntry[] | undefined)[]): HistogramEntry[] {
  return hs.flatMap((h) => h ?? []);
}

export function MapPage({ query }: { query: URLSearchParams }) {
  const range = rangeFromQuery(query);
  const group = query.get('group') ?? 'Default';
  const rangeKey = JSON.stringify(range);
  const graph = useAsync((signal) => {
    const w = resolveRange(range);
    return getServiceGraph(w.start, w.end, group, signal);
  }, [rangeKey, group]);
  const groups = useAsync((signal) => getGroups(signal), []);

  const services = graph.data?.Services ?? [];
  const byRef = useMemo(() => new Map(services.map((s) => [s.ReferenceId, s])), [services]);
  const selection = paramToSel(query.get('sel'), services);
  const w = graph.data?.StartTime && graph.data?.EndTime ? { start: graph.data.StartTime, end: graph.data.EndTime } : resolveRange(range);
  const windowMinutes = Math.max(1 / 60, (w.end - w.start) / 60);
  const zoom = (start: number, end: number) => changeRange({ kind: 'absolute', start, end });

  const select = (s: Selection | undefined) => setQuery({ sel: selToParam(s, byRef) });
  const changeRange = (r: TimeRange) => setQuery({ ...rangeToQuery(r) }, { push: true });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && query.get('sel')) setQuery({ sel: undefined });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [query]);

  // Nodes X-Ray infers from a caller's subsegment (no segment of their own: nothing to profile).
  const inferredType = (t: string | undefined) =>
    !!t && (t === 'remote' || t.startsWith('Database::') || /^AWS::(DynamoDB|S3|SQS|SNS|Kinesis|STS|SES|SecretsManager)\b/.test(t));
  const tracesLink = (filter: string) => href('/traces', { ...rangeToQuery(range), filter });
  const withBlock = (ref: string, extra: string | undefined) => (extra ? `${ref} { ${extra} }` : ref);

  let panel: preact.ComponentChildren = null;
  if (selection?.kind === 'node') {
    const s = byRef.get(selection.ref)!;
    const h = nodeHealth(s);
    const client = s.Type === 'client';
    const targets = (s.Edges ?? []).map((e) => byRef.get(e.ReferenceId)).filter((x): x is Service => !!x);
    const callers = services.filter((o) => o.Edges?.some((e) => e.ReferenceId === s.ReferenceId));
    panel = (
      <StatsPanel
        title={
          <>
            <span class="type-badge">{typeInfo(s.Type).glyph}</span> {s.Name}
          </>
        }
        subtitle={`${typeInfo(s.Type).label}${s.Root ? ' · entry point' : ''}${s.AccountId ? ' · account ' + s.AccountId : ''}${client ? ' · requests from outside the traced system' : ''}`}
        h={h}
        histogram={client ? mergeHistograms((s.Edges ?? []).map((e) => e.ResponseTimeHistogram)) : (s.ResponseTimeHistogram ?? [])}
        windowMinutes={windowMinutes}
        tracesHref={(extra) =>
          client && targets[0]
            ? tracesLink(`service(${idRef(targets[0])}) { ${extra ? `root AND (${extra})` : 'root'} }`)
            : tracesLink(withBlock(`service(${idRef(s)})`, extra))
        }
        onLink={linkClick}
        onClose={() => select(undefined)}
        series={
          <MapSeries
            start={w.start}
            end={w.end}
            group={group}
            selector={client && targets[0] ? `service(${idRef(targets[0])})` : `service(${idRef(s)})`}
            onSelect={zoom}
          />
        }
      >
        {!client && !inferredType(s.Type) && (
          <div class="actions">
            <a class="button secondary" href={href('/profile', { ...rangeToQuery(range), service: s.Name })} onClick={linkClick}>
              Profile: where the time goes
            </a>
          </div>
        )}
        <Neighbours title="Calls" list={targets} onPick={(t) => select({ kind: 'edge', from: s.ReferenceId, to: t.ReferenceId })} />
        <Neighbours title="Called by" list={callers} onPick={(c) => select({ kind: 'edge', from: c.ReferenceId, to: s.ReferenceId })} />
      </StatsPanel>
    );
  } else if (selection?.kind === 'edge') {
    const a = byRef.get(selection.from)!;
    const b = byRef.get(selection.to)!;
    const e = a.Edges?.find((x) => x.ReferenceId === b.ReferenceId);
    const filter = edgeFilter(a, b);
    panel = (
      <StatsPanel
        title={`${a.Name} → ${b.Name}`}
        subtitle={`${typeInfo(a.Type).label} → ${typeInfo(b.Type).label}${e?.EdgeType === 'link' ? ' · asynchronous link' : ''}${e?.Aliases?.length ? ' · also called ' + e.Aliases.map((x) => x.Name).join(', ') : ''}`}
        h={health(e?.SummaryStatistics)}
        histogram={e?.ResponseTimeHistogram ?? []}
        windowMinutes={windowMinutes}
        tracesHref={(extra) => {
          if (!extra) return tracesLink(filter);
          if (a.Type === 'client') return tracesLink(filter.replace(/\{ root \}$/, `{ root AND (${extra}) }`));
          return tracesLink(`${filter} { ${extra} }`);
        }}
        onLink={linkClick}
        onClose={() => select(undefined)}
        series={
          <MapSeries
            start={w.start}
            end={w.end}
            group={group}
            selector={a.Type === 'client' ? `service(${idRef(b)})` : `edge(${idRef(a)}, ${idRef(b)})`}
            onSelect={zoom}
          />
        }
      >
        <div class="actions">
          <button type="button" class="secondary" onClick={() => select({ kind: 'node', ref: a.ReferenceId })}>
            Caller: {a.Name}
          </button>
          <button type="button" class="secondary" onClick={() => select({ kind: 'node', ref: b.ReferenceId })}>
            Callee: {b.Name}
          </button>
        </div>
      </StatsPanel>
    );
  } else if (services.length) {
    panel = <ServiceList services={services} onPick={(s) => select({ kind: 'node', ref: s.ReferenceId })} />;
  }

  const groupNames = groups.data?.map((g) => g.GroupName) ?? ['Default'];
  return (
    <div class="page map-page">
      <div class="toolbar">
        <h1>Service map</h1>
        <TimeRangePicker range={range} onChange={changeRange} onRefresh={graph.reload} loading={graph.loading} />
        <label class="group-select">
          Group{' '}
          <select value={group} onChange={(e) => setQuery({ group: (e.target as HTMLSelectElement).value === 'Default' ? undefined : (e.target as HTMLSelectElement).value, sel: undefined }, { push: true })}>
            {(groupNames.includes(group) ? groupNames : [...groupNames, group]).map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <Legend />
      </div>
      {graph.error && (
        <div class="error-box" role="alert">
          Could not load the service graph: {graph.error.message}
        </div>
      )}
      {graph.data?.ContainsOldGroupVersions && <div class="note">This group's filter changed inside the window; part of the map uses its old expression.</div>}
      <div class="map-layout">
        <div class="map-area">
          {services.length > 0 ? (
            <ServiceMap
              services={services}
              selection={selection}
              onSelect={select}
              windowMinutes={windowMinutes}
              height="100%"
              label={`Service map, ${services.length} nodes. Tab to a node or edge and press Enter for its statistics.`}
            />
          ) : (
            !graph.loading &&
            !graph.error && (
              <div class="empty">
                <p>{group === 'Default' ? 'No traces in this window.' : `No traces of group ${group} in this window.`}</p>
                {group !== 'Default' && <p class="muted">A group counts the traces received after it was created or changed.</p>}
                <p class="muted">
                  Send segments to UDP <code>{location.host}</code> (X-Ray SDKs: <code>AWS_XRAY_DAEMON_ADDRESS</code>), or run{' '}
                  <code>counterspy serve --demo</code>.
                </p>
              </div>
            )
          )}
        </div>
        {panel && <aside class="side">{panel}</aside>}
      </div>
    </div>
  );
}

function Neighbours({ title, list, onPick }: { title: string; list: Service[]; onPick: (s: Service) => void }) {
  if (!list.length) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul class="plain">
        {list.map((s) => (
          <li key={s.ReferenceId}>
            <button type="button" class="link" onClick={() => onPick(s)}>
              {s.Name} <span class="muted">({typeInfo(s.Type).label})</span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

function ServiceList({ services, onPick }: { services: Service[]; onPick: (s: Service) => void }) {
  const rows = services
    .filter((s) => s.Type !== 'client')
    .map((s) => ({ s, h: nodeHealth(s) }))
    .sort((a, b) => b.h.fault / (b.h.total || 1) - a.h.fault / (a.h.total || 1) || (a.s.Name ?? '').localeCompare(b.s.Name ?? '') || (a.s.Type ?? '').localeCompare(b.s.Type ?? ''));
  return (
    <section class="panel" aria-label="Services">
      <h2>Services</h2>
      <p class="muted small">Select a node or edge on the map, or a service here, for its statistics.</p>
      <table class="grid services">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col" class="num">Avg</th>
            <th scope="col" class="num">Faults</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ s, h }) => {
            const cls = healthClass(h);
            return (
              <tr key={s.ReferenceId} data-name={s.Name} data-type={s.Type}>
                <td>
                  <span class="dot" style={{ background: colors[cls] }} />
                  <button type="button" class="link" onClick={() => onPick(s)}>
                    {s.Name}
                  </button>
                  <div class="muted small">{typeInfo(s.Type).label}</div>
                </td>
                <td class="num">{h.total ? fmtSeconds(h.avg) : '–'}</td>
                <td class="num">{h.total ? fmtPercent(h.fault, h.total) : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function Legend() {
  const items: [string, string][] = [
    ['OK', colors.ok],
    ['Error 4xx', colors.error],
    ['Throttle 429', colors.throttle],
    ['Fault 5xx', colors.fault],
  ];
  return (
    <ul class="legend" aria-label="Legend">
      {items.map(([l, c]) => (
        <li key={l}>
          <span class="swatch" style={{ background: c }} />
          {l}
        </li>
      ))}
    </ul>
  );
}

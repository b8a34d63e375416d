// A service's profile: where its invocations' time goes (docs/profile.md).
// An icicle of the parts (width = a part's mean time per invocation, the
// service's own mean time being the full width), hover for share and
// percentiles, a ranked table, and a compare mode that colours what got
// slower (red) or faster (green) than a window some time before.
import { useMemo, useState } from 'preact/hooks';
import { getProfile, getProfileExamples } from '../api';
import { fmtCount, fmtSeconds, quote } from '../format';
import { useAsync } from '../hooks';
import { href, linkClick, navigate, setQuery } from '../router';
import { rangeFromQuery, rangeToQuery, resolveRange, type TimeRange } from '../time';
import type { ProfileBreakdown, ProfileChange, ProfilePart } from '../types';
import { TimeRangePicker } from './TimeRangePicker';

const compareChoices: { label: string; seconds: number }[] = [
  { label: 'no comparison', seconds: 0 },
  { label: '1 hour before', seconds: 3600 },
  { label: '1 day before', seconds: 86400 },
  { label: '1 week before', seconds: 7 * 86400 },
];

type Class = 'all' | 'cold' | 'warm';

/** A node of the icicle: a part and the parts under it. */
export interface IcicleNode {
  label: string;
  key: string;
  part?: ProfilePart;
  change?: ProfileChange;
  children: IcicleNode[];
}

/** Builds the part tree from the parts' paths (parents exist for every path the server sends). */
export function buildTree(b: ProfileBreakdown, changes: ProfileChange[] | undefined): IcicleNode | undefined {
  const byKey = new Map<string, IcicleNode>();
  const changed = new Map((changes ?? []).map((c) => [c.path.join('\u001f'), c]));
  const node = (path: string[]): IcicleNode => {
    const key = path.join('\u001f');
    let n = byKey.get(key);
    if (!n) {
      n = { label: path[path.length - 1], key, children: [] };
      byKey.set(key, n);
      if (path.length > 1) node(path.slice(0, -1)).children.push(n);
    }
    return n;
  };
  for (const p of b.parts) {
    const n = node(p.path);
    n.part = p;
    n.change = changed.get(n.key);
  }
  const roots = [...byKey.values()].filter((n) => !n.key.includes('\u001f'));
  for (const n of byKey.values()) n.children.sort((a, c) => (c.part?.mean_s ?? 0) - (a.part?.mean_s ?? 0));
  return roots[0];
}

/** A laid-out icicle cell: left and width as fractions of the full width. */
export interface Cell {
  node: IcicleNode;
  depth: number;
  left: number;
  width: number;
}

/**
 * Lays the tree out: the root spans the width; children sit under their
 * parent, side by side, each as wide as its mean time relative to the
 * root's. Parallel children can add up to more than their parent: they are
 * then scaled down to fit under it.
 */
export function layout(root: IcicleNode): Cell[] {
  const total = root.part?.mean_s ?? 0;
  const out: Cell[] = [];
  if (!(total > 0)) return out;
  const walk = (n: IcicleNode, depth: number, left: number, width: number) => {
    out.push({ node: n, depth, left, width });
    const sum = n.children.reduce((s, c) => s + (c.part?.mean_s ?? 0), 0) / total;
    const scale = sum > width ? width / sum : 1;
    let x = left;
    for (const c of n.children) {
      const w = ((c.part?.mean_s ?? 0) / total) * scale;
      if (w > 0) walk(c, depth + 1, x, w);
      x += w;
    }
  };
  walk(root, 0, 0, 1);
  return out;
}

function tooltip(n: IcicleNode): string {
  const p = n.part;
  if (!p) return n.label;
  const lines = [
    p.path.slice(1).join(' › ') || `${n.label} (the service)`,
    `time ${fmtSeconds(p.mean_s)} per invocation; self ${fmtSeconds(p.self_mean_s)} (${(100 * p.share).toFixed(1)}% of the total)`,
    `self p50 ${fmtSeconds(p.self_p50_s)} · p90 ${fmtSeconds(p.self_p90_s)} · p99 ${fmtSeconds(p.self_p99_s)}`,
    `time p50 ${fmtSeconds(p.p50_s)} · p90 ${fmtSeconds(p.p90_s)} · p99 ${fmtSeconds(p.p99_s)}`,
    `in ${fmtCount(p.count)} invocations`,
  ];
  const c = n.change;
  if (c) lines.push(`self ${fmtSeconds(c.base_self_mean_s)} → ${fmtSeconds(c.self_mean_s)} (${signed(c.delta_s)}, p ${fmtP(c.p)}${c.significant ? '' : ', not significant'})`);
  return lines.join('\n');
}

function signed(s: number): string {
  return (s < 0 ? '−' : '+') + fmtSeconds(Math.abs(s));
}

function fmtP(p: number): string {
  return p < 0.0001 ? '<0.0001' : p.toFixed(4);
}

/** A cell's colour: by change in compare mode, else a stable hue per label. */
function cellColor(n: IcicleNode, comparing: boolean): string {
  if (comparing) {
    const c = n.change;
    if (!c || !c.significant || c.delta_s === 0) return 'var(--profile-same)';
    return c.delta_s > 0 ? 'var(--profile-slower)' : 'var(--profile-faster)';
  }
  let h = 0;
  for (const ch of n.label) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h} 55% 62%)`;
}

const ROW = 26;

const exampleBands: { label: string; percentile: number }[] = [
  { label: 'p50', percentile: 50 },
  { label: 'p90', percentile: 90 },
  { label: 'p99', percentile: 99 },
  { label: 'slowest', percentile: 100 },
];

/** The seconds since the epoch a trace ID was made at (its second field), or undefined. */
function traceIdEpoch(id: string): number | undefined {
  const m = /^1-([0-9a-f]{8})-/.exec(id);
  return m ? parseInt(m[1], 16) : undefined;
}

/**
 * Offers example traces from a band of the part's time: the histogram
 * bucket holding its p50, p90 or p99 (±2 %), or the slowest bucket. The
 * server finds them by reading the window's traces of the service; the
 * trace list then shows them (its filter is the list of their IDs).
 */
function Examples({ service, part, cls, window }: { service: string; part: ProfilePart; cls: Class; window: { start: number; end: number } }) {
  const [state, setState] = useState<{ busy?: string; message?: string }>({});
  const open = async (band: { label: string; percentile: number }) => {
    setState({ busy: band.label });
    try {
      const ex = await getProfileExamples(service, part.path, band.percentile, window.start, window.end, cls === 'all' ? undefined : cls);
      if (ex.traces.length === 0) {
        setState({ message: `No trace found in the ${band.label} band${ex.note ? ` (${ex.note})` : ''}.` });
        return;
      }
      const ids = ex.traces.map((t) => t.trace_id);
      // The list selects traces by their start: from the oldest example's.
      const starts = ids.map(traceIdEpoch).filter((x): x is number => x !== undefined);
      const start = Math.min(window.start, ...starts) - 60;
      const what = `${band.label} of ${part.path.length > 1 ? part.path.slice(1).join(' › ') : 'the invocation'} time in ${service}: ${fmtSeconds(ex.min_s)}–${fmtSeconds(ex.max_s)}`;
      navigate(
        href('/traces', {
          ...rangeToQuery({ kind: 'absolute', start, end: window.end + 60 }),
          filter: ids.join(' '),
          examples: `${what} (${ids.length} of ${fmtCount(ex.band_count ?? ids.length)} invocations${ex.complete ? '' : '; ' + (ex.note ?? 'a sample')})`,
        }),
      );
    } catch (e) {
      setState({ message: `Could not find examples: ${(e as Error).message}` });
    }
  };
  return (
    <div class="profile-examples" role="group" aria-label="Example traces">
      Example traces:{' '}
      {exampleBands.map((b, i) => (
        <span key={b.label}>
          {i > 0 && ' · '}
          <button type="button" class="secondary small" disabled={!!state.busy} onClick={() => open(b)} title={`Traces whose ${part.path[part.path.length - 1]} time is in the histogram bucket of its ${b.label === 'slowest' ? 'longest times' : b.label}`}>
            {state.busy === b.label ? '…' : b.label}
          </button>
        </span>
      ))}
      {state.message && <div class="muted small">{state.message}</div>}
    </div>
  );
}

function Icicle({ root, comparing, selected, onSelect }: { root: IcicleNode; comparing: boolean; selected?: string; onSelect: (k: string) => void }) {
  const cells = layout(root);
  const depth = cells.reduce((d, c) => Math.max(d, c.depth), 0) + 1;
  return (
    <div class="icicle" role="group" aria-label="Where the time goes: each part under its parent, as wide as its mean time" style={{ height: `${depth * ROW}px` }}>
      {cells.map((c) => (
        <button
          type="button"
          key={c.node.key}
          class={'icicle-cell' + (c.node.key === selected ? ' selected' : '') + (comparing && c.node.change?.significant && c.node.change.delta_s > 0 ? ' slower' : '')}
          style={{ left: `${c.left * 100}%`, width: `calc(${c.width * 100}% - 1px)`, top: `${c.depth * ROW}px`, background: cellColor(c.node, comparing) }}
          title={tooltip(c.node)}
          aria-label={tooltip(c.node).replace(/\n/g, '; ')}
          onClick={() => onSelect(c.node.key)}
        >
          {c.width > 0.04 ? c.node.label : ''}
        </button>
      ))}
    </div>
  );
}

export function ProfilePage({ query }: { query: URLSearchParams }) {
  const range: TimeRange = rangeFromQuery(query);
  const service = query.get('service') ?? '';
  const compare = Number(query.get('compare') ?? '0') || 0;
  const cls = (['all', 'cold', 'warm'].includes(query.get('class') ?? '') ? query.get('class') : 'all') as Class;
  const [draft, setDraft] = useState(service);
  const [tick, setTick] = useState(0);
  const data = useAsync(
    (signal) => {
      if (!service) return Promise.resolve(undefined);
      const w = resolveRange(range);
      return getProfile(service, w.start, w.end, compare, signal);
    },
    [service, query.get('last'), query.get('start'), query.get('end'), compare, tick],
  );
  const b = data.data ? (cls === 'cold' ? data.data.cold : cls === 'warm' ? data.data.warm : data.data.all) : undefined;
  const cmp = data.data?.compare ? (cls === 'cold' ? data.data.compare.cold : cls === 'warm' ? data.data.compare.warm : data.data.compare.all) : undefined;
  const root = useMemo(() => (b ? buildTree(b, cmp?.changes) : undefined), [b, cmp]);
  const selKey = query.get('part') ?? undefined;
  const selPart = b?.parts.find((p) => p.path.join('\u001f') === selKey);
  const tracesHref = (extra?: string) =>
    href('/traces', { ...rangeToQuery(range), filter: `service(${quote(service)})`, ...(extra ? { rt: extra } : {}) });

  return (
    <div class="page profile-page">
      <div class="toolbar">
        <h1>Profile</h1>
        <form
          class="profile-service"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ service: draft.trim() || undefined, part: undefined }, { push: true });
          }}
        >
          <label>
            Service{' '}
            <input value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} placeholder="segment name" aria-label="Service" />
          </label>
          <button type="submit">Show</button>
        </form>
        <TimeRangePicker range={range} onChange={(r) => setQuery({ ...rangeToQuery(r) }, { push: true })} onRefresh={() => setTick((t) => t + 1)} loading={data.loading} />
        <label>
          Compare with{' '}
          <select value={String(compare)} onChange={(e) => setQuery({ compare: (e.target as HTMLSelectElement).value === '0' ? undefined : (e.target as HTMLSelectElement).value })}>
            {(compareChoices.some((c) => c.seconds === compare) ? compareChoices : [...compareChoices, { label: `${+(compare / 3600).toFixed(1)} hours before`, seconds: compare }]).map((c) => (
              <option key={c.seconds} value={String(c.seconds)}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {(data.data?.cold || data.data?.warm) && (
          <label>
            Invocations{' '}
            <select value={cls} onChange={(e) => setQuery({ class: (e.target as HTMLSelectElement).value === 'all' ? undefined : (e.target as HTMLSelectElement).value })}>
              <option value="all">all</option>
              <option value="cold">cold starts</option>
              <option value="warm">warm</option>
            </select>
          </label>
        )}
      </div>
      {!service && <div class="empty">Pick a service: its name as on the map (a Lambda function's name, an API, a container service).</div>}
      {data.error && (
        <div class="error-box" role="alert">
          Could not load the profile: {data.error.message}
        </div>
      )}
      {service && b && b.invocations === 0 && !data.loading && <div class="empty">No invocation of {service} ended in this window.</div>}
      {b && b.invocations > 0 && root && (
        <>
          <p class="profile-summary">
            <strong>{service}</strong>: {fmtCount(b.invocations)} invocations, mean {fmtSeconds(b.mean_s)}, p50 {fmtSeconds(b.p50_s)}, p90 {fmtSeconds(b.p90_s)}, p99{' '}
            {fmtSeconds(b.p99_s)}
            {cls === 'all' && data.data?.cold && data.data?.warm && (
              <>
                {' '}
                · cold {fmtCount(data.data.cold.invocations)} (mean {fmtSeconds(data.data.cold.mean_s)}), warm {fmtCount(data.data.warm.invocations)} (mean{' '}
                {fmtSeconds(data.data.warm.mean_s)})
              </>
            )}
            {cmp && (
              <>
                {' '}
                · {cmp.base_invocations ? `was ${fmtSeconds(cmp.base_mean_s)} (${signed(cmp.delta_s)})` : 'nothing to compare with in the earlier window'}
              </>
            )}
            {' · '}
            <a href={tracesHref()} onClick={linkClick}>
              traces
            </a>
            {' · '}
            <a href={tracesHref(`${b.p99_s}-${Math.max(b.p99_s * 100, 3600)}`)} onClick={linkClick} title="Traces whose response time (at their entry point) is at least this service's p99 invocation time">
              slowest 1 %
            </a>
          </p>
          {cmp && (
            <p class="legend profile-legend">
              <span class="swatch" style={{ background: 'var(--profile-slower)' }} /> slower <span class="swatch" style={{ background: 'var(--profile-faster)' }} /> faster{' '}
              <span class="swatch" style={{ background: 'var(--profile-same)' }} /> no significant change (Welch's t-test, p &lt; 0.01, ≥ 20 invocations)
            </p>
          )}
          <Icicle root={root} comparing={!!cmp} selected={selKey} onSelect={(k) => setQuery({ part: k === selKey ? undefined : k })} />
          {selPart && (
            <div class="profile-selected" aria-live="polite">
              <pre>{tooltip({ label: selPart.path[selPart.path.length - 1], key: selKey!, part: selPart, change: cmp?.changes.find((c) => c.path.join('\u001f') === selKey), children: [] })}</pre>
              <Examples service={service} part={selPart} cls={cls} window={resolveRange(range)} />
            </div>
          )}
          <table class="profile-table">
            <caption>Parts ranked by self time (time no child covers) per invocation</caption>
            <thead>
              <tr>
                <th scope="col">Part</th>
                <th scope="col" class="num">Share</th>
                <th scope="col" class="num">Self</th>
                <th scope="col" class="num">p50</th>
                <th scope="col" class="num">p90</th>
                <th scope="col" class="num">p99</th>
                <th scope="col" class="num">In</th>
                {cmp && <th scope="col" class="num">Change</th>}
              </tr>
            </thead>
            <tbody>
              {b.parts
                .filter((p) => p.self_mean_s > 0 || p.path.length === 1)
                .map((p) => {
                  const k = p.path.join('\u001f');
                  const c = cmp?.changes.find((x) => x.path.join('\u001f') === k);
                  return (
                    <tr key={k} class={k === selKey ? 'selected' : undefined} onClick={() => setQuery({ part: k === selKey ? undefined : k })}>
                      <td>{p.path.length > 1 ? p.path.slice(1).join(' › ') : '(self)'}</td>
                      <td class="num">
                        <span class="share-bar" style={{ width: `${Math.min(100, p.share * 100)}%` }} />
                        {(100 * p.share).toFixed(1)}%
                      </td>
                      <td class="num">{fmtSeconds(p.self_mean_s)}</td>
                      <td class="num">{fmtSeconds(p.self_p50_s)}</td>
                      <td class="num">{fmtSeconds(p.self_p90_s)}</td>
                      <td class="num">{fmtSeconds(p.self_p99_s)}</td>
                      <td class="num">{((100 * p.count) / b.invocations).toFixed(0)}%</td>
                      {cmp && (
                        <td class={'num' + (c?.significant ? (c.delta_s > 0 ? ' slower' : ' faster') : ' muted')}>
                          {c ? `${signed(c.delta_s)}${c.significant ? '' : ' (n.s.)'}` : ''}
                        </td>
                      )}
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

// Statistics of one node or edge of a service map: counts by outcome, a
// response-time histogram (drag to pick a range) and links to the traces.
import { useState } from 'preact/hooks';
import { fmtCount, fmtPercent, fmtRate, fmtSeconds } from '../format';
import { colors, type Health } from '../health';
import { binValues } from '../histogram';
import type { HistogramEntry } from '../types';
import { Histogram, type Range } from './Histogram';

export function HealthBar({ h }: { h: Health }) {
  if (!h.total) return <div class="healthbar empty" aria-hidden="true" />;
  const parts: [number, string, string][] = [
    [h.ok, colors.ok, 'OK'],
    [h.error, colors.error, 'errors'],
    [h.throttle, colors.throttle, 'throttled'],
    [h.fault, colors.fault, 'faults'],
  ];
  return (
    <div class="healthbar" aria-hidden="true">
      {parts.map(([n, c, l]) => (n ? <span key={l} style={{ width: `${(n / h.total) * 100}%`, background: c }} title={`${l}: ${n}`} /> : null))}
    </div>
  );
}

export function HealthTable({ h, windowMinutes }: { h: Health; windowMinutes?: number }) {
  const row = (label: string, n: number, color?: string) => (
    <tr>
      <th scope="row">
        {color && <span class="swatch" style={{ background: color }} />}
        {label}
      </th>
      <td>{fmtCount(n)}</td>
      <td>{fmtPercent(n, h.total)}</td>
    </tr>
  );
  return (
    <table class="kv stats">
      <tbody>
        <tr>
          <th scope="row">Requests</th>
          <td>{fmtCount(h.total)}</td>
          <td>{windowMinutes ? fmtRate(h.total / windowMinutes) : ''}</td>
        </tr>
        <tr>
          <th scope="row">Average response</th>
          <td colSpan={2}>{h.total ? fmtSeconds(h.avg) : '–'}</td>
        </tr>
        {row('OK', h.ok, colors.ok)}
        {row('Errors (4xx)', h.error, colors.error)}
        {row('Throttled (429)', h.throttle, colors.throttle)}
        {row('Faults (5xx)', h.fault, colors.fault)}
      </tbody>
    </table>
  );
}

interface Props {
  title: preact.ComponentChildren;
  subtitle?: string;
  h: Health;
  histogram: HistogramEntry[];
  windowMinutes?: number;
  /** Builds the trace-list link for a filter suffix (a response-time range, faults only, …). */
  tracesHref: (extra: string | undefined) => string;
  onLink: (e: MouseEvent) => void;
  onClose: () => void;
  /** Shown under the counts: the node's or edge's time series. */
  series?: preact.ComponentChildren;
  children?: preact.ComponentChildren;
}

export function StatsPanel({ title, subtitle, h, histogram, windowMinutes, tracesHref, onLink, onClose, series, children }: Props) {
  const [range, setRange] = useState<Range | undefined>();
  const binned = binValues(
    histogram.map((e) => e.Value),
    histogram.map((e) => e.Count),
    30,
  );
  const rt = range ? `responsetime >= ${+range[0].toFixed(6)} AND responsetime <= ${+range[1].toFixed(6)}` : undefined;
  return (
    <section class="panel" aria-label="Details">
      <div class="panel-head">
        <div>
          <h2>{title}</h2>
          {subtitle && <div class="muted">{subtitle}</div>}
        </div>
        <button type="button" class="icon" onClick={onClose} aria-label="Close details" title="Close (Esc)">
          ×
        </button>
      </div>
      <HealthBar h={h} />
      <HealthTable h={h} windowMinutes={windowMinutes} />
      {series}
      <h3>Response time distribution</h3>
      {histogram.length ? (
        <>
          <Histogram binned={binned} selection={range} onSelect={setRange} height={120} label="Response time distribution; drag to select a range" />
          <div class="muted small">{range ? `Selected ${fmtSeconds(range[0])} – ${fmtSeconds(range[1])}` : 'Drag across the histogram to pick a range.'}</div>
        </>
      ) : (
        <p class="muted">No completed requests.</p>
      )}
      <div class="actions">
        <a class="button" href={tracesHref(rt)} onClick={onLink}>
          View traces{range ? ' in range' : ''}
        </a>
        {h.fault > 0 && (
          <a class="button secondary" href={tracesHref('fault')} onClick={onLink}>
            Faults
          </a>
        )}
        {h.error > 0 && (
          <a class="button secondary" href={tracesHref('error')} onClick={onLink}>
            Errors
          </a>
        )}
        {h.throttle > 0 && (
          <a class="button secondary" href={tracesHref('throttle')} onClick={onLink}>
            Throttles
          </a>
        )}
      </div>
      {children}
    </section>
  );
}

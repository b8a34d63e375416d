// The waterfall: one row per segment and subsegment, grouped by service,
// bars on the trace's time axis. Rows are buttons (↑/↓ move between them,
// Enter selects); bars show status (fault red, error yellow, throttle
// purple), Lambda's platform phases in their own colour, and in-progress
// entities as open-ended hatched bars. Entities made from OpenTelemetry
// spans carry a badge with the span's kind.
import { fmtSeconds } from '../format';
import { typeInfo } from '../health';
import type { Row, Timeline } from '../trace/model';
import { spanKind } from '../trace/otel';

interface Props {
  tl: Timeline;
  selected?: string;
  onSelect: (key: string) => void;
}

function ticks(total: number): number[] {
  if (!(total > 0)) return [0];
  const raw = total / 6;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= total + 1e-12; t += step) out.push(t);
  return out;
}

export function TimelineView({ tl, selected, onSelect }: Props) {
  const total = tl.end - tl.start || 1e-6;
  const pct = (t: number) => `${Math.max(0, Math.min(100, ((t - tl.start) / total) * 100))}%`;

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    const rows = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('.tl-row')];
    const i = rows.indexOf(document.activeElement as HTMLElement);
    let j = i;
    if (e.key === 'ArrowDown') j = Math.min(rows.length - 1, i + 1);
    if (e.key === 'ArrowUp') j = Math.max(0, i - 1);
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = rows.length - 1;
    if (j !== i && rows[j]) {
      e.preventDefault();
      rows[j].focus();
    }
  };

  return (
    <section class="timeline" aria-label="Timeline" onKeyDown={onKeyDown}>
      <div class="tl-axis" aria-hidden="true">
        <div class="tl-name">Name</div>
        <div class="tl-track">
          {ticks(total).map((t) => (
            <span key={t} class="tl-tick" style={{ left: `${(t / total) * 100}%` }}>
              {fmtSeconds(t)}
            </span>
          ))}
        </div>
        <div class="tl-dur">Duration</div>
        <div class="tl-status">Status</div>
      </div>
      {tl.groups.map((g) => (
        <div class="tl-group" key={g.key} role="group" aria-label={`${g.name} (${typeInfo(g.type).label})`} data-service={g.name} data-type={g.type}>
          <div class="tl-group-head">
            <span class="type-badge">{typeInfo(g.type).glyph}</span>
            <strong>{g.name}</strong> <span class="muted">{g.type || 'service'}</span>
            {g.inferred && <span class="badge partial">inferred</span>}
          </div>
          {g.rows.map((r) => (
            <RowView key={r.key} r={r} pct={pct} selected={selected === r.key} onSelect={onSelect} />
          ))}
        </div>
      ))}
    </section>
  );
}

function RowView({ r, pct, selected, onSelect }: { r: Row; pct: (t: number) => string; selected: boolean; onSelect: (k: string) => void }) {
  const left = pct(r.start);
  const widthPct = `max(2px, calc(${pct(r.end)} - ${left}))`;
  const dur = r.end - r.start;
  const cls = ['tl-bar', `st-${r.status}`, r.lambdaPhase ? 'phase' : '', r.inProgress ? 'open' : '', r.isSegment ? 'seg' : ''].filter(Boolean).join(' ');
  const kind = spanKind(r.doc);
  const label = `${r.doc.name}${r.isSegment ? ' segment' : ''}${kind ? `, ${kind} span` : ''}: ${r.inProgress ? 'in progress' : fmtSeconds(dur)}${r.status !== 'ok' ? ', ' + r.status : ''}`;
  return (
    <button
      type="button"
      class={selected ? 'tl-row selected' : 'tl-row'}
      aria-pressed={selected}
      aria-label={label}
      data-name={r.doc.name}
      data-status={r.status}
      data-phase={r.lambdaPhase ? r.doc.name : undefined}
      data-kind={kind}
      data-open={r.inProgress ? 'true' : undefined}
      onClick={() => onSelect(r.key)}
    >
      <span class="tl-name" style={{ paddingLeft: `${6 + r.depth * 14}px` }} title={r.doc.name}>
        {kind && (
          <span class={`kind-badge kind-${kind}`} title={`OpenTelemetry span kind: ${kind}`}>
            {kind}
          </span>
        )}
        {r.isSegment ? <strong>{r.doc.name}</strong> : r.doc.name}
        {r.doc.namespace && <span class="muted small"> {r.doc.namespace}</span>}
      </span>
      <span class="tl-track">
        <span class={cls} style={{ left, width: widthPct }} />
        {r.inProgress && (
          <span class="tl-open" style={{ left: pct(r.end) }}>
            in progress
          </span>
        )}
      </span>
      <span class="tl-dur">{r.inProgress ? '…' : fmtSeconds(dur)}</span>
      <span class="tl-status">
        {r.status !== 'ok' && <span class={`badge ${r.status}`}>{r.status}</span>}
        {r.doc.http?.response?.status !== undefined && <span class="muted small"> {r.doc.http.response.status}</span>}
      </span>
    </button>
  );
}

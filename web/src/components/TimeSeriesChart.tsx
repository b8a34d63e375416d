// Requests and latency over time, one point per period: stacked bars of
// requests (OK, errors, throttles, faults) above lines of p50/p90/p99
// response time. Dragging across either panel selects a time range
// (snapped to the period); a click selects one period.
import { useRef, useState } from 'preact/hooks';
import { fmtCount, fmtSeconds } from '../format';
import { niceStep } from '../histogram';
import { useWidth } from '../hooks';

export interface SeriesPoint {
  /** Start of the period, epoch seconds. */
  t: number;
  total: number;
  fault: number;
  error: number; // 4xx other than 429
  throttle: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

interface Props {
  points: SeriesPoint[];
  period: number;
  start: number;
  end: number;
  onSelect?: (start: number, end: number) => void;
  label: string;
  height?: number;
}

const pad = { left: 52, right: 12, top: 8, bottom: 22, gap: 18 };

const two = (n: number) => String(n).padStart(2, '0');

function tickLabel(t: number, span: number): string {
  const d = new Date(t * 1000);
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return span > 86400 ? `${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}` : hm;
}

/** Round instants (whole minutes, hours, local midnights) across [start, end], at most about n of them. */
export function timeTicks(start: number, end: number, n: number): number[] {
  const steps = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
  const step = steps.find((s) => (end - start) / s <= n) ?? 604800;
  // align in local time, so "00:00" is midnight where the reader is
  const off = -new Date(start * 1000).getTimezoneOffset() * 60;
  const out: number[] = [];
  for (let t = Math.ceil((start + off) / step) * step - off; t <= end; t += step) out.push(t);
  return out;
}

function niceTicks(max: number, n: number): number[] {
  const step = niceStep(max, Math.max(1, n));
  const out: number[] = [];
  for (let i = 1; i * step <= max * (1 + 1e-9); i++) out.push(i * step);
  return out;
}

export function TimeSeriesChart({ points, period, start, end, onSelect, label, height = 220 }: Props) {
  const [ref, width] = useWidth<HTMLDivElement>(600);
  const svgRef = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const plotW = Math.max(60, width - pad.left - pad.right);
  const inner = height - pad.top - pad.bottom - pad.gap;
  const reqH = Math.round(inner * 0.5);
  const latH = inner - reqH;
  const latTop = pad.top + reqH + pad.gap;
  const span = Math.max(period, end - start);
  const x = (t: number) => pad.left + ((t - start) / span) * plotW;
  const peak = Math.max(1, ...points.map((p) => p.total));
  const latPeak = Math.max(1e-3, ...points.map((p) => p.p99 ?? p.p90 ?? p.p50 ?? 0));
  const yReq = (n: number) => pad.top + reqH - (n / peak) * reqH;
  const yLat = (v: number) => latTop + latH - (v / latPeak) * latH;
  const barW = Math.max(1, (period / span) * plotW - 1);
  const interactive = !!onSelect;

  const timeAt = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    const px = clientX - r.left - pad.left;
    return start + Math.min(1, Math.max(0, px / plotW)) * span;
  };
  const snapT = (t: number, up: boolean) => (up ? Math.ceil(t / period) : Math.floor(t / period)) * period;
  const shown = drag ? [snapT(Math.min(drag.a, drag.b), false), snapT(Math.max(drag.a, drag.b), true)] : undefined;

  const onPointerDown = (e: PointerEvent) => {
    if (!interactive || e.button !== 0) return;
    (e.currentTarget as Element).setPointerCapture(e.pointerId);
    const t = timeAt(e.clientX);
    setDrag({ a: t, b: t });
  };
  const onPointerMove = (e: PointerEvent) => {
    if (drag) setDrag({ ...drag, b: timeAt(e.clientX) });
  };
  const onPointerUp = (e: PointerEvent) => {
    if (!drag) return;
    const b = timeAt(e.clientX);
    setDrag(null);
    let lo = snapT(Math.min(drag.a, b), false);
    let hi = snapT(Math.max(drag.a, b), true);
    if (hi - lo < period) hi = lo + period;
    lo = Math.max(lo, Math.floor(start));
    hi = Math.min(hi, Math.ceil(end));
    if (hi > lo) onSelect!(lo, hi);
  };

  const line = (key: 'p50' | 'p90' | 'p99') => {
    let d = '';
    let pen = false;
    for (const p of points) {
      const v = p[key];
      if (v === undefined || !p.total) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${(x(p.t) + barW / 2).toFixed(1)},${yLat(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  // Single points of a line do not show as a path: dots mark them.
  const dots = (key: 'p50' | 'p90' | 'p99') =>
    points.filter((p) => p.total && p[key] !== undefined).length <= 60
      ? points.map((p) =>
          p.total && p[key] !== undefined ? <circle key={key + p.t} cx={x(p.t) + barW / 2} cy={yLat(p[key]!)} r={2} class={`lat ${key}`} /> : null,
        )
      : null;

  const xticks = timeTicks(start, start + span, Math.max(2, Math.min(10, Math.floor(plotW / 70))));
  const totals = points.reduce((a, p) => ({ total: a.total + p.total, fault: a.fault + p.fault }), { total: 0, fault: 0 });

  return (
    <div class="timeseries" ref={ref}>
      <svg
        ref={svgRef}
        width={width}
        height={height}
        role="img"
        aria-label={`${label}: ${fmtCount(totals.total)} requests, ${fmtCount(totals.fault)} faults${interactive ? '; drag to choose a time range' : ''}`}
        class={interactive ? 'brushable' : undefined}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
      >
        {niceTicks(peak, 2)
          .filter(Number.isInteger)
          .map((c) => (
            <g key={'r' + c}>
              <line x1={pad.left} x2={pad.left + plotW} y1={yReq(c)} y2={yReq(c)} class="grid" />
              <text x={pad.left - 6} y={yReq(c) + 4} text-anchor="end" class="axis">
                {fmtCount(c)}
              </text>
            </g>
          ))}
        {niceTicks(latPeak, 2).map((v) => (
          <g key={'l' + v}>
            <line x1={pad.left} x2={pad.left + plotW} y1={yLat(v)} y2={yLat(v)} class="grid" />
            <text x={pad.left - 6} y={yLat(v) + 4} text-anchor="end" class="axis">
              {fmtSeconds(v)}
            </text>
          </g>
        ))}
        <text x={pad.left} y={latTop - 5} class="axis caption">
          response time p50 / p90 / p99
        </text>
        {points.map((p) => {
          if (!p.total) return null;
          const ok = Math.max(0, p.total - p.fault - p.error - p.throttle);
          let y0 = pad.top + reqH;
          const parts: [number, string][] = [
            [ok, 'ok'],
            [p.error, 'error'],
            [p.throttle, 'throttle'],
            [p.fault, 'fault'],
          ];
          return (
            <g key={p.t} class="req">
              <title>{`${tickLabel(p.t, span)}: ${fmtCount(p.total)} requests, ${fmtCount(p.fault)} faults, ${fmtCount(p.error)} errors, ${fmtCount(p.throttle)} throttles; p50 ${fmtSeconds(p.p50)}, p90 ${fmtSeconds(p.p90)}, p99 ${fmtSeconds(p.p99)}`}</title>
              {parts.map(([n, cls]) => {
                if (!n) return null;
                const h = (n / peak) * reqH;
                y0 -= h;
                return <rect key={cls} x={x(p.t)} y={y0} width={barW} height={Math.max(0.5, h)} class={`seg ${cls}`} />;
              })}
            </g>
          );
        })}
        <path d={line('p99')} class="lat p99" />
        <path d={line('p90')} class="lat p90" />
        <path d={line('p50')} class="lat p50" />
        {dots('p99')}
        {dots('p90')}
        {dots('p50')}
        {shown && <rect x={x(shown[0])} y={pad.top} width={Math.max(1, x(shown[1]) - x(shown[0]))} height={inner + pad.gap} class="brush" />}
        <line x1={pad.left} x2={pad.left + plotW} y1={pad.top + reqH} y2={pad.top + reqH} class="baseline" />
        <line x1={pad.left} x2={pad.left + plotW} y1={latTop + latH} y2={latTop + latH} class="baseline" />
        {xticks.map((t) => (
          <g key={'x' + t}>
            <line x1={x(t)} x2={x(t)} y1={pad.top + reqH} y2={pad.top + reqH + 3} class="baseline" />
            <line x1={x(t)} x2={x(t)} y1={latTop + latH} y2={latTop + latH + 3} class="baseline" />
            <text x={x(t)} y={height - 6} text-anchor={x(t) < pad.left + 30 ? 'start' : x(t) > pad.left + plotW - 30 ? 'end' : 'middle'} class="axis">
              {tickLabel(t, span)}
            </text>
          </g>
        ))}
      </svg>
      <ul class="legend small" aria-hidden="true">
        <li>
          <span class="swatch seg-ok" />
          OK
        </li>
        <li>
          <span class="swatch seg-error" />
          Error
        </li>
        <li>
          <span class="swatch seg-throttle" />
          Throttle
        </li>
        <li>
          <span class="swatch seg-fault" />
          Fault
        </li>
        <li>
          <span class="line-swatch p50" />
          p50
        </li>
        <li>
          <span class="line-swatch p90" />
          p90
        </li>
        <li>
          <span class="line-swatch p99" />
          p99
        </li>
        <li class="muted">per {period >= 3600 ? `${period / 3600} h` : `${period / 60} min`}</li>
      </ul>
    </div>
  );
}

// A response-time histogram drawn in SVG. Dragging across it (or, with the
// keyboard, arrow keys with and without Shift) selects a range of values;
// Escape clears it.
import { useRef, useState } from 'preact/hooks';
import { fmtCount, fmtSeconds } from '../format';
import { niceStep, snap, type Binned } from '../histogram';
import { useWidth } from '../hooks';

export type Range = [number, number];

interface Props {
  binned: Binned;
  selection?: Range;
  onSelect?: (r: Range | undefined) => void;
  height?: number;
  label: string;
  color?: string;
}

const pad = { left: 44, right: 12, top: 10, bottom: 22 };

/** Round tick values from 0 to max, about n of them. */
function ticks(max: number, n: number): number[] {
  const step = niceStep(max, Math.max(1, n));
  const out: number[] = [];
  for (let i = 0; i * step <= max * (1 + 1e-9); i++) out.push(round(i * step));
  return out;
}

export function Histogram({ binned, selection, onSelect, height = 150, label, color = '#3b82c4' }: Props) {
  const [ref, width] = useWidth<HTMLDivElement>(600);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const { bins, step, max } = binned;
  const plotW = Math.max(50, width - pad.left - pad.right);
  const plotH = height - pad.top - pad.bottom;
  const peak = Math.max(1, ...bins.map((b) => b.count));
  const x = (v: number) => pad.left + (v / max) * plotW;
  const y = (c: number) => pad.top + plotH - (c / peak) * plotH;
  const valueAt = (clientX: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    const px = clientX - r.left - pad.left;
    return Math.min(max, Math.max(0, (px / plotW) * max));
  };
  const shown: Range | undefined = drag
    ? [snap(Math.min(drag.a, drag.b), step, 'floor'), snap(Math.max(drag.a, drag.b), step, 'ceil')]
    : selection;
  const interactive = !!onSelect;

  const onPointerDown = (e: PointerEvent) => {
    if (!interactive || e.button !== 0) return;
    (e.currentTarget as Element).setPointerCapture(e.pointerId);
    const v = valueAt(e.clientX);
    setDrag({ a: v, b: v });
  };
  const onPointerMove = (e: PointerEvent) => {
    if (drag) setDrag({ ...drag, b: valueAt(e.clientX) });
  };
  const onPointerUp = (e: PointerEvent) => {
    if (!drag) return;
    const b = valueAt(e.clientX);
    setDrag(null);
    let lo = Math.min(drag.a, b);
    let hi = Math.max(drag.a, b);
    if (Math.abs(x(hi) - x(lo)) < 3) {
      // a click: the bin under the pointer
      lo = snap(lo, step, 'floor');
      hi = lo + step;
    } else {
      lo = snap(lo, step, 'floor');
      hi = snap(hi, step, 'ceil');
    }
    onSelect!([round(lo), round(Math.max(hi, lo + step))]);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (!interactive) return;
    const sel = selection ?? [0, step];
    let next: Range | undefined;
    if (e.key === 'Escape') {
      onSelect!(undefined);
      e.preventDefault();
      return;
    }
    if (e.key === 'ArrowRight') {
      next = e.shiftKey ? [sel[0], Math.min(max, sel[1] + step)] : selection ? [sel[0] + step, sel[1] + step] : sel;
    } else if (e.key === 'ArrowLeft') {
      next = e.shiftKey ? [sel[0], Math.max(sel[0] + step, sel[1] - step)] : [Math.max(0, sel[0] - step), Math.max(step, sel[1] - step)];
    } else return;
    e.preventDefault();
    if (next[1] > max) next = [max - (next[1] - next[0]), max];
    onSelect!([round(next[0]), round(next[1])]);
  };

  return (
    <div class="histogram" ref={ref}>
      <svg
        ref={svgRef}
        width={width}
        height={height}
        role={interactive ? 'slider' : 'img'}
        aria-label={label}
        aria-valuetext={shown ? `${fmtSeconds(shown[0])} to ${fmtSeconds(shown[1])}` : 'no range selected'}
        tabindex={interactive ? 0 : undefined}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={onKeyDown}
        class={interactive ? 'brushable' : undefined}
      >
        {ticks(peak, 2)
          .filter(Number.isInteger)
          .map((c) => (
          <g key={'y' + c}>
            <line x1={pad.left} x2={pad.left + plotW} y1={y(c)} y2={y(c)} class="grid" />
            <text x={pad.left - 6} y={y(c) + 4} text-anchor="end" class="axis">
              {fmtCount(Math.round(c))}
            </text>
          </g>
        ))}
        {bins.map((b) =>
          b.count ? (
            <rect
              key={b.lo}
              x={x(b.lo) + 0.5}
              y={y(b.count)}
              width={Math.max(1, x(b.hi) - x(b.lo) - 1)}
              height={pad.top + plotH - y(b.count)}
              fill={color}
              class={shown && (b.hi <= shown[0] + 1e-9 || b.lo >= shown[1] - 1e-9) ? 'bar dim' : 'bar'}
            >
              <title>{`${fmtSeconds(b.lo)} – ${fmtSeconds(b.hi)}: ${fmtCount(b.count)}`}</title>
            </rect>
          ) : null,
        )}
        {shown && (
          <rect x={x(shown[0])} y={pad.top} width={Math.max(1, x(shown[1]) - x(shown[0]))} height={plotH} class="brush" />
        )}
        {ticks(max, Math.max(2, Math.min(8, Math.floor(plotW / 90)))).map((v) => (
          <text key={'x' + v} x={x(v)} y={height - 6} text-anchor="middle" class="axis">
            {fmtSeconds(v)}
          </text>
        ))}
        <line x1={pad.left} x2={pad.left + plotW} y1={pad.top + plotH} y2={pad.top + plotH} class="baseline" />
      </svg>
    </div>
  );
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

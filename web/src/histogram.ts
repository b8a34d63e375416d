// Binning for the response-time histograms: linear bins of a "nice" width
// (1, 2 or 5 × 10^k seconds) from 0 to past the largest value.

export interface Bin {
  lo: number;
  hi: number;
  count: number;
}

export interface Binned {
  bins: Bin[];
  step: number;
  max: number;
  total: number;
}

export function niceStep(max: number, target: number): number {
  if (!(max > 0)) return 0.001;
  const raw = max / target;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

/** Bins (value, weight) pairs; weights default to 1. */
export function binValues(values: ArrayLike<number>, weights?: ArrayLike<number>, target = 40): Binned {
  let max = 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) max = Math.max(max, values[i]);
  }
  const step = niceStep(max, target);
  const n = Math.max(1, Math.floor(max / step + 1e-9) + 1);
  const bins: Bin[] = Array.from({ length: n }, (_, i) => ({ lo: round(i * step), hi: round((i + 1) * step), count: 0 }));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < 0) continue;
    const w = weights ? weights[i] : 1;
    const b = Math.min(n - 1, Math.floor(v / step + 1e-9));
    bins[b].count += w;
    total += w;
  }
  return { bins, step, max: n * step, total };
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Snaps a value to the bin grid. */
export function snap(x: number, step: number, mode: 'floor' | 'ceil'): number {
  const k = mode === 'floor' ? Math.floor(x / step + 1e-9) : Math.ceil(x / step - 1e-9);
  return round(k * step);
}

// Number formatting shared by the pages.

/** A duration in seconds, in the unit that reads best: 850 µs, 12.3 ms, 1.24 s. */
export function fmtSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  const a = Math.abs(s);
  const sig = (x: number) => String(Number(x.toPrecision(3)));
  if (a === 0) return '0 ms';
  if (a < 0.001) return `${sig(s * 1e6)} µs`;
  if (a < 1) return `${sig(s * 1000)} ms`;
  if (a < 60) return `${sig(s)} s`;
  const m = Math.floor(a / 60);
  return `${s < 0 ? '-' : ''}${m} min ${Math.round(a - m * 60)} s`;
}

export function fmtCount(n: number | undefined): string {
  if (n === undefined) return '–';
  return n.toLocaleString('en-US');
}

export function fmtPercent(part: number, total: number): string {
  if (!total || !part) return '0%';
  const p = (part / total) * 100;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function fmtRate(perMinute: number): string {
  if (!Number.isFinite(perMinute)) return '–';
  if (perMinute >= 100) return `${Math.round(perMinute)}/min`;
  if (perMinute >= 1) return `${perMinute.toFixed(1)}/min`;
  return `${perMinute.toFixed(2)}/min`;
}

/** Quotes a string for the filter language. */
export function quote(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

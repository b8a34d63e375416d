// Time ranges: relative ("last 15 minutes", re-resolved on every refresh)
// or absolute (a fixed window, what a pasted link should usually hold).
//
// URL form: last=15m | last=2h, or start=<ISO-8601>&end=<ISO-8601>.

export type TimeRange = { kind: 'relative'; seconds: number } | { kind: 'absolute'; start: number; end: number };

export const presets: { label: string; value: string }[] = [
  { label: 'Last 5 minutes', value: '5m' },
  { label: 'Last 15 minutes', value: '15m' },
  { label: 'Last 30 minutes', value: '30m' },
  { label: 'Last 1 hour', value: '1h' },
  { label: 'Last 3 hours', value: '3h' },
  { label: 'Last 6 hours', value: '6h' },
  { label: 'Last 12 hours', value: '12h' },
  { label: 'Last 24 hours', value: '24h' },
  { label: 'Last 3 days', value: '3d' },
  { label: 'Last 7 days', value: '7d' },
  { label: 'Last 30 days', value: '30d' },
];

/** The longest window one X-Ray call takes (GetTraceSummaries, GetServiceGraph): longer ones are asked a day at a time. */
export const apiWindowSeconds = 24 * 3600;

/** The console's longest window: X-Ray's retention. */
export const maxWindowSeconds = 31 * 86400;

/** [start, end) cut into windows of at most a day, newest first (X-Ray scans newest first too). */
export function daySlices(start: number, end: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let e = end; e > start; e -= apiWindowSeconds) out.push({ start: Math.max(start, e - apiWindowSeconds), end: e });
  return out.length ? out : [{ start, end }];
}

export const defaultRange: TimeRange = { kind: 'relative', seconds: 3600 };

export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(s.trim());
  if (!m) return undefined;
  const n = parseFloat(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? Math.min(n, maxWindowSeconds) : undefined;
}

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function parseTime(s: string | null): number | undefined {
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t / 1000;
}

export function rangeFromQuery(q: URLSearchParams, fallback: TimeRange = defaultRange): TimeRange {
  const start = parseTime(q.get('start'));
  const end = parseTime(q.get('end'));
  if (start !== undefined && end !== undefined && end > start) return { kind: 'absolute', start, end };
  const last = q.get('last');
  const secs = last ? parseDuration(last) : undefined;
  if (secs) return { kind: 'relative', seconds: secs };
  return fallback;
}

export function isoSeconds(t: number): string {
  return new Date(Math.round(t) * 1000).toISOString().replace('.000Z', 'Z');
}

export function rangeToQuery(r: TimeRange): Record<string, string | undefined> {
  if (r.kind === 'relative') return { last: formatDuration(r.seconds), start: undefined, end: undefined };
  return { last: undefined, start: isoSeconds(r.start), end: isoSeconds(r.end) };
}

/** The window in epoch seconds at `now` (ms, as Date.now()). */
export function resolveRange(r: TimeRange, now: number = Date.now()): { start: number; end: number } {
  if (r.kind === 'absolute') return { start: r.start, end: r.end };
  const end = Math.ceil(now / 1000);
  return { start: end - r.seconds, end };
}

export function describeRange(r: TimeRange): string {
  if (r.kind === 'relative') {
    const p = presets.find((p) => parseDuration(p.value) === r.seconds);
    return p ? p.label : `Last ${formatDuration(r.seconds)}`;
  }
  return `${formatClock(r.start)} – ${formatClock(r.end)}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local date and time to the second: 2026-11-20 14:03:07. */
export function formatClock(t: number): string {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local time with milliseconds: 14:03:07.123. */
export function formatTimeMs(t: number): string {
  const d = new Date(t * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Value for <input type="datetime-local"> in local time. */
export function toLocalInput(t: number): string {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(s: string): number | undefined {
  const t = new Date(s).getTime();
  return Number.isNaN(t) ? undefined : t / 1000;
}

// Time range picker: presets ("Last 15 minutes") or a custom absolute
// window; "Fix" turns a relative range into the absolute window it means
// now, so a pasted link shows a colleague the same data.
import { useState } from 'preact/hooks';
import {
  describeRange,
  formatDuration,
  fromLocalInput,
  maxWindowSeconds,
  parseDuration,
  presets,
  resolveRange,
  toLocalInput,
  type TimeRange,
} from '../time';

interface Props {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  onRefresh: () => void;
  loading?: boolean;
}

export function TimeRangePicker({ range, onChange, onRefresh, loading }: Props) {
  const [custom, setCustom] = useState(false);
  const win = resolveRange(range);
  const [from, setFrom] = useState(toLocalInput(win.start));
  const [to, setTo] = useState(toLocalInput(win.end));
  const [err, setErr] = useState('');
  const value = custom || range.kind === 'absolute' ? 'custom' : formatDuration(range.seconds);
  const known = presets.some((p) => p.value === value);

  const apply = (e: Event) => {
    e.preventDefault();
    const s = fromLocalInput(from);
    const t = fromLocalInput(to);
    if (s === undefined || t === undefined || t <= s) return setErr('The end must be after the start.');
    if (t - s > maxWindowSeconds) return setErr('At most 31 days.');
    setErr('');
    setCustom(false);
    onChange({ kind: 'absolute', start: s, end: t });
  };

  return (
    <div class="timerange">
      <label>
        <span class="sr-only">Time range</span>
        <select
          aria-label="Time range"
          value={value}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === 'custom') {
              const w = resolveRange(range);
              setFrom(toLocalInput(w.start));
              setTo(toLocalInput(w.end));
              setCustom(true);
              return;
            }
            setCustom(false);
            const secs = parseDuration(v);
            if (secs) onChange({ kind: 'relative', seconds: secs });
          }}
        >
          {presets.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          {!known && value !== 'custom' && <option value={value}>{describeRange(range)}</option>}
          <option value="custom">{range.kind === 'absolute' ? describeRange(range) : 'Custom…'}</option>
        </select>
      </label>
      {range.kind === 'relative' && !custom && (
        <button
          type="button"
          class="secondary"
          title="Replace the relative range with the absolute window it covers now, so the link shows the same data later"
          onClick={() => onChange({ kind: 'absolute', ...resolveRange(range) })}
        >
          Fix window
        </button>
      )}
      <button type="button" onClick={onRefresh} disabled={loading} title="Reload (r)">
        {loading ? 'Loading…' : 'Refresh'}
      </button>
      {custom && (
        <form class="custom-range" onSubmit={apply}>
          <label>
            From <input type="datetime-local" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            To <input type="datetime-local" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={() => setCustom(false)}>
            Cancel
          </button>
          {err && (
            <span class="error-text" role="alert">
              {err}
            </span>
          )}
        </form>
      )}
    </div>
  );
}

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Async<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs fn whenever deps change (aborting the previous run) or reload() is called. */
export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    fn(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !ctl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The pixel width of an element, updated on resize. */
export function useWidth<T extends HTMLElement>(initial = 600): [(el: T | null) => void, number] {
  const [width, setWidth] = useState(initial);
  const obs = useRef<ResizeObserver | null>(null);
  const ref = useCallback((el: T | null) => {
    obs.current?.disconnect();
    if (!el) return;
    setWidth(el.clientWidth || initial);
    obs.current = new ResizeObserver(() => setWidth(el.clientWidth || initial));
    obs.current.observe(el);
  }, [initial]);
  return [ref, width];
}

/** Remembers where the trace list was, so a trace page can link back to it. */
export function rememberTraceList(url: string): void {
  try {
    sessionStorage.setItem('counterspy.traces', url);
  } catch {
    /* storage disabled */
  }
}

export function lastTraceList(): string {
  try {
    return sessionStorage.getItem('counterspy.traces') || '/traces';
  } catch {
    return '/traces';
  }
}

/** The pixel size of an element, updated on resize. */
export function useSize<T extends HTMLElement>(): [(el: T | null) => void, { w: number; h: number }] {
  const [size, setSize] = useState({ w: 0, h: 0 });
  const obs = useRef<ResizeObserver | null>(null);
  const ref = useCallback((el: T | null) => {
    obs.current?.disconnect();
    if (!el) return;
    const measure = () => setSize((s) => (s.w === el.clientWidth && s.h === el.clientHeight ? s : { w: el.clientWidth, h: el.clientHeight }));
    measure();
    obs.current = new ResizeObserver(measure);
    obs.current.observe(el);
  }, []);
  return [ref, size];
}

// A small history router: the page is the URL, so every view is a link a
// user can paste to a colleague.
//
//   /                     service map (same as /map)
//   /map?…                service map
//   /traces?…             trace list
//   /traces/<trace id>?…  one trace
//   /profile?service=…    where a service's time goes
//   /insights?…           insights (fault-rate anomalies) of a window
//   /insights/<id>        one insight
//
// X-Ray operations are capitalized POST paths (/Traces, /ServiceGraph), so
// these lower-case paths never collide with them.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'map' }
  | { page: 'traces' }
  | { page: 'trace'; id: string }
  | { page: 'profile' }
  | { page: 'insights' }
  | { page: 'insight'; id: string }
  | { page: 'notfound'; path: string };

export function parseRoute(pathname: string): Route {
  const p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/map') return { page: 'map' };
  if (p === '/traces') return { page: 'traces' };
  if (p === '/profile') return { page: 'profile' };
  if (p === '/insights') return { page: 'insights' };
  const ins = /^\/insights\/([^/]+)$/.exec(p);
  if (ins) return { page: 'insight', id: decodeURIComponent(ins[1]) };
  const m = /^\/traces\/([^/]+)$/.exec(p);
  if (m) return { page: 'trace', id: decodeURIComponent(m[1]) };
  return { page: 'notfound', path: pathname };
}

const listeners = new Set<() => void>();

export function navigate(url: string, opts: { replace?: boolean } = {}): void {
  const cur = location.pathname + location.search;
  if (url === cur) return;
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((l) => l());
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => listeners.forEach((l) => l()));
}

export interface Loc {
  path: string;
  query: URLSearchParams;
}

function current(): Loc {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return loc;
}

/** Builds path?query from a parameter record, dropping empty values. */
export function href(path: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Updates some query parameters of the current URL (replacing history by default). */
export function setQuery(params: Record<string, string | number | undefined | null>, opts: { push?: boolean } = {}): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), { replace: !opts.push });
}

/** onClick for <a href>: plain left clicks navigate in-app, others open normally. */
export function linkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest('a');
  if (!a || a.target) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

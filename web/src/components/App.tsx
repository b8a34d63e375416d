import { useEffect } from 'preact/hooks';
import { href, linkClick, navigate, parseRoute, useLocation } from '../router';
import { InsightPage } from './InsightPage';
import { InsightsPage } from './InsightsPage';
import { MapPage } from './MapPage';
import { ProfilePage } from './ProfilePage';
import { TracePage } from './TracePage';
import { TracesPage } from './TracesPage';

/** Keeps the time range when moving between the map and the trace list. */
function carry(q: URLSearchParams): Record<string, string | undefined> {
  return { last: q.get('last') ?? undefined, start: q.get('start') ?? undefined, end: q.get('end') ?? undefined };
}

export function App() {
  const loc = useLocation();
  const route = parseRoute(loc.path);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey || t.closest('input, textarea, select, [contenteditable]')) return;
      if (e.key === '/') {
        const f = document.getElementById('filter-input') as HTMLInputElement | null;
        if (f) {
          e.preventDefault();
          f.focus();
        }
      } else if (e.key === 'm') {
        navigate(href('/map', carry(new URLSearchParams(location.search))));
      } else if (e.key === 't') {
        navigate(href('/traces', carry(new URLSearchParams(location.search))));
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const titles = { map: 'Service map', traces: 'Traces', trace: 'Trace', profile: 'Profile', insights: 'Insights', insight: 'Insight', notfound: 'Not found' };
    document.title = `${titles[route.page]} · Counterspy`;
  }, [route.page]);

  const keep = route.page === 'trace' || route.page === 'insight' ? {} : carry(loc.query);
  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/map" onClick={linkClick}>
          <svg viewBox="0 0 32 32" width="20" height="20" aria-hidden="true">
            <circle cx="16" cy="16" r="12" fill="none" stroke="currentColor" stroke-width="4" />
            <circle cx="16" cy="16" r="5" fill="#d13212" />
          </svg>
          Counterspy
        </a>
        <nav aria-label="Pages">
          <a href={href('/map', keep)} onClick={linkClick} aria-current={route.page === 'map' ? 'page' : undefined} title="Service map (m)">
            Service map
          </a>
          <a
            href={href('/traces', keep)}
            onClick={linkClick}
            aria-current={route.page === 'traces' || route.page === 'trace' ? 'page' : undefined}
            title="Traces (t)"
          >
            Traces
          </a>
          <a href={href('/insights', keep)} onClick={linkClick} aria-current={route.page === 'insights' || route.page === 'insight' ? 'page' : undefined}>
            Insights
          </a>
        </nav>
        <span class="hint" aria-hidden="true">
          <kbd>m</kbd> map · <kbd>t</kbd> traces · <kbd>/</kbd> filter
        </span>
      </header>
      <main id="main">
        {route.page === 'map' && <MapPage query={loc.query} />}
        {route.page === 'traces' && <TracesPage query={loc.query} />}
        {route.page === 'trace' && <TracePage id={route.id} query={loc.query} />}
        {route.page === 'profile' && <ProfilePage query={loc.query} />}
        {route.page === 'insights' && <InsightsPage query={loc.query} />}
        {route.page === 'insight' && <InsightPage id={route.id} />}
        {route.page === 'notfound' && (
          <div class="page">
            <h1>Not found</h1>
            <p>
              Nothing lives at <code>{route.path}</code>. Try the{' '}
              <a href="/map" onClick={linkClick}>
                service map
              </a>
              .
            </p>
          </div>
        )}
      </main>
    </div>
  );
}

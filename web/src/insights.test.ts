import { describe, expect, it } from 'vitest';
import { impactWindow, type Insight } from './insights';
import { parseRoute } from './router';

const insight = (start: number, end?: number): Insight => ({ InsightId: 'x', State: end ? 'CLOSED' : 'ACTIVE', StartTime: start, EndTime: end });

describe('insights', () => {
  it('routes the list and one insight', () => {
    expect(parseRoute('/insights')).toEqual({ page: 'insights' });
    expect(parseRoute('/insights/')).toEqual({ page: 'insights' });
    expect(parseRoute('/insights/0f8e2a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b')).toEqual({ page: 'insight', id: '0f8e2a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b' });
    expect(parseRoute('/insights/a/b').page).toBe('notfound');
  });

  it('asks the impact graph from the recent window before the start to the end', () => {
    expect(impactWindow(insight(10_000, 10_600))).toEqual({ start: 9_700, end: 10_600 });
    // ongoing: up to now
    expect(impactWindow(insight(10_000), 10_100.5)).toEqual({ start: 9_700, end: 10_101 });
  });

  it('keeps the impact graph window within the 24 hours one call takes', () => {
    const w = impactWindow(insight(0, 3 * 86400));
    expect(w.end - w.start).toBe(86400);
    expect(w.end).toBe(3 * 86400);
  });
});

import { describe, expect, it } from 'vitest';
import { buildTree, layout } from './components/ProfilePage';
import type { ProfileBreakdown, ProfilePart } from './types';

const part = (path: string[], mean: number, self: number): ProfilePart => ({
  path,
  count: 10,
  self_mean_s: self,
  share: self / 1,
  mean_s: mean,
  self_p50_s: self,
  self_p90_s: self,
  self_p99_s: self,
  p50_s: mean,
  p90_s: mean,
  p99_s: mean,
  self_histogram: [],
});

describe('profile icicle', () => {
  // svc (1 s): a 0.5 s and b 0.3 s in sequence, a holds c 0.2 s.
  const b: ProfileBreakdown = {
    invocations: 10,
    mean_s: 1,
    p50_s: 1,
    p90_s: 1,
    p99_s: 1,
    parts: [part(['svc', 'a'], 0.5, 0.3), part(['svc'], 1, 0.2), part(['svc', 'b'], 0.3, 0.3), part(['svc', 'a', 'c'], 0.2, 0.2)],
  };

  it('nests parts by path, widest first', () => {
    const root = buildTree(b, undefined)!;
    expect(root.label).toBe('svc');
    expect(root.children.map((n) => n.label)).toEqual(['a', 'b']);
    expect(root.children[0].children.map((n) => n.label)).toEqual(['c']);
  });

  it('lays parts out under their parent, as wide as their mean time', () => {
    const cells = layout(buildTree(b, undefined)!);
    const at = (l: string) => cells.find((c) => c.node.label === l)!;
    expect([at('svc').left, at('svc').width, at('svc').depth]).toEqual([0, 1, 0]);
    expect([at('a').left, at('a').width, at('a').depth]).toEqual([0, 0.5, 1]);
    expect(at('b').left).toBeCloseTo(0.5);
    expect(at('b').width).toBeCloseTo(0.3);
    expect([at('c').left, at('c').width, at('c').depth]).toEqual([0, 0.2, 2]);
  });

  it('scales parallel children down to fit under their parent', () => {
    const par: ProfileBreakdown = { ...b, parts: [part(['svc'], 1, 0), part(['svc', 'x'], 0.8, 0.8), part(['svc', 'y'], 0.8, 0.8)] };
    const cells = layout(buildTree(par, undefined)!);
    const widths = cells.filter((c) => c.depth === 1).map((c) => c.width);
    expect(widths[0]).toBeCloseTo(0.5);
    expect(widths[1]).toBeCloseTo(0.5);
  });
});

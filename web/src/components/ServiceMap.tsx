// The service map: X-Ray Services laid out left to right by call depth with
// dagre, each node a ring split by health (green OK, yellow 4xx, purple
// 429, red 5xx) around a glyph of its type, each edge labelled with its
// rate and average latency. Nodes and edges are focusable buttons.
import dagre from '@dagrejs/dagre';
import { useMemo, useRef, useState } from 'preact/hooks';
import { useSize } from '../hooks';
import { fmtRate, fmtSeconds, fmtPercent } from '../format';
import { colors, health, healthArcs, healthClass, typeInfo, type Health } from '../health';
import type { Edge, Service } from '../types';

export type Selection = { kind: 'node'; ref: number } | { kind: 'edge'; from: number; to: number };

interface Props {
  services: Service[];
  selection?: Selection;
  onSelect?: (s: Selection | undefined) => void;
  /** Window length in minutes, for request rates; omitted on trace maps. */
  windowMinutes?: number;
  /** CSS height of the map area. */
  height: string;
  compact?: boolean;
  label: string;
}

interface LaidNode {
  s: Service;
  x: number;
  y: number;
  h: Health;
}

interface LaidEdge {
  from: Service;
  to: Service;
  e: Edge;
  points: { x: number; y: number }[];
  lx: number;
  ly: number;
  h: Health;
}

const R = 26;
const R_SMALL = 20;

/** A client node has no statistics; its single edge carries them. */
export function nodeHealth(s: Service): Health {
  if (s.Type === 'client' && !s.SummaryStatistics) {
    const h = health(undefined);
    for (const e of s.Edges ?? []) {
      const eh = health(e.SummaryStatistics);
      h.total += eh.total;
      h.ok += eh.ok;
      h.error += eh.error;
      h.throttle += eh.throttle;
      h.fault += eh.fault;
      h.avg += eh.avg * eh.total;
    }
    if (h.total) h.avg /= h.total;
    return h;
  }
  return health(s.SummaryStatistics);
}

function layout(services: Service[], compact: boolean) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: compact ? 18 : 34, ranksep: compact ? 70 : 120, edgesep: 20, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const r = compact ? R_SMALL : R;
  const byRef = new Map(services.map((s) => [s.ReferenceId, s]));
  const sorted = [...services].sort((a, b) => a.ReferenceId - b.ReferenceId);
  for (const s of sorted) {
    const w = Math.max(2 * r + 20, Math.min(200, (s.Name ?? '').length * 7 + 16));
    g.setNode('n' + s.ReferenceId, { width: w, height: 2 * r + (compact ? 30 : 48) });
  }
  for (const s of sorted) {
    for (const e of s.Edges ?? []) {
      if (!byRef.has(e.ReferenceId) || e.ReferenceId === s.ReferenceId) continue;
      g.setEdge('n' + s.ReferenceId, 'n' + e.ReferenceId, { width: compact ? 50 : 110, height: 14, labelpos: 'c' });
    }
  }
  dagre.layout(g);
  const nodes: LaidNode[] = sorted.map((s) => {
    const n = g.node('n' + s.ReferenceId);
    // dagre centres the box; the circle sits at its top
    return { s, x: n.x, y: n.y - n.height / 2 + r + 2, h: nodeHealth(s) };
  });
  const pos = new Map(nodes.map((n) => [n.s.ReferenceId, n]));
  const edges: LaidEdge[] = [];
  for (const s of sorted) {
    for (const e of s.Edges ?? []) {
      const to = byRef.get(e.ReferenceId);
      if (!to || e.ReferenceId === s.ReferenceId) continue;
      const lab = g.edge('n' + s.ReferenceId, 'n' + e.ReferenceId) as { points?: { x: number; y: number }[]; x?: number; y?: number };
      const a = pos.get(s.ReferenceId)!;
      const b = pos.get(to.ReferenceId)!;
      // from circle edge to circle edge, through dagre's bends
      const inner = (lab.points ?? []).slice(1, -1);
      const first = inner[0] ?? b;
      const last = inner.at(-1) ?? a;
      const pa = towards(a, first, r + 2);
      const pb = towards(b, last, r + 6);
      edges.push({ from: s, to, e, points: [pa, ...inner, pb], lx: lab.x ?? (pa.x + pb.x) / 2, ly: lab.y ?? (pa.y + pb.y) / 2, h: health(e.SummaryStatistics) });
    }
  }
  const gr = g.graph() as { width?: number; height?: number };
  return { nodes, edges, width: gr.width ?? 100, height: gr.height ?? 100, r };
}

function towards(c: { x: number; y: number }, p: { x: number; y: number }, d: number) {
  const dx = p.x - c.x;
  const dy = p.y - c.y;
  const len = Math.hypot(dx, dy) || 1;
  return { x: c.x + (dx / len) * d, y: c.y + (dy / len) * d };
}

function pathOf(pts: { x: number; y: number }[]): string {
  if (pts.length < 2) return '';
  let d = `M${pts[0].x},${pts[0].y}`;
  if (pts.length === 2) return d + ` L${pts[1].x},${pts[1].y}`;
  for (let i = 1; i < pts.length - 1; i++) {
    const m = { x: (pts[i].x + pts[i + 1].x) / 2, y: (pts[i].y + pts[i + 1].y) / 2 };
    d += ` Q${pts[i].x},${pts[i].y} ${i === pts.length - 2 ? `${pts[i + 1].x},${pts[i + 1].y}` : `${m.x},${m.y}`}`;
  }
  return d;
}

const arrowColors = ['#8b949e', colors.error, colors.throttle, colors.fault];

function edgeColor(h: Health): string {
  const c = healthClass(h);
  return c === 'ok' || c === 'none' ? '#8b949e' : colors[c];
}

function describe(s: Service, h: Health): string {
  const t = typeInfo(s.Type).label;
  if (!h.total) return `${s.Name}, ${t}, no completed requests`;
  const parts = [`${h.total} requests`, `average ${fmtSeconds(h.avg)}`];
  if (h.fault) parts.push(`${fmtPercent(h.fault, h.total)} faults`);
  if (h.error) parts.push(`${fmtPercent(h.error, h.total)} errors`);
  if (h.throttle) parts.push(`${fmtPercent(h.throttle, h.total)} throttled`);
  return `${s.Name}, ${t}: ${parts.join(', ')}`;
}

function Ring({ h, r }: { h: Health; r: number }) {
  const arcs = healthArcs(h);
  const circ = 2 * Math.PI * r;
  if (!arcs.length) return <circle r={r} class="ring-empty" />;
  let offset = 0;
  return (
    <g transform="rotate(-90)">
      {arcs.map(([share, color]) => {
        const len = share * circ;
        const el = (
          <circle key={color} r={r} fill="none" stroke={color} stroke-width={5} stroke-dasharray={`${len} ${circ - len}`} stroke-dashoffset={-offset} />
        );
        offset += len;
        return el;
      })}
    </g>
  );
}

function Glyph({ type, r }: { type?: string; r: number }) {
  if (type === 'client') {
    const k = r / 26;
    return (
      <g class="glyph-client" transform={`scale(${k})`}>
        <circle cy={-7} r={6} />
        <path d="M-11,12 a11,10 0 0 1 22,0 z" />
      </g>
    );
  }
  const g = typeInfo(type).glyph;
  const size = g.length > 2 ? r * 0.5 : r * 0.8;
  return (
    <text class="glyph" text-anchor="middle" dominant-baseline="central" font-size={size}>
      {g}
    </text>
  );
}

export function ServiceMap({ services, selection, onSelect, windowMinutes, height, compact = false, label }: Props) {
  const laid = useMemo(() => layout(services, compact), [services, compact]);
  const [view, setView] = useState<{ x: number; y: number; w: number; h: number } | null>(null);
  const pan = useRef<{ x: number; y: number; vx: number; vy: number; moved: boolean } | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const [boxRef, box] = useSize<HTMLDivElement>();
  // fit the whole graph, but never draw it larger than life
  const fw = Math.max(laid.width, box.w || laid.width);
  const fh = Math.max(laid.height, box.h || laid.height);
  const fit = { x: (laid.width - fw) / 2, y: (laid.height - fh) / 2, w: fw, h: fh };
  const vb = view ?? fit;

  const zoom = (factor: number, cx = vb.x + vb.w / 2, cy = vb.y + vb.h / 2) => {
    const w = Math.min(fit.w * 4, Math.max(80, vb.w * factor));
    const h = (vb.h * w) / vb.w;
    setView({ x: cx - ((cx - vb.x) * w) / vb.w, y: cy - ((cy - vb.y) * h) / vb.h, w, h });
  };
  const toGraph = (clientX: number, clientY: number) => {
    const r = svgRef.current!.getBoundingClientRect();
    const scale = Math.max(vb.w / r.width, vb.h / r.height);
    const ox = (r.width * scale - vb.w) / 2;
    const oy = (r.height * scale - vb.h) / 2;
    return { x: vb.x - ox + (clientX - r.left) * scale, y: vb.y - oy + (clientY - r.top) * scale, scale };
  };
  const onWheel = (e: WheelEvent) => {
    if (!e.ctrlKey && !e.metaKey && compact) return;
    e.preventDefault();
    const p = toGraph(e.clientX, e.clientY);
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  };
  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0 || (e.target as Element).closest('.node, .edge')) return;
    pan.current = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y, moved: false };
  };
  const onPointerMove = (e: PointerEvent) => {
    const p = pan.current;
    if (!p) return;
    const { scale } = toGraph(e.clientX, e.clientY);
    const dx = (e.clientX - p.x) * scale;
    const dy = (e.clientY - p.y) * scale;
    if (Math.abs(dx) + Math.abs(dy) > 2) p.moved = true;
    if (p.moved) setView({ ...vb, x: p.vx - dx, y: p.vy - dy });
  };
  const onPointerUp = () => {
    const p = pan.current;
    pan.current = null;
    if (p && !p.moved) onSelect?.(undefined);
  };
  const activate = (s: Selection) => (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect?.(s);
    }
  };
  const isSel = (s: Selection) =>
    !!selection && selection.kind === s.kind && (s.kind === 'node' ? selection.kind === 'node' && selection.ref === s.ref : selection.kind === 'edge' && selection.from === s.from && selection.to === s.to);
  const r = laid.r;
  const idp = compact ? 'mini' : 'map';

  return (
    <div class={compact ? 'map map-compact' : 'map'} style={{ height }} ref={boxRef}>
      {!compact && (
        <div class="map-zoom" role="group" aria-label="Zoom">
          <button type="button" onClick={() => zoom(1 / 1.3)} title="Zoom in" aria-label="Zoom in">
            +
          </button>
          <button type="button" onClick={() => zoom(1.3)} title="Zoom out" aria-label="Zoom out">
            −
          </button>
          <button type="button" onClick={() => setView(null)} title="Fit the whole map" aria-label="Fit the whole map">
            ⤢
          </button>
        </div>
      )}
      <svg
        ref={svgRef}
        class={box.w && vb.w / box.w > 2.2 ? 'map-svg far' : 'map-svg'}
        role="group"
        aria-label={label}
        viewBox={`${vb.x} ${vb.y} ${vb.w} ${vb.h}`}
        preserveAspectRatio="xMidYMid meet"
        onWheel={onWheel}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerLeave={() => (pan.current = null)}
      >
        <defs>
          {arrowColors.map((c) => (
            <marker key={c} id={`${idp}-arrow-${c.slice(1)}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" fill={c} />
            </marker>
          ))}
        </defs>
        {laid.edges.map((le) => {
          const sel: Selection = { kind: 'edge', from: le.from.ReferenceId, to: le.to.ReferenceId };
          const d = pathOf(le.points);
          const c = edgeColor(le.h);
          const rate = windowMinutes ? fmtRate(le.h.total / windowMinutes) : `${le.h.total}×`;
          return (
            <g
              key={`e${le.from.ReferenceId}-${le.to.ReferenceId}`}
              class={isSel(sel) ? 'edge selected' : 'edge'}
              tabindex={onSelect ? 0 : undefined}
              role={onSelect ? 'button' : undefined}
              aria-label={`edge from ${le.from.Name} (${typeInfo(le.from.Type).label}) to ${le.to.Name} (${typeInfo(le.to.Type).label}): ${le.h.total} requests, average ${fmtSeconds(le.h.avg)}`}
              data-from={le.from.Name}
              data-to={le.to.Name}
              onClick={() => onSelect?.(sel)}
              onKeyDown={activate(sel)}
            >
              <path d={d} class="edge-hit" />
              <path d={d} class="edge-line" stroke={c} stroke-dasharray={le.e.EdgeType === 'link' ? '6 4' : undefined} marker-end={`url(#${idp}-arrow-${c.slice(1)})`} />
              {le.h.total > 0 && (
                <text x={le.lx} y={le.ly} class="edge-label" text-anchor="middle" dominant-baseline="central">
                  {compact ? fmtSeconds(le.h.avg) : `${rate} · ${fmtSeconds(le.h.avg)}`}
                </text>
              )}
            </g>
          );
        })}
        {laid.nodes.map((n) => {
          const sel: Selection = { kind: 'node', ref: n.s.ReferenceId };
          const t = typeInfo(n.s.Type);
          const cls = healthClass(n.h);
          return (
            <g
              key={'n' + n.s.ReferenceId}
              class={`node health-${cls}${isSel(sel) ? ' selected' : ''}${n.s.Type === 'client' ? ' client' : ''}`}
              transform={`translate(${n.x},${n.y})`}
              tabindex={onSelect ? 0 : undefined}
              role={onSelect ? 'button' : 'img'}
              aria-label={describe(n.s, n.h)}
              data-name={n.s.Name}
              data-type={n.s.Type ?? ''}
              data-health={cls}
              onClick={() => onSelect?.(sel)}
              onKeyDown={activate(sel)}
            >
              <title>{describe(n.s, n.h)}</title>
              <circle r={r + 6} class="node-halo" />
              <circle r={r} class="node-bg" />
              {n.s.Type !== 'client' ? <Ring h={n.h} r={r} /> : <circle r={r} class="ring-client" />}
              <Glyph type={n.s.Type} r={r} />
              <text y={r + 15} class="node-name" text-anchor="middle">
                {n.s.Name}
              </text>
              <text y={r + 28} class="node-type" text-anchor="middle">
                {t.label}
              </text>
              {!compact && n.s.Type !== 'client' && n.h.total > 0 && (
                <text y={r + 41} class="node-stat" text-anchor="middle">
                  {fmtSeconds(n.h.avg)}
                  {windowMinutes ? ` · ${fmtRate(n.h.total / windowMinutes)}` : ''}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

// The OpenTelemetry span an entity was made from, as the OTLP receiver keeps
// it under metadata.otel (docs/otlp.md, "Lossless copy"): kind, status,
// attributes, events, links, and the scope and resource, which are written
// only where they change (a document's root, a nested span whose scope
// differs from its parent's) and so are looked up along the entity's path.
import type { SegmentDoc } from '../types';
import type { Row } from './model';

export type Attrs = Record<string, unknown>;

export interface OtelEvent {
  name?: string;
  time_unix_nano?: number;
  attributes?: Attrs;
  dropped_attributes_count?: number;
}

export interface OtelLink {
  trace_id?: string;
  span_id?: string;
  trace_state?: string;
  flags?: number;
  attributes?: Attrs;
  dropped_attributes_count?: number;
}

export interface OtelScope {
  name?: string;
  version?: string;
  attributes?: Attrs;
  dropped_attributes_count?: number;
  schema_url?: string;
}

export interface OtelSpan {
  name?: string;
  kind?: string;
  trace_id?: string;
  span_id?: string;
  parent_span_id?: string;
  trace_state?: string;
  flags?: number;
  start_time_unix_nano?: number;
  end_time_unix_nano?: number;
  status?: { code?: string; message?: string };
  attributes?: Attrs;
  dropped_attributes_count?: number;
  events?: OtelEvent[];
  dropped_events_count?: number;
  links?: OtelLink[];
  dropped_links_count?: number;
  scope?: OtelScope;
  resource?: { attributes?: Attrs; schema_url?: string };
  synthetic?: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The OTel span of an entity, or undefined for X-Ray SDK entities. */
export function otelOf(d: SegmentDoc): OtelSpan | undefined {
  const o = d.metadata?.otel;
  return isObject(o) ? (o as OtelSpan) : undefined;
}

/** The span kind in lower case (server, client, producer, consumer, internal), when known. */
export function spanKind(d: SegmentDoc): string | undefined {
  const k = otelOf(d)?.kind;
  if (typeof k !== 'string' || !k || k === 'Unspecified') return undefined;
  return k.toLowerCase();
}

/** The entities from the document root down to d (inclusive), or [] when d is not under root. */
function pathTo(root: SegmentDoc, d: SegmentDoc): SegmentDoc[] {
  if (root === d) return [root];
  for (const s of root.subsegments ?? []) {
    const p = pathTo(s, d);
    if (p.length) return [root, ...p];
  }
  return [];
}

export interface OtelContext {
  span: OtelSpan;
  scope?: OtelScope;
  resource?: { attributes?: Attrs; schema_url?: string };
}

/** The row's span with the scope and resource in force where it sits. */
export function otelContext(row: Row): OtelContext | undefined {
  const span = otelOf(row.doc);
  if (!span) return undefined;
  let path = pathTo(row.segment, row.doc);
  if (!path.length) path = [row.doc];
  let scope: OtelScope | undefined;
  let resource: OtelContext['resource'];
  for (const d of path) {
    const o = otelOf(d);
    if (isObject(o?.scope)) scope = o.scope;
    if (isObject(o?.resource)) resource = o.resource;
  }
  return { span, scope, resource };
}

/** The X-Ray trace ID of a W3C trace ID (32 hex), as the receiver maps it. */
export function xrayTraceId(hex: string | undefined): string | undefined {
  if (!hex || !/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `1-${h.slice(0, 8)}-${h.slice(8)}`;
}

/** An attribute value as text: strings as they are, everything else as JSON. */
export function attrText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

/** Sorted [key, value] pairs of an attribute map. */
export function attrRows(a: Attrs | undefined): [string, unknown][] {
  if (!isObject(a)) return [];
  return Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

/** Nanoseconds after the span's start, for an event's time. */
export function sinceStart(span: OtelSpan, ns: number | undefined): number | undefined {
  if (typeof ns !== 'number' || typeof span.start_time_unix_nano !== 'number') return undefined;
  return ns - span.start_time_unix_nano;
}

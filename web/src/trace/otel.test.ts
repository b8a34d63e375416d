import { describe, expect, it } from 'vitest';
import { buildTimeline } from './model';
import { attrRows, otelContext, sinceStart, spanKind, xrayTraceId } from './otel';
import type { SegmentDoc } from '../types';

// A document as the OTLP receiver writes it: scope and resource on the
// root, a nested span from another scope, a nested span sharing its parent's.
const doc: SegmentDoc = {
  id: 'aaaaaaaaaaaaaaaa',
  name: 'checkout',
  start_time: 1,
  end_time: 2,
  metadata: {
    otel: {
      kind: 'Server',
      start_time_unix_nano: 1_000_000_000,
      scope: { name: 'http' },
      resource: { attributes: { 'service.name': 'checkout' } },
    },
  },
  subsegments: [
    {
      id: 'bbbbbbbbbbbbbbbb',
      name: 'db',
      start_time: 1.1,
      end_time: 1.2,
      metadata: { otel: { kind: 'Client', scope: { name: 'sql' } } },
      subsegments: [{ id: 'cccccccccccccccc', name: 'rows', start_time: 1.15, end_time: 1.16, metadata: { otel: { kind: 'Internal' } } }],
    },
    { id: 'dddddddddddddddd', name: 'xray', start_time: 1.3, end_time: 1.4 },
  ],
};

describe('otel', () => {
  const tl = buildTimeline({ Id: '1-00000001-000000000000000000000000', Segments: [{ Id: doc.id, Document: JSON.stringify(doc) }] });
  const row = (id: string) => tl.byId.get(id)!;

  it('reads the span kind, and none for X-Ray SDK entities', () => {
    expect(spanKind(row('aaaaaaaaaaaaaaaa').doc)).toBe('server');
    expect(spanKind(row('cccccccccccccccc').doc)).toBe('internal');
    expect(spanKind(row('dddddddddddddddd').doc)).toBeUndefined();
    expect(spanKind({ id: 'x', name: 'x', start_time: 0, metadata: { otel: { kind: 'Unspecified' } } })).toBeUndefined();
  });

  it('takes the scope and resource in force along the path', () => {
    const c = otelContext(row('cccccccccccccccc'))!;
    expect(c.scope?.name).toBe('sql');
    expect(c.resource?.attributes?.['service.name']).toBe('checkout');
    expect(otelContext(row('aaaaaaaaaaaaaaaa'))!.scope?.name).toBe('http');
    expect(otelContext(row('dddddddddddddddd'))).toBeUndefined();
  });

  it('maps W3C trace IDs as the receiver does', () => {
    expect(xrayTraceId('5759E988BD862E3FE1BE46A994272793')).toBe('1-5759e988-bd862e3fe1be46a994272793');
    expect(xrayTraceId('not hex')).toBeUndefined();
    expect(xrayTraceId(undefined)).toBeUndefined();
  });

  it('sorts attributes and measures events from the span start', () => {
    expect(attrRows({ b: 1, a: 'x' }).map(([k]) => k)).toEqual(['a', 'b']);
    expect(attrRows(undefined)).toEqual([]);
    expect(sinceStart(otelContext(row('aaaaaaaaaaaaaaaa'))!.span, 1_012_000_000)).toBe(12_000_000);
  });
});

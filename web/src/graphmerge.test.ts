import { describe, expect, it } from 'vitest';
import { histogramPercentile, mergeGraphs } from './graphmerge';
import type { ServiceGraph } from './types';

const day = (ok: number, fault: number, refA: number, refB: number): ServiceGraph => ({
  StartTime: 100 * refA,
  EndTime: 100 * refA + 50,
  Services: [
    {
      ReferenceId: refA,
      Name: 'api',
      Type: 'AWS::Lambda',
      Root: true,
      SummaryStatistics: { OkCount: ok, FaultStatistics: { TotalCount: fault }, TotalCount: ok + fault, TotalResponseTime: ok + fault },
      ResponseTimeHistogram: [{ Value: 1, Count: ok + fault }],
      Edges: [{ ReferenceId: refB, SummaryStatistics: { OkCount: ok, TotalCount: ok }, ResponseTimeHistogram: [{ Value: 0.5, Count: ok }] }],
    },
    { ReferenceId: refB, Name: 'table', Type: 'AWS::DynamoDB::Table', SummaryStatistics: { OkCount: ok, TotalCount: ok } },
  ],
});

describe('mergeGraphs', () => {
  it('sums nodes and edges of every day, keyed by type and name', () => {
    const g = mergeGraphs([day(3, 1, 0, 1), day(5, 0, 7, 2)]);
    expect(g.Services).toHaveLength(2);
    const api = g.Services.find((s) => s.Name === 'api')!;
    const table = g.Services.find((s) => s.Name === 'table')!;
    expect(api.SummaryStatistics?.TotalCount).toBe(9);
    expect(api.SummaryStatistics?.FaultStatistics?.TotalCount).toBe(1);
    expect(api.ResponseTimeHistogram).toEqual([{ Value: 1, Count: 9 }]);
    expect(api.Edges).toHaveLength(1);
    expect(api.Edges![0].ReferenceId).toBe(table.ReferenceId);
    expect(api.Edges![0].SummaryStatistics?.TotalCount).toBe(8);
    expect(table.SummaryStatistics?.OkCount).toBe(8);
    expect(g.StartTime).toBe(0);
    expect(g.EndTime).toBe(750);
  });
});

describe('histogramPercentile', () => {
  it('takes the nearest rank', () => {
    const h = [
      { Value: 0.3, Count: 1 },
      { Value: 0.1, Count: 8 },
      { Value: 0.2, Count: 1 },
    ];
    expect(histogramPercentile(h, 0.5)).toBe(0.1);
    expect(histogramPercentile(h, 0.9)).toBe(0.2);
    expect(histogramPercentile(h, 0.99)).toBe(0.3);
    expect(histogramPercentile([], 0.5)).toBeUndefined();
  });
});

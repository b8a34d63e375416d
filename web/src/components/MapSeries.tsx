// The map's selected node or edge over time, from
// GetTimeSeriesServiceStatistics (a day per call for longer windows).
import { getTimeSeries, periodFor } from '../api';
import { histogramPercentile } from '../graphmerge';
import { health } from '../health';
import { useAsync } from '../hooks';
import { TimeSeriesChart, type SeriesPoint } from './TimeSeriesChart';

interface Props {
  start: number;
  end: number;
  /** EntitySelectorExpression: service(id(...)) or edge(id(...), id(...)). */
  selector: string;
  group: string;
  onSelect: (start: number, end: number) => void;
}

export function MapSeries({ start, end, selector, group, onSelect }: Props) {
  const period = periodFor(end - start);
  const series = useAsync(async (signal) => {
    const points = await getTimeSeries(start, end, selector, group, period, signal);
    return points.map((p): SeriesPoint => {
      const h = health(p.EdgeSummaryStatistics ?? p.ServiceSummaryStatistics);
      return {
        t: p.Timestamp,
        total: h.total,
        fault: h.fault,
        error: h.error,
        throttle: h.throttle,
        p50: histogramPercentile(p.ResponseTimeHistogram, 0.5),
        p90: histogramPercentile(p.ResponseTimeHistogram, 0.9),
        p99: histogramPercentile(p.ResponseTimeHistogram, 0.99),
      };
    });
  }, [start, end, selector, group, period]);
  return (
    <section class="map-series" aria-label="Over time">
      <h3>Over time</h3>
      {series.error && <p class="muted small">Could not load the time series: {series.error.message}</p>}
      {series.loading && !series.data && <p class="muted small">Loading…</p>}
      {series.data &&
        (series.data.some((p) => p.total) ? (
          <TimeSeriesChart points={series.data} period={period} start={start} end={end} onSelect={onSelect} height={200} label="Requests and response time per period" />
        ) : (
          <p class="muted small">No requests in this window.</p>
        ))}
    </section>
  );
}

// X-Ray API shapes (API version 2016-04-12) the console reads. Members are
// PascalCase as on the wire; timestamps are epoch seconds.

export interface HistogramEntry {
  Value: number;
  Count: number;
}

export interface Statistics {
  OkCount?: number;
  ErrorStatistics?: { ThrottleCount?: number; OtherCount?: number; TotalCount?: number };
  FaultStatistics?: { OtherCount?: number; TotalCount?: number };
  TotalCount?: number;
  TotalResponseTime?: number;
}

export interface Edge {
  ReferenceId: number;
  StartTime?: number;
  EndTime?: number;
  SummaryStatistics?: Statistics;
  ResponseTimeHistogram?: HistogramEntry[];
  Aliases?: { Name: string; Names?: string[]; Type?: string }[];
  EdgeType?: string;
}

export interface Service {
  ReferenceId: number;
  Name?: string;
  Names?: string[];
  Root?: boolean;
  AccountId?: string;
  Type?: string;
  State?: string;
  StartTime?: number;
  EndTime?: number;
  Edges?: Edge[];
  SummaryStatistics?: Statistics;
  DurationHistogram?: HistogramEntry[];
  ResponseTimeHistogram?: HistogramEntry[];
}

export interface ServiceGraph {
  StartTime?: number;
  EndTime?: number;
  Services: Service[];
  ContainsOldGroupVersions?: boolean;
}

export interface ServiceId {
  Name?: string;
  Names?: string[];
  AccountId?: string;
  Type?: string;
}

export interface AnnotationValue {
  NumberValue?: number;
  BooleanValue?: boolean;
  StringValue?: string;
}

export interface RootCauseEntity {
  Name?: string;
  Exceptions?: { Name?: string; Message?: string }[];
  Coverage?: number;
  Remote?: boolean;
}

export interface RootCauseService extends ServiceId {
  Inferred?: boolean;
  EntityPath?: RootCauseEntity[];
}

export interface RootCause {
  Services?: RootCauseService[];
  ClientImpacting?: boolean;
}

export interface TraceSummary {
  Id: string;
  StartTime?: number;
  Duration?: number;
  ResponseTime?: number;
  HasFault?: boolean;
  HasError?: boolean;
  HasThrottle?: boolean;
  IsPartial?: boolean;
  Http?: { HttpURL?: string; HttpStatus?: number; HttpMethod?: string; UserAgent?: string; ClientIp?: string };
  Annotations?: Record<string, { AnnotationValue?: AnnotationValue; ServiceIds?: ServiceId[] }[]>;
  Users?: { UserName?: string; ServiceIds?: ServiceId[] }[];
  ServiceIds?: ServiceId[];
  EntryPoint?: ServiceId;
  FaultRootCauses?: RootCause[];
  ErrorRootCauses?: RootCause[];
  ResponseTimeRootCauses?: RootCause[];
  Revision?: number;
  MatchedEventTime?: number;
}

export interface TraceSummariesPage {
  TraceSummaries?: TraceSummary[];
  ApproximateTime?: number;
  TracesProcessedCount?: number;
  NextToken?: string;
}

export interface Trace {
  Id: string;
  Duration?: number;
  LimitExceeded?: boolean;
  Segments: { Id: string; Document: string }[];
}

export interface Group {
  GroupName: string;
  GroupARN?: string;
  FilterExpression?: string;
}

/** A function log line (GET /counterspy/v1/logs?trace_id=…). */
export interface LogRecord {
  time: string;
  function?: string;
  logGroup?: string;
  logStream?: string;
  requestId?: string;
  traceId?: string;
  stream?: string;
  message: string;
}

/** A segment or subsegment document as stored (snake_case, as SDKs send it). */
export interface SegmentDoc {
  id: string;
  name: string;
  trace_id?: string;
  parent_id?: string;
  start_time: number;
  end_time?: number;
  in_progress?: boolean;
  inferred?: boolean;
  origin?: string;
  namespace?: string;
  type?: string;
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  user?: string;
  resource_arn?: string;
  traced?: boolean;
  http?: {
    request?: Record<string, unknown>;
    response?: { status?: number; content_length?: number } & Record<string, unknown>;
  };
  aws?: Record<string, unknown>;
  sql?: Record<string, unknown>;
  service?: Record<string, unknown>;
  annotations?: Record<string, string | number | boolean>;
  metadata?: Record<string, unknown>;
  cause?: string | Cause;
  subsegments?: SegmentDoc[];
  precursor_ids?: string[];
}

export interface Cause {
  working_directory?: string;
  paths?: string[];
  exceptions?: ExceptionDoc[];
}

export interface ExceptionDoc {
  id?: string;
  message?: string;
  type?: string;
  remote?: boolean;
  truncated?: number;
  skipped?: number;
  cause?: string;
  stack?: { path?: string; line?: number | null; label?: string }[];
}

/** GET /counterspy/v1/trace-stats: every summary the filter matches in the window. */
export interface TraceStats {
  start: number;
  end: number;
  period: number;
  filter: string;
  traces: number;
  fault: number;
  error: number;
  throttle: number;
  ok: number;
  p50?: number;
  p90?: number;
  p99?: number;
  histogram: HistogramEntry[];
  series: { time: number; traces: number; fault: number; error: number; throttle: number; p50?: number; p90?: number; p99?: number }[];
  examined: number;
  complete: boolean;
  scannedFrom: number;
  note?: string;
}

/** One part of a service's profile (docs/profile.md). */
export interface ProfilePart {
  path: string[];
  count: number;
  self_mean_s: number;
  share: number;
  mean_s: number;
  self_p50_s: number;
  self_p90_s: number;
  self_p99_s: number;
  p50_s: number;
  p90_s: number;
  p99_s: number;
  self_histogram: [number, number][];
}

export interface ProfileBreakdown {
  invocations: number;
  mean_s: number;
  p50_s: number;
  p90_s: number;
  p99_s: number;
  parts: ProfilePart[];
}

export interface ProfileChange {
  path: string[];
  base_self_mean_s: number;
  self_mean_s: number;
  delta_s: number;
  contribution: number;
  t: number;
  df: number;
  p: number;
  significant: boolean;
}

export interface ProfileComparison {
  base_invocations: number;
  invocations: number;
  base_mean_s: number;
  mean_s: number;
  delta_s: number;
  changes: ProfileChange[];
}

export interface Profile {
  service: string;
  start: string;
  end: string;
  all: ProfileBreakdown;
  cold?: ProfileBreakdown;
  warm?: ProfileBreakdown;
}

export interface ProfileResult extends Profile {
  compare?: {
    base: Profile;
    all: ProfileComparison;
    cold?: ProfileComparison;
    warm?: ProfileComparison;
  };
}

/** Example traces from one band of a part's time (GET /counterspy/v1/profile/examples). */
export interface ProfileExamples {
  service: string;
  part: string[];
  class?: string;
  time: 'total' | 'self';
  percentile?: number;
  band_count?: number;
  min_s: number;
  max_s: number;
  start: string;
  end: string;
  traces: { trace_id: string; seconds: number; invocation_s: number; invocation_end: number; class?: string }[];
  scanned: number;
  complete: boolean;
  note?: string;
}

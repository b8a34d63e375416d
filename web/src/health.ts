// Health of a node or edge, coloured like the X-Ray console: green OK,
// yellow client errors (4xx), red faults (5xx), purple throttles (429).
import { quote } from './format';
import type { Service, ServiceId, Statistics } from './types';

export interface Health {
  total: number;
  ok: number;
  error: number; // 4xx other than 429
  throttle: number;
  fault: number;
  avg: number; // seconds
}

export type HealthClass = 'ok' | 'error' | 'throttle' | 'fault' | 'none';

export function health(s: Statistics | undefined): Health {
  const total = s?.TotalCount ?? 0;
  const throttle = s?.ErrorStatistics?.ThrottleCount ?? 0;
  const errorTotal = s?.ErrorStatistics?.TotalCount ?? 0;
  const fault = s?.FaultStatistics?.TotalCount ?? 0;
  return {
    total,
    ok: s?.OkCount ?? Math.max(0, total - errorTotal - fault),
    error: Math.max(0, errorTotal - throttle),
    throttle,
    fault,
    avg: total ? (s?.TotalResponseTime ?? 0) / total : 0,
  };
}

/** The worst status seen: any fault makes a node red, as on X-Ray's map. */
export function healthClass(h: Health): HealthClass {
  if (!h.total) return 'none';
  if (h.fault) return 'fault';
  if (h.error) return 'error';
  if (h.throttle) return 'throttle';
  return 'ok';
}

export const colors = {
  ok: '#2e9e44',
  error: '#d9a400',
  throttle: '#8a4fd8',
  fault: '#d13212',
  none: '#8b949e',
} as const;

/** Segments of a ring: [share, colour] in drawing order. */
export function healthArcs(h: Health): [number, string][] {
  if (!h.total) return [];
  return (
    [
      [h.ok / h.total, colors.ok],
      [h.error / h.total, colors.error],
      [h.throttle / h.total, colors.throttle],
      [h.fault / h.total, colors.fault],
    ] as [number, string][]
  ).filter(([share]) => share > 0);
}

/** Short label and glyph for a node type. */
export function typeInfo(type: string | undefined): { label: string; glyph: string } {
  switch (type) {
    case 'AWS::Lambda':
      return { label: 'Lambda', glyph: 'λ' };
    case 'AWS::Lambda::Function':
      return { label: 'Lambda function', glyph: 'ƒ' };
    case 'AWS::DynamoDB::Table':
      return { label: 'DynamoDB table', glyph: 'DDB' };
    case 'AWS::DynamoDB':
      return { label: 'DynamoDB', glyph: 'DDB' };
    case 'AWS::S3::Bucket':
      return { label: 'S3 bucket', glyph: 'S3' };
    case 'AWS::S3':
      return { label: 'S3', glyph: 'S3' };
    case 'AWS::SNS':
      return { label: 'SNS', glyph: 'SNS' };
    case 'AWS::SQS::Queue':
    case 'AWS::SQS':
      return { label: 'SQS queue', glyph: 'SQS' };
    case 'AWS::ApiGateway::Stage':
      return { label: 'API Gateway', glyph: 'API' };
    case 'AWS::EC2::Instance':
      return { label: 'EC2 instance', glyph: 'EC2' };
    case 'AWS::ECS::Container':
      return { label: 'ECS container', glyph: 'ECS' };
    case 'AWS::ElasticBeanstalk::Environment':
      return { label: 'Elastic Beanstalk', glyph: 'EB' };
    case 'Database::SQL':
      return { label: 'SQL database', glyph: 'SQL' };
    case 'remote':
      return { label: 'remote', glyph: '↗' };
    case 'client':
      return { label: 'client', glyph: '👤' };
    case undefined:
    case '':
      return { label: 'service', glyph: '◆' };
    default:
      if (type.startsWith('AWS::')) {
        const parts = type.split('::');
        return { label: parts.slice(1).join(' '), glyph: parts[1].slice(0, 3).toUpperCase() };
      }
      return { label: type, glyph: type.slice(0, 3) };
  }
}

/** id(name: "…", type: "…") naming exactly this node in a filter. */
export function idRef(s: ServiceId): string {
  const args = [`name: ${quote(s.Name ?? '')}`];
  if (s.Type) args.push(`type: ${quote(s.Type)}`);
  return `id(${args.join(', ')})`;
}

/** The filter expression that lists the traces through a node. */
export function serviceFilter(s: Service): string {
  return `service(${idRef(s)})`;
}

/** The filter expression for traces along an edge; client edges are the callee's root requests. */
export function edgeFilter(from: Service, to: Service): string {
  if (from.Type === 'client') return `service(${idRef(to)}) { root }`;
  return `edge(${idRef(from)}, ${idRef(to)})`;
}

/** Stable key of a node across windows: type and name. */
export function nodeKey(s: ServiceId): string {
  return `${s.Type ?? ''}|${s.Name ?? ''}`;
}

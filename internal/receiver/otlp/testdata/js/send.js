// Sends one trace with the OpenTelemetry JavaScript SDK to an OTLP/HTTP
// endpoint (protobuf): a Lambda-style server span, an internal span and a
// DynamoDB call (a client span with the aws-api attributes that the AWS SDK
// instrumentation sets). Prints the trace ID once the export is acknowledged.
//
// Usage: node send.js http://127.0.0.1:4318
'use strict';

const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');

async function main() {
  const endpoint = process.argv[2];
  if (!endpoint) {
    throw new Error('usage: node send.js <OTLP/HTTP base URL>');
  }
  const exporter = new OTLPTraceExporter({ url: endpoint + '/v1/traces' });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'cart-js',
      'cloud.provider': 'aws',
      'cloud.platform': 'aws_lambda',
      'cloud.region': 'us-east-1',
      'faas.name': 'cart-js',
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // register() installs the async-hooks context manager that carries the
  // active span into startActiveSpan's callbacks.
  provider.register();
  const tracer = provider.getTracer('counterspy-js-test');

  let traceId;
  tracer.startActiveSpan('POST /cart', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'POST', 'http.response.status_code': 502, 'aws.xray.annotations': ['cart.size'], 'cart.size': 3 },
  }, (root) => {
    traceId = root.spanContext().traceId;
    tracer.startActiveSpan('validate', (inner) => {
      const call = tracer.startSpan('DynamoDB.PutItem', {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'aws-api',
          'rpc.service': 'DynamoDB',
          'rpc.method': 'PutItem',
          'aws.dynamodb.table_names': ['carts'],
          'aws.request_id': 'JSREQUEST0001',
        },
      });
      call.recordException(new Error('ProvisionedThroughputExceededException: slow down'));
      call.setStatus({ code: SpanStatusCode.ERROR, message: 'throttled' });
      call.end();
      inner.end();
    });
    root.end();
  });
  await provider.shutdown();
  process.stdout.write(traceId + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

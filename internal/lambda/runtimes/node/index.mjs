// Counterspy's Lambda runtime interface client for Node.js: what runs a
// nodejsNN.x function when the function does not bundle aws-lambda-ric (the
// official client, github.com/aws/aws-lambda-nodejs-runtime-interface-client).
// No dependencies. It reproduces the official client's observable
// behaviour: handler loading (CommonJS, ES modules by package.json "type",
// .mjs, .cjs; "dir/module.nested.fn"), async and callback handlers with
// callbackWaitsForEmptyEventLoop, the context object, Runtime.* errors
// (ImportModuleError, HandlerNotFound, UserCodeSyntaxError,
// MalformedHandlerName, UnhandledPromiseRejection), the console patched to
// write "<time>\t<request id>\t<LEVEL>\t<message>" with newlines as "\r"
// so a record stays one, "Invoke Error" / "Uncaught Exception" records,
// and _X_AMZN_TRACE_ID set per invocation for the X-Ray SDK.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const PREFIX = '/2018-06-01/runtime/';

// ---- errors, as Errors.js names and formats them
class RuntimeError extends Error {}
function runtimeError(kind) {
  const C = class extends RuntimeError {};
  C.prototype.name = 'Runtime.' + kind;
  return C;
}
const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function isError(o) {
  return o && typeof o.name === 'string' && typeof o.message === 'string' && typeof o.stack === 'string';
}
function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isError(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}
function withEnumerableProperties(v) {
  if (v instanceof Error) {
    const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
    if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
    return ret;
  }
  return v;
}
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}
function xrayCause(error) {
  try {
    const stack = [];
    for (const line of String(error.stack || '').split('\n').slice(1)) {
      const m = line.match(/^\s*at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/);
      if (m) stack.push({ path: m[2], line: Number(m[3]), label: m[1] || 'anonymous' });
    }
    return JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [{ type: error.name, message: error.message, stack }],
      paths: [...new Set(stack.map((s) => s.path))],
    });
  } catch {
    return '';
  }
}

// ---- console, as LogPatch.js patches it (text format on stdout)
let currentRequestId;
const levels = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const minLevel = levels[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || 1;
function log(level, message, ...params) {
  if (levels[level] < minLevel) return;
  const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(message, ...params)}`;
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}
console.trace = (m, ...p) => log('TRACE', m, ...p);
console.debug = (m, ...p) => log('DEBUG', m, ...p);
console.info = (m, ...p) => log('INFO', m, ...p);
console.log = console.info;
console.warn = (m, ...p) => log('WARN', m, ...p);
console.error = (m, ...p) => log('ERROR', m, ...p);
console.fatal = (m, ...p) => log('FATAL', m, ...p);
const logError = (msg, err) => console.error(msg, toFormatted(intoError(err)));

// ---- the Runtime API
function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: PREFIX + p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    // No Nagle: a request written in two segments would otherwise wait
    // for the server's delayed ACK (tens of milliseconds per call).
    req.on('socket', (sock) => sock.setNoDelay(true));
    req.end(body);
  });
}
function post(p, body, headers = {}) {
  const b = Buffer.from(body);
  return request('POST', p, b, { 'Content-Type': 'application/json', 'Content-Length': b.length, ...headers });
}
async function postInitError(error) {
  const r = toRapidResponse(error);
  await post('init/error', JSON.stringify(r), { 'Lambda-Runtime-Function-Error-Type': r.errorType });
}
async function postInvocationError(id, error) {
  const r = toRapidResponse(error);
  const headers = { 'Lambda-Runtime-Function-Error-Type': r.errorType };
  const cause = xrayCause(error);
  if (cause && cause.length < 1 << 20) headers['Lambda-Runtime-Function-XRay-Error-Cause'] = cause;
  await post(`invocation/${id}/error`, JSON.stringify(r), headers);
}

// ---- loading the handler, as UserFunction.js does
function hasPackageTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj)).type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasPackageTypeModule(path.resolve(folder, '..'));
}
const tryRequire = (file) => (fs.existsSync(file) ? require(file) : undefined);
const tryImport = async (file) => (fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined);

async function loadModule(appRoot, moduleRoot, module) {
  const base = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const esm = hasPackageTypeModule(path.dirname(base));
  if (!esm) {
    const loaded = tryRequire(base + '.js');
    if (loaded) return loaded;
  }
  const loaded = (esm && (await tryImport(base + '.js'))) || (await tryImport(base + '.mjs')) || tryRequire(base + '.cjs');
  if (loaded) return loaded;
  return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, full) {
  if (full.includes('..')) {
    throw new MalformedHandlerName(`'${full}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const handlerString = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(handlerString));
  const m = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!m) throw new MalformedHandlerName('Bad handler');
  let app;
  try {
    app = await loadModule(appRoot, moduleRoot, m[1]);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const fn = m[2].split('.').reduce((o, k) => o && o[k], app);
  if (!fn) throw new HandlerNotFound(`${full} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${full} is not a function`);
  return fn;
}

// ---- init
let initDone = false;
process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  if (!initDone || !inflight) postInitError(error).finally(() => process.exit(129));
  else failInflight(error, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  if (!initDone || !inflight) postInitError(error).finally(() => process.exit(128));
  else failInflight(error, 128);
});

let handler;
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER);
} catch (error) {
  // The official client logs the failed load as an uncaught exception.
  logError('Uncaught Exception', error);
  await postInitError(error);
  process.exit(129);
}
initDone = true;

// ---- invocations
let inflight = null; // {id, settled}
function failInflight(error, code) {
  const inv = inflight;
  inflight = null;
  postInvocationError(inv.id, error).finally(() => process.exit(code));
}

function makeContext(h, deadline) {
  const parse = (v) => (v ? JSON.parse(v) : undefined);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(h['lambda-runtime-client-context']),
    identity: parse(h['lambda-runtime-cognito-identity']),
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    awsRequestId: h['lambda-runtime-aws-request-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  return ctx;
}

async function iterate() {
  for (;;) {
    const next = await request('GET', 'invocation/next', undefined, {});
    const h = next.headers;
    const id = h['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    const deadline = Number(h['lambda-runtime-deadline-ms'] || 0);
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      event = next.body.toString('utf8');
    }
    await invoke(id, event, makeContext(h, deadline));
  }
}

function invoke(id, event, context) {
  return new Promise((resolve) => {
    const inv = { id, settled: false };
    inflight = inv;
    const finish = (err, result) => {
      if (inv.settled) return;
      inv.settled = true;
      inflight = null;
      let p;
      if (err != null) {
        logError('Invoke Error', err);
        p = postInvocationError(id, err);
      } else {
        let body;
        try {
          body = result === undefined ? 'null' : JSON.stringify(result);
        } catch (e) {
          logError('Invoke Error', e);
          p = postInvocationError(id, e);
        }
        if (!p) p = post(`invocation/${id}/response`, body === undefined ? 'null' : body);
      }
      p.then(resolve, (e) => {
        console.error('Runtime API error', e);
        process.exit(1);
      });
    };
    // A callback result waits for the event loop to drain when
    // callbackWaitsForEmptyEventLoop is true (Lambda's CallbackContext).
    const callback = (err, result) => {
      if (context.callbackWaitsForEmptyEventLoop) {
        waitEmptyLoop(() => finish(err, result));
      } else {
        finish(err, result);
      }
    };
    context.succeed = (r) => callback(null, r);
    context.fail = (e) => callback(e || 'handled');
    context.done = (e, r) => callback(e, r);
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (e) {
      finish(e);
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then((r) => finish(null, r), (e) => finish(e == null ? new Error(String(e)) : e));
    } else if (handler.constructor && handler.constructor.name === 'AsyncFunction') {
      finish(null, ret);
    } else {
      // A callback handler that never calls back answers null once the
      // event loop is empty (the official client's default exit listener).
      waitEmptyLoop(() => finish(null, undefined));
    }
  });
}

// waitEmptyLoop runs fn once the event loop has nothing else to do: the
// 'beforeExit' event, as the official client's BeforeExitListener does.
function waitEmptyLoop(fn) {
  const listener = () => {
    process.removeListener('beforeExit', listener);
    fn();
  };
  process.on('beforeExit', listener);
}

iterate().catch((e) => {
  console.error('Runtime API error', e);
  process.exit(1);
});

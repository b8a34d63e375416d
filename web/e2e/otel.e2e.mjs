// Browser test of the console on OpenTelemetry data, driven by
// internal/console/e2e_test.go after it sent two traces through the
// server's OTLP/HTTP receiver: OTEL_TRACE (service checkout-otel: server,
// internal, client and producer spans, one failing with an exception
// event, a link to OTEL_LINKED_TRACE and one to a trace not stored) and
// OTEL_LINKED_TRACE (service order-worker, one consumer span).
//
//   BASE_URL=http://127.0.0.1:2000 CHROMIUM=/usr/bin/chromium ARTIFACTS=../artifacts/console \
//     OTEL_TRACE=1-... OTEL_LINKED_TRACE=1-... node e2e/otel.e2e.mjs
//
// Exit status 0 when every check passed; on failure the page at that
// moment is saved as failure-otel.png.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = (process.env.BASE_URL ?? 'http://127.0.0.1:2000').replace(/\/$/, '');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = process.env.ARTIFACTS ?? 'artifacts';
const traceId = process.env.OTEL_TRACE;
const linkedId = process.env.OTEL_LINKED_TRACE;
mkdirSync(artifacts, { recursive: true });

const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const profile = mkdtempSync(join(tmpdir(), 'counterspy-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 800 },
  timezoneId: 'UTC',
  locale: 'en-US',
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15000);
const problems = [];
let step = 'start';
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (/404 \(Not Found\)/.test(m.text())) return; // the logs endpoint may be absent
  problems.push(`console error during "${step}": ${m.text()}`);
});
page.on('request', (r) => {
  if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
});

const shot = async (name, what) => {
  await page.screenshot({ path: join(artifacts, name) });
  log(`screenshot ${name}: ${what}`);
};

/** The rows of an attribute table as {key: text}. */
const attrTable = (label) =>
  page.$$eval(`table[aria-label="${label}"] > tbody > tr`, (rows) => Object.fromEntries(rows.map((r) => [r.dataset.key, r.querySelector('td').textContent])));

try {
  check(traceId && linkedId, 'OTEL_TRACE and OTEL_LINKED_TRACE must be set');

  // ---------------------------------------------------------------- map
  step = 'map with OTel services';
  await page.goto(`${base}/map?last=1h`);
  await page.waitForSelector('.node[data-name="checkout-otel"]');
  check(await page.$('.node[data-name="order-worker"]'), 'no node for the consumer service order-worker');
  check(await page.$('.node[data-name="orders"][data-type="AWS::DynamoDB::Table"]'), 'no DynamoDB table node "orders" inferred from the client span');
  const edges = await page.$$eval('.edge', (els) => els.map((e) => `${e.dataset.from}>${e.dataset.to}`));
  check(edges.includes('checkout-otel>orders'), `no edge checkout-otel → orders: ${edges}`);
  check(edges.some((e) => e.startsWith('checkout-otel>payments')), `no edge checkout-otel → payments.internal: ${edges}`);
  await shot('map-otel.png', 'the map with the OTel-sourced checkout-otel service, its DynamoDB table, SQS queue and payments host, beside the seed');

  // --------------------------------------------------------------- list
  step = 'list filtered on the OTel service';
  await page.goto(`${base}/traces?last=1h&filter=${encodeURIComponent('service("checkout-otel")')}`);
  await page.waitForSelector('table.traces tbody tr td a');
  const listed = await page.$$eval('table.traces tbody tr td a', (as) => as.map((a) => a.textContent));
  check(listed.includes(traceId), `the OTel trace ${traceId} is not listed: ${listed}`);
  const entries = await page.$$eval('table.traces tbody tr td:nth-child(7)', (tds) => tds.map((t) => t.textContent));
  check(entries.every((e) => e.includes('checkout-otel')), `entry points: ${entries}`);

  // -------------------------------------------------------------- trace
  step = 'trace page: span kinds';
  await Promise.all([page.waitForURL(/\/traces\/1-/), page.click(`table.traces tbody tr td a:text-is("${traceId}")`)]);
  await page.waitForSelector('.tl-row[data-kind]');
  const kinds = await page.$$eval('.tl-row', (els) => els.map((e) => [e.dataset.name, e.dataset.kind, e.querySelector('.kind-badge')?.textContent]));
  log('rows', JSON.stringify(kinds));
  const shown = new Set(kinds.map(([, , badge]) => badge).filter(Boolean));
  for (const k of ['server', 'internal', 'client', 'producer']) check(shown.has(k), `no "${k}" badge on the timeline: ${JSON.stringify(kinds)}`);
  check(kinds.every(([, kind, badge]) => !kind || kind === badge), 'a badge does not match its row’s kind');
  check((await page.$$('.mini-map .node')).length >= 3, 'no trace map');
  check(await page.$('.tl-row[data-kind="client"][data-status="fault"]'), 'the failing payments call is not marked as a fault');

  step = 'trace page: span details';
  await page.click('.tl-row[data-kind="server"]');
  await page.waitForSelector('.segment-details');
  const overview = await page.textContent('.segment-details');
  check(overview.includes('Span kind') && overview.includes('Server'), 'the overview does not give the span kind');
  await page.click('.segment-details .tab:has-text("OpenTelemetry")');
  await page.waitForSelector('table[aria-label="Span attributes"]');
  const attrs = await attrTable('Span attributes');
  log('span attributes', JSON.stringify(attrs));
  check(attrs['customer.id'] === 'c-1042', `customer.id: ${attrs['customer.id']}`);
  check(attrs['http.request.method'] === 'POST', `http.request.method: ${attrs['http.request.method']}`);
  check(attrs['http.response.status_code'] === '200', `http.response.status_code: ${attrs['http.response.status_code']}`);
  check(attrs['cart.express'] === 'true' && attrs['cart.total'] === '129.5', `typed values: ${JSON.stringify(attrs)}`);
  check(/sku-1.*sku-7/s.test(attrs['cart.skus'] ?? ''), `array value: ${attrs['cart.skus']}`);
  const res = await attrTable('Resource attributes');
  check(res['service.name'] === 'checkout-otel' && res['deployment.environment.name'] === 'staging', `resource attributes: ${JSON.stringify(res)}`);
  const details = await page.textContent('.otel-details');
  check(details.includes('github.com/acme/checkout/http') && details.includes('1.2.0'), 'no instrumentation scope');
  check((await attrTable('Scope attributes'))['library.tier'] === 'edge', 'no scope attributes');
  const events = await page.$$eval('table.otel-events > tbody > tr', (rows) => rows.map((r) => r.textContent));
  check(events.length === 1 && events[0].includes('+12 ms') && events[0].includes('cart validated'), `events: ${events}`);
  // links: the stored worker trace is a link, the other one is not
  await page.waitForSelector(`table.otel-links a[href^="/traces/${linkedId}"]`);
  const links = await page.$$eval('table.otel-links > tbody > tr', (rows) => rows.map((r) => [r.dataset.trace, !!r.querySelector('a'), r.textContent]));
  log('links', JSON.stringify(links));
  check(links.length === 2, `want 2 links, got ${links.length}`);
  check(links[1][1] === false && links[1][2].includes('not stored'), `the link to a trace not stored should say so: ${links[1]}`);
  check(links[0][2].includes('order fulfilment'), 'the link’s attributes are not shown');
  await page.locator('.details-side').evaluate((el) => el.scrollIntoView());
  await shot('trace-otel.png', 'an OTel trace: span kind badges (server, internal, client, producer) on the timeline, the server span selected with its attributes');
  await page.locator('table[aria-label="Resource attributes"]').scrollIntoViewIfNeeded();
  await shot('trace-otel-details.png', 'the server span’s OpenTelemetry tab scrolled down: events with relative times, links (one clickable, one not stored), scope and resource attributes');

  step = 'trace page: exception event';
  await page.click('.tl-row[data-kind="client"][data-status="fault"]');
  await page.click('.segment-details .tab:has-text("Exceptions")');
  await page.waitForSelector('.exception:has-text("PaymentUnavailable")');
  const exc = await page.textContent('.segment-details');
  check(exc.includes('payments answered 503') && exc.includes('charge'), `exception or stack missing: ${exc}`);
  await shot('trace-otel-exception.png', 'the failing payments call: its exception event as an X-Ray exception with its stack');

  step = 'trace page: follow a link';
  await page.click('.tl-row[data-kind="server"]');
  await page.click('.segment-details .tab:has-text("OpenTelemetry")');
  await Promise.all([page.waitForURL(new RegExp(`/traces/${linkedId}`)), page.click(`table.otel-links a[href^="/traces/${linkedId}"]`)]);
  await page.waitForSelector('.tl-row[data-kind="consumer"] .kind-badge:text-is("consumer")');
  check(new URL(page.url()).searchParams.get('sel'), 'the linked span is not selected');
  await page.waitForSelector('.segment-details');

  step = 'X-Ray SDK trace unchanged';
  await page.goto(`${base}/traces?last=1h&filter=${encodeURIComponent('service("xraystarter-go")')}`);
  await page.waitForSelector('table.traces tbody tr td a');
  await Promise.all([page.waitForURL(/\/traces\/1-/), page.click('table.traces tbody tr td a')]);
  await page.waitForSelector('.tl-row');
  check((await page.$$('.kind-badge')).length === 0, 'an X-Ray SDK trace shows span kind badges');
  await page.click('.tl-row');
  await page.waitForSelector('.segment-details');
  check(!(await page.$('.segment-details .tab:has-text("OpenTelemetry")')), 'an X-Ray SDK segment has an OpenTelemetry tab');

  step = 'dark mode';
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${base}/traces/${traceId}`);
  await page.click('.tl-row[data-kind="server"]');
  await page.click('.segment-details .tab:has-text("OpenTelemetry")');
  await page.waitForSelector('table[aria-label="Span attributes"]');
  await shot('trace-otel-dark.png', 'dark mode: the OTel trace with its kind badges and the server span’s attributes');
  await page.emulateMedia({ colorScheme: 'light' });

  check(problems.length === 0, problems.join('\n'));
  log('all OTel console checks passed');
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    await page.screenshot({ path: join(artifacts, 'failure-otel.png') });
    console.error(`page at the failure: ${join(artifacts, 'failure-otel.png')} (${page.url()})`);
  } catch {
    /* the browser is gone */
  }
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

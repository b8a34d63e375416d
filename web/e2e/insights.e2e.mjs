// Browser test of the console's Insights pages, driven by
// internal/console/e2e_test.go after it created the group "shop" with
// Insights on and sent checkout → payments traffic with two fault bursts
// in payments: one insight CLOSED (the earlier burst), one ACTIVE (the
// last 5 minutes), both naming payments as root cause.
//
//   BASE_URL=http://127.0.0.1:2000 CHROMIUM=/usr/bin/chromium ARTIFACTS=../artifacts/console node e2e/insights.e2e.mjs
//
// Exit status 0 when every check passed; on failure the page at that
// moment is saved as failure-insights.png.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = (process.env.BASE_URL ?? 'http://127.0.0.1:2000').replace(/\/$/, '');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const artifacts = process.env.ARTIFACTS ?? 'artifacts';
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
  if (/404 \(Not Found\)/.test(m.text())) return;
  problems.push(`console error during "${step}": ${m.text()}`);
});
page.on('request', (r) => {
  if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
});

const shot = async (name, what) => {
  await page.screenshot({ path: join(artifacts, name) });
  log(`screenshot ${name}: ${what}`);
};

try {
  step = 'insights list (nav link)';
  await page.goto(`${base}/map?last=3h`);
  await page.click('nav a:has-text("Insights")');
  await page.waitForURL(/\/insights\?last=3h$/);
  await page.waitForSelector('tr[data-insight]');
  const rows = await page.$$eval('tr[data-insight]', (els) =>
    els.map((e) => ({ id: e.dataset.insight, state: e.dataset.state, root: e.querySelector('a.root-cause')?.textContent, text: e.textContent })),
  );
  log('insights', JSON.stringify(rows.map(({ state, root }) => [state, root])));
  check(rows.length === 2, `want 2 insights (one ACTIVE, one CLOSED), got ${rows.length}`);
  check(rows[0].state === 'ACTIVE' && rows[1].state === 'CLOSED', `want the ACTIVE one first, then the CLOSED one: ${rows.map((r) => r.state)}`);
  for (const r of rows) {
    check(/^payments\b/.test(r.root ?? ''), `root cause should be payments, got ${r.root}`);
    check(/shop/.test(r.text) && /FAULT/.test(r.text), `row lacks group or category: ${r.text}`);
    check(/checkout/.test(r.text), `checkout (propagated faults) should be among the top anomalous services: ${r.text}`);
  }
  check(/20\/20 faults/.test(rows[0].text), `the active insight's client impact should be 20/20 faults: ${rows[0].text}`);
  check(/ongoing/.test(rows[0].text) && !/ongoing/.test(rows[1].text), 'the active insight is ongoing, the closed one has an end');
  await shot('insights.png', 'insights of group shop: one ACTIVE, one CLOSED, root cause payments');

  step = 'insights list: state and group filters';
  await page.selectOption('select:near(:text("State"))', 'CLOSED');
  await page.waitForURL(/state=CLOSED/);
  await page.waitForFunction(() => document.querySelectorAll('tr[data-insight]').length === 1 && document.querySelector('tr[data-insight]').dataset.state === 'CLOSED');
  await page.goto(`${base}/insights?last=3h&group=shop`);
  await page.waitForFunction(() => document.querySelectorAll('tr[data-insight]').length === 2);
  await page.selectOption('.group-select select', 'Default');
  await page.waitForURL(/group=Default/);
  await page.waitForSelector('.empty:has-text("Insights are on for: shop")');
  await page.goto(`${base}/insights?last=3h&group=shop`);
  await page.waitForFunction(() => document.querySelectorAll('tr[data-insight]').length === 2);

  step = 'insight detail';
  await page.click(`tr[data-insight="${rows[0].id}"] a.root-cause`);
  await page.waitForURL(new RegExp(`/insights/${rows[0].id}$`));
  await page.waitForSelector('.insight-page h1 .root-cause');
  const title = await page.textContent('.insight-page h1');
  check(/payments/.test(title), `detail title should name payments: ${title}`);
  check((await page.textContent('.insight-head .badge')) === 'ACTIVE', 'detail state chip is not ACTIVE');
  await page.waitForSelector('.insight-event');
  const events = await page.$$eval('.insight-event', (els) => els.map((e) => e.textContent));
  check(events.length >= 1 && /Insight opened/.test(events.at(-1)), `the first event should open the insight: ${events}`);
  await page.waitForSelector('.insight-graph .node[data-name="payments"]');
  const nodes = await page.$$eval('.insight-graph .node', (els) => els.map((e) => e.dataset.name));
  check(nodes.includes('checkout'), `impact graph lacks checkout: ${nodes}`);
  check(await page.$('.insight-graph .node.selected[data-name="payments"]'), 'the root cause is not selected on the impact graph');
  const role = await page.textContent('.impact-nodes tr[data-name="payments"]');
  check(/root cause/.test(role), `impact node list does not mark payments as root cause: ${role}`);
  await shot('insight-detail.png', 'the active insight: root cause payments, impact, events, impact graph checkout → payments');

  step = 'closed insight detail';
  await page.goto(`${base}/insights/${rows[1].id}`);
  await page.waitForSelector('.insight-event');
  const closedEvents = await page.$$eval('.insight-event', (els) => els.map((e) => e.textContent));
  check(/Insight closed/.test(closedEvents[0]) && /Insight opened/.test(closedEvents.at(-1)), `closed insight events, most recent first: ${closedEvents}`);

  step = 'root cause → map';
  await page.goto(`${base}/insights/${rows[0].id}`);
  await page.click('a:has-text("Show on the map")');
  await page.waitForURL(/\/map\?/);
  check(/group=shop/.test(page.url()), `the map link should keep the group: ${page.url()}`);
  await page.waitForSelector('.map-area .node.selected[data-name="payments"]');
  await page.waitForSelector('.side .panel h2:has-text("payments")');

  step = 'root cause → traces';
  await page.goto(`${base}/insights/${rows[0].id}`);
  await page.click('a:has-text("Faulting traces")');
  await page.waitForURL(/\/traces\?/);
  const filter = new URL(page.url()).searchParams.get('filter');
  check(/service\(id\(name: "payments"/.test(filter ?? '') && /fault/.test(filter ?? ''), `traces link filter: ${filter}`);

  step = 'unknown insight';
  await page.goto(`${base}/insights/00000000-0000-4000-8000-000000000000`);
  await page.waitForSelector('.error-box');
  problems.splice(0, problems.length, ...problems.filter((p) => !/400 \(Bad Request\)/.test(p)));

  check(problems.length === 0, problems.join('\n'));
  log('all insights console checks passed');
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    await page.screenshot({ path: join(artifacts, 'failure-insights.png') });
    console.error(`page at the failure: ${join(artifacts, 'failure-insights.png')} (${page.url()})`);
  } catch {
    /* the browser is gone */
  }
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

// Browser test of the console, driven by internal/console/e2e_test.go: a
// Counterspy server loaded with the seed scenario runs at BASE_URL; this
// script drives Debian's Chromium through playwright-core and writes a
// screenshot of every page it checks into ARTIFACTS.
//
//   BASE_URL=http://127.0.0.1:2000 CHROMIUM=/usr/bin/chromium ARTIFACTS=../artifacts/console node e2e/console.e2e.mjs
//
// Exit status 0 when every check passed; on failure the page at that
// moment is saved as failure.png.
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

async function api(path, body) {
  const res = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** Counterspy's whole-window aggregate. */
async function traceStats(start, end, filter) {
  const q = new URLSearchParams({ start: String(start), end: String(end), period: '60' });
  if (filter) q.set('filter', filter);
  const res = await fetch(`${base}/counterspy/v1/trace-stats?${q}`);
  check(res.ok, `trace-stats ${filter}: ${res.status}`);
  return res.json();
}

/** Every summary the API returns for a filter over the window (all pages). */
async function allSummaries(start, end, filter) {
  const out = [];
  let token;
  do {
    const r = await api('/TraceSummaries', { StartTime: start, EndTime: end, FilterExpression: filter, NextToken: token });
    check(r.status === 200, `GetTraceSummaries ${filter}: ${JSON.stringify(r.body)}`);
    out.push(...(r.body.TraceSummaries ?? []));
    token = r.body.NextToken;
  } while (token);
  return out;
}

const profile = mkdtempSync(join(tmpdir(), 'counterspy-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
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
  // the logs endpoint may be absent (404); a broken filter is a 400 on purpose
  if (/404 \(Not Found\)/.test(m.text())) return;
  if (step === 'broken filter expression' && /400 \(Bad Request\)/.test(m.text())) return;
  problems.push(`console error during "${step}": ${m.text()}`);
});
page.on('requestfailed', (r) => {
  if (!/aborted/i.test(r.failure()?.errorText ?? '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
});
// offline: nothing but the server itself may be asked for anything
page.on('request', (r) => {
  if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
});

const shot = async (name, what) => {
  await page.screenshot({ path: join(artifacts, name) });
  log(`screenshot ${name}: ${what}`);
};

try {
  // ---------------------------------------------------------------- map
  step = 'service map';
  await page.goto(`${base}/map?last=1h`);
  await page.waitForSelector('.node[data-type="AWS::Lambda::Function"]');
  const fns = await page.$$eval('.node[data-type="AWS::Lambda::Function"]', (els) => els.map((e) => [e.dataset.name, e.dataset.health]));
  log('Lambda function nodes', JSON.stringify(fns));
  const fnNames = fns.map(([n]) => n).sort();
  check(JSON.stringify(fnNames) === JSON.stringify(['xraystarter-go', 'xraystarter-py', 'xraystarter-ts']), `want the three Lambda functions, got ${fnNames}`);
  for (const [name, h] of fns) {
    if (name === 'xraystarter-py') check(h === 'fault', `xraystarter-py should be shown as failing, health ${h}`);
    else check(h === 'ok', `${name} should be healthy, health ${h}`);
  }
  check((await page.$$('.node[data-type="AWS::Lambda"]')).length === 3, 'want the three AWS::Lambda service nodes');
  const table = await page.$('.node[data-name="items"][data-type="AWS::DynamoDB::Table"]');
  check(table, 'no node for the DynamoDB table "items"');
  // the failing share is drawn in red on the ring
  const redArc = await page.$('.node[data-name="xraystarter-py"][data-type="AWS::Lambda::Function"] circle[stroke="#d13212"]');
  check(redArc, 'the Python function has no red (fault) arc');
  const edges = await page.$$eval('.edge', (els) => els.map((e) => `${e.dataset.from}>${e.dataset.to}`));
  for (const fn of ['xraystarter-go', 'xraystarter-py', 'xraystarter-ts']) check(edges.includes(`${fn}>items`), `no edge ${fn} → items (${edges})`);
  await shot('map.png', 'service map of the seed: clients → 3 Lambda services → 3 functions → items table; xraystarter-py function ringed red');

  step = 'service map: node statistics (keyboard)';
  await page.focus('.node[data-name="xraystarter-py"][data-type="AWS::Lambda::Function"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.side .panel h2:has-text("xraystarter-py")');
  const statsText = await page.textContent('.side .panel');
  check(/Faults \(5xx\)/.test(statsText), 'node panel has no fault count');
  check(/sel=n%3AAWS%3A%3ALambda%3A%3AFunction%7Cxraystarter-py|sel=n:AWS::Lambda::Function\|xraystarter-py/.test(page.url()), `selection not in the URL: ${page.url()}`);
  check(await page.$('.side .histogram svg rect.bar'), 'node panel has no response-time histogram');
  await page.waitForSelector('.side .timeseries svg rect.seg.fault');
  check((await page.$$('.side .timeseries svg path.lat.p99')).length === 1, 'node panel has no p99 latency line');
  await shot('map-node.png', 'xraystarter-py function selected with the keyboard: request counts by outcome, requests/faults and p50/p90/p99 per minute, response-time histogram, links to its traces');

  step = 'service map: drag on the time series';
  {
    const b = await page.locator('.side .timeseries svg').boundingBox();
    await page.mouse.move(b.x + b.width * 0.55, b.y + 30);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.95, b.y + 30, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/start=.*end=/);
    const u = new URL(page.url()).searchParams;
    const span = (Date.parse(u.get('end')) - Date.parse(u.get('start'))) / 1000;
    log(`dragged map window: ${u.get('start')} – ${u.get('end')} (${span} s)`);
    check(span > 0 && span < 3600, `dragging should narrow the window, got ${span} s`);
    check(u.get('sel'), 'the selection was lost when the window changed');
    await page.waitForSelector('.side .timeseries svg');
    await page.goBack();
    await page.waitForSelector('.side .timeseries svg rect.seg');
  }

  step = 'service map: view faults';
  await Promise.all([page.waitForURL(/\/traces\?/), page.click('.side a.button:has-text("Faults")')]);
  await page.waitForSelector('table.traces tbody tr');
  await page.waitForFunction(() => !document.querySelector('.analytics-head')?.textContent?.includes('Loading'));
  const fromMap = await page.$$eval('table.traces tbody tr', (rows) => rows.map((r) => r.dataset.status));
  check(fromMap.length > 0 && fromMap.every((s) => s === 'fault'), `"Faults" from the map should list failing traces only: ${fromMap}`);
  check((await page.inputValue('#filter-input')).includes('service(id(name: "xraystarter-py", type: "AWS::Lambda::Function")) { fault }'), 'filter from the map not shown in the bar');

  // ------------------------------------------------------------- traces
  step = 'traces: autocompletion';
  await page.goto(`${base}/traces?last=1h`);
  await page.waitForSelector('table.traces tbody tr');
  const allRows = await page.$$eval('table.traces tbody tr', (rows) => rows.map((r) => r.dataset.status));
  check(new Set(allRows).size >= 1, 'no traces listed');
  await page.keyboard.press('/'); // focuses the filter bar
  check(await page.evaluate(() => document.activeElement?.id === 'filter-input'), '"/" does not focus the filter bar');
  await page.keyboard.type('serv');
  await page.waitForSelector('#filter-options li[aria-selected="true"]:has-text("service()")');
  await page.keyboard.press('Tab'); // accepts service(""), caret between the quotes
  check((await page.inputValue('#filter-input')) === 'service("")', `Tab should insert service(""), got ${await page.inputValue('#filter-input')}`);
  await page.keyboard.type('xr');
  await page.waitForSelector('#filter-options li:has-text("xraystarter-py")');
  const offered = await page.$$eval('#filter-options li .label', (els) => els.map((e) => e.textContent));
  check(['xraystarter-go', 'xraystarter-py', 'xraystarter-ts'].every((s) => offered.includes(s)), `service names not offered: ${offered}`);
  await shot('traces-autocomplete.png', 'filter bar completing service names inside service("xr…")');
  await page.keyboard.press('ArrowDown'); // xraystarter-go → xraystarter-py
  await page.keyboard.press('Enter');
  check((await page.inputValue('#filter-input')) === 'service("xraystarter-py")', `accepting a service gave ${await page.inputValue('#filter-input')}`);
  await page.keyboard.press('End');
  await page.keyboard.type(' { fa');
  await page.waitForSelector('#filter-options li[aria-selected="true"]:has-text("fault")');
  await page.keyboard.type('ult }');
  check((await page.inputValue('#filter-input')) === 'service("xraystarter-py") { fault }', `typed expression is ${await page.inputValue('#filter-input')}`);

  step = 'traces: only failing traces';
  await page.keyboard.press('Enter');
  await page.waitForURL(/filter=/);
  await page.waitForFunction(() => !document.querySelector('.analytics-head')?.textContent?.includes('Loading'));
  await page.waitForSelector('table.traces tbody tr');
  // The rows of the unfiltered list can still be on screen for a moment
  // (and then none while the new page loads): wait for the filtered rows,
  // and if they never come, let the checks below say what is shown.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table.traces tbody tr')];
    return rows.length > 0 && rows.every((r) => r.dataset.status === 'fault');
  }, null, { timeout: 10000 }).catch(() => {});
  const win = await page.evaluate(() => {
    const t = Math.ceil(Date.now() / 1000);
    return [t - 3600, t];
  });
  const want = await allSummaries(win[0], win[1], 'service("xraystarter-py") { fault }');
  const statuses = await page.$$eval('table.traces tbody tr', (rows) => rows.map((r) => r.dataset.status));
  const entries = await page.$$eval('table.traces tbody tr td:nth-child(7)', (tds) => tds.map((t) => t.textContent));
  log(`filter lists ${statuses.length} rows on the first page; the API has ${want.length} matching traces`);
  check(statuses.length > 0 && statuses.every((s) => s === 'fault'), `rows that are not faults: ${statuses}`);
  check(entries.every((e) => e.includes('xraystarter-py')), `entry points other than xraystarter-py: ${entries}`);
  const loaded = await page.textContent('.analytics:has(.histogram) .analytics-head');
  check(loaded.includes(`${want.length.toLocaleString('en-US')} listed`), `page says "${loaded}", the API has ${want.length}`);
  await shot('traces-filtered.png', 'service("xraystarter-py") { fault }: only failing traces, all entering at xraystarter-py, with their response-time histogram');

  step = 'traces: deep link';
  await page.reload();
  await page.waitForSelector('table.traces tbody tr');
  check((await page.inputValue('#filter-input')) === 'service("xraystarter-py") { fault }', 'the filter did not survive a reload');

  step = 'traces: the fault hint';
  // The README's first question: `fault` sees only entry points, and the
  // seed's entry points (AWS::Lambda) answer 202 while the Python function
  // fails below them.
  await page.goto(`${base}/traces?last=1h&filter=fault`);
  await page.waitForSelector('.fault-hint');
  const hint = await page.textContent('.fault-hint');
  log(`hint: ${hint.replace(/\s+/g, ' ')}`);
  check(hint.includes('xraystarter-py'), `the hint does not name the failing service: ${hint}`);
  await shot('traces-fault-hint.png', '`fault` matches nothing: the console says the faults are below the entry point and offers service() { fault }');
  await Promise.all([page.waitForURL(/filter=service/), page.click('.fault-hint a[data-filter="service() { fault }"]')]);
  await page.waitForSelector('table.traces tbody tr');
  const deep = await page.$$eval('table.traces tbody tr', (rows) => rows.map((r) => r.dataset.status));
  check(deep.length > 0 && deep.every((s) => s === 'fault'), `service() { fault } should list faults only: ${deep}`);

  step = 'traces: root-cause message in the list';
  const causes = await page.$$eval('table.traces tbody tr td.rootcause', (tds) => tds.map((t) => t.textContent));
  check(
    causes.length > 0 && causes.every((c) => c === "Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"),
    `root-cause column: ${causes.slice(0, 3)}`,
  );
  await shot('traces-rootcause.png', 'service() { fault }: every failing trace with its root cause, exception type and message');

  step = 'traces: time series over the window';
  await page.waitForSelector('.analytics .timeseries svg rect.seg.fault');
  {
    const w = await page.evaluate(() => {
      const t = Math.ceil(Date.now() / 1000);
      return [t - 3600, t];
    });
    const st = await traceStats(w[0], w[1], 'service() { fault }');
    const badge = await page.textContent('.results-head .badge.fault');
    check(badge === `${st.fault.toLocaleString('en-US')} fault`, `fault badge "${badge}", the server counts ${st.fault}`);
    check((await page.$$('.analytics .timeseries svg path.lat')).length === 3, 'no p50/p90/p99 lines');
  }
  await shot('traces-timeseries.png', 'the trace list of service() { fault }: requests and faults per minute with p50/p90/p99 latency above the histogram');

  step = 'traces: drag on the time series';
  {
    await page.goto(`${base}/traces?last=1h`);
    await page.waitForSelector('.analytics .timeseries svg rect.seg');
    const b = await page.locator('.analytics .timeseries svg').boundingBox();
    await page.mouse.move(b.x + b.width * 0.7, b.y + 40);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.9, b.y + 40, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL(/start=.*end=/);
    const u = new URL(page.url()).searchParams;
    const span = (Date.parse(u.get('end')) - Date.parse(u.get('start'))) / 1000;
    check(span >= 60 && span < 3600, `dragging should narrow the window, got ${span} s`);
    await page.waitForFunction(() => !document.querySelector('.analytics-head')?.textContent?.includes('Loading'));
    await page.waitForSelector('.analytics .timeseries svg rect.seg');
    await shot('traces-zoomed.png', `the trace list after dragging across its chart: the window is ${span} s`);
  }

  step = 'traces: histogram narrows the list';
  await page.goto(`${base}/traces?last=1h`);
  await page.waitForSelector('table.traces tbody tr');
  await page.waitForFunction(() => !document.querySelector('.analytics-head')?.textContent?.includes('Loading'));
  const before = await page.textContent('.pager span');
  const box = await page.locator('.analytics .histogram svg').boundingBox();
  await page.mouse.move(box.x + 60, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + 60 + (box.width - 60) * 0.15, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/rt=/);
  const after = await page.textContent('.pager span');
  const rt = new URL(page.url()).searchParams.get('rt').split('-').map(Number);
  const shownRt = await page.$$eval('table.traces tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent));
  log(`histogram range ${rt} s: "${before}" → "${after}"`);
  check(before !== after, 'dragging on the histogram did not narrow the list');
  const ms = (s) => (s.endsWith(' ms') ? parseFloat(s) / 1000 : s.endsWith(' µs') ? parseFloat(s) / 1e6 : parseFloat(s));
  check(shownRt.every((s) => ms(s) >= rt[0] - 1e-3 && ms(s) <= rt[1] + 1e-3), `rows outside ${rt}: ${shownRt}`);
  await shot('traces-histogram.png', 'a response-time range dragged on the histogram, the table narrowed to it');

  step = 'traces: sorting and paging';
  await page.click('button.sort[data-sort="rt"]');
  await page.waitForURL(/sort=-rt/);
  const sorted = (await page.$$eval('table.traces tbody tr td:nth-child(3)', (tds) => tds.map((t) => t.textContent))).map(ms);
  check(sorted.every((v, i) => i === 0 || sorted[i - 1] >= v), `not sorted by response time, descending: ${sorted}`);
  const pagerText = await page.textContent('.pager span');
  if (!(await page.isDisabled('.pager button[aria-label="Next page"]'))) {
    await page.click('.pager button[aria-label="Next page"]');
    await page.waitForURL(/page=2/);
    check((await page.textContent('.pager span')) !== pagerText, 'Next page did not change the page');
  }

  // -------------------------------------------------------------- trace
  step = 'trace detail';
  await page.goto(`${base}/traces?last=1h&filter=${encodeURIComponent('service("xraystarter-py") { fault }')}`);
  await page.waitForSelector('table.traces tbody tr td a');
  const traceId = await page.textContent('table.traces tbody tr td a');
  await Promise.all([page.waitForURL(/\/traces\/1-/), page.click('table.traces tbody tr td a')]);
  await page.waitForSelector('.tl-row');
  const phases = await page.$$eval('.tl-row[data-phase]', (els) => els.map((e) => e.dataset.phase));
  log(`trace ${traceId}: Lambda phases ${phases}`);
  check(phases.includes('Dwell Time'), 'no Dwell Time bar');
  check(phases.includes('Invocation'), 'no Invocation bar');
  check(phases.includes('Attempt #1'), 'no Attempt #1 bar');
  const faultRow = await page.$('.tl-group[data-type="AWS::Lambda::Function"] .tl-row[data-status="fault"]');
  check(faultRow, 'the failing function segment is not marked as a fault');
  check((await page.$$('.mini-map .node')).length >= 2, 'no trace map');
  await page.click('.tl-row[data-phase="Invocation"]');
  await page.waitForSelector('.segment-details h2:has-text("Invocation")');
  const rc = await page.textContent('.rootcauses');
  check(rc.includes("Runtime.ImportModuleError: Unable to import module 'lambda_function'"), `no root-cause message atop the trace: ${rc}`);
  await shot('trace.png', 'a failing xraystarter-py trace: the root cause (exception and message) on top, its map, the timeline with Dwell Time, Attempt #1, Invocation, Overhead (and Initialization on cold starts), the fault marked; Invocation selected');

  step = 'trace detail: exception';
  await faultRow.click();
  await page.click('.segment-details .tab:has-text("Exceptions")');
  await page.waitForSelector('.exception:has-text("Runtime.ImportModuleError")');
  await shot('trace-exception.png', 'the function segment selected: its Runtime.ImportModuleError exception');

  step = 'trace detail: keyboard';
  await page.focus('.tl-row');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  check(/sel=/.test(page.url()), 'Enter on a timeline row did not select it');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !location.search.includes('sel='));

  step = 'trace detail: raw documents';
  await page.click('.tabs .tab:has-text("Raw data")');
  await page.waitForSelector('.raw-doc pre');
  const raw = await page.textContent('#panel-raw');
  check(raw.includes('"origin": "AWS::Lambda::Function"') && raw.includes('"name": "Dwell Time"'), 'raw documents missing');
  await shot('trace-raw.png', 'the raw segment documents of the trace, as BatchGetTraces returns them');

  step = 'trace detail: logs';
  // the log lines the Lambda emulator would post for this invocation
  const t0 = Date.now() - 60_000;
  const line = (ms, stream, message) => ({
    time: new Date(t0 + ms).toISOString(),
    function: 'xraystarter-py',
    logGroup: '/aws/lambda/xraystarter-py',
    logStream: '2026/11/20/[$LATEST]0123456789abcdef0123456789abcdef',
    requestId: '8e2f3c1a-4b5d-4e6f-8a9b-0c1d2e3f4a5b',
    traceId,
    stream,
    message,
  });
  const posted = await fetch(`${base}/counterspy/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([
      line(0, 'platform', 'START RequestId: 8e2f3c1a-4b5d-4e6f-8a9b-0c1d2e3f4a5b Version: $LATEST'),
      line(2, 'stderr', "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'aws_xray_sdk'"),
      line(3, 'platform', 'END RequestId: 8e2f3c1a-4b5d-4e6f-8a9b-0c1d2e3f4a5b'),
    ]),
  });
  await page.click('.tabs .tab:has-text("Logs")');
  await page.waitForSelector('#panel-logs :is(table, p, .error-box)');
  if (posted.ok) {
    await page.waitForSelector('#panel-logs table.logs tr.stderr:has-text("Runtime.ImportModuleError")');
    check((await page.$$('#panel-logs table.logs tbody tr')).length === 3, 'want the 3 posted log lines');
  } else {
    log(`POST /counterspy/v1/logs answered ${posted.status}: the server keeps no logs; checking the note only`);
    check((await page.textContent('#panel-logs')).includes('keeps no function logs'), 'no note about missing logs');
  }
  await shot('trace-logs.png', "the trace's function log lines: START, the import error on stderr, END");

  // ------------------------------------------------------ broken filter
  step = 'broken filter expression';
  const broken = 'service("xraystarter-py") { fault';
  const expected = await api('/TraceSummaries', { StartTime: win[0], EndTime: win[1], FilterExpression: broken });
  check(expected.status === 400, `the API accepted ${broken}`);
  const col = Number(/column (\d+)/.exec(expected.body.message)[1]);
  await page.goto(`${base}/traces?last=1h`);
  await page.waitForSelector('table.traces tbody tr');
  await page.fill('#filter-input', broken);
  await page.press('#filter-input', 'Escape');
  await page.press('#filter-input', 'Enter');
  await page.waitForSelector('#filter-error');
  const errText = await page.textContent('#filter-error');
  log(`error shown: ${errText.replace(/\s+/g, ' ')}`);
  check(errText.includes(`Column ${col}:`), `error does not name column ${col}: ${errText}`);
  check(errText.includes('expected "}"'), `error does not say what was expected: ${errText}`);
  const caret = await page.$eval('#filter-input', (el) => el.selectionStart);
  check(caret === col - 1, `caret at ${caret}, want ${col - 1} (column ${col})`);
  check((await page.getAttribute('#filter-input', 'aria-invalid')) === 'true', 'the input is not marked invalid');
  await shot('traces-error.png', `a broken expression: the server's message shown with a caret under column ${col}`);

  // ------------------------------------------------------ 7-day window
  step = 'a 7-day window';
  {
    await page.goto(`${base}/traces?last=7d`);
    await page.waitForSelector('table.traces tbody tr');
    await page.waitForFunction(() => !document.querySelector('.analytics-head')?.textContent?.includes('Loading'));
    await page.waitForSelector('.analytics .timeseries svg rect.seg');
    check((await page.inputValue('select[aria-label="Time range"]')) === '7d', 'the picker does not show 7 days');
    const w = await page.evaluate(() => {
      const t = Math.ceil(Date.now() / 1000);
      return [t - 7 * 86400, t];
    });
    const st = await traceStats(w[0], w[1], '');
    const counts = await page.$$eval('.results-head .badge', (els) => els.map((e) => parseInt(e.textContent.replace(/,/g, ''), 10)));
    const shown = counts.reduce((a, b) => a + b, 0);
    const listed = await page.textContent('.analytics:has(.histogram) .analytics-head');
    log(`7 days: server counts ${st.traces} traces (complete ${st.complete}), badges ${counts}; ${listed}`);
    check(st.traces > 1000 && shown === st.traces, `the counts should cover the whole window (${st.traces}), not the loaded traces: ${counts}`);
    // X-Ray answers a day per call: the list goes past the newest day.
    const days = await page.$$eval('table.traces tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.getAttribute('title')?.slice(0, 10)));
    await page.click('button.sort[data-sort="start"]'); // oldest first
    // The list pages through the days one call at a time: wait until the
    // older days have arrived at the top (or let the check below say so).
    await page
      .waitForFunction(
        () => {
          const td = document.querySelector('table.traces tbody tr td:nth-child(2)');
          return Date.now() - Date.parse((td?.getAttribute('title') ?? '').replace(' ', 'T') + 'Z') > 48 * 3600e3;
        },
        null,
        { timeout: 20000 },
      )
      .catch(() => {});
    const oldest = await page.getAttribute('table.traces tbody tr td:nth-child(2)', 'title');
    log(`newest rows from ${days[0]}, oldest loaded row ${oldest}`);
    check(Date.now() - Date.parse(oldest.replace(' ', 'T') + 'Z') > 48 * 3600e3, `no trace older than a day in the 7-day list: oldest ${oldest}`);
    await shot('traces-7d.png', 'the last 7 days: the chart shows both bands (three days ago and now), counts of the whole window');

    await page.goto(`${base}/map?last=7d`);
    await page.waitForSelector('.node[data-type="AWS::Lambda::Function"]');
    const graph = await page.$$eval('.node', (els) => els.length);
    check(graph >= 7, `the 7-day map has ${graph} nodes`);
    await shot('map-7d.png', 'the service map over 7 days (seven GetServiceGraph calls of a day, merged)');
  }

  // ------------------------------------------------------------- profile
  step = 'profile from the map';
  {
    await page.goto(`${base}/map?last=1h&sel=${encodeURIComponent('n:AWS::Lambda|xraystarter-go')}`);
    await page.waitForSelector('.side .panel a:has-text("Profile")');
    await Promise.all([page.waitForURL(/\/profile\?/), page.click('.side .panel a:has-text("Profile")')]);
    await page.waitForSelector('.icicle .icicle-cell');
    const labels = await page.$$eval('.icicle-cell', (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    for (const part of ['DynamoDB items PutItem', 'Overhead', 'Dwell Time', 'Invocation']) {
      check(labels.some((l) => l.includes(part)), `the icicle has no ${part} part: ${labels.join(' | ')}`);
    }
    const rows = await page.$$eval('table.profile-table tbody tr td:first-child', (els) => els.map((e) => e.textContent ?? ''));
    check(rows.some((r) => r.endsWith('Initialization')), `no Initialization row (the first upload is a cold start): ${rows}`);
    await page.hover('.icicle-cell[aria-label*="DynamoDB items PutItem"]');
    await shot('profile.png', 'profile of xraystarter-go: icicle of Dwell Time, Attempt, the function segment, Initialization, Invocation › DynamoDB, Overhead; parts ranked by self time');
    await page.click('.icicle-cell[aria-label*="DynamoDB items PutItem"]');
    await page.waitForSelector('.profile-selected pre');
    check(/self p50 .* p99/.test(await page.textContent('.profile-selected pre')), 'the selected part shows no percentiles');

    step = 'profile: example traces of a part';
    // The DynamoDB call's slowest bucket: the server reads the window's
    // traces of the service and the trace list shows exactly those.
    await page.waitForSelector('.profile-examples button:has-text("slowest")');
    await Promise.all([page.waitForURL(/\/traces\?/), page.click('.profile-examples button:has-text("slowest")')]);
    await page.waitForSelector('.examples-banner');
    await page.waitForSelector('table.traces tbody tr');
    const exURL = new URL(page.url());
    const wanted = (exURL.searchParams.get('filter') ?? '').split(' ').filter(Boolean).sort();
    const listed = (await page.$$eval('table.traces tbody tr', (rows) => rows.map((r) => r.dataset.traceId ?? ''))).sort();
    check(wanted.length > 0 && JSON.stringify(listed) === JSON.stringify(wanted), `example traces ${wanted} but the list shows ${listed}`);
    const banner = (await page.textContent('.examples-banner')) ?? '';
    check(/slowest of .*DynamoDB items PutItem time in xraystarter-go/.test(banner), `the banner says ${banner}`);
    await shot('profile-examples.png', 'example traces from the slowest bucket of the DynamoDB items PutItem time of xraystarter-go, listed by their IDs');

    step = 'profile: compare mode';
    // The band seeded three days ago, against the last hour.
    await page.goto(`${base}/profile?last=1h&service=xraystarter-go&compare=${71.5 * 3600}`);
    await page.waitForSelector('.profile-legend');
    await page.waitForSelector('table.profile-table th:has-text("Change")');
    await shot('profile-compare.png', 'profile compare mode: each part coloured by its change against the same hour 71.5 h before (red slower, green faster, grey not significant)');

    step = 'profile from the trace list';
    await page.goto(`${base}/traces?last=1h&filter=${encodeURIComponent('service("xraystarter-ts")')}`);
    await Promise.all([page.waitForURL(/\/profile\?/), page.click('a:has-text("Profile xraystarter-ts")')]);
    await page.waitForSelector('.icicle .icicle-cell');
  }

  // ----------------------------------------------------------- dark mode
  step = 'dark mode';
  {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/map?last=1h&sel=${encodeURIComponent('n:AWS::Lambda::Function|xraystarter-py')}`);
    await page.waitForSelector('.side .timeseries svg rect.seg');
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const lum = (c) => {
      const [r, g, b] = c.match(/\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    log(`dark background ${bg}`);
    check(lum(bg) < 0.2, `the background is not dark: ${bg}`);
    const text = await page.evaluate(() => getComputedStyle(document.querySelector('.side .panel')).color);
    check(lum(text) > 0.7, `panel text is not light on dark: ${text}`);
    await shot('dark-map.png', 'dark mode: service map with a function selected, its time series and histogram');
    await page.goto(`${base}/traces?last=1h&filter=${encodeURIComponent('service() { fault }')}`);
    await page.waitForSelector('table.traces tbody tr');
    await page.waitForSelector('.analytics .timeseries svg rect.seg');
    await shot('dark-traces.png', 'dark mode: trace list with its chart, histogram and root causes');
    await Promise.all([page.waitForURL(/\/traces\/1-/), page.click('table.traces tbody tr td a')]);
    await page.waitForSelector('.tl-row');
    await page.waitForSelector('.rootcauses');
    await shot('dark-trace.png', 'dark mode: a failing trace, root cause, map and timeline');
    await page.emulateMedia({ colorScheme: 'light' });
  }

  step = 'keyboard navigation between pages';
  await page.click('h1'); // leave the input
  await page.keyboard.press('m');
  await page.waitForURL(/\/map/);
  await page.waitForSelector('.node');

  check(problems.length === 0, problems.join('\n'));
  log('all console checks passed');
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  try {
    await page.screenshot({ path: join(artifacts, 'failure.png') });
    console.error(`page at the failure: ${join(artifacts, 'failure.png')} (${page.url()})`);
  } catch {
    /* the browser is gone */
  }
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

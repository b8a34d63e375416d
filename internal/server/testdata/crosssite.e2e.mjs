// Driven by internal/server/crosssite_test.go: headless Chromium opens each
// page in PAGES (comma-separated URLs, served from origins other than the
// Counterspy server's) and waits until the page says it has tried its
// forged requests (window.__done). The Go test then checks that the server
// changed nothing. playwright-core comes from WEB_DIR/node_modules (the
// console's; scripts/test runs npm ci there).
//
//   WEB_DIR=web CHROMIUM=/usr/bin/chromium PAGES=http://localhost:4000/ node crosssite.e2e.mjs
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(join(resolve(process.env.WEB_DIR ?? 'web'), 'package.json'));
const { chromium } = require('playwright-core');

const pages = (process.env.PAGES ?? '').split(',').filter(Boolean);
if (pages.length === 0) throw new Error('PAGES is empty');

const profile = mkdtempSync(join(tmpdir(), 'counterspy-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30000);
  page.on('console', (m) => console.log(`  page: ${m.text()}`));
  for (const url of pages) {
    console.log(`opening ${url}`);
    await page.goto(url);
    await page.waitForFunction(() => window.__done === true);
    console.log(`  ${url}: ${await page.evaluate(() => window.__report)}`);
  }
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

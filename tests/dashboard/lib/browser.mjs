// Debian's headless Chromium driven by playwright-core, with no background networking; pages
// that record every console error, page error and failed request, so a test can fail on them.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

// The bench (bench/dashboard) drives the same browser through this module.
export { chromium };

import { REPO } from './collector.mjs';

export const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ?? join(REPO, 'target', 'dashboard-screenshots');
export const LAPTOP = { width: 1366, height: 850 };
export const PHONE = { width: 390, height: 844 };

/** Switches that keep Chromium off the network except for the pages a test opens. */
export const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
  '--no-service-autorun',
  '--password-store=basic',
  '--use-mock-keychain',
  '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions',
];

/** Launches Chromium (CHROMIUM, else /usr/bin/chromium); `cleanups` gets its close. */
export async function launch(cleanups) {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: apt-get install chromium (Debian's package), or set CHROMIUM`);
  }
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  cleanups.push(() => browser.close());
  return browser;
}

/**
 * A fresh context and page on `baseURL`, UTC, laptop-sized. `page.problems` lists console
 * errors, page errors, failed requests and ≥ 400 responses, except those allowed with
 * `page.allow(status, urlPattern)` (which also allows Chromium's console line about them).
 */
export async function openPage(browser, baseURL) {
  const context = await browser.newContext({ baseURL, viewport: LAPTOP, timezoneId: 'UTC', locale: 'en-US' });
  context.setDefaultTimeout(15_000); // no step waits forever
  const page = await context.newPage();
  const allowed = [];
  const problems = [];
  const isAllowed = (status, url) => allowed.some((a) => a.status === status && a.url.test(url));
  page.allow = (status, url) => allowed.push({ status, url });
  page.problems = problems;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const st = /status of (\d{3})/.exec(m.text());
    if (st && isAllowed(Number(st[1]), m.location().url ?? '')) return;
    problems.push(`console error: ${m.text()} (${m.location().url ?? ''})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack ?? e.message}`));
  // Everything comes from the collector itself: no CDN, no other host.
  const origin = new URL(baseURL).origin;
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin) problems.push(`request to another origin: ${r.method()} ${u}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !isAllowed(r.status(), r.url())) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on('dialog', (d) => d.accept()); // confirm() before a rollback, say
  return page;
}

/** Fails when the page saw a problem; then closes its context. */
export async function closePage(page) {
  const problems = [...page.problems];
  await page.context().close();
  assert.deepEqual(problems, [], `the browser saw console errors or failed requests:\n${problems.join('\n')}`);
}

/** Logs in with `key` (the admin key) at /login and waits for the overview. */
export async function login(page, key) {
  await page.goto('/login');
  await page.fill('#key', key);
  await Promise.all([page.waitForURL((u) => u.pathname === '/', { timeout: 10_000 }), page.click('#login button[type=submit]')]);
  await waitReady(page, 'overview');
}

/** Waits until `#page` is `ready` for page `name` (fails at once on `error`). */
export async function waitReady(page, name, timeout = 15_000) {
  try {
    await page.waitForFunction(
      (n) => {
        const p = document.querySelector('main#page');
        return p && p.dataset.page === n && (p.dataset.state === 'ready' || p.dataset.state === 'error');
      },
      name,
      { timeout, polling: 50 },
    );
  } catch (e) {
    const state = await page.evaluate(() => {
      const p = document.querySelector('main#page');
      return p ? `data-page=${p.dataset.page} data-state=${p.dataset.state}` : 'no main#page';
    }).catch(() => '?');
    throw new Error(`#page[data-page=${name}] not ready within ${timeout} ms (${state}) at ${page.url()}: ${e.message.split('\n')[0]}`);
  }
  const state = await page.getAttribute('main#page', 'data-state');
  if (state !== 'ready') assert.fail(`#page[data-page=${name}] is in state ${state}: ${(await page.innerText('main#page')).slice(0, 500)}`);
}

/** Opens `#/<name>?<query>` and waits for it. */
export async function visit(page, name, query = '') {
  await page.goto(`/#/${name}${query ? `?${query}` : ''}`);
  await waitReady(page, name);
}

/** Waits until `fn(arg)` is truthy in the page, failing with `what`. */
export async function until(page, what, fn, arg, timeout = 10_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch (e) {
    throw new Error(`${what}: not within ${timeout} ms at ${page.url()} (${e.message.split('\n')[0]})`);
  }
}

/** Reads the PNG's width and height (IHDR). */
export function pngSize(buffer) {
  assert.equal(buffer.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'not a PNG');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

/**
 * Full-page screenshots of the page as it is, at laptop and phone widths:
 * <SCREENSHOTS>/<name>-laptop.png and -phone.png. The page is re-awaited after each resize.
 */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The login page has no main#page to wait for.
  const current = (await page.$('main#page')) ? await page.getAttribute('main#page', 'data-page') : null;
  const paths = [];
  for (const [label, size] of [['laptop', LAPTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    if (current) await waitReady(page, current);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const path = join(SCREENSHOTS, `${name}-${label}.png`);
    await page.screenshot({ path, fullPage: true });
    assert.ok(statSync(path).size > 0, `${path} is empty`);
    paths.push(path);
  }
  await page.setViewportSize(LAPTOP);
  return paths;
}

/** After a picker or form changed the page: waits for `hashPart` in the hash, then for `ready`. */
export async function settled(page, hashPart, name) {
  await until(page, `the hash shows ${hashPart}`, (p) => decodeURIComponent(location.hash).includes(p), hashPart);
  // Let the hashchange handler run before trusting data-state.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  await waitReady(page, name ?? (await page.getAttribute('main#page', 'data-page')));
}

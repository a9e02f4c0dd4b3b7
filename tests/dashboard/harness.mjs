// The harness of one test file: `useDashboard()` starts a collector (seeded, with a budget
// policy) and Chromium before the file's tests and stops both after them, however they end.
// `dash.withPage(fn)` gives a test a logged-in page and fails it on any browser problem.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { closePage, launch, login, openPage } from './lib/browser.mjs';
import { startCollector } from './lib/collector.mjs';
import { SEED_POLICY, seedEvents } from './lib/seed.mjs';

export * from './lib/browser.mjs';
export { REPO, collectorBinary } from './lib/collector.mjs';
export * from './lib/seed.mjs';

/** Registers before/after hooks; the returned object is filled in by `before`. */
export function useDashboard({ seed = true, policy = true, browser = true } = {}) {
  const dash = {};
  const cleanups = [];
  before(async () => {
    Object.assign(dash, await startCollector(cleanups));
    if (seed) {
      dash.events = seedEvents(Date.now());
      await dash.ingest(dash.events);
    }
    if (policy) dash.seedVersion = await dash.putPolicy(SEED_POLICY);
    if (browser) dash.browser = await launch(cleanups);
  });
  after(async () => {
    const errors = [];
    while (cleanups.length) {
      try {
        await cleanups.pop()();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'cleanup failed');
  });

  /** Runs `fn` when the file ends, before the collector and browser stop. */
  dash.onClose = (fn) => cleanups.push(fn);

  /** Runs `fn(page)` on a fresh page (logged in unless `login: false`); fails on browser problems. */
  dash.withPage = async (fn, { login: logIn = true } = {}) => {
    const page = await openPage(dash.browser, dash.url);
    let failure;
    try {
      if (logIn) await login(page, dash.adminKey);
      await fn(page);
    } catch (e) {
      failure = e;
    }
    if (failure) {
      const problems = [...page.problems];
      await page.context().close().catch(() => {});
      if (problems.length) failure.message += `\n(the browser also saw:\n${problems.join('\n')})`;
      throw failure;
    }
    await closePage(page);
  };

  /** The report for a query string (`from=…&to=…&…`). */
  dash.report = (query) => dash.api(`/v1/reports/usage?${query}`);
  return dash;
}

/** `#page[data-query]` as URLSearchParams (fails when the page has none). */
export async function pageQuery(page) {
  const q = await page.getAttribute('main#page', 'data-query');
  assert.ok(q, `#page has no data-query at ${page.url()}`);
  const params = new URLSearchParams(q);
  for (const k of ['from', 'to']) assert.match(params.get(k) ?? '', /^\d+$/, `data-query ${q}: \`${k}\` in ms`);
  return params;
}

/** Asserts two numbers are equal but for float noise. */
export function near(actual, expected, what) {
  assert.equal(typeof actual, 'number', `${what}: ${actual} is not a number`);
  if (expected === null || expected === undefined) assert.fail(`${what}: the API has no value (${expected}); the page shows ${actual}`);
  assert.ok(Number.isFinite(actual), `${what}: ${actual}`);
  assert.ok(Math.abs(actual - expected) <= 1e-9 + 1e-9 * Math.abs(expected), `${what}: the page has ${actual}, the API ${expected}`);
}

/** A `data-value` attribute as a number (fails when missing or not a number). */
export function valueOf(raw, what) {
  assert.ok(raw !== null && raw !== undefined && raw !== '', `${what}: no data-value`);
  const n = Number(raw);
  assert.ok(!Number.isNaN(n), `${what}: data-value="${raw}" is not a number`);
  return n;
}

export * from './lib/read.mjs';
export * from './lib/client.mjs';

// The harness of one test file: `useDashboard()` starts a collector (seeded, with a budget
// policy) and Chromium before the file's tests and stops both after them, however they end.
// `dash.withPage(fn)` gives a test a logged-in page and fails it on any browser problem.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { closePage, launch, login, openPage } from './lib/browser.mjs';
import { startCollector } from './lib/collector.mjs';
import { bucketLabels, chart, chartTable, groupLabel, rowBucket } from './lib/read.mjs';
import { assertShown } from './lib/shown.mjs';
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

/**
 * Asserts chart `name`'s `table.chart-data` holds the report's numbers: one row per bucket of
 * [from, to) (labels `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`, UTC), one column per `dim` value of
 * `report` (grouped by `<granularity>,<dim>`; the empty value is "(none)"), each cell's
 * data-value `metric(row)` of the bucket's row for that value (`missing` where there is none:
 * 0, or null for an empty data-value), and its text that number as `kind` shows it.
 * `top`: at most that many series, those with the most requests (rates cannot be summed
 * into an "other"); without it the report must have no more values than a chart shows.
 */
export async function assertChartData(page, name, { from, to, granularity, report, dim, metric, missing = 0, kind, top }) {
  const what = `chart ${name}`;
  const shown = await chartTable(page, name);
  const labels = bucketLabels(Number(from), Number(to), granularity);
  assert.deepEqual(shown.rows.map((r) => r.label), labels, `${what}: table.chart-data rows (th[scope=row]) vs the ${granularity} buckets of the query`);
  const want = new Map();
  const requests = new Map();
  for (const row of report.rows) {
    const series = groupLabel(row[dim]);
    const bucket = rowBucket(row[granularity], granularity);
    assert.ok(labels.includes(bucket), `${what}: the API has a row in bucket ${bucket}, outside the chart's buckets`);
    if (!want.has(series)) want.set(series, new Map());
    assert.ok(!want.get(series).has(bucket), `${what}: two API rows for ${series} at ${bucket}`);
    want.get(series).set(bucket, metric(row));
    requests.set(series, (requests.get(series) ?? 0) + row.requests);
  }
  let names = [...want.keys()];
  if (top && names.length > top) {
    const kept = [...names].sort((a, b) => requests.get(b) - requests.get(a));
    const cut = requests.get(kept[top - 1]);
    // Ties at the cut may go either way; everything busier must be there.
    assert.equal(shown.headers.length, top, `${what}: ${shown.headers.length} series, the ${top} busiest of ${names.length} expected`);
    for (const h of shown.headers) assert.ok(want.has(h) && requests.get(h) >= cut, `${what}: series ${h} is not among the ${top} busiest`);
    for (const n of kept) if (requests.get(n) > cut) assert.ok(shown.headers.includes(n), `${what}: the busy series ${n} is missing`);
    names = shown.headers;
  } else {
    assert.ok(top || names.length <= 10, `${what}: the seed has ${names.length} ${dim} values, more than a chart shows unsummed`);
    assert.deepEqual([...shown.headers].sort(), [...names].sort(), `${what}: series (table.chart-data thead) vs the API's ${dim} values`);
  }
  const c = await chart(page, name);
  assert.equal(c.series, String(shown.headers.length), `${what}: data-series vs the table's series`);
  assert.equal(c.points, String(labels.length), `${what}: data-points vs the buckets`);
  shown.rows.forEach((row) => {
    assert.equal(row.cells.length, shown.headers.length, `${what} row ${row.label}: ${row.cells.length} cells, ${shown.headers.length} series`);
    shown.headers.forEach((series, j) => {
      const cell = row.cells[j];
      const at = `${what}, ${series} at ${row.label}`;
      const expected = want.get(series)?.has(row.label) ? want.get(series).get(row.label) : missing;
      if (expected === null || expected === undefined) assert.equal(cell.value, '', `${at}: the API has no value, the page data-value="${cell.value}"`);
      else near(valueOf(cell.value, at), expected, at);
      assertShown(cell.text, cell.value, kind, at);
    });
  });
  return shown;
}

export * from './lib/read.mjs';
export * from './lib/shown.mjs';
export * from './lib/client.mjs';

// Breakdown: one row per group exactly as the report API's rows (`group_by=<by>`, the empty
// group too), every column's data-value equal and shown in its format, the tfoot row the
// report's totals; sorting by a column header; the CSV export; the pickers.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertShown, groupLabel, kindOf, near, pageQuery, settled, tableRows, useDashboard, valueOf, visit } from '../harness.mjs';

const dash = useDashboard();

/** The breakdown's columns as computed from a report row. */
const COLUMNS = {
  requests: (r) => r.requests,
  input_tokens: (r) => r.input_tokens,
  output_tokens: (r) => r.output_tokens,
  cached_share: (r) => (r.input_tokens ? r.cached_input_tokens / r.input_tokens : null),
  cost_usd: (r) => r.cost_usd,
  errors: (r) => r.errors,
  error_rate: (r) => r.error_rate,
  latency_ms_p95: (r) => r.latency_ms_p95,
  fallback_rate: (r) => r.fallback_rate,
};

/** Asserts a row's cells equal `api` (a report row or the totals) and show it formatted. */
function checkCells(cells, api, what) {
  for (const [col, of] of Object.entries(COLUMNS)) {
    assert.ok(col in cells, `${what}: no td[data-col=${col}] (has ${Object.keys(cells)})`);
    const want = of(api);
    const { value, text } = cells[col];
    if (want === null || want === undefined) assert.equal(value, '', `${what} ${col}: the API has no value, the page data-value="${value}"`);
    else near(valueOf(value, `${what} ${col}`), want, `${what}, ${col}`);
    assertShown(text, value, kindOf(col), `${what}, ${col} text`);
  }
}

/** Asserts table#breakdown shows the report's rows and totals for `dim` over the page's query. */
async function checkRows(page, dim) {
  const q = await pageQuery(page);
  assert.equal(q.get('group_by'), dim, `data-query ${q}: group_by`);
  const report = await dash.report(`from=${q.get('from')}&to=${q.get('to')}&group_by=${dim}`);
  const rows = await tableRows(page, 'table#breakdown', 'data-key');
  const key = (r) => r[dim] ?? '';
  const want = report.rows.map(key).sort();
  assert.deepEqual(rows.map((r) => r.key).sort(), want, `table#breakdown rows by ${dim} (tr[data-key])`);
  // Every row, the tfoot's totals row included: its first cell's text and its cells.
  const read = (trs) => trs.map((tr) => ({
    key: tr.getAttribute('data-key'),
    name: tr.querySelector('th, td')?.textContent.trim(),
    cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, { value: td.getAttribute('data-value'), text: td.innerText }])),
  }));
  const shown = await page.$$eval('table#breakdown tbody tr[data-key]', read);
  for (const row of shown) {
    checkCells(row.cells, report.rows.find((r) => key(r) === row.key), `by ${dim}, row "${row.key}"`);
    assert.equal(row.name, groupLabel(row.key), `by ${dim}, row "${row.key}": its name cell`);
  }
  // The totals row (tfoot) is the report's totals.
  const foot = await page.$$eval('table#breakdown tfoot tr', read);
  assert.equal(foot.length, 1, `table#breakdown tfoot: ${foot.length} rows`);
  checkCells(foot[0].cells, report.totals, `by ${dim}, the totals row (tfoot)`);
  return rows;
}

test('rows by team, app, model and provider equal the report API', async () => {
  await dash.withPage(async (page) => {
    for (const by of ['team', 'app', 'model', 'provider']) {
      await visit(page, 'breakdown', `range=30d&by=${by}`);
      assert.equal(await page.inputValue('select#by'), by);
      const rows = await checkRows(page, by);
      assert.ok(rows.length >= 3, `by ${by}: ${rows.length} rows`);
      // The seeded call without provider, model or team is a row of its own, "(none)".
      if (by !== 'app') assert.ok(rows.some((r) => r.key === ''), `by ${by}: no tr[data-key=""] for the call without a ${by}`);
      assert.ok(rows.some((r) => Number(r.cols.input_tokens) >= 1000), `by ${by}: the seed has 1000+ input tokens in a group (a k suffix to check)`);
    }
  });
});

test('rows by a label equal the report grouped by label.<key>', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=label&label=feature');
    assert.equal(await page.inputValue('input#label-key'), 'feature');
    const rows = await checkRows(page, 'label.feature');
    assert.deepEqual(rows.map((r) => r.key).sort(), ['chat', 'search', 'summary']);
  });
});

test('choosing by=label and typing a label key groups by that label', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=app');
    await page.selectOption('select#by', 'label');
    await settled(page, 'by=label', 'breakdown');
    await page.fill('input#label-key', 'feature');
    await page.press('input#label-key', 'Enter');
    await settled(page, 'label=feature', 'breakdown');
    const rows = await checkRows(page, 'label.feature');
    assert.deepEqual(rows.map((r) => r.key).sort(), ['chat', 'search', 'summary']);
  });
});

test('select#by and select#range change the rows and the query', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=team');
    const q30 = (await pageQuery(page)).toString();
    await page.selectOption('select#by', 'model');
    await settled(page, 'by=model', 'breakdown');
    await checkRows(page, 'model');
    await page.selectOption('select#range', '24h');
    await settled(page, 'range=24h', 'breakdown');
    const q1 = await pageQuery(page);
    assert.notEqual(q1.toString(), q30, 'data-query did not change');
    const span = Number(q1.get('to')) - Number(q1.get('from'));
    assert.ok(span >= 86_400_000 - 60_000 && span <= 25 * 3_600_000, `range=24h (from may start on the hour): data-query ${q1} spans ${span / 3_600_000} h`);
    const rows = await checkRows(page, 'model');
    const total = rows.reduce((n, r) => n + Number(r.cols.requests), 0);
    assert.ok(total < dash.events.length, `24 h shows ${total} requests, all ${dash.events.length} seeded ones`);
  });
});

test('a column header sorts the rows, both ways', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=app');
    for (const col of ['requests', 'cost_usd']) {
      const values = async () => (await tableRows(page, 'table#breakdown', 'data-key')).map((r) => Number(r.cols[col]));
      const sorted = (xs, dir) => xs.every((x, i) => i === 0 || (dir === 'asc' ? xs[i - 1] <= x : xs[i - 1] >= x));
      await page.click(`table#breakdown th button[data-sort="${col}"]`);
      await settled(page, `sort=${col}`, 'breakdown');
      const dir1 = new URLSearchParams(page.url().split('?')[1] ?? '').get('dir');
      assert.ok(dir1 === 'asc' || dir1 === 'desc', `dir in the hash: ${page.url()}`);
      assert.ok(sorted(await values(), dir1), `sorted by ${col} ${dir1}: ${await values()}`);
      await page.click(`table#breakdown th button[data-sort="${col}"]`);
      const dir2 = dir1 === 'asc' ? 'desc' : 'asc';
      await settled(page, `dir=${dir2}`, 'breakdown');
      assert.ok(sorted(await values(), dir2), `sorted by ${col} ${dir2}: ${await values()}`);
    }
  });
});

test('the CSV export is the report as CSV', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=team');
    const a = await page.$('a#csv-export');
    assert.ok(a, 'no a#csv-export');
    assert.notEqual(await a.getAttribute('download'), null, 'a#csv-export has no download attribute');
    const href = await a.getAttribute('href');
    const url = new URL(href, dash.url);
    assert.equal(url.searchParams.get('format'), 'csv', `href ${href}`);
    assert.equal(url.pathname, '/v1/reports/usage', `href ${href}`);
    const r = await page.request.get(url.pathname + url.search);
    assert.equal(r.status(), 200, `GET ${href} with the cookie`);
    assert.match(r.headers()['content-type'], /text\/csv/);
    const lines = (await r.text()).trim().split(/\r?\n/);
    assert.equal(lines[0].split(',')[0], 'team', `CSV header ${lines[0]}`);
    const rows = await tableRows(page, 'table#breakdown', 'data-key');
    assert.equal(lines.length - 1, rows.length, 'CSV rows vs table rows');
  });
});

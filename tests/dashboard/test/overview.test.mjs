// Overview: the KPI tiles equal the report API's answers to the page's own query and show them
// formatted; the cost and requests charts hold, bucket by bucket and series by series, the
// report's numbers for the stacked dimension (the empty value too); the pickers change all.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertChart, assertChartData, assertShown, currentNav, distinct, kindOf, kpis, near, pageQuery, settled, until, useDashboard, valueOf, visit, waitReady,
} from '../harness.mjs';

const dash = useDashboard();
const DAY = 86_400_000;

/** Spend (totals.cost_usd) over [from, to). */
const spend = async (from, to) => (await dash.report(`from=${from}&to=${to}`)).totals.cost_usd;

async function checkKpis(page) {
  const q = await pageQuery(page);
  const shown = await kpis(page);
  for (const k of ['spend_today', 'spend_month', 'spend_last_month', 'requests', 'error_rate', 'latency_p95']) {
    assert.ok(k in shown, `no [data-kpi=${k}] tile (tiles: ${Object.keys(shown)})`);
  }
  const v = (k) => valueOf(shown[k], `[data-kpi=${k}]`);
  // What people read: each tile's figure in its format ($, %, ms/s, k suffix).
  const texts = await page.$$eval('[data-kpi]', (els) => Object.fromEntries(els.map((e) => [e.dataset.kpi, (e.querySelector('.value') ?? e).textContent])));
  for (const k of ['spend_today', 'spend_month', 'spend_last_month', 'requests', 'error_rate', 'latency_p95']) {
    assertShown(texts[k], shown[k], kindOf(k), `[data-kpi=${k}] text`);
  }
  const { totals } = await dash.report(q.toString());
  near(v('requests'), totals.requests, `requests over ${q}`);
  near(v('error_rate'), totals.error_rate, `error_rate over ${q}`);
  near(v('latency_p95'), totals.latency_ms_p95, `latency_p95 over ${q}`);

  const to = Number(q.get('to'));
  const d = new Date(to);
  const today = to - (to % DAY);
  const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const lastMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  near(v('spend_today'), await spend(today, to), 'spend_today (UTC midnight to now)');
  near(v('spend_month'), await spend(month, to), 'spend_month (the 1st, UTC, to now)');
  // "Last month over the same days": the same elapsed time, or whole days to the same date.
  const sameTime = await spend(lastMonth, Math.min(lastMonth + (to - month), month));
  const sameDays = await spend(lastMonth, Math.min(lastMonth + (today - month) + DAY, month));
  const last = v('spend_last_month');
  assert.ok([sameTime, sameDays].some((x) => Math.abs(last - x) < 1e-9), `spend_last_month ${last}: the API has ${sameTime} (same elapsed time) or ${sameDays} (same days)`);
  assert.ok(v('spend_today') > 0 && v('spend_month') > 0, `the seeded data has spend today and this month: ${JSON.stringify(shown)}`);
  if (to - month >= DAY) assert.ok(last > 0, `the seeded data has spend last month by this day: ${JSON.stringify(shown)}`);
  return q;
}

/** The number of series the cost chart should have: distinct `stack` values over the query. */
async function expectedSeries(q, granularity, stack) {
  const r = await dash.report(`from=${q.get('from')}&to=${q.get('to')}&group_by=${granularity},${stack}`);
  return distinct(r.rows, stack);
}

/**
 * Asserts the cost and requests charts' tables hold the report for the page's data-query
 * (`group_by=<granularity>,<stack>`): cost_usd and requests per bucket and stacked value.
 */
async function checkChartData(page, granularity, stack) {
  const q = await pageQuery(page);
  assert.equal(q.get('group_by'), `${granularity},${stack}`, `data-query ${q}: group_by`);
  const report = await dash.report(q.toString());
  const common = { from: q.get('from'), to: q.get('to'), granularity, report, dim: stack };
  const cost = await assertChartData(page, 'cost', { ...common, metric: (r) => r.cost_usd, kind: 'money' });
  await assertChartData(page, 'requests', { ...common, metric: (r) => r.requests, kind: 'count' });
  const total = cost.rows.reduce((sum, row) => sum + row.cells.reduce((a, c) => a + Number(c.value), 0), 0);
  near(total, report.totals.cost_usd, `chart cost: the sum of its cells vs totals.cost_usd over ${q}`);
  return report;
}

test('the overview is the default page and its KPIs equal the report API', async () => {
  await dash.withPage(async (page) => {
    assert.match(page.url(), /\/(#\/overview.*)?$/, `after login: ${page.url()}`);
    assert.equal(await currentNav(page), 'overview');
    await checkKpis(page);
    await visit(page, 'overview', 'range=30d&granularity=day&stack=model');
    assert.equal(await page.inputValue('select#range'), '30d');
    assert.equal(await page.inputValue('select#stack'), 'model');
    const q = await checkKpis(page);
    const span = Number(q.get('to')) - Number(q.get('from'));
    assert.ok(Math.abs(span - 30 * DAY) <= DAY, `range=30d, data-query spans ${span / DAY} days`);
  });
});

test('the cost chart draws one series per stacked value, and the first chart is marked', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'overview', 'range=30d&granularity=day&stack=model');
    const q = await pageQuery(page);
    const c = await assertChart(page, 'cost', await expectedSeries(q, 'day', 'model'));
    assert.ok(c.tableRows > 0, 'table.chart-data has no rows');
    const report = await checkChartData(page, 'day', 'model');
    assert.ok(report.rows.some((r) => r.model === '' || r.model === null), 'the seed has a call without a model: the chart must show "(none)"');
    const marks = await page.evaluate(() => performance.getEntriesByName('mp:first-chart').length);
    assert.ok(marks >= 1, 'no performance mark mp:first-chart');
  });
});

test('the stack, range and granularity pickers change the chart and the query', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'overview', 'range=30d&granularity=day&stack=model');
    const before = (await pageQuery(page)).toString();
    for (const [select, value, granularity, stack] of [
      ['select#stack', 'provider', 'day', 'provider'],
      ['select#stack', 'team', 'day', 'team'],
      ['select#range', '7d', 'day', 'team'],
      ['select#granularity', 'hour', 'hour', 'team'],
      ['select#stack', 'app', 'hour', 'app'],
    ]) {
      const shownBefore = (await pageQuery(page)).toString();
      await page.selectOption(select, value);
      const param = select.slice('select#'.length);
      await settled(page, `${param}=${value}`, 'overview');
      const q = await pageQuery(page);
      if (param === 'range') {
        assert.notEqual(q.toString(), shownBefore, `range=${value} left data-query as it was`);
        const span = Number(q.get('to')) - Number(q.get('from'));
        assert.ok(Math.abs(span - 7 * DAY) <= DAY, `range=7d, data-query spans ${span / DAY} days`);
      }
      const want = await expectedSeries(q, granularity, stack);
      await until(page, `chart cost has ${want} series after ${param}=${value}`, (n) => document.querySelector('figure.chart[data-chart=cost]')?.dataset.series === String(n), want);
      await assertChart(page, 'cost', want);
      await checkChartData(page, granularity, stack);
      await checkKpis(page);
    }
    assert.notEqual((await pageQuery(page)).toString(), before, 'data-query never changed');
    // The hash is the state: reloading shows the same choices.
    await page.reload();
    await waitReady(page, 'overview');
    assert.equal(await page.inputValue('select#stack'), 'app');
    assert.equal(await page.inputValue('select#granularity'), 'hour');
    assert.equal(await page.inputValue('select#range'), '7d');
  });
});

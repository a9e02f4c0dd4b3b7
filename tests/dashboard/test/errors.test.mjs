// Errors: the error-rate chart holds each provider's error rate per bucket (the 10 busiest at
// most; the empty provider of a call blocked before routing too), errors-by-code each code's
// failed calls per bucket, both as the report API has them; the recent failures are the API's
// latest failed events, each with its attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertChart, assertChartData, chartTable, currentNav, distinct, pageQuery, settled, useDashboard, visit } from '../harness.mjs';

const dash = useDashboard();

async function checkCharts(page, granularity) {
  const q = await pageQuery(page);
  assert.equal(q.get('group_by'), `${granularity},provider`, `data-query ${q}: group_by`);
  const range = { from: q.get('from'), to: q.get('to'), granularity };
  const byProvider = await dash.report(q.toString());
  assert.ok(byProvider.rows.some((r) => (r.provider ?? '') === ''), 'the seed has a call without a provider in the range');
  await assertChart(page, 'error-rate', Math.min(distinct(byProvider.rows, 'provider'), 10));
  await assertChartData(page, 'error-rate', { ...range, report: byProvider, dim: 'provider', metric: (r) => r.error_rate, missing: null, kind: 'percent', top: 10 });

  // Codes of failed calls (status=error), or of every call with a code (blocked ones too):
  // the cells must be one of the two, throughout.
  const qs = `from=${range.from}&to=${range.to}&group_by=${granularity},error_code`;
  const failed = await dash.report(`${qs}&status=error`);
  const all = await dash.report(qs);
  const coded = { ...all, rows: all.rows.filter((r) => (r.error_code ?? '') !== '') };
  assert.ok(failed.rows.length > 0, `the seed has failed calls over ${qs}`);
  const tries = [];
  for (const [what, report] of [['failed calls (status=error)', failed], ['calls with an error code', coded]]) {
    try {
      await assertChartData(page, 'errors-by-code', { ...range, report, dim: 'error_code', metric: (r) => r.requests, kind: 'count' });
      tries.length = 0;
      break;
    } catch (e) {
      tries.push(`as ${what}: ${e.message}`);
    }
  }
  assert.deepEqual(tries, [], `chart errors-by-code holds neither report:\n${tries.join('\n')}`);
  await assertChart(page, 'errors-by-code', Number((await page.getAttribute('figure.chart[data-chart=errors-by-code]', 'data-series'))));
  return q;
}

test('the error charts draw one series per provider and per error code', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'errors', 'range=30d&granularity=day');
    assert.equal(await currentNav(page), 'errors');
    const q30 = await checkCharts(page, 'day');
    await page.selectOption('select#range', '7d');
    await settled(page, 'range=7d', 'errors');
    const q7 = await checkCharts(page, 'day');
    assert.notEqual(q7.toString(), q30.toString(), 'range=7d left data-query as it was');
  });
});

test('over 90 days the error-rate chart keeps the 10 busiest of 12 providers, unsummed', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'errors', 'range=90d&granularity=day');
    const q = await pageQuery(page);
    const { rows } = await dash.report(q.toString());
    assert.ok(distinct(rows, 'provider') > 10, `the seed has ${distinct(rows, 'provider')} providers over 90 days, 11 or more needed`);
    await checkCharts(page, 'day');
    const headers = (await chartTable(page, 'error-rate')).headers;
    for (const quiet of ['(none)', 'edge-0']) assert.ok(!headers.includes(quiet), `error-rate: ${quiet} (the quietest) is drawn: ${headers}`);
  });
});

test('recent failures are the latest failed events, with their attempts', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'errors', 'range=30d&granularity=day');
    const q = await pageQuery(page);
    const ids = await page.$$eval('table#recent-failures tbody tr[data-id]', (trs) => trs.map((tr) => tr.dataset.id));
    assert.ok(ids.length > 0, 'table#recent-failures has no tr[data-id]');
    const { events } = await dash.api(`/v1/events?from=${q.get('from')}&to=${q.get('to')}&status=error&limit=${ids.length}`);
    assert.deepEqual(ids, events.map((e) => e.id), 'recent failures vs GET /v1/events?status=error (newest first)');
    for (const e of events) {
      const row = `table#recent-failures tr[data-id="${e.id}"]`;
      const attempts = await page.$$eval(`${row} details li.attempt`, (lis) => lis.map((li) => li.textContent));
      assert.equal(attempts.length, e.attempts.length, `${row}: li.attempt in its details`);
      attempts.forEach((text, i) => assert.ok(text.includes(e.attempts[i].provider), `${row} attempt ${i}: ${text} does not name ${e.attempts[i].provider}`));
      assert.ok((await page.innerText(row)).includes(e.error_code), `${row} does not show ${e.error_code}`);
    }
    // Opening a row's details shows its attempts.
    await page.click(`table#recent-failures tr[data-id="${ids[0]}"] details summary`);
    assert.ok(await page.isVisible(`table#recent-failures tr[data-id="${ids[0]}"] li.attempt`), 'the attempts are not visible after opening details');
  });
});

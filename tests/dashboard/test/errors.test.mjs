// Errors: the error-rate chart has one series per provider, errors-by-code one per error code;
// the recent failures are the API's latest failed events, each with its attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertChart, chart, currentNav, distinct, pageQuery, settled, useDashboard, visit } from '../harness.mjs';

const dash = useDashboard();

async function checkCharts(page, granularity) {
  const q = await pageQuery(page);
  const range = `from=${q.get('from')}&to=${q.get('to')}`;
  const providers = distinct((await dash.report(`${range}&group_by=${granularity},provider`)).rows, 'provider');
  await assertChart(page, 'error-rate', providers);
  // Codes of failed calls (status=error), or of every call with a code (blocked ones too).
  const failed = distinct((await dash.report(`${range}&group_by=${granularity},error_code&status=error`)).rows, 'error_code');
  const coded = distinct((await dash.report(`${range}&group_by=${granularity},error_code`)).rows, 'error_code');
  const shown = Number((await chart(page, 'errors-by-code')).series);
  assert.ok(shown === failed || shown === coded, `chart errors-by-code: data-series=${shown}; the API has ${failed} codes of failed calls (${coded} with blocked ones)`);
  await assertChart(page, 'errors-by-code', shown);
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

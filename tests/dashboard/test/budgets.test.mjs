// Budgets: one row per budget scope of GET /v1/budgets, with its spend, limit, forecast and
// used share (their data-value and the text people read), and a meter. The forecast is the
// period's pace so far carried to its end, and none ("—", data-value="") before a tenth of the
// period (and at least an hour) has passed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertShown, currentNav, near, useDashboard, valueOf, visit } from '../harness.mjs';

const dash = useDashboard();
const HOUR = 3_600_000;

/** Asserts one GET /v1/budgets answer's forecasts follow the rule, from its own numbers. */
function checkForecasts(answer, when) {
  const now = answer.as_of_ms;
  assert.equal(typeof now, 'number', `GET /v1/budgets (${when}) has no as_of_ms`);
  for (const b of answer.budgets) {
    const [start, end] = [b.period_start_ms, b.period_end_ms];
    assert.ok(Number.isInteger(start) && Number.isInteger(end) && start < end, `budget ${b.name}: period ${start} to ${end}`);
    for (const s of b.scopes) {
      const what = `GET /v1/budgets (${when}) budget ${b.name} scope "${s.value}" forecast_usd`;
      assert.ok('forecast_usd' in s, `${what}: missing: ${JSON.stringify(s)}`);
      const early = now < end && now - start < Math.max(HOUR, (end - start) / 10);
      if (early) assert.equal(s.forecast_usd, null, `${what}: ${(now - start) / HOUR} h into a ${(end - start) / HOUR} h period, too early for a forecast`);
      else if (now >= end) near(s.forecast_usd, s.spent_usd, `${what} (the period is over)`);
      else near(s.forecast_usd, (s.spent_usd * (end - start)) / (now - start), `${what} = spent × period / elapsed`);
    }
  }
}

test('every budget scope is a row with the API numbers', async (t) => {
  await dash.withPage(async (page) => {
    // A forecast moves with the clock: the page's must lie between the API's before and after
    // (and may be none in one of them, when a tenth of the period passes meanwhile).
    const early = await dash.api('/v1/budgets');
    await visit(page, 'budgets');
    assert.equal(await currentNav(page), 'budgets');
    const late = await dash.api('/v1/budgets');
    checkForecasts(early, 'before the page');
    checkForecasts(late, 'after the page');
    const { budgets } = late;
    const forecastBefore = (b, s) => early.budgets.find((x) => x.name === b.name)?.scopes.find((x) => x.value === s.value)?.forecast_usd ?? null;
    assert.deepEqual(budgets.map((b) => b.name).sort(), ['growth-apps', 'org-month', 'team-day'], 'the seeded budgets');
    const rows = await page.$$eval('table#budgets tbody tr[data-budget]', (trs) => trs.map((tr) => ({
      budget: tr.dataset.budget,
      scope: tr.getAttribute('data-scope'),
      meter: !!tr.querySelector('meter, progress, [role=meter], [role=progressbar], .bar'),
      cols: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, td.getAttribute('data-value')])),
      texts: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, td.innerText])),
    })));
    const want = budgets.flatMap((b) => b.scopes.map((s) => `${b.name}/${s.value}`)).sort();
    assert.deepEqual(rows.map((r) => `${r.budget}/${r.scope}`).sort(), want, 'tr[data-budget][data-scope] vs the API scopes');
    let forecasts = 0;
    for (const b of budgets) {
      for (const s of b.scopes) {
        const row = rows.find((r) => r.budget === b.name && r.scope === s.value);
        const what = `budget ${b.name} scope "${s.value}"`;
        near(valueOf(row.cols.spent_usd, `${what} spent_usd`), s.spent_usd, `${what} spent_usd`);
        near(valueOf(row.cols.limit_usd, `${what} limit_usd`), b.limit_usd, `${what} limit_usd`);
        near(valueOf(row.cols.used_share, `${what} used_share`), s.spent_usd / b.limit_usd, `${what} used_share`);
        const apiForecasts = [forecastBefore(b, s), s.forecast_usd];
        const raw = row.cols.forecast_usd;
        assert.notEqual(raw, null, `${what}: no td[data-col=forecast_usd] data-value`);
        if (raw === '') {
          assert.ok(apiForecasts.includes(null), `${what} forecast_usd: the page shows none, the API ${apiForecasts.join(' then ')}`);
        } else {
          forecasts++;
          const forecast = valueOf(raw, `${what} forecast_usd`);
          const known = apiForecasts.filter((x) => x !== null);
          assert.ok(known.length > 0, `${what} forecast_usd: the page has ${forecast}, the API none (too early in the period)`);
          const [lo, hi] = [Math.min(...known), Math.max(...known)];
          assert.ok(forecast >= lo - 1e-9 && forecast <= hi + 1e-9, `${what} forecast_usd: the page has ${forecast}, the API ${lo} to ${hi} (before and after)`);
        }
        for (const [col, kind] of [['spent_usd', 'money'], ['limit_usd', 'money'], ['used_share', 'percent'], ['forecast_usd', 'money']]) {
          assertShown(row.texts[col], row.cols[col], kind, `${what} ${col} text`);
        }
        assert.ok(row.meter, `${what}: no meter or bar`);
      }
    }
    assert.ok(rows.some((r) => Number(r.cols.spent_usd) > 0), 'every budget shows zero spend');
    t.diagnostic(`${forecasts} forecasts shown, ${rows.length - forecasts} none yet (early in the period)`);
  });
});

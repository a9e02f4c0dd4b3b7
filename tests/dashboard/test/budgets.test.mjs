// Budgets: one row per budget scope of GET /v1/budgets, with its spend, limit, forecast and
// used share, and a meter.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { currentNav, near, useDashboard, valueOf, visit } from '../harness.mjs';

const dash = useDashboard();

test('every budget scope is a row with the API numbers', async () => {
  await dash.withPage(async (page) => {
    // A forecast moves with the clock: the page's must lie between the API's before and after.
    const early = await dash.api('/v1/budgets');
    await visit(page, 'budgets');
    assert.equal(await currentNav(page), 'budgets');
    const { budgets } = await dash.api('/v1/budgets');
    const forecastBefore = (b, s) => early.budgets.find((x) => x.name === b.name)?.scopes.find((x) => x.value === s.value)?.forecast_usd;
    assert.deepEqual(budgets.map((b) => b.name).sort(), ['growth-apps', 'org-month', 'team-day'], 'the seeded budgets');
    const rows = await page.$$eval('table#budgets tbody tr[data-budget]', (trs) => trs.map((tr) => ({
      budget: tr.dataset.budget,
      scope: tr.getAttribute('data-scope'),
      meter: !!tr.querySelector('meter, progress, [role=meter], [role=progressbar], .bar'),
      cols: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, td.getAttribute('data-value')])),
    })));
    const want = budgets.flatMap((b) => b.scopes.map((s) => `${b.name}/${s.value}`)).sort();
    assert.deepEqual(rows.map((r) => `${r.budget}/${r.scope}`).sort(), want, 'tr[data-budget][data-scope] vs the API scopes');
    for (const b of budgets) {
      for (const s of b.scopes) {
        const row = rows.find((r) => r.budget === b.name && r.scope === s.value);
        const what = `budget ${b.name} scope "${s.value}"`;
        assert.equal(typeof s.forecast_usd, 'number', `${what}: GET /v1/budgets has no forecast_usd: ${JSON.stringify(s)}`);
        near(valueOf(row.cols.spent_usd, `${what} spent_usd`), s.spent_usd, `${what} spent_usd`);
        near(valueOf(row.cols.limit_usd, `${what} limit_usd`), b.limit_usd, `${what} limit_usd`);
        const forecast = valueOf(row.cols.forecast_usd, `${what} forecast_usd`);
        const [lo, hi] = [forecastBefore(b, s), s.forecast_usd].sort((x, y) => x - y);
        assert.ok(forecast >= lo - 1e-9 && forecast <= hi + 1e-9, `${what} forecast_usd: the page has ${forecast}, the API ${lo} to ${hi} (before and after)`);
        near(valueOf(row.cols.used_share, `${what} used_share`), s.spent_usd / b.limit_usd, `${what} used_share`);
        assert.ok(row.meter, `${what}: no meter or bar`);
      }
    }
    assert.ok(rows.some((r) => Number(r.cols.spent_usd) > 0), 'every budget shows zero spend');
  });
});

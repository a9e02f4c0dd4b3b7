// Event strings are user data: an app named `<script>…<img onerror>` and a label value with an
// `<svg onload>` render as text on every page that shows them, and no script of theirs runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { XSS_APP, XSS_LABEL, tableRows, useDashboard, visit } from '../harness.mjs';

const dash = useDashboard();

/** Fails when anything of the payloads became markup or ran. */
async function noInjection(page, where) {
  const found = await page.evaluate(() => ({
    xss: typeof window.__xss === 'undefined' ? null : String(window.__xss),
    scripts: [...document.querySelectorAll('main#page script, main#page img[src="x"], main#page svg[onload], main#page [onerror], main#page [onload]')].map((e) => e.outerHTML),
  }));
  assert.equal(found.xss, null, `${where}: window.__xss is ${found.xss}: a payload ran`);
  assert.deepEqual(found.scripts, [], `${where}: payload markup in the page`);
}

/** Asserts `text` is on the page as text (not markup). */
async function shownAsText(page, text, where) {
  const ok = await page.evaluate((t) => document.querySelector('main#page').innerText.includes(t), text);
  assert.ok(ok, `${where}: the text ${text} is not shown as text`);
}

test('breakdown by app and by label show the payloads as text', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'breakdown', 'range=30d&by=app');
    const rows = await tableRows(page, 'table#breakdown', 'data-key');
    const row = rows.find((r) => r.key === XSS_APP);
    assert.ok(row, `no tr[data-key] for the XSS app (keys: ${rows.map((r) => r.key).join(' | ')})`);
    assert.ok(row.text.includes('<script>window.__xss=1</script>'), `its row shows ${row.text}`);
    await noInjection(page, 'breakdown by app');
    await visit(page, 'breakdown', 'range=30d&by=label&label=note');
    await shownAsText(page, XSS_LABEL, 'breakdown by label note');
    await noInjection(page, 'breakdown by label');
  });
});

test('the events table, the event detail and the charts show the app name as text', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'events', `range=7d&app=${encodeURIComponent(XSS_APP)}`);
    const ids = await page.$$eval('table#events tbody tr[data-id]', (trs) => trs.map((tr) => tr.dataset.id));
    assert.ok(ids.length > 0, 'filtering events by the XSS app name shows no rows');
    await shownAsText(page, XSS_APP, 'events');
    await page.click(`table#events tr[data-id="${ids[0]}"]`);
    await page.waitForFunction((id) => document.querySelector('#event-detail pre')?.textContent.includes(id), ids[0], { timeout: 10_000 })
      .catch(() => assert.fail(`#event-detail pre does not show event ${ids[0]}`));
    assert.equal(JSON.parse(await page.textContent('#event-detail pre')).app, XSS_APP, '#event-detail: the app name');
    await noInjection(page, 'events');
    await visit(page, 'overview', 'range=7d&granularity=day&stack=app');
    const inChart = await page.$eval('figure.chart[data-chart=cost]', (f, t) => f.innerText.includes(t) || f.textContent.includes(t), XSS_APP);
    assert.ok(inChart, 'the cost chart stacked by app does not name the XSS app (legend or table.chart-data) as text');
    await noInjection(page, 'overview stacked by app');
  });
});

// The harness itself: the collector starts and holds the seeded data; Chromium opens a page
// with no background requests, and a screenshot lands on disk.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { APPS, SCREENSHOTS, XSS_APP, openPage, pngSize, useDashboard } from '../harness.mjs';

const dash = useDashboard();

test('the seeded events are all in the report', async () => {
  const now = Date.now();
  const r = await dash.report(`from=${now - 100 * 86_400_000}&to=${now + 60_000}&group_by=app`);
  assert.equal(r.totals.requests, dash.events.length);
  assert.deepEqual(r.rows.map((row) => row.app).sort(), [...APPS.map((a) => a.app), XSS_APP].sort());
  assert.ok(r.totals.errors > 0 && r.totals.fallbacks > 0 && r.totals.cached_input_tokens > 0, JSON.stringify(r.totals));
});

test('Chromium opens /healthz and takes a screenshot', async () => {
  await dash.withPage(async (page) => {
    const r = await page.goto('/healthz');
    assert.equal(r.status(), 200);
    assert.equal((await page.textContent('body')).trim(), 'ok');
    const path = `${SCREENSHOTS}/_healthz.png`;
    await page.screenshot({ path });
    assert.deepEqual(pngSize(readFileSync(path)), { width: 1366, height: 850 });
  }, { login: false });
});

test('the harness notices console errors, page errors, failed requests and other origins', async () => {
  const page = await openPage(dash.browser, dash.url);
  try {
    await page.goto('/healthz');
    await page.evaluate(() => {
      console.error('a console error');
      setTimeout(() => { throw new Error('a page error'); });
      fetch('/no-such-path').catch(() => {});
      fetch('http://127.0.0.1:9/refused').catch(() => {});
    });
    await page.waitForTimeout(500);
    const seen = page.problems.join('\n');
    for (const want of ['console error: a console error', 'page error: Error: a page error', 'HTTP 404: GET', 'request to another origin', 'request failed: GET http://127.0.0.1:9/refused']) {
      assert.ok(seen.includes(want), `the harness missed "${want}" in:\n${seen}`);
    }
  } finally {
    await page.context().close();
  }
});

// A full-page screenshot of every page (and the login page) at laptop and phone widths, under
// target/dashboard-screenshots/ (DASHBOARD_SCREENSHOTS overrides); none wider than its viewport.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { LAPTOP, PHONE, SCREENSHOTS, pngSize, screenshot, useDashboard, visit } from '../harness.mjs';

const dash = useDashboard();
const PAGES = [
  ['overview', 'range=30d&granularity=day&stack=model'],
  ['breakdown', 'range=30d&by=app'],
  ['errors', 'range=30d&granularity=day'],
  ['events', 'range=7d'],
  ['policy', ''],
  ['budgets', ''],
];

/** Asserts the two PNGs are real screenshots of the two widths. */
function checkShots(paths, name) {
  for (const [path, size] of [[paths[0], LAPTOP], [paths[1], PHONE]]) {
    const png = readFileSync(path);
    const { width, height } = pngSize(png);
    assert.ok(png.length > 8_000, `${path}: ${png.length} bytes, a near-empty picture`);
    assert.equal(width, size.width, `${name} at ${size.width} px is ${width} px wide: the page overflows sideways (${path})`);
    assert.ok(height >= size.height, `${path}: ${height} px high`);
  }
}

test('the login page', async () => {
  await dash.withPage(async (page) => {
    await page.goto('/login');
    checkShots(await screenshot(page, 'login'), 'login');
  }, { login: false });
});

for (const [name, query] of PAGES) {
  test(`the ${name} page`, async (t) => {
    await dash.withPage(async (page) => {
      await visit(page, name, query);
      const paths = await screenshot(page, name);
      checkShots(paths, name);
      t.diagnostic(paths.join(' '));
    });
  });
}

test('the screenshots are under the test output', () => {
  assert.ok(SCREENSHOTS.length > 0);
  for (const name of ['login', ...PAGES.map(([n]) => n)]) {
    for (const w of ['laptop', 'phone']) assert.ok(readFileSync(`${SCREENSHOTS}/${name}-${w}.png`).length > 0, `${name}-${w}.png`);
  }
});

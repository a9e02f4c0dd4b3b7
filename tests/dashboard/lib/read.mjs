// Reading what a dashboard page shows: KPI tiles, tables with `data-value` cells, charts (and
// whether their canvas holds drawn series), and comparing them with the API.
import assert from 'node:assert/strict';

/** `[data-kpi]` tiles: {name: data-value (string or null)}. */
export function kpis(page) {
  return page.$$eval('[data-kpi]', (els) => Object.fromEntries(els.map((e) => [e.dataset.kpi, e.getAttribute('data-value')])));
}

/** Rows of `table` (a selector) keyed by `attr`: [{key, text, cols: {col: data-value}}], in order. */
export function tableRows(page, table, attr) {
  return page.$$eval(`${table} tbody tr[${attr}]`, (trs, a) => trs.map((tr) => ({
    key: tr.getAttribute(a),
    text: tr.innerText,
    cols: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, td.getAttribute('data-value')])),
  })), attr);
}

/**
 * One chart's attributes and canvas: {series, points, caption, tableRows, canvases: [{width,
 * height, painted, coloured}]} — `painted` counts non-transparent pixels, `coloured` saturated
 * ones (series, not grey axes or text).
 */
export async function chart(page, name) {
  const sel = `figure.chart[data-chart="${name}"]`;
  assert.ok(await page.$(sel), `no ${sel} on ${page.url()}`);
  return page.$eval(sel, (fig) => ({
    series: fig.getAttribute('data-series'),
    points: fig.getAttribute('data-points'),
    caption: fig.querySelector('figcaption')?.textContent.trim() ?? '',
    tableRows: fig.querySelectorAll('table.chart-data tbody tr').length,
    hasTable: !!fig.querySelector('table.chart-data'),
    canvases: [...fig.querySelectorAll('canvas')].map((c) => {
      const out = { width: c.width, height: c.height, painted: 0, coloured: 0 };
      if (!c.width || !c.height) return out;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] === 0) continue;
        out.painted++;
        if (d[i + 3] > 128 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) out.coloured++;
      }
      return out;
    }),
  }));
}

/** Asserts chart `name` is drawn, with `series` series (its canvas shows some in colour). */
export async function assertChart(page, name, series) {
  const c = await chart(page, name);
  const what = `chart ${name}`;
  assert.equal(c.series, String(series), `${what}: data-series="${c.series}", the API has ${series} distinct values`);
  assert.ok(Number(c.points) > 0, `${what}: data-points="${c.points}"`);
  assert.ok(c.caption, `${what}: no figcaption`);
  assert.ok(c.hasTable, `${what}: no table.chart-data`);
  assert.ok(c.canvases.length > 0, `${what}: no canvas`);
  const [canvas] = c.canvases;
  assert.ok(canvas.width > 0 && canvas.height > 0, `${what}: canvas ${canvas.width}×${canvas.height}`);
  assert.ok(canvas.painted > 0, `${what}: the canvas is blank`);
  if (series > 0) assert.ok(canvas.coloured > 0, `${what}: the canvas has no coloured pixel (no series drawn?): ${JSON.stringify(canvas)}`);
  return c;
}

/**
 * A chart's `table.chart-data`: {headers: series labels in order (the time column left out),
 * rows: [{label: the row's th[scope=row], cells: [{value: data-value, text}]}]}.
 */
export async function chartTable(page, name) {
  const sel = `figure.chart[data-chart="${name}"] table.chart-data`;
  assert.ok(await page.$(sel), `no ${sel} on ${page.url()}`);
  return page.$eval(sel, (table) => ({
    headers: [...table.querySelectorAll('thead th')].slice(1).map((th) => th.textContent.trim()),
    rows: [...table.querySelectorAll('tbody tr')].map((tr) => ({
      label: tr.querySelector('th[scope=row]')?.textContent.trim() ?? null,
      cells: [...tr.querySelectorAll('td')].map((td) => ({ value: td.getAttribute('data-value'), text: td.textContent })),
    })),
  }));
}

/** A group value as the page names it: the empty value (no provider, no team…) is "(none)". */
export const groupLabel = (v) => (v === '' || v === null || v === undefined ? '(none)' : String(v));

/**
 * Distinct values of `key` in report rows, the empty one included (an event without a provider
 * or team is a group of its own: the page draws it as "(none)").
 */
export const distinct = (rows, key) => new Set(rows.map((r) => r[key] ?? '')).size;

/** The label of the bucket starting at `t` (ms): `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM` hourly (UTC). */
export const bucketLabel = (t, granularity) => new Date(t).toISOString().replace('T', ' ').slice(0, granularity === 'hour' ? 16 : 10);

/** A report row's bucket (`2026-11-24` or RFC 3339) as its label. */
export const rowBucket = (text, granularity) => bucketLabel(Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text), granularity);

/** Every bucket label of [from, to): from the bucket holding `from` to the one holding `to - 1`. */
export function bucketLabels(from, to, granularity) {
  const step = granularity === 'hour' ? 3_600_000 : 86_400_000;
  const out = [];
  for (let t = from - (from % step); t < to; t += step) out.push(bucketLabel(t, granularity));
  return out;
}

/** The `nav a[aria-current=page]`'s data-page. */
export async function currentNav(page) {
  const pages = await page.$$eval('nav a[data-page]', (as) => as.map((a) => a.dataset.page));
  assert.deepEqual(pages.sort(), ['breakdown', 'budgets', 'errors', 'events', 'overview', 'policy'], 'nav a[data-page]');
  const current = await page.$$eval('nav a[aria-current=page]', (as) => as.map((a) => a.dataset.page));
  assert.equal(current.length, 1, `nav a[aria-current=page]: ${current}`);
  return current[0];
}

/** Sets a form field by name (input or select) in `form` (a selector). */
export async function setField(page, form, name, value) {
  const sel = `${form} [name="${name}"]`;
  const tag = await page.$eval(sel, (e) => e.tagName).catch(() => assert.fail(`no ${sel}`));
  if (tag === 'SELECT') await page.selectOption(sel, value);
  else await page.fill(sel, value);
}

// Event explorer: rows are the API's events for the page's query; filters narrow them; the
// next/previous buttons page with the API's cursor; a row opens the event's full record.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { currentNav, pageQuery, setField, settled, useDashboard, visit } from '../harness.mjs';

const dash = useDashboard();

const rowIds = (page) => page.$$eval('table#events tbody tr[data-id]', (trs) => trs.map((tr) => tr.dataset.id));

/** GET /v1/events for the page's query, `limit` per page, from `cursor`. */
async function apiPage(q, limit, cursor) {
  const p = new URLSearchParams(q);
  p.set('limit', String(limit));
  if (cursor) p.set('cursor', cursor);
  return dash.api(`/v1/events?${p}`);
}

test('the rows are the API events for the page query', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'events', 'range=7d');
    assert.equal(await currentNav(page), 'events');
    const q = await pageQuery(page);
    const ids = await rowIds(page);
    assert.ok(ids.length > 0, 'table#events has no tr[data-id]');
    const { events } = await apiPage(q, ids.length);
    assert.deepEqual(ids, events.map((e) => e.id), `rows vs GET /v1/events?${q}`);
  });
});

test('filters narrow the table to the API answer for them', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'events', 'range=30d');
    const all = await rowIds(page);
    for (const [filters, check] of [
      [{ app: 'checkout' }, (e) => e.app === 'checkout'],
      [{ app: '', provider: 'anthropic', model: 'claude-sonnet-4' }, (e) => e.provider === 'anthropic' && e.model === 'claude-sonnet-4'],
      [{ provider: '', model: '', team: 'growth', error_code: 'TIMEOUT' }, (e) => e.team === 'growth' && e.error_code === 'TIMEOUT'],
      [{ team: '', error_code: '', app: 'checkout', status: 'error' }, (e) => e.app === 'checkout' && e.status === 'error'],
    ]) {
      for (const [k, v] of Object.entries(filters)) await setField(page, 'form#event-filters', k, v);
      await page.$eval('form#event-filters', (f) => f.requestSubmit());
      const [k, v] = Object.entries(filters).filter(([, x]) => x).at(-1);
      await settled(page, `${k}=${v}`, 'events');
      const q = await pageQuery(page);
      for (const [name, value] of Object.entries(filters)) assert.equal(q.get(name) ?? '', value, `data-query ${q}: ${name}`);
      const ids = await rowIds(page);
      const { events } = await apiPage(q, Math.max(ids.length, 1));
      assert.ok(events.length > 0, `the seed has events for ${JSON.stringify(filters)}`);
      assert.deepEqual(ids, events.map((e) => e.id), `rows for ${JSON.stringify(filters)}`);
      assert.ok(events.every(check), `the API answered events outside ${JSON.stringify(filters)}`);
      assert.notDeepEqual(ids, all, `${JSON.stringify(filters)} left the table as it was`);
      const unfiltered = await apiPage(new URLSearchParams({ from: q.get('from'), to: q.get('to') }), 1000);
      assert.ok(events.length < unfiltered.events.length, `${JSON.stringify(filters)}: the seed must have fewer matching events than all`);
    }
  });
});

test('next and previous page through the API cursor', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'events', 'range=90d');
    const q = await pageQuery(page);
    const first = await rowIds(page);
    const api1 = await apiPage(q, first.length);
    assert.deepEqual(first, api1.events.map((e) => e.id), 'page 1');
    assert.ok(api1.next_cursor, `${dash.events.length} events fit one page of ${first.length}: the page must show fewer per page`);
    await page.click('button#events-next');
    await page.waitForFunction((f) => document.querySelector('table#events tbody tr[data-id]')?.dataset.id !== f, first[0], { timeout: 10_000 });
    await settled(page, '', 'events');
    const second = await rowIds(page);
    const api2 = await apiPage(q, first.length, api1.next_cursor);
    assert.deepEqual(second, api2.events.map((e) => e.id), 'page 2 = the API after next_cursor');
    await page.click('button#events-prev');
    await page.waitForFunction((f) => document.querySelector('table#events tbody tr[data-id]')?.dataset.id === f, first[0], { timeout: 10_000 });
    await settled(page, '', 'events');
    assert.deepEqual(await rowIds(page), first, 'back on page 1');
  });
});

test('a row (click or Enter) opens the event full record', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'events', 'range=7d');
    const [a, b] = await rowIds(page);
    assert.ok(b, 'fewer than two rows');
    const detail = async (id) => {
      await page.waitForFunction((x) => document.querySelector('#event-detail pre')?.textContent.includes(x), id, { timeout: 10_000 })
        .catch(() => assert.fail(`#event-detail pre does not show event ${id}`));
      const shown = JSON.parse(await page.textContent('#event-detail pre'));
      assert.deepEqual(shown, await dash.api(`/v1/events/${id}`), `#event-detail of ${id} vs GET /v1/events/${id}`);
      assert.ok(await page.isVisible('#event-detail'), '#event-detail is hidden');
    };
    await page.click(`table#events tr[data-id="${a}"]`);
    await detail(a);
    await page.focus(`table#events tr[data-id="${b}"]`);
    await page.keyboard.press('Enter');
    await detail(b);
  });
});

// Errors: the error rate by provider and the failures by code over time, where they happen
// (provider × code), and the latest failed calls with every attempt they made.
import { api, query, report } from '../api.js';
import { chart, limitSeries, pivot, topSeries } from '../chart.js';
import { h, select } from '../dom.js';
import { count, ms, percent, time } from '../format.js';
import { RANGES, bucketTime, buckets, granularityOf, granularityOptions, rangeOf, stepOf } from '../range.js';

const RECENT = 20;

/** One attempt of a call (`{provider, deployment, model, status?, error?, latency_ms}`), as a list item. */
export function attemptItem(a, i) {
  const outcome = a.error ? `failed: ${a.error}` : 'succeeded';
  const status = a.status == null ? '' : ` (HTTP ${a.status})`;
  return h('li', { class: 'attempt' },
    `#${i + 1} ${a.provider} / ${a.deployment} (${a.model}): ${outcome}${status}, ${ms(a.latency_ms)}`);
}

/** A series' weight: the requests of its provider over the report's rows. */
function volume(rows) {
  const requests = new Map();
  for (const row of rows) requests.set(row.provider, (requests.get(row.provider) ?? 0) + row.requests);
  return (s) => requests.get(s.label) ?? 0;
}

export async function render(root, ctx) {
  const p = ctx.params;
  const range = RANGES.some(([v]) => v === p.range) ? p.range : '7d';
  const granularity = granularityOf(p.granularity, range);
  const { from, to } = rangeOf(range, Date.now(), stepOf(granularity));
  const rateParams = { from, to, group_by: `${granularity},provider` };
  ctx.setQuery(query(rateParams));
  const rates = report(rateParams);
  const codes = report({ from, to, group_by: `${granularity},error_code`, status: 'error' });
  const where = report({ from, to, group_by: 'provider,error_code', status: 'error' });
  const recent = api(`/v1/events?${query({ from, to, status: 'error', limit: RECENT })}`);
  // Awaited in turn below; when one fails, the first failure is the one shown.
  for (const pending of [codes, where, recent]) pending.catch(() => {});

  const charts = h('section', { 'aria-label': 'Charts' });
  const tables = h('section', {});
  root.append(
    h('h1', {}, 'Errors'),
    h('div', { class: 'controls' },
      select('range', 'Range', RANGES, range, (v) => ctx.setParams({ range: v, granularity: '' })),
      select('granularity', 'Granularity', granularityOptions(range), granularity, (v) => ctx.setParams({ granularity: v })),
      h('span', { class: 'muted small', id: 'span' }, `${time(from).slice(0, 16)} UTC to now`)),
    charts, tables);

  const xs = buckets(from, to, granularity);
  const r = await rates;
  if (ctx.stale()) return;
  chart(charts, {
    name: 'error-rate', title: `Error rate by provider (the 10 busiest at most), per ${granularity} (UTC)`,
    xs, series: topSeries(pivot(r.rows, granularity, 'provider', (row) => row.error_rate, xs, bucketTime, null), volume(r.rows)),
    format: percent, granularity,
  });
  const c = await codes;
  if (ctx.stale()) return;
  chart(charts, {
    name: 'errors-by-code', title: `Failed calls by error code, per ${granularity} (UTC)`,
    xs, series: limitSeries(pivot(c.rows, granularity, 'error_code', (row) => row.requests, xs, bucketTime)),
    stacked: true, format: count, granularity,
  });

  const [w, { data: events }] = await Promise.all([where, recent]);
  if (ctx.stale()) return;
  tables.append(
    h('h2', {}, 'Where calls fail'),
    h('div', { class: 'card' }, w.rows.length === 0 ? h('p', { class: 'empty' }, 'No failed calls in this range.')
      : h('table', { id: 'failures-by-code' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Provider'), h('th', { scope: 'col' }, 'Error code'), h('th', { scope: 'col', class: 'num' }, 'Failed calls'))),
        h('tbody', {}, w.rows.map((row) => h('tr', {},
          h('td', { class: 'name' }, row.provider || '(none)'),
          h('td', {}, row.error_code || '(none)'),
          h('td', { class: 'num', 'data-col': 'requests', 'data-value': row.requests }, count(row.requests))))))),
    h('h2', {}, `Latest failures (${events.events.length})`),
    h('div', { class: 'card' }, h('table', { id: 'recent-failures' },
      h('thead', {}, h('tr', {}, ['Time (UTC)', 'App', 'Model asked', 'Provider', 'Error', 'Attempts'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, events.events.map((e) => {
        const attempts = e.attempts ?? [];
        return h('tr', { 'data-id': e.id },
          h('td', {}, time(Date.parse(e.ts))),
          h('td', { class: 'name' }, e.app ?? ''),
          h('td', { class: 'name' }, e.model_requested ?? ''),
          h('td', {}, e.provider ?? ''),
          h('td', { class: 'status-error' }, `${e.error_code ?? 'error'}${e.http_status ? ` (HTTP ${e.http_status})` : ''}`),
          h('td', {}, attempts.length === 0 ? '—' : h('details', {},
            h('summary', {}, `${attempts.length} attempt${attempts.length === 1 ? '' : 's'}${e.fallback_used ? ', fell back' : ''}`),
            h('ol', { class: 'attempts' }, attempts.map(attemptItem)))));
      })))));
}

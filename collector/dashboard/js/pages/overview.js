// Overview: spend today and this month against last month, the range's requests, error rate
// and p95 latency, and cost over time stacked by app, team, model or provider.
import { query, report } from '../api.js';
import { chart, limitSeries, pivot } from '../chart.js';
import { h, select } from '../dom.js';
import { change, count, money, ms, percent, time } from '../format.js';
import {
  RANGES, bucketTime, buckets, granularityOf, granularityOptions, rangeOf, stepOf, startOfDay, startOfMonth, startOfPreviousMonth,
} from '../range.js';

const STACKS = [['app', 'App'], ['team', 'Team'], ['model', 'Model'], ['provider', 'Provider']];

/** A KPI tile; `value` is kept raw in `data-value`. */
export function kpi(name, label, value, format, ...note) {
  return h('div', { class: 'kpi', 'data-kpi': name, 'data-value': value ?? '' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, format(value)),
    note.length ? h('div', { class: 'note' }, ...note) : null);
}

/** `[from, to)` with `to` after `from` (a range starting this very millisecond is 1 ms long). */
function span(from, to) {
  return { from, to: Math.max(to, from + 1) };
}

export async function render(root, ctx) {
  const p = ctx.params;
  const range = RANGES.some(([v]) => v === p.range) ? p.range : '30d';
  const granularity = granularityOf(p.granularity, range);
  const stack = STACKS.some(([v]) => v === p.stack) ? p.stack : 'app';
  const now = Date.now();
  const { from, to } = rangeOf(range, now, stepOf(granularity));
  const chartParams = { from, to, group_by: `${granularity},${stack}` };
  ctx.setQuery(query(chartParams));

  // The chart's report alone first (the database serves it without the tiles' reports
  // competing on a cold cache); the tiles' small reports follow it.
  const main = report(chartParams);
  const monthStart = startOfMonth(now);
  const lastStart = startOfPreviousMonth(now);
  const tileReports = main.then(() => Promise.all([
    report(span(startOfDay(now), now)),
    report(span(monthStart, now)),
    report(span(lastStart, Math.min(lastStart + (now - monthStart), monthStart))),
  ]));
  // Awaited below; when the chart's report fails first, its failure is the one shown.
  tileReports.catch(() => {});

  const tiles = h('section', { class: 'kpis', 'aria-label': 'Key figures' });
  const charts = h('section', { 'aria-label': 'Charts' });
  root.append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'controls' },
      select('range', 'Range', RANGES, range, (v) => ctx.setParams({ range: v, granularity: '' })),
      select('granularity', 'Granularity', granularityOptions(range), granularity, (v) => ctx.setParams({ granularity: v })),
      h('span', { class: 'muted small', id: 'span' }, `${time(from).slice(0, 16)} UTC to now`),
      select('stack', 'Stack by', STACKS, stack, (v) => ctx.setParams({ stack: v }))),
    tiles, charts);

  const r = await main;
  if (ctx.stale()) return;
  const xs = buckets(from, to, granularity);
  const series = limitSeries(pivot(r.rows, granularity, stack, (row) => row.cost_usd, xs, bucketTime));
  chart(charts, {
    name: 'cost',
    title: `Cost by ${stack}, per ${granularity} (UTC)`,
    xs, series, stacked: true, format: money, granularity,
  });
  chart(charts, {
    name: 'requests',
    title: `Requests by ${stack}, per ${granularity} (UTC)`,
    xs, series: limitSeries(pivot(r.rows, granularity, stack, (row) => row.requests, xs, bucketTime)), stacked: true, format: count, granularity,
  });

  const [t, m, lm] = await tileReports;
  if (ctx.stale()) return;
  const monthCost = m.totals.cost_usd;
  const lastCost = lm.totals.cost_usd;
  const delta = change(monthCost, lastCost);
  // The range starts on a whole bucket (see `rangeOf`): the tiles say "since" that start.
  const rangeLabel = `since ${time(from).slice(5, granularity === 'hour' ? 16 : 10)} UTC`;
  tiles.append(
    kpi('spend_today', 'Spend today (UTC)', t.totals.cost_usd, money),
    kpi('spend_month', 'Spend this month', monthCost, money,
      delta === null ? 'nothing spent last month by this day'
        : h('span', { class: delta >= 0 ? 'up' : 'down' }, `${percent(Math.abs(delta))} ${delta >= 0 ? 'more' : 'less'} than last month by this day`)),
    kpi('spend_last_month', 'Last month, same days', lastCost, money),
    kpi('cost', `Spend, ${rangeLabel}`, r.totals.cost_usd, money),
    kpi('requests', `Requests, ${rangeLabel}`, r.totals.requests, count),
    kpi('error_rate', `Error rate, ${rangeLabel}`, r.totals.error_rate, percent, `${count(r.totals.errors)} errors`),
    kpi('latency_p95', `p95 latency, ${rangeLabel}`, r.totals.latency_ms_p95, ms));
}

// Charts: uPlot (vendored, MIT) on a canvas, with the same numbers in a table for screen readers
// and for anyone who cannot tell the colours apart (lines also differ by dash pattern; stacked
// areas by their order, which the legend follows).
import { h } from './dom.js';
import { time } from './format.js';

// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies) and more.
const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#5b6474', '#b8a100', '#7b3294', '#1b7837', '#9e9e9e'];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 4], [12, 6], [6, 2, 2, 2]];
/** At most this many series; the rest are summed into "other". */
export const MAX_SERIES = 10;

let firstChartMarked = false;

/**
 * Keeps the `MAX_SERIES - 1` largest series (by their sum) and sums the rest into one "other"
 * series, so a chart stays readable; fewer are returned unchanged. Only for amounts that add up
 * (cost, counts): see `topSeries` for rates.
 */
export function limitSeries(series) {
  if (series.length <= MAX_SERIES) return series;
  const total = (s) => s.values.reduce((a, v) => a + (v ?? 0), 0);
  const sorted = [...series].sort((a, b) => total(b) - total(a));
  const kept = sorted.slice(0, MAX_SERIES - 1);
  const rest = sorted.slice(MAX_SERIES - 1);
  const other = rest[0].values.map((_, i) => rest.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  return [...kept, { label: `other (${rest.length})`, values: other }];
}

/** The `MAX_SERIES` series with the largest `weight` (rates do not add up into an "other"). */
export function topSeries(series, weight) {
  if (series.length <= MAX_SERIES) return series;
  return [...series].sort((a, b) => weight(b) - weight(a)).slice(0, MAX_SERIES);
}

/**
 * Appends a chart to `parent` (which must be in the document) and draws it.
 * `xs`: bucket starts (ms); `series`: `[{label, values}]` (a value may be null); `stacked`: areas
 * stacked bottom to top in series order; `format`: the numbers' formatter.
 */
export function chart(parent, { name, title, xs, series, stacked = false, format, granularity = 'day' }) {
  const shown = series.length;
  const figure = h('figure', { class: 'chart', 'data-chart': name, 'data-series': shown, 'data-points': xs.length },
    h('figcaption', { id: `chart-${name}-title` }, title));
  parent.append(figure);
  if (shown === 0 || xs.length === 0) {
    figure.append(h('p', { class: 'empty' }, 'No calls in this range.'));
    return figure;
  }
  const plot = h('div', {
    class: 'plot', role: 'img',
    'aria-label': `${title}: ${shown} series over ${xs.length} ${granularity === 'hour' ? 'hours' : 'days'}; the numbers are in the table below.`,
  });
  figure.append(plot, dataTable(xs, series, format, granularity));
  draw(plot, { xs, series, stacked, format, granularity });
  return figure;
}

function draw(plot, { xs, series, stacked, format, granularity }) {
  const raw = series.map((s) => s.values);
  let lines = raw;
  if (stacked) {
    const acc = xs.map(() => 0);
    lines = raw.map((values) => values.map((v, i) => (acc[i] += v ?? 0)));
  }
  // Stacked areas are drawn top first, so each lower one paints over the one above it.
  const order = stacked ? series.map((_, i) => series.length - 1 - i) : series.map((_, i) => i);
  const opts = {
    width: Math.max(plot.clientWidth, 280),
    height: 260,
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] } },
    axes: [
      {
        stroke: '#5b6474', grid: { stroke: '#eceff3' },
        // Ticks on whole buckets: days for daily charts, hours (and days) for hourly ones.
        incrs: granularity === 'hour' ? [3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400] : [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
        values: (u, splits) => splits.map((s) => axisLabel(s * 1000, granularity)),
      },
      { stroke: '#5b6474', grid: { stroke: '#eceff3' }, size: 64, values: (u, splits) => splits.map((v) => format(v)) },
    ],
    series: [
      { label: granularity === 'hour' ? 'Hour (UTC)' : 'Day (UTC)', value: (u, ts) => (ts == null ? '—' : bucketLabel(ts * 1000, granularity)) },
      ...order.map((i, k) => ({
        label: series[i].label === '' ? '(none)' : series[i].label,
        stroke: PALETTE[i % PALETTE.length],
        fill: stacked ? PALETTE[i % PALETTE.length] : undefined,
        dash: stacked ? undefined : DASHES[i % DASHES.length],
        width: 2,
        spanGaps: !stacked,
        points: { show: xs.length <= 60 },
        value: (u, v, si, idx) => (idx == null ? '—' : format(raw[order[k]][idx])),
      })),
    ],
    hooks: {
      draw: [() => {
        if (!firstChartMarked) {
          firstChartMarked = true;
          performance.mark('mp:first-chart');
        }
      }],
    },
  };
  const data = [xs.map((t) => t / 1000), ...order.map((i) => lines[i])];
  const u = new window.uPlot(opts, data, plot);
  let width = plot.clientWidth;
  new ResizeObserver(() => {
    if (plot.clientWidth !== width && plot.isConnected) {
      width = plot.clientWidth;
      u.setSize({ width: Math.max(width, 280), height: 260 });
    }
  }).observe(plot);
}

function axisLabel(t, granularity) {
  const text = time(t);
  if (granularity === 'hour' && t % 86_400_000 !== 0) return text.slice(11, 16);
  return text.slice(5, 10);
}

function bucketLabel(t, granularity) {
  return granularity === 'hour' ? `${time(t).slice(0, 16)}` : time(t).slice(0, 10);
}

function dataTable(xs, series, format, granularity) {
  return h('details', {},
    h('summary', {}, 'Show the numbers'),
    h('div', { class: 'card' },
      h('table', { class: 'chart-data' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time (UTC)'), series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label || '(none)')))),
        h('tbody', {}, xs.map((t, i) => h('tr', {},
          h('th', { scope: 'row' }, bucketLabel(t, granularity)),
          series.map((s) => h('td', { class: 'num', 'data-value': s.values[i] ?? '' }, s.values[i] == null ? '—' : format(s.values[i])))))))));
}

/**
 * Pivots report rows grouped by `[time, dim]` into chart series: one per `dim` value, with
 * `metric(row)` at each bucket (`missing` where a bucket has no row).
 */
export function pivot(rows, timeCol, dim, metric, xs, toTime, missing = 0) {
  const index = new Map(xs.map((t, i) => [t, i]));
  const byValue = new Map();
  for (const row of rows) {
    const i = index.get(toTime(row[timeCol]));
    if (i === undefined) continue;
    const key = row[dim] ?? '';
    if (!byValue.has(key)) byValue.set(key, xs.map(() => missing));
    byValue.get(key)[i] = metric(row);
  }
  return [...byValue.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([label, values]) => ({ label, values }));
}

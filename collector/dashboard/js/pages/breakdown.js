// Breakdown: one row per team, app, model, provider or label value with its requests, tokens,
// cached share, cost, errors, p95 latency and fallback rate; sortable, exportable as CSV.
import { query, report } from '../api.js';
import { h, select } from '../dom.js';
import { count, formatterOf } from '../format.js';
import { RANGES, rangeOf } from '../range.js';

const BY = [['team', 'Team'], ['app', 'App'], ['model', 'Model'], ['provider', 'Provider'], ['label', 'Label']];
/** `[column, heading]`: the report's columns, and the cached share derived from two of them. */
const COLUMNS = [
  ['requests', 'Requests'],
  ['input_tokens', 'Input tokens'],
  ['output_tokens', 'Output tokens'],
  ['cached_share', 'Cached input'],
  ['cost_usd', 'Cost'],
  ['errors', 'Errors'],
  ['error_rate', 'Error rate'],
  ['latency_ms_p95', 'p95 latency'],
  ['fallback_rate', 'Fallback rate'],
];
const LABEL_KEY = /^[A-Za-z0-9_\-./:]{1,64}$/;

function cell(row, col) {
  if (col === 'cached_share') return row.input_tokens ? row.cached_input_tokens / row.input_tokens : null;
  return row[col];
}

export async function render(root, ctx) {
  const p = ctx.params;
  const range = RANGES.some(([v]) => v === p.range) ? p.range : '30d';
  const by = BY.some(([v]) => v === p.by) ? p.by : 'team';
  const labelKey = p.label ?? '';
  const sort = [...COLUMNS.map(([c]) => c), 'name'].includes(p.sort) ? p.sort : 'cost_usd';
  const dir = p.dir === 'asc' ? 'asc' : 'desc';

  const labelInput = h('input', {
    id: 'label-key', name: 'label', value: labelKey, placeholder: 'e.g. feature', size: 14,
    onchange: (e) => ctx.setParams({ label: e.target.value.trim() }),
  });
  root.append(
    h('h1', {}, 'Breakdown'),
    h('div', { class: 'controls' },
      select('by', 'Group by', BY, by, (v) => ctx.setParams({ by: v })),
      by === 'label' ? h('label', { for: 'label-key' }, 'Label key', labelInput) : null,
      select('range', 'Range', RANGES, range, (v) => ctx.setParams({ range: v }))));
  if (by === 'label' && !LABEL_KEY.test(labelKey)) {
    root.append(h('p', { class: 'muted' }, 'Type the label key to group by (letters, digits, _ - . / :).'));
    return;
  }
  const dim = by === 'label' ? `label.${labelKey}` : by;
  const { from, to } = rangeOf(range);
  const params = { from, to, group_by: dim };
  ctx.setQuery(query(params));
  const r = await report(params);
  if (ctx.stale()) return;

  const rows = [...r.rows];
  const key = (row) => (sort === 'name' ? row[dim] : cell(row, sort) ?? -Infinity);
  rows.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const c = x < y ? -1 : x > y ? 1 : 0;
    return dir === 'asc' ? c : -c;
  });
  const header = (col, text) => h('th', {
    scope: 'col', class: col === 'name' ? null : 'num',
    'aria-sort': sort === col ? (dir === 'asc' ? 'ascending' : 'descending') : null,
  }, h('button', {
    type: 'button', 'data-sort': col,
    onclick: () => ctx.setParams({ sort: col, dir: sort === col && dir === 'desc' ? 'asc' : 'desc' }),
  }, text));
  const numbers = (row, tag = 'td') => COLUMNS.map(([col]) => {
    const v = cell(row, col);
    return h(tag, { class: 'num', 'data-col': col, 'data-value': v ?? '' }, formatterOf(col)(v));
  });
  const csv = `/v1/reports/usage?${query({ ...params, format: 'csv' })}`;
  root.append(
    h('div', { class: 'controls' },
      h('a', { id: 'csv-export', href: csv, download: `usage-by-${by}.csv` }, 'Export CSV'),
      h('span', { class: 'muted small' }, `${count(rows.length)} rows`)),
    h('div', { class: 'card' },
      h('table', { id: 'breakdown' },
        h('caption', { class: 'muted small' }, `By ${dim}, ${RANGES.find(([v]) => v === range)[1].toLowerCase()}; sorted by ${sort} (${dir === 'asc' ? 'ascending' : 'descending'})`),
        h('thead', {}, h('tr', {}, header('name', BY.find(([v]) => v === by)[1]), COLUMNS.map(([c, t]) => header(c, t)))),
        h('tbody', {}, rows.map((row) => h('tr', { 'data-key': row[dim] },
          h('th', { scope: 'row', class: 'name' }, row[dim] === '' ? '(none)' : row[dim]),
          numbers(row)))),
        h('tfoot', {}, h('tr', { 'data-key': '' }, h('td', {}, 'All'), numbers(r.totals))))));
}

// Event explorer: filter the stored calls, page through them newest first, open one call's
// full record.
import { api, query } from '../api.js';
import { fill, h, select } from '../dom.js';
import { count, money, ms, time } from '../format.js';
import { RANGES, rangeOf } from '../range.js';

const FIELDS = [['app', 'App'], ['team', 'Team'], ['model', 'Model'], ['provider', 'Provider'], ['error_code', 'Error code']];
const STATUSES = [['', 'Any'], ['ok', 'ok'], ['error', 'error'], ['blocked', 'blocked'], ['cancelled', 'cancelled']];
const SIZES = [['25', '25'], ['50', '50'], ['100', '100']];

/** The event the detail panel was last asked for (a slower earlier answer must not replace it). */
let wanted = null;

async function openEvent(detail, id) {
  wanted = id;
  detail.hidden = false;
  fill(detail, h('p', { class: 'muted' }, 'Loading…'));
  let data;
  try {
    ({ data } = await api(`/v1/events/${encodeURIComponent(id)}`));
  } catch (e) {
    if (wanted === id) fill(detail, h('p', { class: 'error', role: 'alert' }, `The event could not be read: ${e.message}`));
    return;
  }
  if (wanted !== id) return;
  fill(detail,
    h('h2', {}, `Event ${data.id}`),
    h('p', { class: 'muted small' }, `${data.app ?? ''} · ${data.model_requested ?? ''} · ${data.status} · ${time(Date.parse(data.ts))} UTC`),
    h('pre', { class: 'record', tabindex: '0', 'aria-label': 'The event as stored' }, JSON.stringify(data, null, 2)));
  detail.focus();
}

export async function render(root, ctx) {
  const p = ctx.params;
  const range = RANGES.some(([v]) => v === p.range) ? p.range : '7d';
  const size = SIZES.some(([v]) => v === p.limit) ? p.limit : '50';
  const status = STATUSES.some(([v]) => v === p.status) ? p.status : '';
  const filters = Object.fromEntries(FIELDS.map(([k]) => [k, (p[k] ?? '').trim()]));
  const { from, to } = rangeOf(range);
  const cursor = p.cursor ?? '';
  // The cursors of the newer pages, in the link itself (`back`), so a reload or a shared link
  // pages back as well as the buttons do.
  const back = p.back ? p.back.split('~') : [];
  ctx.setQuery(query({ from, to, ...filters, status }));

  const form = h('form', { id: 'event-filters', class: 'controls', role: 'search' },
    FIELDS.map(([k, label]) => h('label', { for: `f-${k}` }, label,
      h('input', { id: `f-${k}`, name: k, value: filters[k], size: 12, autocomplete: 'off' }))),
    select('status', 'Status', STATUSES, status, () => {}),
    select('range', 'Range', RANGES, range, () => {}),
    select('page-size', 'Per page', SIZES, size, () => {}),
    h('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const patch = Object.fromEntries(FIELDS.map(([k]) => [k, String(f.get(k) ?? '').trim()]));
    ctx.setParams({
      ...patch, status: form.querySelector('#status').value, range: form.querySelector('#range').value,
      limit: form.querySelector('#page-size').value, cursor: '', back: '',
    });
  });
  const detail = h('section', { id: 'event-detail', class: 'card', tabindex: '-1', hidden: true, 'aria-label': 'The chosen event' });
  root.append(h('h1', {}, 'Events'), form);

  const { data } = await api(`/v1/events?${query({ from, to, ...filters, status, limit: size, cursor })}`);
  if (ctx.stale()) return;
  const rows = data.events.map((e) => {
    const open = () => openEvent(detail, e.id);
    return h('tr', {
      'data-id': e.id, class: 'clickable', tabindex: '0', 'aria-label': `Open event ${e.id}`,
      onclick: open,
      onkeydown: (k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); open(); } },
    },
    h('td', {}, time(Date.parse(e.ts))),
    h('td', { class: 'name' }, e.app ?? ''),
    h('td', { class: 'name hide-narrow' }, e.team ?? ''),
    h('td', { class: 'name' }, e.model ?? e.model_requested ?? ''),
    h('td', { class: 'hide-narrow' }, e.provider ?? ''),
    h('td', { class: `status-${e.status}` }, e.error_code ? `${e.status}: ${e.error_code}` : e.status),
    h('td', { class: 'num', 'data-col': 'tokens', 'data-value': (e.input_tokens ?? 0) + (e.output_tokens ?? 0) }, count((e.input_tokens ?? 0) + (e.output_tokens ?? 0))),
    h('td', { class: 'num', 'data-col': 'cost_usd', 'data-value': e.cost_usd ?? '' }, money(e.cost_usd)),
    h('td', { class: 'num', 'data-col': 'latency_ms', 'data-value': e.latency_ms }, ms(e.latency_ms)));
  });

  root.append(
    h('div', { class: 'card' }, h('table', { id: 'events' },
      h('caption', { class: 'muted small' }, 'Newest first. Choose a row to see the whole record.'),
      h('thead', {}, h('tr', {}, ['Time (UTC)', 'App', 'Team', 'Model', 'Provider', 'Status', 'Tokens', 'Cost', 'Latency']
        .map((t, i) => h('th', { scope: 'col', class: [2, 4].includes(i) ? 'hide-narrow' : (i >= 6 ? 'num' : null) }, t)))),
      h('tbody', {}, rows)),
    rows.length === 0 ? h('p', { class: 'empty' }, 'No events match.') : null),
    h('div', { class: 'pager' },
      h('button', {
        type: 'button', id: 'events-prev', class: 'quiet', disabled: !cursor,
        onclick: () => ctx.setParams({ cursor: back.at(-1) ?? '', back: back.slice(0, -1).join('~') }),
      }, '← Newer'),
      h('button', {
        type: 'button', id: 'events-next', class: 'quiet', disabled: !data.next_cursor,
        onclick: () => ctx.setParams({ cursor: data.next_cursor, back: [...back, cursor].join('~') }),
      }, 'Older →'),
      h('span', { class: 'muted small' }, `${rows.length} shown`)),
    detail);
}

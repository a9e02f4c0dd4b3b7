// Budgets: each budget's spend per scope against its limit this period, and where the period's
// pace leads by its end.
import { api } from '../api.js';
import { h } from '../dom.js';
import { money, percent, time } from '../format.js';

const STATE_TEXT = { ok: 'within', near: 'near the limit', over: 'over the limit' };

function scopeName(budget, scope) {
  if (budget.per === 'org' || scope.value === '') return 'whole organisation';
  return `${budget.per} ${scope.value}`;
}

export async function render(root, ctx) {
  const { data } = await api('/v1/budgets');
  if (ctx.stale()) return;
  root.append(h('h1', {}, 'Budgets'));
  if (data.budgets.length === 0) {
    root.append(h('p', { class: 'empty' }, 'No budgets: add them to the policy (', h('a', { href: '#/policy' }, 'Policy'), ').'));
    return;
  }
  root.append(
    h('p', { class: 'muted small' }, `Policy version ${data.policy_version}; spend as of ${time(data.as_of_ms)} UTC. The forecast continues the period's pace so far to its end (shown once a tenth of the period has passed).`),
    h('div', { class: 'card' }, h('table', { id: 'budgets' },
      h('thead', {}, h('tr', {}, ['Budget', 'Scope', 'Period', 'Spent', 'Limit', 'Used', '', 'Forecast', 'Mode'].map((t, i) => h('th', { scope: 'col', class: [3, 4, 5, 7].includes(i) ? 'num' : null }, t)))),
      h('tbody', {}, data.budgets.flatMap((b) => b.scopes.map((s) => {
        const used = b.limit_usd > 0 ? s.spent_usd / b.limit_usd : null;
        return h('tr', { 'data-budget': b.name, 'data-scope': s.value },
          h('th', { scope: 'row', class: 'name' }, b.name, h('div', { class: 'muted small' }, b.section)),
          h('td', { class: 'name' }, scopeName(b, s)),
          h('td', {}, `${b.period}, ends ${time(b.period_end_ms).slice(0, 16)} UTC`),
          h('td', { class: 'num', 'data-col': 'spent_usd', 'data-value': s.spent_usd }, money(s.spent_usd)),
          h('td', { class: 'num', 'data-col': 'limit_usd', 'data-value': b.limit_usd }, money(b.limit_usd)),
          h('td', { class: 'num', 'data-col': 'used_share', 'data-value': used ?? '' }, percent(used),
            h('div', { class: `state ${s.state}` }, STATE_TEXT[s.state] ?? s.state)),
          h('td', {}, h('span', { class: `bar ${s.state}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': b.limit_usd, 'aria-valuenow': s.spent_usd, 'aria-label': `${b.name}: ${percent(used)} of ${money(b.limit_usd)}` },
            h('span', { style: null, 'data-width': Math.min(100, (used ?? 0) * 100) }))),
          h('td', { class: 'num', 'data-col': 'forecast_usd', 'data-value': s.forecast_usd ?? '' },
            s.forecast_usd == null ? h('span', { title: 'shown once a tenth of the period has passed' }, '—') : money(s.forecast_usd),
            s.forecast_state ? h('div', { class: `state ${s.forecast_state}` }, STATE_TEXT[s.forecast_state] ?? s.forecast_state) : null),
          h('td', {}, b.mode));
      }))))));
  // Bar widths are set through the CSSOM (the page's CSP allows no inline style attributes).
  for (const bar of root.querySelectorAll('.bar > span[data-width]')) bar.style.width = `${bar.dataset.width}%`;
}

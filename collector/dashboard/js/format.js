// Numbers for people: $1.2k, 3.4M tokens, 12.5%, 850 ms. Every shown number also keeps its raw
// value in `data-value` (see `num`).

const SUFFIXES = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'k']];

function short(n, digits = 1) {
  const a = Math.abs(n);
  for (const [size, suffix] of SUFFIXES) {
    if (a >= size) return `${trim((n / size).toFixed(a / size >= 100 ? 0 : digits))}${suffix}`;
  }
  return null;
}

function trim(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A count: 950, 12.3k, 3.4M. */
export function count(n) {
  if (n === null || n === undefined) return '—';
  return short(n) ?? String(Math.round(n));
}

/** Dollars: $0, $0.0042, $12.34, $1.2k, $3.4M. */
export function money(n) {
  if (n === null || n === undefined) return '—';
  if (n === 0) return '$0';
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  const s = short(a, a >= 1e4 ? 1 : 2);
  if (s) return `${sign}$${s}`;
  if (a >= 0.1) return `${sign}$${a.toFixed(2)}`;
  if (a >= 0.01) return `${sign}$${a.toFixed(3)}`;
  return `${sign}$${a.toPrecision(2)}`;
}

/** A share (0–1) as a percentage. */
export function percent(n) {
  if (n === null || n === undefined) return '—';
  const p = n * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return '<0.1%';
  return `${trim(p.toFixed(p >= 10 ? 1 : 2))}%`;
}

/** Milliseconds: 850 ms, 1.2 s. */
export function ms(n) {
  if (n === null || n === undefined) return '—';
  if (n >= 10_000) return `${trim((n / 1000).toFixed(1))} s`;
  if (n >= 1000) return `${trim((n / 1000).toFixed(2))} s`;
  return `${Math.round(n)} ms`;
}

/** A time (ms since the epoch) in UTC: `2026-11-24 13:05:09`. */
export function time(t) {
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}

/** A signed change between two amounts, as a percentage (`null` when `before` is 0). */
export function change(now, before) {
  if (!before) return null;
  return (now - before) / before;
}

/** The formatter for a report column. */
export function formatterOf(col) {
  if (col === 'cost_usd' || col.endsWith('_usd')) return money;
  if (col.endsWith('_rate') || col.endsWith('_share')) return percent;
  if (col.startsWith('latency') || col.startsWith('ttft')) return ms;
  return count;
}

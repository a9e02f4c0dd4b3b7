// What a person reads: the text beside a `data-value` must be that number in the page's formats
// ($0.0042, $12.34, $1.2k; 950, 12.3k, 3.4M; 12.5%, <0.1%; 850 ms, 1.2 s; "—" for no value).
// The text is parsed back and must round to the raw value at the precision it shows (and stay
// within 5 % of it), so a wrong number, a wrong unit or a lost suffix fails.
import assert from 'node:assert/strict';

const MULT = { '': 1, k: 1e3, M: 1e6, B: 1e9, T: 1e12 };

/** Kinds of number: a pattern finding one in a text, and what a match stands for. */
const KINDS = {
  money: {
    re: /-?\$(\d+(?:\.\d+)?)([kMBT]?)(?![\w.])/g,
    read: (m) => ({ value: (m[0].startsWith('-') ? -1 : 1) * Number(m[1]) * MULT[m[2]], half: half(m[1]) * MULT[m[2]], suffix: m[2] }),
  },
  count: {
    re: /(?<![\w$.%-])(\d+(?:\.\d+)?)([kMBT]?)(?![\w.%]| ?m?s\b)/g,
    read: (m) => ({ value: Number(m[1]) * MULT[m[2]], half: half(m[1]) * MULT[m[2]], suffix: m[2] }),
  },
  percent: {
    re: /(<)?(\d+(?:\.\d+)?)%/g,
    read: (m) => (m[1] ? { below: Number(m[2]) / 100 } : { value: Number(m[2]) / 100, half: half(m[2]) / 100 }),
  },
  ms: {
    re: /(\d+(?:\.\d+)?) (ms|s)\b/g,
    read: (m) => ({ value: Number(m[1]) * (m[2] === 's' ? 1000 : 1), half: half(m[1]) * (m[2] === 's' ? 1000 : 1) }),
  },
};

/** Half a unit of the last digit a number text shows: "12.3" → 0.05, "950" → 0.5. */
function half(digits) {
  const dot = digits.indexOf('.');
  return 0.5 * 10 ** -(dot < 0 ? 0 : digits.length - dot - 1);
}

/** The kind of number a column or KPI holds (as the page formats it). */
export function kindOf(col) {
  if (col === 'cost' || col.startsWith('spend') || col.endsWith('_usd')) return 'money';
  if (col.endsWith('_rate') || col.endsWith('_share') || col === 'error-rate') return 'percent';
  if (col.startsWith('latency')) return 'ms';
  return 'count';
}

/**
 * Asserts `text` shows `raw` (a data-value string; '' = no value) as a number of `kind`.
 * Counts of 1000 and more must use a suffix (1.2k), money must carry `$`, rates `%`, times
 * `ms`/`s`; no value must show "—".
 */
export function assertShown(text, raw, kind, what) {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  if (raw === '' || raw === null || raw === undefined) {
    assert.ok(t.includes('—'), `${what}: no value (data-value="${raw ?? ''}") but the text is "${t}", not "—"`);
    return;
  }
  const v = Number(raw);
  const { re, read } = KINDS[kind];
  const found = [...t.matchAll(new RegExp(re.source, re.flags))].map(read);
  assert.ok(found.length > 0, `${what}: "${t}" shows no ${kind} number (data-value=${raw})`);
  const fits = (f) => {
    if (f.below !== undefined) return v > 0 && v < f.below;
    if (Math.abs(f.value - v) > f.half * (1 + 1e-9) + 1e-12) return false;
    if (v !== 0 && Math.abs(f.value - v) > 0.051 * Math.abs(v)) return false;
    if (kind === 'count' && Math.abs(v) >= 1000 && !f.suffix) return false;
    return true;
  };
  assert.ok(found.some(fits), `${what}: "${t}" does not show ${raw} as ${kind}${kind === 'count' && Math.abs(v) >= 1000 ? ' (1000 and more with a k/M suffix)' : ''}`);
}

// Time ranges the pickers offer, as absolute `[from, to)` in ms, and their time buckets.

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** `[value, label]` options of the range picker. */
export const RANGES = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['90d', 'Last 90 days']];
/** `[value, label]` options of the granularity picker. */
export const GRANULARITIES = [['hour', 'Hourly'], ['day', 'Daily']];

const LENGTHS = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '90d': 90 * DAY };

/**
 * `{from, to}` of a picked range ending now (30 days when the value is unknown), its start
 * moved back to a whole `align` (an hour, or a chart's bucket): the first bucket of a chart is
 * then whole, and the report reads whole hours and days from the rollups instead of the
 * events of a partial hour.
 */
export function rangeOf(value, now = Date.now(), align = HOUR) {
  const length = LENGTHS[value] ?? LENGTHS['30d'];
  const start = now - length;
  return { from: start - (start % align), to: now };
}

/** The length of a granularity's bucket. */
export function stepOf(granularity) {
  return granularity === 'hour' ? HOUR : DAY;
}

/** Ranges short enough to chart by the hour (30 days by hour and app is ~15k groups: slow to
 * compute and too dense to read). */
const HOURLY_RANGES = ['24h', '7d'];

/** The granularity to use: the picked one where the range allows it, else hourly for a day and
 * daily beyond. */
export function granularityOf(value, range) {
  if (value === 'day' || (value === 'hour' && HOURLY_RANGES.includes(range))) return value;
  return range === '24h' ? 'hour' : 'day';
}

/** The granularity picker's options for a range (`[value, label, disabled]`). */
export function granularityOptions(range) {
  return GRANULARITIES.map(([v, label]) => (v === 'hour' && !HOURLY_RANGES.includes(range) ? [v, `${label} (7 days at most)`, true] : [v, label]));
}

/** Every bucket start (ms) from the one holding `from` to the one holding `to - 1`. */
export function buckets(from, to, granularity) {
  const step = stepOf(granularity);
  const out = [];
  for (let t = from - (from % step); t < to; t += step) out.push(t);
  return out;
}

/** A report's bucket text (`2026-11-24` or RFC 3339) as ms. */
export function bucketTime(text) {
  return Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
}

/** Start of the UTC day / month holding `t`, and of the month before. */
export function startOfDay(t) {
  return t - (t % DAY);
}
export function startOfMonth(t) {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
export function startOfPreviousMonth(t) {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
}

/**
 * Requests as JSON text for the core. `JSON.stringify` writes a non-finite number (NaN,
 * ±Infinity) as `null`, which would send a different request than the one given; here such a
 * number reaches the core as the bare token `NaN` / `Infinity` / `-Infinity`, which the core's
 * request parser rejects with INVALID_REQUEST naming the field (one message in every language).
 */

import { randomUUID } from 'node:crypto';

/** What a non-finite number is written as first: a marker no real string holds, then its name. */
const MARK = `modelplug-non-finite-${randomUUID()}:`;
/** A marked number as `JSON.stringify` writes it: a quoted string. */
const MARKED = new RegExp(`"${MARK}(NaN|-?Infinity)"`, 'g');

/** Whether the current `requestJson` call met a non-finite number. */
let seen = false;

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    seen = true;
    return MARK + String(value);
  }
  return value;
}

/**
 * `request` as JSON text, non-finite numbers as bare tokens. The hot path is one plain
 * `JSON.stringify` (V8's fast path, which a replacer turns off): `JSON.stringify` writes a
 * non-finite number as `null`, so only a text that holds `null` can have had one, and only
 * that text is written again with the replacer (and rewritten only if one was seen).
 */
export function requestJson(request: unknown): string {
  const plain = JSON.stringify(request);
  if (!plain.includes('null')) return plain;
  seen = false;
  const text = JSON.stringify(request, replacer);
  return seen ? text.replace(MARKED, '$1') : text;
}

/**
 * Custom guardrails: JavaScript checks the core runs on every call (after the config's rules).
 * The core asks for a check through a threadsafe function (bindings-node/src/guardrails.rs)
 * that calls {@link NativeGuardrails.check} on the JS thread; it runs the user's function,
 * awaits it when it returns a Promise, and answers the verdict as JSON text — or, when the
 * check threw, only the thrown value's type name (its message may quote the checked text).
 * Timeouts and what a failure means (`fail`) are the core's.
 */

import type { CheckAnswer, GuardrailOptions } from './native';
import type { Guardrail, GuardrailInput, GuardrailVerdict } from './types';

/** Makes a custom guardrail's verdicts (a check may also answer `'block'`, `'warn'`, or nothing). */
export const Verdict = Object.freeze({
  /** Nothing to object to (the same as returning nothing). */
  pass(): { action: 'pass' } {
    return { action: 'pass' };
  },
  /** Stop the call: it fails with `GuardrailBlockedError` naming the guardrail. */
  block(): { action: 'block' } {
    return { action: 'block' };
  },
  /** Carry on; the outcome records a warning. */
  warn(): { action: 'warn' } {
    return { action: 'warn' };
  },
  /** Carry on with `texts` instead of the checked texts: one replacement per text, in order. */
  redact(texts: string[]): { action: 'redact'; texts: string[] } {
    return { action: 'redact', texts: [...texts] };
  },
});

/** A client's custom guardrails as the native constructor takes them. */
export interface NativeGuardrails {
  /** Each guardrail's settings, defaults applied. */
  options: GuardrailOptions[];
  /** Runs guardrail `index` on a check input (JSON text). Never rejects. */
  check: (index: number, inputJson: string) => Promise<CheckAnswer>;
}

const PASS = '{"action":"pass"}';

/** The verdict as the core's JSON (`{"action": ...}`); the core refuses what is not a verdict. */
function verdictJson(verdict: unknown): string {
  if (verdict === undefined || verdict === null) return PASS;
  if (typeof verdict === 'string') return JSON.stringify({ action: verdict });
  return JSON.stringify(verdict) ?? 'null';
}

/** The type name of a thrown value: its constructor's name (`TypeError`, a class), else its `typeof`. */
function kindOf(thrown: unknown): string {
  if (thrown === null) return 'null';
  if (typeof thrown !== 'object' && typeof thrown !== 'function') return typeof thrown;
  try {
    const name: unknown = (thrown as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? name : 'Object';
  } catch {
    return 'Object';
  }
}

/** Runs `check` on the input: its verdict's JSON, or what it threw (sync or async). */
async function run(check: Guardrail['check'], inputJson: string): Promise<CheckAnswer> {
  try {
    const verdict: unknown = await check(JSON.parse(inputJson) as GuardrailInput);
    return { verdict: verdictJson(verdict as GuardrailVerdict) };
  } catch (thrown) {
    return { raised: kindOf(thrown) };
  }
}

/** Checks one `options.guardrails` item's types (a wrong type is a TypeError) and applies the defaults. */
function optionsOf(g: Guardrail, i: number): GuardrailOptions {
  const where = `guardrails[${i}]`;
  if (g === null || typeof g !== 'object') throw new TypeError(`${where} must be an object, not ${g === null ? 'null' : typeof g}`);
  if (typeof g.name !== 'string') throw new TypeError(`${where}.name must be a string, not ${typeof g.name}`);
  if (typeof g.check !== 'function') throw new TypeError(`${where}.check must be a function, not ${typeof g.check}`);
  const { stage = 'input', timeoutMs = 1000, fail = 'closed' } = g;
  if (typeof stage !== 'string') throw new TypeError(`${where}.stage must be a string, not ${typeof stage}`);
  if (typeof timeoutMs !== 'number') throw new TypeError(`${where}.timeoutMs must be a number, not ${typeof timeoutMs}`);
  if (typeof fail !== 'string') throw new TypeError(`${where}.fail must be a string, not ${typeof fail}`);
  return { name: g.name, stage, timeoutMs, fail };
}

/** `options.guardrails` for the native constructor (`undefined` when there are none). */
export function nativeGuardrails(guardrails: readonly Guardrail[] | undefined | null): NativeGuardrails | undefined {
  if (guardrails === undefined || guardrails === null) return undefined;
  if (!Array.isArray(guardrails)) throw new TypeError(`guardrails must be an array, not ${typeof guardrails}`);
  if (guardrails.length === 0) return undefined;
  const options = guardrails.map(optionsOf);
  // The functions as they are now: later changes to the array or its objects do not count.
  const checks = guardrails.map((g) => g.check);
  return { options, check: (index, inputJson) => run(checks[index]!, inputJson) };
}

// The shared behaviour vectors (tests/vectors/*.json) through the public Node API.
import { after, before, test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client, isModelplugError, Verdict } from '../dist/index.js';
import { expandProviders, matches, REPO, startUpstream } from './helpers.mjs';

const dir = join(REPO, 'tests', 'vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const scratch = mkdtempSync(join(tmpdir(), 'modelplug-vectors-'));
const FLOATS = { NaN, Infinity, '-Infinity': -Infinity };
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

/** The case's request with every `{"$float": name}` as that JavaScript number. */
function hostRequest(value) {
  if (Array.isArray(value)) return value.map(hostRequest);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '$float') return FLOATS[value.$float];
  return Object.fromEntries(keys.map((k) => [k, hostRequest(value[k])]));
}

/** Blocks the JS thread for `ms` (a plain blocking function's sleep). */
function sleepBlocking(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What `behaviour` (tests/vectors/README.md, `custom_guardrails`) answers for `texts`, or throws. */
function decide(behaviour, texts) {
  const any = (needle) => texts.some((t) => t.includes(needle));
  if ('raise' in behaviour) throw new Error(behaviour.raise);
  if ('block_if_contains' in behaviour) return any(behaviour.block_if_contains) ? 'block' : undefined;
  if ('warn_if_contains' in behaviour) return any(behaviour.warn_if_contains) ? Verdict.warn() : Verdict.pass();
  if ('redact' in behaviour) {
    const { from, to } = behaviour.redact;
    return any(from) ? Verdict.redact(texts.map((t) => t.replaceAll(from, to))) : undefined;
  }
  if ('warn' in behaviour) return 'warn';
  return undefined;
}

/** The case's custom guardrails as JS guardrails: `async: true` as async functions (awaiting their sleep), else plain blocking ones. */
function customGuardrails(specs = []) {
  return specs.map((spec) => ({
    name: spec.name,
    stage: spec.stage,
    timeoutMs: spec.timeout_ms,
    fail: spec.fail,
    check: spec.async
      ? async ({ texts }) => {
        if (spec.behaviour.sleep_ms !== undefined) await sleep(spec.behaviour.sleep_ms);
        return decide(spec.behaviour, texts);
      }
      : ({ texts }) => {
        if (spec.behaviour.sleep_ms !== undefined) sleepBlocking(spec.behaviour.sleep_ms);
        return decide(spec.behaviour, texts);
      },
  }));
}

async function streamResult(stream) {
  const out = { text: '', reasoning: '', event_counts: {} };
  try {
    for await (const ev of stream) {
      out.event_counts[ev.type] = (out.event_counts[ev.type] ?? 0) + 1;
      if (ev.type === 'text_delta') out.text += ev.text;
      else if (ev.type === 'reasoning_delta') out.reasoning += ev.text;
      else if (ev.type === 'done') out.response = ev.response;
    }
  } catch (e) {
    if (!isModelplugError(e)) throw e;
    out.error = e.toJSON();
  }
  return out;
}

/** Reads `wanted` events, then gives up the Node way: `break` out of `for await`. */
async function cancelledStream(stream, wanted) {
  const out = { cancelled: true, events_read: 0, text: '' };
  if (wanted === 0) {
    stream.cancel();
    return out;
  }
  for await (const ev of stream) {
    out.events_read += 1;
    if (ev.type === 'text_delta') out.text += ev.text;
    if (out.events_read >= wanted) break;
  }
  return out;
}

/** Starts the call and aborts its AbortSignal `ms` later. */
async function cancelledCall(call, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return { response: await call({ signal: controller.signal }) };
  } catch (e) {
    if (controller.signal.aborted && isModelplugError(e) && e.code === 'CANCELLED') return { cancelled: true };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function callResult(client, c) {
  const request = hostRequest(c.request);
  const cancel = c.cancel;
  try {
    if (c.call === 'stream') {
      const stream = client.stream(request);
      return cancel ? await cancelledStream(stream, cancel.after_events) : await streamResult(stream);
    }
    const call = (options) => (c.call === 'chat' ? client.chat(request, options) : client.embed(request, options));
    return cancel ? await cancelledCall(call, cancel.after_ms) : { response: await call() };
  } catch (e) {
    if (!isModelplugError(e)) throw e;
    return { error: e.toJSON() };
  }
}

/** The client's usage events; after a cancellation, waits (up to 5 s) for the first one. */
async function usageOf(client, cancelled) {
  const deadline = Date.now() + 5000;
  while (cancelled && client.usage().length === 0 && Date.now() < deadline) await sleep(10);
  return client.usage();
}

async function runCase(c) {
  const scenario = c.upstream ? await upstream.scenario(c.upstream) : null;
  const base = scenario ? scenario.base : upstream.url;
  let result;
  let client;
  const options = { guardrails: customGuardrails(c.custom_guardrails) };
  try {
    if (c.config_yaml !== undefined) {
      const path = join(scratch, 'modelplug.yaml');
      writeFileSync(path, c.config_yaml.replaceAll('{upstream}', base));
      client = Client.fromConfig(path, options);
    } else {
      client = new Client(JSON.parse(JSON.stringify(c.config).replaceAll('{upstream}', base)), options);
    }
  } catch (e) {
    if (!isModelplugError(e)) throw e;
    result = { error: e.toJSON(), usage: [] };
  }
  if (client) {
    result = await callResult(client, c);
    result.usage = await usageOf(client, c.cancel !== undefined);
    await client.close();
  }
  // A cancelled call's connection is seen closed only at the mock's next write.
  if (scenario) {
    result.upstream_requests = c.cancel !== undefined ? await upstream.settledRequests(scenario.id) : await upstream.requests(scenario.id);
  }
  return result;
}

let count = 0;
for (const file of files) {
  for (const c of expandProviders(JSON.parse(readFileSync(join(dir, file), 'utf8')).cases)) {
    count += 1;
    test(`${file.replace('.json', '')}::${c.name}`, async () => {
      const result = await runCase(c);
      matches(c.expect, result);
      if (!('error' in c.expect) && result.error) throw new Error(`unexpected error ${JSON.stringify(result.error)}`);
    });
  }
}

test('every vector file was found', () => {
  if (count < 80) throw new Error(`only ${count} vectors`);
});

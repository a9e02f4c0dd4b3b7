// The JS/Rust boundary: the event loop keeps running during calls, 500 concurrent calls
// complete, aborting (mid-stream or mid-call) stops the upstream request, errors arrive as the
// right classes (across realms too), and the process exits by itself after close().
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import vm from 'node:vm';

import * as modelplug from '../dist/index.js';
import { configFor, startUpstream } from './helpers.mjs';

const { Client } = modelplug;
const USER = [{ role: 'user', content: 'hello boundary' }];
const SLOW_STREAM = { reply: { text: 'a long answer that arrives slowly, piece by piece, over the wire' }, chunk_bytes: 60, chunk_delay_ms: 60 };
const SLOW_BODY = { reply: { text: 'slow body' }, chunk_bytes: 16, chunk_delay_ms: 100 };
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

const clientFor = (base) => new Client(configFor(base));

test('the event loop keeps running while a call waits', async () => {
  const { base } = await upstream.scenario([{ echo: true, delay_ms: 300 }]);
  const client = clientFor(base);
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 5);
  const answer = await client.chat({ model: 'm', messages: USER });
  clearInterval(timer);
  assert.equal(answer.text, 'hello boundary');
  assert.ok(ticks >= 20, `only ${ticks} timer ticks during a 300 ms call`);
});

test('500 concurrent calls complete', async () => {
  const { id, base } = await upstream.scenario([{ echo: true }]);
  const client = clientFor(base);
  const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => client.chat({ model: 'm', messages: [{ role: 'user', content: `call ${i}` }] })));
  assert.deepEqual(answers.map((a) => a.text), Array.from({ length: 500 }, (_, i) => `call ${i}`));
  assert.equal((await upstream.requests(id)).length, 500);
});

test('aborting mid-stream stops the upstream request', async () => {
  const { id, base } = await upstream.scenario([SLOW_STREAM]);
  const controller = new AbortController();
  const stream = clientFor(base).stream({ model: 'm', messages: USER }, { signal: controller.signal });
  const seen = [];
  await assert.rejects(async () => {
    for await (const ev of stream) {
      seen.push(ev.type);
      if (seen.length === 1) setTimeout(() => controller.abort(), 10);
    }
  }, modelplug.CancelledError);
  assert.equal(seen[0], 'text_delta');
  assert.ok(await upstream.waitForAbort(id), 'the upstream never saw the client go away');
  assert.equal(stream.response, undefined);
});

test('breaking out of a stream stops the upstream request', async () => {
  const { id, base } = await upstream.scenario([SLOW_STREAM]);
  for await (const ev of clientFor(base).stream({ model: 'm', messages: USER })) {
    assert.equal(ev.type, 'text_delta');
    break;
  }
  assert.ok(await upstream.waitForAbort(id));
});

test('aborting a chat call cancels its request', async () => {
  const { id, base } = await upstream.scenario([SLOW_BODY]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 250);
  await assert.rejects(clientFor(base).chat({ model: 'm', messages: USER }, { signal: controller.signal }), (e) => e instanceof modelplug.CancelledError && e.code === 'CANCELLED');
  assert.ok(await upstream.waitForAbort(id));
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(clientFor(base).chat({ model: 'm', messages: USER }, { signal: aborted.signal }), modelplug.CancelledError);
});

test('errors arrive as the right classes, realm-safe', async () => {
  const { base } = await upstream.scenario([{ status: 429, error: { message: 'slow down', code: 'rate_limit_exceeded' }, headers: { 'retry-after': '2' } }]);
  const error = await clientFor(base).chat({ model: 'm', messages: USER }).catch((e) => e);
  assert.ok(error instanceof modelplug.RateLimitError);
  assert.ok(error instanceof modelplug.ModelplugError);
  assert.ok(error instanceof Error);
  assert.ok(!(error instanceof modelplug.TimeoutError));
  assert.equal(error.code, 'RATE_LIMITED');
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 2);
  assert.equal(error.provider, 'openai');
  assert.deepEqual(error.attempts.map((a) => a.error), ['RATE_LIMITED']);
  assert.equal(String(error), '[RATE_LIMITED] openai: slow down (HTTP 429)');
  // An error object from another realm (a vm context) still passes both checks.
  const foreign = vm.runInNewContext('e = new Error("x"); e[Symbol.for("modelplug.error")] = true; e.code = "RATE_LIMITED"; e');
  assert.ok(modelplug.isModelplugError(foreign));
  assert.ok(foreign instanceof modelplug.RateLimitError);
  assert.ok(!(foreign instanceof modelplug.NotFoundError));
  assert.equal(modelplug.errorClass('CONTEXT_LENGTH_EXCEEDED'), modelplug.ContextLengthExceededError);
});

test('a closed client rejects calls, and the process exits by itself after close()', async () => {
  const { base } = await upstream.scenario([{ echo: true }]);
  const client = clientFor(base);
  await client.chat({ model: 'm', messages: USER });
  await client.close();
  assert.ok(client.closed);
  await assert.rejects(client.chat({ model: 'm', messages: USER }), modelplug.CancelledError);

  const script = `
    const { Client } = require(${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)});
    const client = new Client({ models: [{ name: 'm', deployments: [{ provider: 'openai', model: 'x', api_key: 'k', base_url: ${JSON.stringify(base + '/v1')} }] }] });
    (async () => {
      const r = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'from the child' }] });
      for await (const _ of client.stream({ model: 'm', messages: [{ role: 'user', content: 'x' }] })) {}
      await client.close();
      console.log(r.text);
    })();`;
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 20000, encoding: 'utf8' });
  assert.equal(child.error, undefined, 'the child process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'from the child');
});

test('a bad MODELPLUG_WORKER_THREADS is the constructor\'s ConfigError', () => {
  const script = `
    const { Client, ConfigError } = require(${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)});
    try { new Client(); } catch (e) { console.log(e instanceof ConfigError, e.code, e.message); }`;
  const child = spawnSync(process.execPath, ['-e', script], {
    timeout: 20000,
    encoding: 'utf8',
    env: { ...process.env, MODELPLUG_WORKER_THREADS: 'two' },
  });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /^true CONFIG .*MODELPLUG_WORKER_THREADS must be a whole number/);
});

test('the ESM and CommonJS entry points share one set of classes', async () => {
  const esm = await import('modelplug');
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('modelplug');
  assert.equal(esm.Client, cjs.Client);
  assert.equal(esm.RateLimitError, modelplug.RateLimitError);
  assert.equal(esm.default.Client, cjs.Client);
});

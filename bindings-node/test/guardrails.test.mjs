// Custom guardrails written in JavaScript: what a check is asked and may answer, what an
// exception means, the settings the core refuses, and the boundary — a check runs on the JS
// thread without blocking the event loop or the core's threads, a timed-out check does not
// wedge the client, and a client with guardrails never keeps the process alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import ts from 'typescript';

import { Client, ConfigError, GuardrailBlockedError, Verdict } from '../dist/index.js';
import { REPO } from './helpers.mjs';

const DIST = new URL('../dist/index.js', import.meta.url).pathname;
const CONFIG = { app: 'guardrail-tests', models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'mock-1' }] }] };
const ask = (content) => ({ model: 'm', messages: [{ role: 'user', content }] });
const withGuardrails = (...guardrails) => new Client(CONFIG, { guardrails });

/** The outcomes of `client`'s last call, from its usage event. */
const lastOutcomes = (client) => client.usage().at(-1).guardrails;

test('a check gets the name, stage, texts and model; the outcomes are on the response and the usage event', async () => {
  const seen = [];
  const client = withGuardrails({ name: 'spy', stage: 'both', check: (input) => { seen.push(input); } });
  const answer = await client.chat({ model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }] });
  assert.deepEqual(seen, [
    { name: 'spy', stage: 'input', texts: ['be brief', 'hello'], model: 'm' },
    { name: 'spy', stage: 'output', texts: ['hello'], model: 'm' },
  ]);
  const outcomes = [{ name: 'spy', stage: 'input', action: 'pass', count: 0 }, { name: 'spy', stage: 'output', action: 'pass', count: 0 }];
  assert.deepEqual(answer.guardrails, outcomes);
  assert.deepEqual(lastOutcomes(client), outcomes);
  await client.close();
});

test('every verdict form: nothing, strings, Verdict helpers, plain objects, Promises', async () => {
  const cases = [
    [() => undefined, 'pass'],
    [() => null, 'pass'],
    [() => 'pass', 'pass'],
    [() => Verdict.pass(), 'pass'],
    [() => 'warn', 'warn'],
    [() => Verdict.warn(), 'warn'],
    [() => ({ action: 'warn' }), 'warn'],
    [async () => { await sleep(5); return 'warn'; }, 'warn'],
    [() => Promise.resolve(Verdict.warn()), 'warn'],
    [({ texts }) => Verdict.redact(texts.map((t) => t.toUpperCase())), 'redact'],
    [() => 'block', 'block'],
    [async () => Verdict.block(), 'block'],
  ];
  for (const [check, action] of cases) {
    const client = withGuardrails({ name: 'g', check });
    const result = await client.chat(ask('hello')).catch((e) => e);
    if (action === 'block') {
      assert.ok(result instanceof GuardrailBlockedError, `${check}: ${result}`);
      assert.match(result.message, /custom guardrail `g` blocked the request/);
    } else {
      assert.deepEqual(result.guardrails, [{ name: 'g', stage: 'input', action, count: action === 'pass' ? 0 : 1 }], String(check));
      assert.equal(result.text, action === 'redact' ? 'HELLO' : 'hello');
    }
    await client.close();
  }
});

test('redaction reaches the provider; guardrails run in order, each on the texts the previous one left', async () => {
  const seen = [];
  const client = withGuardrails(
    { name: 'first', check: ({ texts }) => Verdict.redact(texts.map((t) => t.replace('secret', '[S]'))) },
    { name: 'second', check: ({ texts }) => { seen.push(...texts); return 'warn'; } },
  );
  const answer = await client.chat(ask('my secret plan'));
  assert.equal(answer.text, 'my [S] plan'); // the mock echoes what it received
  assert.deepEqual(seen, ['my [S] plan']);
  assert.deepEqual(answer.guardrails.map((o) => [o.name, o.action]), [['first', 'redact'], ['second', 'warn']]);
  await client.close();
});

test('embeddings inputs are checked too; their response has the outcomes', async () => {
  const client = withGuardrails({ name: 'inputs', check: ({ texts }) => (texts.length === 2 ? 'warn' : 'block') });
  const answer = await client.embed({ model: 'm', input: ['a', 'b'] });
  assert.equal(answer.embeddings.length, 2);
  assert.deepEqual(answer.guardrails, [{ name: 'inputs', stage: 'input', action: 'warn', count: 1 }]);
  await client.close();
  const plain = new Client(CONFIG);
  assert.deepEqual((await plain.embed({ model: 'm', input: 'a' })).guardrails, []);
  assert.deepEqual((await plain.chat(ask('x'))).guardrails, []);
  await plain.close();
});

test('an output check on a stream: its outcome is on the done response', async () => {
  const client = withGuardrails({ name: 'watch', stage: 'output', check: async ({ texts }) => { await sleep(20); return texts[0] === 'streamed text' ? 'warn' : 'block'; } });
  const stream = client.stream(ask('streamed text'));
  const response = await stream.finalResponse();
  assert.equal(response.text, 'streamed text');
  assert.deepEqual(response.guardrails, [{ name: 'watch', stage: 'output', action: 'warn', count: 1 }]);
  await client.close();
});

class LeakyCheckError extends Error {}

test('a throwing check: only the type name reaches the error and the outcome, never the message', async () => {
  const throwers = [
    [() => { throw new LeakyCheckError('the user said hello'); }, 'LeakyCheckError'],
    [async () => { throw new TypeError('hello again'); }, 'TypeError'],
    [() => Promise.reject(new RangeError('hello')), 'RangeError'],
    [() => { throw 'hello as a string'; }, 'string'], // eslint-disable-line no-throw-literal
    [() => { throw Object.create(null); }, 'Object'],
  ];
  for (const [check, kind] of throwers) {
    const closed = withGuardrails({ name: 'thrower', check });
    const error = await closed.chat(ask('hello')).catch((e) => e);
    assert.ok(error instanceof GuardrailBlockedError, String(error));
    assert.match(error.message, new RegExp(`custom guardrail \`thrower\` failed \\(raised ${kind}\\) and fails closed`));
    assert.doesNotMatch(error.message, /hello/);
    assert.deepEqual(lastOutcomes(closed), [{ name: 'thrower', stage: 'input', action: 'block', count: 1 }]);
    await closed.close();

    const open = withGuardrails({ name: 'thrower', fail: 'open', check });
    const answer = await open.chat(ask('hello'));
    assert.deepEqual(answer.guardrails, [{ name: 'thrower', stage: 'input', action: 'error', count: 1 }]);
    await open.close();
  }
});

test('an answer that is not a verdict fails the check like an exception', async () => {
  for (const check of [() => 'maybe', () => 42, () => ({ action: 'redact', texts: ['one', 'two'] }), () => () => 'block']) {
    const client = withGuardrails({ name: 'odd', fail: 'open', check });
    assert.deepEqual((await client.chat(ask('hello'))).guardrails, [{ name: 'odd', stage: 'input', action: 'error', count: 1 }], String(check));
    await client.close();
  }
  const client = withGuardrails({ name: 'odd', check: () => ({ action: 'redact', texts: [] }) });
  await assert.rejects(client.chat(ask('hello')), /custom guardrail `odd` failed \(answered `redact` with 0 texts for 1\) and fails closed/);
  await client.close();
});

test('settings: the core refuses a bad stage, fail mode or timeout (ConfigError); wrong types are TypeErrors', () => {
  const check = () => undefined;
  for (const [g, message] of [
    [{ name: 'g', stage: 'sideways', check }, /`stage` must be `input`, `output` or `both`, not `sideways`/],
    [{ name: 'g', fail: 'maybe', check }, /`fail` must be `open` or `closed`, not `maybe`/],
    [{ name: 'g', timeoutMs: 0, check }, /`timeout_ms` must be at least 1/],
    [{ name: 'g', timeoutMs: -5, check }, /`timeoutMs` must be a finite number of milliseconds, got -5/],
    [{ name: 'g', timeoutMs: NaN, check }, /`timeoutMs` must be a finite number/],
    [{ name: ' ', check }, /needs a name/],
  ]) {
    assert.throws(() => withGuardrails(g), (e) => e instanceof ConfigError && message.test(e.message), JSON.stringify(g));
  }
  for (const g of [{ name: 'g' }, { name: 'g', check: 'pass' }, { check }, { name: 'g', timeoutMs: '50', check }, { name: 'g', stage: 1, check }, null]) {
    assert.throws(() => withGuardrails(g), TypeError, JSON.stringify(g));
  }
  assert.throws(() => new Client(CONFIG, { guardrails: check }), TypeError);
  // A fraction of a millisecond rounds up.
  withGuardrails({ name: 'g', timeoutMs: 0.5, check }).close();
});

test('Client.fromConfig takes guardrails too; they run after the config\'s rules', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mp-guardrails-')), 'modelplug.yaml');
  writeFileSync(path, 'models:\n  - name: m\n    deployments: [{provider: mock, model: mock-1}]\nguardrails:\n  - {name: no-pii, kind: pii, stage: input, action: redact}\n');
  const seen = [];
  const client = Client.fromConfig(path, { guardrails: [{ name: 'after-pii', check: ({ texts }) => { seen.push(...texts); } }] });
  const answer = await client.chat(ask('mail jane.doe@example.com'));
  assert.deepEqual(seen, ['mail [EMAIL]']);
  assert.deepEqual(answer.guardrails.map((o) => o.name), ['no-pii', 'after-pii']);
  await client.close();
});

test('while a slow check waits, the event loop runs and other calls on the client and on other clients complete', async () => {
  const client = withGuardrails({
    name: 'slow-for-some',
    timeoutMs: 5000,
    check: async ({ texts }) => { if (texts.some((t) => t.includes('slow'))) await sleep(400); },
  });
  const other = new Client(CONFIG);
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 5);
  const order = [];
  const started = Date.now();
  const slow = client.chat(ask('slow one')).then(() => order.push('slow'));
  await sleep(20); // the slow check is running
  await client.chat(ask('fast one')).then(() => order.push('fast, same client'));
  await other.chat(ask('fast one')).then(() => order.push('fast, other client'));
  const fastDone = Date.now() - started;
  await slow;
  clearInterval(timer);
  assert.deepEqual(order, ['fast, same client', 'fast, other client', 'slow']);
  assert.ok(fastDone < 300, `the fast calls took ${fastDone} ms`);
  assert.ok(ticks >= 30, `only ${ticks} timer ticks during a 400 ms check`);
  await Promise.all([client.close(), other.close()]);
});

/** Runs `script` (CommonJS, with DIST and CONFIG defined) in a fresh process; it must exit by itself. */
function runChild(script, env = {}) {
  const prelude = `const DIST = ${JSON.stringify(DIST)}; const CONFIG = ${JSON.stringify(CONFIG)};`;
  const child = spawnSync(process.execPath, ['-e', prelude + script], { timeout: 30_000, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(child.error, undefined, 'the process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim().split('\n');
}

test('a pending check holds no core thread: with one worker thread, other calls complete meanwhile', () => {
  const lines = runChild(`
    const { Client } = require(DIST);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const client = new Client(CONFIG, { guardrails: [{ name: 'slow', timeoutMs: 5000,
      check: async ({ texts }) => { if (texts[0] === 'slow') await sleep(500); } }] });
    (async () => {
      const slow = client.chat({ model: 'm', messages: [{ role: 'user', content: 'slow' }] }).then(() => console.log('slow'));
      await sleep(50);
      const fast = [];
      for (let i = 0; i < 10; i++) fast.push(client.chat({ model: 'm', messages: [{ role: 'user', content: 'fast' }] }));
      await Promise.all(fast);
      console.log('10 fast');
      await slow;
      await client.close();
    })();`, { MODELPLUG_WORKER_THREADS: '1' });
  assert.deepEqual(lines, ['10 fast', 'slow']);
});

test('a check that never settles times out without wedging the client; close() still resolves', async () => {
  let started = 0;
  const client = withGuardrails({ name: 'stuck', timeoutMs: 50, fail: 'open', check: () => { started += 1; return new Promise(() => {}); } });
  const t0 = Date.now();
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => client.chat(ask(`call ${i}`))));
  assert.ok(Date.now() - t0 < 2000, `20 timed-out checks took ${Date.now() - t0} ms`);
  assert.equal(started, 20);
  assert.deepEqual(new Set(answers.map((a) => a.guardrails[0].action)), new Set(['error']));
  // A blocking check that overruns its timeout: the call fails closed once the thread is free again.
  const blocking = withGuardrails({ name: 'blocking', timeoutMs: 20, check: () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); } });
  await assert.rejects(blocking.chat(ask('x')), /custom guardrail `blocking` failed \(timed out after 20 ms\) and fails closed/);
  assert.equal((await client.chat(ask('still working'))).text, 'still working');
  await Promise.all([client.close(), blocking.close()]);
});

test('a client with guardrails never keeps the process alive: closed, left open, or with a check that never settles', () => {
  for (const how of ['close', 'leave open']) {
    const lines = runChild(`
      const { Client } = require(DIST);
      const client = new Client(CONFIG, { guardrails: [
        { name: 'ok', stage: 'both', check: async () => 'warn' },
        { name: 'stuck', timeoutMs: 100, fail: 'open', check: () => new Promise(() => {}) },
      ] });
      (async () => {
        const answer = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'bye' }] });
        console.log(answer.guardrails.map((o) => o.name + ':' + o.action).join(' '));
        ${how === 'close' ? 'await client.close();' : ''}
      })();`);
    assert.deepEqual(lines, ['ok:warn stuck:error ok:warn'], how);
  }
});

test('a Worker\'s client with guardrails; terminating the Worker mid-check leaves the main thread working', () => {
  const worker = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Client } = require(workerData.dist);
    const client = new Client(workerData.config, { guardrails: [{ name: 'w', timeoutMs: 10000,
      check: ({ texts }) => (texts[0] === 'hang' ? new Promise(() => {}) : 'warn') }] });
    (async () => {
      const answer = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'in the worker' }] });
      parentPort.postMessage(answer.guardrails[0].action);
      client.chat({ model: 'm', messages: [{ role: 'user', content: 'hang' }] });
      setTimeout(() => parentPort.postMessage('hanging'), 50);
    })();`;
  const lines = runChild(`
    const { Worker } = require('node:worker_threads');
    const { Client } = require(DIST);
    const worker = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: { dist: DIST, config: CONFIG } });
    worker.on('message', async (m) => {
      console.log(m);
      if (m !== 'hanging') return;
      console.log('worker exit ' + (await worker.terminate()));
      const client = new Client(CONFIG, { guardrails: [{ name: 'main', check: () => 'warn' }] });
      const answer = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'main' }] });
      console.log(answer.text + ' ' + answer.guardrails[0].action);
      await client.close();
    });`);
  assert.deepEqual(lines, ['warn', 'hanging', 'worker exit 1', 'main warn']);
});

test('the declared types: GuardrailOutcome covers the schema; guardrails and verdicts type-check as documented', () => {
  const schema = JSON.parse(readFileSync(join(REPO, 'schema', 'usage-event.schema.json'), 'utf8'));
  const types = new URL('../dist/types.d.ts', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'mp-guardrail-types-'));
  const file = join(dir, 'use.ts');
  writeFileSync(file, `
    import { Client, Verdict, type ChatResponse, type Guardrail, type GuardrailOutcome } from ${JSON.stringify(DIST.replace(/\.js$/, ''))};
    const sync: Guardrail = { name: 'a', check: ({ texts }) => (texts.some((t) => t.includes('x')) ? 'block' : undefined) };
    const redacting: Guardrail = { name: 'b', stage: 'both', timeoutMs: 200, fail: 'open', check: async ({ texts }) => Verdict.redact(texts) };
    const nothing: Guardrail = { name: 'c', check: () => {} };
    const client = new Client(undefined, { guardrails: [sync, redacting, nothing, { name: 'd', check: () => Verdict.warn() }] });
    export async function use(): Promise<GuardrailOutcome[]> {
      const r: ChatResponse = await client.chat({ model: 'openai/gpt-4o', messages: [] });
      const e = await client.embed({ model: 'openai/text-embedding-3-small', input: 'x' });
      return [...r.guardrails, ...e.guardrails, ...client.usage()[0]!.guardrails];
    }
    // @ts-expect-error: not a stage
    export const badStage: Guardrail = { name: 'e', stage: 'sideways', check: () => 'pass' };
    // @ts-expect-error: not a verdict
    export const badVerdict: Guardrail = { name: 'f', check: () => 'allow' };
  `);
  const program = ts.createProgram([file, types], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, skipLibCheck: true, types: ['node'], typeRoots: [join(REPO, 'bindings-node', 'node_modules', '@types')] });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
  const checker = program.getTypeChecker();
  const declaration = program.getSourceFile(types).statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'GuardrailOutcome');
  const props = checker.getTypeAtLocation(declaration.name).getProperties().map((p) => p.name).sort();
  assert.deepEqual(props, Object.keys(schema.$defs.GuardrailOutcome.properties).sort());
});

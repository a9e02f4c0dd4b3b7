// Usage leaving the process: onUsage (events as objects on the JS thread, exceptions reported as
// warnings), flush(), the close at process exit (child processes that never close their
// client), the caller's OpenTelemetry trace context on events, and the declared event type
// against the collector's JSON Schema.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import ts from 'typescript';

import { Client, InvalidRequestError } from '../dist/index.js';
import { REPO, startUpstream } from './helpers.mjs';

const DIST = new URL('../dist/index.js', import.meta.url).pathname;
const MODELS = [{ name: 'm', deployments: [{ provider: 'mock', model: 'echo' }] }];
const HI = [{ role: 'user', content: 'hi' }];
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

async function receiver() {
  const r = await fetch(`${upstream.url}/_receiver`, { method: 'POST', body: '{}' });
  return r.json();
}

async function received(id) {
  return (await fetch(`${upstream.url}/_receiver/${id}`)).json();
}

/** A config reporting to `url`; an hour between batches: only a flush or a close sends. */
function collectorConfig(url) {
  return { app: 'delivery-tests', collector: { url, key: 'k', spool_dir: mkdtempSync(join(tmpdir(), 'mp-spool-')), flush_interval_ms: 3_600_000 }, models: MODELS };
}

test('onUsage gets every event as an object, on the JS thread; flush() resolves after it had them all', async () => {
  const seen = [];
  const client = new Client({ app: 'cb', models: MODELS }, { onUsage: (e) => seen.push(e) });
  await client.chat({ model: 'm', messages: HI, metadata: { labels: { experiment: 'exp-42' } } });
  for await (const event of client.stream({ model: 'm', messages: HI })) void event;
  await client.embed({ model: 'm', input: ['a', 'b'] });
  await client.flush();
  assert.deepEqual(seen.map((e) => [e.operation, e.stream]), [['chat', false], ['chat', true], ['embeddings', false]]);
  assert.deepEqual(seen[0].labels, { experiment: 'exp-42' });
  assert.deepEqual(seen, client.usage());
  await client.close();
});

test('Client.fromConfig takes onUsage too, and close() delivers what is left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-config-'));
  const path = join(dir, 'modelplug.yaml');
  writeFileSync(path, 'app: from-file\nmodels:\n  - name: m\n    deployments: [{provider: mock, model: echo}]\n');
  const seen = [];
  const client = Client.fromConfig(path, { onUsage: (e) => seen.push(e) });
  await client.chat({ model: 'm', messages: HI });
  await client.close();
  assert.deepEqual(seen.map((e) => e.app), ['from-file']);
});

test('an exception thrown by onUsage is a process warning; calls and later events go on', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    let calls = 0;
    const client = new Client({ models: MODELS }, { onUsage: () => { calls += 1; throw new Error('the callback broke'); } });
    for (let i = 0; i < 3; i++) assert.equal((await client.chat({ model: 'm', messages: HI })).text, 'hi');
    await client.flush();
    assert.equal(calls, 3);
    await client.chat({ model: 'm', messages: HI });
    await client.flush();
    assert.equal(calls, 4);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    const ours = warnings.filter((w) => w.code === 'MODELPLUG_ON_USAGE');
    assert.equal(ours.length, 4);
    assert.match(ours[0].message, /the callback broke/);
    await client.close();
  } finally {
    process.off('warning', onWarning);
  }
});

test('onUsage must be a function', () => {
  assert.throws(() => new Client({ models: MODELS }, { onUsage: 'console.log' }), TypeError);
});

test('flush() delivers buffered events to the collector', async () => {
  const { id, url } = await receiver();
  const client = new Client(collectorConfig(url));
  await Promise.all(Array.from({ length: 5 }, () => client.chat({ model: 'm', messages: HI })));
  await client.flush(10_000);
  const got = await received(id);
  assert.equal(got.events.length, 5);
  assert.equal(got.duplicates, 0);
  assert.deepEqual(new Set(got.events.map((e) => e.id)), new Set(client.usage().map((e) => e.id)));
  await client.close();
});

test('flush() rejects a negative timeout', async () => {
  const client = new Client({ models: MODELS });
  await assert.rejects(client.flush(-1), InvalidRequestError);
  await client.close();
});

/** Runs `script` (CommonJS) in a fresh process; it must exit by itself, successfully. */
function runChild(script, ...args) {
  const child = spawnSync(process.execPath, ['-e', script, ...args], { timeout: 60_000, encoding: 'utf8' });
  assert.equal(child.error, undefined, 'the process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim();
}

const EXIT_CHILD = `
  const { Client } = require(${JSON.stringify(DIST)});
  const [url, spool, n, how] = process.argv.slice(1);
  let delivered = 0;
  // Registered before the clients' own exit listener, so it runs first.
  process.on('exit', () => console.log('delivered', delivered, 'closed', clients.map((c) => c.closed).join()));
  const client = (app) => new Client({
    app,
    collector: { url, key: 'k', spool_dir: spool + '/' + app, flush_interval_ms: 3600000 },
    models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'echo' }] }],
  }, { onUsage: () => { delivered += 1; } });
  const clients = [client('exit-flush-a'), client('exit-flush-b')];
  (async () => {
    for (let i = 0; i < Number(n); i++) await clients[i % 2].chat({ model: 'm', messages: [{ role: 'user', content: 'call ' + i }] });
    console.log('done');
    if (how === 'process.exit') process.exit(0);
    // Otherwise the event loop runs dry: no close(), no flush().
  })();
`;

/** Asserts that receiver `id` got `n` distinct events, half from each client of EXIT_CHILD. */
async function assertAllDelivered(id, n) {
  const got = await received(id);
  assert.equal(got.events.length, n);
  assert.equal(got.duplicates, 0);
  const apps = got.events.map((e) => e.app);
  assert.deepEqual([apps.filter((a) => a === 'exit-flush-a').length, apps.filter((a) => a === 'exit-flush-b').length], [n / 2, n / 2]);
}

test('usage is flushed when the event loop runs dry (beforeExit), without close()', async () => {
  const { id, url } = await receiver();
  const out = runChild(EXIT_CHILD, url, mkdtempSync(join(tmpdir(), 'mp-spool-')), '20', 'drain');
  // beforeExit closed the clients, asynchronously: onUsage still had every event.
  assert.deepEqual(out.split('\n'), ['done', 'delivered 20 closed true,true']);
  await assertAllDelivered(id, 20);
});

test('usage is flushed on process.exit() (a synchronous close on exit)', async () => {
  const { id, url } = await receiver();
  const out = runChild(EXIT_CHILD, url, mkdtempSync(join(tmpdir(), 'mp-spool-')), '20', 'process.exit');
  const lines = out.split('\n');
  assert.equal(lines[0], 'done');
  assert.match(lines[1], /closed false,false$/); // still open when exit began: closed by the exit listener
  await assertAllDelivered(id, 20);
});

test('calls inside an active OpenTelemetry span carry its traceparent; outside, none', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    const tracer = new BasicTracerProvider().getTracer('modelplug-tests');
    const client = new Client({ models: MODELS });
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const expected = await tracer.startActiveSpan('outer', async (span) => {
      await client.chat({ model: 'm', messages: HI });
      for await (const event of client.stream({ model: 'm', messages: HI })) void event;
      await client.embed({ model: 'm', input: 'x' });
      await client.chat({ model: 'm', messages: HI, metadata: { labels: { k: 'v' } } });
      await client.chat({ model: 'm', messages: HI, metadata: { traceparent: own } }); // the request's own wins
      span.end();
      const { traceId, spanId, traceFlags } = span.spanContext();
      return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
    });
    await client.chat({ model: 'm', messages: HI }); // outside the span
    assert.match(expected, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const events = client.usage();
    assert.deepEqual(events.map((e) => e.traceparent), [expected, expected, expected, expected, own, undefined]);
    assert.deepEqual(events[3].labels, { k: 'v' });
    await client.close();
  } finally {
    context.disable();
    manager.disable();
  }
  assert.equal(trace.getActiveSpan(), undefined);
});

test('the declared UsageRecord and Metadata types cover the usage event schema and the new metadata fields', () => {
  const schema = JSON.parse(readFileSync(join(REPO, 'schema', 'usage-event.schema.json'), 'utf8'));
  const file = new URL('../dist/types.d.ts', import.meta.url).pathname;
  const program = ts.createProgram([file], { strict: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const props = (name) => {
    const declaration = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === name);
    assert.ok(declaration, `${name} is not declared`);
    return checker.getTypeAtLocation(declaration.name).getProperties().map((p) => p.name).sort();
  };
  assert.deepEqual(props('UsageRecord'), Object.keys(schema.properties).sort());
  assert.deepEqual(props('CapturedContent'), Object.keys(schema.$defs.CapturedContent.properties).sort());
  assert.deepEqual(props('Metadata'), ['app', 'labels', 'tags', 'team', 'traceparent', 'user']);
});

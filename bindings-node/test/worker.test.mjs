// worker_threads: a Worker that loads the package gets a client of its own that works while the
// main thread's does, and the process exits by itself once both are closed — also when a
// worker is terminated with a call in flight.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { configFor, startUpstream } from './helpers.mjs';

const DIST = new URL('../dist/index.js', import.meta.url).pathname;
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

/** Runs `script` (CommonJS) in a fresh process with `config` and returns its stdout lines. */
function run(script, config) {
  const prelude = `const DIST = ${JSON.stringify(DIST)}; const CONFIG = ${JSON.stringify(config)};`;
  const child = spawnSync(process.execPath, ['-e', prelude + script], { timeout: 30000, encoding: 'utf8' });
  assert.equal(child.error, undefined, 'the process did not exit by itself');
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim().split('\n');
}

/** The worker's code: a chat (ask: how long the upstream waits), then close; posts the answer. */
const WORKER = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { Client } = require(workerData.dist);
  (async () => {
    const client = new Client(workerData.config);
    parentPort.postMessage('started');
    const answer = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'from the worker' }] });
    await client.close();
    parentPort.postMessage(answer.text);
  })().catch((e) => parentPort.postMessage('failed: ' + e));`;

test('a Worker and the main thread each use a client; the process exits after both close', async () => {
  const { id, base } = await upstream.scenario([{ echo: true, delay_ms: 100 }]);
  const lines = run(`
    const { Worker } = require('node:worker_threads');
    const { Client } = require(DIST);
    const worker = new Worker(${JSON.stringify(WORKER)}, { eval: true, workerData: { dist: DIST, config: CONFIG } });
    const answers = [];
    const fromWorker = new Promise((resolve, reject) => {
      worker.on('message', (m) => { if (m !== 'started') resolve(m); });
      worker.once('error', reject);
    });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    (async () => {
      const client = new Client(CONFIG);
      const mine = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'from the main thread' }] });
      console.log(mine.text);
      console.log(await fromWorker);
      console.log('worker exit ' + (await exited));
      await client.close();
    })();`, configFor(base));
  assert.deepEqual(lines, ['from the main thread', 'from the worker', 'worker exit 0']);
  assert.equal((await upstream.requests(id)).length, 2);
});

test('terminating a Worker with a call in flight leaves the main thread client working', async () => {
  const { base } = await upstream.scenario([{ echo: true, delay_ms: 300 }]);
  const lines = run(`
    const { Worker } = require('node:worker_threads');
    const { Client } = require(DIST);
    const worker = new Worker(${JSON.stringify(WORKER)}, { eval: true, workerData: { dist: DIST, config: CONFIG } });
    worker.on('message', async (m) => {
      if (m !== 'started') return;
      await new Promise((r) => setTimeout(r, 50)); // the worker's call is in flight
      console.log('worker exit ' + (await worker.terminate()));
      await new Promise((r) => setTimeout(r, 500)); // its call finishes after the worker is gone
      const client = new Client(CONFIG);
      const answer = await client.chat({ model: 'm', messages: [{ role: 'user', content: 'still here' }] });
      await client.close();
      console.log(answer.text);
    });`, configFor(base));
  assert.deepEqual(lines, ['worker exit 1', 'still here']);
});

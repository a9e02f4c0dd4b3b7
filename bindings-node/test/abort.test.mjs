// An AbortSignal is listened to only while its call runs: one controller (or a server-wide
// shutdown signal) shared by many calls collects no listeners and no MaxListenersExceededWarning.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';

import { Client } from '../dist/index.js';
import { configFor, startUpstream } from './helpers.mjs';

const USER = [{ role: 'user', content: 'hello signal' }];
let upstream;
let warnings;
const onWarning = (w) => warnings.push(w);

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => process.off('warning', onWarning));

async function assertNoLeak(signal) {
  await tick(); // warnings are emitted on a later tick
  assert.deepEqual(getEventListeners(signal, 'abort'), []);
  assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), []);
}

test('50 sequential calls on one AbortSignal leave no listener behind', async () => {
  const { base } = await upstream.scenario([{ echo: true }]);
  const client = new Client(configFor(base));
  const { signal } = new AbortController();
  for (let i = 0; i < 50; i++) {
    const answer = await client.chat({ model: 'm', messages: USER }, { signal });
    assert.equal(answer.text, 'hello signal');
  }
  await assertNoLeak(signal);
  await client.close();
});

test('failed calls and 50 streams (read to the end, broken off, cancelled) leave no listener behind', async () => {
  const { base } = await upstream.scenario([{ echo: true }]);
  const client = new Client(configFor(base));
  const { signal } = new AbortController();
  await assert.rejects(client.chat({ model: 'nope', messages: USER }, { signal }));
  for (let i = 0; i < 50; i++) {
    const stream = client.stream({ model: 'm', messages: USER }, { signal });
    if (i % 3 === 0) {
      assert.equal((await stream.finalResponse()).text, 'hello signal');
    } else if (i % 3 === 1) {
      for await (const _ of stream) break;
    } else {
      stream.cancel();
    }
  }
  await assertNoLeak(signal);
  await client.close();
});

test('an aborted call stops listening too', async () => {
  const { base } = await upstream.scenario([{ echo: true, delay_ms: 2000 }]);
  const client = new Client(configFor(base));
  const controller = new AbortController();
  const call = client.chat({ model: 'm', messages: USER }, { signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'listened to while the call runs');
  controller.abort();
  await assert.rejects(call, { code: 'CANCELLED' });
  await assertNoLeak(controller.signal);
  await client.close();
});

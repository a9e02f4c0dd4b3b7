// close(): a Promise that settles once the core has closed the client (calls in flight
// finished or cancelled, services stopped); usage() stays readable afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CancelledError, Client } from '../dist/index.js';
import { configFor, startUpstream } from './helpers.mjs';

const USER = [{ role: 'user', content: 'hello close' }];
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

test('close() resolves after the calls in flight finished, and usage() is still readable', async () => {
  const { base } = await upstream.scenario([{ echo: true, delay_ms: 400 }]);
  const client = new Client(configFor(base));
  const order = [];
  const call = client.chat({ model: 'm', messages: USER }).then((r) => { order.push('call'); return r; });
  await new Promise((r) => setTimeout(r, 50)); // the call is in flight
  const closing = client.close();
  assert.ok(closing instanceof Promise);
  await closing;
  order.push('close');
  assert.deepEqual(order, ['call', 'close']);
  assert.equal((await call).text, 'hello close');
  assert.ok(client.closed);
  await assert.rejects(client.chat({ model: 'm', messages: USER }), CancelledError);

  const usage = client.usage();
  assert.deepEqual(usage.map((e) => [e.status, e.error_code]), [['ok', null]]);
  assert.equal(usage[0].cache_write_tokens, 0);
  assert.equal(usage[0].usage_is_estimated, false);
  await client.close(); // idempotent
  assert.equal(client.usage().length, 1);
});

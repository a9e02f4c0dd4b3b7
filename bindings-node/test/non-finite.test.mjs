// NaN and ±Infinity in a request reach the core as such (JSON.stringify would send `null`):
// the call fails with InvalidRequestError naming the field, and nothing is sent upstream.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client, InvalidRequestError } from '../dist/index.js';
import { configFor, startUpstream } from './helpers.mjs';

const USER = [{ role: 'user', content: 'NaN Infinity -Infinity' }];
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

test('a non-finite number is InvalidRequestError naming its field, with no upstream request', async () => {
  const { id, base } = await upstream.scenario([{ echo: true }]);
  const client = new Client(configFor(base));
  const invalid = (...fragments) => (e) => {
    assert.ok(e instanceof InvalidRequestError, String(e));
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${f}`);
    return true;
  };
  await assert.rejects(client.chat({ model: 'm', messages: USER, temperature: NaN }), invalid('`temperature`', 'finite', 'NaN'));
  await assert.rejects(client.chat({ model: 'm', messages: USER, extra: { a: [1, Infinity] } }), invalid('`extra.a[1]`', 'Infinity'));
  await assert.rejects(client.stream({ model: 'm', messages: USER, top_p: -Infinity }).finalResponse(), invalid('`top_p`', '-Infinity'));
  await assert.rejects(client.embed({ model: 'm', input: 'x', extra: { scale: NaN } }), invalid('`extra.scale`', 'NaN'));
  assert.deepEqual(await upstream.requests(id), []);

  // Strings that look like the tokens are left alone, and finite numbers and nulls still go
  // through (with and without a `null` in the text).
  for (const extra of [{ note: 'NaN' }, { note: 'NaN', seed_note: null }]) {
    const answer = await client.chat({ model: 'm', messages: USER, temperature: 0.5, extra });
    assert.equal(answer.text, 'NaN Infinity -Infinity');
  }
  const sent = (await upstream.requests(id)).map((r) => r.body);
  assert.deepEqual(sent.map((b) => [b.temperature, b.note, b.seed_note]), [[0.5, 'NaN', undefined], [0.5, 'NaN', null]]);
  await client.close();
});

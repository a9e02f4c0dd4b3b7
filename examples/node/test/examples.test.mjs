// The Node examples run: the demo scenarios, and the Express SSE backend (including a client
// that leaves mid-stream, which must cancel the provider request).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';

import { startUpstream } from '../../../bindings-node/test/helpers.mjs';

const require = createRequire(import.meta.url);
let upstream;

before(async () => {
  upstream = await startUpstream();
  process.env.MODELPLUG_DEMO_UPSTREAM = upstream.url;
});
after(() => upstream.stop());

test('the demo scenarios', async () => {
  const { Client } = require('modelplug');
  const demo = require('../dist/demo.js');
  const client = Client.fromConfig(demo.CONFIG);
  const text = (await demo.run(client)).join('\n');
  await client.close();
  assert.match(text, /chat {5}"The capital of France is Paris\." from azure-backup \(21 tokens/);
  assert.ok(text.includes('openai-primary PROVIDER_UNAVAILABLE → openai-primary PROVIDER_UNAVAILABLE → azure-backup ok'), text);
  assert.ok(text.includes('stream   "The capital of the UK is London." in 8 pieces from groq (87 tokens)'), text);
  assert.ok(text.includes('tools    the model calls get_user_country({}) [call_iXFttys57ap0o16JSlC8yhYo]'), text);
  assert.ok(text.includes('embed    1 vector of 128 dimensions (4 tokens)'), text);
  assert.ok(text.includes('mock     "no network needed" from the mock provider'), text);
  assert.ok(text.includes("cost     $0.000448 for 5 calls (4 priced by the config's price table)"), text);
});

async function serve(model, config) {
  const { Client } = require('modelplug');
  const { createApp } = require('../dist/server.js');
  const client = config ? new Client(config) : Client.fromConfig(require('../dist/demo.js').CONFIG);
  const server = createApp(client, model).listen(0);
  await new Promise((r) => server.once('listening', r));
  return { client, server, url: `http://127.0.0.1:${server.address().port}` };
}

test('the Express backend streams a completion as SSE', async () => {
  const { client, server, url } = await serve('fast');
  try {
    const r = await fetch(`${url}/chat/stream?q=${encodeURIComponent('What is the capital of the UK?')}`);
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const body = await r.text();
    const pieces = [...body.matchAll(/^data: (\{"text".*\})$/gm)].map((m) => JSON.parse(m[1]).text);
    assert.equal(pieces.join(''), 'The capital of the UK is London.');
    assert.match(body, /event: done\ndata: \{"tokens":87,"deployment":"groq\/llama-3\.3-70b-versatile"\}/);
  } finally {
    server.close();
    await client.close();
  }
});

test('the Express backend answers JSON, with failover', async () => {
  const { client, server, url } = await serve('smart');
  try {
    const r = await fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: 'x' }) });
    assert.deepEqual(await r.json(), { text: 'The capital of France is Paris.', tokens: 21, deployment: 'azure-backup' });
  } finally {
    server.close();
    await client.close();
  }
});

test('a browser leaving mid-stream cancels the provider request', async () => {
  const { id, base } = await upstream.scenario([{ reply: { text: 'a long answer that arrives slowly, piece by piece' }, chunk_bytes: 60, chunk_delay_ms: 80 }]);
  const config = { models: [{ name: 'slow', deployments: [{ provider: 'openai', model: 'gpt-4o', api_key: 'k', base_url: `${base}/v1` }] }] };
  const { client, server, url } = await serve('slow', config);
  try {
    const leave = new AbortController();
    const r = await fetch(`${url}/chat/stream?q=hi`, { signal: leave.signal });
    const reader = r.body.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /data: \{"text"/);
    leave.abort();
    assert.ok(await upstream.waitForAbort(id), 'the provider request outlived the browser');
  } finally {
    server.closeAllConnections();
    server.close();
    await client.close();
  }
});

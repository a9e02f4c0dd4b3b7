// The shared behaviour vectors (tests/vectors/*.json) through the public Node API.
import { after, before, test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client, isModelplugError } from '../dist/index.js';
import { matches, REPO, startUpstream } from './helpers.mjs';

const dir = join(REPO, 'tests', 'vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const scratch = mkdtempSync(join(tmpdir(), 'modelplug-vectors-'));
let upstream;

before(async () => { upstream = await startUpstream(); });
after(() => upstream.stop());

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

async function runCase(c) {
  const scenario = c.upstream ? await upstream.scenario(c.upstream) : null;
  const base = scenario ? scenario.base : upstream.url;
  let result;
  let client;
  try {
    if (c.config_yaml !== undefined) {
      const path = join(scratch, 'modelplug.yaml');
      writeFileSync(path, c.config_yaml.replaceAll('{upstream}', base));
      client = Client.fromConfig(path);
    } else {
      client = new Client(JSON.parse(JSON.stringify(c.config).replaceAll('{upstream}', base)));
    }
  } catch (e) {
    if (!isModelplugError(e)) throw e;
    result = { error: e.toJSON() };
  }
  if (client) {
    try {
      if (c.call === 'chat') result = { response: await client.chat(c.request) };
      else if (c.call === 'embed') result = { response: await client.embed(c.request) };
      else result = await streamResult(client.stream(c.request));
    } catch (e) {
      if (!isModelplugError(e)) throw e;
      result = { error: e.toJSON() };
    }
    await client.close();
  }
  if (scenario) result.upstream_requests = await upstream.requests(scenario.id);
  return result;
}

let count = 0;
for (const file of files) {
  for (const c of JSON.parse(readFileSync(join(dir, file), 'utf8')).cases) {
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

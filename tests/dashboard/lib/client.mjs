// A running Node client (bindings-node/dist, built by `make node-dev`) of app `ledger`, watching
// the collector's central policy, and checks of whether it blocks a request about a merger.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO } from './collector.mjs';

export const ASK = { model: 'm', messages: [{ role: 'user', content: 'tell me about the merger' }] };

let made = 0;

/** A Client watching `dash`'s policy (its own spool and cache); closed when the file ends. */
export async function policyClient(dash) {
  const n = ++made;
  const dist = join(REPO, 'bindings-node', 'dist', 'index.js');
  if (!existsSync(dist)) throw new Error(`${dist} is missing: build the Node binding with \`make node-dev\``);
  const { Client, GuardrailBlockedError } = await import(pathToFileURL(dist).href);
  const { public_key: publicKey } = await (await fetch(`${dash.url}/v1/policy/public-key`)).json();
  const client = new Client({
    app: 'ledger',
    collector: {
      url: dash.url,
      key: dash.ingestKey('ledger'),
      spool_dir: join(dash.dir, `spool-${n}`),
      policy: { public_key: publicKey, cache_file: join(dash.dir, `policy-cache-${n}.json`) },
    },
    models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'echo' }] }],
  });
  dash.onClose(() => client.close());
  /** Whether the client blocks ASK (naming `rule`); false when it answers. */
  client.blocks = async (rule) => {
    try {
      await client.chat(ASK);
      return false;
    } catch (e) {
      if (!(e instanceof GuardrailBlockedError)) throw e;
      if (!e.message.includes(rule)) throw new Error(`blocked, but not by \`${rule}\`: ${e.message}`);
      return true;
    }
  };
  return client;
}

/** Polls `check` every 20 ms until true, at most `ms`; the milliseconds it took. */
export async function pollUntil(what, check, ms = 10_000) {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}

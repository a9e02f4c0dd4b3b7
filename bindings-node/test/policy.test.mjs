// Central policy reaches a running Node client: each test starts the real modelplug-collector
// (fresh SQLite file, free loopback port, admin and ingest keys made with its CLI), builds a
// Client watching it (`collector.policy` with the collector's public key), then changes the
// policy with `PUT /v1/policy` as admin and polls until the running client enforces it — and,
// after a newer empty version, stops enforcing it. No timing is asserted beyond a generous
// 10 s limit; how long enforcement took is printed as a test diagnostic.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Client, GuardrailBlockedError } from '../dist/index.js';
import { collectorBinary, serve, stopChild } from '../../tests/collector-process.mjs';

const APP = 'ledger';
const ASK = { model: 'm', messages: [{ role: 'user', content: 'tell me about the merger' }] };
const NO_MERGERS = 'guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n';
const LIMIT_MS = 10_000;
const POLL_MS = 20;

/** Runs `fn` when test `t` ends, however it ends: the last registered first. */
function onEnd(t, fn) {
  if (!t.cleanups) {
    t.cleanups = [];
    t.after(async () => {
      while (t.cleanups.length) await t.cleanups.pop()();
    });
  }
  t.cleanups.push(fn);
}

/**
 * Starts a collector for test `t` (stopped, and its files removed, when the test ends, however
 * it ends); null — and the test skipped — when this collector has no policy endpoints yet.
 */
async function startCollector(t) {
  const binary = collectorBinary();
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with \`make collector\` (make test-node does)`);
  const dir = mkdtempSync(join(tmpdir(), 'mp-policy-'));
  onEnd(t, () => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite://${join(dir, 'collector.db')}`;
  const cli = (...args) => execFileSync(binary, [...args, '--db', db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const adminKey = cli('keys', 'create', '--admin');
  const ingestKey = cli('keys', 'create', '--app', APP);
  const started = (await serve(binary, db)) ?? (await serve(binary, db));
  if (!started) throw new Error('the collector did not start');
  const { child, url } = started;
  onEnd(t, () => stopChild(child));

  const r = await fetch(`${url}/v1/policy/public-key`);
  const answer = await r.text();
  if (r.status === 404) {
    t.skip(`this collector has no policy endpoints yet (GET /v1/policy/public-key: 404 ${answer})`);
    return null;
  }
  assert.equal(r.status, 200, `GET /v1/policy/public-key answered ${r.status}: ${answer}`);
  const { public_key: publicKey } = JSON.parse(answer);
  assert.match(publicKey, /^ed25519:/);

  return {
    url,
    /** PUTs a policy as admin; the new version. */
    async putPolicy(body, contentType = 'application/yaml') {
      const put = await fetch(`${url}/v1/policy`, { method: 'PUT', headers: { authorization: `Bearer ${adminKey}`, 'content-type': contentType }, body });
      const text = await put.text();
      assert.equal(put.status, 201, `PUT /v1/policy answered ${put.status}: ${text}`);
      const { version } = JSON.parse(text);
      assert.equal(typeof version, 'number', text);
      return version;
    },
    /** A client of app `ledger` watching this collector's policy. */
    client() {
      return new Client({
        app: APP,
        collector: { url, key: ingestKey, spool_dir: join(dir, 'spool'), policy: { public_key: publicKey, cache_file: join(dir, 'policy-cache.json') } },
        models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'echo' }] }],
      });
    },
  };
}

/** Calls `check` every ~20 ms until it is true (at most 10 s); the milliseconds it took, as a diagnostic. */
async function pollUntil(t, what, check) {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > LIMIT_MS) assert.fail(`${what}: not within ${LIMIT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
  const took = performance.now() - started;
  t.diagnostic(`${what}: ${took.toFixed(0)} ms after PUT /v1/policy returned`);
  return took;
}

/** A check: the call fails with GUARDRAIL_BLOCKED naming `rule` (true), or succeeds (false). */
const blockedBy = (client, rule) => async () => {
  try {
    await client.chat(ASK);
    return false;
  } catch (e) {
    if (!(e instanceof GuardrailBlockedError)) throw e;
    assert.ok(e.message.includes(rule), `blocked, but not by \`${rule}\`: ${e.message}`);
    return true;
  }
};

/** A check: the call succeeds (true), or fails with GUARDRAIL_BLOCKED (false). */
const passes = (client) => async () => {
  try {
    await client.chat(ASK);
    return true;
  } catch (e) {
    if (e instanceof GuardrailBlockedError) return false;
    throw e;
  }
};

test('a policy PUT on the collector is enforced by a running client, and lifted by a newer one', async (t) => {
  const collector = await startCollector(t);
  if (!collector) return;
  const client = collector.client();
  onEnd(t, () => client.close());

  assert.match((await client.chat(ASK)).text, /merger/); // the echo mock answers with the prompt

  const v1 = await collector.putPolicy(NO_MERGERS);
  await pollUntil(t, `deny_topics rule (version ${v1}) enforced`, blockedBy(client, 'no-mergers'));

  const v2 = await collector.putPolicy('{}', 'application/json');
  assert.ok(v2 > v1, `version ${v2} after ${v1}`);
  await pollUntil(t, `empty policy (version ${v2}) lifts the rule`, passes(client));
  assert.match((await client.chat(ASK)).text, /merger/);
});

test('a blocked model in the policy leaves no deployment: GUARDRAIL_BLOCKED', async (t) => {
  const collector = await startCollector(t);
  if (!collector) return;
  const client = collector.client();
  onEnd(t, () => client.close());

  await client.chat(ASK);
  const v1 = await collector.putPolicy('models: { blocked: [echo] }\n');
  // The policy's `models:` section becomes a rule named `models@<section>`.
  await pollUntil(t, `models.blocked (version ${v1}) enforced`, blockedBy(client, 'models'));
});

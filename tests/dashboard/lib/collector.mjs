// The real modelplug-collector for one test file: a fresh SQLite file, a free loopback port,
// an admin key and ingest keys made with its CLI, and a small admin API client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { REPO, collectorBinary, freePort, serve, stopChild } from '../../collector-process.mjs';
import { collectorBinary, serve, stopChild } from '../../collector-process.mjs';

/**
 * Starts a collector. `cleanups` receives what undoes it (run by the harness however the file
 * ends). Returns {url, db, dir, adminKey, ingestKey(app), cli, api, apiRaw, putPolicy}.
 */
export async function startCollector(cleanups) {
  const binary = collectorBinary();
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: build it with \`cargo build -p modelplug-collector\` (make collector), or set MODELPLUG_COLLECTOR`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'mp-dashboard-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite://${join(dir, 'collector.db')}`;
  const cli = (...args) => execFileSync(binary, [...args, '--db', db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const adminKey = cli('keys', 'create', '--admin', '--name', 'dashboard-admin');
  assert.match(adminKey, /^mpk_/, `keys create --admin printed ${adminKey}`);
  const ingestKeys = new Map();
  /** The ingest key of `app` (made on first use; team-free, so events name their own team). */
  const ingestKey = (app) => {
    if (!ingestKeys.has(app)) ingestKeys.set(app, cli('keys', 'create', '--app', app));
    return ingestKeys.get(app);
  };
  const started = (await serve(binary, db)) ?? (await serve(binary, db));
  if (!started) throw new Error('the collector did not start (twice)');
  const { child, url } = started;
  cleanups.push(() => stopChild(child));

  /** An admin request from Node (Bearer key): {status, headers, text, json()}. */
  async function apiRaw(path, init = {}) {
    const r = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${adminKey}`, ...init.headers } });
    const text = await r.text();
    return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
  }
  /** An admin GET answering 200 with JSON. */
  async function api(path) {
    const r = await apiRaw(path);
    assert.equal(r.status, 200, `GET ${path} answered ${r.status}: ${r.text.slice(0, 500)}`);
    return r.json();
  }
  /** PUTs a policy document as admin; its new version. */
  async function putPolicy(body, contentType = 'application/yaml') {
    const r = await apiRaw('/v1/policy', { method: 'PUT', headers: { 'content-type': contentType }, body });
    assert.equal(r.status, 201, `PUT /v1/policy answered ${r.status}: ${r.text}`);
    return r.json().version;
  }
  /** Posts events (any apps) with each app's ingest key; asserts every one was accepted. */
  async function ingest(events) {
    const byApp = new Map();
    for (const e of events) byApp.set(e.app, [...(byApp.get(e.app) ?? []), e]);
    for (const [app, list] of byApp) {
      const r = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestKey(app)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: list }),
      });
      const text = await r.text();
      assert.equal(r.status, 200, `POST /v1/events (${app}) answered ${r.status}: ${text}`);
      const answer = JSON.parse(text);
      assert.equal(answer.accepted, list.length, `POST /v1/events (${app}): ${text}`);
    }
  }
  return { url, db, dir, adminKey, ingestKey, cli, api, apiRaw, putPolicy, ingest, log: () => child.logText() };
}

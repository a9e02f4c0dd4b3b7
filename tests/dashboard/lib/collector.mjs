// The real modelplug-collector for one test file: a fresh SQLite file, a free loopback port,
// an admin key and ingest keys made with its CLI, and a small admin API client.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** MODELPLUG_COLLECTOR, else <CARGO_TARGET_DIR or repo/target>/x86_64-unknown-linux-gnu/debug/…. */
export function collectorBinary() {
  if (process.env.MODELPLUG_COLLECTOR) return resolve(process.env.MODELPLUG_COLLECTOR);
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  return join(target, process.env.CARGO_BUILD_TARGET ?? 'x86_64-unknown-linux-gnu', 'debug', 'modelplug-collector');
}

/** A loopback port nobody listens on now. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * `serve`s `db` on a free port: `{child, url}` once /healthz answers (within `timeoutMs`);
 * null when it exited first (the port was taken meanwhile). `child.logText()` is its stderr.
 */
export async function serve(binary, db, timeoutMs = 15_000) {
  const url = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(binary, ['serve', '--db', db, '--listen', url.slice('http://'.length)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-20_000); });
  child.logText = () => log;
  const deadline = Date.now() + timeoutMs;
  while (child.exitCode === null && child.signalCode === null) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the collector did not answer /healthz within ${timeoutMs / 1000} s: ${log}`);
      }
    }
    await sleep(20);
  }
  return null;
}

/** Stops a collector child: SIGTERM, then SIGKILL after 10 s. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

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

// The real modelplug-collector as a child process, for the Node test suites (the binding's
// central-policy tests, the dashboard's browser tests, the dashboard bench): which binary,
// a free loopback port, start it until /healthz answers, stop it. Node built-ins only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

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

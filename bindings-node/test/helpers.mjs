// Test helpers: the mock upstream (the Rust binary, one per test file) and the vectors' matcher.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function mockBinary() {
  if (process.env.MODELPLUG_MOCK_UPSTREAM) return process.env.MODELPLUG_MOCK_UPSTREAM;
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  return join(target, process.env.CARGO_BUILD_TARGET ?? 'x86_64-unknown-linux-gnu', 'debug', 'modelplug-mock-upstream');
}

/** The config of one model `m` served by OpenAI at the mock scenario `base`, without retries. */
export function configFor(base) {
  return { models: [{ name: 'm', retry: { attempts: 0 }, deployments: [{ provider: 'openai', model: 'gpt-4o', api_key: 'sk-test', base_url: `${base}/v1` }] }] };
}

/** Starts the mock upstream; returns {url, scenario(steps), requests(id), stop()}. */
export async function startUpstream() {
  const binary = mockBinary();
  if (!existsSync(binary)) throw new Error(`${binary} is missing: cargo build -p modelplug-mock-upstream (make test does)`);
  const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [first] = await once(lines, 'line');
  if (!first.startsWith('listening ')) throw new Error(`mock upstream said ${first}`);
  const url = first.slice('listening '.length);
  return {
    url,
    async scenario(steps) {
      const r = await fetch(`${url}/_mock/scenarios`, { method: 'POST', body: JSON.stringify({ steps }) });
      const { id, base } = await r.json();
      return { id, base };
    },
    async requests(id) {
      return (await fetch(`${url}/_mock/scenarios/${id}/requests`)).json();
    },
    /** What scenario `id` received, once every request is finished or aborted by the client
     * (up to `timeoutMs`): the mock notices a closed connection only at its next write. */
    async settledRequests(id, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reqs = await this.requests(id);
        if (reqs.every((r) => r.finished || r.client_aborted) || Date.now() > deadline) return reqs;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async waitForAbort(id, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const reqs = await this.requests(id);
        if (reqs.length > 0 && reqs[0].client_aborted) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
    stop() {
      lines.close();
      child.kill();
    },
  };
}

/** The vectors' subset matcher (tests/vectors/README.md); throws on a mismatch. */
export function matches(expected, actual, path = 'result') {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    const keys = Object.keys(expected);
    if (keys.length > 0 && keys.every((k) => k.startsWith('$'))) {
      for (const k of keys) matcher(k, expected[k], actual, path);
      return;
    }
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) throw new Error(`${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const k of keys) {
      const v = expected[k];
      if (k in actual) matches(v, actual[k], `${path}.${k}`);
      else if (!(v !== null && typeof v === 'object' && '$absent' in v)) throw new Error(`${path}.${k}: missing (expected ${JSON.stringify(v)})`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) throw new Error(`${path}: expected a list, got ${JSON.stringify(actual)}`);
    if (expected.length !== actual.length) throw new Error(`${path}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(actual)}`);
    expected.forEach((x, i) => matches(x, actual[i], `${path}[${i}]`));
    return;
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Math.abs(expected - actual) > 1e-6 * Math.max(1, Math.abs(expected), Math.abs(actual))) throw new Error(`${path}: expected ${expected}, got ${actual}`);
    return;
  }
  if (expected !== actual) throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function matcher(name, arg, actual, path) {
  const list = (a) => (Array.isArray(a) ? a : [a]);
  let ok;
  switch (name) {
    case '$prefix': ok = typeof actual === 'string' && actual.startsWith(arg); break;
    case '$contains': ok = typeof actual === 'string' && list(arg).every((t) => actual.includes(t)); break;
    case '$excludes': ok = typeof actual === 'string' && list(arg).every((t) => !actual.includes(t)); break;
    case '$gte': ok = typeof actual === 'number' && actual >= arg; break;
    case '$lte': ok = typeof actual === 'number' && actual <= arg; break;
    case '$len': {
      const len = typeof actual === 'string' || Array.isArray(actual) ? actual.length : actual && typeof actual === 'object' ? Object.keys(actual).length : undefined;
      if (len === undefined) throw new Error(`${path}: $len of ${JSON.stringify(actual)}`);
      if (arg !== null && typeof arg === 'object') return matches(arg, len, `${path}.length`);
      ok = len === arg;
      break;
    }
    case '$exists': ok = (actual !== null && actual !== undefined) === Boolean(arg); break;
    case '$absent': ok = actual === null || actual === undefined; break;
    default: throw new Error(`${path}: unknown matcher ${name}`);
  }
  if (!ok) throw new Error(`${path}: ${name} ${JSON.stringify(arg)} does not hold for ${JSON.stringify(actual)}`);
}

/** `over` laid on `base`: objects merge key by key, anything else is replaced. */
function merged(base, over) {
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(base) || !isObject(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merged(base[k], v);
  return out;
}

/** A vector with `providers` ({label: overrides}) runs once per label, named `name[label]`,
 * with the label's overrides merged over the case. */
export function expandProviders(cases) {
  return cases.flatMap((c) => {
    if (!('providers' in c)) return [c];
    const { providers, ...base } = c;
    return Object.entries(providers).map(([label, over]) => ({ ...merged(base, over), name: `${c.name}[${label}]` }));
  });
}


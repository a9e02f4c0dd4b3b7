// The seeded data set: deterministic events (a fixed pseudo-random sequence) placed relative to
// today's UTC midnight — today, every one of the last 40 days (so this month and last month),
// several apps, teams, models, providers, users and labels; errors with codes and attempts,
// fallbacks, cached tokens, one app whose name is an XSS attempt, and one blocked call with no
// provider, model or team (an empty group in every report by those); 70 to 77 days ago, eight
// more providers (12 in all over 90 days, more than a chart draws).

/** An app name that must render as text. */
export const XSS_APP = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
/** A label value that must render as text too. */
export const XSS_LABEL = '"><svg onload="window.__xss=3">';

export const APPS = [
  { app: 'checkout', team: 'payments' },
  { app: 'support-bot', team: 'care' },
  { app: 'search', team: 'growth' },
  { app: 'analytics', team: 'growth' },
];
const MODELS = [
  { provider: 'openai', model: 'gpt-4o', input: 2.5, output: 10 },
  { provider: 'anthropic', model: 'claude-sonnet-4', input: 3, output: 15 },
  { provider: 'gemini', model: 'gemini-2.5-pro', input: 1.25, output: 10 },
  { provider: 'openai', model: 'gpt-4o-mini', input: 0.15, output: 0.6 },
];
const FEATURES = ['search', 'summary', 'chat'];
const ERROR_CODES = ['RATE_LIMITED', 'TIMEOUT', 'PROVIDER_UNAVAILABLE', 'CONTEXT_LENGTH_EXCEEDED'];
const DAY = 86_400_000;

/** mulberry32: the same numbers on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUIDv7 for `ms` with pseudo-random bits. */
function uuid7(ms, rand) {
  const hex = (n, digits) => Math.floor(n).toString(16).padStart(digits, '0');
  const r = (digits) => Array.from({ length: digits }, () => hex(rand() * 16, 1)).join('');
  const t = hex(ms, 12);
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r(3)}-${hex(8 + rand() * 4, 1)}${r(3)}-${r(12)}`;
}

const nusd = (x) => Math.round(x * 1e9) / 1e9;

/** One event of `who` at `ms`, its shape drawn from `rand` (`i` picks the rare kinds). */
function event(who, ms, i, rand) {
  const m = MODELS[Math.floor(rand() * MODELS.length)];
  const deployment = `${m.provider}-main`;
  const input = 200 + Math.floor(rand() * 4800);
  const output = 20 + Math.floor(rand() * 1500);
  const cached = m.provider === 'gemini' ? 0 : Math.floor(input * rand() * 0.6);
  const latency = Math.round((150 + rand() * 2850) * 10) / 10;
  const e = {
    schema: 1,
    id: uuid7(ms, rand),
    ts: new Date(ms).toISOString(),
    app: who.app,
    team: who.team,
    user: `user-${1 + Math.floor(rand() * 6)}`,
    env: rand() < 0.7 ? 'prod' : 'staging',
    operation: 'chat',
    model_requested: 'smart',
    provider: m.provider,
    deployment,
    model: m.model,
    stream: rand() < 0.4,
    status: 'ok',
    input_tokens: input,
    output_tokens: output,
    cached_input_tokens: cached,
    reasoning_tokens: 0,
    cost_usd: nusd((input * m.input + output * m.output) / 1e6),
    latency_ms: latency,
    attempts: [{ provider: m.provider, deployment, model: m.model, error: null, status: 200, latency_ms: latency - 5 }],
    fallback_used: false,
    sdk: { language: 'node', version: '0.1.0' },
    labels: { feature: FEATURES[Math.floor(rand() * FEATURES.length)] },
  };
  if (i % 7 === 3) {
    // Failed: every attempt failed; no cost.
    const code = ERROR_CODES[Math.floor(i / 7) % ERROR_CODES.length];
    const other = MODELS[(MODELS.indexOf(m) + 1) % MODELS.length];
    Object.assign(e, { status: 'error', error_code: code, http_status: code === 'RATE_LIMITED' ? 429 : 503, cost_usd: null, output_tokens: 0 });
    e.attempts = [
      { provider: m.provider, deployment, model: m.model, error: code, status: e.http_status, latency_ms: 100 },
      { provider: other.provider, deployment: `${other.provider}-main`, model: other.model, error: code, status: e.http_status, latency_ms: 120 },
    ];
    if (i % 2) e.attempts.push({ provider: m.provider, deployment: `${m.provider}-backup`, model: m.model, error: code, status: null, latency_ms: 80 });
  } else if (i % 11 === 5) {
    // A fallback: the first deployment failed, a backup answered.
    e.fallback_used = true;
    e.deployment = `${m.provider}-backup`;
    e.attempts = [
      { provider: m.provider, deployment: `${m.provider}-main`, model: m.model, error: 'PROVIDER_UNAVAILABLE', status: 503, latency_ms: 90 },
      { provider: m.provider, deployment: e.deployment, model: m.model, error: null, status: 200, latency_ms: latency - 95 },
    ];
  } else if (i % 23 === 9) {
    Object.assign(e, { status: 'blocked', error_code: 'GUARDRAIL_BLOCKED', cost_usd: null, output_tokens: 0, attempts: [] });
  }
  return e;
}

/**
 * The data set for `nowMs`: about 310 events, every one in the past, all ids unique. The XSS app
 * has events today and on a few earlier days; one event carries the XSS label value; one
 * blocked call today has no provider, model nor team.
 */
export function seedEvents(nowMs = Date.now()) {
  const rand = rng(15);
  const midnight = nowMs - (nowMs % DAY);
  const events = [];
  let i = 0;
  const add = (who, ms) => events.push(event(who, ms, i++, rand));
  // Today: 30 events spread between midnight and now.
  const sinceMidnight = nowMs - midnight;
  for (let k = 0; k < 30; k++) add(APPS[k % APPS.length], midnight + Math.floor((sinceMidnight * (k + 1)) / 32));
  // The last 40 days: 5 to 7 events a day, at hours that differ from day to day.
  for (let d = 1; d <= 40; d++) {
    const n = 5 + (d % 3);
    for (let k = 0; k < n; k++) {
      const hour = (d * 7 + k * 5) % 24;
      add(APPS[(d + k) % APPS.length], midnight - d * DAY + hour * 3_600_000 + ((k * 13) % 60) * 60_000 + k * 1000);
    }
  }
  // The XSS app: today and three earlier days.
  const xss = { app: XSS_APP, team: 'care' };
  for (const d of [0, 2, 9, 33]) add(xss, d === 0 ? midnight + Math.floor(sinceMidnight / 3) : midnight - d * DAY + 5 * 3_600_000);
  events.find((e) => e.app === XSS_APP && e.status === 'ok').labels.note = XSS_LABEL;
  // A call blocked before any routing, today: no provider, deployment or model, and sent
  // without a team, so reports have an empty provider, model and team group ("(none)").
  add(APPS[0], midnight + Math.floor(sinceMidnight / 2));
  Object.assign(events.at(-1), {
    team: null, provider: null, deployment: null, model: null,
    status: 'blocked', error_code: 'GUARDRAIL_BLOCKED', http_status: null, cost_usd: null, output_tokens: 0, cached_input_tokens: 0, attempts: [], fallback_used: false,
  });
  // Eight more providers, 70 to 77 days ago (inside the 90-day range only), with 2 to 9 calls
  // each: 12 providers over 90 days, more than a chart draws (the error-rate chart keeps the 10
  // busiest; the 1-call empty provider and the quietest, edge-0, drop out).
  for (let p = 0; p < 8; p++) {
    const name = `edge-${p}`;
    for (let k = 0; k < p + 2; k++) {
      add(APPS[(p + k) % APPS.length], midnight - (70 + p) * DAY + ((k * 3) % 24) * 3_600_000 + k * 1000);
      const e = events.at(-1);
      Object.assign(e, { provider: name, deployment: `${name}-main`, model: `${name}-model` });
      e.attempts = e.attempts.map((a) => ({ ...a, provider: name, deployment: `${name}-main`, model: `${name}-model` }));
    }
  }
  return events;
}

/** The seeded policy: budgets at three scopes (org, team, per app in one team's section). */
export const SEED_POLICY = `budgets:
  - { name: org-month, per: org, period: month, limit_usd: 5 }
  - { name: team-day, per: team, period: day, limit_usd: 0.2, mode: soft }
teams:
  growth:
    budgets:
      - { name: growth-apps, per: app, period: month, limit_usd: 1 }
`;

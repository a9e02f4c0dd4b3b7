// The dashboard's page load to first chart over a seeded collector (issue 15: "page load to
// first chart over 10 million events, goal ≤ 1 s on this machine; asset size").
//
// Starts the release collector on an existing database (seed it with
// `collector-bench seed --db sqlite://FILE --events 10000000`), makes an admin key with its CLI,
// launches Debian's headless Chromium (no background networking) and measures:
//   - cold: a fresh browser context (empty HTTP cache) on a collector just started, logged in,
//     opening `/#/overview?range=30d&granularity=day&stack=app`;
//   - warm: `--runs` more loads of the same URL in one context (about:blank between them).
// Each load: navigation start → `performance.mark('mp:first-chart')` and → `#page[data-state=ready]`,
// plus the page's own resource timing of the API calls it made. The assets (every response of
// the cold load, by URL) with their transferred and decoded bytes, and gzip -6 of each.
// Before the page: the report API the overview stands on, timed from Node (Bearer key).
// Until the collector serves the page (`GET /` → 303 /login), only that API part runs.
//
// One JSON line per figure set, printed and appended to --out (bench/results/dashboard.jsonl).
//
//   node page_load.mjs --db /work/bench-data/dashboard-10m.db [--runs 10] [--api-runs 10]
//        [--collector PATH] [--out FILE] [--note TEXT] [--url-hash '#/overview?…'] [--no-out]
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// The browser tests' own launcher settings and collector runner (and their playwright-core).
import { CHROMIUM_ARGS, chromium } from '../../tests/dashboard/lib/browser.mjs';
import { serve, stopChild } from '../../tests/collector-process.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    db: null,
    runs: 10,
    apiRuns: 10,
    collector: null,
    out: join(REPO, 'bench', 'results', 'dashboard.jsonl'),
    note: '',
    hash: '#/overview?range=30d&granularity=day&stack=app',
    timeoutMs: 60_000,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--db') opts.db = next();
    else if (a === '--runs') opts.runs = Number(next());
    else if (a === '--api-runs') opts.apiRuns = Number(next());
    else if (a === '--collector') opts.collector = next();
    else if (a === '--out') opts.out = next();
    else if (a === '--no-out') opts.out = null;
    else if (a === '--note') opts.note = next();
    else if (a === '--url-hash') opts.hash = next();
    else if (a === '--timeout-ms') opts.timeoutMs = Number(next());
    else if (a === '-h' || a === '--help') {
      console.log(readmeUsage());
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${readmeUsage()}`);
  }
  if (!opts.db) throw new Error(`--db is required\n${readmeUsage()}`);
  opts.db = opts.db.startsWith('sqlite://') ? opts.db.slice('sqlite://'.length) : opts.db;
  opts.db = resolve(opts.db);
  if (!existsSync(opts.db)) throw new Error(`${opts.db} does not exist: seed it with collector-bench seed`);
  return opts;
}

function readmeUsage() {
  return 'usage: node page_load.mjs --db FILE [--runs N] [--api-runs N] [--collector PATH] [--out FILE|--no-out] [--note TEXT] [--url-hash HASH]';
}

function collectorBinary(opts) {
  if (opts.collector) return resolve(opts.collector);
  if (process.env.MODELPLUG_COLLECTOR) return resolve(process.env.MODELPLUG_COLLECTOR);
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  return join(target, process.env.CARGO_BUILD_TARGET ?? 'x86_64-unknown-linux-gnu', 'release', 'modelplug-collector');
}

// ---------------------------------------------------------------- figures

const round1 = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);

/** {n, median, p95, max, min} of `xs` (nearest-rank p95: with 10 runs it is the max). */
function stats(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const rank = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median: round1(median), p95: round1(rank(0.95)), max: round1(s[s.length - 1]), min: round1(s[0]) };
}

function machineNote() {
  const cpus = os.cpus();
  const [l1, l5] = os.loadavg();
  return `${cpus.length} cores (${cpus[0]?.model?.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${l1.toFixed(2)}/${l5.toFixed(2)} at start`;
}

function today() {
  return new Date().toISOString().slice(0, 10);
}

// ---------------------------------------------------------------- the collector

async function startCollector(binary, dbFile) {
  const db = `sqlite://${dbFile}`;
  const adminKey = execFileSync(binary, ['keys', 'create', '--admin', '--name', 'bench-dashboard', '--db', db], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
  if (!/^mpk_/.test(adminKey)) throw new Error(`keys create --admin printed ${adminKey}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    const t0 = performance.now();
    // A large database may take a while to open: up to 120 s.
    const started = await serve(binary, db, 120_000);
    if (started) return { ...started, adminKey, startupMs: performance.now() - t0, log: started.child.logText };
  }
  throw new Error('the collector did not start (twice)');
}

/** The events in the database: sqlite3 when installed, else the 10-year report's `requests`. */
async function countEvents(dbFile, url, adminKey) {
  try {
    const out = execFileSync('sqlite3', ['-readonly', dbFile, 'SELECT count(*) FROM events'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    return { events: Number(out.trim()), counted_by: 'sqlite3 count(*)' };
  } catch {
    const r = await fetch(`${url}/v1/reports/usage?from=3650d`, { headers: { authorization: `Bearer ${adminKey}` } });
    const body = await r.json();
    return { events: body?.totals?.requests ?? null, counted_by: 'report totals.requests (from=3650d)' };
  }
}

// ---------------------------------------------------------------- the API from Node

/**
 * The reports the overview stands on, each timed `runs` times from Node with the admin key
 * (one keep-alive connection; the first run of each is listed apart as `first_ms`).
 */
async function timeApi(url, adminKey, runs) {
  const now = Date.now();
  const startOfDay = now - (now % 86_400_000);
  const d = new Date(now);
  const startOfMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const queries = [
    ['cost chart: 30d by day,app', 'from=30d&group_by=day,app'],
    ['cost chart, ms ends: 30d by day,app', `from=${now - 30 * 86_400_000}&to=${now}&group_by=day,app`],
    ['KPI totals: 30d, no grouping', `from=${now - 30 * 86_400_000}&to=${now}`],
    ['KPI spend today', `from=${startOfDay}&to=${now}`],
    ['KPI spend this month', `from=${startOfMonth}&to=${now}`],
    ['cost chart: 30d by day,model', 'from=30d&group_by=day,model'],
    ['cost chart: 7d by hour,app', 'from=7d&group_by=hour,app'],
  ];
  const lines = [];
  for (const [what, q] of queries) {
    const times = [];
    let bytes = 0;
    let rows = null;
    let status = null;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await fetch(`${url}/v1/reports/usage?${q}`, {
        headers: { authorization: `Bearer ${adminKey}`, 'accept-encoding': 'gzip' },
      });
      const text = await r.text();
      times.push(performance.now() - t);
      status = r.status;
      bytes = Buffer.byteLength(text);
      if (r.ok) rows = JSON.parse(text).rows?.length ?? null;
      else throw new Error(`GET /v1/reports/usage?${q}: HTTP ${r.status}: ${text.slice(0, 300)}`);
    }
    lines.push({ what, query: q, status, rows, json_bytes: bytes, first_ms: round1(times[0]), rest_ms: stats(times.slice(1)) });
  }
  return lines;
}

// ---------------------------------------------------------------- the browser

/**
 * Runs in the page before its scripts: records when `#page` first reaches `data-state=ready`
 * (or `error`), in ms from navigation start, as `window.__mpBench`.
 */
function readyProbe() {
  const state = { ready: null, error: null, states: [] };
  window.__mpBench = state;
  const look = () => {
    const p = document.querySelector('main#page');
    if (!p) return;
    const s = p.dataset.state;
    if (s && state.states[state.states.length - 1] !== s) state.states.push(s);
    if (s === 'ready' && state.ready === null) state.ready = performance.now();
    if (s === 'error' && state.error === null) state.error = performance.now();
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}

/** What one load measured, read from the page once it is ready. */
async function readLoad(page) {
  return page.evaluate(() => {
    const mark = performance.getEntriesByName('mp:first-chart')[0];
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').map((r) => ({
      url: r.name,
      type: r.initiatorType,
      start: r.startTime,
      end: r.responseEnd,
      ttfb: r.responseStart > 0 ? r.responseStart - r.requestStart : null,
      transfer: r.transferSize,
      encoded: r.encodedBodySize,
      decoded: r.decodedBodySize,
    }));
    const chart = document.querySelector('figure.chart[data-chart=cost]');
    return {
      first_chart: mark ? mark.startTime : null,
      ready: window.__mpBench?.ready ?? null,
      error: window.__mpBench?.error ?? null,
      states: window.__mpBench?.states ?? [],
      nav: nav
        ? {
            response_end: nav.responseEnd,
            dom_content_loaded: nav.domContentLoadedEventEnd,
            load: nav.loadEventEnd,
            doc_transfer: nav.transferSize,
          }
        : null,
      resources: res,
      chart: chart ? { series: Number(chart.dataset.series), points: Number(chart.dataset.points) } : null,
      page_text: window.__mpBench?.error !== null ? document.querySelector('main#page')?.innerText?.slice(0, 300) : null,
    };
  });
}

/** Opens `url` on `page` and waits for first chart and `ready` (or `error`). */
async function load(page, url, timeoutMs) {
  await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs });
  await page.waitForFunction(
    () => window.__mpBench && (window.__mpBench.error !== null || (window.__mpBench.ready !== null && performance.getEntriesByName('mp:first-chart').length > 0)),
    null,
    { timeout: timeoutMs, polling: 20 },
  );
  const m = await readLoad(page);
  if (m.error !== null) throw new Error(`#page went to data-state=error: ${m.page_text}`);
  return m;
}

/** The API calls of one load (resource entries under /v1/ and /ui/session), by path. */
function apiCalls(m) {
  return m.resources
    .filter((r) => /\/(v1|ui\/session)/.test(new URL(r.url).pathname))
    .map((r) => {
      const u = new URL(r.url);
      return { path: u.pathname + u.search, start: round1(r.start), end: round1(r.end), ms: round1(r.end - r.start), ttfb: round1(r.ttfb), bytes: r.encoded };
    });
}

/**
 * Where one load's time went, in ms from navigation start: the document, the last static asset,
 * DOMContentLoaded, the session call, the chart's report (the largest /v1/reports call: the
 * grouped one) from request to response end, the first chart; and the bytes that crossed.
 */
function phases(m) {
  const isApi = (r) => /\/(v1|ui\/session)/.test(new URL(r.url).pathname);
  const statics = m.resources.filter((r) => !isApi(r));
  const session = m.resources.find((r) => new URL(r.url).pathname === '/ui/session');
  const reports = m.resources.filter((r) => new URL(r.url).pathname === '/v1/reports/usage');
  const chart = reports.reduce((a, r) => (a && a.decoded >= r.decoded ? a : r), null);
  return {
    document_end: round1(m.nav?.response_end),
    last_static_end: round1(Math.max(0, ...statics.map((r) => r.end))),
    dom_content_loaded: round1(m.nav?.dom_content_loaded),
    session_end: round1(session?.end),
    chart_report_start: round1(chart?.start),
    chart_report_end: round1(chart?.end),
    all_reports_end: round1(Math.max(0, ...reports.map((r) => r.end))),
    first_chart: round1(m.first_chart),
    ready: round1(m.ready),
    transferred_bytes: (m.nav?.doc_transfer ?? 0) + m.resources.reduce((s, r) => s + (r.transfer ?? 0), 0),
  };
}

/** Per-key stats of `phases` over loads. */
function phaseStats(loads) {
  const all = loads.map(phases);
  return Object.fromEntries(Object.keys(all[0] ?? {}).map((k) => [k, stats(all.map((p) => p[k]))]));
}

/** The path and query with the page's millisecond times replaced by `<ms>`, to group calls of runs. */
const callKey = (path) => path.replace(/=\d{12,}/g, '=<ms>');

async function measurePage(url, adminKey, opts) {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium, or set CHROMIUM`);
  }
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  const version = browser.version();
  const target = `${url}/${opts.hash}`;
  const problems = [];
  const watch = (page) => {
    page.on('console', (msg) => msg.type() === 'error' && problems.push(`console error: ${msg.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));
  };
  try {
    // Cold: a fresh context (empty cache), logged in by posting the form's field (as the form
    // would) so that no page of the dashboard has loaded before the measured one.
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 850 }, timezoneId: 'UTC', locale: 'en-US' });
    await ctx.addInitScript(readyProbe);
    const loginRes = await ctx.request.post(`${url}/login`, {
      form: { key: adminKey },
      headers: { origin: url },
      maxRedirects: 0,
    });
    if (loginRes.status() !== 303) throw new Error(`POST /login: HTTP ${loginRes.status()} (expected 303)`);
    const cookies = await ctx.cookies(url);
    if (!cookies.some((c) => c.name === 'mp_session')) throw new Error(`POST /login set no mp_session cookie (${cookies.map((c) => c.name)})`);
    const page = await ctx.newPage();
    watch(page);
    const assets = [];
    const onResponse = async (r) => {
      const req = r.request();
      const entry = { url: r.url(), status: r.status(), type: req.resourceType(), encoding: r.headers()['content-encoding'] ?? null, cache_control: r.headers()['cache-control'] ?? null };
      assets.push(entry);
      try {
        const body = r.status() === 303 ? Buffer.alloc(0) : await r.body();
        const sizes = await req.sizes();
        entry.transferred = sizes.responseBodySize; // bytes on the wire, as encoded
        entry.headers = sizes.responseHeadersSize;
        entry.decoded = body.length;
        entry.gzip6 = gzipSync(body, { level: 6 }).length;
      } catch (e) {
        entry.size_error = e.message;
      }
    };
    const pending = [];
    page.on('response', (r) => pending.push(onResponse(r)));
    const cold = await load(page, target, opts.timeoutMs);
    await Promise.all(pending);
    page.removeAllListeners('response');
    watch(page);

    // Warm: the same context, the same URL again; about:blank between loads.
    const warm = [];
    for (let i = 0; i < opts.runs; i++) {
      await page.goto('about:blank');
      warm.push(await load(page, target, opts.timeoutMs));
    }
    await ctx.close();
    return { version, cold, warm, assets, problems };
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv);
  const binary = collectorBinary(opts);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: cargo build --release -p modelplug-collector, or --collector PATH`);
  const base = { date: today(), machine: `${machineNote()}${opts.note ? `; ${opts.note}` : ''}`, db: opts.db };
  const emit = (obj) => {
    const line = JSON.stringify({ ...base, ...obj });
    console.log(line);
    if (opts.out) {
      mkdirSync(dirname(opts.out), { recursive: true });
      appendFileSync(opts.out, `${line}\n`);
    }
  };

  const srv = await startCollector(binary, opts.db);
  process.stderr.write(`collector up at ${srv.url} in ${srv.startupMs.toFixed(0)} ms\n`);
  try {
    // The page first (a collector just started: its first requests are the cold ones), then
    // the API from Node, then the count (sqlite3 reads the whole table: it would warm the cache).
    const root = await fetch(`${srv.url}/`, { redirect: 'manual' });
    const hasPage = root.status === 303 && (root.headers.get('location') ?? '').endsWith('/login');
    let pageResult = null;
    if (hasPage) {
      process.stderr.write(`measuring ${opts.hash}: 1 cold + ${opts.runs} warm loads\n`);
      pageResult = await measurePage(srv.url, srv.adminKey, opts);
    } else {
      process.stderr.write(`GET / answered ${root.status} (no dashboard yet): API figures only\n`);
    }
    process.stderr.write(`timing the report API from Node (${opts.apiRuns} runs each)\n`);
    const api = await timeApi(srv.url, srv.adminKey, opts.apiRuns);
    const { events, counted_by } = await countEvents(opts.db, srv.url, srv.adminKey);
    base.events = events;
    base.events_counted_by = counted_by;

    if (pageResult) {
      const { cold, warm, assets, problems, version } = pageResult;
      const pick = (ms, k) => ms.map((m) => m[k]);
      const navPick = (ms, k) => ms.map((m) => m.nav?.[k]);
      emit({
        bench: 'dashboard_page_load',
        url: opts.hash,
        chromium: version,
        goal_first_chart_ms: 1000,
        cold: {
          first_chart_ms: round1(cold.first_chart),
          ready_ms: round1(cold.ready),
          dom_content_loaded_ms: round1(cold.nav?.dom_content_loaded),
          load_ms: round1(cold.nav?.load),
          chart: cold.chart,
          phases_ms: phases(cold),
        },
        warm_runs: warm.length,
        warm: {
          first_chart_ms: stats(pick(warm, 'first_chart')),
          ready_ms: stats(pick(warm, 'ready')),
          dom_content_loaded_ms: stats(navPick(warm, 'dom_content_loaded')),
          phases_ms: phaseStats(warm),
        },
        warm_first_chart_each_ms: pick(warm, 'first_chart').map(round1),
        browser_problems: problems,
      });
      // The API calls the page made (resource timing), cold and warm by call.
      const byCall = new Map();
      for (const m of warm) {
        for (const c of apiCalls(m)) {
          const k = callKey(c.path);
          if (!byCall.has(k)) byCall.set(k, { start: [], ms: [], ttfb: [], bytes: c.bytes });
          const e = byCall.get(k);
          e.start.push(c.start);
          e.ms.push(c.ms);
          e.ttfb.push(c.ttfb);
        }
      }
      emit({
        bench: 'dashboard_page_api_calls',
        url: opts.hash,
        note: 'resource timing in the page: start = ms from navigation start, ms = request start to response end',
        cold: apiCalls(cold).map((c) => ({ ...c, path: callKey(c.path) })),
        warm: [...byCall].map(([path, e]) => ({ path, bytes: e.bytes, start_ms: stats(e.start), ms: stats(e.ms), ttfb_ms: stats(e.ttfb) })),
        cold_other_resources: cold.resources
          .filter((r) => !/\/(v1|ui\/session)/.test(new URL(r.url).pathname))
          .map((r) => ({ url: new URL(r.url).pathname, start: round1(r.start), end: round1(r.end) })),
        cold_document_response_end_ms: round1(cold.nav?.response_end),
      });
      const list = assets.map((a) => ({
        url: new URL(a.url).pathname + new URL(a.url).search,
        status: a.status,
        type: a.type,
        encoding: a.encoding,
        cache_control: a.cache_control,
        transferred: a.transferred,
        decoded: a.decoded,
        gzip6: a.gzip6,
        ...(a.size_error ? { size_error: a.size_error } : {}),
      }));
      const isStatic = (a) => !/^\/(v1|ui\/session)/.test(a.url);
      const sum = (xs, k) => xs.reduce((s, a) => s + (a[k] ?? 0), 0);
      const statics = list.filter(isStatic);
      emit({
        bench: 'dashboard_assets',
        url: opts.hash,
        note: 'every response of the cold load; transferred = body bytes on the wire (as encoded), decoded = body bytes, gzip6 = gzip -6 of the body',
        server_compresses: list.some((a) => a.encoding),
        static_count: statics.length,
        static_transferred: sum(statics, 'transferred'),
        static_decoded: sum(statics, 'decoded'),
        static_gzip6: sum(statics, 'gzip6'),
        api_transferred: sum(list.filter((a) => !isStatic(a)), 'transferred'),
        api_decoded: sum(list.filter((a) => !isStatic(a)), 'decoded'),
        total_transferred: sum(list, 'transferred'),
        total_decoded: sum(list, 'decoded'),
        assets: list,
      });
    }
    emit({
      bench: 'dashboard_report_api',
      note: 'GET /v1/reports/usage from Node, Bearer admin key, one keep-alive connection; first_ms = first call of the query, rest_ms = the others',
      after_page: Boolean(pageResult),
      collector_startup_ms: round1(srv.startupMs),
      queries: api,
    });
  } finally {
    await stopChild(srv.child);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

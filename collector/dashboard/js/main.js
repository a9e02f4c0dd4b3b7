// The dashboard's shell: the session, the navigation and the hash router
// (`#/<page>?<params>`: every view is a link that can be shared or reloaded).
import { ApiError, loadSession, logout } from './api.js';
import { fill, h } from './dom.js';

const PAGES = {
  overview: ['Overview', () => import('./pages/overview.js')],
  breakdown: ['Breakdown', () => import('./pages/breakdown.js')],
  errors: ['Errors', () => import('./pages/errors.js')],
  events: ['Events', () => import('./pages/events.js')],
  policy: ['Policy', () => import('./pages/policy.js')],
  budgets: ['Budgets', () => import('./pages/budgets.js')],
};

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [name, qs] = raw.split('?');
  return { name: name || 'overview', params: Object.fromEntries(new URLSearchParams(qs ?? '')) };
}

/** Changes some of the current page's parameters (empty values remove one); redraws. */
export function setParams(patch) {
  const { name, params } = parseHash();
  const next = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...params, ...patch })) {
    if (v !== undefined && v !== null && v !== '') next.set(k, String(v));
  }
  window.location.hash = `#/${name}${next.size ? `?${next}` : ''}`;
}

let generation = 0;
let shownPage = null;

async function render() {
  const { name, params } = parseHash();
  const gen = ++generation;
  const page = document.getElementById('page');
  const entry = PAGES[name];
  for (const a of document.querySelectorAll('nav a[data-page]')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  page.dataset.page = name;
  page.dataset.state = 'loading';
  page.setAttribute('aria-busy', 'true');
  delete page.dataset.query;
  const root = h('div', { class: 'view' });
  fill(page, root);
  if (!entry) {
    fill(root, h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '#/overview' }, 'Go to the overview')));
    page.dataset.state = 'error';
    page.setAttribute('aria-busy', 'false');
    return;
  }
  document.title = `${entry[0]} · modelplug`;
  if (shownPage !== name) {
    shownPage = name;
    page.focus({ preventScroll: true });
  }
  const ctx = {
    params,
    setParams,
    /** Records the report question behind the page's main numbers. */
    setQuery: (q) => {
      if (gen === generation) page.dataset.query = q;
    },
    stale: () => gen !== generation,
  };
  try {
    const module = await entry[1]();
    await module.render(root, ctx);
    if (gen !== generation) return;
    page.dataset.state = 'ready';
  } catch (e) {
    if (gen !== generation) return;
    page.dataset.state = 'error';
    root.append(h('p', { class: 'error', role: 'alert' },
      e instanceof ApiError ? `The collector refused: ${e.message} (${e.code})` : `The page failed: ${e.message}`));
    if (!(e instanceof ApiError)) throw e;
  } finally {
    if (gen === generation) page.setAttribute('aria-busy', 'false');
  }
}

async function start() {
  // The session (who, and the CSRF token actions need) is read while the first page loads its
  // data: reads need no token, so the first chart does not wait for it.
  const session = loadSession().then((s) => {
    document.getElementById('who').textContent = `Signed in as ${s.key_name ?? s.key_id}`;
  });
  document.getElementById('logout').addEventListener('click', () => logout());
  window.addEventListener('hashchange', render);
  await Promise.all([session, render()]);
}

start();

// Policy: the document in force, an editor that validates before saving (with the change it
// would make), and the version history — who changed what, when — with rollback.
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { time } from '../format.js';

const HISTORY = 50;
/** What the last save or rollback said, shown again after the page reloads its data. */
let notice = null;

function show(value) {
  return value === undefined ? '' : JSON.stringify(value);
}

/** A change list (`[{path, change, before?, after?}]`) as removed and added lines. */
export function diffList(changes) {
  if (!changes || changes.length === 0) return h('p', { class: 'muted small' }, 'No change.');
  return h('ul', { class: 'diff' }, changes.map((c) => h('li', {},
    c.change !== 'added' ? h('del', {}, `${c.path || '(document)'}: ${show(c.before)}`) : null,
    c.change !== 'removed' ? h('ins', {}, `${c.path || '(document)'}: ${show(c.after)}`) : null)));
}

function message(el, kind, ...content) {
  el.className = kind;
  fill(el, ...content);
}

export async function render(root, ctx) {
  const [{ data: current }, { data: history }] = await Promise.all([
    api('/v1/policy'),
    api(`/v1/policy/history?limit=${HISTORY}`),
  ]);
  if (ctx.stale()) return;
  const version = current.version;
  const editor = h('textarea', {
    id: 'policy-document', spellcheck: 'false', 'aria-describedby': 'policy-message', 'aria-label': 'Policy document (YAML)',
  });
  editor.value = current.document ?? '';
  const status = h('div', { id: 'policy-message', role: 'status', 'aria-live': 'polite' });
  const preview = h('div', { id: 'policy-preview' });
  const reload = (text) => {
    notice = text;
    ctx.setParams({ v: Date.now() });
  };

  /** Validates the editor's text: the answer (`valid`, `issues`, `diff`). */
  async function check() {
    const { data } = await api('/v1/policy/validate', { method: 'POST', body: editor.value, headers: { 'content-type': 'application/yaml' } });
    if (!data.valid) {
      message(status, 'error', 'Not saved — the document has problems:', h('ul', {}, data.issues.map((i) => h('li', {}, i))));
      fill(preview);
    } else {
      message(status, 'ok', 'The document is valid.');
      fill(preview, h('h2', {}, 'What saving would change'), diffList(data.diff));
    }
    return data;
  }

  async function save() {
    const checked = await check();
    if (!checked.valid) return;
    const { data, response } = await api('/v1/policy', {
      method: 'PUT', body: editor.value, expected: [412],
      headers: { 'content-type': 'application/yaml', 'if-match': `"${version}"` },
    });
    if (response.status === 412) {
      message(status, 'error', `Not saved: someone saved version ${data.error.current_version} meanwhile. Reload to see it.`);
      return;
    }
    if (data.unchanged) message(status, 'ok', `No change: version ${data.version} already says this.`);
    else reload(`Saved as version ${data.version}; running clients get it within a second.`);
  }

  async function rollback(to) {
    const { data, response } = await api('/v1/policy/rollback', {
      method: 'POST', body: JSON.stringify({ version: to }), expected: [412],
      headers: { 'content-type': 'application/json', 'if-match': `"${version}"` },
    });
    if (response.status === 412) {
      message(status, 'error', `Not rolled back: the policy changed meanwhile (now version ${data.error.current_version}).`);
      return;
    }
    reload(`Version ${to} restored as version ${data.version}.`);
  }

  /** A button's action: disabled while it runs; a refusal is shown, not lost. */
  const busy = (fn) => async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      await fn();
    } catch (err) {
      message(status, 'error', `Not done: ${err.message}${err.code ? ` (${err.code})` : ''}`);
    } finally {
      b.disabled = false;
    }
  };

  if (notice) {
    message(status, 'ok', notice);
    notice = null;
  }
  root.append(
    h('h1', {}, 'Policy'),
    h('p', { class: 'muted' },
      h('span', { id: 'policy-version', 'data-value': version }, version === 0 ? 'No policy yet' : `Version ${version}`),
      current.author ? ` · saved by ${current.author} at ${time(current.created_ms)} UTC` : ''),
    h('div', { class: 'card' },
      editor,
      h('div', { class: 'controls' },
        h('button', { type: 'button', id: 'policy-check', class: 'quiet', onclick: busy(check) }, 'Check'),
        h('button', { type: 'button', id: 'policy-save', onclick: busy(save) }, 'Save')),
      status, preview),
    h('h2', {}, 'History'),
    h('ol', { id: 'policy-history', class: 'card' }, history.versions.map((v) => h('li', { 'data-version': v.version },
      h('strong', {}, `Version ${v.version}`),
      ` · ${time(v.created_ms)} UTC · ${v.author ?? v.author_key_id}`,
      v.rolled_back_from ? ` · restores version ${v.rolled_back_from}` : '',
      v.version === version ? h('span', { class: 'muted' }, ' · in force')
        : h('button', { type: 'button', class: 'rollback quiet', 'data-version': v.version, onclick: busy(() => rollback(v.version)) }, `Restore version ${v.version}`),
      diffList(v.diff)))));
}

// The collector's own APIs, called with the session cookie; actions carry the CSRF token.

let csrfToken = null;

/** An API refusal: its HTTP status, code and message (and the policy's `issues`). */
export class ApiError extends Error {
  constructor(status, code, message, issues = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

function toLogin() {
  window.location.assign('/login');
  return new ApiError(401, 'unauthorized', 'the session ended: sign in again');
}

/** The session (`key_id`, `key_name`, `expires_ms`); keeps its CSRF token for actions. */
export async function loadSession() {
  const r = await fetch('/ui/session', { credentials: 'same-origin' });
  if (r.status === 401) throw toLogin();
  if (!r.ok) throw new ApiError(r.status, 'session', `the session could not be read (${r.status})`);
  const s = await r.json();
  csrfToken = s.csrf_token;
  return s;
}

/** Ends the session and goes to the login page. */
export async function logout() {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrfToken ?? '' } });
  window.location.assign('/login');
}

/**
 * Calls `path`: `{data, response}` on success (JSON `data`, or null), an `ApiError` otherwise.
 * `expected` lists statuses that are answers, not failures (e.g. 412).
 */
export async function api(path, { method = 'GET', body, headers = {}, expected = [] } = {}) {
  const h = { accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = csrfToken ?? '';
  const response = await fetch(path, { method, headers: h, body, credentials: 'same-origin' });
  if (response.status === 401) throw toLogin();
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok && !expected.includes(response.status)) {
    const e = data?.error ?? {};
    throw new ApiError(response.status, e.code ?? `http_${response.status}`, e.message ?? `the collector answered ${response.status}`, e.issues ?? []);
  }
  return { data, response };
}

/** A query string from `{name: value}` (empty values left out). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  return q.toString();
}

/** `GET /v1/reports/usage?…`: the report. */
export async function report(params) {
  return (await api(`/v1/reports/usage?${query(params)}`)).data;
}

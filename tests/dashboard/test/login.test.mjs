// Login: anonymous visitors land on the login page; only an admin key opens a session; the
// session cookie is HttpOnly + SameSite=Lax (a shared link opens logged in) and invisible to
// scripts; unsafe requests need the CSRF token and a same-origin Origin — from Node and from the
// page's own script; logout ends the session on the server too.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { login, useDashboard } from '../harness.mjs';

const dash = useDashboard();
const EVIL = 'http://evil.example';

/** Submits `key` on the login page and expects a 401 with #login-error. */
async function refused(page, key, what) {
  page.allow(401, /\/login$/);
  await page.goto('/login');
  await page.fill('#key', key);
  const [r] = await Promise.all([page.waitForResponse((x) => x.request().method() === 'POST' && new URL(x.url()).pathname === '/login'), page.click('#login button[type=submit]')]);
  assert.equal(r.status(), 401, `${what}: POST /login answered ${r.status()}`);
  await page.waitForSelector('#login-error', { state: 'visible', timeout: 5_000 }).catch(() => assert.fail(`${what}: no visible #login-error`));
  assert.ok((await page.innerText('#login-error')).trim(), `${what}: #login-error is empty`);
  assert.deepEqual((await page.context().cookies()).filter((c) => c.name === 'mp_session'), [], `${what}: a session cookie was set`);
}

test('anonymous GET / lands on the login page', async () => {
  await dash.withPage(async (page) => {
    const r = await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', `GET / ended at ${page.url()}`);
    assert.equal(r.status(), 200);
    assert.equal(await page.getAttribute('form#login', 'method'), 'post');
    assert.equal(await page.getAttribute('input#key', 'type'), 'password');
    assert.equal(await page.getAttribute('input#key', 'name'), 'key');
    // The app shell is not served without a session.
    const shell = await fetch(`${dash.url}/`, { redirect: 'manual' });
    assert.equal(shell.status, 303, 'GET / without a cookie');
    assert.equal(new URL(shell.headers.get('location'), dash.url).pathname, '/login');
    for (const api of ['/v1/reports/usage', '/v1/policy', '/ui/session']) {
      const a = await page.request.get(api);
      assert.equal(a.status(), 401, `${api} without a session answered ${a.status()}`);
    }
  }, { login: false });
});

test('a wrong key and an ingest key are refused; a cross-site login is forbidden', async () => {
  await dash.withPage(async (page) => {
    await refused(page, 'mpk_0000000000000000_wrong', 'a wrong key');
    await refused(page, dash.ingestKey('checkout'), 'an ingest key');
  }, { login: false });
  const r = await fetch(`${dash.url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key: dash.adminKey }),
  });
  assert.equal(r.status, 403, 'POST /login with a cross-site Origin');
  assert.equal(r.headers.get('set-cookie'), null, 'a cross-site login set a cookie');
});

test('the admin key logs in with an HttpOnly, SameSite=Lax cookie scripts cannot read', async () => {
  await dash.withPage(async (page) => {
    const cookies = (await page.context().cookies()).filter((c) => c.name === 'mp_session');
    assert.equal(cookies.length, 1, 'one mp_session cookie');
    const [c] = cookies;
    assert.equal(c.httpOnly, true, 'HttpOnly');
    assert.equal(c.sameSite, 'Lax', 'SameSite');
    assert.equal(c.path, '/', 'Path');
    assert.ok(c.value.length >= 16, 'a session id of some length');
    const secret = dash.adminKey.split('_')[2]; // mpk_<id>_<secret>
    assert.ok(secret && !decodeURIComponent(c.value).includes(secret), 'the cookie holds the admin key\'s secret');
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes('mp_session') && !visible.includes(c.value), `document.cookie shows the session: ${visible}`);
    const session = await (await page.request.get('/ui/session')).json();
    assert.equal(typeof session.csrf_token, 'string');
    assert.ok(session.csrf_token.length >= 16, 'a CSRF token of some length');
    assert.ok(session.expires_ms > Date.now(), `expires_ms ${session.expires_ms}`);
  });
});

test('the cookie reads the API; unsafe requests need the CSRF token and the same origin', async () => {
  await dash.withPage(async (page) => {
    const now = Date.now();
    const report = await page.request.get(`/v1/reports/usage?from=${now - 86_400_000}&to=${now}`);
    assert.equal(report.status(), 200, `GET /v1/reports/usage with the cookie: ${await report.text()}`);
    assert.equal(typeof (await report.json()).totals.requests, 'number');

    const put = (headers) => page.request.put('/v1/policy', { headers: { 'content-type': 'application/yaml', ...headers }, data: '{}\n' });
    const { csrf_token: token } = await (await page.request.get('/ui/session')).json();
    for (const [what, headers] of [
      ['no x-csrf-token', {}],
      ['a wrong x-csrf-token', { 'x-csrf-token': 'not-the-token' }],
      ['a cross-site Origin without a token', { origin: EVIL }],
      ['a cross-site Origin with the right token', { origin: EVIL, 'x-csrf-token': token }],
    ]) {
      const r = await put(headers);
      const body = await r.text();
      assert.equal(r.status(), 403, `PUT /v1/policy with the cookie and ${what}: ${r.status()} ${body}`);
      assert.equal(JSON.parse(body).error?.code, 'csrf', `${what}: ${body}`);
    }
    // From the page's own script, too: fetch with a wrong token is refused.
    page.allow(403, /\/v1\/policy$/);
    const fromPage = await page.evaluate(async () => {
      const r = await fetch('/v1/policy', { method: 'PUT', headers: { 'x-csrf-token': 'wrong', 'content-type': 'application/yaml' }, body: '{}\n' });
      return { status: r.status, body: await r.text() };
    });
    assert.equal(fromPage.status, 403, `a page fetch with a wrong token: ${fromPage.body}`);
    assert.equal(JSON.parse(fromPage.body).error?.code, 'csrf', `a page fetch with a wrong token: ${fromPage.body}`);
    assert.equal((await dash.api('/v1/policy')).version, dash.seedVersion, 'a refused PUT changed the policy');
    // The same fetch with the session's token goes through: the refusals were the token's.
    const current = await dash.api('/v1/policy');
    const withToken = await page.evaluate(async ([t, doc]) => {
      const r = await fetch('/v1/policy', { method: 'PUT', headers: { 'x-csrf-token': t, 'content-type': 'application/yaml' }, body: doc });
      return { status: r.status, body: await r.text() };
    }, [token, `${current.document}# saved from the page\n`]);
    assert.ok(withToken.status === 200 || withToken.status === 201, `a page fetch with the right token: ${withToken.status} ${withToken.body}`);
    assert.equal((await dash.api('/v1/policy')).version, dash.seedVersion + 1, 'the PUT with the token made a new version');
  });
});

test('logout ends the session (the old cookie no longer works)', async () => {
  await dash.withPage(async (page) => {
    const [old] = (await page.context().cookies()).filter((c) => c.name === 'mp_session');
    const forged = await page.request.post('/logout', { maxRedirects: 0 });
    assert.equal(forged.status(), 403, 'POST /logout without the CSRF header');
    assert.equal((await page.request.get('/ui/session')).status(), 200, 'a refused logout ended the session');
    // The page's own control (button#logout) posts the logout and lands on the login page.
    assert.ok(await page.$('button#logout'), 'no button#logout on the page');
    await Promise.all([page.waitForURL((u) => u.pathname === '/login', { timeout: 10_000 }), page.click('button#logout')]);
    assert.deepEqual((await page.context().cookies()).filter((c) => c.name === 'mp_session' && c.value), [], 'the cookie is still there');
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'GET / after logout');
    // The old cookie, replayed, is dead on the server.
    await page.context().addCookies([old]);
    assert.equal((await page.request.get('/ui/session')).status(), 401, 'the old session still works after logout');
    assert.equal((await page.request.get('/v1/policy')).status(), 401, 'the old session still reads the API after logout');
    // And a fresh login works again.
    await page.context().clearCookies();
    await login(page, dash.adminKey);
  });
});

// Policy: the page shows the current document and version; an edit saved in the page reaches a
// running Node client (it starts blocking a topic within 10 s); an invalid document shows the
// validation error and changes nothing; history shows who changed what; rollback restores.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SEED_POLICY, currentNav, policyClient, pollUntil, useDashboard, valueOf, visit } from '../harness.mjs';

const dash = useDashboard();
const NO_MERGERS = 'guardrails:\n  - { name: no-mergers, kind: deny_topics, topics: [merger], action: block }\n';

const shownVersion = async (page) => valueOf(await page.getAttribute('#policy-version', 'data-value'), '#policy-version');

/** Waits for #policy-version to show `v`. */
async function versionShown(page, v) {
  await page.waitForFunction((x) => document.querySelector('#policy-version')?.dataset.value === String(x), v, { timeout: 10_000 })
    .catch(async () => assert.fail(`#policy-version shows ${await page.getAttribute('#policy-version', 'data-value')}, not ${v}; #policy-message: ${await page.textContent('#policy-message').catch(() => '?')}`));
}

/** Puts `text` in the editor and clicks save. */
async function save(page, text) {
  await page.fill('textarea#policy-document', text);
  await page.click('button#policy-save');
}

test('the page shows the current document, version and history', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'policy');
    assert.equal(await currentNav(page), 'policy');
    const current = await dash.api('/v1/policy');
    assert.equal(await page.inputValue('textarea#policy-document'), current.document, 'textarea#policy-document vs GET /v1/policy');
    assert.equal(await shownVersion(page), current.version);
    const { versions } = await dash.api('/v1/policy/history');
    const items = await page.$$eval('ol#policy-history li[data-version]', (lis) => lis.map((li) => Number(li.dataset.version)));
    assert.deepEqual(items, versions.map((v) => v.version), 'ol#policy-history vs GET /v1/policy/history');
    assert.equal(await page.getAttribute('#policy-message', 'role'), 'status');
  });
});

test('an edit saved in the page reaches a running client', async (t) => {
  const client = await policyClient(dash);
  assert.equal(await client.blocks('no-mergers'), false, 'the client blocks before the edit');
  await dash.withPage(async (page) => {
    await visit(page, 'policy');
    const before = await dash.api('/v1/policy');
    await save(page, `${before.document}${NO_MERGERS}`);
    const t0 = performance.now();
    await pollUntil('the client blocks a request about a merger after the save', () => client.blocks('no-mergers'));
    const took = performance.now() - t0;
    const after = await dash.api('/v1/policy');
    assert.equal(after.version, before.version + 1, 'one new version');
    assert.match(after.document, /no-mergers/);
    await versionShown(page, after.version);
    assert.ok(!(await page.getAttribute('#policy-message', 'class') ?? '').split(/\s+/).includes('error'), `#policy-message is an error after a valid save: ${await page.textContent('#policy-message')}`);
    // The history names the new version, its author, and the added lines.
    const item = `ol#policy-history li[data-version="${after.version}"]`;
    await page.waitForSelector(item, { timeout: 10_000 }).catch(() => assert.fail(`no ${item} after the save`));
    const text = await page.innerText(item);
    assert.ok(text.includes(after.author), `${item} does not name the author ${after.author}: ${text}`);
    const added = await page.$$eval(`${item} ins`, (xs) => xs.map((x) => x.textContent).join('\n'));
    assert.match(added, /no-mergers/, `${item}: no ins line with the new rule`);
    t.diagnostic(`the client enforced the page's edit ${took.toFixed(0)} ms after the save click`);
  });
});

test('an invalid document shows the error and changes nothing', async () => {
  await dash.withPage(async (page) => {
    await visit(page, 'policy');
    const before = await dash.api('/v1/policy');
    // The page may validate first (POST /v1/policy/validate answers 200 with the issues) or
    // PUT straight away (the API refuses with 400 invalid_policy): either, but a PUT must be refused.
    page.allow(400, /\/v1\/policy$/);
    const sent = [];
    page.on('response', (r) => {
      if (r.request().method() !== 'GET' && new URL(r.url()).pathname.startsWith('/v1/policy')) sent.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    await save(page, 'budgets:\n  - { name: bad, per: region, period: month, limit_usd: 1 }\n');
    await page.waitForSelector('#policy-message.error', { timeout: 10_000 }).catch(() => assert.fail('no #policy-message.error after saving an invalid document'));
    const message = await page.textContent('#policy-message');
    assert.match(message, /per|region/, `#policy-message does not say what is wrong: ${message}`);
    const after = await dash.api('/v1/policy');
    assert.deepEqual(after, before, 'an invalid document changed the policy');
    assert.equal(await shownVersion(page), before.version);
    assert.ok(sent.length > 0, 'saving sent nothing to /v1/policy');
    for (const x of sent) assert.ok(x.startsWith('POST /v1/policy/validate 200') || x === 'PUT /v1/policy 400', `saving an invalid document: ${sent.join(', ')}`);
  });
});

test('rollback restores an older version as a new one, and the client follows', async () => {
  const client = await policyClient(dash);
  await pollUntil('the client blocks (the rule is still in force)', () => client.blocks('no-mergers'));
  await dash.withPage(async (page) => {
    await visit(page, 'policy');
    const before = await dash.api('/v1/policy');
    await page.click(`ol#policy-history button.rollback[data-version="${dash.seedVersion}"]`);
    await versionShown(page, before.version + 1);
    const after = await dash.api('/v1/policy');
    assert.equal(after.version, before.version + 1, 'a rollback is a new version');
    assert.equal(after.document, SEED_POLICY, 'the rolled-back document is the seeded one');
    assert.equal(await page.inputValue('textarea#policy-document'), SEED_POLICY);
    await pollUntil('the client stops blocking after the rollback', async () => !(await client.blocks('no-mergers')));
    assert.ok(await page.$(`ol#policy-history li[data-version="${after.version}"]`), 'the rollback is not in the history');
  });
});

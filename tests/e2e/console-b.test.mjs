// Browser end-to-end test of the operator console's users, grant timeline and events
// pages (issue 14's acceptance scenario): an administrator signs in through Baton's
// /login, creates a public client with rotation and a 15 s grace period through the
// console's client form; alice runs a code flow with it (openid-client), refreshes
// twice, retries the superseded token within the grace period (answered), then
// replays her first refresh token (two generations old: reuse whatever the grace
// period). The administrator finds the reuse detection in the events list and, one
// click on, on the grant's timeline; the users list and alice's page show the grant.
// Each page passes axe-core (no serious or critical issue) and is saved under
// docs/console/ for docs/console.md.
//
// Run with tests/e2e/run.sh (Debian Chromium, playwright-core, axe-core).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as client from 'openid-client';

import { decideConsent, describeFailure, launchBrowser, submitLogin } from './lib/browser.mjs';
import {
  ADMIN,
  ALICE,
  adminApi,
  assertAccessible,
  docScreenshot,
  newConsolePage,
  PHONE,
  signInAdmin,
  startConsoleBaton,
} from './lib/console.mjs';
import { startCallbackServer } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 120_000;
const CALLBACK_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_S = 10;
const CLIENT_ID = 'rotating-spa';

let callback;
let baton;
let browser;

let setupPromise;
function setup() {
  setupPromise ??= (async () => {
    callback = await startCallbackServer();
    baton = await startConsoleBaton({ name: 'baton-console-b', redirectUri: callback.redirectUri });
    browser = await launchBrowser();
  })();
  return setupPromise;
}

after(
  async () => {
    await setupPromise?.catch(() => {});
    await browser?.close().catch(() => {});
    await baton?.stop();
    await callback?.close();
  },
  { timeout: 15_000 },
);

/** Creates the public client with rotation and a 15 s grace period in the console. */
async function createClient(page) {
  await page.goto(`${baton.issuer}/console/clients/new`);
  await page.fill('#client_id', CLIENT_ID);
  await page.fill('#client_name', 'Rotating SPA');
  await page.selectOption('#token_endpoint_auth_method', 'none');
  await page.fill('#redirect_uris', callback.redirectUri);
  await page.fill('#scopes', 'openid profile offline_access');
  await page.selectOption('#rt_usage', 'one_time');
  await page.fill('#rt_grace_period', '15');
  await Promise.all([page.waitForURL((u) => u.pathname === `/console/clients/${CLIENT_ID}`), page.click('button[type="submit"]:has-text("Create client")')]);
  const { status, body } = await adminApi(baton.issuer, 'GET', `/admin/clients/${CLIENT_ID}`);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.refresh_tokens?.usage, 'one_time', JSON.stringify(body.refresh_tokens));
  assert.equal(body.refresh_tokens?.grace_period, '15s', JSON.stringify(body.refresh_tokens));
}

/** alice's code flow with the new client in her own browser context. */
async function aliceCodeFlow(config) {
  const { context, page } = await newConsolePage(browser);
  try {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      response_type: 'code',
      redirect_uri: callback.redirectUri,
      scope: 'openid profile offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    await page.goto(url.href);
    await submitLogin(page, ALICE);
    await page.locator('button[name="decision"][value="allow"]').waitFor({ state: 'visible' });
    const atCallback = page.waitForURL((u) => u.href.startsWith(callback.redirectUri), { timeout: CALLBACK_TIMEOUT_MS });
    await decideConsent(page, 'allow');
    await atCallback;
    const received = await callback.waitForState(state, CALLBACK_TIMEOUT_MS);
    return await client.authorizationCodeGrant(config, received, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
  } finally {
    await context.close();
  }
}

describe('Baton operator console: users, grant timeline, events (Chromium)', () => {
  test('a reuse detection is found in the events list and on the grant timeline', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const { context, page } = await newConsolePage(browser);
    try {
      await signInAdmin(page, baton.issuer, { path: '/console/clients/new' });
      await createClient(page);

      const config = await client.discovery(new URL(baton.issuer), CLIENT_ID, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
        timeout: HTTP_TIMEOUT_S,
      });
      const first = await aliceCodeFlow(config);
      const rt0 = first.refresh_token;
      assert.ok(rt0, 'a refresh token');
      const second = await client.refreshTokenGrant(config, rt0);
      const rt1 = second.refresh_token;
      assert.notEqual(rt1, rt0, 'rotated');
      const third = await client.refreshTokenGrant(config, rt1);
      const rt2 = third.refresh_token;
      assert.notEqual(rt2, rt1, 'rotated again');
      // Within the 15 s grace period a retry of the superseded token is answered with
      // the current one, byte for byte.
      const retry = await client.refreshTokenGrant(config, rt1);
      assert.equal(retry.refresh_token, rt2, 'a grace replay answers the current token');
      // Two generations old: reuse.
      await assert.rejects(client.refreshTokenGrant(config, rt0), (err) => {
        assert.equal(err?.error, 'invalid_grant', `reuse: ${err?.error ?? err}`);
        return true;
      });
      await assert.rejects(client.refreshTokenGrant(config, rt2), (err) => err?.error === 'invalid_grant', 'the grant was revoked');

      // The events list, filtered to reuse detections.
      await page.goto(`${baton.issuer}/console/events`);
      await page.selectOption('#f-type', 'token.reuse_detected');
      await Promise.all([page.waitForURL((u) => u.searchParams.get('type') === 'token.reuse_detected'), page.click('button:has-text("Filter")')]);
      const reuseRows = page.locator('tbody tr.reuse');
      assert.equal(await reuseRows.count(), 1, 'one reuse detection, highlighted');
      assert.match(await reuseRows.first().innerText(), /Reuse detected/);
      assert.match(await reuseRows.first().innerText(), new RegExp(CLIENT_ID));
      await assertAccessible(page, 'events (filtered)');

      // One click on: the grant's timeline.
      await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/console/grants/')), reuseRows.first().locator('a[href^="/console/grants/"]').click()]);
      const grantId = new URL(page.url()).pathname.split('/').pop();
      const items = page.locator('ol.timeline > li');
      const texts = await items.allInnerTexts();
      const idx = (re) => texts.findIndex((s) => re.test(s));
      const created = idx(/Created/);
      const rotated = idx(/Last rotation/);
      const reuse = idx(/Reuse detected/);
      const revoked = idx(/^.*Revoked/m);
      assert.ok(created >= 0 && created < rotated && rotated < reuse && reuse < revoked, `in order: ${JSON.stringify(texts, null, 1)}`);
      assert.match(texts[created], /authorization code flow/);
      assert.match(texts[rotated], /Rotated 2 times: at generation 3/);
      assert.match(texts[reuse], /generation 1 refresh token was presented while the grant was at generation 3/);
      assert.match(texts[reuse], /revoke_grant/);
      assert.equal(await page.locator('ol.timeline > li.reuse').count(), 1, 'the reuse is highlighted');
      for (const href of ['/console/users/alice', `/console/clients/${CLIENT_ID}`, '/console/users/alice#sessions']) {
        assert.ok((await page.locator(`a[href="${href}"]`).count()) > 0, `a link to ${href}`);
      }
      await assertAccessible(page, 'grant timeline');
      await docScreenshot(page, 'grant-timeline');

      // The unfiltered events list (for the docs), the users list and alice's page.
      await page.goto(`${baton.issuer}/console/events`);
      assert.ok((await page.locator(`tbody tr.reuse a[href="/console/grants/${grantId}"]`).count()) === 1);
      await assertAccessible(page, 'events');
      await docScreenshot(page, 'events');

      await page.goto(`${baton.issuer}/console/users`);
      await page.fill('#q', 'ali');
      await Promise.all([page.waitForURL((u) => u.searchParams.get('q') === 'ali'), page.click('button:has-text("Search")')]);
      assert.equal(await page.locator('tbody tr').count(), 1, 'the search finds alice alone');
      await page.goto(`${baton.issuer}/console/users`);
      assert.ok((await page.locator(`a[href="/console/users/${ADMIN.username}"]`).count()) === 1);
      await assertAccessible(page, 'users');
      await docScreenshot(page, 'users');

      await page.goto(`${baton.issuer}/console/users/alice`);
      const grantLink = page.locator(`a[href="/console/grants/${grantId}"]`);
      assert.equal(await grantLink.count(), 1, "the grant on alice's page");
      assert.match(await page.locator('#grants + .table, #grants ~ .table').first().innerText(), /reuse_detected/);
      await assertAccessible(page, 'user');
      await docScreenshot(page, 'user');

      // Withdraw alice's consent from her page: a POST with the CSRF token, the event
      // names the administrator.
      await Promise.all([page.waitForURL((u) => u.searchParams.get('done') === 'consent'), page.click('button:has-text("Withdraw consent")')]);
      assert.match(await page.locator('p.notice').innerText(), /consent was withdrawn/);
      const { body } = await adminApi(baton.issuer, 'GET', '/admin/events?type=consent.revoked');
      assert.equal(body.items.length, 1, JSON.stringify(body));
      assert.equal(body.items[0].details.actor?.username, ADMIN.username);

      // On a phone: the timeline still reads, and passes the check.
      const phone = await newConsolePage(browser, PHONE);
      try {
        await signInAdmin(phone.page, baton.issuer, { path: `/console/grants/${grantId}` });
        await assertAccessible(phone.page, 'grant timeline (phone)');
        const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow}px)`);
      } finally {
        await phone.context.close();
      }
    } catch (err) {
      t.diagnostic(await describeFailure(page, 'console-b'));
      throw err;
    } finally {
      await context.close();
    }
  });

  test('a non-admin is refused, and a form without its CSRF token changes nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
    await setup();
    const { context, page } = await newConsolePage(browser);
    try {
      await page.goto(`${baton.issuer}/console/users`);
      await submitLogin(page, ALICE);
      await page.waitForURL((u) => u.pathname === '/console/users');
      assert.match(await page.locator('h1').innerText(), /Not an administrator/);
      const refused = await page.request.post(`${baton.issuer}/console/users/alice/grants/revoke-all`, { form: {}, maxRedirects: 0 });
      assert.equal(refused.status(), 403);
    } finally {
      await context.close();
    }
    const admin = await newConsolePage(browser);
    try {
      await signInAdmin(admin.page, baton.issuer, { path: '/console/users/alice' });
      // alice's sessions (her code flow's, and her sign-in above) each have an end form.
      const ends = admin.page.locator('form[action$="/sessions/end"]');
      const before = await ends.count();
      assert.ok(before >= 1, 'a live session of alice');
      // The page's own form with its token removed.
      await admin.page.evaluate(() => {
        for (const el of document.querySelectorAll('form[action$="/sessions/end"] input[name="csrf"]')) el.remove();
      });
      const [resp] = await Promise.all([
        admin.page.waitForResponse((r) => r.url().endsWith('/console/users/alice/sessions/end') && r.request().method() === 'POST'),
        ends.first().locator('button').click(),
      ]);
      assert.equal(resp.status(), 403, 'refused without the CSRF token');
      await admin.page.goto(`${baton.issuer}/console/users/alice`);
      assert.equal(await ends.count(), before, 'no session was ended');
    } finally {
      await admin.context.close();
    }
  });
});

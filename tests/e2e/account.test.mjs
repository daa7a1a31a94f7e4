// Browser end-to-end test of the signed-in user's side of Baton: the /account page
// (see an application, press its revoke button, and the relying party's refresh
// then fails) and logout (the confirmation page without a hint, and RP-initiated
// logout with an id_token_hint built by openid-client from discovery).
//
// Same fixtures as login.test.mjs: a real Baton server, openid-client as the
// relying party and Debian Chromium through the pages. Run with tests/e2e/run.sh.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as client from 'openid-client';

import {
  decideConsent,
  describeFailure,
  launchBrowser,
  newPage,
  screenshot,
  submitLogin,
  visibleText,
} from './lib/browser.mjs';
import { ALICE, SCOPES, SPA_CLIENT, WEB_CLIENT, startBaton, startCallbackServer } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 60_000;
const CALLBACK_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_S = 10;

let callback;
let baton;
let browser;

let setupPromise;
function setup() {
  setupPromise ??= (async () => {
    callback = await startCallbackServer();
    baton = await startBaton({ redirectUri: callback.redirectUri, name: 'baton-account-test' });
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

async function discover(clientId, clientAuth) {
  return client.discovery(new URL(baton.issuer), clientId, undefined, clientAuth, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    timeout: HTTP_TIMEOUT_S,
  });
}

/** Is the page the login form? (Waits for either the login or the consent form.) */
async function atLogin(page) {
  const user = page.locator('input[name="username"]');
  const allow = page.locator('button[name="decision"][value="allow"]');
  await user.or(allow).first().waitFor({ state: 'visible' });
  return (await user.count()) > 0;
}

/**
 * The code flow in `page` (an existing browser context, so the session is kept):
 * sign in if asked, allow on the consent page, then redeem the code with
 * openid-client. Returns the token response.
 */
async function codeFlow(t, page, config, label) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    response_type: 'code',
    redirect_uri: callback.redirectUri,
    scope: SCOPES.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    prompt: 'consent',
  });
  await page.goto(authUrl.href);
  if (await atLogin(page)) {
    t.diagnostic(`screenshot ${await screenshot(page, `${label}-login`)}`);
    await submitLogin(page, ALICE);
  }
  await page.locator('button[name="decision"][value="allow"]').waitFor({ state: 'visible' });
  const atCallback = page.waitForURL((u) => u.href.startsWith(callback.redirectUri), {
    timeout: CALLBACK_TIMEOUT_MS,
  });
  await decideConsent(page, 'allow');
  await atCallback;
  const received = await callback.waitForState(state, CALLBACK_TIMEOUT_MS);
  return client.authorizationCodeGrant(config, received, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
}

/** Expects a refresh to be refused with invalid_grant. */
async function assertRefreshFails(config, refreshToken, what) {
  await assert.rejects(
    client.refreshTokenGrant(config, refreshToken),
    (err) => {
      assert.equal(err?.error, 'invalid_grant', `${what}: expected invalid_grant, got ${err?.error ?? err}`);
      return true;
    },
    `${what}: the refresh should fail`,
  );
}

/** Does a new authorization request show the login page (that is, no session)? */
async function showsLogin(page, config) {
  const url = client.buildAuthorizationUrl(config, {
    response_type: 'code',
    redirect_uri: callback.redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
  });
  // The redirects (login page, consent page, or straight back to the client) are
  // followed by the time the navigation settles.
  await page.goto(url.href, { waitUntil: 'load' });
  const here = new URL(page.url());
  return here.origin === baton.issuer && here.pathname === '/login';
}

describe('Baton account page and logout (openid-client + Chromium)', () => {
  test('account page: see the application, revoke it, and its refresh fails', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const web = await discover(WEB_CLIENT.client_id, client.ClientSecretBasic(WEB_CLIENT.client_secret));
    const spa = await discover(SPA_CLIENT.client_id, client.None());
    const { context, page } = await newPage(browser);
    try {
      const webTokens = await codeFlow(t, page, web, 'account-web');
      const spaTokens = await codeFlow(t, page, spa, 'account-spa');
      assert.ok(webTokens.refresh_token, 'web got no refresh token');
      assert.ok(spaTokens.refresh_token, 'spa got no refresh token');

      await page.goto(`${baton.issuer}/account`);
      await page.locator('h1', { hasText: 'Your account' }).waitFor();
      t.diagnostic(`screenshot ${await screenshot(page, 'account-1-list')}`);
      const text = await visibleText(page);
      assert.ok(text.includes(WEB_CLIENT.client_name), `the page does not name "${WEB_CLIENT.client_name}": ${text}`);
      assert.ok(text.includes(SPA_CLIENT.client_id), `the page does not name "${SPA_CLIENT.client_id}": ${text}`);
      assert.ok(text.includes('keep access while you are away'), 'offline_access is not in plain words');
      assert.equal(await page.locator('form[method="post"] button[name="revoke"]').count(), 2, 'one revoke button per grant');

      const webGrant = page.locator('section', { has: page.locator('h2', { hasText: WEB_CLIENT.client_name }) });
      await Promise.all([
        page.waitForURL(`${baton.issuer}/account`, { waitUntil: 'load' }),
        webGrant.locator('button[name="revoke"]').click(),
      ]);
      await page.locator('h1', { hasText: 'Your account' }).waitFor();
      t.diagnostic(`screenshot ${await screenshot(page, 'account-2-revoked')}`);
      // The applications' sections; the activity list below them tells of the revocation.
      const after = (await page.locator('section.grant').allInnerTexts()).join('\n');
      assert.ok(!after.includes(WEB_CLIENT.client_name), `the revoked application is still listed: ${after}`);
      assert.ok(after.includes(SPA_CLIENT.client_id), 'the other application is gone too');
      const activity = await page.locator('section.activity').innerText();
      assert.ok(activity.includes('Recent security activity'), `no activity list: ${activity}`);
      assert.ok(activity.includes('Signed in'), `the sign-in is not in the activity list: ${activity}`);
      assert.ok(activity.includes(`Access of ${WEB_CLIENT.client_name} was revoked by you.`), `the revocation is not in the activity list: ${activity}`);

      await assertRefreshFails(web, webTokens.refresh_token, 'the revoked web client');
      const refreshed = await client.refreshTokenGrant(spa, spaTokens.refresh_token);
      assert.ok(refreshed.access_token, 'the other grant no longer refreshes');
    } catch (err) {
      for (const line of (await describeFailure(page, 'account')).split('\n')) t.diagnostic(line);
      throw err;
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('logout without a hint: confirm on the page, and the session is gone', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const web = await discover(WEB_CLIENT.client_id, client.ClientSecretBasic(WEB_CLIENT.client_secret));
    const { context, page } = await newPage(browser);
    try {
      // Sign in from the account page: the login page comes back to it.
      await page.goto(`${baton.issuer}/account`);
      assert.equal(new URL(page.url()).pathname, '/login', 'not signed in: the login page');
      await submitLogin(page, ALICE);
      await page.waitForURL(`${baton.issuer}/account`);
      assert.ok(!(await showsLogin(page, web)), 'signed in: no login page');

      await page.goto(`${baton.issuer}/logout`);
      const confirm = page.locator('form[method="post"] button[name="confirm"]');
      await confirm.waitFor({ state: 'visible' });
      assert.ok((await visibleText(page)).includes('Sign out?'));
      t.diagnostic(`screenshot ${await screenshot(page, 'logout-1-confirm')}`);
      await confirm.click();
      await page.locator('h1', { hasText: 'You are signed out' }).waitFor();
      t.diagnostic(`screenshot ${await screenshot(page, 'logout-2-signed-out')}`);
      const cookies = await context.cookies(baton.issuer);
      assert.ok(!cookies.some((c) => c.name === 'baton_session'), 'the session cookie is cleared');

      assert.ok(await showsLogin(page, web), 'after logout a new authorization shows the login page');
      t.diagnostic(`screenshot ${await screenshot(page, 'logout-3-login-again')}`);
    } catch (err) {
      for (const line of (await describeFailure(page, 'logout-confirm')).split('\n')) t.diagnostic(line);
      throw err;
    } finally {
      await context.close().catch(() => {});
    }
  });

  test('RP-initiated logout with id_token_hint ends the session and its grants', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const web = await discover(WEB_CLIENT.client_id, client.ClientSecretBasic(WEB_CLIENT.client_secret));
    assert.equal(web.serverMetadata().end_session_endpoint, `${baton.issuer}/logout`);
    const { context, page } = await newPage(browser);
    try {
      const tokens = await codeFlow(t, page, web, 'rp-logout');
      const endSession = client.buildEndSessionUrl(web, { id_token_hint: tokens.id_token });
      await page.goto(endSession.href);
      await page.locator('h1', { hasText: 'You are signed out' }).waitFor();
      t.diagnostic(`screenshot ${await screenshot(page, 'rp-logout-signed-out')}`);
      // revoke_on_logout (default true): the session's offline grant is gone too.
      await assertRefreshFails(web, tokens.refresh_token, 'after logout');
      assert.ok(await showsLogin(page, web), 'after logout a new authorization shows the login page');
    } catch (err) {
      for (const line of (await describeFailure(page, 'rp-logout')).split('\n')) t.diagnostic(line);
      throw err;
    } finally {
      await context.close().catch(() => {});
    }
  });
});

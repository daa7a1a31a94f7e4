// Browser / interop end-to-end test of Baton.
//
// A real Baton server (from $BATON_BIN), a real relying party (openid-client)
// and a real browser (Debian Chromium via playwright-core): the authorization
// code travels from Baton through the browser to the relying party's
// redirect_uri, a local HTTP server that records what it receives.
//
// Run with tests/e2e/run.sh, or `node --test` in tests/e2e once `npm ci` ran.

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
const HTTP_TIMEOUT_S = 10; // openid-client request timeout, in seconds
const OFFLINE_ACCESS_WORDS = 'keep access while you are away';
const CLOCK_SLACK_S = 5;

let callback; // the relying party's redirect_uri server
let baton; // {issuer, stop}
let browser;

// Started once, on first use, and shared by the tests. Each test awaits it, so
// a server that is missing or never gets ready fails every test with the
// reason (rather than cancelling them through a failed hook).
let setupPromise;
function setup() {
  setupPromise ??= (async () => {
    callback = await startCallbackServer();
    baton = await startBaton({ redirectUri: callback.redirectUri, name: 'baton-login-test' });
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

/** openid-client Configuration from Baton's discovery document. */
async function discover(clientId, clientAuth) {
  return rp(
    'discovery (/.well-known/openid-configuration)',
    client.discovery(new URL(baton.issuer), clientId, undefined, clientAuth, {
      // Plain http on loopback; and validate ID token signatures against the
      // server's JWKS (openid-client skips that by default for token responses).
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      timeout: HTTP_TIMEOUT_S,
    }),
  );
}

/** One-line-per-level account of an error and its causes (openid-client nests the reason). */
function explainError(err) {
  const lines = [];
  let e = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++, e = e.cause) {
    if (!(e instanceof Error)) {
      let json;
      try {
        json = JSON.stringify(e, (_k, v) => (ArrayBuffer.isView(v) ? `<${v.byteLength} bytes>` : v));
      } catch {
        json = String(e);
      }
      lines.push(`cause: ${String(json).slice(0, 500)}`);
      break;
    }
    const extra = ['code', 'status', 'error', 'error_description']
      .filter((k) => e[k] !== undefined)
      .map((k) => `${k}=${e[k]}`)
      .join(' ');
    lines.push(`${depth ? 'cause: ' : ''}${e.name}: ${e.message}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n  ');
}

/** Runs a relying-party (openid-client) step; a failure names the step and why. */
async function rp(what, promise) {
  try {
    return await promise;
  } catch (err) {
    throw new Error(`${what} failed: ${explainError(err)}`, { cause: err });
  }
}

/** Emits a multi-line diagnostic (TAP diagnostics are single lines). */
function diag(t, text) {
  for (const line of String(text).split('\n')) t.diagnostic(line);
}

function assertContractMetadata(config) {
  const md = config.serverMetadata();
  const iss = baton.issuer;
  assert.equal(md.issuer, iss);
  assert.equal(md.authorization_endpoint, `${iss}/authorize`);
  assert.equal(md.token_endpoint, `${iss}/token`);
  assert.equal(md.userinfo_endpoint, `${iss}/userinfo`);
  assert.equal(md.jwks_uri, `${iss}/jwks`);
  assert.ok(md.response_types_supported?.includes('code'), 'response_types_supported lacks "code"');
  assert.ok(md.supportsPKCE('S256'), 'code_challenge_methods_supported lacks S256');
}

/**
 * Runs the front channel in a fresh browser context: authorization URL →
 * login page → consent page → decision → redirect_uri. Returns the URL the
 * redirect_uri server received, with what is needed to redeem it.
 */
async function authorizeInBrowser(t, config, { label, decision }) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authUrl = client.buildAuthorizationUrl(config, {
    response_type: 'code',
    redirect_uri: callback.redirectUri,
    scope: SCOPES.join(' '),
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    // OIDC Core §11: offline_access is honoured when consent is prompted for.
    prompt: 'consent',
  });

  const { context, page } = await newPage(browser);
  try {
    await page.goto(authUrl.href);

    // Login page.
    await page.locator('input[name="username"]').waitFor({ state: 'visible' });
    const loginUrl = new URL(page.url());
    assert.equal(loginUrl.origin, baton.issuer, 'login page is not on the issuer');
    assert.equal(loginUrl.pathname, '/login', `expected a redirect to /login, browser is at ${page.url()}`);
    assert.equal(await page.locator('input[name="password"]').count(), 1, 'login page has no password input');
    t.diagnostic(`screenshot ${await screenshot(page, `${label}-1-login`)}`);
    await submitLogin(page, ALICE);

    // Consent page.
    const allow = page.locator('button[name="decision"][value="allow"]');
    const deny = page.locator('button[name="decision"][value="deny"]');
    await allow.waitFor({ state: 'visible' });
    await deny.waitFor({ state: 'visible' });
    assert.equal(new URL(page.url()).origin, baton.issuer, 'consent page is not on the issuer');
    t.diagnostic(`screenshot ${await screenshot(page, `${label}-2-consent`)}`);
    const text = (await visibleText(page)).toLowerCase();
    for (const scope of SCOPES) {
      assert.ok(text.includes(scope.toLowerCase()), `consent page does not list scope "${scope}"`);
    }
    assert.ok(
      text.includes(OFFLINE_ACCESS_WORDS),
      `consent page does not explain offline_access as "${OFFLINE_ACCESS_WORDS}"`,
    );

    // Decision → redirect to the relying party, through the browser.
    const atCallback = page.waitForURL((u) => u.href.startsWith(callback.redirectUri), {
      timeout: CALLBACK_TIMEOUT_MS,
    });
    await decideConsent(page, decision);
    await atCallback;
    const received = await callback.waitForState(state, CALLBACK_TIMEOUT_MS);
    assert.equal(new URL(page.url()).search, received.search, 'browser URL and redirect_uri request differ');
    t.diagnostic(`redirect_uri received ${received.search.replace(/code=[^&]+/, 'code=…')}`);
    return { received, codeVerifier, state, nonce };
  } catch (err) {
    diag(t, await describeFailure(page, label));
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

function decodeJwtHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

async function assertSignedByServerKey(config, idToken) {
  const header = decodeJwtHeader(idToken);
  assert.notEqual(header.alg, 'none', 'ID token is unsigned');
  const res = await fetch(config.serverMetadata().jwks_uri, { signal: AbortSignal.timeout(HTTP_TIMEOUT_S * 1000) });
  assert.equal(res.status, 200, 'GET /jwks failed');
  const jwks = await res.json();
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, '/jwks has no keys');
  for (const k of jwks.keys) {
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      assert.ok(!(priv in k), `/jwks publishes private/secret key material "${priv}"`);
    }
  }
  if (header.kid !== undefined) {
    assert.ok(
      jwks.keys.some((k) => k.kid === header.kid),
      `ID token kid ${header.kid} is not in /jwks`,
    );
  }
}

describe('Baton browser login (openid-client + Chromium)', () => {
  test(
    'confidential client: code flow with PKCE, consent, ID token, refresh, userinfo',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      await setup();
      const startedAt = Math.floor(Date.now() / 1000);
      const config = await discover(WEB_CLIENT.client_id, client.ClientSecretBasic(WEB_CLIENT.client_secret));
      assertContractMetadata(config);

      const { received, codeVerifier, state, nonce } = await authorizeInBrowser(t, config, {
        label: 'web-allow',
        decision: 'allow',
      });
      assert.ok(received.searchParams.get('code'), 'no code on the redirect');
      assert.equal(received.searchParams.get('state'), state);
      assert.equal(received.searchParams.get('error'), null, `unexpected error ${received.search}`);

      // Back channel: openid-client checks state, PKCE, nonce, iss, aud, exp,
      // and (enableNonRepudiationChecks) the signature against /jwks.
      const tokens = await rp(
        'authorization code grant (/token)',
        client.authorizationCodeGrant(config, received, {
          pkceCodeVerifier: codeVerifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        }),
      );
      assert.ok(tokens.access_token, 'no access_token');
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.id_token, 'no id_token');
      await assertSignedByServerKey(config, tokens.id_token);

      const claims = tokens.claims();
      assert.ok(claims, 'no ID token claims');
      assert.equal(claims.iss, baton.issuer);
      assert.ok(typeof claims.sub === 'string' && claims.sub.length > 0, 'ID token sub missing');
      assert.ok([claims.aud].flat().includes(WEB_CLIENT.client_id), 'ID token aud lacks the client');
      assert.equal(claims.nonce, nonce);
      assert.ok(Number.isInteger(claims.auth_time), 'ID token has no integer auth_time');
      const now = Math.floor(Date.now() / 1000);
      assert.ok(
        claims.auth_time >= startedAt - CLOCK_SLACK_S && claims.auth_time <= now + CLOCK_SLACK_S,
        `auth_time ${claims.auth_time} is not the login just made (${startedAt}..${now})`,
      );
      assert.ok(typeof claims.sid === 'string' && claims.sid.length > 0, 'ID token has no sid');
      assert.ok(
        typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0,
        'no refresh_token although offline_access was granted',
      );

      // Refresh (client_secret_basic again).
      const refreshed = await rp('refresh token grant (/token)', client.refreshTokenGrant(config, tokens.refresh_token));
      assert.ok(refreshed.access_token, 'refresh gave no access_token');
      assert.notEqual(refreshed.access_token, tokens.access_token, 'refresh returned the same access token');
      if (refreshed.id_token) {
        assert.equal(refreshed.claims()?.sub, claims.sub, 'refreshed ID token has another sub');
      }

      // UserInfo with the new access token.
      const userinfo = await rp('userinfo', client.fetchUserInfo(config, refreshed.access_token, claims.sub));
      assert.equal(userinfo.sub, claims.sub);
      assert.equal(userinfo.email, ALICE.email);
      assert.equal(userinfo.name, ALICE.name);
    },
  );

  test('deny on the consent page redirects with error=access_denied and the state', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const config = await discover(WEB_CLIENT.client_id, client.ClientSecretBasic(WEB_CLIENT.client_secret));
    const { received, codeVerifier, state, nonce } = await authorizeInBrowser(t, config, {
      label: 'web-deny',
      decision: 'deny',
    });
    assert.equal(received.searchParams.get('error'), 'access_denied');
    assert.equal(received.searchParams.get('state'), state);
    assert.equal(received.searchParams.get('code'), null, 'a code was issued although the user denied');

    // The relying party library reads it as an OAuth error response, too.
    await assert.rejects(
      client.authorizationCodeGrant(config, received, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        expectedNonce: nonce,
      }),
      (err) => err instanceof client.AuthorizationResponseError && err.error === 'access_denied',
    );
  });

  test('public client (token_endpoint_auth_method none) gets tokens with PKCE', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await setup();
    const config = await discover(SPA_CLIENT.client_id, client.None());
    const { received, codeVerifier, state, nonce } = await authorizeInBrowser(t, config, {
      label: 'spa-allow',
      decision: 'allow',
    });
    assert.ok(received.searchParams.get('code'), `no code on the redirect: ${received.search}`);

    const tokens = await rp(
      'authorization code grant (/token)',
      client.authorizationCodeGrant(config, received, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      }),
    );
    assert.ok(tokens.access_token, 'no access_token');
    await assertSignedByServerKey(config, tokens.id_token);
    const claims = tokens.claims();
    assert.ok(typeof claims?.sub === 'string' && claims.sub.length > 0, 'ID token sub missing');
    assert.ok([claims.aud].flat().includes(SPA_CLIENT.client_id), 'ID token aud lacks the client');
    assert.equal(claims.nonce, nonce);

    const userinfo = await rp('userinfo', client.fetchUserInfo(config, tokens.access_token, claims.sub));
    assert.equal(userinfo.email, ALICE.email);
    t.diagnostic(`refresh_token issued to public client: ${Boolean(tokens.refresh_token)}`);
  });
});

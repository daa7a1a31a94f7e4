// Browser end-to-end test of Baton with a single-page app: oidc-client-ts in
// headless Chromium, served from an origin of its own (tests/e2e/spa/ on a
// local static server), signs in through Baton's pages with PKCE, refreshes
// with rotation and calls /userinfo, every request the browser's own fetch
// from the app's origin, so Baton's CORS answers decide what the app may read.
// The same page served from an origin that is not in the client's
// allowed_origins cannot read the token response. spa-dpop.test.mjs runs the
// same app with DPoP.
//
// Run with tests/e2e/run.sh spa.test.mjs.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { decodeJwt } from './lib/dpop.mjs';
import { SPA_CLIENT_ID, SPA_SCOPE, inBrowser, signInThroughSpa, spaCall, spaClientToml, startSpa } from './lib/spa.mjs';
import { ALICE, startBaton } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 60_000;

const decodeJwtPayload = (jwt) => decodeJwt(jwt).payload;

describe('single-page app (oidc-client-ts in Chromium, CORS)', () => {
  let baton;
  let browser;
  let allowed; // the SPA on an origin in allowed_origins
  let other; // the same SPA on an origin that is not
  let setupPromise;
  const setup = () =>
    (setupPromise ??= (async () => {
      const config = () => ({ authority: baton.issuer, client_id: SPA_CLIENT_ID, scope: SPA_SCOPE, dpop: false });
      allowed = await startSpa(config);
      other = await startSpa(config);
      baton = await startBaton({
        // The base config's own clients get the allowed SPA's callback; they play no part here.
        redirectUri: allowed.redirectUri,
        name: 'baton-spa-test',
        // Both origins may be redirected to; only the first may read answers
        // (http.cors_from_redirect_uris is off by default).
        extraConfig: () =>
          spaClientToml({
            clientId: SPA_CLIENT_ID,
            redirects: [allowed.redirectUri, other.redirectUri],
            origins: [allowed.origin],
          }),
      });
      browser = await launchBrowser();
    })());

  after(
    async () => {
      await setupPromise?.catch(() => {});
      await browser?.close().catch(() => {});
      await baton?.stop();
      await allowed?.close();
      await other?.close();
    },
    { timeout: 15_000 },
  );

  test(
    'allowed origin: sign-in with PKCE, two rotating refreshes and userinfo, all from the browser',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      await setup();
      const { issuer } = baton;
      await inBrowser(t, browser, issuer, 'spa-allowed', async (page, seen) => {
        const signedIn = await signInThroughSpa(t, page, { issuer, spaOrigin: allowed.origin, label: 'spa-allowed' });
        assert.ok(!signedIn.error, `signinRedirectCallback failed: ${JSON.stringify(signedIn.error)}`);
        const first = signedIn.ok;

        // The authorization request oidc-client-ts built: code flow with PKCE S256.
        assert.equal(seen.authorize.length, 1, 'expected one /authorize request');
        const authz = seen.authorize[0].searchParams;
        assert.equal(authz.get('response_type'), 'code');
        assert.equal(authz.get('client_id'), SPA_CLIENT_ID);
        assert.equal(authz.get('redirect_uri'), allowed.redirectUri);
        assert.equal(authz.get('code_challenge_method'), 'S256');
        assert.match(authz.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);

        assert.equal(first.token_type.toLowerCase(), 'bearer');
        assert.ok(first.access_token, 'no access token');
        assert.ok(first.refresh_token, 'no refresh token although offline_access was granted');
        assert.ok(first.id_token, 'no ID token');
        const sub = first.profile.sub;
        assert.ok(typeof sub === 'string' && sub.length > 0, 'no sub in the profile');
        // loadUserInfo: oidc-client-ts merged /userinfo (fetched from this origin) into the profile.
        assert.equal(first.profile.name, ALICE.name, 'the profile lacks the userinfo name');

        // Two refreshes (signinSilent with the stored refresh token): each rotates.
        const second = await spaCall(page, 'first refresh', () => window.spa.refresh());
        const third = await spaCall(page, 'second refresh', () => window.spa.refresh());
        const refreshTokens = [first.refresh_token, second.refresh_token, third.refresh_token];
        assert.ok(second.refresh_token && third.refresh_token, 'a refresh returned no refresh token');
        assert.equal(new Set(refreshTokens).size, 3, 'the refresh token did not change at each refresh');
        const accessTokens = [first.access_token, second.access_token, third.access_token];
        assert.equal(new Set(accessTokens).size, 3, 'the access token did not change at each refresh');
        for (const u of [second, third]) {
          assert.equal(u.profile.sub, sub, 'a refresh changed the subject');
          assert.equal(u.token_type.toLowerCase(), 'bearer');
        }
        const stored = await spaCall(page, 'getUser', () => window.spa.user());
        assert.equal(stored.refresh_token, third.refresh_token, 'the app does not hold the newest refresh token');

        // The page's own /userinfo call with the newest access token (a preflighted
        // request: it carries Authorization).
        const info = await spaCall(page, 'userinfo', () => window.spa.userinfo('Bearer'));
        assert.equal(info.status, 200, `userinfo answered ${info.status}: ${JSON.stringify(info.body)}`);
        assert.equal(info.body.sub, sub);
        assert.equal(info.body.name, ALICE.name);
        assert.equal(decodeJwtPayload(third.access_token).client_id, SPA_CLIENT_ID);

        // Every /token and /userinfo request came from the browser, on the SPA's
        // origin, and was answered for that origin.
        await seen.settled();
        assert.equal(seen.token.length, 3, `expected 3 token requests, saw ${JSON.stringify(seen.token)}`);
        assert.ok(seen.userinfo.filter((r) => r.method === 'GET').length >= 2, 'expected 2 userinfo GETs');
        for (const r of [...seen.token, ...seen.userinfo]) {
          if (r.method === 'OPTIONS') continue;
          assert.equal(r.origin, allowed.origin, `a request did not come from the SPA: ${JSON.stringify(r)}`);
          assert.equal(r.status, 200, `a request failed: ${JSON.stringify(r)}`);
          assert.equal(r.allowOrigin, allowed.origin, `an answer was not for the SPA's origin: ${JSON.stringify(r)}`);
        }
      });
    },
  );

  test(
    'an origin not in allowed_origins cannot read the token response (the browser blocks it)',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      await setup();
      const { issuer } = baton;
      await inBrowser(t, browser, issuer, 'spa-other-origin', async (page, seen) => {
        const result = await signInThroughSpa(t, page, { issuer, spaOrigin: other.origin, label: 'spa-other-origin' });
        assert.ok(!result.ok, `the app on ${other.origin} got tokens: ${JSON.stringify(result.ok?.profile)}`);
        // fetch() rejects with a TypeError when CORS forbids reading the answer.
        assert.equal(result.error.name, 'TypeError', `expected a network error, got ${JSON.stringify(result.error)}`);
        // Chromium says why: Baton's answer had no Access-Control-Allow-Origin for this origin.
        const refusal = `Access to fetch at '${issuer}/token' from origin '${other.origin}' has been blocked by CORS policy`;
        assert.ok(
          seen.console.some((line) => line.includes(refusal) && line.includes("No 'Access-Control-Allow-Origin' header")),
          `Chromium reported no CORS refusal of ${issuer}/token:\n${seen.console.join('\n')}`,
        );
        await seen.settled();
        assert.equal(seen.token.length, 1, `expected one token request, saw ${JSON.stringify(seen.token)}`);
        assert.equal(seen.token[0].failure, 'net::ERR_FAILED');
        const stored = await spaCall(page, 'getUser', () => window.spa.user());
        assert.equal(stored, null, 'the app holds a user although the token response was blocked');
      });
    },
  );
});

// Browser end-to-end test of Baton with a single-page app using DPoP: the app of
// spa.test.mjs (oidc-client-ts in headless Chromium, on an origin of its own)
// with oidc-client-ts's DPoP support, a non-extractable P-256 key kept in
// IndexedDB. Tokens are DPoP-bound, refreshes carry proofs and rotate, /userinfo
// takes `Authorization: DPoP` with a proof carrying `ath`, all from the browser;
// the public client's refresh token is bound to the page's key.
//
// Run with tests/e2e/run.sh spa-dpop.test.mjs.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { launchBrowser } from './lib/browser.mjs';
import { decodeJwt, jwkThumbprint, makeProof, newEs256Key, sha256b64url } from './lib/dpop.mjs';
import { SPA_CLIENT_ID, SPA_SCOPE, inBrowser, signInThroughSpa, spaCall, spaClientToml, startSpa } from './lib/spa.mjs';
import { ALICE, startBaton } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 60_000;

const decodeJwtPayload = (jwt) => decodeJwt(jwt).payload;

/** A refresh_token grant sent from Node (not the browser) with an optional DPoP proof. */
async function refreshFromNode(issuer, refreshToken, dpop) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpop) headers.dpop = dpop;
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: SPA_CLIENT_ID }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/**
 * A Baton (with `extraToml` appended to its config), the DPoP SPA on its own origin
 * (`spa`, in the client's allowed_origins), the same app on another origin (`other`:
 * a redirect URI of the client, not an allowed origin) and Chromium, started on first
 * use; `stop` for the suite's `after`.
 */
function dpopSetup(name, extraToml = '') {
  const env = {};
  let promise;
  const start = () =>
    (promise ??= (async () => {
      const config = () => ({
        authority: env.baton.issuer,
        client_id: SPA_CLIENT_ID,
        scope: SPA_SCOPE,
        // dpop_jkt at /authorize: the code can only be redeemed with the page's key.
        dpop: { bind_authorization_code: true },
      });
      env.spa = await startSpa(config);
      env.other = await startSpa(config);
      const client = spaClientToml({
        clientId: SPA_CLIENT_ID,
        redirects: [env.spa.redirectUri, env.other.redirectUri],
        origins: [env.spa.origin],
      });
      env.baton = await startBaton({
        redirectUri: env.spa.redirectUri,
        name,
        // No dpop_bound_access_tokens: the tokens are bound because the app sends proofs.
        extraConfig: () => `${client}\n${extraToml}`,
      });
      env.browser = await launchBrowser();
      return env;
    })());
  const stop = async () => {
    await promise?.catch(() => {});
    await env.browser?.close().catch(() => {});
    await env.baton?.stop();
    await env.spa?.close();
    await env.other?.close();
  };
  return { start, stop };
}

describe('single-page app with DPoP (oidc-client-ts in Chromium)', () => {
  const suite = dpopSetup('baton-spa-dpop-test');
  after(() => suite.stop(), { timeout: 15_000 });

  test(
    'DPoP: bound tokens, two rotating refreshes with proofs, userinfo with a DPoP proof, from the browser',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { baton, browser, spa } = await suite.start();
      const { issuer } = baton;
      await inBrowser(t, browser, issuer, 'spa-dpop', async (page, seen) => {
        const signedIn = await signInThroughSpa(t, page, { issuer, spaOrigin: spa.origin, label: 'spa-dpop' });
        assert.ok(!signedIn.error, `signinRedirectCallback failed: ${JSON.stringify(signedIn.error)}`);
        const first = signedIn.ok;
        const jkt = await spaCall(page, 'DPoP key thumbprint', () => window.spa.dpopJkt());
        assert.equal(seen.authorize.length, 1, 'expected one /authorize request');
        assert.equal(seen.authorize[0].searchParams.get('dpop_jkt'), jkt, 'the code request did not name the key');
        assert.equal(
          await spaCall(page, 'DPoP key lookup', () => window.spa.dpopKeyExtractable()),
          false,
          'the DPoP private key is extractable',
        );

        const second = await spaCall(page, 'first refresh', () => window.spa.refresh());
        const third = await spaCall(page, 'second refresh', () => window.spa.refresh());
        for (const [i, u] of [first, second, third].entries()) {
          assert.equal(u.token_type, 'DPoP', `token response ${i + 1}: token_type ${u.token_type}`);
          const at = decodeJwtPayload(u.access_token);
          assert.equal(at.cnf?.jkt, jkt, `access token ${i + 1} is not bound to the page's key`);
          assert.equal(u.profile.sub, first.profile.sub);
        }
        assert.equal(
          new Set([first.refresh_token, second.refresh_token, third.refresh_token]).size,
          3,
          'the refresh token did not change at each refresh',
        );

        // Each token request carried a proof for POST {issuer}/token by that key.
        await seen.settled();
        assert.equal(seen.token.length, 3, `expected 3 token requests, saw ${JSON.stringify(seen.token)}`);
        for (const r of seen.token) {
          assert.equal(r.status, 200);
          assert.equal(r.allowOrigin, spa.origin);
          assert.ok(r.dpop, 'a token request carried no DPoP proof');
          const proof = decodeJwt(r.dpop);
          assert.equal(proof.header.typ, 'dpop+jwt');
          assert.equal(proof.header.alg, 'ES256');
          assert.equal(jwkThumbprint(proof.header.jwk), jkt);
          assert.equal(proof.payload.htm, 'POST');
          assert.equal(proof.payload.htu, `${issuer}/token`);
        }

        // /userinfo with `Authorization: DPoP` and a proof with ath, from the page.
        const info = await spaCall(page, 'userinfo (DPoP)', () => window.spa.userinfo('DPoP'));
        assert.equal(info.status, 200, `userinfo answered ${info.status}: ${JSON.stringify(info.body)}`);
        assert.equal(info.body.sub, first.profile.sub);
        assert.equal(info.body.name, ALICE.name);
        await seen.settled();
        const get = seen.userinfo.filter((r) => r.method === 'GET');
        assert.equal(get.length, 1, `expected one userinfo GET, saw ${JSON.stringify(seen.userinfo)}`);
        assert.equal(get[0].allowOrigin, spa.origin);
        const proof = decodeJwt(get[0].dpop);
        assert.equal(proof.payload.htm, 'GET');
        assert.equal(proof.payload.htu, `${issuer}/userinfo`);
        assert.equal(proof.payload.ath, sha256b64url(third.access_token));

        // A DPoP-bound access token is no bearer token (RFC 9449 §7.1). Sent from Node:
        // the refusal carries no CORS header, so the page could not read it.
        const asBearer = await fetch(`${issuer}/userinfo`, {
          headers: { authorization: `Bearer ${third.access_token}` },
          signal: AbortSignal.timeout(10_000),
        });
        assert.equal(asBearer.status, 401, 'a DPoP-bound token was accepted as Bearer');
        assert.match(asBearer.headers.get('www-authenticate') ?? '', /invalid_token/);

        // The public client's refresh token is bound to the page's key: neither
        // without a proof nor with a proof from another key does it refresh.
        const htu = `${issuer}/token`;
        const bare = await refreshFromNode(issuer, third.refresh_token);
        assert.equal(bare.status, 400, `a bound refresh token worked without a proof: ${JSON.stringify(bare.body)}`);
        const otherKey = await newEs256Key();
        const wrong = await refreshFromNode(issuer, third.refresh_token, await makeProof(otherKey, { htm: 'POST', htu }));
        assert.equal(wrong.status, 400, `a bound refresh token worked with another key: ${JSON.stringify(wrong.body)}`);
        for (const r of [bare, wrong]) {
          assert.equal(r.body?.error, 'invalid_grant', `unexpected refusal ${JSON.stringify(r.body)}`);
        }
        // Refusing them changed nothing: the page's next refresh works and rotates.
        const fourth = await spaCall(page, 'refresh after the refused attempts', () => window.spa.refresh());
        assert.equal(fourth.token_type, 'DPoP');
        assert.notEqual(fourth.refresh_token, third.refresh_token, 'the refresh token did not rotate');
      });
    },
  );
});


describe('single-page app with DPoP on an origin not in allowed_origins', () => {
  const suite = dpopSetup('baton-spa-dpop-other-origin-test');
  after(() => suite.stop(), { timeout: 15_000 });

  test(
    'the preflight of the code exchange (it carries a DPoP header) is refused, so the request is never sent',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { baton, browser, other } = await suite.start();
      const { issuer } = baton;
      await inBrowser(t, browser, issuer, 'spa-dpop-other-origin', async (page, seen) => {
        const result = await signInThroughSpa(t, page, { issuer, spaOrigin: other.origin, label: 'spa-dpop-other' });
        assert.ok(!result.ok, `the app on ${other.origin} got tokens`);
        assert.equal(result.error.name, 'TypeError', `expected a network error, got ${JSON.stringify(result.error)}`);
        const refusal = `Access to fetch at '${issuer}/token' from origin '${other.origin}' has been blocked by CORS policy`;
        assert.ok(
          seen.console.some((line) => line.includes(refusal) && line.includes('preflight')),
          `Chromium reported no refused preflight for ${issuer}/token:\n${seen.console.join('\n')}`,
        );
        // The code was not spent: Baton never saw the exchange, so redeeming it now
        // fails on the PKCE verifier (a wrong one), not as an already used code.
        const code = new URL(page.url()).searchParams.get('code');
        const res = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            client_id: SPA_CLIENT_ID,
            redirect_uri: other.redirectUri,
            code_verifier: 'x'.repeat(43),
          }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.json();
        assert.equal(body.error, 'invalid_grant');
        assert.doesNotMatch(
          body.error_description ?? '',
          /already used/,
          `the browser's exchange reached Baton: ${JSON.stringify(body)}`,
        );
      });
    },
  );
});

describe('single-page app with DPoP, [dpop] require_nonce = true', () => {
  const suite = dpopSetup('baton-spa-dpop-nonce-test', '[dpop]\nrequire_nonce = true\n');
  after(() => suite.stop(), { timeout: 15_000 });

  test(
    'oidc-client-ts reads DPoP-Nonce from a cross-origin use_dpop_nonce answer and retries with it',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { baton, browser, spa } = await suite.start();
      const { issuer } = baton;
      await inBrowser(t, browser, issuer, 'spa-dpop-nonce', async (page, seen) => {
        const signedIn = await signInThroughSpa(t, page, { issuer, spaOrigin: spa.origin, label: 'spa-dpop-nonce' });
        assert.ok(!signedIn.error, `signinRedirectCallback failed: ${JSON.stringify(signedIn.error)}`);
        const second = await spaCall(page, 'first refresh', () => window.spa.refresh());
        const third = await spaCall(page, 'second refresh', () => window.spa.refresh());
        const jkt = await spaCall(page, 'DPoP key thumbprint', () => window.spa.dpopJkt());
        for (const u of [signedIn.ok, second, third]) {
          assert.equal(u.token_type, 'DPoP');
          assert.equal(decodeJwtPayload(u.access_token).cnf?.jkt, jkt);
        }
        assert.equal(new Set([signedIn.ok, second, third].map((u) => u.refresh_token)).size, 3);

        // The code exchange's first proof had no nonce: Baton answered use_dpop_nonce
        // with CORS headers (so the page could read the error and the exposed
        // DPoP-Nonce), oidc-client-ts retried with the nonce and kept using it.
        await seen.settled();
        const summary = seen.token.map((r) => ({ status: r.status, allowOrigin: r.allowOrigin }));
        assert.deepEqual(
          summary,
          [400, 200, 200, 200].map((status) => ({ status, allowOrigin: spa.origin })),
          `token requests: ${JSON.stringify(summary)}`,
        );
        assert.equal(decodeJwt(seen.token[0].dpop).payload.nonce, undefined);
        const nonce = decodeJwt(seen.token[1].dpop).payload.nonce;
        assert.ok(nonce, 'the retried proof has no nonce');
        for (const r of seen.token.slice(1)) assert.equal(decodeJwt(r.dpop).payload.nonce, nonce);

        // /userinfo asks for no nonce.
        const info = await spaCall(page, 'userinfo (DPoP)', () => window.spa.userinfo('DPoP'));
        assert.equal(info.status, 200, `userinfo answered ${info.status}: ${JSON.stringify(info.body)}`);
        assert.equal(info.body.sub, signedIn.ok.profile.sub);
      });
    },
  );
});

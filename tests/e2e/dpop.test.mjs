// DPoP (RFC 9449) end-to-end with a real relying-party library: openid-client
// v6's DPoP handle (getDPoPHandle) on the code exchange, two refreshes and
// userinfo, the front channel in Chromium through Baton's pages as in
// login.test.mjs. Also: a client with dpop_bound_access_tokens is refused
// without a proof, and a server with [dpop] require_nonce makes openid-client
// answer use_dpop_nonce.
//
// Run with tests/e2e/run.sh dpop.test.mjs.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as client from 'openid-client';

import { decideConsent, describeFailure, launchBrowser, newPage, submitLogin } from './lib/browser.mjs';
import { decodeJwt, keyThumbprint, sha256b64url } from './lib/dpop.mjs';
import { ALICE, q, qa, startBaton, startCallbackServer } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 60_000;
const CALLBACK_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_S = 10;

const RP_CLIENT_ID = 'e2e-dpop-rp'; // public, PKCE, proofs mandatory
const RP_SCOPE = 'openid profile email offline_access';
const SERVICE = Object.freeze({
  // confidential, client_credentials, proofs mandatory
  bound: { client_id: 'e2e-dpop-service', client_secret: 'e2e-dpop-service-secret-0123456789abcdef' },
  // the same without dpop_bound_access_tokens
  plain: { client_id: 'e2e-plain-service', client_secret: 'e2e-plain-service-secret-0123456789abcdef' },
});

function clientsToml(redirectUri) {
  const service = (c, bound) => `[[clients]]
client_id = ${q(c.client_id)}
client_secret = ${q(c.client_secret)}
grant_types = ["client_credentials"]
scopes = ["api:read"]
${bound ? 'dpop_bound_access_tokens = true' : ''}
`;
  return `[[clients]]
client_id = ${q(RP_CLIENT_ID)}
token_endpoint_auth_method = "none"
redirect_uris = ${qa([redirectUri])}
grant_types = ["authorization_code", "refresh_token"]
scopes = ${qa(RP_SCOPE.split(' '))}
dpop_bound_access_tokens = true

${service(SERVICE.bound, true)}
${service(SERVICE.plain, false)}`;
}

let browser;
let browserPromise;
const sharedBrowser = () => (browserPromise ??= launchBrowser().then((b) => (browser = b)));

after(
  async () => {
    await browserPromise?.catch(() => {});
    await browser?.close().catch(() => {});
  },
  { timeout: 15_000 },
);

/** A Baton with the clients above and its redirect_uri server; `extra` is appended TOML. */
function server(name, extra = '') {
  let state;
  let promise;
  const start = () =>
    (promise ??= (async () => {
      const callback = await startCallbackServer();
      const baton = await startBaton({
        redirectUri: callback.redirectUri,
        name,
        extraConfig: () => `${clientsToml(callback.redirectUri)}\n${extra}`,
      });
      state = { callback, baton };
      return state;
    })());
  const stop = async () => {
    await promise?.catch(() => {});
    await state?.baton.stop();
    await state?.callback.close();
  };
  return { start, stop };
}

/**
 * openid-client Configuration from discovery; every request and response is
 * recorded in `log` (method, URL, DPoP proof, status, DPoP-Nonce, error).
 */
async function discover(baton, clientId, clientAuth = client.None()) {
  const config = await client.discovery(new URL(baton.issuer), clientId, undefined, clientAuth, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    timeout: HTTP_TIMEOUT_S,
  });
  const log = [];
  config[client.customFetch] = async (url, options) => {
    const headers = new Headers(options.headers);
    const entry = { method: options.method, url: String(url), dpop: headers.get('dpop') };
    log.push(entry);
    const res = await fetch(url, options);
    entry.status = res.status;
    entry.nonce = res.headers.get('dpop-nonce');
    entry.wwwAuthenticate = res.headers.get('www-authenticate');
    if (res.status >= 400) entry.error = (await res.clone().json().catch(() => null))?.error ?? null;
    return res;
  };
  return { config, log };
}

/** Front channel in a fresh browser context: login, consent, redirect_uri. */
async function authorize(t, { config, callback }, extraParams = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: callback.redirectUri,
    scope: RP_SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    prompt: 'consent',
    ...extraParams,
  });
  const { context, page } = await newPage(await sharedBrowser());
  try {
    await page.goto(url.href);
    await submitLogin(page, ALICE);
    await page.locator('button[name="decision"][value="allow"]').waitFor({ state: 'visible' });
    const atCallback = page.waitForURL((u) => u.href.startsWith(callback.redirectUri), { timeout: CALLBACK_TIMEOUT_MS });
    await decideConsent(page, 'allow');
    await atCallback;
    const received = await callback.waitForState(state, CALLBACK_TIMEOUT_MS);
    return { received, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce } };
  } catch (err) {
    for (const line of (await describeFailure(page, 'dpop-rp')).split('\n')) t.diagnostic(line);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * The HTTP status and OAuth error code openid-client reports for a refused request:
 * nested in its cause chain, for a WWW-Authenticate challenge in the parsed challenges.
 */
function oauthError(err) {
  let status = null;
  let error = null;
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (Array.isArray(e)) {
      error ??= e.find((c) => c.parameters?.error)?.parameters.error ?? null;
      break;
    }
    if (typeof e.status === 'number') status ??= e.status;
    if (typeof e.error === 'string') error ??= e.error;
  }
  return { status, error, message: String(err?.message ?? err) };
}

/** Code flow, two refreshes and userinfo, all with `DPoP`; returns what the checks need. */
async function dpopSession(t, srv, config, DPoP) {
  const { received, checks } = await authorize(t, { config, callback: srv.callback });
  const tokens = await client.authorizationCodeGrant(config, received, { ...checks, idTokenExpected: true }, undefined, {
    DPoP,
  });
  const r1 = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  const r2 = await client.refreshTokenGrant(config, r1.refresh_token, undefined, { DPoP });
  const sub = tokens.claims().sub;
  const userinfo = await client.fetchUserInfo(config, r2.access_token, sub, { DPoP });
  return { responses: [tokens, r1, r2], sub, userinfo };
}

function assertBoundSession({ responses, sub, userinfo }, jkt) {
  for (const [i, r] of responses.entries()) {
    assert.equal(r.token_type.toLowerCase(), 'dpop', `token response ${i + 1}: token_type ${r.token_type}`);
    const at = decodeJwt(r.access_token).payload;
    assert.equal(at.cnf?.jkt, jkt, `access token ${i + 1}: cnf.jkt is not the key's thumbprint`);
    assert.ok(r.refresh_token, `token response ${i + 1} has no refresh token`);
  }
  const rts = responses.map((r) => r.refresh_token);
  assert.equal(new Set(rts).size, 3, 'the refresh token did not rotate at each refresh');
  assert.equal(new Set(responses.map((r) => r.access_token)).size, 3, 'an access token came back twice');
  assert.equal(userinfo.sub, sub);
  assert.equal(userinfo.email, ALICE.email);
  assert.equal(userinfo.name, ALICE.name);
}

describe('DPoP with openid-client', () => {
  const srv = server('baton-dpop-test');
  after(() => srv.stop(), { timeout: 15_000 });

  test(
    'code flow, two rotating refreshes and userinfo with a DPoP handle; tokens bound to the key',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const s = await srv.start();
      const { config, log } = await discover(s.baton, RP_CLIENT_ID);
      const algs = config.serverMetadata().dpop_signing_alg_values_supported;
      assert.ok(Array.isArray(algs) && algs.includes('ES256'), `discovery: dpop_signing_alg_values_supported ${algs}`);

      const keyPair = await client.randomDPoPKeyPair('ES256');
      const jkt = await keyThumbprint(keyPair.publicKey);
      const DPoP = client.getDPoPHandle(config, keyPair);
      const session = await dpopSession(t, s, config, DPoP);
      assertBoundSession(session, jkt);

      // What went over the wire: a proof on each request, for its method and URL;
      // on /userinfo with the access token's hash.
      const { issuer } = s.baton;
      const sent = log.filter((e) => e.url.startsWith(`${issuer}/token`) || e.url.startsWith(`${issuer}/userinfo`));
      assert.deepEqual(
        sent.map((e) => `${e.method} ${new URL(e.url).pathname} ${e.status}`),
        ['POST /token 200', 'POST /token 200', 'POST /token 200', 'GET /userinfo 200'],
      );
      for (const e of sent) {
        const proof = decodeJwt(e.dpop);
        assert.equal(proof.header.typ, 'dpop+jwt');
        assert.equal(proof.payload.htm, e.method);
        assert.equal(proof.payload.htu, e.url.split('?')[0]);
      }
      assert.equal(decodeJwt(sent[3].dpop).payload.ath, sha256b64url(session.responses[2].access_token));

      // Proofs are mandatory for this client (and its refresh token is bound):
      // no refresh without the handle; the bound access token is no bearer token.
      const last = session.responses[2];
      await assert.rejects(client.refreshTokenGrant(config, last.refresh_token), (err) => {
        assert.deepEqual(oauthError(err), { status: 400, error: 'invalid_dpop_proof', message: err.message });
        return true;
      });
      await assert.rejects(client.fetchUserInfo(config, last.access_token, session.sub), (err) => {
        assert.deepEqual(oauthError(err), { status: 401, error: 'invalid_token', message: err.message });
        return true;
      });
      // A fresh key of another algorithm works as well for a new login: openid-client
      // signs an Ed25519 key's proofs with `alg: "Ed25519"` (the fully-specified name),
      // which Baton accepts as it does `EdDSA`.
      const edKey = await client.randomDPoPKeyPair('EdDSA');
      const edSession = await dpopSession(t, s, config, client.getDPoPHandle(config, edKey));
      assertBoundSession(edSession, await keyThumbprint(edKey.publicKey));
    },
  );

  const service = async (s, { client_id, client_secret }) =>
    (await discover(s.baton, client_id, client.ClientSecretBasic(client_secret))).config;

  test(
    'dpop_bound_access_tokens: client_credentials needs a proof; without the flag it is a Bearer token',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const s = await srv.start();
      const bound = await service(s, SERVICE.bound);
      await assert.rejects(client.clientCredentialsGrant(bound, { scope: 'api:read' }), (err) => {
        assert.deepEqual(oauthError(err), { status: 400, error: 'invalid_dpop_proof', message: err.message });
        return true;
      });
      const keyPair = await client.randomDPoPKeyPair('ES256');
      const DPoP = client.getDPoPHandle(bound, keyPair);
      const withProof = await client.clientCredentialsGrant(bound, { scope: 'api:read' }, { DPoP });
      assert.equal(withProof.token_type.toLowerCase(), 'dpop');
      assert.equal(decodeJwt(withProof.access_token).payload.cnf?.jkt, await keyThumbprint(keyPair.publicKey));

      const plain = await service(s, SERVICE.plain);
      const bearer = await client.clientCredentialsGrant(plain, { scope: 'api:read' });
      assert.equal(bearer.token_type.toLowerCase(), 'bearer');
      assert.equal(decodeJwt(bearer.access_token).payload.cnf, undefined, 'a Bearer token carries cnf');
    },
  );
});

describe('DPoP with openid-client, [dpop] require_nonce = true', () => {
  const srv = server('baton-dpop-nonce-test', '[dpop]\nrequire_nonce = true\n');
  after(() => srv.stop(), { timeout: 15_000 });

  test(
    'openid-client answers use_dpop_nonce and completes code flow, refreshes and userinfo',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const s = await srv.start();
      const { config, log } = await discover(s.baton, RP_CLIENT_ID);
      const keyPair = await client.randomDPoPKeyPair('ES256');
      const session = await dpopSession(t, s, config, client.getDPoPHandle(config, keyPair));
      assertBoundSession(session, await keyThumbprint(keyPair.publicKey));

      const tokenCalls = log.filter((e) => e.url === `${s.baton.issuer}/token`);
      // One refusal, then the nonce (renewed by each answer) serves the later requests.
      assert.deepEqual(
        tokenCalls.map((e) => e.status),
        [400, 200, 200, 200],
        `token requests: ${JSON.stringify(tokenCalls.map(({ status, error }) => ({ status, error })))}`,
      );
      // The first proof had no nonce: refused with use_dpop_nonce and a DPoP-Nonce to use.
      assert.equal(tokenCalls[0].status, 400);
      assert.equal(tokenCalls[0].error, 'use_dpop_nonce');
      assert.ok(tokenCalls[0].nonce, 'use_dpop_nonce came without a DPoP-Nonce header');
      assert.equal(decodeJwt(tokenCalls[0].dpop).payload.nonce, undefined);
      // Every successful token request's proof carried a nonce the server had given.
      const given = new Set(log.map((e) => e.nonce).filter(Boolean));
      const ok = tokenCalls.filter((e) => e.status === 200);
      assert.equal(ok.length, 3, 'expected the code exchange and two refreshes to succeed');
      for (const e of ok) {
        const { nonce } = decodeJwt(e.dpop).payload;
        assert.ok(nonce && given.has(nonce), `a successful proof carried nonce ${nonce}, not one the server gave`);
      }
    },
  );
});

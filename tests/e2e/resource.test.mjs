// Resource indicators (RFC 8707) end to end. openid-client asks for two APIs at
// /authorize (`resource` twice), redeems the code for the first, then refreshes
// for the second and for the first again with one rotating refresh token. A
// resource server checks every access token the way a real one does: jose's
// jwtVerify against the server's /jwks with its own identifier as the audience,
// then the token's scope and mapped claims. A token for one API must not verify
// at the other. A refresh naming a resource the grant does not hold answers
// invalid_target and changes nothing: the same refresh token keeps working (the
// client has grace_period = "0s", so a rotation by the refused request would
// make the next use a replay).
//
// Run with tests/e2e/run.sh resource.test.mjs.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import * as client from 'openid-client';

import { decideConsent, describeFailure, launchBrowser, newPage, submitLogin, visibleText } from './lib/browser.mjs';
import { q, qa, startBaton, startCallbackServer } from './lib/server.mjs';

const TEST_TIMEOUT_MS = 60_000;
const CALLBACK_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_S = 10;

const INVOICES = Object.freeze({
  identifier: 'https://api.test/invoices',
  name: 'Invoices',
  scopes: ['invoices.read', 'invoices.write'],
  description: { 'invoices.read': 'see your invoices' },
  claims: ['roles'],
});
const REPORTS = Object.freeze({
  identifier: 'https://api.test/reports',
  name: 'Reports',
  scopes: ['reports.read'],
  description: {},
  claims: [],
});
// The client may request it, but the grants below never hold it.
const ARCHIVE = Object.freeze({
  identifier: 'https://api.test/archive',
  name: 'Archive',
  scopes: ['archive.read'],
  description: {},
  claims: [],
});
const UNKNOWN_RESOURCE = 'https://api.test/unknown';

// Confidential, rotating refresh tokens without a grace window.
const RP = Object.freeze({ client_id: 'e2e-resource-rp', client_secret: 'e2e-resource-rp-secret-0123456789abcdef' });
// The Invoices API as a client of Baton: it may introspect tokens for Invoices.
const INVOICES_API = Object.freeze({
  client_id: 'e2e-invoices-api',
  client_secret: 'e2e-invoices-api-secret-0123456789abcdef',
});
const ACCOUNTANT = Object.freeze({
  username: 'carol',
  password: 'carol-password-0123456789',
  roles: ['accountant'],
  groups: ['finance'],
});
const SCOPE = ['openid', 'offline_access', ...INVOICES.scopes, ...REPORTS.scopes];

function resourcesToml() {
  return [INVOICES, REPORTS, ARCHIVE]
    .map((r) => {
      const descriptions = Object.entries(r.description).map(([k, v]) => `${q(k)} = ${q(v)}`);
      return `[[resources]]
identifier = ${q(r.identifier)}
name = ${q(r.name)}
scopes = ${qa(r.scopes)}
${descriptions.length ? `scope_descriptions = { ${descriptions.join(', ')} }` : ''}
claims = ${qa(r.claims)}
`;
    })
    .join('\n');
}

function configToml(redirectUri) {
  return `${resourcesToml()}
[[clients]]
client_id = ${q(RP.client_id)}
client_name = "E2E Resource RP"
client_secret = ${q(RP.client_secret)}
redirect_uris = ${qa([redirectUri])}
grant_types = ["authorization_code", "refresh_token"]
scopes = ${qa([...SCOPE, ...ARCHIVE.scopes])}
resources = ${qa([INVOICES.identifier, REPORTS.identifier, ARCHIVE.identifier])}

[clients.refresh_tokens]
usage = "one_time"
grace_period = "0s"

[[clients]]
client_id = ${q(INVOICES_API.client_id)}
client_secret = ${q(INVOICES_API.client_secret)}
grant_types = ["client_credentials"]
scopes = ["introspection"]
introspect_resources = ${qa([INVOICES.identifier])}

[[users]]
username = ${q(ACCOUNTANT.username)}
password = ${q(ACCOUNTANT.password)}
roles = ${qa(ACCOUNTANT.roles)}
groups = ${qa(ACCOUNTANT.groups)}
`;
}

let browser;
let browserPromise;
const sharedBrowser = () => (browserPromise ??= launchBrowser().then((b) => (browser = b)));

let server;
let serverPromise;
const startServer = () =>
  (serverPromise ??= (async () => {
    const callback = await startCallbackServer();
    const baton = await startBaton({
      redirectUri: callback.redirectUri,
      name: 'baton-resource-test',
      extraConfig: () => configToml(callback.redirectUri),
    });
    server = { callback, baton };
    return server;
  })());

after(
  async () => {
    await browserPromise?.catch(() => {});
    await browser?.close().catch(() => {});
    await serverPromise?.catch(() => {});
    await server?.baton.stop();
    await server?.callback.close();
  },
  { timeout: 15_000 },
);

/** One-line-per-level account of an error and its causes (openid-client nests the reason). */
function explainError(err) {
  const lines = [];
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (!(e instanceof Error)) {
      lines.push(`cause: ${JSON.stringify(e)?.slice(0, 500)}`);
      break;
    }
    const extra = ['code', 'status', 'error', 'error_description', 'claim']
      .filter((k) => e[k] !== undefined)
      .map((k) => `${k}=${e[k]}`)
      .join(' ');
    lines.push(`${depth ? 'cause: ' : ''}${e.name}: ${e.message}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n  ');
}

/** Runs a step; a failure names the step and why. */
async function step(what, promise) {
  try {
    return await promise;
  } catch (err) {
    throw new Error(`${what} failed: ${explainError(err)}`, { cause: err });
  }
}

/** The HTTP status and OAuth error openid-client reports for a refused request. */
function oauthError(err) {
  let status = null;
  let error = null;
  let description = null;
  for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.status === 'number') status ??= e.status;
    if (typeof e.error === 'string') error ??= e.error;
    if (typeof e.error_description === 'string') description ??= e.error_description;
  }
  return { status, error, description };
}

async function discover(baton, { client_id, client_secret }) {
  return step(
    'discovery',
    client.discovery(new URL(baton.issuer), client_id, undefined, client.ClientSecretBasic(client_secret), {
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
      timeout: HTTP_TIMEOUT_S,
    }),
  );
}

/** The authorization request's parameters, `resource` once per entry of `resources`. */
async function authorizationParams(callback, resources) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = new URLSearchParams({
    redirect_uri: callback.redirectUri,
    scope: SCOPE.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    prompt: 'consent',
  });
  for (const r of resources) params.append('resource', r);
  return { params, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce } };
}

/**
 * Front channel in a fresh browser context: login as the accountant, the consent
 * page (checked: it names each requested resource and says what its scopes allow),
 * allow, back at redirect_uri.
 */
async function authorize(t, { config, callback }, resources) {
  const { params, checks } = await authorizationParams(callback, resources);
  const url = client.buildAuthorizationUrl(config, params);
  assert.deepEqual(url.searchParams.getAll('resource'), resources, 'openid-client dropped a resource parameter');
  const { context, page } = await newPage(await sharedBrowser());
  try {
    await page.goto(url.href);
    await submitLogin(page, ACCOUNTANT);
    await page.locator('button[name="decision"][value="allow"]').waitFor({ state: 'visible' });
    const text = await visibleText(page);
    t.diagnostic(`consent page: ${text.slice(0, 400)}`);
    for (const r of [INVOICES, REPORTS]) {
      assert.ok(text.includes(r.name), `the consent page does not name the resource "${r.name}"`);
    }
    assert.ok(
      text.includes(INVOICES.description['invoices.read']),
      'the consent page does not show the scope_descriptions wording of invoices.read',
    );
    assert.ok(!text.includes(ARCHIVE.name), 'the consent page names a resource that was not requested');
    const atCallback = page.waitForURL((u) => u.href.startsWith(callback.redirectUri), { timeout: CALLBACK_TIMEOUT_MS });
    await decideConsent(page, 'allow');
    await atCallback;
    const received = await callback.waitForState(checks.expectedState, CALLBACK_TIMEOUT_MS);
    assert.equal(received.searchParams.get('error'), null, `the authorization failed: ${received.search}`);
    return { received, checks };
  } catch (err) {
    for (const line of (await describeFailure(page, 'resource-rp')).split('\n')) t.diagnostic(line);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * A resource server for `resource`: it trusts tokens that jose's jwtVerify accepts
 * with the server's keys (/jwks), the issuer, `typ: at+jwt` (RFC 9068) and its own
 * identifier as the audience.
 */
function resourceServer(baton, resource) {
  const jwks = createRemoteJWKSet(new URL(`${baton.issuer}/jwks`));
  return {
    resource,
    verify: (token) =>
      jwtVerify(token, jwks, { issuer: baton.issuer, audience: resource.identifier, typ: 'at+jwt' }),
  };
}

const scopeSet = (s) => new Set(String(s ?? '').split(' ').filter(Boolean));

/**
 * The token response is for `rs.resource`: its access token verifies there, has that
 * one audience, a scope made of that resource's scopes only (the response's `scope`
 * says the same), the claims the resource maps and no other user attribute; and it
 * does not verify at `other`.
 */
async function assertTokenFor(label, response, rs, other) {
  const { resource } = rs;
  const { payload } = await step(`${label}: jwtVerify with audience ${resource.identifier}`, rs.verify(response.access_token));
  assert.deepEqual([payload.aud].flat(), [resource.identifier], `${label}: aud is not exactly the resource`);
  assert.deepEqual(scopeSet(payload.scope), new Set(resource.scopes), `${label}: the token's scope is ${payload.scope}`);
  assert.deepEqual(scopeSet(response.scope), new Set(resource.scopes), `${label}: the response's scope is ${response.scope}`);
  if (resource.claims.includes('roles')) {
    assert.deepEqual(payload.roles, ACCOUNTANT.roles, `${label}: roles is not the user's roles`);
  } else {
    assert.equal(payload.roles, undefined, `${label}: roles released to a resource that does not map it`);
  }
  assert.equal(payload.groups, undefined, `${label}: groups released though nothing maps it`);
  await assert.rejects(
    other.verify(response.access_token),
    (err) => {
      assert.ok(
        err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud',
        `${label}: expected an audience refusal at ${other.resource.identifier}, got ${explainError(err)}`,
      );
      return true;
    },
    `${label}: a token for ${resource.identifier} verified at ${other.resource.identifier}`,
  );
  return payload;
}

/** POST /introspect as the Invoices API. */
async function introspect(baton, token) {
  const basic = Buffer.from(
    `${encodeURIComponent(INVOICES_API.client_id)}:${encodeURIComponent(INVOICES_API.client_secret)}`,
  ).toString('base64');
  const res = await fetch(`${baton.issuer}/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_S * 1000),
  });
  assert.equal(res.status, 200, `POST /introspect answered ${res.status}`);
  return res.json();
}

/** A raw refresh request (for what no library sends: two resources at once). */
async function rawRefresh(baton, refreshToken, resources) {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  for (const r of resources) body.append('resource', r);
  const basic = Buffer.from(`${encodeURIComponent(RP.client_id)}:${encodeURIComponent(RP.client_secret)}`).toString(
    'base64',
  );
  const res = await fetch(`${baton.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
    signal: AbortSignal.timeout(HTTP_TIMEOUT_S * 1000),
  });
  return { status: res.status, body: await res.json() };
}

describe('Resource indicators (RFC 8707) with openid-client and a JWT-validating resource server', () => {
  test(
    'one grant for two APIs: the code exchange and each refresh give a token for the resource named',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const s = await startServer();
      const config = await discover(s.baton, RP);
      const md = config.serverMetadata();
      for (const scope of [...INVOICES.scopes, ...REPORTS.scopes, ...ARCHIVE.scopes]) {
        assert.ok(md.scopes_supported?.includes(scope), `discovery: scopes_supported lacks ${scope}`);
      }
      for (const claim of ['roles', 'groups']) {
        assert.ok(md.claims_supported?.includes(claim), `discovery: claims_supported lacks ${claim}`);
      }

      const invoicesApi = resourceServer(s.baton, INVOICES);
      const reportsApi = resourceServer(s.baton, REPORTS);

      const { received, checks } = await authorize(t, { config, callback: s.callback }, [
        INVOICES.identifier,
        REPORTS.identifier,
      ]);
      const code = await step(
        'code exchange with resource = Invoices',
        client.authorizationCodeGrant(config, received, { ...checks, idTokenExpected: true }, {
          resource: INVOICES.identifier,
        }),
      );
      assert.ok(code.refresh_token, 'the code exchange gave no refresh token (offline_access was granted)');
      const first = await assertTokenFor('code exchange', code, invoicesApi, reportsApi);
      assert.equal(first.sub, code.claims().sub, 'the access token and the ID token name different users');

      const toReports = await step(
        'refresh with resource = Reports',
        client.refreshTokenGrant(config, code.refresh_token, { resource: REPORTS.identifier }),
      );
      assert.ok(toReports.refresh_token, 'the refresh gave no refresh token');
      assert.notEqual(toReports.refresh_token, code.refresh_token, 'the refresh token did not rotate');
      await assertTokenFor('refresh for Reports', toReports, reportsApi, invoicesApi);

      const backToInvoices = await step(
        'refresh with resource = Invoices again',
        client.refreshTokenGrant(config, toReports.refresh_token, { resource: INVOICES.identifier }),
      );
      assert.notEqual(backToInvoices.refresh_token, toReports.refresh_token, 'the refresh token did not rotate');
      await assertTokenFor('refresh for Invoices', backToInvoices, invoicesApi, reportsApi);

      // The Invoices API may introspect tokens whose audience is Invoices, and only those.
      const seen = await introspect(s.baton, backToInvoices.access_token);
      assert.equal(seen.active, true, `introspection of an Invoices token: ${JSON.stringify(seen)}`);
      assert.deepEqual([seen.aud].flat(), [INVOICES.identifier], `introspection aud: ${JSON.stringify(seen.aud)}`);
      const hidden = await introspect(s.baton, toReports.access_token);
      assert.deepEqual(hidden, { active: false }, 'the Invoices API sees a token for Reports');
    },
  );

  test(
    'a refresh naming a resource the grant does not hold answers invalid_target and changes nothing',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const s = await startServer();
      const config = await discover(s.baton, RP);
      const invoicesApi = resourceServer(s.baton, INVOICES);
      const reportsApi = resourceServer(s.baton, REPORTS);
      const { received, checks } = await authorize(t, { config, callback: s.callback }, [
        INVOICES.identifier,
        REPORTS.identifier,
      ]);
      const code = await step(
        'code exchange with resource = Invoices',
        client.authorizationCodeGrant(config, received, { ...checks, idTokenExpected: true }, {
          resource: INVOICES.identifier,
        }),
      );
      const rt = code.refresh_token;
      assert.ok(rt, 'no refresh token');

      // Allowed to the client, but not in this grant; and a resource nobody defined.
      for (const resource of [ARCHIVE.identifier, UNKNOWN_RESOURCE]) {
        await assert.rejects(client.refreshTokenGrant(config, rt, { resource }), (err) => {
          const e = oauthError(err);
          t.diagnostic(`refresh with ${resource}: ${e.status} ${e.error} (${e.description})`);
          assert.equal(e.status, 400, `refresh with ${resource}: ${explainError(err)}`);
          assert.equal(e.error, 'invalid_target', `refresh with ${resource}: ${explainError(err)}`);
          return true;
        });
      }
      // Two resources in one token request.
      const two = await rawRefresh(s.baton, rt, [INVOICES.identifier, REPORTS.identifier]);
      t.diagnostic(`refresh with two resources: ${two.status} ${JSON.stringify(two.body)}`);
      assert.equal(two.status, 400);
      assert.equal(two.body.error, 'invalid_target');

      // Nothing rotated: with grace_period 0s, a token that had been rotated would now
      // be a replay (invalid_grant). It is still current and refreshes, and so does its
      // successor.
      const after1 = await step(
        'refresh with the same token after the refusals (resource = Reports)',
        client.refreshTokenGrant(config, rt, { resource: REPORTS.identifier }),
      );
      assert.notEqual(after1.refresh_token, rt, 'the refresh token did not rotate');
      await assertTokenFor('refresh after invalid_target', after1, reportsApi, invoicesApi);
      const after2 = await step(
        'refresh with its successor (resource = Invoices)',
        client.refreshTokenGrant(config, after1.refresh_token, { resource: INVOICES.identifier }),
      );
      await assertTokenFor('the next refresh', after2, invoicesApi, reportsApi);

      // And that check can fail: the first refresh token, rotated since, is now a replay
      // (no grace window), whatever resource it names.
      await assert.rejects(client.refreshTokenGrant(config, rt, { resource: INVOICES.identifier }), (err) => {
        const e = oauthError(err);
        assert.equal(e.status, 400, `replay of a rotated token: ${explainError(err)}`);
        assert.equal(e.error, 'invalid_grant', `replay of a rotated token: ${explainError(err)}`);
        return true;
      });
    },
  );

  test('/authorize answers invalid_target by redirect for an unknown resource or one with a fragment', async () => {
    const s = await startServer();
    const config = await discover(s.baton, RP);
    for (const resource of [UNKNOWN_RESOURCE, `${INVOICES.identifier}#part`]) {
      const { params, checks } = await authorizationParams(s.callback, [resource]);
      const url = client.buildAuthorizationUrl(config, params);
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(HTTP_TIMEOUT_S * 1000) });
      await res.arrayBuffer().catch(() => {});
      assert.ok(res.status >= 300 && res.status < 400, `/authorize with ${resource} answered ${res.status}`);
      const location = new URL(res.headers.get('location'), s.baton.issuer);
      assert.equal(`${location.origin}${location.pathname}`, s.callback.redirectUri, `redirected to ${location}`);
      assert.equal(location.searchParams.get('error'), 'invalid_target', `${resource}: ${location.search}`);
      assert.equal(location.searchParams.get('state'), checks.expectedState);
      assert.equal(location.searchParams.get('code'), null);
    }
  });
});

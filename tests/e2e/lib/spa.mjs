// The single-page app of spa.test.mjs and spa-dpop.test.mjs (tests/e2e/spa/:
// two pages and app.js) with oidc-client-ts's browser bundle, served by
// startStaticServer() from an origin of its own (/config.js tells the page its
// authority and client), and the steps the tests take with it in the browser.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describeFailure, newPage, screenshot, submitLogin } from './browser.mjs';
import { ALICE, E2E_DIR, q, qa, startStaticServer } from './server.mjs';

const SPA_DIR = path.join(E2E_DIR, 'spa');
const OIDC_BUNDLE = path.join(E2E_DIR, 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.min.js');

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

/**
 * Starts the SPA on a new origin. `config()` is read at each request for
 * /config.js (so it may name an issuer known only after the server started):
 * { authority, client_id, scope, dpop: false | { bind_authorization_code } }.
 * @returns {Promise<{origin: string, redirectUri: string, served: string[], close: () => Promise<void>}>}
 */
export async function startSpa(config) {
  const read = (file) => fs.readFileSync(file);
  const files = {
    '/index.html': { type: HTML, body: read(path.join(SPA_DIR, 'index.html')) },
    '/callback.html': { type: HTML, body: read(path.join(SPA_DIR, 'callback.html')) },
    '/app.js': { type: JS, body: read(path.join(SPA_DIR, 'app.js')) },
    '/oidc-client-ts.min.js': { type: JS, body: read(OIDC_BUNDLE) },
    '/favicon.ico': { type: 'image/x-icon', body: '' },
    '/config.js': () => ({ type: JS, body: `window.SPA_CONFIG = ${JSON.stringify(config())};\n` }),
  };
  const server = await startStaticServer(files);
  return { ...server, redirectUri: `${server.origin}/callback.html` };
}

const CALLBACK_TIMEOUT_MS = 15_000;

export const SPA_CLIENT_ID = 'e2e-browser-spa';
export const SPA_SCOPE = 'openid profile offline_access';

/** One public SPA client; `origins` are its allowed_origins, `redirects` its redirect URIs. */
export function spaClientToml({ clientId, redirects, origins }) {
  return `[[clients]]
client_id = ${q(clientId)}
client_name = "E2E Browser SPA"
token_endpoint_auth_method = "none"
redirect_uris = ${qa(redirects)}
grant_types = ${qa(['authorization_code', 'refresh_token'])}
scopes = ${qa(SPA_SCOPE.split(' '))}
allowed_origins = ${qa(origins)}
`;
}

/** Emits a multi-line diagnostic (TAP diagnostics are single lines). */
function diag(t, text) {
  for (const line of String(text).split('\n')) t.diagnostic(line);
}

/**
 * Watches a page: its console (where Chromium reports a CORS refusal) and every
 * request it makes to Baton's /authorize, /token and /userinfo with the Origin
 * it carried and the Access-Control-Allow-Origin it got.
 */
export function watch(page, issuer) {
  const pending = [];
  const seen = {
    console: [],
    authorize: [],
    token: [],
    userinfo: [],
    /** Waits until every request seen so far is recorded in full. */
    settled: () => Promise.all(pending),
  };
  page.on('console', (msg) => seen.console.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => seen.console.push(`pageerror: ${err.message}`));
  const record = async (req) => {
    const url = new URL(req.url());
    if (url.origin !== issuer) return;
    const name = url.pathname.slice(1);
    if (name === 'authorize') {
      seen.authorize.push(url);
    } else if (name === 'token' || name === 'userinfo') {
      const entry = { method: req.method(), failure: req.failure()?.errorText ?? null };
      seen[name].push(entry); // in request order; the details are filled in below
      const res = await req.response().catch(() => null);
      // A failed request may have only the headers Chromium reported before sending.
      const headers = { ...req.headers(), ...(await req.allHeaders().catch(() => ({}))) };
      const resHeaders = res ? await res.allHeaders().catch(() => ({})) : {};
      Object.assign(entry, {
        origin: headers.origin ?? null,
        dpop: headers.dpop ?? null,
        status: res?.status() ?? null,
        allowOrigin: resHeaders['access-control-allow-origin'] ?? null,
      });
    }
  };
  const track = (req) => pending.push(record(req));
  page.on('requestfinished', track);
  page.on('requestfailed', track);
  return seen;
}

/** Result of a window.spa call that answers { ok } or { error }; fails the test on { error }. */
export async function spaCall(page, what, fn, arg) {
  const r = await page.evaluate(fn, arg);
  assert.ok(!r.error, `${what} failed in the browser: ${JSON.stringify(r.error)}`);
  return r.ok;
}

/**
 * In `page`: open the SPA at `spaOrigin`, press its sign-in button (oidc-client-ts
 * signinRedirect: PKCE), sign in on Baton's login page, allow on the consent page
 * if it is shown, and return what the callback page's signinRedirectCallback gave
 * ({ ok: user summary } or { error }).
 */
export async function signInThroughSpa(t, page, { issuer, spaOrigin, label }) {
  await page.goto(`${spaOrigin}/`);
  await page.locator('#login').click();

  const user = page.locator('input[name="username"]');
  await user.waitFor({ state: 'visible' });
  const loginUrl = new URL(page.url());
  assert.equal(loginUrl.origin, issuer, 'the login page is not on the issuer');
  assert.equal(loginUrl.pathname, '/login');
  t.diagnostic(`screenshot ${await screenshot(page, `${label}-1-login`)}`);
  await submitLogin(page, ALICE);

  const allow = page.locator('button[name="decision"][value="allow"]');
  const callbackStatus = page.locator('#callback-status');
  await allow.or(callbackStatus).first().waitFor({ state: 'visible', timeout: CALLBACK_TIMEOUT_MS });
  if (await allow.isVisible()) {
    t.diagnostic(`screenshot ${await screenshot(page, `${label}-2-consent`)}`);
    await allow.click();
  }
  await page.waitForURL((u) => u.origin === spaOrigin && u.pathname === '/callback.html', {
    timeout: CALLBACK_TIMEOUT_MS,
  });
  await page.waitForFunction(() => window.spa?.callback, null, { timeout: CALLBACK_TIMEOUT_MS });
  const result = await page.evaluate(() => window.spa.callback);
  t.diagnostic(`screenshot ${await screenshot(page, `${label}-3-callback`)}`);
  return result;
}

/** Runs `body(page, seen)` in a fresh browser context; a failure explains where the browser was. */
export async function inBrowser(t, browser, issuer, label, body) {
  const { context, page } = await newPage(browser);
  const seen = watch(page, issuer);
  try {
    return await body(page, seen);
  } catch (err) {
    diag(t, await describeFailure(page, label));
    diag(t, `browser console:\n${seen.console.join('\n') || '(empty)'}`);
    const brief = (list) => JSON.stringify(list.map((r) => ({ ...r, dpop: r.dpop && `${r.dpop.slice(0, 12)}…` })));
    diag(t, `token requests: ${brief(seen.token)}\nuserinfo requests: ${brief(seen.userinfo)}`);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

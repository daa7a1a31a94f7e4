// Shared fixtures for the operator console's browser tests (console-*.test.mjs):
//  - startConsoleBaton(): a real Baton server with an admin user (ADMIN), the
//    ordinary user alice (no admin) and the admin API on (ADMIN_TOKEN).
//  - newConsolePage(): a browser context that lets axe-core be injected (the
//    pages' Content-Security-Policy allows no script).
//  - signInAdmin(): sign in through Baton's own /login, landing on a console page.
//  - assertAccessible(): axe-core in the page; fails on serious or critical issues.
//  - docScreenshot(): a PNG under docs/console/ for docs/console.md.
//  - adminApi(): a call to the admin API, to check what the console stored.

import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS, submitLogin } from './browser.mjs';
import { ALICE, ARTIFACTS_DIR, REPO_ROOT, q, startBaton } from './server.mjs';

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const DOCS_DIR = path.join(REPO_ROOT, 'docs', 'console');

export const ADMIN = Object.freeze({ username: 'ops-admin', password: 'console admin password 42' });
export { ALICE };
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
/** A redirect URI nobody listens on: console tests drive no OAuth flow of their own. */
export const UNUSED_REDIRECT = 'http://127.0.0.1:9/cb';

/** A phone's viewport (portrait). */
export const PHONE = Object.freeze({ width: 390, height: 844 });

/**
 * Starts Baton with the admin user, the admin API, and `extraConfig` (more TOML
 * appended, as for startBaton).
 */
export function startConsoleBaton({ name = 'baton-console', redirectUri = UNUSED_REDIRECT, extraConfig } = {}) {
  return startBaton({
    name,
    redirectUri,
    env: { BATON_ADMIN_TOKEN: ADMIN_TOKEN },
    extraConfig: (issuer) =>
      `[[users]]
username = ${q(ADMIN.username)}
password = ${q(ADMIN.password)}
admin = true
${extraConfig ? extraConfig(issuer) : ''}`,
  });
}

/** A fresh context (no cookies) whose pages accept injected scripts (for axe). */
export async function newConsolePage(browser, viewport = { width: 1100, height: 900 }) {
  const context = await browser.newContext({ viewport, bypassCSP: true });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const page = await context.newPage();
  return { context, page };
}

/**
 * Opens `path` (a console page) with nobody signed in: Baton sends the browser to
 * /login, the user signs in, and Baton sends it back to `path`.
 */
export async function signInAdmin(page, issuer, { user = ADMIN, path: where = '/console' } = {}) {
  await page.goto(`${issuer}${where}`);
  assert.match(new URL(page.url()).pathname, /^\/login$/, 'not signed in: the console sends to /login');
  await submitLogin(page, user);
  await page.waitForURL((u) => u.pathname === where.split('?')[0]);
}

/**
 * Runs axe-core in the page and fails on any serious or critical violation,
 * listing each with its nodes. Returns every violation (minor ones included).
 */
export async function assertAccessible(page, label) {
  if ((await page.evaluate(() => typeof window.axe)) === 'undefined') {
    await page.addScriptTag({ path: AXE_PATH });
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${label}: axe-core found serious or critical issues:\n${JSON.stringify(bad, null, 2)}`);
  return violations;
}

/**
 * A full-page PNG named <name>.png: under docs/console/ (the screenshots docs/console.md
 * shows) when BATON_DOC_SCREENSHOTS=1, else under artifacts/console/, so that a test run
 * leaves the committed ones alone.
 */
export async function docScreenshot(page, name) {
  const dir = process.env.BATON_DOC_SCREENSHOTS === '1' ? DOCS_DIR : path.join(ARTIFACTS_DIR, 'console');
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A call to the admin API: `{status, body}` (body parsed when JSON). */
export async function adminApi(issuer, method, apiPath, json) {
  const res = await fetch(`${issuer}${apiPath}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

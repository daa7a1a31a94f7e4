// Headless Debian Chromium driven by playwright-core, plus the steps a person
// takes through Baton's login and consent pages.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR } from './server.mjs';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The background-networking flags keep Chromium from calling home on a
// machine whose network is closed (it otherwise floods it with retries).
export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage', // containers often have a tiny /dev/shm
]);

export const ACTION_TIMEOUT_MS = 10_000;
export const NAVIGATION_TIMEOUT_MS = 15_000;

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 20_000,
  });
}

/** A fresh context (no cookies, so no SSO session) with bounded timeouts. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page, name) {
  await fsp.mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Visible text of the page, whitespace collapsed. */
export async function visibleText(page) {
  const text = await page.locator('body').innerText();
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * On the login page: fill username and password and submit the form the way
 * a person does (clicking its submit button).
 */
export async function submitLogin(page, { username, password }) {
  const user = page.locator('input[name="username"]');
  const pass = page.locator('input[name="password"]');
  await user.waitFor({ state: 'visible' });
  await user.fill(username);
  await pass.fill(password);
  const form = page.locator('form', { has: pass });
  const submit = form.locator('button[type="submit"], input[type="submit"], button:not([type])').first();
  if ((await submit.count()) > 0) {
    await submit.click();
  } else {
    // A form without a submit button: fall back to submitting it from script.
    await form.first().evaluate((f) => f.requestSubmit());
  }
}

/** On the consent page: click Allow or Deny. */
export async function decideConsent(page, decision) {
  if (decision !== 'allow' && decision !== 'deny') throw new Error(`bad decision ${decision}`);
  await page.locator(`button[name="decision"][value="${decision}"]`).click();
}

/**
 * Writes a failure screenshot and returns a short description of where the
 * browser is, to make a failed run explain itself.
 */
export async function describeFailure(page, name) {
  if (!page || page.isClosed()) return '(no page)';
  let shot = '';
  try {
    shot = await screenshot(page, `${name}-FAILED`);
  } catch {
    /* best effort */
  }
  let text = '';
  try {
    text = (await visibleText(page)).slice(0, 1_500);
  } catch {
    /* best effort */
  }
  return `browser at ${page.url()}\nscreenshot: ${shot || '(none)'}\npage text: ${text || '(none)'}`;
}

// Browser end-to-end test of the operator console's foundation and its Clients,
// Dashboard and Keys & settings pages: an administrator signs in through Baton's
// own /login, visits each page and does each action in headless Chromium; axe-core
// runs on every page (no serious or critical issues); a non-admin is refused; a
// form without its CSRF token is refused. Screenshots go to docs/console/.
//
// Run with tests/e2e/run.sh console-a.test.mjs.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { describeFailure, launchBrowser, submitLogin, visibleText } from './lib/browser.mjs';
import {
  ADMIN,
  ALICE,
  PHONE,
  adminApi,
  assertAccessible,
  docScreenshot,
  newConsolePage,
  signInAdmin,
  startConsoleBaton,
} from './lib/console.mjs';

const GRACE_S = 15;

let baton;
let browser;

before(async () => {
  baton = await startConsoleBaton({ name: 'baton-console-a' });
  browser = await launchBrowser();
});

after(
  async () => {
    await browser?.close().catch(() => {});
    await baton?.stop();
  },
  { timeout: 15_000 },
);

/** Runs `body(page)` in a fresh context; on failure, says where the browser was. */
async function inPage(name, body, viewport) {
  const { context, page } = await newConsolePage(browser, viewport);
  try {
    await body(page);
  } catch (err) {
    err.message += `\n${await describeFailure(page, name)}`;
    throw err;
  } finally {
    await context.close();
  }
}

/** A token request as a confidential client. */
async function token(clientId, secret, form) {
  const res = await fetch(`${baton.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

const secretOnPage = (page) => page.locator('#secret').inputValue();

describe('operator console (clients, dashboard, keys & settings)', () => {
  test('a signed-in user without admin is refused with 403', async () => {
    await inPage('console-a-non-admin', async (page) => {
      await page.goto(`${baton.issuer}/console`);
      assert.equal(new URL(page.url()).pathname, '/login');
      const [resp] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/console'),
        submitLogin(page, ALICE),
      ]);
      assert.equal(resp.status(), 403);
      assert.match(await visibleText(page), /Not an administrator/);
      await assertAccessible(page, '403 page');
    });
  });

  test('an administrator manages clients, reads the dashboard and rotates keys', async () => {
    await inPage('console-a-admin', async (page) => {
      await signInAdmin(page, baton.issuer);
      assert.match(await visibleText(page), new RegExp(`Signed in as ${ADMIN.username}`));

      // Clients: the configured ones are listed, marked read-only.
      await page.getByRole('link', { name: 'Clients', exact: true }).click();
      await page.waitForURL('**/console/clients');
      assert.match(await visibleText(page), /configuration file \(read-only\)/);
      await assertAccessible(page, 'clients list');

      // Create a client that rotates on every use with a 15 s grace period.
      await page.getByRole('link', { name: 'New client' }).click();
      await page.getByLabel('Client ID').fill('billing');
      await page.getByLabel('Name', { exact: true }).fill('Billing');
      await page.getByLabel('Redirect URIs', { exact: true }).fill('https://billing.example/cb');
      await page.getByLabel('Password (legacy)').check();
      await page.getByLabel('Scopes', { exact: true }).fill('openid offline_access');
      await page.getByLabel('Rotation', { exact: true }).selectOption('one_time');
      await page.getByLabel('Grace period (seconds, 0 to 60)').fill(String(GRACE_S));
      await assertAccessible(page, 'new client form');
      await docScreenshot(page, 'client-new');
      await page.getByRole('button', { name: 'Create client' }).click();
      await page.waitForURL('**/console/clients/new');
      assert.match(await visibleText(page), /shown only this once/);
      const secret = await secretOnPage(page);
      assert.equal(secret.length, 43);
      await assertAccessible(page, 'secret page');
      await docScreenshot(page, 'client-secret');

      // Stored as the admin API reads it.
      const stored = await adminApi(baton.issuer, 'GET', '/admin/clients/billing');
      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body.refresh_tokens, { usage: 'one_time', grace_period: `${GRACE_S}s` });

      // The secret works: a refresh token, rotated once, then replayed after the
      // grace period is reuse, which the dashboard counts.
      const first = await token('billing', secret, {
        grant_type: 'password',
        username: ALICE.username,
        password: ALICE.password,
        scope: 'openid offline_access',
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const rotated = await token('billing', secret, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.notEqual(rotated.body.refresh_token, first.body.refresh_token, 'rotated');

      // The edit page: the overrides beside the server-wide values.
      await page.getByRole('link', { name: 'Continue to the client' }).click();
      await page.waitForURL('**/console/clients/billing');
      assert.match(await visibleText(page), /Overridden: Rotate on every use\. Server-wide: Automatic/);
      await page.getByLabel('Reuse reaction', { exact: true }).selectOption('revoke_session');
      await page.getByRole('button', { name: 'Save refresh-token settings' }).click();
      await page.waitForURL('**/console/clients/billing?saved=refresh');
      assert.match(await visibleText(page), /refresh-token settings were saved/);
      await assertAccessible(page, 'client edit page');
      await docScreenshot(page, 'client-edit');
      const changed = await adminApi(baton.issuer, 'GET', '/admin/clients/billing');
      assert.equal(changed.body.refresh_tokens.reuse_reaction, 'revoke_session');

      // Reset the secret: a new one, shown once; the old one stops working.
      await page.getByRole('button', { name: 'Reset the client secret' }).click();
      const second = await secretOnPage(page);
      assert.notEqual(second, secret);
      assert.equal((await token('billing', secret, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token })).status, 401);
      await page.goto(`${baton.issuer}/console/clients/billing`);
      assert.ok(!(await page.content()).includes(second), 'never shown again');

      // Past the grace period, the first token again is reuse.
      await new Promise((r) => setTimeout(r, (GRACE_S + 1) * 1000));
      const replay = await token('billing', second, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');

      // The dashboard counts it.
      await page.getByRole('link', { name: 'Dashboard' }).click();
      await page.waitForURL((u) => u.pathname === '/console');
      await page.reload(); // a second sample, for the rate
      const cards = await page.locator('.card').allInnerTexts();
      const reuseCard = cards.find((c) => /reuse detections in the last 24 h/.test(c));
      assert.match(reuseCard, /^1\b/, reuseCard);
      assert.match(await page.locator('table').first().innerText(), /reuse_detected\s+a rotated refresh token[^\n]*\s1\s+1/);
      await assertAccessible(page, 'dashboard');
      await docScreenshot(page, 'dashboard');

      // Delete, after confirming.
      await page.goto(`${baton.issuer}/console/clients/billing`);
      await page.getByRole('link', { name: 'Delete this client…' }).click();
      assert.match(await visibleText(page), /cannot be undone/);
      await assertAccessible(page, 'delete confirmation');
      await page.getByRole('button', { name: 'Delete the client' }).click();
      await page.waitForURL('**/console/clients?deleted=billing');
      assert.match(await visibleText(page), /Client billing was deleted/);
      assert.equal((await adminApi(baton.issuer, 'GET', '/admin/clients/billing')).status, 404);
      await docScreenshot(page, 'clients');

      // A configured client: read-only, and the server refuses changes (409).
      await page.getByRole('link', { name: 'e2e-web' }).click();
      assert.match(await visibleText(page), /Read-only: this client is defined in the configuration file/);
      await assertAccessible(page, 'configured client');
      await docScreenshot(page, 'client-configured');

      // Keys & settings: rotate, then change the server-wide grace period.
      await page.getByRole('link', { name: 'Keys & settings' }).click();
      const kidsBefore = await page.locator('tbody tr').count();
      await page.getByRole('button', { name: 'Rotate signing keys' }).click();
      await page.waitForURL('**/console/keys?done=rotated');
      assert.equal(await page.locator('tbody tr').count(), kidsBefore * 2);
      assert.match(await visibleText(page), /active, retiring at/);
      await page.getByLabel('Grace period (seconds, 0 to 60)').fill('20');
      await page.getByRole('button', { name: 'Save server-wide settings' }).click();
      await page.waitForURL('**/console/keys?done=settings');
      const settings = await adminApi(baton.issuer, 'GET', '/admin/settings');
      assert.equal(settings.body.refresh_tokens.grace_period, '20s');
      await assertAccessible(page, 'keys & settings');
      await docScreenshot(page, 'keys');

      // Every change is the admin API's event, with this administrator as actor.
      const events = await adminApi(baton.issuer, 'GET', '/admin/events?type=client.changed');
      const actions = events.body.items.map((e) => [e.details.action, e.details.actor?.username]);
      assert.deepEqual(actions, [
        ['deleted', ADMIN.username],
        ['secret_reset', ADMIN.username],
        ['updated', ADMIN.username],
        ['created', ADMIN.username],
      ]);
    });
  });

  test('a form posted without its CSRF token is refused and changes nothing', async () => {
    await inPage('console-a-csrf', async (page) => {
      await signInAdmin(page, baton.issuer, { path: '/console/keys' });
      const before = await adminApi(baton.issuer, 'GET', '/admin/events?type=keys.rotated');
      // Strip the token from the rotate form, then press its button as a person does.
      const form = page.locator('form[action="/console/keys/rotate"]');
      await form.locator('input[name="csrf"]').evaluate((i) => i.remove());
      const [resp] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/console/keys/rotate'),
        form.getByRole('button', { name: 'Rotate signing keys' }).click(),
      ]);
      assert.equal(resp.status(), 403);
      assert.match(await visibleText(page), /CSRF/);
      const afterEvents = await adminApi(baton.issuer, 'GET', '/admin/events?type=keys.rotated');
      assert.equal(afterEvents.body.items.length, before.body.items.length, 'no rotation');
    });
  });

  test('on a phone the dashboard and the clients list stay readable', async () => {
    await inPage(
      'console-a-phone',
      async (page) => {
        await signInAdmin(page, baton.issuer);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= PHONE.width, `no sideways scrolling of the page (${width}px)`);
        await assertAccessible(page, 'dashboard (phone)');
        await docScreenshot(page, 'dashboard-phone');
        await page.goto(`${baton.issuer}/console/clients`);
        const w2 = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w2 <= PHONE.width, `tables scroll in their box (${w2}px)`);
        await docScreenshot(page, 'clients-phone');
      },
      PHONE,
    );
  });
});

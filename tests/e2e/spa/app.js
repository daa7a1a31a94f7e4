// The single-page app of tests/e2e/spa.test.mjs: oidc-client-ts (its browser
// bundle, global `oidc`) in a page on an origin of its own. The test drives it
// through window.spa; every network call here is the browser's own fetch from
// this origin, so Baton's CORS answers decide what the page may read.
//
// window.SPA_CONFIG (served as /config.js): { authority, client_id, scope, dpop }
// where dpop is false or { bind_authorization_code }.
(function () {
  'use strict';
  const cfg = window.SPA_CONFIG;

  const settings = {
    authority: cfg.authority,
    client_id: cfg.client_id,
    redirect_uri: `${location.origin}/callback.html`,
    response_type: 'code', // with PKCE (S256), oidc-client-ts's default
    scope: cfg.scope,
    // oidc-client-ts calls /userinfo with `Bearer` only; with DPoP the page
    // calls it itself (spa.userinfo) with `DPoP` and a proof.
    loadUserInfo: !cfg.dpop,
    automaticSilentRenew: false,
    monitorSession: false,
  };
  if (cfg.dpop) {
    settings.dpop = {
      bind_authorization_code: Boolean(cfg.dpop.bind_authorization_code),
      store: new oidc.IndexedDbDPoPStore(),
    };
  }
  const mgr = new oidc.UserManager(settings);

  /** What the test needs to know of an error, whatever threw it. */
  function describeError(err) {
    return {
      name: err?.name ?? typeof err,
      message: String(err?.message ?? err),
      error: err?.error ?? null, // oidc-client-ts ErrorResponse: the OAuth error code
      error_description: err?.error_description ?? null,
    };
  }

  function summary(user) {
    return {
      access_token: user.access_token,
      refresh_token: user.refresh_token ?? null,
      id_token: user.id_token ?? null,
      token_type: user.token_type,
      scope: user.scope ?? null,
      profile: user.profile,
    };
  }

  const setStatus = (text) => {
    const el = document.getElementById('callback-status');
    if (el) el.textContent = text;
  };

  /** Runs `fn`; answers { ok: value } or { error: describeError(err) }. */
  async function settle(fn) {
    try {
      return { ok: await fn() };
    } catch (err) {
      return { error: describeError(err) };
    }
  }

  async function userinfoRequest(scheme) {
    const user = await mgr.getUser();
    if (!user) throw new Error('no user signed in');
    const url = await mgr.metadataService.getUserInfoEndpoint();
    const headers = { authorization: `${scheme} ${user.access_token}` };
    if (scheme === 'DPoP') headers.dpop = await mgr.dpopProof(url, user, 'GET');
    const res = await fetch(url, { headers });
    const text = await res.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body, wwwAuthenticate: res.headers.get('www-authenticate') };
  }

  window.spa = {
    origin: location.origin,
    signIn: () => mgr.signinRedirect(),
    /** signinSilent with a refresh token in the user: the refresh_token grant. */
    refresh: () => settle(async () => summary(await mgr.signinSilent())),
    user: () => settle(async () => {
      const user = await mgr.getUser();
      return user ? summary(user) : null;
    }),
    /** GET /userinfo with the current access token; `scheme` is Bearer or DPoP. */
    userinfo: (scheme) => settle(() => userinfoRequest(scheme ?? (cfg.dpop ? 'DPoP' : 'Bearer'))),
    /** The JWK SHA-256 thumbprint of the page's DPoP key (kept in IndexedDB, not extractable). */
    dpopJkt: () => settle(() => mgr.generateDPoPJkt(mgr.settings.dpop)),
    /** Whether the page's DPoP private key can be exported (it must not). */
    dpopKeyExtractable: () => settle(async () => {
      const state = await mgr.settings.dpop.store.get(cfg.client_id);
      return state.keys.privateKey.extractable;
    }),
    callback: null,
  };

  addEventListener('DOMContentLoaded', () => {
    document.getElementById('origin').textContent = location.origin;
    const button = document.getElementById('login');
    if (button) button.addEventListener('click', () => window.spa.signIn());
    if (location.pathname === '/callback.html') {
      window.spa.callback = settle(async () => summary(await mgr.signinRedirectCallback())).then((r) => {
        setStatus(r.ok ? `signed in as ${r.ok.profile.sub}` : `sign-in failed: ${r.error.name}: ${r.error.message}`);
        return r;
      });
    }
  });
})();

// node oidc-provider for baton-client's tests. Environment: PORT (listen and issuer port),
// LOOPBACK_PORT (the native client's redirect port). Interactions are answered at once:
// alice signs in and grants what was asked. DPOP=1 turns on DPoP with nonces required
// everywhere. Prints "ready" when listening.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const loopbackPort = Number(process.env.LOOPBACK_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'app',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`http://127.0.0.1:${loopbackPort}/callback`],
      scope: 'openid offline_access',
    },
    {
      client_id: 'svc',
      client_secret: 'svc-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api',
    },
  ],
  scopes: ['openid', 'offline_access', 'api'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
    dPoP: process.env.DPOP === '1'
      ? { enabled: true, nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true }
      : { enabled: false },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600, ClientCredentials: 3600, RefreshToken: 86400, Grant: 86400,
    Interaction: 600, Session: 86400, AuthorizationCode: 60, IdToken: 3600,
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  issueRefreshToken: async (ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  cookies: { keys: ['baton-client-test-cookie-key'] },
});

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: 'alice', clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res,
    { login: { accountId: 'alice' }, consent: { grantId } },
    { mergeWithLastSubmission: false });
});

provider.listen(port, '127.0.0.1', () => console.log('ready'));

//! `baton serve --demo`: a confidential client, a public client and a user. The
//! callback page that shows the code and the curl command to exchange it is
//! `http/demo.rs`.

use crate::config::{ClientConfig, Config, UserConfig};
use baton_core::model::{AuthMethod, GrantType, SigAlg};
use baton_core::policy::RefreshOverrides;
use baton_core::secret::Secret;

pub const WEB_CLIENT: &str = "demo-web";
pub const SPA_CLIENT: &str = "demo-spa";
pub const USER: &str = "demo";
pub const PASSWORD: &str = "demo-password";

/// Adds the demo client, public client and user to `cfg`; answers the generated
/// client secret (shown once).
pub fn seed(cfg: &mut Config) -> String {
    let secret = baton_core::random_id("");
    let cb = format!("{}/demo/callback", cfg.issuer);
    let scopes: Vec<String> = [
        "openid",
        "profile",
        "email",
        "offline_access",
        "online_access",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let base = ClientConfig {
        client_id: WEB_CLIENT.into(),
        client_name: Some("Demo Web App".into()),
        secret_sha256: Some(baton_core::secret::sha256(secret.as_bytes())),
        auth_method: AuthMethod::ClientSecretBasic,
        redirect_uris: vec![cb],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        allowed_origins: vec![],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::Password,
        ],
        scopes,
        access_token_format: None,
        id_token_alg: SigAlg::RS256,
        introspect_any: false,
        dpop_bound_access_tokens: false,
        jwks: None,
        apis: Default::default(),
        active: true,
        refresh: RefreshOverrides::default(),
    };
    let spa = ClientConfig {
        client_id: SPA_CLIENT.into(),
        client_name: Some("Demo Single-Page App".into()),
        secret_sha256: None,
        auth_method: AuthMethod::None,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..base.clone()
    };
    cfg.clients
        .retain(|c| c.client_id != WEB_CLIENT && c.client_id != SPA_CLIENT);
    cfg.clients.push(base);
    cfg.clients.push(spa);
    cfg.users.retain(|u| u.username != USER);
    let mut claims = serde_json::Map::new();
    claims.insert("name".into(), "Demo User".into());
    claims.insert("email".into(), "demo@example.com".into());
    cfg.users.push(UserConfig {
        username: USER.into(),
        password: Some(Secret::new(PASSWORD)),
        password_hash: None,
        sub: None,
        active: true,
        claims,
        roles: Vec::new(),
        groups: Vec::new(),
        admin: false,
    });
    secret
}

/// What `--demo` prints: how to try the flow.
pub fn instructions(issuer: &str, secret: &str) -> String {
    format!(
        "Demo mode: seeded client `{WEB_CLIENT}` (secret below, shown once), public client `{SPA_CLIENT}`, user `{USER}` / `{PASSWORD}`.\n\n\
         1. Open in a browser (sign in as {USER} / {PASSWORD}, then allow):\n   \
         {issuer}/authorize?response_type=code&client_id={WEB_CLIENT}&redirect_uri={issuer}/demo/callback&scope=openid%20profile%20email%20offline_access&state=demo\n\n\
         2. The callback page shows the code; exchange it within 60 seconds:\n   \
         curl -s -u {WEB_CLIENT}:{secret} -d grant_type=authorization_code -d code=CODE -d redirect_uri={issuer}/demo/callback {issuer}/token\n\n\
         3. Refresh with the refresh_token from that answer:\n   \
         curl -s -u {WEB_CLIENT}:{secret} -d grant_type=refresh_token -d refresh_token=REFRESH_TOKEN {issuer}/token\n\n\
         Or skip the browser with the password grant:\n   \
         curl -s -u {WEB_CLIENT}:{secret} -d grant_type=password -d username={USER} -d password={PASSWORD} -d 'scope=openid offline_access' {issuer}/token\n"
    )
}

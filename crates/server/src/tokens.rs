//! Issuing access tokens (RFC 9068 JWT) and ID tokens (OIDC Core §2), and reading
//! access tokens back (userinfo, introspection).

use crate::state::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use baton_core::error::OAuthError;
use baton_core::model::{Client, GrantId, ReferenceToken, Resource, SigAlg, TokenFormat, User};
use baton_core::scope::Scope;
use baton_core::time::Timestamp;
use serde_json::{Map, Value};

/// Standard claims released per scope (OIDC Core §5.4).
const SCOPE_CLAIMS: &[(&str, &[&str])] = &[
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The user claims a scope releases.
pub fn scoped_claims(claims: &Map<String, Value>, scope: &Scope) -> Map<String, Value> {
    let mut out = Map::new();
    for (s, names) in SCOPE_CLAIMS {
        if scope.contains(s) {
            for n in *names {
                if let Some(v) = claims.get(*n) {
                    out.insert(n.to_string(), v.clone());
                }
            }
        }
    }
    out
}

/// What an access token is about.
pub struct AccessSubject<'a> {
    pub client: &'a Client,
    /// The user's `sub`; `None` for client credentials.
    pub subject: Option<&'a str>,
    pub scope: &'a Scope,
    pub grant_id: Option<GrantId>,
    pub session_id: Option<&'a str>,
    pub auth_time: Option<Timestamp>,
    /// User claims to carry (already filtered by scope).
    pub claims: Option<&'a Map<String, Value>>,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 §6: `cnf.jkt`).
    pub dpop_jkt: Option<&'a str>,
    /// The resource (RFC 8707) the token is for: its `aud`, and its format, lifetime
    /// and signing algorithm where it sets them; `None`: the client itself.
    pub resource: Option<&'a Resource>,
}

/// The `token_type` of an access token: `DPoP` when bound to a key, else `Bearer`.
pub fn token_type(dpop_jkt: Option<&str>) -> &'static str {
    if dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

pub struct IssuedAccess {
    pub token: String,
    pub jti: String,
    pub expires_at: Timestamp,
    pub expires_in: i64,
}

pub async fn access_token(
    st: &AppState,
    now: Timestamp,
    s: &AccessSubject<'_>,
) -> Result<IssuedAccess, OAuthError> {
    let at = st.access_tokens();
    let r = s.resource;
    let lifetime = r
        .and_then(|r| r.access_token_lifetime)
        .unwrap_or(at.lifetime);
    let exp = now.plus(lifetime);
    let jti = baton_core::token_id();
    let format = r
        .and_then(|r| r.access_token_format)
        .or(s.client.access_token_format)
        .unwrap_or(at.format);
    let audience = r.map(|r| r.identifier.as_str());
    if format == TokenFormat::Reference {
        // An opaque token: only its digest is stored, with what introspection answers.
        let token = format!(
            "bat_{}",
            URL_SAFE_NO_PAD.encode(baton_core::random_bytes::<32>())
        );
        let rec = ReferenceToken {
            digest: baton_core::secret::sha256(token.as_bytes()),
            jti: jti.clone(),
            client_id: s.client.client_id.clone(),
            subject: s.subject.map(str::to_string),
            scope: s.scope.to_string(),
            grant_id: s.grant_id,
            session_id: s.session_id.map(str::to_string),
            auth_time: s.auth_time,
            issued_at: now,
            expires_at: exp,
            revoked: false,
            dpop_jkt: s.dpop_jkt.map(str::to_string),
            audience: audience.map(str::to_string),
        };
        st.store.insert_reference_token(&rec).await?;
        return Ok(IssuedAccess {
            token,
            jti,
            expires_at: exp,
            expires_in: lifetime.as_secs(),
        });
    }
    let gid = s.grant_id.map(|g| g.to_hex());
    let claims = AccessTokenClaims {
        user: s.claims,
        iss: &st.cfg.issuer,
        sub: s.subject.unwrap_or(&s.client.client_id),
        aud: audience.unwrap_or(&s.client.client_id),
        client_id: &s.client.client_id,
        iat: now.unix_secs(),
        exp: exp.unix_secs(),
        jti: &jti,
        // A token for a resource whose scopes the grant holds none of has no scope.
        scope: (!s.scope.is_empty()).then(|| s.scope.as_str()),
        auth_time: s.auth_time.map(Timestamp::unix_secs),
        sid: s.session_id,
        // Lets introspection find the grant, so a revoked grant's tokens go inactive.
        gid: gid.as_deref(),
        jkt: s.dpop_jkt,
    };
    let alg = r.and_then(|r| r.signing_alg).unwrap_or(at.signing_alg);
    let token = sign(st, alg, "at+jwt", &claims).await.map_err(|e| {
        tracing::error!(error = %e, "access token signing failed");
        OAuthError::server_error()
    })?;
    Ok(IssuedAccess {
        token,
        jti,
        expires_at: exp,
        expires_in: lifetime.as_secs(),
    })
}

/// An access token's claims (RFC 9068 §2.2): the user claims it carries, then the
/// token's own, which win over a user claim of the same name (that one is left out).
/// Serialized straight from borrowed values: no JSON object is built per token.
struct AccessTokenClaims<'a> {
    user: Option<&'a Map<String, Value>>,
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    iat: i64,
    exp: i64,
    jti: &'a str,
    scope: Option<&'a str>,
    auth_time: Option<i64>,
    sid: Option<&'a str>,
    gid: Option<&'a str>,
    /// RFC 9449 §6: `cnf.jkt`.
    jkt: Option<&'a str>,
}

impl AccessTokenClaims<'_> {
    /// A claim this token sets itself.
    fn sets(&self, name: &str) -> bool {
        match name {
            "iss" | "sub" | "aud" | "client_id" | "iat" | "exp" | "jti" => true,
            "scope" => self.scope.is_some(),
            "auth_time" => self.auth_time.is_some(),
            "sid" => self.sid.is_some(),
            "gid" => self.gid.is_some(),
            "cnf" => self.jkt.is_some(),
            _ => false,
        }
    }
}

impl serde::Serialize for AccessTokenClaims<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(serde::Serialize)]
        struct Cnf<'a> {
            jkt: &'a str,
        }
        let mut m = ser.serialize_map(None)?;
        for (k, v) in self.user.into_iter().flatten() {
            if !self.sets(k) {
                m.serialize_entry(k, v)?;
            }
        }
        m.serialize_entry("iss", self.iss)?;
        m.serialize_entry("sub", self.sub)?;
        m.serialize_entry("aud", self.aud)?;
        m.serialize_entry("client_id", self.client_id)?;
        m.serialize_entry("iat", &self.iat)?;
        m.serialize_entry("exp", &self.exp)?;
        m.serialize_entry("jti", self.jti)?;
        if let Some(v) = self.scope {
            m.serialize_entry("scope", v)?;
        }
        if let Some(v) = self.auth_time {
            m.serialize_entry("auth_time", &v)?;
        }
        if let Some(v) = self.sid {
            m.serialize_entry("sid", v)?;
        }
        if let Some(v) = self.gid {
            m.serialize_entry("gid", v)?;
        }
        if let Some(jkt) = self.jkt {
            m.serialize_entry("cnf", &Cnf { jkt })?;
        }
        m.end()
    }
}

pub struct IdTokenInput<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    /// Claims to release (already filtered by scope, current or snapshot).
    pub claims: &'a Map<String, Value>,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub access_token: &'a str,
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of the hash of the access token, with
/// the hash the ID token's `alg` uses: SHA-256 for ES256 and RS256, SHA-512 for EdDSA
/// (Ed25519 hashes with SHA-512; certified relying-party libraries compute it so).
fn at_hash(alg: SigAlg, access_token: &str) -> String {
    match alg {
        SigAlg::EdDSA => {
            let d = ring::digest::digest(&ring::digest::SHA512, access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d.as_ref()[..32])
        }
        SigAlg::ES256 | SigAlg::RS256 => {
            let d = baton_core::secret::sha256(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d[..16])
        }
    }
}

pub async fn id_token(
    st: &AppState,
    now: Timestamp,
    i: &IdTokenInput<'_>,
) -> Result<String, OAuthError> {
    let alg = i.client.id_token_alg;
    let mut c = i.claims.clone();
    c.insert("iss".into(), st.cfg.issuer.clone().into());
    c.insert("sub".into(), i.user.sub.clone().into());
    c.insert("aud".into(), i.client.client_id.clone().into());
    c.insert("azp".into(), i.client.client_id.clone().into());
    c.insert("iat".into(), now.unix_secs().into());
    c.insert(
        "exp".into(),
        now.plus(st.access_tokens().lifetime).unix_secs().into(),
    );
    c.insert("auth_time".into(), i.auth_time.unix_secs().into());
    c.insert("at_hash".into(), at_hash(alg, i.access_token).into());
    if let Some(n) = i.nonce {
        c.insert("nonce".into(), n.into());
    }
    if let Some(sid) = i.session_id {
        c.insert("sid".into(), sid.into());
    }
    let failed = |e: String| {
        tracing::error!(error = %e, "ID token signing failed");
        OAuthError::server_error()
    };
    sign(st, alg, "JWT", &Value::Object(c))
        .await
        .map_err(failed)
}

/// Signs `claims` as a JWT of type `typ` with the current key of `alg`, in place. An RSA
/// signature runs on a blocking thread, with the claims as owned JSON: it costs about a
/// millisecond of CPU, which on a request thread would hold up every other request of
/// its connections.
pub async fn sign<C: serde::Serialize + Sync + ?Sized>(
    st: &AppState,
    alg: SigAlg,
    typ: &'static str,
    claims: &C,
) -> Result<String, String> {
    let keys = st.keyring();
    if alg != SigAlg::RS256 {
        return keys.sign(alg, typ, claims);
    }
    let claims = serde_json::to_value(claims).map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || keys.sign(alg, typ, &claims))
        .await
        .map_err(|e| e.to_string())?
}

/// A verified, unexpired access token of ours.
pub struct AccessClaims {
    /// The JWT's claims (for a reference token, the same claims made from its record),
    /// `cnf.jkt` included when the token is DPoP-bound.
    pub claims: Value,
    /// The client the token was issued to, as stored now (it exists and is enabled).
    pub client: Client,
    /// The stored digest when this is a reference token.
    pub reference: Option<[u8; 32]>,
}

impl AccessClaims {
    /// The thumbprint of the DPoP key the token is bound to, if it is.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.claims["cnf"]["jkt"].as_str()
    }
}

/// Whether the grant an access token came from is still alive.
async fn grant_alive(
    st: &AppState,
    gid: Option<GrantId>,
    now: Timestamp,
) -> Result<bool, OAuthError> {
    let Some(gid) = gid else { return Ok(true) };
    let g = match st.store.get_grant(gid).await? {
        Some(g) => Some(g),
        None => match st.grants(false).get_grant(gid).await? {
            Some(mut g) => {
                crate::grants::apply_revocation_markers(st, &mut g, now).await?;
                Some(g)
            }
            None => None,
        },
    };
    Ok(g.is_some_and(|g| g.is_active() && g.expiry().is_none_or(|e| now < e)))
}

/// The client an access token was issued to, if it still exists and is enabled.
async fn live_client(st: &AppState, client_id: &str) -> Result<Option<Client>, OAuthError> {
    Ok(st.store.get_client(client_id).await?.filter(|c| c.active))
}

/// Whether the client an access token was issued to still exists and is enabled, and
/// the user it speaks for (if any) too. This also holds for tokens without a grant
/// (client credentials, a password grant without `offline_access`), which no grant
/// revocation reaches. `user_sub` is `None` for a client-credentials token.
async fn owners_alive(
    st: &AppState,
    client_id: &str,
    user_sub: Option<&str>,
) -> Result<Option<Client>, OAuthError> {
    let Some(client) = live_client(st, client_id).await? else {
        return Ok(None);
    };
    let Some(sub) = user_sub else {
        return Ok(Some(client));
    };
    let user_alive = st
        .store
        .get_user_by_sub(sub)
        .await?
        .is_some_and(|u| u.active);
    Ok(user_alive.then_some(client))
}

/// [`owners_alive`] for a JWT access token, which does not say whether it speaks for a
/// user: its `sub` is the user, unless that is the client's own id and no user has it
/// (a client-credentials token). One user lookup answers both questions.
async fn jwt_owners_alive(
    st: &AppState,
    client_id: &str,
    sub: &str,
) -> Result<Option<Client>, OAuthError> {
    let Some(client) = live_client(st, client_id).await? else {
        return Ok(None);
    };
    let alive = match st.store.get_user_by_sub(sub).await? {
        Some(u) => u.active,
        None => sub == client_id,
    };
    Ok(alive.then_some(client))
}

/// Reads one of our access tokens, JWT or reference. Answers its claims if it is
/// active: signature (or stored digest), issuer, expiry, not revoked itself, its
/// grant (if any) still alive, its client still there and enabled, and its user (if
/// any) still there and active. Anything else is `None`.
pub async fn read_access_token(
    st: &AppState,
    token: &str,
    now: Timestamp,
) -> Result<Option<AccessClaims>, OAuthError> {
    if token.starts_with("bat_") {
        return read_reference(st, token, now).await;
    }
    let jwks = st.keyring().jwks();
    let Ok(v) = crate::jwt::verify(token, &jwks, &SigAlg::ALL) else {
        return Ok(None);
    };
    if v.header["typ"] != "at+jwt" || v.claims["iss"].as_str() != Some(st.cfg.issuer.as_str()) {
        return Ok(None);
    }
    if v.claims["exp"]
        .as_i64()
        .is_none_or(|e| e <= now.unix_secs())
    {
        return Ok(None);
    }
    if let Some(jti) = v.claims["jti"].as_str() {
        if st.store.is_jti_revoked(jti).await? {
            return Ok(None);
        }
    }
    if !grant_alive(st, v.claims["gid"].as_str().and_then(GrantId::parse), now).await? {
        return Ok(None);
    }
    let (Some(client_id), Some(sub)) = (v.claims["client_id"].as_str(), v.claims["sub"].as_str())
    else {
        return Ok(None);
    };
    let Some(client) = jwt_owners_alive(st, client_id, sub).await? else {
        return Ok(None);
    };
    Ok(Some(AccessClaims {
        claims: v.claims,
        client,
        reference: None,
    }))
}

async fn read_reference(
    st: &AppState,
    token: &str,
    now: Timestamp,
) -> Result<Option<AccessClaims>, OAuthError> {
    if token.len() > 128 {
        return Ok(None);
    }
    let digest = baton_core::secret::sha256(token.as_bytes());
    let Some(t) = st.store.get_reference_token(&digest).await? else {
        return Ok(None);
    };
    if t.revoked || now >= t.expires_at || !grant_alive(st, t.grant_id, now).await? {
        return Ok(None);
    }
    let Some(client) = owners_alive(st, &t.client_id, t.subject.as_deref()).await? else {
        return Ok(None);
    };
    let mut c = Map::new();
    c.insert("iss".into(), st.cfg.issuer.clone().into());
    c.insert(
        "sub".into(),
        t.subject
            .clone()
            .unwrap_or_else(|| t.client_id.clone())
            .into(),
    );
    c.insert(
        "aud".into(),
        t.audience.as_ref().unwrap_or(&t.client_id).clone().into(),
    );
    c.insert("client_id".into(), t.client_id.clone().into());
    if !t.scope.is_empty() {
        c.insert("scope".into(), t.scope.clone().into());
    }
    c.insert("iat".into(), t.issued_at.unix_secs().into());
    c.insert("exp".into(), t.expires_at.unix_secs().into());
    c.insert("jti".into(), t.jti.clone().into());
    if let Some(a) = t.auth_time {
        c.insert("auth_time".into(), a.unix_secs().into());
    }
    if let Some(sid) = &t.session_id {
        c.insert("sid".into(), sid.clone().into());
    }
    if let Some(jkt) = &t.dpop_jkt {
        c.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
    }
    Ok(Some(AccessClaims {
        claims: Value::Object(c),
        client,
        reference: Some(digest),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_claims() -> Map<String, Value> {
        let v = json!({"email": "a@example.com", "iss": "forged", "sub": "forged",
            "scope": "user-scope", "cnf": {"jkt": "forged"}, "roles": ["admin"]});
        v.as_object().cloned().unwrap()
    }

    fn claims<'a>(user: &'a Map<String, Value>) -> AccessTokenClaims<'a> {
        AccessTokenClaims {
            user: Some(user),
            iss: "https://issuer",
            sub: "alice",
            aud: "app",
            client_id: "app",
            iat: 100,
            exp: 400,
            jti: "j1",
            scope: Some("openid email"),
            auth_time: Some(90),
            sid: Some("s1"),
            gid: Some("00ff"),
            jkt: Some("thumb"),
        }
    }

    /// The token's own claims win over user claims of the same name; other user
    /// claims are carried as they are.
    #[test]
    fn access_token_claims_override_user_claims() {
        let user = user_claims();
        let v = serde_json::to_value(claims(&user)).unwrap();
        assert_eq!(
            v,
            json!({"email": "a@example.com", "roles": ["admin"], "iss": "https://issuer",
                "sub": "alice", "aud": "app", "client_id": "app", "iat": 100, "exp": 400,
                "jti": "j1", "scope": "openid email", "auth_time": 90, "sid": "s1",
                "gid": "00ff", "cnf": {"jkt": "thumb"}})
        );
        // Serialized as one object: no name twice.
        let text = serde_json::to_string(&claims(&user)).unwrap();
        assert_eq!(text.matches("\"iss\"").count(), 1);
    }

    /// A claim the token does not set this time (no scope, no DPoP key, no session) is
    /// left to the user claims, as before.
    #[test]
    fn optional_claims_not_set_leave_user_claims() {
        let user = user_claims();
        let c = AccessTokenClaims {
            scope: None,
            auth_time: None,
            sid: None,
            gid: None,
            jkt: None,
            ..claims(&user)
        };
        let v = serde_json::to_value(c).unwrap();
        assert_eq!(v["scope"], "user-scope");
        assert_eq!(v["cnf"], json!({"jkt": "forged"}));
        assert_eq!(v["iss"], "https://issuer");
        assert!(v.get("sid").is_none() && v.get("auth_time").is_none());
    }
}

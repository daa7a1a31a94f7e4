//! JSON encodings of the records stored as documents (clients, codes), shared by the
//! backends so that every backend stores the same shape.

use baton_core::error::StoreError;
use baton_core::events::EventKind;
use baton_core::model::{
    AuthCode, AuthMethod, Client, ClientApis, CodeUse, GrantId, GrantType, ManagedBy,
    ReferenceToken, Resource, SigAlg, TokenFormat,
};
use baton_core::policy::RefreshOverrides;
use baton_core::scope::Scope;
use baton_core::secret::{hex, unhex};
use baton_core::time::{Dur, Timestamp};
use serde_json::{json, Value};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} could not be decoded"))
}

pub fn client_to_json(c: &Client) -> String {
    json!({
        "client_name": c.client_name,
        "secret_sha256": c.secret_sha256.map(|s| hex(&s)),
        "auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "allowed_origins": c.allowed_origins,
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scopes": c.scopes,
        "access_token_format": c.access_token_format.map(|f| f.as_str()),
        "id_token_alg": c.id_token_alg.as_str(),
        "introspect_any": c.introspect_any,
        "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
        "jwks": c.jwks,
        "resources": c.apis.resources,
        "default_resource": c.apis.default_resource,
        "introspect_resources": c.apis.introspect_resources,
        "id_token_claims": c.apis.id_token_claims,
        "userinfo_claims": c.apis.userinfo_claims,
        "access_token_claims": c.apis.access_token_claims,
        "refresh_tokens": serde_json::to_value(c.refresh.to_dto()).unwrap_or(Value::Null),
        "active": c.active,
        "dynamically_registered": c.dynamically_registered,
    })
    .to_string()
}

/// A stored client as its backend read it: id, JSON document, creation time (ms) and
/// `managed_by`.
pub struct StoredClient<'a> {
    pub client_id: &'a str,
    pub data: &'a str,
    pub created_at: i64,
    pub managed_by: &'a str,
}

/// Decodes a stored client. The token endpoint reads its client on every request, and
/// decoding the JSON document costs more than the read itself, so the last decode of
/// each client is kept, keyed by the exact stored row: it is reused only when the id,
/// document, creation time and `managed_by` read now are byte for byte the ones it was
/// decoded from. A change written by any node (or process) changes the document, so
/// it is decoded afresh at its next read: nothing to invalidate, nothing stale.
/// At most [`DECODED_CLIENTS`] are kept (all dropped when full: clients registered in
/// bulk cannot grow it).
pub fn decode_client(row: StoredClient<'_>) -> Result<Client, StoreError> {
    type Decoded = (String, i64, String, Client);
    static DECODED: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, Decoded>>,
    > = std::sync::LazyLock::new(Default::default);
    let same = |d: &Decoded| d.0 == row.data && d.1 == row.created_at && d.2 == row.managed_by;
    if let Ok(m) = DECODED.lock() {
        if let Some(d) = m.get(row.client_id).filter(|d| same(d)) {
            return Ok(d.3.clone());
        }
    }
    let mut c = client_from_json(row.client_id.to_string(), row.created_at, row.data)?;
    c.managed_by = ManagedBy::parse(row.managed_by)
        .ok_or_else(|| StoreError::Corrupt(format!("client managed_by `{}`", row.managed_by)))?;
    if let Ok(mut m) = DECODED.lock() {
        if m.len() >= DECODED_CLIENTS && !m.contains_key(row.client_id) {
            m.clear();
        }
        m.insert(
            row.client_id.to_string(),
            (
                row.data.to_string(),
                row.created_at,
                row.managed_by.to_string(),
                c.clone(),
            ),
        );
    }
    Ok(c)
}

/// How many decoded clients [`decode_client`] keeps at most.
pub const DECODED_CLIENTS: usize = 1024;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn client_from_json(
    client_id: String,
    created_at: i64,
    data: &str,
) -> Result<Client, StoreError> {
    let v: Value = serde_json::from_str(data).map_err(|_| corrupt("client"))?;
    let secret_sha256 = match v["secret_sha256"].as_str() {
        Some(h) => Some(
            unhex(h)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| corrupt("client secret digest"))?,
        ),
        None => None,
    };
    let dto = serde_json::from_value(v["refresh_tokens"].clone()).unwrap_or_default();
    let refresh = RefreshOverrides::from_dto(&dto, "refresh_tokens")
        .map_err(|_| corrupt("client settings"))?;
    Ok(Client {
        client_id,
        client_name: v["client_name"].as_str().map(str::to_string),
        secret_sha256,
        auth_method: v["auth_method"]
            .as_str()
            .and_then(AuthMethod::parse)
            .ok_or_else(|| corrupt("client auth method"))?,
        redirect_uris: strings(&v["redirect_uris"]),
        post_logout_redirect_uris: strings(&v["post_logout_redirect_uris"]),
        backchannel_logout_uri: v["backchannel_logout_uri"].as_str().map(str::to_string),
        // Absent in rows written before origins existed: none allowed.
        allowed_origins: strings(&v["allowed_origins"]),
        grant_types: strings(&v["grant_types"])
            .iter()
            .filter_map(|g| GrantType::parse(g))
            .collect(),
        scopes: strings(&v["scopes"]),
        access_token_format: v["access_token_format"]
            .as_str()
            .and_then(TokenFormat::parse),
        id_token_alg: v["id_token_alg"]
            .as_str()
            .and_then(SigAlg::parse)
            .unwrap_or(SigAlg::RS256),
        introspect_any: v["introspect_any"].as_bool().unwrap_or(false),
        dpop_bound_access_tokens: v["dpop_bound_access_tokens"].as_bool().unwrap_or(false),
        jwks: match &v["jwks"] {
            Value::Null => None,
            j => Some(j.clone()),
        },
        // Absent in rows written before resources existed: none.
        apis: ClientApis {
            resources: strings(&v["resources"]),
            default_resource: v["default_resource"].as_str().map(str::to_string),
            introspect_resources: strings(&v["introspect_resources"]),
            id_token_claims: strings(&v["id_token_claims"]),
            userinfo_claims: strings(&v["userinfo_claims"]),
            access_token_claims: strings(&v["access_token_claims"]),
        },
        refresh,
        active: v["active"].as_bool().unwrap_or(true),
        created_at: Timestamp(created_at),
        dynamically_registered: v["dynamically_registered"].as_bool().unwrap_or(false),
        // A column of its own: the caller sets it.
        managed_by: Default::default(),
    })
}

pub fn code_to_json(c: &AuthCode) -> String {
    json!({
        "client_id": c.client_id,
        "redirect_uri": c.redirect_uri,
        "scope": c.scope,
        "subject": c.subject,
        "session_id": c.session_id,
        "nonce": c.nonce,
        "code_challenge": c.code_challenge,
        "dpop_jkt": c.dpop_jkt,
        "resources": c.resources,
        "auth_time": c.auth_time.0,
    })
    .to_string()
}

pub fn code_from_json(
    digest: [u8; 32],
    expires_at: i64,
    data: &str,
    used: Option<&str>,
) -> Result<AuthCode, StoreError> {
    let v: Value = serde_json::from_str(data).map_err(|_| corrupt("code"))?;
    let s = |k: &str| v[k].as_str().map(str::to_string);
    Ok(AuthCode {
        digest,
        client_id: s("client_id").ok_or_else(|| corrupt("code"))?,
        redirect_uri: s("redirect_uri").unwrap_or_default(),
        scope: Scope::from_stored(s("scope").unwrap_or_default()),
        subject: s("subject").ok_or_else(|| corrupt("code"))?,
        session_id: s("session_id").unwrap_or_default(),
        nonce: s("nonce"),
        code_challenge: s("code_challenge"),
        dpop_jkt: s("dpop_jkt"),
        resources: strings(&v["resources"]),
        auth_time: Timestamp(v["auth_time"].as_i64().unwrap_or(0)),
        expires_at: Timestamp(expires_at),
        used: used.map(code_use_from_json).transpose()?,
    })
}

pub fn code_use_to_json(u: &CodeUse) -> String {
    json!({
        "at": u.at.0,
        "grant_id": u.grant_id.map(|g| g.to_hex()),
        "access_jti": u.access_jti,
        "access_exp": u.access_exp.map(|t| t.0),
    })
    .to_string()
}

pub fn code_use_from_json(s: &str) -> Result<CodeUse, StoreError> {
    let v: Value = serde_json::from_str(s).map_err(|_| corrupt("code use"))?;
    Ok(CodeUse {
        at: Timestamp(v["at"].as_i64().unwrap_or(0)),
        grant_id: v["grant_id"].as_str().and_then(GrantId::parse),
        access_jti: v["access_jti"].as_str().map(str::to_string),
        access_exp: v["access_exp"].as_i64().map(Timestamp),
    })
}

pub fn reference_to_json(t: &ReferenceToken) -> String {
    json!({
        "jti": t.jti,
        "client_id": t.client_id,
        "subject": t.subject,
        "scope": t.scope,
        "grant_id": t.grant_id.map(|g| g.to_hex()),
        "session_id": t.session_id,
        "auth_time": t.auth_time.map(|a| a.0),
        "issued_at": t.issued_at.0,
        "dpop_jkt": t.dpop_jkt,
        "audience": t.audience,
    })
    .to_string()
}

pub fn reference_from_json(
    digest: [u8; 32],
    expires_at: i64,
    revoked: bool,
    data: &str,
) -> Result<ReferenceToken, StoreError> {
    let v: Value = serde_json::from_str(data).map_err(|_| corrupt("reference token"))?;
    let s = |k: &str| v[k].as_str().map(str::to_string);
    Ok(ReferenceToken {
        digest,
        jti: s("jti").unwrap_or_default(),
        client_id: s("client_id").ok_or_else(|| corrupt("reference token"))?,
        subject: s("subject"),
        scope: s("scope").unwrap_or_default(),
        grant_id: v["grant_id"].as_str().and_then(GrantId::parse),
        session_id: s("session_id"),
        auth_time: v["auth_time"].as_i64().map(Timestamp),
        issued_at: Timestamp(v["issued_at"].as_i64().unwrap_or(0)),
        expires_at: Timestamp(expires_at),
        revoked,
        dpop_jkt: s("dpop_jkt"),
        audience: s("audience"),
    })
}

/// How many columns a column list (`"a, b, c"`) names: where the next record's columns
/// start in a row that selects several lists one after the other.
pub(crate) const fn column_count(cols: &str) -> usize {
    let b = cols.as_bytes();
    let (mut i, mut n) = (0, 1);
    while i < b.len() {
        if b[i] == b',' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `cols` (a `,`-separated column list) each prefixed with `alias.`, for a join.
pub(crate) fn qualified(alias: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A grant's resources as SQLite stores them: space-separated (an identifier holds no
/// space), `NULL` for none.
pub fn resources_to_column(r: &[String]) -> Option<String> {
    (!r.is_empty()).then(|| r.join(" "))
}

pub fn resources_from_column(c: Option<String>) -> Vec<String> {
    c.map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// A resource's JSON document: everything but its identifier, creation time and
/// `managed_by` (columns of their own).
pub fn resource_to_json(r: &Resource) -> String {
    json!({
        "name": r.name,
        "scopes": r.scopes,
        "scope_descriptions": r.scope_descriptions,
        "access_token_format": r.access_token_format.map(|f| f.as_str()),
        "access_token_lifetime_ms": r.access_token_lifetime.map(|d| d.0),
        "signing_alg": r.signing_alg.map(|a| a.as_str()),
        "claims": r.claims,
        "active": r.active,
    })
    .to_string()
}

pub fn resource_from_json(
    identifier: String,
    created_at: i64,
    managed_by: &str,
    data: &str,
) -> Result<Resource, StoreError> {
    let v: Value = serde_json::from_str(data).map_err(|_| corrupt("resource"))?;
    let opt = |k: &str, parse: fn(&str) -> bool| match v[k].as_str() {
        None => Ok(None),
        Some(x) if parse(x) => Ok(Some(x.to_string())),
        Some(_) => Err(corrupt("resource")),
    };
    Ok(Resource {
        identifier,
        name: v["name"].as_str().map(str::to_string),
        scopes: strings(&v["scopes"]),
        scope_descriptions: serde_json::from_value(v["scope_descriptions"].clone())
            .unwrap_or_default(),
        access_token_format: opt("access_token_format", |f| TokenFormat::parse(f).is_some())?
            .and_then(|f| TokenFormat::parse(&f)),
        access_token_lifetime: v["access_token_lifetime_ms"].as_i64().map(Dur),
        signing_alg: opt("signing_alg", |a| SigAlg::parse(a).is_some())?
            .and_then(|a| SigAlg::parse(&a)),
        claims: strings(&v["claims"]),
        active: v["active"].as_bool().unwrap_or(true),
        created_at: Timestamp(created_at),
        managed_by: ManagedBy::parse(managed_by)
            .ok_or_else(|| StoreError::Corrupt(format!("resource managed_by `{managed_by}`")))?,
    })
}

/// Which grants cleanup deletes (`$1` = the cutoff): revoked at or before it, or never
/// revoked and expired at or before it (absolute expiry, or sliding idle time). Three
/// terms, each the condition of one partial index (migrations 9 and 12), so that both
/// SQLite and PostgreSQL find the rows through indexes (a union of three index ranges),
/// never by scanning the table.
///
/// The idle term goes through `idle_check_at`, a lower bound of `last_used_at +
/// sliding_ms` that a refresh does not write (so that a rotation changes no indexed
/// column): written at creation, moved forward only by [`RECHECK_IDLE_WHERE`]. A grant
/// whose deadline has passed always has `idle_check_at` at or before it. (A node whose
/// clock is behind can move `last_used_at` back by its lag: such a grant is deleted that
/// much later; whether it is expired is decided on `last_used_at`, as always.)
pub(crate) const PURGE_GRANTS_WHERE: &str = "(revoked_at IS NOT NULL AND revoked_at <= $1) \
     OR (revoked_at IS NULL AND expires_at <= $1) \
     OR (revoked_at IS NULL AND idle_check_at <= $1 AND last_used_at + sliding_ms <= $1)";

/// The grants whose `idle_check_at` has passed (`$1` = the cutoff) but which were used
/// since and are not idle: cleanup sets their `idle_check_at` to their real deadline
/// (`last_used_at + sliding_ms`), out of the next batches' way. Found through the same
/// index as the idle term of [`PURGE_GRANTS_WHERE`].
pub(crate) const RECHECK_IDLE_WHERE: &str = "revoked_at IS NULL AND idle_check_at <= $1 \
     AND (sliding_ms IS NULL OR last_used_at + sliding_ms > $1)";

/// The columns a refresh writes (`advance`, `touch`): no index may include one, so that
/// a rotation writes the grant's row and no index entry (on PostgreSQL, a HOT update).
#[cfg(test)]
pub(crate) const REFRESH_WRITES: [&str; 3] =
    ["generation", "generation_started_at", "last_used_at"];

/// Whether `sql` names `column` (or a table) as a whole word.
#[cfg(test)]
pub(crate) fn names_column(sql: &str, column: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(column))
}

/// A grant row deleted by cleanup: what its event needs.
pub(crate) struct PurgedGrant {
    pub id: GrantId,
    pub client_id: String,
    pub subject: String,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub sliding_ms: Option<i64>,
    pub last_used_at: i64,
}

/// What deleting `rows` amounts to: the `grant.expired` events of the expired ones
/// (to be written in the same transaction) and the count of revoked ones.
pub(crate) fn purge_events(
    rows: &[PurgedGrant],
    now: Timestamp,
) -> baton_core::store::PurgedGrants {
    let mut counts = baton_core::store::PurgedGrants::default();
    for r in rows {
        if r.revoked_at.is_some() {
            counts.revoked += 1;
            continue;
        }
        let sliding = r.sliding_ms.map(|s| r.last_used_at.saturating_add(s));
        let (expired_at, by) = match (r.expires_at, sliding) {
            (Some(a), Some(s)) if s < a => (s, "sliding"),
            (Some(a), _) => (a, "absolute"),
            (None, Some(s)) => (s, "sliding"),
            (None, None) => (now.0, "absolute"),
        };
        counts.expired.push(baton_core::model::Event {
            id: baton_core::event_id(now),
            kind: EventKind::GrantExpired.as_str().into(),
            time: now,
            client_id: Some(r.client_id.clone()),
            subject: Some(r.subject.clone()),
            grant_id: Some(r.id),
            ip: None,
            user_agent: None,
            details: json!({ "expired_at": expired_at, "lifetime": by }),
        });
    }
    counts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// A column list's count, as the records reads use it to find each record.
    #[test]
    fn column_lists_are_counted() {
        assert_eq!(super::column_count("a"), 1);
        assert_eq!(super::column_count("a, b::text, c"), 3);
    }

    /// A client stored before `allowed_origins` existed reads back with none.
    #[test]
    fn clients_stored_without_origins_allow_none() {
        let old = r#"{"auth_method": "none", "redirect_uris": ["https://a.example/cb"],
            "grant_types": ["authorization_code"], "scopes": ["openid"]}"#;
        let c = super::client_from_json("old".into(), 0, old).unwrap();
        assert!(c.allowed_origins.is_empty());
        let again = super::client_from_json("old".into(), 0, &super::client_to_json(&c)).unwrap();
        assert_eq!(again, c);
    }

    /// The decode cache answers what the stored row says now: a document changed by
    /// another node (same id) is decoded afresh, as is another `managed_by`.
    #[test]
    fn decoded_clients_follow_the_stored_row() {
        use super::{decode_client, StoredClient};
        use baton_core::model::ManagedBy;
        let v1 = r#"{"auth_method": "none", "client_name": "One",
            "grant_types": ["refresh_token"], "scopes": ["openid"]}"#;
        let v2 = v1.replace("One", "Two");
        let row = |data, managed_by| StoredClient {
            client_id: "decode-cache-test",
            data,
            created_at: 7,
            managed_by,
        };
        let a = decode_client(row(v1, "api")).unwrap();
        assert_eq!(a.client_name.as_deref(), Some("One"));
        assert_eq!(decode_client(row(v1, "api")).unwrap(), a);
        let b = decode_client(row(&v2, "api")).unwrap();
        assert_eq!(b.client_name.as_deref(), Some("Two"));
        assert_eq!(b.managed_by, ManagedBy::Api);
        let c = decode_client(row(&v2, "config")).unwrap();
        assert_eq!(c.managed_by, ManagedBy::Config);
        assert!(decode_client(row(&v2, "nobody")).is_err());
        assert!(decode_client(row("{", "api")).is_err());
    }
}

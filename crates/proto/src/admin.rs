//! Admin API bodies (SPEC §4).

use crate::settings::RefreshTokenSettings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A page of a list: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A grant as the admin API shows it: never a token value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct GrantView {
    pub grant_id: String,
    pub client_id: String,
    pub subject: String,
    pub scope: String,
    pub session_id: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: Option<String>,
    pub generation: u64,
    pub status: String,
    pub revoked_reason: Option<String>,
    /// The resources (APIs) the grant was given for; its tokens may be for any of them.
    #[serde(default)]
    pub resources: Vec<String>,
}

/// A recorded event: what happened (`type`), when, to which client, subject and grant,
/// from which address, and its details; never a token, secret or password.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub time: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub grant_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A client as the admin API shows it. `client_secret` appears once: in the answer that
/// generated it (create, or a change to a method that needs a secret).
#[derive(Serialize, Deserialize, Clone, PartialEq, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: Option<String>,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Browser origins allowed to call the token endpoints cross-origin (CORS).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub access_token_format: Option<String>,
    pub id_token_signed_response_alg: String,
    pub introspect_any: bool,
    /// Every token request must carry a DPoP proof (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Resources (API identifiers) the client may request with `resource`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The resource a request naming none is for, when the grant holds it.
    #[serde(default)]
    pub default_resource: Option<String>,
    /// Resources whose access tokens this client may introspect (a resource server).
    #[serde(default)]
    pub introspect_resources: Vec<String>,
    /// User claims released in ID tokens beyond the scope's (`roles`, `groups` included).
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// User claims released at userinfo beyond the scope's.
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
    /// User claims the client's access tokens carry beyond the scope's.
    #[serde(default)]
    pub access_token_claims: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub active: bool,
    /// The client's own overrides of the server-wide refresh-token settings.
    pub refresh_tokens: RefreshTokenSettings,
    pub created_at: String,
    /// Created through `POST /register` (RFC 7591) rather than by an operator: its
    /// redirect URIs get no automatic redirects, and consent pages label it.
    #[serde(default)]
    pub dynamically_registered: bool,
    /// Who manages it: `config` (a `[[clients]]` entry of the configuration file:
    /// read-only here, change it in the file), `api` (the admin API and the CLI) or
    /// `registration` (created through `POST /register`; managed like `api`).
    #[serde(default = "api")]
    pub managed_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

fn api() -> String {
    "api".into()
}

/// `POST /admin/clients`: the keys of a `[[clients]]` entry of the configuration file,
/// except the secret, which the server generates. Without `token_endpoint_auth_method`
/// the client is confidential (`client_secret_basic`), or `private_key_jwt` when `jwks`
/// is given.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCreate {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    pub introspect_any: bool,
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspect_resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo_claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_token_claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default)]
    pub refresh_tokens: RefreshTokenSettings,
}

/// `PATCH /admin/clients/{client_id}`: any subset of the client's keys. `refresh_tokens`
/// is merged key by key into the client's overrides; other keys replace their value.
/// `null` clears an optional key (`client_name`, `backchannel_logout_uri`,
/// `access_token_format`, `jwks`); on any other key it is refused, naming the key
/// (leave a key out to keep its value; `[]` empties a list).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub client_name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub backchannel_logout_uri: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub grant_types: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub scopes: Option<Vec<String>>,
    /// `null`: the server-wide `access_tokens.format`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub access_token_format: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub introspect_any: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub dpop_bound_access_tokens: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub default_resource: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub introspect_resources: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub id_token_claims: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub userinfo_claims: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub access_token_claims: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Option<serde_json::Value>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub refresh_tokens: Option<RefreshTokenSettings>,
}

/// A PATCH key that `null` clears: absent is `None`, `null` is `Some(None)`.
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A PATCH key that cannot be cleared: `null` is refused (the error names the key).
fn required<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "cannot be null: this key has no empty value (leave it out to keep the current one)",
        )),
    }
}

/// A user as the admin API shows it: never the password hash.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct UserView {
    /// The stable subject identifier (`sub` claim); kept across renames.
    pub sub: String,
    pub username: String,
    pub active: bool,
    #[schema(value_type = Object)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Released as the `roles` claim where claim mapping says so.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Released as the `groups` claim where claim mapping says so.
    #[serde(default)]
    pub groups: Vec<String>,
    /// May sign in to the operator console (`/console`).
    #[serde(default)]
    pub admin: bool,
    pub created_at: String,
    /// Who manages it: `config` (a `[[users]]` entry of the configuration file:
    /// read-only here, change it in the file) or `api` (the admin API and the CLI).
    #[serde(default = "api")]
    pub managed_by: String,
}

/// `POST /admin/users`.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// May sign in to the operator console (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
}

/// `PATCH /admin/users/{username}`: `username` renames (the `sub` stays); `claims`
/// replaces the claims whole (`{}` removes them all). No key of a user can be
/// `null`: it is refused, naming the key.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub username: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub password: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(value_type = Object, nullable = false)]
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub roles: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub groups: Option<Vec<String>>,
    /// Grants (`true`) or withdraws (`false`) access to the operator console.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub admin: Option<bool>,
}

/// A resource (an API) as the admin API shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct ResourceView {
    /// The absolute URI that is its access tokens' `aud`.
    pub identifier: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    /// Plain words for its scopes, shown on the consent page.
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
    pub access_token_format: Option<String>,
    pub access_token_lifetime: Option<String>,
    pub signing_alg: Option<String>,
    /// User claims its access tokens carry.
    pub claims: Vec<String>,
    pub active: bool,
    /// The clients that list it in `resources` (may request it).
    pub clients: Vec<String>,
    pub created_at: String,
    /// `config` (read-only here) or `api`.
    #[serde(default = "api")]
    pub managed_by: String,
}

/// `POST /admin/resources`: the keys of a `[[resources]]` entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceCreate {
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub scope_descriptions: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// `PATCH /admin/resources/{identifier}`: any subset of its keys but `identifier`;
/// `null` clears `name`, `access_token_format`, `access_token_lifetime`, `signing_alg`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub scopes: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub scope_descriptions: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub access_token_format: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub access_token_lifetime: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "nullable")]
    pub signing_alg: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub claims: Option<Vec<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "required"
    )]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `POST /admin/revocations`: `client_id`, `subject`, both, or `grant_id` alone.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// `{"revoked": N}`: how many grants this call revoked.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct RevocationResult {
    pub revoked: u64,
}

/// A signing key (public facts only).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// The answer of `POST /admin/keys/rotate`: the new active keys and those just retired
/// (still published in JWKS until the tokens they signed have expired).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct KeyRotation {
    pub active: Vec<KeyView>,
    pub retired: Vec<KeyView>,
}

/// `GET /admin/clients` and `GET /admin/users` query: paging. Clients come in
/// `client_id` order, users in username order (bytewise).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000; default 100.
    pub limit: Option<usize>,
}

/// `GET /admin/grants` query: filters and paging.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantListQuery {
    pub client_id: Option<String>,
    /// The user's `sub`.
    pub subject: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000; default 100.
    pub limit: Option<usize>,
}

/// `GET /admin/events` query: filters and paging.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Event type, e.g. `grant.revoked`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// Only the events of this grant (its `grant_id`).
    pub grant_id: Option<String>,
    /// RFC 3339: only events at or after this time.
    pub since: Option<String>,
    /// RFC 3339: only events before this time.
    pub until: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 1000; default 100.
    pub limit: Option<usize>,
}

// `Debug` never shows a secret or a password.

impl std::fmt::Debug for ClientView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientView")
            .field("client_id", &self.client_id)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("active", &self.active)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UserCreate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCreate")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("active", &self.active)
            .field("claims", &self.claims)
            .finish()
    }
}

impl std::fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPatch")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("active", &self.active)
            .field("claims", &self.claims)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets_and_passwords() {
        let u = UserCreate {
            username: "bob".into(),
            password: "hunter2-password".into(),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        let p = UserPatch {
            password: Some("hunter2-password".into()),
            ..Default::default()
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn patch_null_clears_optional_keys_and_is_refused_on_required_ones() {
        let p: ClientPatch =
            serde_json::from_str(r#"{"client_name": null, "jwks": null}"#).unwrap();
        assert_eq!(p.client_name, Some(None));
        assert_eq!(p.jwks, Some(None));
        assert_eq!(p.backchannel_logout_uri, None, "absent is not null");
        let p: ClientPatch = serde_json::from_str(r#"{"client_name": "A"}"#).unwrap();
        assert_eq!(p.client_name, Some(Some("A".into())));
        // Serialising gives the same body back.
        let back = serde_json::to_value(ClientPatch {
            client_name: Some(None),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(back, serde_json::json!({"client_name": null}));
        for body in [
            r#"{"redirect_uris": null}"#,
            r#"{"active": null}"#,
            r#"{"refresh_tokens": null}"#,
        ] {
            let e = serde_json::from_str::<ClientPatch>(body).unwrap_err();
            assert!(e.to_string().contains("cannot be null"), "{body}: {e}");
        }
        for body in [r#"{"username": null}"#, r#"{"claims": null}"#] {
            assert!(serde_json::from_str::<UserPatch>(body).is_err(), "{body}");
        }
        let p: UserPatch = serde_json::from_str(r#"{"active": false}"#).unwrap();
        assert_eq!(p.active, Some(false));
    }
}

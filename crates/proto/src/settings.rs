//! The settings shape shared by the config file (`[refresh_tokens]`,
//! `[clients.refresh_tokens]`, `[access_tokens]`) and the admin API. Every field is
//! optional so that the same type describes a full set, an override or a PATCH.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshTokenSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_lifetime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_lifetime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_offline_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_public_clients: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_on_logout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_user_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_claims_on_refresh: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
}

#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
}

#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub refresh_tokens: RefreshTokenSettings,
    #[serde(default)]
    pub access_tokens: AccessTokenSettings,
}

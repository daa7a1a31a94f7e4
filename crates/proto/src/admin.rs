//! Admin API bodies (SPEC §4).

use serde::{Deserialize, Serialize};

/// A page of a list: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A grant as the admin API shows it: never a token value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
}

/// An event of SPEC §5.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
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
    pub details: serde_json::Value,
}

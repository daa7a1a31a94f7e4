//! The body of a webhook delivery (`[[webhooks]]`): one recorded event, in the
//! Standard Webhooks envelope `{type, timestamp, data}`.

use serde::{Deserialize, Serialize};

/// What a webhook receiver is POSTed (`application/json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WebhookMessage {
    /// The event's kind, e.g. `token.reuse_detected`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened, RFC 3339 in UTC.
    pub timestamp: String,
    pub data: WebhookEvent,
}

/// The event as recorded: the same fields as the admin API's event view. Events carry
/// ids, never token values, secrets or passwords.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    /// The event's id (also the `webhook-id` header: stable across retries).
    pub id: String,
    pub kind: String,
    /// RFC 3339 in UTC.
    pub time: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    /// Hex.
    pub grant_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

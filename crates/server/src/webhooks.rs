//! Event hooks (`[[webhooks]]`): recorded events of the kinds a webhook names are
//! POSTed to its URL, signed per Standard Webhooks.
//!
//! Enqueueing is the store's: the webhooks' subscriptions are written to the main store
//! at start-up ([`subscriptions`]), and every event row inserted, by whichever write
//! inserts it, enqueues one outbox item per subscribed webhook in the same transaction.
//! So delivery is at least once from the event's commit, and retried like any outbox
//! delivery ([`crate::outbox`]). Every node must have the same `[[webhooks]]`: the
//! last node started sets the subscriptions, and a node that does not know a webhook
//! counts a failed try for each of its deliveries it claims.
//!
//! A delivery is `POST url` with `content-type: application/json`, the body a
//! [`WebhookMessage`] and the headers `webhook-id` (the event id, the same on every
//! try), `webhook-timestamp` (Unix seconds of the try) and `webhook-signature`:
//! `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key being the
//! bytes of the webhook's `whsec_<base64>` secret.

use crate::config::{Config, WebhookConfig};
use crate::outbound::{host_of, retryable, ConnectError};
use crate::outbox::Attempt;
use crate::state::AppState;
use base64::Engine;
use baton_core::store::{OutboxItem, WebhookSubscription};
use baton_core::time::Timestamp;
use baton_proto::webhook::{WebhookEvent, WebhookMessage};
use serde_json::{json, Value};

/// The subscriptions `[[webhooks]]` asks for (what the store enqueues on).
pub fn subscriptions(cfg: &Config) -> Vec<WebhookSubscription> {
    cfg.webhooks
        .iter()
        .flat_map(|w| {
            w.events.iter().map(|k| WebhookSubscription {
                sink: w.name.clone(),
                kind: k.clone(),
            })
        })
        .collect()
}

/// `webhook-signature`'s value: `v1,` + base64(HMAC-SHA256(key, "{id}.{ts}.{body}")).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&k, format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
    )
}

/// The message for an event as the store enqueued it (the event's columns).
fn message(payload: &Value) -> Option<WebhookMessage> {
    let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
    let time = Timestamp(payload.get("time").and_then(Value::as_i64)?).rfc3339();
    let kind = s("kind")?;
    // SQLite stores details as text and its trigger parses them; a value that was not
    // JSON arrives as a string and is sent as one.
    let details = payload.get("details").cloned().unwrap_or(Value::Null);
    Some(WebhookMessage {
        kind: kind.clone(),
        timestamp: time.clone(),
        data: WebhookEvent {
            id: s("id")?,
            kind,
            time,
            client_id: s("client_id"),
            subject: s("subject"),
            grant_id: s("grant_id"),
            ip: s("ip"),
            user_agent: s("user_agent"),
            details,
        },
    })
}

fn hook<'a>(st: &'a AppState, name: &str) -> Option<&'a WebhookConfig> {
    st.cfg.webhooks.iter().find(|w| w.name == name)
}

/// One try of a webhook delivery the outbox worker claimed.
pub async fn attempt(st: &AppState, item: &OutboxItem) -> Attempt {
    // A node started with an older configuration (a rolling change) may not know the
    // webhook yet: a failed try, so that a node that knows it delivers it.
    let Some(hook) = hook(st, &item.target) else {
        return Attempt::Retry(
            json!({"error": format!("no webhook `{}` is configured on this node", item.target)}),
        );
    };
    let host = host_of(&hook.url);
    let Some(msg) = message(&item.payload) else {
        return Attempt::Fail(json!({"host": host, "error": "the queued event is malformed"}));
    };
    let body = match serde_json::to_string(&msg) {
        Ok(b) => b,
        Err(e) => return Attempt::Fail(json!({"host": host, "error": e.to_string()})),
    };
    let ts = st.clock.now().unix_secs();
    let id = msg.data.id.clone();
    let sig = signature(&hook.secret.0, &id, ts, &body);
    let headers = [
        ("webhook-id", id),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sig),
    ];
    let allow_private = st.cfg.http.allow_private_outbound;
    match crate::outbound::post(&hook.url, "application/json", &headers, body, allow_private).await
    {
        Ok(status) if (200..300).contains(&status) => {
            Attempt::Delivered(json!({"host": host, "status": status}))
        }
        Ok(status) if retryable(status) => Attempt::Retry(json!({"host": host, "status": status})),
        Ok(status) => Attempt::Fail(json!({"host": host, "status": status})),
        Err(ConnectError::Refused(e)) => Attempt::Fail(json!({"host": host, "error": e})),
        Err(ConnectError::Failed(e)) => Attempt::Retry(json!({"host": host, "error": e})),
    }
}

/// A webhook delivery is done. Logged, not recorded as an event: an event about a
/// webhook could itself be sent to that webhook, and so on.
pub fn finished(item: &OutboxItem, last: &Attempt) {
    let event_id = item.payload.get("id").and_then(Value::as_str).unwrap_or("");
    match last {
        Attempt::Delivered(d) => tracing::debug!(
            webhook = %item.target, attempts = item.attempts, details = %d,
            "webhook delivered"
        ),
        Attempt::Retry(d) | Attempt::Fail(d) => tracing::warn!(
            webhook = %item.target, attempts = item.attempts, details = %d,
            event_id,
            "webhook delivery given up"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks test vector (its reference libraries' tests).
    #[test]
    fn signature_matches_the_standard_webhooks_vector() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_message_carries_the_event() {
        let p = json!({"id": "evt_1", "kind": "login.succeeded", "time": 0, "client_id": "web",
            "subject": "alice", "grant_id": null, "ip": "127.0.0.1", "user_agent": "ua",
            "details": {"session_id": "s"}});
        let m = message(&p).unwrap();
        assert_eq!(m.kind, "login.succeeded");
        assert_eq!(m.timestamp, "1970-01-01T00:00:00.000Z");
        assert_eq!(m.data.details, json!({"session_id": "s"}));
        assert_eq!(m.data.grant_id, None);
        assert!(message(&json!({"id": "x"})).is_none());
    }
}

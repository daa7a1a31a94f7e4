//! `[[webhooks]]`: a receiver on 127.0.0.1 that answers 500 first, then 200. Every
//! delivery is signed (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` over `{id}.{timestamp}.{body}` with the `whsec_` key), failed
//! ones are retried with the same id, only subscribed kinds are sent, and no body
//! holds a token.

use super::*;
use baton_testkit::flow::code_flow;
use baton_testkit::{TestServer, WEB};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const KEY: [u8; 32] = [0x5a; 32];

fn b64(bytes: &[u8]) -> String {
    // Standard alphabet with padding, as Standard Webhooks writes keys and signatures.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What a receiver checks: the signature of this hit with the key.
fn signed_ok(hit: &Hit) -> bool {
    let (Some(id), Some(ts), Some(sig)) = (
        hit.header("webhook-id"),
        hit.header("webhook-timestamp"),
        hit.header("webhook-signature"),
    ) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &KEY);
    let want = ring::hmac::sign(&key, format!("{id}.{ts}.{}", hit.body).as_bytes());
    sig.split(' ')
        .any(|s| s == format!("v1,{}", b64(want.as_ref())))
}

fn config(url: &str, secret_file: &std::path::Path, events: &str) -> String {
    format!(
        r#"
[http]
allow_private_outbound = true

[outbox]
first_retry = "200ms"
max_retry = "1s"
max_attempts = 10

[[webhooks]]
name = "siem"
url = "{url}"
events = {events}
secret_file = "{}"

[refresh_tokens]
usage = "one_time"
"#,
        secret_file.display()
    )
}

#[test]
fn the_test_encoder_is_base64() {
    assert_eq!(b64(b"f"), "Zg==");
    assert_eq!(b64(b"fo"), "Zm8=");
    assert_eq!(b64(b"foo"), "Zm9v");
}

#[tokio::test]
async fn events_are_delivered_signed_retried_filtered_and_without_tokens() {
    let hook = Listener::start(500).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("siem.whsec");
    std::fs::write(&secret, format!("whsec_{}\n", b64(&KEY))).unwrap();
    let subscribed = ["login.succeeded", "grant.created", "token.reuse_detected"];
    let s = TestServer::start(&config(
        &hook.url("/hook?src=baton"),
        &secret,
        &format!("{subscribed:?}"),
    ))
    .await;

    let tokens = code_flow(&s, WEB, "openid offline_access").await;
    let t1 = tokens["refresh_token"].as_str().unwrap().to_string();
    let (st, t2) = s.refresh(&t1).await;
    assert_eq!(st, StatusCode::OK, "{t2}");
    // The first delivery is answered 500; from then on the receiver accepts.
    let first = hook.wait_hits(1, WAIT).await;
    assert!(!first.is_empty(), "a webhook delivery arrived");
    hook.set_status(200);
    s.advance(baton_core::time::Dur::secs(31)); // past the grace period
    let (st, v) = s.refresh(&t1).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(s.events("token.reuse_detected").await.len(), 1);

    // Every subscribed event of the log arrives; nothing stays queued.
    let by_id = |hits: &[Hit]| -> BTreeMap<String, Vec<Hit>> {
        let mut m: BTreeMap<String, Vec<Hit>> = BTreeMap::new();
        for h in hits {
            m.entry(h.header("webhook-id").unwrap_or("").to_string())
                .or_default()
                .push(h.clone());
        }
        m
    };
    let mut want_ids = BTreeSet::new();
    for k in subscribed {
        for e in s.events(k).await {
            want_ids.insert(e.id);
        }
    }
    assert_eq!(
        want_ids.len(),
        3,
        "a sign-in, a grant, a reuse: {want_ids:?}"
    );
    let hits = eventually(
        WAIT,
        || async { hook.hits() },
        |h| want_ids.iter().all(|id| by_id(h).contains_key(id)),
    )
    .await;
    let groups = by_id(&hits);
    assert_eq!(
        groups.keys().cloned().collect::<BTreeSet<_>>(),
        want_ids,
        "exactly the subscribed events, each under its event id"
    );
    let pending = eventually(
        WAIT,
        || async { s.state().store.count_pending_outbox().await.unwrap() },
        |n| *n == 0,
    )
    .await;
    assert_eq!(pending, 0, "every delivery done");

    // The one answered 500 was tried again, with the same id and body.
    let first_id = first[0].header("webhook-id").unwrap().to_string();
    let retried = &groups[&first_id];
    assert!(retried.len() >= 2, "retried after the 500: {retried:?}");
    assert_eq!(retried[0].body, retried[1].body);

    let secrets: Vec<String> = ["access_token", "refresh_token", "id_token"]
        .iter()
        .flat_map(|k| [tokens[k].as_str(), t2[k].as_str()])
        .flatten()
        .map(str::to_string)
        .chain([t1.clone()])
        .collect();
    for h in &hits {
        assert!(
            h.request_line.starts_with("POST /hook?src=baton "),
            "{}",
            h.request_line
        );
        assert_eq!(h.header("content-type"), Some("application/json"));
        assert!(signed_ok(h), "a valid signature: {h:?}");
        let ts: i64 = h.header("webhook-timestamp").unwrap().parse().unwrap();
        let now = s.clock.now().unix_secs();
        assert!(
            (now - 120..=now + 5).contains(&ts),
            "timestamp {ts} vs {now}"
        );
        for t in &secrets {
            assert!(
                !h.body.contains(t.as_str()),
                "a token in a webhook body: {}",
                h.body
            );
        }
        let v: Value = serde_json::from_str(&h.body).unwrap();
        let kind = v["type"].as_str().unwrap();
        assert!(subscribed.contains(&kind), "{kind} was not subscribed");
        assert_eq!(v["data"]["kind"], kind);
        assert_eq!(v["data"]["id"], h.header("webhook-id").unwrap());
        assert_eq!(v["timestamp"], v["data"]["time"]);
        // A tampered body fails verification.
        let mut forged = h.clone();
        forged.body = forged.body.replacen(kind, "login.failed", 1);
        assert!(!signed_ok(&forged));
    }
    // The reuse event as the receiver sees it.
    let reuse = hits
        .iter()
        .map(|h| serde_json::from_str::<Value>(&h.body).unwrap())
        .find(|v| v["type"] == "token.reuse_detected")
        .unwrap();
    let d = &reuse["data"];
    assert_eq!(d["client_id"], "web");
    assert!(
        d["subject"].as_str().is_some_and(|s| s.starts_with("u_")),
        "{d}"
    );
    assert_eq!(d["grant_id"].as_str().map(str::len), Some(32), "{d}");
    assert!(d["details"].is_object(), "{d}");
    // Unsubscribed kinds happened, and were not sent.
    assert!(!s.events("consent.granted").await.is_empty());
    assert!(!s.events("grant.revoked").await.is_empty());

    // The cleanup job keeps done deliveries for outbox.retain (7 d), then deletes them.
    let st = s.state();
    let r = baton_server::cleanup::run(st, s.clock.now()).await.unwrap();
    assert_eq!(r.outbox, 0, "kept within retention");
    s.advance(baton_core::time::Dur::secs(8 * 86_400));
    let r = baton_server::cleanup::run(st, s.clock.now()).await.unwrap();
    assert_eq!(
        r.outbox, 3,
        "one delivery per event sent, deleted past retention"
    );
}

#[tokio::test]
async fn unknown_event_names_and_plain_http_urls_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("k.whsec");
    std::fs::write(&secret, format!("whsec_{}", b64(&KEY))).unwrap();
    let file = dir.path().join("baton.toml");
    let bad = [
        (
            format!(
                "[[webhooks]]\nname = \"a\"\nurl = \"https://hooks.example/x\"\nevents = [\"grant.revoke\"]\nsecret_file = \"{}\"\n",
                secret.display()
            ),
            "unknown event kind `grant.revoke`",
        ),
        (
            format!(
                "[[webhooks]]\nname = \"a\"\nurl = \"http://hooks.example/x\"\nevents = [\"*\"]\nsecret_file = \"{}\"\n",
                secret.display()
            ),
            "must be https",
        ),
        (
            "[[webhooks]]\nname = \"a\"\nurl = \"https://hooks.example/x\"\nevents = [\"*\"]\nsecret_env = \"NO_SUCH_VAR_FOR_BATON\"\n".to_string(),
            "NO_SUCH_VAR_FOR_BATON is not set",
        ),
    ];
    for (toml, want) in bad {
        std::fs::write(&file, &toml).unwrap();
        let src = baton_server::config::Sources {
            file: Some(&file),
            env: vec![],
            base_dir: dir.path().to_path_buf(),
        };
        let e = baton_server::config::load(&src, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
        assert!(e.contains("webhooks[0]"), "{e}");
    }
}

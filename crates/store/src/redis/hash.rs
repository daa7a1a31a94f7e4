//! The hash a grant is kept in: what a new grant writes, and the grant read back.

use super::corrupt;
use baton_core::model::{Grant, GrantId, GrantStatus};
use baton_core::scope::Scope;
use baton_core::store::StoreResult;
use baton_core::time::{Dur, Timestamp};
use serde_json::{json, Value};
use std::collections::HashMap;

fn opt_ms(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The hash fields of a new grant.
pub(super) fn encode(g: &Grant, idx: &[String]) -> Vec<(&'static str, String)> {
    let d = json!({
        "client_id": g.client_id,
        "subject": g.subject,
        "scope": g.scope,
        "session_id": g.session_id,
        "online": g.online,
        "auth_time": g.auth_time.0,
        "created_at": g.created_at.0,
        "expires_at": g.expires_at.map(|t| t.0),
        "sliding": g.sliding.map(|d| d.0),
        "rotate": g.rotate,
        "grace": g.grace.0,
        "update_claims": g.update_claims,
        "claims_snapshot": g.claims_snapshot,
        // The field keeps its first name: `cached`, the inverse of `persist`.
        "cached": !g.persist,
    });
    let mut f = vec![
        ("d", d.to_string()),
        ("gen", g.generation.to_string()),
        ("gen_at", g.generation_started_at.0.to_string()),
        ("used", g.last_used_at.0.to_string()),
        ("exp", opt_ms(g.expires_at.map(|t| t.0))),
        ("sl", opt_ms(g.sliding.map(|d| d.0))),
        ("idx", idx.join(" ")),
    ];
    // A field of its own, so that binding an unbound grant is one HSETNX.
    if let Some(res) = crate::codec::resources_to_column(&g.resources) {
        f.push(("res", res));
    }
    if let Some(jkt) = &g.dpop_jkt {
        f.push(("jkt", jkt.clone()));
    }
    match &g.status {
        GrantStatus::Active => f.push(("st", "a".into())),
        GrantStatus::Revoked { at, reason } => {
            f.push(("st", "r".into()));
            f.push(("rev_at", at.0.to_string()));
            f.push(("rev_reason", reason.clone()));
        }
    }
    f
}

pub(super) fn decode(id: GrantId, m: &HashMap<String, String>) -> StoreResult<Grant> {
    let num = |k: &str| -> StoreResult<i64> {
        m.get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(corrupt)
    };
    let d: Value = m
        .get("d")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(corrupt)?;
    let s =
        |k: &str| -> StoreResult<String> { d[k].as_str().map(str::to_string).ok_or_else(corrupt) };
    let i = |k: &str| -> StoreResult<i64> { d[k].as_i64().ok_or_else(corrupt) };
    let b = |k: &str| -> StoreResult<bool> { d[k].as_bool().ok_or_else(corrupt) };
    let status = match m.get("st").map(String::as_str) {
        Some("a") => GrantStatus::Active,
        Some("r") => GrantStatus::Revoked {
            at: Timestamp(num("rev_at")?),
            reason: m.get("rev_reason").cloned().unwrap_or_default(),
        },
        _ => return Err(corrupt()),
    };
    let generation = m
        .get("gen")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(corrupt)?;
    Ok(Grant {
        id,
        client_id: s("client_id")?,
        subject: s("subject")?,
        scope: Scope::from_stored(s("scope")?),
        session_id: d["session_id"].as_str().map(str::to_string),
        online: b("online")?,
        auth_time: Timestamp(i("auth_time")?),
        created_at: Timestamp(i("created_at")?),
        expires_at: d["expires_at"].as_i64().map(Timestamp),
        sliding: d["sliding"].as_i64().map(Dur),
        last_used_at: Timestamp(num("used")?),
        generation,
        generation_started_at: Timestamp(num("gen_at")?),
        rotate: b("rotate")?,
        grace: Dur(i("grace")?),
        update_claims: b("update_claims")?,
        claims_snapshot: d["claims_snapshot"].as_str().map(str::to_string),
        dpop_jkt: m.get("jkt").cloned(),
        resources: crate::codec::resources_from_column(m.get("res").cloned()),
        persist: !b("cached")?,
        status,
    })
}

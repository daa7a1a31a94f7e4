use super::*;
use baton_core::model::GrantId;
use baton_core::scope::Scope;
use serde_json::json;

const T0: Timestamp = Timestamp(1_800_000_000_000);
const ID: GrantId = GrantId([9; 16]);

fn at(secs: i64) -> Timestamp {
    T0.plus(Dur::secs(secs))
}

fn grant() -> Grant {
    Grant {
        id: ID,
        client_id: "spa".into(),
        subject: "u_1".into(),
        scope: Scope::parse("openid offline_access").unwrap(),
        session_id: Some("sid1".into()),
        online: false,
        auth_time: T0,
        created_at: T0,
        expires_at: Some(at(86_400)),
        sliding: None,
        last_used_at: T0,
        generation: 1,
        generation_started_at: T0,
        rotate: true,
        grace: Dur::secs(15),
        update_claims: true,
        claims_snapshot: None,
        persist: true,
        status: GrantStatus::Active,
        dpop_jkt: None,
        resources: vec![],
    }
}

fn ev(id: &str, kind: EventKind, t: Timestamp, details: Value) -> Event {
    Event {
        id: id.into(),
        kind: kind.as_str().into(),
        time: t,
        client_id: Some("spa".into()),
        subject: Some("u_1".into()),
        grant_id: Some(ID),
        ip: None,
        user_agent: None,
        details,
    }
}

fn created() -> Event {
    ev(
        "evt_1",
        EventKind::GrantCreated,
        T0,
        json!({"grant_type": "authorization_code", "session_id": "sid1",
               "scope": "openid offline_access", "rotate": true, "persist": true,
               "online": false, "resources": ["https://api.example"], "dpop_bound": true}),
    )
}

fn kinds(es: &[Entry]) -> Vec<&'static str> {
    es.iter()
        .map(|e| match e.what {
            What::Created { .. } => "created",
            What::Rotated { .. } => "rotated",
            What::LastUsed => "last_used",
            What::ReuseDetected { .. } => "reuse",
            What::ClientMismatch { .. } => "mismatch",
            What::DpopRefused { .. } => "dpop",
            What::Revoked { .. } => "revoked",
            What::Expired { .. } => "expired",
            What::Expires => "expires",
            What::Other { .. } => "other",
        })
        .collect()
}

#[test]
fn creation_is_read_from_its_event() {
    let es = build(Some(&grant()), &[created()], at(10));
    assert_eq!(kinds(&es), ["created", "expires"]);
    assert_eq!(
        es[0],
        Entry {
            time: T0,
            what: What::Created {
                grant_type: Some("authorization_code".into()),
                session_id: Some("sid1".into()),
                scope: "openid offline_access".into(),
                resources: vec!["https://api.example".into()],
                rotate: true,
                persist: true,
                online: false,
                dpop_bound: true,
            },
            event_id: Some("evt_1".into()),
        }
    );
    assert_eq!(es[1].time, at(86_400), "the absolute expiry is ahead");
}

#[test]
fn without_its_event_creation_comes_from_the_row() {
    let es = build(Some(&grant()), &[], at(10));
    match &es[0].what {
        What::Created {
            grant_type,
            session_id,
            scope,
            ..
        } => {
            assert_eq!(grant_type, &None, "the row does not say how");
            assert_eq!(session_id.as_deref(), Some("sid1"));
            assert_eq!(scope, "openid offline_access");
        }
        w => panic!("first entry {w:?}"),
    }
    assert_eq!(es[0].event_id, None);
}

#[test]
fn rotations_come_from_the_row_with_their_grace_window() {
    let g = Grant {
        generation: 4,
        generation_started_at: at(300),
        last_used_at: at(300),
        ..grant()
    };
    let es = build(Some(&g), &[created()], at(400));
    assert_eq!(kinds(&es), ["created", "rotated", "expires"]);
    assert_eq!(es[1].time, at(300));
    assert_eq!(
        es[1].what,
        What::Rotated {
            generation: 4,
            rotations: 3,
            grace_until: Some(at(315)),
        }
    );
    let no_grace = Grant {
        grace: Dur(0),
        ..g.clone()
    };
    assert!(matches!(
        build(Some(&no_grace), &[], at(400))[1].what,
        What::Rotated {
            grace_until: None,
            ..
        }
    ));
    // A grant never rotated (reuse mode) shows its last use instead.
    let reused = Grant {
        rotate: false,
        last_used_at: at(500),
        ..grant()
    };
    let es = build(Some(&reused), &[], at(600));
    assert_eq!(kinds(&es), ["created", "last_used", "expires"]);
    assert_eq!(es[1].time, at(500));
}

#[test]
fn reuse_is_shown_before_the_revocation_it_caused() {
    let g = Grant {
        generation: 2,
        generation_started_at: at(60),
        last_used_at: at(60),
        status: GrantStatus::Revoked {
            at: at(120),
            reason: "reuse_detected".into(),
        },
        ..grant()
    };
    // Committed in one transaction: the same millisecond; the revocation's id sorts
    // first here on purpose.
    let reuse = ev(
        "evt_9",
        EventKind::TokenReuseDetected,
        at(120),
        json!({"generation_presented": 1, "generation_current": 2, "reaction": "revoke_grant",
               "reaction_applied": true, "reaction_completed": false, "grant_status": "active"}),
    );
    let revoked = ev(
        "evt_8",
        EventKind::GrantRevoked,
        at(120),
        json!({"reason": "reuse_detected"}),
    );
    let es = build(Some(&g), &[revoked, reuse, created()], at(200));
    assert_eq!(kinds(&es), ["created", "rotated", "reuse", "revoked"]);
    assert_eq!(
        es[2].what,
        What::ReuseDetected {
            presented: Some(1),
            current: Some(2),
            reaction: "revoke_grant".into(),
            applied: true,
            completed: false,
        }
    );
    assert!(es[2].what.is_reuse());
    assert!(!es[3].what.is_reuse());
    assert_eq!(
        es[3].what,
        What::Revoked {
            reason: "reuse_detected".into()
        }
    );
    assert_eq!(
        es[3].event_id.as_deref(),
        Some("evt_8"),
        "the event, not the row"
    );
    assert_eq!(
        es.len(),
        4,
        "the row's revocation is not repeated; no expiry once revoked"
    );
}

#[test]
fn a_revocation_without_its_event_comes_from_the_row() {
    let g = Grant {
        status: GrantStatus::Revoked {
            at: at(50),
            reason: "admin".into(),
        },
        ..grant()
    };
    let es = build(Some(&g), &[created()], at(60));
    assert_eq!(kinds(&es), ["created", "revoked"]);
    assert_eq!(es[1].time, at(50));
    assert_eq!(es[1].event_id, None);
}

#[test]
fn an_expired_grant_still_stored_says_which_lifetime_ran_out() {
    let sliding = Grant {
        sliding: Some(Dur::secs(100)),
        last_used_at: at(20),
        ..grant()
    };
    let es = build(Some(&sliding), &[created()], at(1_000));
    assert_eq!(kinds(&es), ["created", "last_used", "expired"]);
    assert_eq!(es[2].time, at(120));
    assert_eq!(
        es[2].what,
        What::Expired {
            lifetime: Some("sliding".into()),
            removed: false
        }
    );
    let absolute = build(Some(&grant()), &[], at(90_000));
    assert_eq!(
        absolute.last().map(|e| (&e.what, e.time)),
        Some((
            &What::Expired {
                lifetime: Some("absolute".into()),
                removed: false
            },
            at(86_400)
        ))
    );
    let forever = Grant {
        expires_at: None,
        ..grant()
    };
    assert_eq!(kinds(&build(Some(&forever), &[], at(10))), ["created"]);
}

#[test]
fn a_removed_grant_is_told_by_its_events_alone() {
    let expired = ev(
        "evt_5",
        EventKind::GrantExpired,
        at(90_000),
        json!({"expired_at": at(86_400).0, "lifetime": "absolute"}),
    );
    let mismatch = ev(
        "evt_3",
        EventKind::TokenClientMismatch,
        at(30),
        json!({"presented_by": "other", "issued_to": "spa"}),
    );
    let dpop = ev(
        "evt_4",
        EventKind::DpopProofRefused,
        at(40),
        json!({"reason": "key_mismatch", "endpoint": "token"}),
    );
    let es = build(None, &[expired, dpop, mismatch, created()], at(100_000));
    assert_eq!(kinds(&es), ["created", "mismatch", "dpop", "expired"]);
    assert_eq!(
        es[1].what,
        What::ClientMismatch {
            presented_by: Some("other".into())
        }
    );
    assert_eq!(
        es[2].what,
        What::DpopRefused {
            reason: Some("key_mismatch".into())
        }
    );
    assert_eq!(
        es[3].what,
        What::Expired {
            lifetime: Some("absolute".into()),
            removed: true
        }
    );
}

#[test]
fn other_events_are_kept_by_type() {
    let e = ev("evt_2", EventKind::SessionEnded, at(5), json!({}));
    let es = build(None, &[e], at(10));
    assert_eq!(
        es[0].what,
        What::Other {
            kind: "session.ended".into()
        }
    );
}

#[test]
fn reasons_read_as_sentences() {
    assert_eq!(
        reason_text("admin"),
        "by an administrator (admin API, CLI or console)"
    );
    assert_eq!(
        reason_text("session_ended:logout"),
        "when its browser session ended (logout)"
    );
    assert_eq!(reason_text("something_new"), "reason `something_new`");
}

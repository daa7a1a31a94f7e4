//! Authorization codes: the `CodeStore` role.

use super::T0;
use baton_core::model::{AuthCode, CodeUse, GrantId};
use baton_core::store::Store;
use baton_core::time::Dur;
use std::sync::Arc;

/// Codes are consumed exactly once; a replay sees the first use; expired codes are
/// purged ten minutes after their expiry.
pub(super) async fn code_records(s: Arc<dyn Store>) {
    let code = AuthCode {
        resources: Default::default(),
        digest: [3; 32],
        client_id: "web".into(),
        redirect_uri: "https://a.example/cb".into(),
        scope: baton_core::scope::Scope::parse("openid").unwrap(),
        subject: "u_1".into(),
        session_id: "sess".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        dpop_jkt: Some(super::JKT.into()),
        auth_time: T0,
        expires_at: T0.plus(Dur::secs(60)),
        used: None,
    };
    s.insert_code(&code).await.unwrap();
    assert_eq!(s.get_code(&[3; 32]).await.unwrap().as_ref(), Some(&code));
    let use1 = CodeUse {
        at: T0,
        grant_id: Some(GrantId([1; 16])),
        access_jti: Some("j1".into()),
        access_exp: Some(T0),
    };
    let first = s.consume_code(&[3; 32], &use1).await.unwrap().unwrap();
    assert!(first.used.is_none());
    let second = s
        .consume_code(
            &[3; 32],
            &CodeUse {
                at: T0,
                grant_id: None,
                access_jti: None,
                access_exp: None,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        second.used,
        Some(use1),
        "a replay sees what the first use issued"
    );
    assert!(s
        .consume_code(
            &[4; 32],
            &CodeUse {
                at: T0,
                grant_id: None,
                access_jti: None,
                access_exp: None
            }
        )
        .await
        .unwrap()
        .is_none());

    let purged = s
        .purge_expired(T0.plus(Dur::secs(60 + 601)), 100)
        .await
        .unwrap();
    assert_eq!(purged, 1, "the code, ten minutes after its expiry");
}

/// Of many concurrent exchanges of one code exactly one sees it unused, and every
/// other sees what that one recorded.
pub(super) async fn code_race(s: Arc<dyn Store>) {
    let code = AuthCode {
        resources: Default::default(),
        digest: [8; 32],
        client_id: "web".into(),
        redirect_uri: "https://a.example/cb".into(),
        scope: baton_core::scope::Scope::parse("openid").unwrap(),
        subject: "u_1".into(),
        session_id: "sess".into(),
        nonce: None,
        code_challenge: None,
        dpop_jkt: None,
        auth_time: T0,
        expires_at: T0.plus(Dur::secs(60)),
        used: None,
    };
    s.insert_code(&code).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let u = CodeUse {
                at: T0,
                grant_id: Some(GrantId([i; 16])),
                access_jti: Some(format!("j{i}")),
                access_exp: None,
            };
            (
                u.clone(),
                s.consume_code(&[8; 32], &u).await.unwrap().unwrap(),
            )
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let winners: Vec<&CodeUse> = results
        .iter()
        .filter(|(_, prev)| prev.used.is_none())
        .map(|(u, _)| u)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one first use");
    for (_, prev) in results.iter().filter(|(_, prev)| prev.used.is_some()) {
        assert_eq!(
            prev.used.as_ref(),
            Some(winners[0]),
            "every replay sees the first use"
        );
    }
    assert_eq!(
        s.get_code(&[8; 32]).await.unwrap().unwrap().used.as_ref(),
        Some(winners[0])
    );
}

//! Reference tokens and revoked JWT ids: the `ReferenceTokenStore` role.

use super::T0;
use baton_core::model::ReferenceToken;
use baton_core::store::Store;
use baton_core::time::Dur;
use std::sync::Arc;

/// Revoked JWT ids and reference tokens; purge drops the expired ones.
pub(super) async fn token_records(s: Arc<dyn Store>) {
    assert!(
        s.revoke_jti("jti-1", T0.plus(Dur::secs(10))).await.unwrap(),
        "first record"
    );
    assert!(
        !s.revoke_jti("jti-1", T0.plus(Dur::secs(10))).await.unwrap(),
        "already there"
    );
    assert!(s.is_jti_revoked("jti-1").await.unwrap());
    assert!(!s.is_jti_revoked("jti-2").await.unwrap());
    let rt = ReferenceToken {
        audience: Default::default(),
        digest: [5; 32],
        jti: "r1".into(),
        client_id: "web".into(),
        subject: Some("u_1".into()),
        scope: "openid".into(),
        grant_id: None,
        session_id: None,
        auth_time: Some(T0),
        issued_at: T0,
        expires_at: T0.plus(Dur::secs(10)),
        revoked: false,
        dpop_jkt: Some(super::JKT.into()),
    };
    s.insert_reference_token(&rt).await.unwrap();
    assert_eq!(
        s.get_reference_token(&[5; 32]).await.unwrap().as_ref(),
        Some(&rt)
    );
    assert!(s.revoke_reference_token(&[5; 32]).await.unwrap());
    assert!(
        s.get_reference_token(&[5; 32])
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    let purged = s.purge_expired(T0.plus(Dur::secs(11)), 100).await.unwrap();
    assert_eq!(purged, 2, "the revoked jti and the reference token");
    assert!(!s.is_jti_revoked("jti-1").await.unwrap());
}

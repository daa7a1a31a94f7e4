//! Sessions: the `SessionStore` role.

use super::T0;
use baton_core::model::Session;
use baton_core::store::Store;
use baton_core::time::Dur;
use std::sync::Arc;

/// Sessions end once; expired ones are listed, live ones per user.
pub(super) async fn session_records(s: Arc<dyn Store>) {
    let sess = Session {
        id: "sess".into(),
        subject: "u_1".into(),
        auth_time: T0,
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0.plus(Dur::secs(60)),
        ended_at: None,
    };
    s.insert_session(&sess).await.unwrap();
    assert!(s.list_expired_sessions(T0, 10).await.unwrap().is_empty());
    assert_eq!(
        s.list_expired_sessions(T0.plus(Dur::secs(61)), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.list_live_sessions("u_1", T0).await.unwrap().len(), 1);
    assert!(
        s.list_live_sessions("u_1", T0.plus(Dur::secs(61)))
            .await
            .unwrap()
            .is_empty(),
        "expired"
    );
    assert!(s.list_live_sessions("u_2", T0).await.unwrap().is_empty());
    assert!(s
        .end_session("sess", T0.plus(Dur::secs(1)))
        .await
        .unwrap()
        .is_some());
    assert!(
        s.end_session("sess", T0.plus(Dur::secs(2)))
            .await
            .unwrap()
            .is_none(),
        "ends once"
    );
    assert!(!s
        .get_session("sess")
        .await
        .unwrap()
        .unwrap()
        .is_live(T0.plus(Dur::secs(3))));
}

/// The clients recorded for a session (back-channel logout): each once, sorted, per
/// session.
pub(super) async fn session_clients(s: Arc<dyn Store>) {
    s.add_session_client("sess", "web").await.unwrap();
    s.add_session_client("sess", "app").await.unwrap();
    s.add_session_client("sess", "web").await.unwrap();
    s.add_session_client("other", "x").await.unwrap();
    assert_eq!(
        s.list_session_clients("sess").await.unwrap(),
        vec!["app", "web"]
    );
    assert!(s.list_session_clients("none").await.unwrap().is_empty());
}

//! A refresh's reads at once: the `RecordsStore` role.

use super::{client, event, grant, T0};
use baton_core::model::{ManagedBy, User};
use baton_core::store::{RequestRecords, Store};
use std::sync::Arc;

/// Each record is what its own lookup answers: the client by id, the grant by id and
/// the grant's user; any of them may be missing without hiding the others.
pub(super) async fn request_records(s: Arc<dyn Store>) {
    let c = client("web");
    s.upsert_client(&c).await.unwrap();
    let mut u = User {
        sub: "u_rec".into(),
        username: "rec".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        roles: vec!["admin".into()],
        groups: vec!["ops".into()],
        // Read back through the records statement too.
        admin: true,
        created_at: T0,
        managed_by: ManagedBy::Api,
    };
    u.claims.insert("email".into(), "rec@example.com".into());
    s.upsert_user(&u).await.unwrap();
    let mut g = grant("web", "u_rec", Some("sid-1"), T0);
    g.resources = vec!["urn:example:api".into()];
    s.insert_grant(&g, event("grant.created", T0, Some("web"), Some("u_rec")))
        .await
        .unwrap();
    let all = s.request_records("web", Some(g.id)).await.unwrap();
    assert_eq!(all.client, s.get_client("web").await.unwrap());
    assert_eq!(all.grant, s.get_grant(g.id).await.unwrap());
    assert_eq!(all.user.as_ref(), Some(&u));
    assert_eq!(all.grant.as_ref().map(|g| &g.resources), Some(&g.resources));

    // No grant asked: the client alone.
    let r = s.request_records("web", None).await.unwrap();
    assert_eq!((r.client.is_some(), r.grant, r.user), (true, None, None));
    // Unknown client, known grant: the grant and its user still.
    let r = s.request_records("nobody", Some(g.id)).await.unwrap();
    assert!(r.client.is_none() && r.grant.is_some() && r.user.is_some());
    // A grant whose user is gone.
    let orphan = grant("web", "u_gone", None, T0);
    s.insert_grant(
        &orphan,
        event("grant.created", T0, Some("web"), Some("u_gone")),
    )
    .await
    .unwrap();
    let r = s.request_records("web", Some(orphan.id)).await.unwrap();
    assert_eq!(r.grant.map(|g| g.id), Some(orphan.id));
    assert!(r.user.is_none() && r.client.is_some());
    // Nothing at all.
    let unknown = grant("x", "y", None, T0).id;
    assert_eq!(
        s.request_records("nobody", Some(unknown)).await.unwrap(),
        RequestRecords::default()
    );
}

//! Users: the `UserStore` role.

use super::T0;
use baton_core::model::User;
use baton_core::store::Store;
use std::sync::Arc;

/// Users: by name and by sub; a rename keeps the sub; usernames are unique.
pub(super) async fn user_records(s: Arc<dyn Store>) {
    let mut u = User {
        sub: "u_1".into(),
        username: "alice".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        created_at: T0,
    };
    u.claims.insert("email".into(), "a@example.com".into());
    s.upsert_user(&u).await.unwrap();
    assert_eq!(s.get_user("alice").await.unwrap().as_ref(), Some(&u));
    u.username = "alice2".into();
    s.upsert_user(&u).await.unwrap();
    assert!(s.get_user("alice").await.unwrap().is_none());
    assert_eq!(
        s.get_user_by_sub("u_1").await.unwrap().unwrap().username,
        "alice2"
    );
    let clash = User {
        sub: "u_2".into(),
        ..u.clone()
    };
    assert!(s.upsert_user(&clash).await.is_err(), "usernames are unique");
}

//! Users: the `UserStore` role.

use super::T0;
use baton_core::model::{ManagedBy, User};
use baton_core::store::Store;
use std::sync::Arc;

/// Users: by name and by sub; a rename keeps the sub; usernames are unique.
pub(super) async fn user_records(s: Arc<dyn Store>) {
    let mut u = User {
        groups: Default::default(),
        roles: Default::default(),
        sub: "u_1".into(),
        username: "alice".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        admin: false,
        created_at: T0,
        managed_by: baton_core::model::ManagedBy::Config,
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
    // Who manages it follows the latest upsert.
    assert_eq!(
        s.get_user("alice2").await.unwrap().unwrap().managed_by,
        ManagedBy::Config
    );
    u.managed_by = ManagedBy::Api;
    s.upsert_user(&u).await.unwrap();
    assert_eq!(s.get_user_by_sub("u_1").await.unwrap().as_ref(), Some(&u));
}

/// A user's roles and groups round-trip in order (repeats are the validator's to
/// drop, not the store's); an upsert replaces them, emptying them too; a page of users
/// carries them.
pub(super) async fn user_roles_groups(s: Arc<dyn Store>) {
    let mut u = User {
        roles: vec!["admin".into(), "accountant".into(), "Read Only".into()],
        groups: vec!["finance".into(), "\u{e9}quipe-2".into()],
        sub: "u_1".into(),
        username: "alice".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        admin: false,
        created_at: T0,
        managed_by: ManagedBy::Api,
    };
    s.upsert_user(&u).await.unwrap();
    assert_eq!(s.get_user("alice").await.unwrap().as_ref(), Some(&u));
    assert_eq!(s.get_user_by_sub("u_1").await.unwrap().as_ref(), Some(&u));
    assert_eq!(s.list_users_page(None, 10).await.unwrap(), vec![u.clone()]);
    u.roles = vec!["accountant".into()];
    u.groups = vec![];
    s.upsert_user(&u).await.unwrap();
    let back = s.get_user("alice").await.unwrap().unwrap();
    assert_eq!((back.roles, back.groups), (u.roles.clone(), vec![]));
    let none = User {
        sub: "u_2".into(),
        username: "bob".into(),
        roles: vec![],
        ..u.clone()
    };
    s.upsert_user(&none).await.unwrap();
    let back = s.get_user("bob").await.unwrap().unwrap();
    assert!(back.roles.is_empty() && back.groups.is_empty(), "{back:?}");
    assert_eq!(s.list_users().await.unwrap().len(), 2);
    assert!(s.delete_user("alice").await.unwrap());
    assert!(s.delete_user("bob").await.unwrap());
}

/// Pages of users: bytewise username order, `after` excluded, at most `limit`.
pub(super) async fn user_pages(s: Arc<dyn Store>) {
    let names = ["Zed", "amy", "amy.b", "bob", "carol", "dave", "\u{e9}lise"];
    for (i, name) in names.iter().enumerate() {
        let u = User {
            groups: Default::default(),
            roles: Default::default(),
            sub: format!("u_{i}"),
            username: (*name).into(),
            password_hash: "$argon2id$x".into(),
            active: true,
            claims: serde_json::Map::new(),
            admin: false,
            created_at: T0,
            managed_by: ManagedBy::Api,
        };
        s.upsert_user(&u).await.unwrap();
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_users_page(after.as_deref(), 3).await.unwrap();
        walked.extend(page.iter().map(|u| u.username.clone()));
        if page.len() < 3 {
            break;
        }
        after = page.last().map(|u| u.username.clone());
    }
    assert_eq!(walked, sorted);
    let all = s.list_users().await.unwrap();
    assert_eq!(all.len(), names.len());
    for name in names {
        assert!(s.delete_user(name).await.unwrap());
    }
}

/// The `admin` attribute round-trips (get, by sub, a page, the refresh's records read)
/// and `any_admin` follows it: false with no users or none marked, true while one is
/// (disabled or not), false again once it is cleared or the user deleted.
pub(super) async fn user_admin(s: Arc<dyn Store>) {
    assert!(!s.any_admin().await.unwrap(), "no users, no admin");
    let mut u = User {
        groups: Default::default(),
        roles: Default::default(),
        sub: "u_adm".into(),
        username: "root".into(),
        password_hash: "$argon2id$x".into(),
        active: true,
        claims: serde_json::Map::new(),
        admin: false,
        created_at: T0,
        managed_by: ManagedBy::Api,
    };
    s.upsert_user(&u).await.unwrap();
    assert!(!s.any_admin().await.unwrap(), "a user without admin");
    assert!(!s.get_user("root").await.unwrap().unwrap().admin);
    u.admin = true;
    u.active = false;
    s.upsert_user(&u).await.unwrap();
    assert_eq!(s.get_user("root").await.unwrap().as_ref(), Some(&u));
    assert_eq!(s.get_user_by_sub("u_adm").await.unwrap().as_ref(), Some(&u));
    assert_eq!(s.list_users_page(None, 10).await.unwrap(), vec![u.clone()]);
    assert!(
        s.any_admin().await.unwrap(),
        "a disabled admin still counts"
    );
    u.admin = false;
    s.upsert_user(&u).await.unwrap();
    assert!(!s.get_user("root").await.unwrap().unwrap().admin);
    assert!(!s.any_admin().await.unwrap(), "cleared");
    u.admin = true;
    s.upsert_user(&u).await.unwrap();
    assert!(s.any_admin().await.unwrap());
    assert!(s.delete_user("root").await.unwrap());
    assert!(!s.any_admin().await.unwrap(), "deleted");
}

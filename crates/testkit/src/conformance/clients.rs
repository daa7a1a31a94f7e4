//! Clients: the `ClientStore` role.

use super::{client, T0};
use baton_core::store::Store;
use baton_core::time::Dur;
use std::sync::Arc;

/// Clients round-trip, refresh overrides included; an id is taken once.
pub(super) async fn client_records(s: Arc<dyn Store>) {
    let c = client("web");
    s.insert_client(&c).await.unwrap();
    assert!(
        matches!(
            s.insert_client(&c).await,
            Err(baton_core::error::StoreError::Conflict(_))
        ),
        "insert refuses a taken id"
    );
    s.upsert_client(&c).await.unwrap();
    assert_eq!(s.get_client("web").await.unwrap().as_ref(), Some(&c));
    let mut c2 = c.clone();
    c2.active = false;
    s.upsert_client(&c2).await.unwrap();
    assert!(!s.get_client("web").await.unwrap().unwrap().active);
    assert_eq!(s.list_clients().await.unwrap().len(), 1);
    assert!(s.delete_client("web").await.unwrap());
    assert!(!s.delete_client("web").await.unwrap());
}

/// `update_client` replaces an existing client (its creation time stays) and answers
/// whether there was one: updating a missing (or deleted) client writes nothing, so an
/// update racing a delete cannot bring the client back.
pub(super) async fn client_update(s: Arc<dyn Store>) {
    let c = client("web");
    assert!(!s.update_client(&c).await.unwrap(), "no such client");
    assert_eq!(s.get_client("web").await.unwrap(), None, "nothing created");
    assert!(s.list_clients().await.unwrap().is_empty());

    s.insert_client(&c).await.unwrap();
    let mut changed = c.clone();
    changed.client_name = Some("Renamed".into());
    changed.redirect_uris = vec!["https://b.example/cb".into()];
    changed.created_at = T0.plus(Dur::secs(99));
    assert!(s.update_client(&changed).await.unwrap());
    let back = s.get_client("web").await.unwrap().unwrap();
    assert_eq!(back.client_name.as_deref(), Some("Renamed"));
    assert_eq!(back.redirect_uris, changed.redirect_uris);
    assert_eq!(back.created_at, T0, "the creation time stays");

    assert!(s.delete_client("web").await.unwrap());
    assert!(!s.update_client(&changed).await.unwrap(), "deleted");
    assert_eq!(s.get_client("web").await.unwrap(), None, "not resurrected");
}

/// A client's CORS origins round-trip in order; an update replaces the list (emptying
/// it too); a client without any reads back with an empty list.
pub(super) async fn client_origins(s: Arc<dyn Store>) {
    let mut c = client("spa");
    c.allowed_origins = vec!["https://spa.example".into(), "http://localhost:3000".into()];
    s.insert_client(&c).await.unwrap();
    let back = s.get_client("spa").await.unwrap().unwrap();
    assert_eq!(back.allowed_origins, c.allowed_origins);
    let listed = s.list_clients().await.unwrap();
    assert_eq!(listed[0].allowed_origins, c.allowed_origins);
    c.allowed_origins = vec![];
    assert!(s.update_client(&c).await.unwrap());
    let back = s.get_client("spa").await.unwrap().unwrap();
    assert!(back.allowed_origins.is_empty());
    assert!(s.delete_client("spa").await.unwrap());
}

/// Who manages a client round-trips; an upsert sets it, an update keeps it.
pub(super) async fn client_managed_by(s: Arc<dyn Store>) {
    use baton_core::model::ManagedBy;
    let mut c = client("web");
    c.managed_by = ManagedBy::Config;
    s.upsert_client(&c).await.unwrap();
    assert_eq!(
        s.get_client("web").await.unwrap().unwrap().managed_by,
        ManagedBy::Config
    );
    let mut api = c.clone();
    api.managed_by = ManagedBy::Api;
    api.client_name = Some("Changed".into());
    assert!(s.update_client(&api).await.unwrap());
    let back = s.get_client("web").await.unwrap().unwrap();
    assert_eq!(back.client_name.as_deref(), Some("Changed"));
    assert_eq!(back.managed_by, ManagedBy::Config, "an update keeps it");
    s.upsert_client(&api).await.unwrap();
    assert_eq!(
        s.get_client("web").await.unwrap().unwrap().managed_by,
        ManagedBy::Api
    );
    assert_eq!(
        s.list_clients().await.unwrap()[0].managed_by,
        ManagedBy::Api
    );
    let mut other = client("other");
    other.managed_by = ManagedBy::Config;
    s.insert_client(&other).await.unwrap();
    let page = s.list_clients_page(None, 10).await.unwrap();
    assert_eq!(page[1].managed_by, ManagedBy::Api);
    assert_eq!(page[0].managed_by, ManagedBy::Config);
    assert!(s.delete_client("web").await.unwrap());
    assert!(s.delete_client("other").await.unwrap());
}

/// Pages of clients: bytewise `client_id` order, `after` excluded, at most `limit`.
pub(super) async fn client_pages(s: Arc<dyn Store>) {
    // Bytewise: upper case before lower case, `-` before digits.
    let ids = ["B", "a", "a-1", "a1", "b", "\u{e9}t\u{e9}"];
    for id in ids {
        s.insert_client(&client(id)).await.unwrap();
    }
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_clients_page(after.as_deref(), 4).await.unwrap();
        assert!(page.len() <= 4);
        walked.extend(page.iter().map(|c| c.client_id.clone()));
        if page.len() < 4 {
            break;
        }
        after = page.last().map(|c| c.client_id.clone());
    }
    assert_eq!(walked, sorted);
    let two = s.list_clients_page(Some("a"), 2).await.unwrap();
    let two: Vec<&str> = two.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(two, ["a-1", "a1"]);
    assert!(s
        .list_clients_page(Some("\u{10ffff}"), 5)
        .await
        .unwrap()
        .is_empty());
    for id in ids {
        assert!(s.delete_client(id).await.unwrap());
    }
}

/// A client's resources and claim mapping round-trip in order (insert, update, page);
/// an update replaces them, emptying them too.
pub(super) async fn client_apis(s: Arc<dyn Store>) {
    let mut c = client("rs");
    c.apis = baton_core::model::ClientApis {
        resources: vec![
            "urn:example:orders".into(),
            "https://api.example.com/invoices".into(),
        ],
        default_resource: Some("https://api.example.com/invoices".into()),
        introspect_resources: vec!["urn:example:orders".into()],
        id_token_claims: vec!["roles".into(), "department".into()],
        userinfo_claims: vec!["groups".into()],
        access_token_claims: vec!["roles".into()],
    };
    s.insert_client(&c).await.unwrap();
    assert_eq!(s.get_client("rs").await.unwrap().as_ref(), Some(&c));
    assert_eq!(s.list_clients_page(None, 5).await.unwrap(), vec![c.clone()]);
    c.apis.default_resource = None;
    c.apis.resources = vec![];
    c.apis.userinfo_claims = vec![];
    assert!(s.update_client(&c).await.unwrap());
    let back = s.get_client("rs").await.unwrap().unwrap();
    assert_eq!(back.apis, c.apis);
    assert!(s.delete_client("rs").await.unwrap());
}

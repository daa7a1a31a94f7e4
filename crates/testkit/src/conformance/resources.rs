//! Resources (APIs): the `ResourceStore` role.

use super::T0;
use baton_core::error::StoreError;
use baton_core::model::{ManagedBy, Resource, SigAlg, TokenFormat};
use baton_core::store::Store;
use baton_core::time::Dur;
use std::sync::Arc;

fn resource(id: &str) -> Resource {
    Resource {
        identifier: id.into(),
        name: Some("Invoices".into()),
        scopes: vec!["invoices.write".into(), "invoices.read".into()],
        scope_descriptions: [("invoices.read".to_string(), "see your invoices".to_string())]
            .into_iter()
            .collect(),
        access_token_format: Some(TokenFormat::Reference),
        access_token_lifetime: Some(Dur::secs(300)),
        signing_alg: Some(SigAlg::EdDSA),
        claims: vec!["roles".into(), "department".into()],
        active: true,
        created_at: T0,
        managed_by: ManagedBy::Api,
    }
}

/// A resource with only its identifier: every optional key absent, no scopes.
fn bare(id: &str) -> Resource {
    Resource {
        identifier: id.into(),
        name: None,
        scopes: vec![],
        scope_descriptions: Default::default(),
        access_token_format: None,
        access_token_lifetime: None,
        signing_alg: None,
        claims: vec![],
        active: false,
        created_at: T0,
        managed_by: ManagedBy::Config,
    }
}

/// Resources round-trip exactly (order of scopes and claims kept, absent keys stay
/// absent); an identifier is inserted once; delete answers whether there was one.
pub(super) async fn resource_records(s: Arc<dyn Store>) {
    let id = "https://api.example.com/invoices";
    assert_eq!(s.get_resource(id).await.unwrap(), None);
    let r = resource(id);
    s.insert_resource(&r).await.unwrap();
    assert_eq!(s.get_resource(id).await.unwrap().as_ref(), Some(&r));
    let mut again = r.clone();
    again.name = Some("Other".into());
    assert!(
        matches!(
            s.insert_resource(&again).await,
            Err(StoreError::Conflict(_))
        ),
        "insert refuses a taken identifier"
    );
    assert_eq!(
        s.get_resource(id).await.unwrap().as_ref(),
        Some(&r),
        "the refused insert changed nothing"
    );
    let b = bare("urn:example:orders");
    s.insert_resource(&b).await.unwrap();
    assert_eq!(
        s.get_resource(&b.identifier).await.unwrap().as_ref(),
        Some(&b)
    );
    assert!(s.delete_resource(id).await.unwrap());
    assert!(!s.delete_resource(id).await.unwrap(), "deleted already");
    assert_eq!(s.get_resource(id).await.unwrap(), None);
    assert!(s.delete_resource(&b.identifier).await.unwrap());
}

/// `upsert_resource` inserts, or replaces the data and who manages it while keeping
/// the creation time; `update_resource` replaces the data of an existing one only
/// (creation time and `managed_by` stay) and answers `false`, writing nothing, for a
/// missing one, so an update racing a delete cannot bring it back.
pub(super) async fn resource_upsert_update(s: Arc<dyn Store>) {
    let id = "https://api.example.com/invoices";
    let mut r = resource(id);
    r.managed_by = ManagedBy::Config;
    assert!(!s.update_resource(&r).await.unwrap(), "no such resource");
    assert_eq!(s.get_resource(id).await.unwrap(), None, "nothing created");

    s.upsert_resource(&r).await.unwrap();
    assert_eq!(s.get_resource(id).await.unwrap().as_ref(), Some(&r));
    let mut later = bare(id);
    later.created_at = T0.plus(Dur::secs(99));
    later.managed_by = ManagedBy::Api;
    s.upsert_resource(&later).await.unwrap();
    let back = s.get_resource(id).await.unwrap().unwrap();
    assert_eq!(back.created_at, T0, "an upsert keeps the creation time");
    assert_eq!(back.managed_by, ManagedBy::Api, "an upsert sets managed_by");
    assert_eq!(
        Resource {
            created_at: later.created_at,
            ..back
        },
        later,
        "an upsert replaces the data"
    );

    let mut changed = resource(id);
    changed.scopes = vec!["invoices.read".into()];
    changed.scope_descriptions.clear();
    changed.signing_alg = None;
    changed.created_at = T0.plus(Dur::secs(500));
    changed.managed_by = ManagedBy::Config;
    assert!(s.update_resource(&changed).await.unwrap());
    let back = s.get_resource(id).await.unwrap().unwrap();
    assert_eq!(
        (back.created_at, back.managed_by),
        (T0, ManagedBy::Api),
        "an update keeps the creation time and who manages it"
    );
    assert_eq!(
        Resource {
            created_at: changed.created_at,
            managed_by: changed.managed_by,
            ..back
        },
        changed
    );

    assert!(s.delete_resource(id).await.unwrap());
    assert!(!s.update_resource(&changed).await.unwrap(), "deleted");
    assert_eq!(s.get_resource(id).await.unwrap(), None, "not resurrected");
}

/// Pages of resources: bytewise identifier order, `after` excluded, at most `limit`.
pub(super) async fn resource_pages(s: Arc<dyn Store>) {
    // Bytewise: upper case before lower case, `/` before digits, non-ASCII last.
    let ids = [
        "https://API.example/x",
        "https://api.example/a",
        "https://api.example/a/b",
        "https://api.example/a1",
        "urn:example:1",
        "urn:example:b",
        "urn:\u{e9}t\u{e9}",
    ];
    for id in ids.iter().rev() {
        s.insert_resource(&resource(id)).await.unwrap();
    }
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_resources_page(after.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        walked.extend(page.iter().map(|r| r.identifier.clone()));
        if page.len() < 3 {
            break;
        }
        after = page.last().map(|r| r.identifier.clone());
    }
    assert_eq!(walked, sorted);
    let two = s
        .list_resources_page(Some("https://api.example/a"), 2)
        .await
        .unwrap();
    let two: Vec<&str> = two.iter().map(|r| r.identifier.as_str()).collect();
    assert_eq!(two, ["https://api.example/a/b", "https://api.example/a1"]);
    let all = s.list_resources_page(None, 100).await.unwrap();
    assert_eq!(all[0], resource(sorted[0]), "pages carry whole records");
    assert!(s
        .list_resources_page(Some("\u{10ffff}"), 5)
        .await
        .unwrap()
        .is_empty());
    for id in ids {
        assert!(s.delete_resource(id).await.unwrap());
    }
    assert!(s.list_resources_page(None, 10).await.unwrap().is_empty());
}

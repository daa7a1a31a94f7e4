//! Signing keys: the `KeyStore` role.

use baton_core::model::{SigAlg, SigningKey};
use baton_core::store::Store;
use baton_core::time::Timestamp;
use std::sync::Arc;

/// Retiring a key keeps the earlier of its scheduled and the new retirement time: an
/// emergency rotation moves a pending retirement forward, a later call never postpones it.
pub(super) async fn retire_keeps_the_earlier_time(s: Arc<dyn Store>) {
    let key = baton_server::keys::new_key(&[7u8; 32], SigAlg::ES256, Timestamp(0)).unwrap();
    s.insert_key(&key).await.unwrap();
    let retired_at = |keys: Vec<SigningKey>| {
        keys.into_iter()
            .find(|k| k.kid == key.kid)
            .and_then(|k| k.retired_at)
    };
    assert_eq!(retired_at(s.list_keys().await.unwrap()), None);
    s.retire_key(&key.kid, Timestamp(600_000)).await.unwrap();
    s.retire_key(&key.kid, Timestamp(60_000)).await.unwrap();
    assert_eq!(
        retired_at(s.list_keys().await.unwrap()),
        Some(Timestamp(60_000))
    );
    s.retire_key(&key.kid, Timestamp(900_000)).await.unwrap();
    assert_eq!(
        retired_at(s.list_keys().await.unwrap()),
        Some(Timestamp(60_000))
    );
}

//! `/readyz`'s answer when the node is not ready (503): which store is down.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `{"status":"unavailable","checks":{"cache":"down: …","storage":"ok"}}`. `checks`
/// has `storage` (the main store) always and `cache` when Redis is configured; each is
/// `ok`, `down: <why>` or `misconfigured: <why>`. No URL or secret appears.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub status: String,
    pub checks: BTreeMap<String, String>,
}

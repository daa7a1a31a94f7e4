//! Reading what a refresh needs in one go.

use super::{BoxFuture, StoreResult};
use crate::model::{Client, Grant, GrantId, User};

/// A client, a grant and the grant's user, as read together.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestRecords {
    pub client: Option<Client>,
    pub grant: Option<Grant>,
    /// The user whose `sub` is the grant's subject.
    pub user: Option<User>,
}

/// The records a token request reads before it decides, read together: on a database
/// one statement (one round trip to PostgreSQL, one read transaction on SQLite)
/// instead of one per record. Each is what its own lookup would answer at that moment.
pub trait RecordsStore: Send + Sync {
    /// The client `client_id`, the grant `grant_id` of the main store (none asked:
    /// `None`) and that grant's user.
    fn request_records<'a>(
        &'a self,
        client_id: &'a str,
        grant_id: Option<GrantId>,
    ) -> BoxFuture<'a, StoreResult<RequestRecords>>;
}

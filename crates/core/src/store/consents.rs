//! Consent users gave clients.

use super::{BoxFuture, StoreResult};

/// The scopes each user consented to, per client.
pub trait ConsentStore: Send + Sync {
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>>;
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        scopes: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Withdraws consent: one user's for a client (`Some(subject)`: the user revoked
    /// the application on the account page), or every user's for it (`None`: the client
    /// is being deleted, and a new client with the same id must ask again). Answers how
    /// many users' consents were removed; none is not an error.
    fn delete_consents<'a>(
        &'a self,
        client_id: &'a str,
        subject: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<u64>>;
}

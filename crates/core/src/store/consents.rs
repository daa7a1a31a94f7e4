//! Consent users gave clients.

use super::{BoxFuture, StoreResult};

/// What a user consented to for a client: scopes and resources (APIs), each in the
/// order first consented to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consent {
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
}

/// The scopes and resources each user consented to, per client.
pub trait ConsentStore: Send + Sync {
    /// Nothing consented is the empty [`Consent`].
    fn get_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Consent>>;
    /// Everything one user consented to: per client, in `client_id` order.
    fn list_consents<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, StoreResult<Vec<(String, Consent)>>>;
    /// Adds to what the user consented to (never removes).
    fn add_consent<'a>(
        &'a self,
        subject: &'a str,
        client_id: &'a str,
        add: &'a Consent,
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

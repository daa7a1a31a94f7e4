//! Resource indicators (RFC 8707): which resources (APIs) a request may name, and which
//! one an access token is for. `/authorize` records the resources the user authorises
//! (the code, then the grant, holds them); each token request names at most one, which
//! must be held by its grant (or, without one, allowed to the client), and gets an
//! access token for it: `aud` = its identifier, only its scopes, its format, lifetime
//! and signing algorithm. A request that names none gets the client's
//! `default_resource` when the grant holds it, else a token for the client itself.

use crate::state::AppState;
use baton_core::error::OAuthError;
use baton_core::model::{Client, Resource};
use baton_core::resource_spec::check_identifier;
use baton_core::scope::Scope;

/// Reads one resource the client may request: listed in its `resources`, stored and
/// active. Anything else is `invalid_target`.
async fn allowed(st: &AppState, client: &Client, id: &str) -> Result<Resource, OAuthError> {
    if check_identifier(id).is_err() {
        return Err(OAuthError::invalid_target(
            "resource must be an absolute URI without a fragment",
        ));
    }
    if !client.apis.resources.iter().any(|r| r == id) {
        return Err(OAuthError::invalid_target(
            "this client may not request this resource",
        ));
    }
    match st.store.get_resource(id).await? {
        Some(r) if r.active => Ok(r),
        _ => Err(OAuthError::invalid_target("unknown resource")),
    }
}

/// The resources an authorization request asks for (`resource`, repeatable), repeats
/// dropped, order kept; none asked: the client's `default_resource`, if any.
pub async fn authorized(
    st: &AppState,
    client: &Client,
    asked: &[&str],
) -> Result<Vec<Resource>, OAuthError> {
    let mut out: Vec<Resource> = Vec::with_capacity(asked.len());
    for id in asked {
        if !out.iter().any(|r| r.identifier == *id) {
            out.push(allowed(st, client, id).await?);
        }
    }
    if out.is_empty() {
        if let Some(d) = &client.apis.default_resource {
            out.push(allowed(st, client, d).await?);
        }
    }
    Ok(out)
}

/// The resource a token request's access token is for. `asked` is the request's
/// `resource` values; `held` the resources of its grant (`None` for a request without
/// one: client credentials, or a password grant, which creates its grant from this
/// answer). `Ok(None)`: a token for the client itself (no resource asked, and no
/// default resource the grant holds).
pub async fn target(
    st: &AppState,
    client: &Client,
    asked: &[&str],
    held: Option<&[String]>,
) -> Result<Option<Resource>, OAuthError> {
    let id = match asked {
        [] => match (&client.apis.default_resource, held) {
            (Some(d), Some(h)) if h.contains(d) => d.as_str(),
            (Some(d), None) => d.as_str(),
            _ => return Ok(None),
        },
        [one] => {
            if let Some(h) = held {
                if !h.iter().any(|r| r == one) {
                    // Checked before the identifier's form: a grant never holds a
                    // malformed one, and the answer is the same.
                    return Err(OAuthError::invalid_target(
                        "the resource is not one this grant holds",
                    ));
                }
            }
            one
        }
        _ => {
            return Err(OAuthError::invalid_target(
                "name one resource per token request",
            ))
        }
    };
    allowed(st, client, id).await.map(Some)
}

/// The scope of an access token for `resource`: the scope asked (or the grant's),
/// narrowed to the resource's own scopes; unchanged for a token for the client itself.
pub fn access_scope(scope: &Scope, resource: Option<&Resource>) -> Scope {
    match resource {
        None => scope.clone(),
        Some(r) => scope.intersection(r.scopes.iter().map(String::as_str)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::model::ManagedBy;
    use baton_core::time::Timestamp;

    #[test]
    fn a_resource_token_carries_only_the_resource_scopes() {
        let r = Resource {
            identifier: "https://api.example.com".into(),
            name: None,
            scopes: vec!["read".into(), "write".into()],
            scope_descriptions: Default::default(),
            access_token_format: None,
            access_token_lifetime: None,
            signing_alg: None,
            claims: vec![],
            active: true,
            created_at: Timestamp(0),
            managed_by: ManagedBy::Api,
        };
        let s = Scope::parse("openid read offline_access other").unwrap();
        assert_eq!(access_scope(&s, Some(&r)).as_str(), "read");
        assert_eq!(access_scope(&s, None), s);
        assert!(access_scope(&Scope::parse("openid").unwrap(), Some(&r)).is_empty());
    }
}

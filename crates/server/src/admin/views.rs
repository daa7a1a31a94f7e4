//! Domain records as the admin API shows them (proto types): never a token value, a
//! password hash or a stored secret digest.

use baton_core::model::{Client, Event, Grant, GrantStatus, ManagedBy, Resource, SigningKey, User};
use baton_core::time::{format_duration, Timestamp};
use baton_proto::admin::{
    ClientCreate, ClientView, EventView, GrantView, KeyView, ResourceView, UserView,
};

pub fn client_view(c: &Client, client_secret: Option<String>) -> ClientView {
    ClientView {
        client_id: c.client_id.clone(),
        client_name: c.client_name.clone(),
        token_endpoint_auth_method: c.auth_method.as_str().into(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        allowed_origins: c.allowed_origins.clone(),
        grant_types: c.grant_types.iter().map(|g| g.as_str().into()).collect(),
        scopes: c.scopes.clone(),
        access_token_format: c.access_token_format.map(|f| f.as_str().into()),
        id_token_signed_response_alg: c.id_token_alg.as_str().into(),
        introspect_any: c.introspect_any,
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        jwks: c.jwks.clone(),
        resources: c.apis.resources.clone(),
        default_resource: c.apis.default_resource.clone(),
        introspect_resources: c.apis.introspect_resources.clone(),
        id_token_claims: c.apis.id_token_claims.clone(),
        userinfo_claims: c.apis.userinfo_claims.clone(),
        access_token_claims: c.apis.access_token_claims.clone(),
        active: c.active,
        refresh_tokens: c.refresh.to_dto(),
        created_at: c.created_at.rfc3339(),
        dynamically_registered: c.dynamically_registered,
        managed_by: match (c.managed_by, c.dynamically_registered) {
            (ManagedBy::Config, _) => "config",
            (ManagedBy::Api, true) => "registration",
            (ManagedBy::Api, false) => "api",
        }
        .into(),
        client_secret,
    }
}

/// A stored client in the create shape, to lay a PATCH over and validate again.
pub fn client_as_create(c: &Client) -> ClientCreate {
    ClientCreate {
        client_id: c.client_id.clone(),
        client_name: c.client_name.clone(),
        token_endpoint_auth_method: Some(c.auth_method.as_str().into()),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        allowed_origins: c.allowed_origins.clone(),
        grant_types: Some(c.grant_types.iter().map(|g| g.as_str().into()).collect()),
        scopes: Some(c.scopes.clone()),
        access_token_format: c.access_token_format.map(|f| f.as_str().into()),
        id_token_signed_response_alg: Some(c.id_token_alg.as_str().into()),
        introspect_any: c.introspect_any,
        dpop_bound_access_tokens: c.dpop_bound_access_tokens,
        jwks: c.jwks.clone(),
        resources: c.apis.resources.clone(),
        default_resource: c.apis.default_resource.clone(),
        introspect_resources: c.apis.introspect_resources.clone(),
        id_token_claims: c.apis.id_token_claims.clone(),
        userinfo_claims: c.apis.userinfo_claims.clone(),
        access_token_claims: c.apis.access_token_claims.clone(),
        active: Some(c.active),
        refresh_tokens: c.refresh.to_dto(),
    }
}

pub fn user_view(u: &User) -> UserView {
    UserView {
        sub: u.sub.clone(),
        roles: u.roles.clone(),
        groups: u.groups.clone(),
        admin: u.admin,
        username: u.username.clone(),
        active: u.active,
        claims: u.claims.clone(),
        created_at: u.created_at.rfc3339(),
        managed_by: u.managed_by.as_str().into(),
    }
}

/// A resource with the clients that list it in `resources` (may request it).
pub fn resource_view(r: &Resource, clients: Vec<String>) -> ResourceView {
    ResourceView {
        identifier: r.identifier.clone(),
        name: r.name.clone(),
        scopes: r.scopes.clone(),
        scope_descriptions: r.scope_descriptions.clone(),
        access_token_format: r.access_token_format.map(|f| f.as_str().into()),
        access_token_lifetime: r.access_token_lifetime.map(format_duration),
        signing_alg: r.signing_alg.map(|a| a.as_str().into()),
        claims: r.claims.clone(),
        active: r.active,
        clients,
        created_at: r.created_at.rfc3339(),
        managed_by: r.managed_by.as_str().into(),
    }
}

/// `status` is `active`, `expired` (past its absolute or sliding expiry, not yet
/// cleaned up) or `revoked`.
pub fn grant_view(g: &Grant, now: Timestamp) -> GrantView {
    let expiry = g.expiry();
    let (status, revoked_reason) = match &g.status {
        GrantStatus::Revoked { reason, .. } => ("revoked", Some(reason.clone())),
        GrantStatus::Active if expiry.is_some_and(|e| e <= now) => ("expired", None),
        GrantStatus::Active => ("active", None),
    };
    GrantView {
        grant_id: g.id.to_hex(),
        client_id: g.client_id.clone(),
        subject: g.subject.clone(),
        scope: g.scope.to_string(),
        session_id: g.session_id.clone(),
        created_at: g.created_at.rfc3339(),
        last_used_at: g.last_used_at.rfc3339(),
        expires_at: expiry.map(Timestamp::rfc3339),
        generation: g.generation,
        status: status.into(),
        revoked_reason,
        resources: g.resources.clone(),
    }
}

pub fn event_view(e: &Event) -> EventView {
    EventView {
        id: e.id.clone(),
        kind: e.kind.clone(),
        time: e.time.rfc3339(),
        client_id: e.client_id.clone(),
        subject: e.subject.clone(),
        grant_id: e.grant_id.map(|g| g.to_hex()),
        ip: e.ip.clone(),
        user_agent: e.user_agent.clone(),
        details: e.details.clone(),
    }
}

pub fn key_view(k: &SigningKey) -> KeyView {
    KeyView {
        kid: k.kid.clone(),
        alg: k.alg.as_str().into(),
        created_at: k.created_at.rfc3339(),
        retired_at: k.retired_at.map(Timestamp::rfc3339),
    }
}

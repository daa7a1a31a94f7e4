//! One resource (API), validated: the rules a `[[resources]]` entry and
//! `POST`/`PATCH /admin/resources` share. Like [`crate::client_spec`], each caller maps
//! its input into a [`ResourceSpec`] and maps the [`FieldError`] into its own error.

use crate::claims::check_claim_names;
use crate::model::{ManagedBy, Resource, SigAlg, TokenFormat};
use crate::policy::FieldError;
use crate::scope::Scope;
use crate::time::{parse_duration, Dur, Timestamp};
use baton_proto::admin::ResourceCreate;
use std::collections::BTreeMap;

/// At most this many scopes per resource.
pub const MAX_SCOPES: usize = 100;

/// A resource as asked for, not yet checked (the `[[resources]]` shape).
#[derive(Clone, Debug, Default)]
pub struct ResourceSpec {
    pub identifier: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub scope_descriptions: BTreeMap<String, String>,
    pub access_token_format: Option<String>,
    pub access_token_lifetime: Option<String>,
    pub signing_alg: Option<String>,
    pub claims: Vec<String>,
    /// Default: `true`.
    pub active: Option<bool>,
}

impl From<ResourceCreate> for ResourceSpec {
    fn from(r: ResourceCreate) -> Self {
        ResourceSpec {
            identifier: r.identifier,
            name: r.name,
            scopes: r.scopes,
            scope_descriptions: r.scope_descriptions,
            access_token_format: r.access_token_format,
            access_token_lifetime: r.access_token_lifetime,
            signing_alg: r.signing_alg,
            claims: r.claims,
            active: r.active,
        }
    }
}

impl From<&Resource> for ResourceSpec {
    /// The spec a stored resource was made from (a PATCH lays its changes over it).
    fn from(r: &Resource) -> Self {
        ResourceSpec {
            identifier: r.identifier.clone(),
            name: r.name.clone(),
            scopes: r.scopes.clone(),
            scope_descriptions: r.scope_descriptions.clone(),
            access_token_format: r.access_token_format.map(|f| f.as_str().into()),
            access_token_lifetime: r.access_token_lifetime.map(crate::time::format_duration),
            signing_alg: r.signing_alg.map(|a| a.as_str().into()),
            claims: r.claims.clone(),
            active: Some(r.active),
        }
    }
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// A resource identifier (RFC 8707 §2): an absolute URI without a fragment, at most
/// 255 characters, written as it will appear in `aud` (nothing is normalised).
pub fn check_identifier(id: &str) -> Result<(), String> {
    if id.len() > 255 {
        return Err("must be at most 255 characters".into());
    }
    let url = url::Url::parse(id).map_err(|e| format!("`{id}` is not an absolute URI: {e}"))?;
    if url.fragment().is_some() || id.contains('#') {
        return Err(format!("`{id}` has a fragment, which RFC 8707 §2 forbids"));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{id}` contains spaces or control characters"));
    }
    Ok(())
}

impl ResourceSpec {
    /// Checks every rule; the first fault found is answered, naming its key.
    pub fn validate(
        self,
        created_at: Timestamp,
        managed_by: ManagedBy,
    ) -> Result<Resource, FieldError> {
        let r = self;
        check_identifier(&r.identifier).map_err(|m| bad("identifier", m))?;
        if let Some(n) = &r.name {
            if n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                return Err(bad("name", "must be 1 to 200 printable characters"));
            }
        }
        if r.scopes.len() > MAX_SCOPES {
            return Err(bad("scopes", format!("at most {MAX_SCOPES} scopes")));
        }
        let mut scopes: Vec<String> = Vec::with_capacity(r.scopes.len());
        for (i, s) in r.scopes.into_iter().enumerate() {
            if Scope::parse(&s).map(|v| v.len()) != Ok(1) {
                return Err(bad(
                    &format!("scopes[{i}]"),
                    format!("`{s}` is not a single scope token"),
                ));
            }
            if matches!(s.as_str(), "openid" | "offline_access" | "online_access") {
                return Err(bad(
                    &format!("scopes[{i}]"),
                    format!("`{s}` is a scope of the server itself, not of an API"),
                ));
            }
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        for (s, d) in &r.scope_descriptions {
            if !scopes.contains(s) {
                return Err(bad(
                    &format!("scope_descriptions.{s}"),
                    "describes a scope the resource does not define",
                ));
            }
            if d.trim().is_empty() || d.chars().count() > 300 || d.chars().any(char::is_control) {
                return Err(bad(
                    &format!("scope_descriptions.{s}"),
                    "must be 1 to 300 printable characters",
                ));
            }
        }
        let access_token_format = match r.access_token_format {
            None => None,
            Some(f) => Some(TokenFormat::parse(&f).ok_or_else(|| {
                bad(
                    "access_token_format",
                    format!("unknown format `{f}`: expected jwt or reference"),
                )
            })?),
        };
        let access_token_lifetime = match r.access_token_lifetime {
            None => None,
            Some(l) => {
                let d = parse_duration(&l).map_err(|m| bad("access_token_lifetime", m))?;
                if d <= Dur::ZERO {
                    return Err(bad("access_token_lifetime", "must be positive"));
                }
                Some(d)
            }
        };
        let signing_alg = match r.signing_alg {
            None => None,
            Some(a) => Some(SigAlg::parse(&a).ok_or_else(|| {
                bad(
                    "signing_alg",
                    format!("unknown algorithm `{a}`: expected ES256, RS256 or EdDSA"),
                )
            })?),
        };
        let claims =
            check_claim_names(r.claims).map_err(|(i, m)| bad(&format!("claims[{i}]"), m))?;
        Ok(Resource {
            identifier: r.identifier,
            name: r.name,
            scopes,
            scope_descriptions: r.scope_descriptions,
            access_token_format,
            access_token_lifetime,
            signing_alg,
            claims,
            active: r.active.unwrap_or(true),
            created_at,
            managed_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> ResourceSpec {
        ResourceSpec {
            identifier: id.into(),
            scopes: vec!["invoices.read".into(), "invoices.write".into()],
            ..Default::default()
        }
    }

    fn field(s: ResourceSpec) -> String {
        s.validate(Timestamp(0), ManagedBy::Api).unwrap_err().field
    }

    #[test]
    fn a_good_resource_keeps_its_values() {
        let mut s = spec("https://api.example.com/invoices");
        s.scope_descriptions
            .insert("invoices.read".into(), "see your invoices".into());
        s.access_token_lifetime = Some("5m".into());
        s.signing_alg = Some("ES256".into());
        s.claims = vec!["roles".into()];
        let r = s.validate(Timestamp(7), ManagedBy::Config).unwrap();
        assert_eq!(r.access_token_lifetime, Some(Dur(300_000)));
        assert_eq!(r.signing_alg, Some(SigAlg::ES256));
        assert!(r.active);
        assert_eq!(r.display_name(), "https://api.example.com/invoices");
        // Round trip through the spec a PATCH starts from.
        let again = ResourceSpec::from(&r)
            .validate(Timestamp(7), ManagedBy::Config)
            .unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn each_fault_names_its_key() {
        assert_eq!(field(spec("not a uri")), "identifier");
        assert_eq!(field(spec("https://api.example.com/#frag")), "identifier");
        assert_eq!(field(spec("/relative")), "identifier");
        let mut s = spec("urn:example:api");
        s.scopes.push("two words".into());
        assert_eq!(field(s), "scopes[2]");
        let mut s = spec("urn:example:api");
        s.scopes.push("openid".into());
        assert_eq!(field(s), "scopes[2]");
        let mut s = spec("urn:example:api");
        s.scope_descriptions.insert("other".into(), "x".into());
        assert_eq!(field(s), "scope_descriptions.other");
        let mut s = spec("urn:example:api");
        s.access_token_format = Some("paseto".into());
        assert_eq!(field(s), "access_token_format");
        let mut s = spec("urn:example:api");
        s.access_token_lifetime = Some("0s".into());
        assert_eq!(field(s), "access_token_lifetime");
        let mut s = spec("urn:example:api");
        s.signing_alg = Some("HS256".into());
        assert_eq!(field(s), "signing_alg");
        let mut s = spec("urn:example:api");
        s.claims = vec!["roles".into(), "aud".into()];
        assert_eq!(field(s), "claims[1]");
        let mut s = spec("urn:example:api");
        s.name = Some(" ".into());
        assert_eq!(field(s), "name");
    }
}

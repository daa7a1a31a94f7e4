//! `[[resources]]`: the APIs tokens can be issued for, validated by the one resource
//! validator (`baton_core::resource_spec`), their keys prefixed `resources[i].`; and the
//! clients' references to them (`resources`, `default_resource`,
//! `introspect_resources`), which must name configured resources.

use super::raw::RawResource;
use super::{ClientConfig, ConfigError};
use baton_core::model::{ManagedBy, Resource};
use baton_core::resource_spec::ResourceSpec;
use baton_core::time::Timestamp;

pub(super) fn resources(
    raw: Vec<RawResource>,
    clients: &[ClientConfig],
    source: &str,
) -> Result<Vec<Resource>, ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        source: source.to_string(),
        key: key.to_string(),
        message,
    };
    let mut out: Vec<Resource> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let spec = ResourceSpec {
            identifier: r.identifier,
            name: r.name,
            scopes: r.scopes,
            scope_descriptions: r.scope_descriptions,
            access_token_format: r.access_token_format,
            access_token_lifetime: r.access_token_lifetime,
            signing_alg: r.signing_alg,
            claims: r.claims,
            active: r.active,
        };
        let res = spec
            .validate(Timestamp(0), ManagedBy::Config)
            .map_err(|e| err(&format!("resources[{i}].{}", e.field), e.message))?;
        if out.iter().any(|o| o.identifier == res.identifier) {
            return Err(err(
                &format!("resources[{i}].identifier"),
                format!("`{}` is listed twice", res.identifier),
            ));
        }
        out.push(res);
    }
    for (i, c) in clients.iter().enumerate() {
        let lists = [
            ("resources", &c.apis.resources),
            ("introspect_resources", &c.apis.introspect_resources),
        ];
        for (key, ids) in lists {
            for (j, id) in ids.iter().enumerate() {
                if !out.iter().any(|r| &r.identifier == id) {
                    return Err(err(
                        &format!("clients[{i}].{key}[{j}]"),
                        format!("`{id}` is not a configured resource ([[resources]])"),
                    ));
                }
            }
        }
    }
    Ok(out)
}

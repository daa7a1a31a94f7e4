//! `[[users]]` entries, and the rules every user obeys (the admin API shares them).

use super::raw::RawUser;
use super::UserConfig;
use baton_core::secret::Secret;

/// A `[[users]]` entry: its claims as JSON, then the rules every user obeys.
pub(super) fn user(u: RawUser, i: usize) -> Result<UserConfig, (String, String)> {
    let at = |(k, m): (String, String)| (format!("users[{i}].{k}"), m);
    let claims = match serde_json::to_value(&u.claims) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(at(("claims".into(), "must be a table".into()))),
    };
    check_user(UserConfig {
        username: u.username,
        password: u.password.map(Secret::new),
        password_hash: u.password_hash,
        sub: u.sub,
        active: u.active.unwrap_or(true),
        claims,
        roles: u.roles,
        groups: u.groups,
        admin: u.admin,
    })
    .map_err(at)
}

/// The rules every user obeys, whether from the configuration file or the admin API.
/// A refusal names the field relative to the user (`username`, `claims.sub`) and never
/// repeats a password.
pub fn check_user(mut u: UserConfig) -> Result<UserConfig, (String, String)> {
    let k = |f: &str| f.to_string();
    if u.username.is_empty() || u.username.len() > 128 || u.username.chars().any(char::is_control) {
        return Err((
            k("username"),
            "must be 1 to 128 characters without control characters".into(),
        ));
    }
    match (&u.password, &u.password_hash) {
        (Some(_), Some(_)) => {
            return Err((
                k("password"),
                "give password or password_hash, not both".into(),
            ))
        }
        (None, None) => {
            return Err((
                k("password"),
                "password or password_hash is required".into(),
            ))
        }
        (None, Some(h)) if !h.starts_with("$argon2id$") => {
            return Err((
                k("password_hash"),
                "must be an Argon2id PHC string ($argon2id$...)".into(),
            ));
        }
        (Some(p), None) if p.expose().is_empty() => {
            return Err((k("password"), "must not be empty".into()))
        }
        _ => {}
    }
    for reserved in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        // The user's attributes, released under these names where claim mapping says.
        "roles",
        "groups",
    ] {
        if u.claims.contains_key(reserved) {
            return Err((
                k(&format!("claims.{reserved}")),
                "is set by the server and cannot be configured (roles and groups are keys of the user)".into(),
            ));
        }
    }
    let labels = |key: &str, l: Vec<String>| {
        baton_core::claims::check_labels(l).map_err(|(i, m)| (format!("{key}[{i}]"), m))
    };
    u.roles = labels("roles", std::mem::take(&mut u.roles))?;
    u.groups = labels("groups", std::mem::take(&mut u.groups))?;
    Ok(u)
}

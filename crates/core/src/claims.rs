//! Claim mapping: which user claims a token or answer carries beyond those its scope
//! releases, and the rules for naming them. `roles` and `groups` are user attributes
//! released under those names.

use crate::model::User;
use serde_json::{Map, Value};

/// Claim names that belong to the protocol: a mapping can never set them.
pub const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "scope",
    "client_id",
    "cnf",
    "sid",
    "auth_time",
    "nonce",
    "azp",
    "at_hash",
    "gid",
    "acr",
    "amr",
];

/// The user attributes released under their own names.
pub const ATTRIBUTES: [&str; 2] = ["roles", "groups"];

/// At most this many names in one mapping, roles or groups of a user.
pub const MAX_ENTRIES: usize = 100;

/// A claim name a mapping may list: 1 to 100 printable characters, not reserved.
pub fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "`{name}` is not a claim name: 1 to 100 printable characters without spaces"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` is set by the server itself and cannot be mapped"
        ));
    }
    Ok(())
}

/// A list of claim names (a client's or a resource's mapping): each valid, at most
/// [`MAX_ENTRIES`]; repeats dropped, order kept.
pub fn check_claim_names(names: Vec<String>) -> Result<Vec<String>, (usize, String)> {
    if names.len() > MAX_ENTRIES {
        return Err((MAX_ENTRIES, format!("at most {MAX_ENTRIES} claims")));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, n) in names.into_iter().enumerate() {
        check_claim_name(&n).map_err(|m| (i, m))?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// A user's roles or groups: each 1 to 200 printable characters, at most
/// [`MAX_ENTRIES`]; repeats dropped, order kept.
pub fn check_labels(labels: Vec<String>) -> Result<Vec<String>, (usize, String)> {
    if labels.len() > MAX_ENTRIES {
        return Err((MAX_ENTRIES, format!("at most {MAX_ENTRIES} entries")));
    }
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for (i, l) in labels.into_iter().enumerate() {
        if l.is_empty() || l.chars().count() > 200 || l.chars().any(char::is_control) {
            return Err((i, "must be 1 to 200 printable characters".into()));
        }
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// What mapped claims are read from: a user's claims with its roles and groups, as
/// they are now or as a grant's snapshot kept them.
pub struct ClaimSource<'a> {
    pub claims: &'a Map<String, Value>,
    pub roles: &'a [String],
    pub groups: &'a [String],
}

impl<'a> ClaimSource<'a> {
    pub fn of(user: &'a User) -> Self {
        ClaimSource {
            claims: &user.claims,
            roles: &user.roles,
            groups: &user.groups,
        }
    }

    /// The value of one claim, if the user has it (an empty list of roles or groups is
    /// not released).
    pub fn get(&self, name: &str) -> Option<Value> {
        let list = |l: &[String]| {
            (!l.is_empty()).then(|| Value::Array(l.iter().cloned().map(Value::from).collect()))
        };
        match name {
            "roles" => list(self.roles),
            "groups" => list(self.groups),
            n => self.claims.get(n).cloned(),
        }
    }

    /// Adds the named claims the user has to `out` (a mapping may name a claim the
    /// scope already released: same value).
    pub fn release<'n>(
        &self,
        names: impl IntoIterator<Item = &'n String>,
        out: &mut Map<String, Value>,
    ) {
        for n in names {
            if let Some(v) = self.get(n) {
                out.insert(n.clone(), v);
            }
        }
    }
}

/// A grant's snapshot of its user's claims (kept when `update_claims_on_refresh` is
/// off): the claims with the roles and groups, as one JSON object.
pub fn snapshot(user: &User) -> String {
    let mut m = user.claims.clone();
    for (k, l) in [("roles", &user.roles), ("groups", &user.groups)] {
        m.insert(
            k.into(),
            Value::Array(l.iter().cloned().map(Value::from).collect()),
        );
    }
    Value::Object(m).to_string()
}

/// Reads a snapshot back: (claims, roles, groups). A snapshot written before roles and
/// groups existed has neither.
pub fn read_snapshot(s: &str) -> (Map<String, Value>, Vec<String>, Vec<String>) {
    let mut m: Map<String, Value> = serde_json::from_str(s).unwrap_or_default();
    let mut take = |k: &str| -> Vec<String> {
        match m.remove(k) {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        }
    };
    let roles = take("roles");
    let groups = take("groups");
    (m, roles, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_malformed_names_are_refused() {
        assert!(check_claim_name("roles").is_ok());
        assert!(check_claim_name("department").is_ok());
        for bad in ["sub", "aud", "cnf", "", "a b", "x\u{7}"] {
            assert!(check_claim_name(bad).is_err(), "{bad:?}");
        }
        let (i, _) = check_claim_names(vec!["roles".into(), "iss".into()]).unwrap_err();
        assert_eq!(i, 1);
        assert_eq!(
            check_claim_names(vec!["a".into(), "b".into(), "a".into()]).unwrap(),
            vec!["a", "b"]
        );
    }

    #[test]
    fn labels_are_bounded_and_deduplicated() {
        assert_eq!(
            check_labels(vec!["admin".into(), "admin".into()]).unwrap(),
            vec!["admin"]
        );
        assert!(check_labels(vec!["".into()]).is_err());
        assert!(check_labels(vec!["x".repeat(201)]).is_err());
        assert!(check_labels((0..101).map(|i| i.to_string()).collect()).is_err());
    }

    #[test]
    fn a_source_releases_only_what_the_user_has() {
        let mut claims = Map::new();
        claims.insert("department".into(), "finance".into());
        let roles = vec!["admin".to_string()];
        let src = ClaimSource {
            claims: &claims,
            roles: &roles,
            groups: &[],
        };
        let mut out = Map::new();
        let names: Vec<String> = ["roles", "groups", "department", "missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        src.release(&names, &mut out);
        assert_eq!(
            Value::Object(out),
            serde_json::json!({"roles": ["admin"], "department": "finance"})
        );
    }

    #[test]
    fn snapshots_keep_roles_and_groups() {
        let mut claims = Map::new();
        claims.insert("email".into(), "a@example.com".into());
        let u = User {
            sub: "s".into(),
            username: "a".into(),
            password_hash: String::new(),
            active: true,
            claims,
            roles: vec!["r".into()],
            groups: vec!["g".into()],
            admin: false,
            created_at: crate::time::Timestamp(0),
            managed_by: Default::default(),
        };
        let (c, r, g) = read_snapshot(&snapshot(&u));
        assert_eq!(
            (c, r, g),
            (u.claims.clone(), u.roles.clone(), u.groups.clone())
        );
        // A snapshot from before roles existed.
        let (c, r, g) = read_snapshot(r#"{"email":"a@example.com"}"#);
        assert_eq!(c["email"], "a@example.com");
        assert!(r.is_empty() && g.is_empty());
    }
}

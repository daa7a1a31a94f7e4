//! The refresh-token settings (every key of `[refresh_tokens]`) as form controls: for a
//! client, each an override with "inherit" and the server-wide value beside it; for
//! the server, the effective values. Reading a posted form gives the wire shape the
//! ops take, which validate it like the configuration file.

use super::escape;
use crate::admin::AdminError;
use crate::http::form::Form;
use baton_proto::settings::RefreshTokenSettings as Dto;

/// How a key is edited.
enum Kind {
    /// One of these values (wire value, words).
    Choice(&'static [(&'static str, &'static str)]),
    /// Seconds, 0 to 60.
    Grace,
    /// A duration, or the word that means none.
    Lifetime(&'static str),
    /// Yes or no (words for each).
    Bool(&'static str, &'static str),
}

struct Key {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
}

const KEYS: [Key; 11] = [
    Key {
        name: "usage",
        label: "Rotation",
        hint: "Rotate: every refresh answers a new refresh token and the old one stops working (after the grace period). Reuse: the same refresh token keeps working.",
        kind: Kind::Choice(&[
            ("one_time", "Rotate on every use"),
            ("reuse", "Reuse (no rotation)"),
            ("auto", "Automatic: rotate for public clients, reuse for confidential ones"),
        ]),
    },
    Key {
        name: "grace_period",
        label: "Grace period (seconds, 0 to 60)",
        hint: "How long a rotated refresh token may still be retried (a lost response, two tabs) before it counts as reuse.",
        kind: Kind::Grace,
    },
    Key {
        name: "reuse_reaction",
        label: "Reuse reaction",
        hint: "What happens when a rotated refresh token is presented after the grace period.",
        kind: Kind::Choice(&[
            ("revoke_grant", "Revoke the grant"),
            ("revoke_client_user", "Revoke all of the user's grants for this client"),
            ("revoke_session", "Revoke the grant and end its sign-in session"),
            ("log_only", "Only record the event"),
        ]),
    },
    Key {
        name: "absolute_lifetime",
        label: "Absolute lifetime",
        hint: "How long a grant lives from its creation, e.g. 30d or 12h.",
        kind: Kind::Lifetime("unlimited"),
    },
    Key {
        name: "sliding_lifetime",
        label: "Sliding lifetime (idle)",
        hint: "A grant unused this long expires, e.g. 7d.",
        kind: Kind::Lifetime("off"),
    },
    Key {
        name: "persist",
        label: "Persist",
        hint: "Stored grants survive restarts; cache-only grants live in the cache (needs storage.cache_url).",
        kind: Kind::Bool("Stored in the main store", "Cache only"),
    },
    Key {
        name: "require_offline_access",
        label: "Require offline_access",
        hint: "Issue refresh tokens only when the offline_access scope was granted.",
        kind: Kind::Bool("Required", "Not required"),
    },
    Key {
        name: "allow_public_clients",
        label: "Public clients",
        hint: "Whether public clients (no secret) get refresh tokens.",
        kind: Kind::Bool("Allowed", "Not allowed"),
    },
    Key {
        name: "revoke_on_logout",
        label: "Revoke on logout",
        hint: "Revoke the grant when its sign-in session ends.",
        kind: Kind::Bool("Revoke", "Keep"),
    },
    Key {
        name: "check_user_active",
        label: "Check the user is active",
        hint: "Refuse a refresh for a disabled user.",
        kind: Kind::Bool("Check", "Do not check"),
    },
    Key {
        name: "update_claims_on_refresh",
        label: "Update claims on refresh",
        hint: "Tokens issued on refresh carry the user's current claims.",
        kind: Kind::Bool("Update", "Keep the claims of the sign-in"),
    },
];

fn get(d: &Dto, name: &str) -> Option<String> {
    let b = |v: Option<bool>| v.map(|v| v.to_string());
    match name {
        "usage" => d.usage.clone(),
        "grace_period" => d.grace_period.clone(),
        "reuse_reaction" => d.reuse_reaction.clone(),
        "absolute_lifetime" => d.absolute_lifetime.clone(),
        "sliding_lifetime" => d.sliding_lifetime.clone(),
        "persist" => b(d.persist),
        "require_offline_access" => b(d.require_offline_access),
        "allow_public_clients" => b(d.allow_public_clients),
        "revoke_on_logout" => b(d.revoke_on_logout),
        "check_user_active" => b(d.check_user_active),
        "update_claims_on_refresh" => b(d.update_claims_on_refresh),
        _ => None,
    }
}

fn set(d: &mut Dto, name: &str, v: String) -> Result<(), AdminError> {
    let field = format!("refresh_tokens.{name}");
    let b = || match v.as_str() {
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(AdminError::invalid(&field, "must be true or false")),
    };
    match name {
        "usage" => d.usage = Some(v.clone()),
        "grace_period" => d.grace_period = Some(v.clone()),
        "reuse_reaction" => d.reuse_reaction = Some(v.clone()),
        "absolute_lifetime" => d.absolute_lifetime = Some(v.clone()),
        "sliding_lifetime" => d.sliding_lifetime = Some(v.clone()),
        "persist" => d.persist = b()?,
        "require_offline_access" => d.require_offline_access = b()?,
        "allow_public_clients" => d.allow_public_clients = b()?,
        "revoke_on_logout" => d.revoke_on_logout = b()?,
        "check_user_active" => d.check_user_active = b()?,
        "update_claims_on_refresh" => d.update_claims_on_refresh = b()?,
        _ => {}
    }
    Ok(())
}

/// A value in words (`one_time` -> "Rotate on every use", `true` -> its yes-word).
fn words(k: &Key, v: &str) -> String {
    match &k.kind {
        Kind::Choice(opts) => opts
            .iter()
            .find(|(w, _)| *w == v)
            .map_or(v.to_string(), |(_, t)| (*t).to_string()),
        Kind::Bool(yes, no) => match v {
            "true" => (*yes).to_string(),
            "false" => (*no).to_string(),
            v => v.to_string(),
        },
        Kind::Grace | Kind::Lifetime(_) => v.to_string(),
    }
}

fn field_name(k: &Key) -> String {
    format!("rt_{}", k.name)
}

/// Grace periods are shown and typed in seconds.
fn grace_secs(v: &str) -> String {
    baton_core::time::parse_duration(v)
        .map(|d| (d.millis() / 1000).to_string())
        .unwrap_or_else(|_| v.to_string())
}

/// What a form shows: a client's overrides over the server's values, or the server's.
pub enum Mode<'a> {
    /// `overrides`: the client's; `server`: the server-wide values it inherits.
    Client { overrides: &'a Dto, server: &'a Dto },
    /// The effective server-wide values.
    Server { effective: &'a Dto },
}

/// The controls of every key, each with its hint and (for a client) the inherited
/// value; to be put inside a `<form>`. `disabled`: read-only (a configured client).
pub fn controls(mode: &Mode<'_>, disabled: bool) -> String {
    let dis = if disabled { " disabled" } else { "" };
    let mut out = String::new();
    for k in &KEYS {
        let id = field_name(k);
        let (current, inherited) = match mode {
            Mode::Client { overrides, server } => (get(overrides, k.name), get(server, k.name)),
            Mode::Server { effective } => (get(effective, k.name), None),
        };
        let client = matches!(mode, Mode::Client { .. });
        let inherit_words = inherited
            .as_deref()
            .map(|v| words(k, v))
            .unwrap_or_default();
        let beside = if client {
            let state = match &current {
                Some(v) => format!(
                    "Overridden: <strong>{}</strong>. Server-wide: {}.",
                    escape(&words(k, v)),
                    escape(&inherit_words)
                ),
                None => format!(
                    "Inherited from the server-wide settings: <strong>{}</strong>.",
                    escape(&inherit_words)
                ),
            };
            format!("<p class=\"hint\" id=\"{id}_state\">{state}</p>")
        } else {
            String::new()
        };
        let described = format!(
            "aria-describedby=\"{id}_hint{}\"",
            if client {
                format!(" {id}_state")
            } else {
                String::new()
            }
        );
        let control = match &k.kind {
            Kind::Choice(_) | Kind::Bool(..) => {
                let values: Vec<&str> = match &k.kind {
                    Kind::Choice(opts) => opts.iter().map(|(v, _)| *v).collect(),
                    _ => vec!["true", "false"],
                };
                let mut opts = String::new();
                if client {
                    let sel = if current.is_none() { " selected" } else { "" };
                    opts.push_str(&format!(
                        "<option value=\"\"{sel}>Inherit ({})</option>",
                        escape(&inherit_words)
                    ));
                }
                for v in values {
                    let sel = if current.as_deref() == Some(v) {
                        " selected"
                    } else {
                        ""
                    };
                    opts.push_str(&format!(
                        "<option value=\"{v}\"{sel}>{}</option>",
                        escape(&words(k, v))
                    ));
                }
                format!("<select id=\"{id}\" name=\"{id}\" {described}{dis}>{opts}</select>")
            }
            Kind::Grace => {
                let value = current.as_deref().map(grace_secs).unwrap_or_default();
                let placeholder = inherited
                    .as_deref()
                    .map(|v| format!(" placeholder=\"inherit: {}\"", escape(&grace_secs(v))))
                    .unwrap_or_default();
                format!(
                    "<input type=\"number\" id=\"{id}\" name=\"{id}\" min=\"0\" max=\"60\" step=\"1\" \
                     inputmode=\"numeric\" value=\"{}\"{placeholder} {described}{dis}>",
                    escape(&value)
                )
            }
            Kind::Lifetime(_) => {
                let placeholder = inherited
                    .as_deref()
                    .map(|v| format!(" placeholder=\"inherit: {}\"", escape(v)))
                    .unwrap_or_default();
                format!(
                    "<input type=\"text\" id=\"{id}\" name=\"{id}\" value=\"{}\"{placeholder} {described}{dis}>",
                    escape(current.as_deref().unwrap_or_default())
                )
            }
        };
        let empty_means = match (&k.kind, client) {
            (Kind::Lifetime(none), true) => {
                format!(" Type <code>{none}</code> for no limit; leave empty to inherit.")
            }
            (Kind::Lifetime(none), false) => format!(" Type <code>{none}</code> for no limit."),
            (Kind::Grace, true) => " Leave empty to inherit.".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "<div class=\"setting\"><label for=\"{id}\">{}</label>{control}\
             <p class=\"hint\" id=\"{id}_hint\">{}{empty_means}</p>{beside}</div>",
            k.label, k.hint
        ));
    }
    out
}

/// The value a control posted, `None` when empty.
fn posted(f: &Form, k: &Key) -> Option<String> {
    let v = f.get(&field_name(k))?.trim();
    if v.is_empty() {
        return None;
    }
    Some(match k.kind {
        // Seconds; anything else is passed on for the op to refuse, naming the key.
        Kind::Grace if v.bytes().all(|b| b.is_ascii_digit()) => format!("{v}s"),
        _ => v.to_string(),
    })
}

/// A client's overrides as posted: every key with a value; an empty or "inherit"
/// control leaves its key out (inherited again once the overrides are replaced).
pub fn read_overrides(f: &Form) -> Result<Dto, AdminError> {
    let mut d = Dto::default();
    for k in &KEYS {
        if let Some(v) = posted(f, k) {
            set(&mut d, k.name, v)?;
        }
    }
    Ok(d)
}

/// The server-wide changes as posted: only the keys whose value differs from the
/// effective one (so unchanged keys stay as the configuration file sets them).
pub fn read_server_changes(f: &Form, effective: &Dto) -> Result<Dto, AdminError> {
    let mut d = Dto::default();
    for k in &KEYS {
        let Some(v) = posted(f, k) else { continue };
        let same = match (&k.kind, get(effective, k.name)) {
            (Kind::Grace, Some(e)) => grace_secs(&e) == grace_secs(&v),
            (_, Some(e)) => e == v,
            (_, None) => false,
        };
        if !same {
            set(&mut d, k.name, v)?;
        }
    }
    Ok(d)
}

/// The names of the controls ([`controls`]), for `super::only_fields`.
pub const FIELDS: [&str; 11] = [
    "rt_usage",
    "rt_grace_period",
    "rt_reuse_reaction",
    "rt_absolute_lifetime",
    "rt_sliding_lifetime",
    "rt_persist",
    "rt_require_offline_access",
    "rt_allow_public_clients",
    "rt_revoke_on_logout",
    "rt_check_user_active",
    "rt_update_claims_on_refresh",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Form {
        crate::http::form::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn overrides_read_back_what_the_controls_show() {
        let f = form("rt_usage=one_time&rt_grace_period=15&rt_reuse_reaction=&rt_persist=false&rt_absolute_lifetime=90d");
        let d = read_overrides(&f).unwrap();
        assert_eq!(d.usage.as_deref(), Some("one_time"));
        assert_eq!(d.grace_period.as_deref(), Some("15s"));
        assert_eq!(d.reuse_reaction, None, "inherit");
        assert_eq!(d.persist, Some(false));
        assert_eq!(d.absolute_lifetime.as_deref(), Some("90d"));
        assert_eq!(d.sliding_lifetime, None);
        let html = controls(
            &Mode::Client {
                overrides: &d,
                server: &baton_core::policy::RefreshSettings::default().to_dto(),
            },
            false,
        );
        assert!(html.contains("<option value=\"one_time\" selected>"));
        assert!(html.contains("value=\"15\""));
        assert!(html.contains("Inherit (Revoke the grant)"));
        assert!(read_overrides(&form("rt_persist=maybe")).is_err());
    }

    #[test]
    fn field_names_are_the_controls() {
        let names: Vec<String> = KEYS.iter().map(field_name).collect();
        assert_eq!(names, FIELDS);
    }

    #[test]
    fn server_changes_are_only_the_changed_keys() {
        let eff = baton_core::policy::RefreshSettings::default().to_dto();
        let f = form("rt_usage=auto&rt_grace_period=30&rt_reuse_reaction=log_only&rt_persist=true&rt_absolute_lifetime=30d");
        let d = read_server_changes(&f, &eff).unwrap();
        assert_eq!(
            d,
            Dto {
                reuse_reaction: Some("log_only".into()),
                ..Dto::default()
            }
        );
    }
}

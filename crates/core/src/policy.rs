//! Refresh-token settings (SPEC §2.9): the server-wide defaults, per-client overrides,
//! validation, and the effective values a grant is created with.

use crate::time::{format_duration, parse_duration, Dur};
use baton_proto::settings::RefreshTokenSettings as Dto;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Usage {
    /// `one_time` for public clients, `reuse` for confidential ones.
    Auto,
    OneTime,
    Reuse,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReuseReaction {
    RevokeGrant,
    RevokeClientUser,
    RevokeSession,
    LogOnly,
}

impl Usage {
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Auto => "auto",
            Usage::OneTime => "one_time",
            Usage::Reuse => "reuse",
        }
    }
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Usage::Auto),
            "one_time" => Ok(Usage::OneTime),
            "reuse" => Ok(Usage::Reuse),
            _ => Err(format!(
                "unknown usage `{s}`: expected auto, one_time or reuse"
            )),
        }
    }
}

impl ReuseReaction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReuseReaction::RevokeGrant => "revoke_grant",
            ReuseReaction::RevokeClientUser => "revoke_client_user",
            ReuseReaction::RevokeSession => "revoke_session",
            ReuseReaction::LogOnly => "log_only",
        }
    }
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "revoke_grant" => Ok(ReuseReaction::RevokeGrant),
            "revoke_client_user" => Ok(ReuseReaction::RevokeClientUser),
            "revoke_session" => Ok(ReuseReaction::RevokeSession),
            "log_only" => Ok(ReuseReaction::LogOnly),
            _ => Err(format!(
                "unknown reuse_reaction `{s}`: expected revoke_grant, revoke_client_user, revoke_session or log_only"
            )),
        }
    }
}

/// The greatest grace period SPEC §2.4 allows.
pub const MAX_GRACE: Dur = Dur::secs(60);

/// A complete set of refresh-token settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshSettings {
    pub usage: Usage,
    pub grace_period: Dur,
    pub reuse_reaction: ReuseReaction,
    /// `None` is `unlimited`.
    pub absolute_lifetime: Option<Dur>,
    /// `None` is `off`.
    pub sliding_lifetime: Option<Dur>,
    pub require_offline_access: bool,
    pub allow_public_clients: bool,
    pub revoke_on_logout: bool,
    pub check_user_active: bool,
    pub update_claims_on_refresh: bool,
    pub persist: bool,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        RefreshSettings {
            usage: Usage::Auto,
            grace_period: Dur::secs(30),
            reuse_reaction: ReuseReaction::RevokeGrant,
            absolute_lifetime: Some(Dur::secs(30 * 86_400)),
            sliding_lifetime: Some(Dur::secs(7 * 86_400)),
            require_offline_access: true,
            allow_public_clients: true,
            revoke_on_logout: true,
            check_user_active: true,
            update_claims_on_refresh: true,
            persist: true,
        }
    }
}

/// A settings error naming the key at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Per-client (or PATCHed) overrides: each `Some` replaces the value beneath it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefreshOverrides {
    pub usage: Option<Usage>,
    pub grace_period: Option<Dur>,
    pub reuse_reaction: Option<ReuseReaction>,
    pub absolute_lifetime: Option<Option<Dur>>,
    pub sliding_lifetime: Option<Option<Dur>>,
    pub require_offline_access: Option<bool>,
    pub allow_public_clients: Option<bool>,
    pub revoke_on_logout: Option<bool>,
    pub check_user_active: Option<bool>,
    pub update_claims_on_refresh: Option<bool>,
    pub persist: Option<bool>,
}

fn lifetime(field: &str, v: &str, none_word: &str) -> Result<Option<Dur>, FieldError> {
    if v == none_word {
        return Ok(None);
    }
    let d = parse_duration(v).map_err(|m| FieldError::new(field, m))?;
    if d <= Dur::ZERO {
        return Err(FieldError::new(
            field,
            format!("must be positive, or `{none_word}`"),
        ));
    }
    Ok(Some(d))
}

impl RefreshOverrides {
    /// Parses the wire/config shape; `prefix` names the section in errors
    /// (e.g. `refresh_tokens` or `clients[web].refresh_tokens`).
    pub fn from_dto(dto: &Dto, prefix: &str) -> Result<Self, FieldError> {
        let f = |k: &str| format!("{prefix}.{k}");
        let mut o = RefreshOverrides::default();
        if let Some(u) = &dto.usage {
            o.usage = Some(Usage::parse(u).map_err(|m| FieldError::new(&f("usage"), m))?);
        }
        if let Some(g) = &dto.grace_period {
            let d = parse_duration(g).map_err(|m| FieldError::new(&f("grace_period"), m))?;
            if d > MAX_GRACE || d < Dur::ZERO {
                return Err(FieldError::new(
                    &f("grace_period"),
                    format!("`{g}` is out of range: 0s to 60s"),
                ));
            }
            o.grace_period = Some(d);
        }
        if let Some(r) = &dto.reuse_reaction {
            o.reuse_reaction = Some(
                ReuseReaction::parse(r).map_err(|m| FieldError::new(&f("reuse_reaction"), m))?,
            );
        }
        if let Some(a) = &dto.absolute_lifetime {
            o.absolute_lifetime = Some(lifetime(&f("absolute_lifetime"), a, "unlimited")?);
        }
        if let Some(s) = &dto.sliding_lifetime {
            o.sliding_lifetime = Some(lifetime(&f("sliding_lifetime"), s, "off")?);
        }
        o.require_offline_access = dto.require_offline_access;
        o.allow_public_clients = dto.allow_public_clients;
        o.revoke_on_logout = dto.revoke_on_logout;
        o.check_user_active = dto.check_user_active;
        o.update_claims_on_refresh = dto.update_claims_on_refresh;
        o.persist = dto.persist;
        Ok(o)
    }

    pub fn to_dto(&self) -> Dto {
        Dto {
            usage: self.usage.map(|u| u.as_str().to_string()),
            grace_period: self.grace_period.map(format_duration),
            reuse_reaction: self.reuse_reaction.map(|r| r.as_str().to_string()),
            absolute_lifetime: self
                .absolute_lifetime
                .map(|a| a.map_or("unlimited".to_string(), format_duration)),
            sliding_lifetime: self
                .sliding_lifetime
                .map(|s| s.map_or("off".to_string(), format_duration)),
            require_offline_access: self.require_offline_access,
            allow_public_clients: self.allow_public_clients,
            revoke_on_logout: self.revoke_on_logout,
            check_user_active: self.check_user_active,
            update_claims_on_refresh: self.update_claims_on_refresh,
            persist: self.persist,
        }
    }

    /// `self` laid over `other` (used to merge a PATCH into stored overrides).
    pub fn over(&self, other: &RefreshOverrides) -> RefreshOverrides {
        RefreshOverrides {
            usage: self.usage.or(other.usage),
            grace_period: self.grace_period.or(other.grace_period),
            reuse_reaction: self.reuse_reaction.or(other.reuse_reaction),
            absolute_lifetime: self.absolute_lifetime.or(other.absolute_lifetime),
            sliding_lifetime: self.sliding_lifetime.or(other.sliding_lifetime),
            require_offline_access: self.require_offline_access.or(other.require_offline_access),
            allow_public_clients: self.allow_public_clients.or(other.allow_public_clients),
            revoke_on_logout: self.revoke_on_logout.or(other.revoke_on_logout),
            check_user_active: self.check_user_active.or(other.check_user_active),
            update_claims_on_refresh: self
                .update_claims_on_refresh
                .or(other.update_claims_on_refresh),
            persist: self.persist.or(other.persist),
        }
    }
}

impl RefreshSettings {
    /// These settings with `o` applied on top.
    pub fn with(&self, o: &RefreshOverrides) -> RefreshSettings {
        RefreshSettings {
            usage: o.usage.unwrap_or(self.usage),
            grace_period: o.grace_period.unwrap_or(self.grace_period),
            reuse_reaction: o.reuse_reaction.unwrap_or(self.reuse_reaction),
            absolute_lifetime: o.absolute_lifetime.unwrap_or(self.absolute_lifetime),
            sliding_lifetime: o.sliding_lifetime.unwrap_or(self.sliding_lifetime),
            require_offline_access: o
                .require_offline_access
                .unwrap_or(self.require_offline_access),
            allow_public_clients: o.allow_public_clients.unwrap_or(self.allow_public_clients),
            revoke_on_logout: o.revoke_on_logout.unwrap_or(self.revoke_on_logout),
            check_user_active: o.check_user_active.unwrap_or(self.check_user_active),
            update_claims_on_refresh: o
                .update_claims_on_refresh
                .unwrap_or(self.update_claims_on_refresh),
            persist: o.persist.unwrap_or(self.persist),
        }
    }

    /// Checks the rules that span keys, for settings that are `section` laid over
    /// others (SPEC §2.6): a sliding window the section sets explicitly must not be
    /// longer than the absolute lifetime in effect, which it could never outlive. An
    /// inherited sliding window (e.g. the 7d default) under a shorter absolute lifetime
    /// is fine: the grant simply dies at its absolute expiry.
    pub fn validate(&self, section: &RefreshOverrides, prefix: &str) -> Result<(), FieldError> {
        if let (Some(abs), Some(Some(sl))) = (self.absolute_lifetime, section.sliding_lifetime) {
            if sl > abs {
                return Err(FieldError::new(
                    &format!("{prefix}.sliding_lifetime"),
                    format!(
                        "sliding_lifetime ({}) is longer than absolute_lifetime ({}); it could never apply",
                        format_duration(sl),
                        format_duration(abs)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether refresh tokens rotate for a client (SPEC §2.3: public clients always do).
    pub fn rotates(&self, public_client: bool) -> bool {
        public_client
            || match self.usage {
                Usage::OneTime => true,
                Usage::Reuse => false,
                Usage::Auto => public_client,
            }
    }

    pub fn to_dto(&self) -> Dto {
        RefreshOverrides {
            usage: Some(self.usage),
            grace_period: Some(self.grace_period),
            reuse_reaction: Some(self.reuse_reaction),
            absolute_lifetime: Some(self.absolute_lifetime),
            sliding_lifetime: Some(self.sliding_lifetime),
            require_offline_access: Some(self.require_offline_access),
            allow_public_clients: Some(self.allow_public_clients),
            revoke_on_logout: Some(self.revoke_on_logout),
            check_user_active: Some(self.check_user_active),
            update_claims_on_refresh: Some(self.update_claims_on_refresh),
            persist: Some(self.persist),
        }
        .to_dto()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dto(f: impl FnOnce(&mut Dto)) -> Dto {
        let mut d = Dto::default();
        f(&mut d);
        d
    }

    #[test]
    fn defaults_match_spec() {
        let d = RefreshSettings::default().to_dto();
        assert_eq!(d.usage.as_deref(), Some("auto"));
        assert_eq!(d.grace_period.as_deref(), Some("30s"));
        assert_eq!(d.reuse_reaction.as_deref(), Some("revoke_grant"));
        assert_eq!(d.absolute_lifetime.as_deref(), Some("30d"));
        assert_eq!(d.sliding_lifetime.as_deref(), Some("7d"));
        assert_eq!(d.persist, Some(true));
    }

    #[test]
    fn rejects_nonsense_naming_the_field() {
        let cases: Vec<(Dto, &str)> = vec![
            (dto(|d| d.usage = Some("sometimes".into())), "rt.usage"),
            (
                dto(|d| d.grace_period = Some("61s".into())),
                "rt.grace_period",
            ),
            (
                dto(|d| d.grace_period = Some("soon".into())),
                "rt.grace_period",
            ),
            (
                dto(|d| d.reuse_reaction = Some("panic".into())),
                "rt.reuse_reaction",
            ),
            (
                dto(|d| d.absolute_lifetime = Some("off".into())),
                "rt.absolute_lifetime",
            ),
            (
                dto(|d| d.absolute_lifetime = Some("0s".into())),
                "rt.absolute_lifetime",
            ),
            (
                dto(|d| d.sliding_lifetime = Some("unlimited".into())),
                "rt.sliding_lifetime",
            ),
        ];
        for (d, field) in cases {
            let err = RefreshOverrides::from_dto(&d, "rt").expect_err(field);
            assert_eq!(err.field, field);
        }
    }

    #[test]
    fn sliding_longer_than_absolute_is_refused() {
        let o = RefreshOverrides::from_dto(
            &dto(|d| {
                d.absolute_lifetime = Some("1h".into());
                d.sliding_lifetime = Some("2h".into())
            }),
            "rt",
        )
        .unwrap();
        let err = RefreshSettings::default()
            .with(&o)
            .validate(&o, "rt")
            .unwrap_err();
        assert_eq!(err.field, "rt.sliding_lifetime");
        for abs in ["unlimited", "2h"] {
            // Only absolute given: the inherited 7d sliding window is not an error.
            let ok =
                RefreshOverrides::from_dto(&dto(|d| d.absolute_lifetime = Some(abs.into())), "rt")
                    .unwrap();
            assert!(
                RefreshSettings::default()
                    .with(&ok)
                    .validate(&ok, "rt")
                    .is_ok(),
                "{abs}"
            );
        }
    }

    #[test]
    fn overrides_round_trip_and_layer() {
        let d = dto(|d| {
            d.usage = Some("one_time".into());
            d.grace_period = Some("5s".into());
            d.absolute_lifetime = Some("unlimited".into());
            d.sliding_lifetime = Some("off".into());
            d.persist = Some(false);
        });
        let o = RefreshOverrides::from_dto(&d, "x").unwrap();
        assert_eq!(o.to_dto(), d);
        let s = RefreshSettings::default().with(&o);
        assert_eq!(s.usage, Usage::OneTime);
        assert_eq!(s.grace_period, Dur::secs(5));
        assert_eq!(s.absolute_lifetime, None);
        assert_eq!(s.sliding_lifetime, None);
        assert_eq!(s.reuse_reaction, ReuseReaction::RevokeGrant);
        let patch = RefreshOverrides {
            grace_period: Some(Dur::secs(1)),
            ..Default::default()
        };
        assert_eq!(patch.over(&o).grace_period, Some(Dur::secs(1)));
        assert_eq!(patch.over(&o).usage, Some(Usage::OneTime));
    }

    #[test]
    fn public_clients_always_rotate() {
        for usage in [Usage::Auto, Usage::OneTime, Usage::Reuse] {
            let s = RefreshSettings {
                usage,
                ..Default::default()
            };
            assert!(s.rotates(true), "{usage:?}");
        }
        assert!(!RefreshSettings::default().rotates(false));
        assert!(RefreshSettings {
            usage: Usage::OneTime,
            ..Default::default()
        }
        .rotates(false));
    }
}

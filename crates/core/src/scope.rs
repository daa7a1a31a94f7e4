//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive, NQCHAR only.
//!
//! A [`Scope`] is parsed once and then used as a set: it keeps its tokens as the
//! space-joined string it is shown, stored and sent as (first-seen order, no
//! duplicates), so reading it (membership, subsets, iteration) allocates nothing.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A set of scope tokens, in the order first given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scope(String);

impl Scope {
    /// Parses a scope parameter, refusing characters RFC 6749 §3.3 forbids. Bounded
    /// before any work: at most 4096 bytes, 64 tokens of at most 128 characters.
    /// Repeated tokens count once; the first occurrence keeps its place.
    pub fn parse(s: &str) -> Result<Scope, String> {
        if s.len() > 4096 {
            return Err("the scope is too long".into());
        }
        let mut out = Scope(String::new());
        let mut n = 0;
        for tok in s.split(' ') {
            if tok.is_empty() {
                continue;
            }
            // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            if !tok
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err("scope contains characters RFC 6749 §3.3 does not allow".into());
            }
            if tok.len() > 128 {
                return Err("a scope token is longer than 128 characters".into());
            }
            if !out.contains(tok) {
                if n == 64 {
                    return Err("too many scope tokens".into());
                }
                out.push(tok);
                n += 1;
            }
        }
        Ok(out)
    }

    /// A scope this server wrote (stored, or in a token it signed) from a parsed
    /// `Scope`, so already in this form: taken as it is, not parsed again.
    pub fn from_stored(s: String) -> Scope {
        Scope(s)
    }

    /// The scope of these tokens, each already a valid scope token (a client's
    /// registered scopes, say); repeats count once.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Scope {
        let mut out = Scope(String::new());
        for t in tokens {
            if !t.is_empty() && !out.contains(t) {
                out.push(t);
            }
        }
        out
    }

    fn push(&mut self, tok: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(tok);
    }

    /// The tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        self.0.split(' ').filter(|t| !t.is_empty())
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Every token of this scope is in `allowed`.
    pub fn is_subset<'a>(&self, allowed: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        self.iter()
            .all(|t| allowed.clone().into_iter().any(|a| a == t))
    }

    /// The tokens of this scope that are also in `other`, in this scope's order.
    pub fn intersection<'a>(&self, other: impl IntoIterator<Item = &'a str> + Clone) -> Scope {
        Scope::from_tokens(
            self.iter()
                .filter(|t| other.clone().into_iter().any(|o| o == *t)),
        )
    }

    /// The space-joined form: shown, stored and sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Scope {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Scope {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'a> IntoIterator for &'a Scope {
    type Item = &'a str;
    type IntoIter = std::iter::Filter<std::str::Split<'a, char>, fn(&&str) -> bool>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.split(' ').filter(|t| !t.is_empty())
    }
}

/// Serialised as its space-joined string.
impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Read from its space-joined string, parsed (and so checked) again.
impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens, as owned strings.
    fn parse(s: &str) -> Result<Vec<String>, String> {
        Ok(Scope::parse(s)?.iter().map(str::to_string).collect())
    }

    #[test]
    fn parses_and_dedups() {
        assert_eq!(
            parse("openid  profile openid").unwrap(),
            vec!["openid", "profile"]
        );
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert!(parse("a\"b").is_err());
        assert!(parse("a\\b").is_err());
        assert!(parse("é").is_err());
        assert!(parse("a\tb").is_err());
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert!(parse(&many.join(" ")).is_err());
        assert_eq!(parse(&many[..64].join(" ")).unwrap().len(), 64);
        assert!(parse(&"a ".repeat(3000)).is_err(), "too long");
        let s = |v: &str| Scope::parse(v).unwrap();
        assert!(s("openid offline_access").contains("offline_access"));
        assert!(!s("openid offline_accessx").contains("offline_access"));
        assert!(s("a").is_subset(["a", "b"]));
        assert!(!s("a c").is_subset(["a", "b"]));
        assert!(s("").is_subset(["a"]));
    }

    #[test]
    fn is_a_set_shown_in_first_seen_order() {
        let s = Scope::parse("  profile openid profile  email ").unwrap();
        assert_eq!(s.as_str(), "profile openid email");
        assert_eq!(s.to_string(), "profile openid email");
        assert_eq!(s.iter().collect::<Vec<_>>(), ["profile", "openid", "email"]);
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        assert!(Scope::parse("   ").unwrap().is_empty());
        assert_eq!(Scope::parse("   ").unwrap().as_str(), "");
        let other = Scope::parse("email profile x").unwrap();
        assert_eq!(s.intersection(&other).as_str(), "profile email");
        assert!(s.intersection(&other).is_subset(&s));
        assert_eq!(Scope::from_tokens(["a", "b", "a", ""]).as_str(), "a b");
        assert_eq!(s, "profile openid email");
    }

    #[test]
    fn serialises_as_its_string() {
        let s = Scope::parse("openid profile").unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"openid profile\"");
        assert_eq!(serde_json::from_str::<Scope>(&j).unwrap(), s);
        assert!(serde_json::from_str::<Scope>("\"a\\\\b\"").is_err());
    }
}

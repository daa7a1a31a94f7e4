//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive, NQCHAR only.

/// Parses a scope parameter into its tokens, refusing characters RFC 6749 §3.3 forbids.
pub fn parse(s: &str) -> Result<Vec<String>, String> {
    // Bounded before any work: at most 64 tokens of at most 128 characters.
    if s.len() > 4096 {
        return Err("the scope is too long".into());
    }
    let mut out: Vec<String> = Vec::new();
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
        if !out.iter().any(|t| t == tok) {
            if out.len() == 64 {
                return Err("too many scope tokens".into());
            }
            out.push(tok.to_string());
        }
    }
    Ok(out)
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub fn contains(scope: &str, token: &str) -> bool {
    scope.split(' ').any(|t| t == token)
}

/// Every token of `requested` is in `allowed`.
pub fn is_subset(requested: &[String], allowed: &[String]) -> bool {
    requested.iter().all(|r| allowed.iter().any(|a| a == r))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(contains("openid offline_access", "offline_access"));
        assert!(!contains("openid offline_accessx", "offline_access"));
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_subset(&s(&["a"]), &s(&["a", "b"])));
        assert!(!is_subset(&s(&["a", "c"]), &s(&["a", "b"])));
    }
}

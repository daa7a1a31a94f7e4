use super::glob_escape;

#[test]
fn only_noeviction_is_accepted() {
    assert_eq!(super::policy_problem("noeviction"), None);
    for p in [
        "allkeys-lru",
        "volatile-ttl",
        "volatile-lru",
        "allkeys-random",
    ] {
        let e = super::policy_problem(p).unwrap();
        assert!(e.contains(p) && e.contains("noeviction"), "{e}");
    }
}

#[test]
fn glob_escape_escapes_pattern_characters() {
    assert_eq!(glob_escape("baton:"), "baton:");
    assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
}

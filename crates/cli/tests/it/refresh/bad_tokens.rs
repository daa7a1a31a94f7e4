//! Altered, foreign and forged refresh tokens get `invalid_grant`, change nothing
//! and record nothing.

use super::*;
use baton_core::token::{RefreshClaims, TokenKeys, FLAG_NOT_PERSISTED};
use baton_testkit::flow::b64url;

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The ways of spoiling `t` these tests try.
fn spoiled(t: &str) -> Vec<(String, String)> {
    let body = &t[4..];
    let raw = b64url_decode(body);
    assert_eq!(b64url(&raw), body, "helpers round-trip");
    let std_b64 = {
        let s = body.replace('-', "+").replace('_', "/");
        let pad = (4 - s.len() % 4) % 4;
        format!("{s}{}", "=".repeat(pad))
    };
    let other = TokenKeys::from_secret(b"another-server-secret-0123456789-abcdef");
    let mut v: Vec<(&str, String)> = vec![
        ("prefix only", "brt_".into()),
        ("truncated by one", t[..t.len() - 1].into()),
        ("truncated by half", t[..t.len() / 2].into()),
        ("padded =", format!("{t}=")),
        ("padded ==", format!("{t}==")),
        ("one more char", format!("{t}A")),
        ("leading space", format!(" {t}")),
        ("standard base64", format!("brt_{std_b64}")),
        ("standard base64, no prefix", std_b64.clone()),
        ("wrong prefix", format!("xrt_{body}")),
        ("upper-case prefix", format!("BRT_{body}")),
        ("no prefix", body.into()),
        ("upper-cased", t.to_uppercase()),
        ("twice", format!("{t}{t}")),
        ("10 KB", format!("{t}{}", "A".repeat(10 * 1024))),
        ("non-ASCII", format!("brt_é{}", &body[2..])),
        ("non-ASCII appended", format!("{t}→")),
        (
            "other server's key",
            other.seal(&RefreshClaims {
                grant_id: baton_core::model::GrantId(raw[2..18].try_into().unwrap()),
                generation: 1,
                flags: raw[1],
            }),
        ),
    ];
    // One bit flipped in each field: version, flags, grant id, generation, key id, MAC.
    for (name, byte) in [
        ("version", 0),
        ("flags", 1),
        ("grant id", 9),
        ("generation", 25),
        ("key id", 26),
        ("MAC first", 27),
        ("MAC last", raw.len() - 1),
    ] {
        for bit in [0, 7] {
            let mut r = raw.clone();
            r[byte] ^= 1 << bit;
            v.push((name, format!("brt_{}", b64url(&r))));
        }
    }
    // The last character's unused low bits: a non-canonical encoding of the same bytes.
    let last = body.chars().last().unwrap();
    let twin = B64[(B64.iter().position(|&b| b as char == last).unwrap() ^ 1) % 64] as char;
    v.push((
        "non-canonical last char",
        format!("brt_{}{twin}", &body[..body.len() - 1]),
    ));
    v.into_iter().map(|(n, s)| (n.to_string(), s)).collect()
}

#[tokio::test]
async fn spoiled_tokens_are_invalid_grant_and_change_nothing() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await); // generation 2, t1 inside grace
    let web = login(&s, WEB_C).await;
    let before = (grant(&s, &t2).await, grant(&s, &web).await);
    let events = all_events(&s).await.len();
    for base in [&t1, &t2] {
        for (name, bad) in spoiled(base) {
            for cl in [SPA_C, WEB_C] {
                let (st, v) = refresh(&s, cl, &bad).await;
                assert_eq!(st, StatusCode::BAD_REQUEST, "{name}: {v}");
                assert_eq!(v["error"], "invalid_grant", "{name}: {v}");
                let d = v["error_description"].as_str().unwrap_or("");
                assert!(!d.contains(&base[10..30]), "{name}: echoes the token: {d}");
            }
        }
    }
    // RFC 6749 §3.1: an empty parameter is an omitted one; and the strict form parser
    // refuses control characters. Both are malformed requests, not bad grants.
    for (name, bad, why) in [
        ("empty", String::new(), "required"),
        ("NUL", format!("{t2}\0"), "control"),
    ] {
        let (st, v) = refresh(&s, SPA_C, &bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{name}: {v}");
        assert_eq!(v["error"], "invalid_request", "{name}: {v}");
        assert!(
            v["error_description"].as_str().unwrap().contains(why),
            "{v}"
        );
    }
    assert_eq!(all_events(&s).await.len(), events, "no event for junk");
    assert_eq!((grant(&s, &t2).await, grant(&s, &web).await), before);
    // The real tokens are as good as before (t1 is still inside the grace period).
    assert_eq!(rt(&refresh_ok(&s, SPA_C, &t1).await), t2);
    refresh_ok(&s, SPA_C, &t2).await;
    refresh_ok(&s, WEB_C, &web).await;
}

#[tokio::test]
async fn a_forged_future_generation_is_refused_and_changes_nothing() {
    let s = TestServer::start("").await;
    let t1 = login(&s, SPA_C).await;
    let t2 = rt(&refresh_ok(&s, SPA_C, &t1).await);
    let c = claims(&s, &t2);
    let before = grant(&s, &t2).await;
    let events = all_events(&s).await.len();
    for generation in [3, 7, u64::MAX] {
        let forged = s.state().rt_keys.seal(&RefreshClaims { generation, ..c });
        let (st, v) = refresh(&s, SPA_C, &forged).await;
        assert_invalid_grant(st, &v, "invalid");
    }
    // Sealed for an unknown grant, or with the cache flag on a stored grant.
    let unknown = RefreshClaims {
        grant_id: baton_core::model::GrantId([0x5a; 16]),
        ..c
    };
    let flagged = RefreshClaims {
        flags: c.flags | FLAG_NOT_PERSISTED,
        ..c
    };
    for forged in [unknown, flagged] {
        let (st, v) = refresh(&s, SPA_C, &s.state().rt_keys.seal(&forged)).await;
        assert_invalid_grant(st, &v, "invalid");
    }
    assert_eq!(all_events(&s).await.len(), events);
    assert_eq!(grant(&s, &t2).await, before);
    let t3 = rt(&refresh_ok(&s, SPA_C, &t2).await);
    assert_eq!(grant(&s, &t3).await.generation, 3);
}

#[tokio::test]
async fn other_token_kinds_are_not_refresh_tokens() {
    let s = TestServer::start("").await;
    let v = login_as(&s, SPA_C, "alice", "openid offline_access").await;
    let events = all_events(&s).await.len();
    for t in [at(&v), v["id_token"].as_str().unwrap().to_string()] {
        let (st, r) = refresh(&s, SPA_C, &t).await;
        assert_invalid_grant(st, &r, "");
    }
    assert_eq!(all_events(&s).await.len(), events);
    refresh_ok(&s, SPA_C, &rt(&v)).await;
}

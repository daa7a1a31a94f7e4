use super::*;

/// base64url without padding (the JOSE header).
fn b64url(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | A.iter().position(|&a| a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn kid_of(jwt: &str) -> String {
    let bytes = b64url(jwt.split('.').next().unwrap());
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_string()
}

async fn jwks_kids(s: &TestServer) -> Vec<String> {
    let v: Value = s
        .http
        .get(format!("{}/jwks", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

async fn userinfo(s: &TestServer, at: &str) -> u16 {
    s.http
        .get(format!("{}/userinfo", s.url))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn rotation_keeps_old_keys_published_and_old_tokens_valid() {
    let s = TestServer::start_admin("").await;
    let before = s.password_grant("openid offline_access").await;
    let old_at = before["access_token"].as_str().unwrap().to_string();
    let old_kid = kid_of(&old_at);
    let (st, v) = call(&s, "POST", "/admin/keys/rotate", None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["active"].as_array().unwrap().len(), 3);
    assert!(v["retired"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == old_kid.as_str()));
    assert!(!v.to_string().contains("\"d\""), "no private material");
    let kids = jwks_kids(&s).await;
    assert!(kids.contains(&old_kid), "the retired key stays in JWKS");
    for k in v["active"].as_array().unwrap() {
        assert!(kids.contains(&k["kid"].as_str().unwrap().to_string()));
    }
    // Tokens signed before still verify; new ones use the new key.
    assert_eq!(userinfo(&s, &old_at).await, 200);
    let after = s.password_grant("openid").await;
    let new_at = after["access_token"].as_str().unwrap();
    assert_ne!(kid_of(new_at), old_kid);
    assert_eq!(userinfo(&s, new_at).await, 200);
    // Once every token it signed has expired, the old key leaves JWKS (at the next load).
    s.advance(baton_core::time::Dur::secs(3 * 3600));
    baton_server::admin::ops::reload_keys(s.state(), s.clock.now())
        .await
        .unwrap();
    assert!(!jwks_kids(&s).await.contains(&old_kid));
    assert_eq!(s.events("keys.rotated").await.len(), 1);
}

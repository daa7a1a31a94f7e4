//! `/account`: the signed-in user's applications, each with a `name="revoke"` form;
//! sign-in first when needed; CSRF; only the user's own grants.

use super::*;
use baton_testkit::flow::hidden_inputs;
use baton_testkit::ALICE;

/// The `(csrf, revoke value)` of every revoke form on the page.
fn revoke_forms(page: &str) -> Vec<(String, String)> {
    page.split("<form")
        .skip(1)
        .filter_map(|f| {
            let f = &f[..f.find("</form>")?];
            assert!(f.starts_with(" method=\"post\""), "{f}");
            let csrf = hidden_inputs(f).get("csrf")?.clone();
            let at = f.find("name=\"revoke\" value=\"")? + "name=\"revoke\" value=\"".len();
            let value = f[at..].split('"').next()?.to_string();
            Some((csrf, value))
        })
        .collect()
}

async fn account_page(b: &Browser<'_>) -> String {
    let r = b.get("/account").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn password_grant(s: &TestServer, user: &str, pw: &str) -> Value {
    let (st, v) = s
        .post_form(
            "/token",
            Some(RP),
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
                ("scope", "openid offline_access"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn signing_in_from_the_account_page_comes_back_to_it() {
    let s = TestServer::start(&clients(None, "")).await;
    let b = Browser::fresh(&s);
    let r = b.get("/account").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let login = location(&r).unwrap();
    assert!(login.starts_with("/login?req="), "{login}");
    let page = b.get(&login).await.text().await.unwrap();
    assert!(page.contains("your account"), "{page}");
    let r = b.login(&login, ALICE.0, ALICE.1).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r).as_deref(), Some("/account"));
    let page = account_page(&b).await;
    assert!(page.contains("Your account"), "{page}");
    assert!(page.contains("No application holds access"), "{page}");
    let ok = s.events("login.succeeded").await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].client_id, None, "a sign-in for no client");
    // The account handle asks no consent and issues no code.
    let consent = b.get(&login.replace("/login", "/consent")).await;
    assert_eq!(location(&consent).as_deref(), Some("/account"));
}

#[tokio::test]
async fn the_page_lists_each_grant_and_revoking_one_stops_only_it() {
    let s = TestServer::start(&clients(None, "")).await;
    let rp = flow(&s, RP, "openid profile offline_access").await;
    let keeper = flow(&s, KEEPER, "openid online_access").await;
    let rp_rt = str_of(&rp.tokens, "refresh_token").to_string();
    let keeper_rt = str_of(&keeper.tokens, "refresh_token").to_string();
    let b = Browser::shared(&s);
    let page = account_page(&b).await;
    for want in [
        "Relying Party",
        "Keeper",
        "keep access while you are away",
        "keep access while you stay signed in here",
        "see your name and basic profile details",
        "<time datetime=\"",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }
    let forms = revoke_forms(&page);
    assert_eq!(forms.len(), 2, "one form per grant: {page}");
    let rp_grant = grant_of(&s, &rp_rt).await.id.to_hex();
    let keeper_grant = grant_of(&s, &keeper_rt).await.id.to_hex();
    assert!(forms.iter().any(|(_, v)| *v == rp_grant));
    assert!(forms.iter().any(|(_, v)| *v == keeper_grant));

    let csrf = forms[0].0.clone();
    let r = b
        .post(
            "/account",
            &[("csrf".into(), csrf), ("revoke".into(), rp_grant.clone())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r).as_deref(), Some("/account"));
    assert_invalid_grant(refresh_as(&s, RP, &rp_rt).await);
    let (st, v) = refresh_as(&s, KEEPER, &keeper_rt).await;
    assert_eq!(st, StatusCode::OK, "the other grant stays usable: {v}");
    let revoked = s.events("grant.revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].details["reason"], "revoked_by_user");
    assert_eq!(
        revoked[0].grant_id.map(|g| g.to_hex()),
        Some(rp_grant.clone())
    );

    let page = account_page(&b).await;
    let forms = revoke_forms(&page);
    assert_eq!(forms.len(), 1, "{page}");
    assert_eq!(forms[0].1, keeper_grant);
    // Gone from the applications (the activity list below them tells of the revocation).
    let apps = &page[..page.find("<section class=\"activity\">").unwrap()];
    assert!(!apps.contains("Relying Party"), "{page}");
    assert!(
        page.contains("Access of Relying Party was revoked by you."),
        "{page}"
    );
    // Revoking it again (an old form) changes nothing and comes back.
    let r = b
        .post(
            "/account",
            &[
                ("csrf".into(), forms[0].0.clone()),
                ("revoke".into(), rp_grant),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.events("grant.revoked").await.len(), 1);
}

#[tokio::test]
async fn posts_without_csrf_or_for_another_users_grant_change_nothing() {
    let s = TestServer::start(&clients(None, "")).await;
    let mine = flow(&s, RP, "openid offline_access").await;
    let mine_rt = str_of(&mine.tokens, "refresh_token").to_string();
    let bobs = password_grant(&s, "bob", "bob-password").await;
    let bobs_rt = str_of(&bobs, "refresh_token").to_string();
    let bobs_grant = grant_of(&s, &bobs_rt).await.id.to_hex();
    let my_grant = grant_of(&s, &mine_rt).await.id.to_hex();
    let b = Browser::shared(&s);
    let page = account_page(&b).await;
    assert!(
        !page.contains(&bobs_grant),
        "bob's grant is not on alice's page"
    );
    let csrf = revoke_forms(&page)[0].0.clone();

    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // No CSRF token, a forged one, or the right one from another browser: 403.
    let r = b.post("/account", &form(&[("revoke", &my_grant)])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = b
        .post(
            "/account",
            &form(&[("csrf", "AAAA"), ("revoke", &my_grant)]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = Browser::fresh(&s)
        .post("/account", &form(&[("csrf", &csrf), ("revoke", &my_grant)]))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "not signed in: to the login page"
    );
    assert!(location(&r).unwrap().starts_with("/login"));
    // Bob's grant, a junk id, an unknown id: no effect.
    let r = b
        .post(
            "/account",
            &form(&[("csrf", &csrf), ("revoke", &bobs_grant)]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .post("/account", &form(&[("csrf", &csrf), ("revoke", "zz")]))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = b
        .post(
            "/account",
            &form(&[("csrf", &csrf), ("revoke", &"00".repeat(16))]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .post(
            "/account",
            &form(&[
                ("csrf", &csrf),
                ("revoke", &my_grant),
                ("revoke", &my_grant),
            ]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a field given twice");

    assert!(
        s.events("grant.revoked").await.is_empty(),
        "nothing revoked"
    );
    for (who, rt) in [(RP, &mine_rt), (RP, &bobs_rt)] {
        let (st, v) = refresh_as(&s, who, rt).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
}

#[tokio::test]
async fn revoking_an_application_withdraws_its_consent() {
    use baton_testkit::flow::{AuthParams, Callback};
    let s = TestServer::start(&clients(None, "")).await;
    let rp = flow(&s, RP, "openid offline_access").await;
    let keeper = flow(&s, KEEPER, "openid offline_access").await;
    let b = Browser::shared(&s);
    // Consent given: prompt=none gets a code without a page.
    let silent = |client: &str| {
        let mut p = AuthParams::new(client, "openid offline_access");
        p.prompt = Some("none".into());
        p
    };
    let cb = Callback::parse(&location(&b.authorize(&silent("rp")).await).unwrap());
    assert!(cb.get("code").is_some(), "{}", cb.url);

    let rp_grant = grant_of(&s, str_of(&rp.tokens, "refresh_token"))
        .await
        .id
        .to_hex();
    let page = account_page(&b).await;
    let (csrf, _) = revoke_forms(&page)
        .into_iter()
        .find(|(_, v)| *v == rp_grant)
        .unwrap();
    let r = b
        .post(
            "/account",
            &[("csrf".into(), csrf), ("revoke".into(), rp_grant)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The application must ask again: prompt=none is refused, a plain request shows
    // the consent page.
    let cb = Callback::parse(&location(&b.authorize(&silent("rp")).await).unwrap());
    assert_eq!(cb.error(), Some("consent_required"), "{}", cb.url);
    assert!(cb.get("code").is_none());
    let next = location(&b.authorize(&AuthParams::new("rp", "openid")).await).unwrap();
    assert!(next.starts_with("/consent"), "{next}");
    // Another application's consent stays.
    let cb = Callback::parse(&location(&b.authorize(&silent("keeper")).await).unwrap());
    assert!(cb.get("code").is_some(), "{}", cb.url);
    let (st, v) = refresh_as(&s, KEEPER, str_of(&keeper.tokens, "refresh_token")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn the_page_shows_recent_security_activity() {
    let s = TestServer::start(&clients(None, "usage = \"one_time\"\n")).await;
    let f = flow(&s, RP, "openid offline_access").await;
    let t1 = str_of(&f.tokens, "refresh_token").to_string();
    let (st, v) = refresh_as(&s, RP, &t1).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    s.advance(baton_core::time::Dur::secs(31)); // past the grace period
    assert_invalid_grant(refresh_as(&s, RP, &t1).await);
    assert_eq!(s.events("token.reuse_detected").await.len(), 1);
    // Bob's doings are not on Alice's page.
    password_grant(&s, "bob", "bob-password").await;

    let page = account_page(&Browser::shared(&s)).await;
    let at = page
        .find("<section class=\"activity\">")
        .unwrap_or_else(|| panic!("an activity section: {page}"));
    let act = &page[at..];
    assert!(act.contains("<h2>Recent security activity</h2>"), "{act}");
    let line = |needle: &str| {
        act.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` in {act}"))
    };
    let replay = line("A replayed token of Relying Party was blocked");
    let revoked = line("Access of Relying Party was revoked after a replayed token was blocked.");
    let allowed = line("You allowed Relying Party.");
    let signed_in = line("Signed in to Relying Party");
    assert!(
        replay < allowed && revoked < allowed && allowed < signed_in,
        "newest first: {act}"
    );
    assert!(act.contains("<time datetime=\""), "{act}");
    let items = act.matches("<li>").count();
    assert!((4..=20).contains(&items), "{items} lines: {act}");
    // Bob signed in with the password grant: a line of his would say so without an IP
    // the page shows once per sign-in; Alice signed in once.
    assert_eq!(act.matches("Signed in").count(), 1, "{act}");
}

//! `[[resources]]`, the clients' references to them, users' roles and groups.

use super::{client, load_str, refused};

const API: &str =
    "[[resources]]\nidentifier = \"https://api.example/invoices\"\nscopes = [\"invoices.read\"]\n";

#[test]
fn resources_load_and_clients_may_name_them() {
    let c = load_str(&format!(
        "{API}claims = [\"roles\"]\naccess_token_lifetime = \"5m\"\n{}",
        client(
            "web",
            "resources = [\"https://api.example/invoices\"]\ndefault_resource = \"https://api.example/invoices\"\nid_token_claims = [\"groups\"]"
        )
    ))
    .unwrap();
    assert_eq!(c.resources.len(), 1);
    assert_eq!(c.resources[0].claims, vec!["roles"]);
    let web = &c.clients[0].apis;
    assert_eq!(
        web.default_resource.as_deref(),
        Some("https://api.example/invoices")
    );
    assert_eq!(web.id_token_claims, vec!["groups"]);
}

#[test]
fn bad_resources_and_references_name_their_key() {
    refused(
        "[[resources]]\nidentifier = \"not a uri\"\n",
        "resources[0].identifier",
    );
    refused(&format!("{API}{API}"), "resources[1].identifier");
    refused(
        &format!("{API}claims = [\"sub\"]\n"),
        "resources[0].claims[0]",
    );
    refused(&format!("{API}bogus = 1\n"), "bogus");
    refused(
        &format!(
            "{API}{}",
            client("web", "resources = [\"https://api.example/other\"]")
        ),
        "clients[0].resources[0]",
    );
    refused(
        &format!(
            "{API}{}",
            client("web", "introspect_resources = [\"urn:x:y\"]")
        ),
        "clients[0].introspect_resources[0]",
    );
    refused(
        &format!(
            "{API}{}",
            client("web", "default_resource = \"https://api.example/invoices\"")
        ),
        "clients[0].default_resource",
    );
    refused(
        &format!("{API}{}", client("web", "access_token_claims = [\"aud\"]")),
        "clients[0].access_token_claims[0]",
    );
}

#[test]
fn users_roles_and_groups_are_checked() {
    let user = |extra: &str| {
        format!("[[users]]\nusername = \"alice\"\npassword = \"pw-0123456789\"\n{extra}\n")
    };
    let c = load_str(&user(
        "roles = [\"admin\", \"admin\"]\ngroups = [\"finance\"]",
    ))
    .unwrap();
    assert_eq!(c.users[0].roles, vec!["admin"], "repeats dropped");
    assert_eq!(c.users[0].groups, vec!["finance"]);
    refused(&user("roles = [\"\"]"), "users[0].roles[0]");
    refused(
        &user("[users.claims]\nroles = [\"x\"]"),
        "users[0].claims.roles",
    );
}

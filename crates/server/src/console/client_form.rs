//! A client's main settings as a form (create and edit), and reading it back into the
//! admin API's shapes (`ClientCreate`, `ClientPatch`), which the ops validate.

use super::escape;
use crate::admin::AdminError;
use crate::http::form::Form;
use baton_proto::admin::{ClientCreate, ClientPatch, ClientView};

/// The authentication methods offered (a `private_key_jwt` client needs its JWKS:
/// the admin API or the CLI set those up).
const METHODS: [(&str, &str); 3] = [
    ("client_secret_basic", "Client secret (HTTP Basic)"),
    ("client_secret_post", "Client secret (in the form)"),
    ("none", "None: a public client (SPA, native app)"),
];

const GRANT_TYPES: [(&str, &str); 4] = [
    ("authorization_code", "Authorization code"),
    ("refresh_token", "Refresh token"),
    ("client_credentials", "Client credentials"),
    ("password", "Password (legacy)"),
];

/// The names of the fields this form posts (beside `csrf` and the refresh settings).
pub const FIELDS: [&str; 12] = [
    "client_id",
    "client_name",
    "token_endpoint_auth_method",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "scopes",
    "active",
    "gt_authorization_code",
    "gt_refresh_token",
    "gt_client_credentials",
    "gt_password",
];

/// What the form shows: a client's values, or a new client's defaults.
pub struct Values {
    pub client_id: String,
    pub client_name: String,
    pub method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub active: bool,
}

impl Values {
    pub fn new_client() -> Values {
        Values {
            client_id: String::new(),
            client_name: String::new(),
            method: "client_secret_basic".into(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_origins: Vec::new(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            active: true,
        }
    }

    pub fn of(c: &ClientView) -> Values {
        Values {
            client_id: c.client_id.clone(),
            client_name: c.client_name.clone().unwrap_or_default(),
            method: c.token_endpoint_auth_method.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            allowed_origins: c.allowed_origins.clone(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes.clone(),
            active: c.active,
        }
    }

    /// What was posted, to show the form again with the user's input after an error.
    pub fn posted(f: &Form, client_id: &str) -> Values {
        Values {
            client_id: f.get("client_id").unwrap_or(client_id).to_string(),
            client_name: f.get("client_name").unwrap_or_default().to_string(),
            method: f
                .get("token_endpoint_auth_method")
                .unwrap_or_default()
                .to_string(),
            redirect_uris: lines(f.get("redirect_uris")),
            post_logout_redirect_uris: lines(f.get("post_logout_redirect_uris")),
            allowed_origins: lines(f.get("allowed_origins")),
            grant_types: grant_types(f),
            scopes: words(f.get("scopes")),
            active: f.has("active"),
        }
    }
}

fn lines(v: Option<&str>) -> Vec<String> {
    v.unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn words(v: Option<&str>) -> Vec<String> {
    v.unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn grant_types(f: &Form) -> Vec<String> {
    GRANT_TYPES
        .iter()
        .filter(|(g, _)| f.has(&format!("gt_{g}")))
        .map(|(g, _)| (*g).to_string())
        .collect()
}

/// The fields (inside a `<form>`); `new`: the `client_id` is editable; `disabled`:
/// every control read-only (a client of the configuration file).
pub fn fields(v: &Values, new: bool, disabled: bool) -> String {
    let dis = if disabled { " disabled" } else { "" };
    let id_field = if new {
        format!(
            "<label for=\"client_id\">Client ID</label>\
             <input type=\"text\" id=\"client_id\" name=\"client_id\" required value=\"{}\" \
             aria-describedby=\"client_id_hint\" autocomplete=\"off\">\
             <p class=\"hint\" id=\"client_id_hint\">What the application sends as client_id; it cannot be changed later.</p>",
            escape(&v.client_id)
        )
    } else {
        String::new()
    };
    let methods: String = METHODS
        .iter()
        .map(|(m, words)| {
            let sel = if v.method == *m { " selected" } else { "" };
            format!("<option value=\"{m}\"{sel}>{words}</option>")
        })
        .collect();
    // A method the console does not offer (private_key_jwt) is kept as it is.
    let methods = if METHODS.iter().any(|(m, _)| *m == v.method) || v.method.is_empty() {
        methods
    } else {
        format!(
            "<option value=\"{0}\" selected>{0}</option>{methods}",
            escape(&v.method)
        )
    };
    let grants: String = GRANT_TYPES
        .iter()
        .map(|(g, words)| {
            let checked = if v.grant_types.iter().any(|x| x == g) {
                " checked"
            } else {
                ""
            };
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"gt_{g}\" value=\"on\"{checked}{dis}> {words}</label>"
            )
        })
        .collect();
    let active = if v.active { " checked" } else { "" };
    format!(
        "{id_field}\
         <label for=\"client_name\">Name</label>\
         <input type=\"text\" id=\"client_name\" name=\"client_name\" value=\"{}\" aria-describedby=\"client_name_hint\"{dis}>\
         <p class=\"hint\" id=\"client_name_hint\">Shown to users on the consent and account pages.</p>\
         <label for=\"token_endpoint_auth_method\">Authentication</label>\
         <select id=\"token_endpoint_auth_method\" name=\"token_endpoint_auth_method\"{dis}>{methods}</select>\
         <label for=\"redirect_uris\">Redirect URIs</label>\
         <textarea id=\"redirect_uris\" name=\"redirect_uris\" aria-describedby=\"redirect_uris_hint\"{dis}>{}</textarea>\
         <p class=\"hint\" id=\"redirect_uris_hint\">One per line, exactly as the application sends them.</p>\
         <label for=\"post_logout_redirect_uris\">Post-logout redirect URIs</label>\
         <textarea id=\"post_logout_redirect_uris\" name=\"post_logout_redirect_uris\" aria-describedby=\"plr_hint\"{dis}>{}</textarea>\
         <p class=\"hint\" id=\"plr_hint\">One per line.</p>\
         <label for=\"allowed_origins\">Allowed browser origins (CORS)</label>\
         <textarea id=\"allowed_origins\" name=\"allowed_origins\" aria-describedby=\"origins_hint\"{dis}>{}</textarea>\
         <p class=\"hint\" id=\"origins_hint\">One per line, e.g. https://app.example.</p>\
         <fieldset><legend>Grant types</legend>{grants}</fieldset>\
         <label for=\"scopes\">Scopes</label>\
         <input type=\"text\" id=\"scopes\" name=\"scopes\" value=\"{}\" aria-describedby=\"scopes_hint\"{dis}>\
         <p class=\"hint\" id=\"scopes_hint\">Separated by spaces.</p>\
         <label class=\"check\"><input type=\"checkbox\" name=\"active\" value=\"on\"{active}{dis}> Active (an inactive client can get no tokens)</label>",
        escape(&v.client_name),
        escape(&v.redirect_uris.join("\n")),
        escape(&v.post_logout_redirect_uris.join("\n")),
        escape(&v.allowed_origins.join("\n")),
        escape(&v.scopes.join(" ")),
    )
}

fn method(f: &Form) -> Result<String, AdminError> {
    f.get("token_endpoint_auth_method")
        .map(str::to_string)
        .ok_or_else(|| AdminError::invalid("token_endpoint_auth_method", "choose one"))
}

/// A new client as posted (its refresh-token overrides included).
pub fn read_create(
    f: &Form,
    refresh_tokens: baton_proto::settings::RefreshTokenSettings,
) -> Result<ClientCreate, AdminError> {
    let client_id = f
        .get("client_id")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| AdminError::invalid("client_id", "is required"))?;
    Ok(ClientCreate {
        client_id: client_id.to_string(),
        client_name: f.get("client_name").map(str::to_string),
        token_endpoint_auth_method: Some(method(f)?),
        redirect_uris: lines(f.get("redirect_uris")),
        post_logout_redirect_uris: lines(f.get("post_logout_redirect_uris")),
        allowed_origins: lines(f.get("allowed_origins")),
        grant_types: Some(grant_types(f)),
        scopes: Some(words(f.get("scopes"))),
        active: Some(f.has("active")),
        refresh_tokens,
        ..ClientCreate::default()
    })
}

/// The change a posted edit form makes: the keys the form shows (the others, such
/// as resources or claims, keep their values).
pub fn read_patch(f: &Form) -> Result<ClientPatch, AdminError> {
    Ok(ClientPatch {
        client_name: Some(f.get("client_name").map(str::to_string)),
        token_endpoint_auth_method: Some(method(f)?),
        redirect_uris: Some(lines(f.get("redirect_uris"))),
        post_logout_redirect_uris: Some(lines(f.get("post_logout_redirect_uris"))),
        allowed_origins: Some(lines(f.get("allowed_origins"))),
        grant_types: Some(grant_types(f)),
        scopes: Some(words(f.get("scopes"))),
        active: Some(f.has("active")),
        ..ClientPatch::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_form_reads_into_the_api_shapes() {
        let f = crate::http::form::parse(
            b"client_id=web&client_name=Web&token_endpoint_auth_method=client_secret_basic\
              &redirect_uris=https%3A%2F%2Fa.example%2Fcb%0D%0A%0D%0Ahttps%3A%2F%2Fb.example%2Fcb\
              &scopes=openid++offline_access&gt_refresh_token=on&active=on",
        )
        .unwrap();
        let c = read_create(&f, Default::default()).unwrap();
        assert_eq!(c.client_id, "web");
        assert_eq!(
            c.redirect_uris,
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(c.scopes.unwrap(), ["openid", "offline_access"]);
        assert_eq!(c.grant_types.unwrap(), ["refresh_token"]);
        assert_eq!(c.active, Some(true));
        let p = read_patch(&f).unwrap();
        assert_eq!(p.client_name, Some(Some("Web".into())));
        let f = crate::http::form::parse(b"client_name=").unwrap();
        assert_eq!(
            read_patch(&f).unwrap_err(),
            AdminError::invalid("token_endpoint_auth_method", "choose one")
        );
        assert!(read_create(&f, Default::default()).is_err());
    }
}

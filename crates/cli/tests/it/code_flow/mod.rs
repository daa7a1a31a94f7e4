//! The browser authorization-code flow: `/authorize` validation, the login and consent
//! pages and their CSRF protection, browser sessions, the `authorization_code` grant at
//! `/token`, and the ID tokens it issues; end to end for both kinds of client.

mod authorize;
mod code_grant;
mod csrf;
mod end_to_end;
mod id_token;
mod login_consent;
mod loopback;
mod sessions;

//! The token endpoint: its grants other than the code flow's (password,
//! client_credentials), its response headers, and client authentication.

mod client_auth;
mod grants;

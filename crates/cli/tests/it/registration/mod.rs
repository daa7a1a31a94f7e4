//! RFC 7591 dynamic client registration (`POST /register`), and how the server treats
//! a client that registered itself.

mod dynamic_clients;
mod endpoint;

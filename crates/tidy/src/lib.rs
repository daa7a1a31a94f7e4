//! The rules ARCHITECTURE.md states, checked by reading the source tree (in the spirit of
//! rust-analyzer's `tidy`). Everything is in the tests below; `cargo test -p baton-tidy`
//! runs them, and so does the project's test command. Each failure names the file and
//! line that breaks a rule, and the rule.

#[cfg(test)]
mod tests;

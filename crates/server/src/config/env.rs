//! The environment overlay: `BATON_<SECTION>__<KEY>` and the top-level `BATON_<KEY>`
//! variables, written into the TOML document before it is deserialized, so that a
//! value from the environment is checked exactly like one from the file.

const SECTIONS: &[&str] = &[
    "storage",
    "access_tokens",
    "refresh_tokens",
    "sessions",
    "cleanup",
    "registration",
    "http",
    "login",
    "signing_keys",
    "dpop",
    "outbox",
];

const TOP_KEYS: &[&str] = &["issuer", "listen", "secret_file", "admin_token"];

/// Overlays `BATON_<SECTION>__<KEY>` and `BATON_<KEY>` variables onto the table.
pub(super) fn apply(
    table: &mut toml::Table,
    env: &[(String, String)],
) -> Result<(), (String, String)> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("BATON_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let (section, key) = match rest.split_once("__") {
            Some((s, k)) => (Some(s.to_string()), k.to_string()),
            None => (None, rest.clone()),
        };
        match &section {
            Some(s) if !SECTIONS.contains(&s.as_str()) => {
                return Err((
                    name.clone(),
                    format!("unknown section `{s}` in environment variable {name}"),
                ));
            }
            // BATON_X without a section is configuration only for the top-level keys;
            // other variables (BATON_BIN, BATON_LOG_FORMAT …) belong to other tools.
            None if !TOP_KEYS.contains(&key.as_str()) => continue,
            _ => {}
        }
        let parsed = env_value(value);
        match section {
            Some(s) => {
                let entry = table
                    .entry(s.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                match entry {
                    toml::Value::Table(t) => {
                        t.insert(key, parsed);
                    }
                    _ => return Err((s, "is not a table".into())),
                }
            }
            // Every top-level key is a string: an all-digit admin token stays one.
            None => {
                table.insert(key, toml::Value::String(value.clone()));
            }
        }
    }
    Ok(())
}

/// An environment value as TOML: booleans and integers as such, everything else a string.
fn env_value(v: &str) -> toml::Value {
    match v {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => v
            .parse::<i64>()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(v.to_string())),
    }
}

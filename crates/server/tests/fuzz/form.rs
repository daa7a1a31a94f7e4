//! The strict form parser (`http::form::parse`): junk never panics, accepted forms
//! round-trip, and an error never echoes a parameter's value.

use super::run;
use baton_server::http::form::parse;
use proptest::prelude::*;

/// Bytes that exercise the parser's branches: separators, escapes (good, truncated,
/// non-hex, lower/upper case), `+`, control bytes, invalid UTF-8 and multi-byte text.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"&".to_vec()),
        Just(b"=".to_vec()),
        Just(b"+".to_vec()),
        Just(b"%".to_vec()),
        "%[0-9a-fA-F]{2}".prop_map(String::into_bytes),
        "%[0-9a-zA-Z%]{0,2}".prop_map(String::into_bytes),
        "[a-z_]{1,12}".prop_map(String::into_bytes),
        "\\PC{0,6}".prop_map(String::into_bytes),
        any::<u8>().prop_map(|b| vec![b]),
        Just("é".as_bytes().to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"%00".to_vec()),
        Just(b"%C3".to_vec()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

#[test]
fn arbitrary_bodies_never_panic() {
    let strategy = prop_oneof![prop::collection::vec(any::<u8>(), 0..300), form_bytes()];
    run("form.parse(arbitrary)", 4096, 11, strategy, |body| {
        match parse(&body) {
            Ok(f) => {
                // Whatever was accepted is readable and was well-formed UTF-8 text.
                let _ = format!("{f:?}");
            }
            Err(e) => prop_assert!(!e.description.is_empty()),
        }
        Ok(())
    });
}

/// A parameter name: non-empty, no control characters.
fn name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{1,16}", "[^\\p{Cc}]{1,8}"]
}

/// A value: anything without control characters other than tab, CR and LF.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z0-9._~-]{1,40}",
        "[^\\p{Cc}]{0,20}",
        "[ \t\r\n%+&=a]{0,10}",
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((name(), value()), 0..64).prop_map(|v| {
        let mut seen = std::collections::HashSet::new();
        v.into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

/// Percent-encodes every byte, in upper or lower case hex, spaces as `+` or `%20`.
fn encode_all(s: &str, lower: bool, plus: bool) -> String {
    s.bytes()
        .map(|b| match (b, plus) {
            (b' ', true) => "+".to_string(),
            _ if lower => format!("%{b:02x}"),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn accepted_forms_round_trip() {
    let strategy = (pairs(), any::<bool>(), any::<bool>(), any::<u8>());
    run(
        "form.parse(round trip)",
        2048,
        12,
        strategy,
        |(pairs, lower, plus, style)| {
            let body = if style % 2 == 0 {
                let mut ser = form_urlencoded::Serializer::new(String::new());
                for (k, v) in &pairs {
                    ser.append_pair(k, v);
                }
                ser.finish()
            } else {
                pairs
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}={}",
                            encode_all(k, lower, plus),
                            encode_all(v, lower, plus)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(if style % 4 == 1 { "&" } else { "&&" })
            };
            let f = parse(body.as_bytes());
            prop_assert!(f.is_ok(), "{:?} refused: {:?}", body, f.err());
            let f = f.unwrap();
            for (k, v) in &pairs {
                let want = if v.is_empty() { None } else { Some(v.as_str()) };
                prop_assert_eq!(f.get(k), want, "parameter {:?} of {:?}", k, body);
            }
            Ok(())
        },
    );
}

#[test]
fn a_refusal_never_echoes_a_value() {
    // A marker placed only in values, next to junk that makes the form fail (a repeated
    // name, bad escapes, control characters, invalid UTF-8): the description may name
    // a parameter, never repeat a value.
    const MARK: &str = "s3cretMARK";
    let junk = prop_oneof![
        Just("%zz"),
        Just("%4"),
        Just("%00"),
        Just("%ff"),
        Just("\u{7}"),
        Just(""),
    ];
    let strategy = (pairs(), junk, any::<bool>());
    run(
        "form.parse(no value echo)",
        2048,
        13,
        strategy,
        |(pairs, junk, repeat)| {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                ser.append_pair(k, &format!("{MARK}{v}"));
            }
            let mut body = ser.finish();
            body.push_str(&format!("&x{MARK}y={MARK}{junk}"));
            if repeat {
                body.push_str(&format!("&x{MARK}y={MARK}"));
            }
            if let Err(e) = parse(body.as_bytes()) {
                let d = e.description.replace(&format!("x{MARK}y"), "");
                prop_assert!(
                    !d.contains(MARK),
                    "{:?} echoed in {:?}",
                    body,
                    e.description
                );
            }
            Ok(())
        },
    );
}

//! Time values. The domain never reads the clock; the service layer passes `now` in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time: milliseconds since the Unix epoch.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A span of time in milliseconds (never negative once validated).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Dur(pub i64);

impl Dur {
    pub const ZERO: Dur = Dur(0);
    pub const fn secs(s: i64) -> Dur {
        Dur(s * 1000)
    }
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub const fn as_secs(self) -> i64 {
        self.0 / 1000
    }
}

impl Timestamp {
    pub const fn from_secs(s: i64) -> Timestamp {
        Timestamp(s * 1000)
    }
    pub fn plus(self, d: Dur) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
    /// Time elapsed from `earlier` to `self` (negative if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Dur {
        Dur(self.0.saturating_sub(earlier.0))
    }
    /// Whole seconds since the epoch, as JWT `iat`/`exp` want.
    pub fn unix_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T10:00:00.000Z`.
    pub fn rfc3339(self) -> String {
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
    /// Parses the RFC 3339 forms `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if b[13] != b':' || b[16] != b':' || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut i = 19;
        let mut ms = 0;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            let frac = s.get(start..i.min(start + 3))?;
            ms = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
        }
        let offset = match s.get(i..)? {
            "Z" | "z" => 0,
            tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
                let sign = if tz.starts_with('-') { -1 } else { 1 };
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if tz.as_bytes()[3] != b':' {
                    return None;
                }
                sign * (oh * 3600 + om * 60)
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
        Some(Timestamp(secs * 1000 + ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration as written in configuration: `500ms`, `30s`, `15m`, `12h`, `30d`.
pub fn parse_duration(s: &str) -> Result<Dur, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{s}` has no unit: write it like 30s, 15m, 12h or 30d"))?;
    let (num, unit) = s.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "`{s}` is not a duration: write it like 30s, 15m, 12h or 30d"
        ));
    }
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is too large a duration"))?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "`{s}` has an unknown unit `{unit}`: use ms, s, m, h or d"
            ))
        }
    };
    n.checked_mul(ms_per)
        .filter(|v| *v <= 100 * 365 * 86_400_000)
        .map(Dur)
        .ok_or_else(|| format!("`{s}` is too large a duration (100 years at most)"))
}

/// Formats a duration the way configuration writes it, choosing the largest exact unit.
pub fn format_duration(d: Dur) -> String {
    let ms = d.0;
    for (unit, per) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms != 0 && ms % per == 0 {
            return format!("{}{unit}", ms / per);
        }
    }
    if ms == 0 {
        "0s".to_string()
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for ms in [
            0,
            1_700_000_000_123,
            951_782_400_000,
            -86_400_000,
            4_102_444_800_999,
        ] {
            let t = Timestamp(ms);
            assert_eq!(
                Timestamp::parse_rfc3339(&t.rfc3339()),
                Some(t),
                "{}",
                t.rfc3339()
            );
        }
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29T01:00:00+01:00"),
            Timestamp::parse_rfc3339("2000-02-29T00:00:00Z")
        );
        for bad in [
            "",
            "2020-13-01T00:00:00Z",
            "2020-01-01",
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T0a:00:00Z",
            "２０２０-01-01T00:00:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("30s"), Ok(Dur::secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Dur::secs(900)));
        assert_eq!(parse_duration("12h"), Ok(Dur::secs(43_200)));
        assert_eq!(parse_duration("30d"), Ok(Dur::secs(2_592_000)));
        assert_eq!(parse_duration("250ms"), Ok(Dur(250)));
        for bad in [
            "",
            "s",
            "30",
            "30x",
            "-1s",
            "1.5h",
            "99999999999999999999d",
            "40000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for s in ["30s", "15m", "12h", "30d", "250ms", "0s", "90s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap_or(Dur(-1))), s);
        }
    }
}

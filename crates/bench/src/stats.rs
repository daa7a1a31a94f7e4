//! Per-worker counters, merging, exact percentiles and the final report.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

/// What one worker observed during the measured window.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Latency of each successful refresh request, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Failed refresh requests (HTTP errors, timeouts, transport errors).
    pub failed: u64,
    /// Successful responses that carried a refresh token different from the one sent.
    pub new_refresh_tokens: u64,
    /// Connections re-established after the first one.
    pub reconnects: u64,
    /// Chains restarted through the password grant after `invalid_grant`.
    pub reseeds: u64,
    /// Error breakdown: label (e.g. `400 invalid_grant`) to count.
    pub errors: HashMap<String, u64>,
    /// When the `--requests` cap was reached, if this worker reached it.
    pub cap_reached_at: Option<Instant>,
}

impl WorkerStats {
    pub fn with_capacity(latencies: usize) -> Self {
        WorkerStats {
            latencies_us: Vec::with_capacity(latencies),
            ..WorkerStats::default()
        }
    }

    pub fn error(&mut self, label: String) {
        *self.errors.entry(label).or_insert(0) += 1;
    }

    pub fn merge(&mut self, other: WorkerStats) {
        self.latencies_us.extend_from_slice(&other.latencies_us);
        self.failed += other.failed;
        self.new_refresh_tokens += other.new_refresh_tokens;
        self.reconnects += other.reconnects;
        self.reseeds += other.reseeds;
        for (label, count) in other.errors {
            *self.errors.entry(label).or_insert(0) += count;
        }
        self.cap_reached_at = match (self.cap_reached_at, other.cap_reached_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Nearest-rank percentile of an ascending slice; `p` in percent (0..=100).
/// Exact: the smallest value such that at least `p`% of samples are <= it.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    let n = sorted.len() as u128;
    if n == 0 {
        return None;
    }
    // p in thousandths of a percent, so 99.9 is exact in integer arithmetic.
    let milli = (p.clamp(0.0, 100.0) * 1000.0).round() as u128;
    let rank = (n * milli).div_ceil(100_000).clamp(1, n);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Run configuration echoed in the report.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub target: String,
    pub mode: &'static str,
    pub auth: &'static str,
    /// A DPoP proof with every request.
    pub dpop: bool,
    pub concurrency: u32,
    pub threads: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub requests_cap: Option<u64>,
    /// `--tokens-file`: how many chains (grants) the file held.
    pub grants: Option<u64>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: u64,
}

impl Latency {
    /// Sorts `samples` in place and computes the percentiles.
    pub fn from_samples(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let p = |q| percentile(samples, q).unwrap_or(0);
        let mean = if samples.is_empty() {
            0
        } else {
            samples.iter().sum::<u64>() / samples.len() as u64
        };
        Latency {
            p50: p(50.0),
            p90: p(90.0),
            p99: p(99.0),
            p999: p(99.9),
            max: samples.last().copied().unwrap_or(0),
            mean,
        }
    }
}

/// The final summary of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub info: RunInfo,
    /// Length of the measured window (shorter than `duration` if the cap was hit).
    pub measured: Duration,
    pub ok: u64,
    pub failed: u64,
    pub latency: Latency,
    pub new_refresh_tokens: u64,
    pub reconnects: u64,
    pub reseeds: u64,
    /// Error breakdown, most frequent first.
    pub errors: Vec<(String, u64)>,
}

impl Summary {
    pub fn new(info: RunInfo, mut stats: WorkerStats, measure_start: Instant) -> Self {
        let measured = match stats.cap_reached_at {
            Some(at) => at.saturating_duration_since(measure_start),
            None => info.duration,
        };
        let latency = Latency::from_samples(&mut stats.latencies_us);
        let mut errors: Vec<(String, u64)> = stats.errors.into_iter().collect();
        errors.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Summary {
            info,
            measured,
            ok: stats.latencies_us.len() as u64,
            failed: stats.failed,
            latency,
            new_refresh_tokens: stats.new_refresh_tokens,
            reconnects: stats.reconnects,
            reseeds: stats.reseeds,
            errors,
        }
    }

    pub fn requests(&self) -> u64 {
        self.ok + self.failed
    }

    fn rate(&self, count: u64) -> f64 {
        let secs = self.measured.as_secs_f64();
        if secs > 0.0 {
            count as f64 / secs
        } else {
            0.0
        }
    }

    /// Successful refresh requests per second.
    pub fn throughput(&self) -> f64 {
        self.rate(self.ok)
    }

    pub fn error_total(&self) -> u64 {
        self.errors.iter().map(|(_, n)| n).sum()
    }

    pub fn to_text(&self) -> String {
        let i = &self.info;
        let l = &self.latency;
        let mut out = String::new();
        let _ = writeln!(out, "baton-bench: refresh_token grant against {}", i.target);
        let _ = writeln!(out, "  mode:         {}", i.mode);
        let _ = writeln!(out, "  client auth:  {}", i.auth);
        let _ = writeln!(out, "  dpop proofs:  {}", if i.dpop { "yes" } else { "no" });
        let _ = writeln!(
            out,
            "  concurrency:  {} (threads: {})",
            i.concurrency, i.threads
        );
        if let Some(n) = i.grants {
            let _ = writeln!(
                out,
                "  grants:       {n} (random chains from --tokens-file)"
            );
        }
        let _ = writeln!(out, "  warm-up:      {:.2} s", i.warmup.as_secs_f64());
        let cap = i
            .requests_cap
            .map_or(String::new(), |n| format!(", cap {n} requests"));
        let _ = writeln!(
            out,
            "  duration:     {:.2} s (measured {:.2} s{cap})",
            i.duration.as_secs_f64(),
            self.measured.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  requests:     {} (ok {}, failed {})",
            self.requests(),
            self.ok,
            self.failed
        );
        let _ = writeln!(out, "  throughput:   {:.1} req/s", self.throughput());
        let _ = writeln!(out, "  latency (ms, successful requests):");
        for (name, us) in [
            ("p50", l.p50),
            ("p90", l.p90),
            ("p99", l.p99),
            ("p99.9", l.p999),
            ("max", l.max),
            ("mean", l.mean),
        ] {
            let _ = writeln!(out, "    {name:<6} {:>9.2}", ms(us));
        }
        let rotated_pct = if self.ok > 0 {
            100.0 * self.new_refresh_tokens as f64 / self.ok as f64
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "  new refresh tokens: {} ({rotated_pct:.1}% of successful responses)",
            self.new_refresh_tokens
        );
        let _ = writeln!(out, "  reconnects:   {}", self.reconnects);
        let _ = writeln!(out, "  re-seeds:     {}", self.reseeds);
        if self.errors.is_empty() {
            let _ = writeln!(out, "  errors:       none");
        } else {
            let _ = writeln!(out, "  errors:       {}", self.error_total());
            for (label, count) in &self.errors {
                let _ = writeln!(out, "    {label}: {count}");
            }
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let i = &self.info;
        let l = &self.latency;
        let errors: serde_json::Map<String, serde_json::Value> = self
            .errors
            .iter()
            .map(|(label, count)| (label.clone(), json!(count)))
            .collect();
        json!({
            "target": i.target,
            "mode": i.mode,
            "auth": i.auth,
            "dpop": i.dpop,
            "concurrency": i.concurrency,
            "threads": i.threads,
            "warmup_s": round2(i.warmup.as_secs_f64()),
            "duration_s": round2(i.duration.as_secs_f64()),
            "measured_s": round2(self.measured.as_secs_f64()),
            "requests_cap": i.requests_cap,
            "grants": i.grants,
            "requests": self.requests(),
            "ok": self.ok,
            "failed": self.failed,
            "throughput_rps": round2(self.throughput()),
            "latency_ms": {
                "p50": round2(ms(l.p50)),
                "p90": round2(ms(l.p90)),
                "p99": round2(ms(l.p99)),
                "p99_9": round2(ms(l.p999)),
                "max": round2(ms(l.max)),
                "mean": round2(ms(l.mean)),
            },
            "new_refresh_tokens": self.new_refresh_tokens,
            "reconnects": self.reconnects,
            "reseeds": self.reseeds,
            "errors_total": self.error_total(),
            "errors": errors,
        })
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), Some(500));
        assert_eq!(percentile(&v, 90.0), Some(900));
        assert_eq!(percentile(&v, 99.0), Some(990));
        assert_eq!(percentile(&v, 99.9), Some(999));
        assert_eq!(percentile(&v, 100.0), Some(1000));
        assert_eq!(percentile(&v, 0.0), Some(1));

        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&v, 99.0), Some(10));
        assert_eq!(percentile(&v, 99.9), Some(10));

        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.9), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn latency_summary_sorts() {
        let mut samples = vec![5, 1, 4, 2, 3];
        let l = Latency::from_samples(&mut samples);
        assert_eq!(samples, vec![1, 2, 3, 4, 5]);
        assert_eq!(l.p50, 3);
        assert_eq!(l.max, 5);
        assert_eq!(l.mean, 3);
        assert_eq!(Latency::from_samples(&mut []), Latency::default());
    }

    #[test]
    fn merge_and_report() {
        let start = Instant::now();
        let mut a = WorkerStats::default();
        a.latencies_us.extend([1000, 2000]);
        a.error("400 invalid_grant".into());
        a.failed = 1;
        a.reseeds = 1;
        let mut b = WorkerStats::default();
        b.latencies_us.extend([3000, 4000]);
        b.error("400 invalid_grant".into());
        b.error("timeout".into());
        b.error("timeout".into());
        b.error("timeout".into());
        b.failed = 4;
        b.new_refresh_tokens = 2;
        a.merge(b);
        let info = RunInfo {
            target: "http://127.0.0.1:1/token".into(),
            mode: "rotate",
            auth: "client_secret_basic",
            dpop: false,
            concurrency: 2,
            threads: 1,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(2),
            requests_cap: None,
            grants: None,
        };
        let s = Summary::new(info, a, start);
        assert_eq!(s.ok, 4);
        assert_eq!(s.requests(), 9);
        assert!((s.throughput() - 2.0).abs() < 1e-9);
        assert_eq!(
            s.errors,
            vec![("timeout".into(), 3), ("400 invalid_grant".into(), 2)]
        );
        let text = s.to_text();
        assert!(text.contains("400 invalid_grant: 2"), "{text}");
        assert!(text.contains("p99.9       4.00"), "{text}");
        let j = s.to_json();
        assert_eq!(j["latency_ms"]["p50"], json!(2.0));
        assert_eq!(j["errors"]["timeout"], json!(3));
        assert_eq!(j["throughput_rps"], json!(2.0));
    }
}

//! `--tokens-file`: many chains, one per grant, refreshed in uniformly random order.
//!
//! The file holds one refresh token a line, all of the same width (`baton seed-grants
//! --out` writes such a file). Worker `w` of `c` owns the tokens of the lines `i` with
//! `i mod c = w`, kept in one flat buffer of its own, so that no chain is ever presented
//! by two workers at once and no lock is taken; each request picks one of its tokens
//! uniformly at random, and a response's new refresh token replaces it in place.

use std::path::Path;

/// Picks before a dead slot is looked for by scanning.
const RANDOM_TRIES: usize = 64;

/// One worker's tokens.
#[derive(Debug)]
pub struct Partition {
    width: usize,
    /// `len` tokens of `width` bytes each, back to back.
    tokens: Vec<u8>,
    /// Whether each chain still works (`false` after `invalid_grant`).
    live: Vec<bool>,
    alive: usize,
    rng: Rng,
}

impl Partition {
    fn new(width: usize, capacity: usize, seed: u64) -> Self {
        Partition {
            width,
            tokens: Vec::with_capacity(capacity * width),
            live: Vec::with_capacity(capacity),
            alive: 0,
            rng: Rng(seed),
        }
    }

    fn push(&mut self, token: &[u8]) {
        self.tokens.extend_from_slice(token);
        self.live.push(true);
        self.alive += 1;
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// A uniformly random chain that still works; `None` when none does.
    pub fn pick(&mut self) -> Option<usize> {
        if self.alive == 0 {
            return None;
        }
        let n = self.len();
        for _ in 0..RANDOM_TRIES {
            let i = self.rng.below(n);
            if self.live[i] {
                return Some(i);
            }
        }
        // Most chains are dead: the next live one after a random start.
        let start = self.rng.below(n);
        (0..n).map(|k| (start + k) % n).find(|&i| self.live[i])
    }

    /// The current token of chain `i`.
    pub fn token(&self, i: usize) -> &str {
        let bytes = &self.tokens[i * self.width..(i + 1) * self.width];
        // Checked to be ASCII when loaded or replaced.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// Chain `i` goes on from `next`. `false` (and the chain is given up) when `next`
    /// does not fit its slot: not of the file's width, or not ASCII.
    pub fn replace(&mut self, i: usize, next: &str) -> bool {
        if next.len() != self.width || !next.is_ascii() {
            self.kill(i);
            return false;
        }
        self.tokens[i * self.width..(i + 1) * self.width].copy_from_slice(next.as_bytes());
        true
    }

    /// Chain `i` is broken: it is not picked again.
    pub fn kill(&mut self, i: usize) {
        if std::mem::replace(&mut self.live[i], false) {
            self.alive -= 1;
        }
    }
}

/// Reads the tokens file and deals its lines out to `workers` partitions.
pub fn load(path: &Path, workers: usize) -> Result<Vec<Partition>, String> {
    let name = path.display();
    let data = std::fs::read(path).map_err(|e| format!("cannot read --tokens-file {name}: {e}"))?;
    parse(&data, workers, &seed_from_os).map_err(|e| format!("--tokens-file {name}: {e}"))
}

fn parse(data: &[u8], workers: usize, seed: &dyn Fn() -> u64) -> Result<Vec<Partition>, String> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    if body.is_empty() {
        return Err("holds no tokens".into());
    }
    let width = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    if width == 0 {
        return Err("line 1 is empty".into());
    }
    // If every line has the first one's width (checked below).
    let lines = (body.len() + 1) / (width + 1);
    let per = lines.div_ceil(workers);
    let mut parts: Vec<Partition> = (0..workers)
        .map(|w| {
            let stream = (w as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
            Partition::new(width, per, seed().wrapping_add(stream))
        })
        .collect();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.len() != width {
            return Err(format!(
                "line {} is {} bytes long, line 1 {width}: every token must have the same width",
                i + 1,
                line.len()
            ));
        }
        if !line.is_ascii() || line.iter().any(u8::is_ascii_whitespace) {
            return Err(format!("line {} is not a token", i + 1));
        }
        parts[i % workers].push(line);
    }
    if lines < workers {
        return Err(format!(
            "holds {lines} tokens, fewer than the {workers} workers (--concurrency)"
        ));
    }
    Ok(parts)
}

/// Writes every chain's current token back to `path`, each in the line it was read
/// from (through a temporary file renamed over it).
pub fn save(path: &Path, parts: &[Partition]) -> Result<(), String> {
    let name = path.display();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, lines(parts))
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace --tokens-file {name}: {e}"))
}

/// The file's lines again: line i is chain i / c of partition i mod c.
fn lines(parts: &[Partition]) -> Vec<u8> {
    let total: usize = parts.iter().map(Partition::len).sum();
    let width = parts.first().map_or(0, |p| p.width);
    let mut out = Vec::with_capacity(total * (width + 1));
    for i in 0..total {
        out.extend_from_slice(parts[i % parts.len()].token(i / parts.len()).as_bytes());
        out.push(b'\n');
    }
    out
}

fn seed_from_os() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    // The seed only spreads the picks: if the system cannot give one, a fixed one does.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return 0x5EED;
    }
    u64::from_le_bytes(b)
}

/// SplitMix64: a small, fast generator; plenty for spreading requests.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-32 here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(data: &str, workers: usize) -> Result<Vec<Partition>, String> {
        let n = std::cell::Cell::new(0u64);
        parse(data.as_bytes(), workers, &|| {
            n.set(n.get() + 1);
            n.get()
        })
    }

    #[test]
    fn lines_are_dealt_round_robin() {
        let p = parts("aa\nbb\ncc\ndd\nee\n", 2).unwrap();
        assert_eq!(p.len(), 2);
        fn got(p: &Partition) -> Vec<&str> {
            (0..p.len()).map(|i| p.token(i)).collect()
        }
        assert_eq!(got(&p[0]), ["aa", "cc", "ee"]);
        assert_eq!(got(&p[1]), ["bb", "dd"]);
        // Without the final newline too.
        let p = parts("aa\nbb", 1).unwrap();
        assert_eq!(got(&p[0]), ["aa", "bb"]);
    }

    #[test]
    fn saved_lines_are_in_the_files_order() {
        let data = "aa\nbb\ncc\ndd\nee\n";
        let mut p = parts(data, 2).unwrap();
        assert_eq!(lines(&p), data.as_bytes());
        assert!(p[1].replace(1, "xx")); // line 4
        assert!(p[0].replace(2, "yy")); // line 5
        assert_eq!(lines(&p), b"aa\nbb\ncc\nxx\nyy\n");
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(parts("", 1).unwrap_err().contains("no tokens"));
        assert!(parts("\n", 1).unwrap_err().contains("no tokens"));
        assert!(parts("aa\nbbb\n", 1).unwrap_err().contains("line 2"));
        assert!(parts("aa\nb\n", 1).unwrap_err().contains("line 2"));
        assert!(parts("aa\n\n", 1).unwrap_err().contains("line 2"));
        assert!(parts("aa\na b\n", 1).is_err());
        assert!(parts("aa\nbb\n", 3).unwrap_err().contains("fewer"));
    }

    #[test]
    fn picks_are_uniform_and_skip_dead_chains() {
        let data: String = (0..10).map(|i| format!("t{i}\n")).collect();
        let mut p = parts(&data, 1).unwrap().remove(0);
        let mut seen = [0u32; 10];
        for _ in 0..100_000 {
            seen[p.pick().unwrap()] += 1;
        }
        assert!(
            seen.iter().all(|&n| (9_000..11_000).contains(&n)),
            "{seen:?}"
        );
        for i in 0..9 {
            p.kill(i);
        }
        p.kill(3);
        for _ in 0..100 {
            assert_eq!(p.pick(), Some(9));
        }
        p.kill(9);
        assert_eq!(p.pick(), None);
    }

    #[test]
    fn a_rotated_token_replaces_its_slot() {
        let mut p = parts("aaaa\nbbbb\n", 1).unwrap().remove(0);
        assert!(p.replace(1, "cccc"));
        assert_eq!((p.token(0), p.token(1)), ("aaaa", "cccc"));
        // Another width cannot go in place: that chain is given up.
        assert!(!p.replace(0, "ddd"));
        assert_eq!(p.pick(), Some(1));
    }
}

//! The effectful modules of the standard library (`io::`, `env::`, `fs::`, `time::`,
//! `random::`, `crypto::`) on plain Rust values.
//!
//! Every back end calls these same functions — the native runtime through the `chor_b_*`
//! wrappers in [`super::ffi`], the reference interpreter (`chor simulate`, the interpreted role
//! executables) directly — so a file error, a hash or a seeded random draw is the same text
//! and the same number whichever back end runs the program.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::val::Fault;

// ------------------------------------------------------------------------------------- io

/// One line of `input` without its line ending (`\n`, `\r\n`), or None at end of input.
/// Bytes that are not UTF-8 become U+FFFD: a line of input is text, and a stray byte must not
/// stop the role.
pub fn read_line_from(input: &mut dyn BufRead) -> Option<String> {
    let mut bytes = Vec::new();
    match input.read_until(b'\n', &mut bytes) {
        Ok(0) | Err(_) if bytes.is_empty() => return None,
        _ => {}
    }
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A line of this process's standard input (see [`read_line_from`]).
pub fn read_stdin_line() -> Option<String> {
    read_line_from(&mut std::io::stdin().lock())
}

// ------------------------------------------------------------------------------------ env

static ARGS: OnceLock<Vec<String>> = OnceLock::new();

/// Records the program's arguments (those after `--` on the role's command line); the first
/// call wins.
pub fn set_args(args: Vec<String>) {
    let _ = ARGS.set(args);
}

/// The arguments recorded by [`set_args`] (none when it was not called).
pub fn args() -> Vec<String> {
    ARGS.get().cloned().unwrap_or_default()
}

/// `env::var`: the variable's value, or None when it is unset, not UTF-8, or `name` cannot be
/// a variable name (empty, or containing `=` or NUL).
pub fn env_var(name: &str) -> Option<String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    std::env::var(name).ok()
}

// ------------------------------------------------------------------------------------- fs

/// Why an operation on `path` failed, in words that do not depend on the platform's wording.
fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "it is a directory".into(),
        K::NotADirectory => "a part of the path is not a directory".into(),
        K::AlreadyExists => "it already exists".into(),
        _ => {
            // The OS text without its "(os error N)" suffix.
            let t = e.to_string();
            match t.find(" (os error") {
                Some(i) => t[..i].to_string(),
                None => t,
            }
        }
    }
}

/// `fs::read`: the whole file as text; a missing file, a permission error or bytes that are
/// not UTF-8 are the `Err` text.
pub fn fs_read(path: &str) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {}", io_reason(&e)))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read {path}: not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// `fs::write`: replaces the file's contents (creating it).
pub fn fs_write(path: &str, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {}", io_reason(&e)))
}

/// `fs::append`: adds `text` at the end of the file (creating it).
pub fn fs_append(path: &str, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append to {path}: {}", io_reason(&e)))
}

/// `fs::exists`: whether something (a file or a directory) is at `path`.
pub fn fs_exists(path: &str) -> bool {
    !path.is_empty() && std::path::Path::new(path).exists()
}

// ----------------------------------------------------------------------------------- time

/// `time::now_ms`: milliseconds since 1970-01-01 UTC by the wall clock (negative before it).
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

static START: OnceLock<Instant> = OnceLock::new();

/// `time::monotonic_ms`: milliseconds on a clock that never goes back, from an unspecified
/// start (the first use in this process).
pub fn monotonic_ms() -> i64 {
    let start = START.get_or_init(Instant::now);
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// `time::sleep_ms`: waits `ms` milliseconds; a negative duration is a fault.
pub fn sleep_ms(ms: i64) -> Result<(), Fault> {
    let ms = u64::try_from(ms)
        .map_err(|_| format!("time::sleep_ms of a negative duration ({ms} ms)"))?;
    // Keep the monotonic clock's start before the sleep, so that the sleep shows on it.
    START.get_or_init(Instant::now);
    std::thread::sleep(Duration::from_millis(ms));
    Ok(())
}

// --------------------------------------------------------------------------------- random

/// The environment variable that makes `random::` reproducible.
pub const SEED_VAR: &str = "CHOR_SEED";

/// A xoshiro256** generator: small, fast, and the same sequence on every platform.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream of `role` for this seed: its state is the SHA-256 of the seed and the role's
    /// name, so every role (every member of a family) draws its own sequence, and the same one
    /// in every back end.
    pub fn seeded(seed: i64, role: &str) -> Rng {
        let mut h = Sha256::new();
        h.update(b"chor random\0");
        h.update(seed.to_le_bytes());
        h.update(role.as_bytes());
        Rng::from_bytes(h.finalize().into())
    }

    /// A stream seeded by the system's randomness (the time, when there is none).
    pub fn from_system() -> Rng {
        let mut b = [0u8; 32];
        if getrandom::fill(&mut b).is_err() {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            b[..16].copy_from_slice(&t.to_le_bytes());
            b[16..24].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        }
        Rng::from_bytes(b)
    }

    fn from_bytes(b: [u8; 32]) -> Rng {
        let mut s = [0u64; 4];
        for (i, w) in s.iter_mut().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[i * 8..i * 8 + 8]);
            *w = u64::from_le_bytes(word);
        }
        if s == [0; 4] {
            // The one state xoshiro cannot leave.
            s[0] = 1;
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// `random::int`: uniform in `lo..=hi` (rejection sampling: no bias); `lo > hi` is a fault.
    pub fn int(&mut self, lo: i64, hi: i64) -> Result<i64, Fault> {
        if lo > hi {
            return Err(format!(
                "random::int({lo}, {hi}): the low end is above the high end"
            ));
        }
        let span = hi.wrapping_sub(lo) as u64;
        if span == u64::MAX {
            return Ok(self.next_u64() as i64);
        }
        let n = span + 1;
        // 2^64 mod n: the values below 2^64 - that are a whole number of rounds of n.
        let waste = n.wrapping_neg() % n;
        loop {
            let x = self.next_u64();
            if x <= u64::MAX - waste {
                return Ok(lo.wrapping_add((x % n) as i64));
            }
        }
    }

    /// `random::float`: uniform in [0, 1), a multiple of 2^-53.
    pub fn float(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The random streams of the roles run by one process, created on first use.
#[derive(Debug)]
pub struct Streams {
    seed: Result<Option<i64>, String>,
    roles: Mutex<HashMap<String, Rng>>,
}

impl Streams {
    /// Streams seeded by `seed` (None: by the system).
    pub fn new(seed: Option<i64>) -> Streams {
        Streams {
            seed: Ok(seed),
            roles: Mutex::new(HashMap::new()),
        }
    }

    /// Streams seeded as [`SEED_VAR`] says; a value that is not an Int makes every draw a
    /// fault that says so.
    pub fn from_env() -> Streams {
        let seed = match std::env::var(SEED_VAR) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Ok(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{SEED_VAR}=`{v}` is not an Int")),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{SEED_VAR} is not an Int")),
        };
        Streams {
            seed,
            roles: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on `role`'s stream.
    pub fn draw<T>(&self, role: &str, f: impl FnOnce(&mut Rng) -> T) -> Result<T, Fault> {
        let seed = self.seed.clone()?;
        let mut roles = match self.roles.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let rng = roles.entry(role.to_owned()).or_insert_with(|| match seed {
            Some(s) => Rng::seeded(s, role),
            None => Rng::from_system(),
        });
        Ok(f(rng))
    }
}

impl Default for Streams {
    fn default() -> Streams {
        Streams::from_env()
    }
}

/// The streams of this process, seeded from the environment on first use.
pub fn process_streams() -> &'static Streams {
    static STREAMS: OnceLock<Streams> = OnceLock::new();
    STREAMS.get_or_init(Streams::from_env)
}

// --------------------------------------------------------------------------------- crypto

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `crypto::sha256`: the SHA-256 of the UTF-8 bytes of `s`, in lower-case hex (RustCrypto's
/// `sha2`).
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// `crypto::hmac_sha256`: HMAC-SHA-256 of `s` under `key` (RustCrypto's `hmac`), hex.
pub fn hmac_sha256_hex(key: &str, s: &str) -> String {
    // HMAC takes keys of every length: a long key is hashed, a short one padded.
    match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut m) => {
            m.update(s.as_bytes());
            hex(&m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

// ------------------------------------------------------------------------ native wrappers

/// The `Val` forms of the functions above, for the `chor_b_*` entry points.
pub mod vals {
    use super::super::val::{Fault, Val, to_display};
    use super::*;

    fn text(v: &Val) -> Result<&str, Fault> {
        match v {
            Val::Str(s) => Ok(s),
            other => Err(format!("expected a String, found {}", to_display(other))),
        }
    }
    fn int(v: &Val) -> Result<i64, Fault> {
        match v {
            Val::Int(i) => Ok(*i),
            other => Err(format!("expected an Int, found {}", to_display(other))),
        }
    }
    fn option(v: Option<String>) -> Val {
        v.map_or_else(Val::none, |s| Val::some(Val::str(s)))
    }
    fn result(r: Result<Val, String>) -> Val {
        match r {
            Ok(v) => Val::named_variant("Ok", vec![v]),
            Err(e) => Val::named_variant("Err", vec![Val::str(e)]),
        }
    }

    pub fn io_read_line() -> Result<Val, Fault> {
        Ok(option(read_stdin_line()))
    }
    pub fn io_write(s: &Val) -> Result<Val, Fault> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text(s)?.as_bytes());
        let _ = out.flush();
        Ok(Val::Unit)
    }
    pub fn io_eprint(s: &Val) -> Result<Val, Fault> {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", text(s)?);
        let _ = err.flush();
        Ok(Val::Unit)
    }
    pub fn env_args() -> Result<Val, Fault> {
        Ok(Val::list(args().into_iter().map(Val::str).collect()))
    }
    pub fn env_var_v(name: &Val) -> Result<Val, Fault> {
        Ok(option(env_var(text(name)?)))
    }
    pub fn fs_read_v(p: &Val) -> Result<Val, Fault> {
        Ok(result(fs_read(text(p)?).map(Val::str)))
    }
    pub fn fs_write_v(p: &Val, s: &Val) -> Result<Val, Fault> {
        Ok(result(fs_write(text(p)?, text(s)?).map(|()| Val::Unit)))
    }
    pub fn fs_append_v(p: &Val, s: &Val) -> Result<Val, Fault> {
        Ok(result(fs_append(text(p)?, text(s)?).map(|()| Val::Unit)))
    }
    pub fn fs_exists_v(p: &Val) -> Result<Val, Fault> {
        Ok(Val::Bool(fs_exists(text(p)?)))
    }
    pub fn time_now_ms() -> Result<Val, Fault> {
        Ok(Val::Int(now_ms()))
    }
    pub fn time_monotonic_ms() -> Result<Val, Fault> {
        Ok(Val::Int(monotonic_ms()))
    }
    pub fn time_sleep_ms(ms: &Val) -> Result<Val, Fault> {
        sleep_ms(int(ms)?).map(|()| Val::Unit)
    }
    pub fn random_int(role: &str, lo: &Val, hi: &Val) -> Result<Val, Fault> {
        let (lo, hi) = (int(lo)?, int(hi)?);
        process_streams()
            .draw(role, |r| r.int(lo, hi))?
            .map(Val::Int)
    }
    pub fn random_float(role: &str) -> Result<Val, Fault> {
        process_streams().draw(role, |r| r.float()).map(Val::Float)
    }
    pub fn crypto_sha256(s: &Val) -> Result<Val, Fault> {
        Ok(Val::str(sha256_hex(text(s)?)))
    }
    pub fn crypto_hmac_sha256(k: &Val, s: &Val) -> Result<Val, Fault> {
        Ok(Val::str(hmac_sha256_hex(text(k)?, text(s)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ints_stay_in_range_and_cover_it() {
        let mut r = Rng::seeded(7, "A");
        let mut seen = [false; 6];
        for _ in 0..1000 {
            let x = r.int(-2, 3).expect("lo <= hi");
            assert!((-2..=3).contains(&x));
            seen[(x + 2) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.int(5, 5), Ok(5));
        assert!(r.int(i64::MIN, i64::MAX).is_ok());
        assert!(r.int(3, 2).is_err());
        for _ in 0..1000 {
            let f = r.float();
            assert!((0.0..1.0).contains(&f));
        }
    }

    #[test]
    fn streams_depend_on_seed_and_role() {
        let draw = |seed, role| {
            let mut r = Rng::seeded(seed, role);
            (0..4).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, "A"), draw(1, "A"));
        assert_ne!(draw(1, "A"), draw(1, "B"));
        assert_ne!(draw(1, "A"), draw(2, "A"));
    }

    #[test]
    fn lines_and_files() {
        let mut input: &[u8] = b"one\r\ntwo\n\xffx";
        assert_eq!(read_line_from(&mut input).as_deref(), Some("one"));
        assert_eq!(read_line_from(&mut input).as_deref(), Some("two"));
        assert_eq!(read_line_from(&mut input).as_deref(), Some("\u{fffd}x"));
        assert_eq!(read_line_from(&mut input), None);
        let dir = std::env::temp_dir().join(format!("chor-world-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("f.txt");
        let p = p.to_string_lossy();
        assert!(fs_read(&p).is_err_and(|e| e.contains("no such file")));
        assert_eq!(fs_write(&p, "a"), Ok(()));
        assert_eq!(fs_append(&p, "b"), Ok(()));
        assert_eq!(fs_read(&p), Ok("ab".into()));
        std::fs::write(&*p, b"ok\xff").expect("write");
        assert!(fs_read(&p).is_err_and(|e| e.contains("not UTF-8")));
        assert!(fs_exists(&p));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

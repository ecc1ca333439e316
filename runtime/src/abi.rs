//! The C ABI that generated native code calls: the only way compiled roles reach the network.
//!
//! A role executable's `main` (emitted by the code generator, never defined here) does:
//! ```c
//! ChorSession *s = chor_session_new(argc, argv, "Seller", FINGERPRINT, LOCS, NLOCS);
//! if (chor_send(s, "Buyer", buf, len, 7) != 0) chor_fail(s);
//! if (chor_recv(s, "Buyer", 8, &ptr, &len) != 0) chor_fail(s);   /* ptr valid until the next recv */
//! if (y == 0) chor_fault(s, "division by zero", 16, 9);
//! return chor_close(s);
//! ```
//! Messages cross the boundary as bytes in the encoding of [`crate::codec`]; received bytes
//! have been checked to be well formed. Every failure becomes an [`RtError`] kept in the
//! session; [`chor_fail`] prints it to stderr and exits with status 1, so a failing role never
//! shows a panic trace. Null pointers and invalid UTF-8 are reported the same way instead of
//! being dereferenced.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::io::Write;
use std::sync::Arc;

use crate::config::DeployConfig;
use crate::error::{ErrorKind, RtError};
use crate::session::{Fingerprint, Session};

/// A role's session as seen from C: opaque.
pub struct ChorSession {
    session: Option<Session>,
    role: String,
    recv_buf: Vec<u8>,
    last_error: Option<RtError>,
}

impl ChorSession {
    fn fail_with(&mut self, e: RtError) -> c_int {
        self.last_error = Some(e);
        -1
    }

    fn usage_error(&mut self, message: &str) -> c_int {
        let e = RtError::new(
            &self.role,
            ErrorKind::Fault {
                loc: "the runtime interface".to_string(),
                message: message.to_string(),
            },
        );
        self.fail_with(e)
    }
}

fn exit_with(message: &str, code: i32) -> ! {
    let _ = std::io::stdout().flush();
    eprintln!("error: {message}");
    std::process::exit(code)
}

/// Reads a NUL-terminated UTF-8 string.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string.
unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Finds `--config PATH` (or `--config=PATH`) in the command line.
fn config_path(args: &[String]) -> Option<&str> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--config" {
            return it.next().map(String::as_str);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(p);
        }
    }
    None
}

/// Creates the session of `role`: reads the deployment file named by `--config PATH` in
/// `argv` and connects with every peer. On failure prints the error and exits (status 2 for
/// a bad command line, 1 otherwise); never returns null.
///
/// `fingerprint` points to the program's 32-byte fingerprint; `locs` to `nlocs`
/// NUL-terminated source locations ("bookseller.chor:12"), indexed by the `loc` of each call.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings, `role` is NUL-terminated, `fingerprint` points
/// to 32 readable bytes, and `locs` to `nlocs` NUL-terminated strings (or is null if `nlocs`
/// is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_session_new(
    argc: c_int,
    argv: *const *const c_char,
    role: *const c_char,
    fingerprint: *const u8,
    locs: *const *const c_char,
    nlocs: usize,
) -> *mut ChorSession {
    // SAFETY: per this function's contract.
    let Some(role) = (unsafe { c_str(role) }) else {
        exit_with("chor_session_new: the role name is missing or not UTF-8", 2)
    };
    let mut args = Vec::new();
    if !argv.is_null() {
        for i in 0..usize::try_from(argc).unwrap_or(0) {
            // SAFETY: argv holds argc entries.
            let a = unsafe { *argv.add(i) };
            // SAFETY: each entry is NUL-terminated.
            args.push(unsafe { c_str(a) }.unwrap_or("").to_string());
        }
    }
    let Some(path) = config_path(&args) else {
        let prog = args.first().map_or(role, String::as_str);
        exit_with(
            &format!("role {role}: no deployment file given\nusage: {prog} --config deploy.toml"),
            2,
        )
    };
    if fingerprint.is_null() {
        exit_with("chor_session_new: the program fingerprint is missing", 2)
    }
    let mut fp = [0u8; 32];
    // SAFETY: fingerprint points to 32 readable bytes.
    fp.copy_from_slice(unsafe { std::slice::from_raw_parts(fingerprint, 32) });
    let mut table = Vec::with_capacity(nlocs);
    if !locs.is_null() {
        for i in 0..nlocs {
            // SAFETY: locs holds nlocs NUL-terminated entries.
            let l = unsafe { c_str(*locs.add(i)) }.unwrap_or("?");
            table.push(l.to_string());
        }
    }
    let cfg = match DeployConfig::from_file(path) {
        Ok(c) => c,
        Err(e) => exit_with(&RtError::new(role, ErrorKind::Config(e)).to_string(), 1),
    };
    match Session::connect_tcp(role, &cfg, Fingerprint(fp), Arc::from(table)) {
        Ok(s) => Box::into_raw(Box::new(ChorSession {
            session: Some(s),
            role: role.to_string(),
            recv_buf: Vec::new(),
            last_error: None,
        })),
        Err(e) => exit_with(&e.to_string(), 1),
    }
}

/// Sends `len` encoded bytes to `peer`. Returns 0, or -1 with the error kept for [`chor_fail`].
///
/// # Safety
/// `s` comes from [`chor_session_new`]; `peer` is NUL-terminated; `bytes` points to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_send(
    s: *mut ChorSession,
    peer: *const c_char,
    bytes: *const u8,
    len: usize,
    loc: u32,
) -> c_int {
    // SAFETY: s comes from chor_session_new and is not aliased during the call.
    let Some(cs) = (unsafe { s.as_mut() }) else {
        exit_with("chor_send: null session", 1)
    };
    // SAFETY: per this function's contract.
    let Some(peer) = (unsafe { c_str(peer) }) else {
        return cs.usage_error("chor_send: the peer name is missing or not UTF-8");
    };
    if bytes.is_null() {
        return cs.usage_error("chor_send: null message buffer");
    }
    // SAFETY: bytes points to len readable bytes.
    let data = unsafe { std::slice::from_raw_parts(bytes, len) };
    let r = match &cs.session {
        Some(sess) => sess.send_encoded(peer, data, loc),
        None => return cs.usage_error("chor_send: the session is closed"),
    };
    match r {
        Ok(()) => 0,
        Err(e) => cs.fail_with(e),
    }
}

/// Waits for the next message from `peer`; on success stores a pointer to its encoded bytes
/// in `*out` and their length in `*out_len` (valid until the next call on this session).
/// Returns 0, or -1 with the error kept for [`chor_fail`].
///
/// # Safety
/// `s` comes from [`chor_session_new`]; `peer` is NUL-terminated; `out` and `out_len` are
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_recv(
    s: *mut ChorSession,
    peer: *const c_char,
    loc: u32,
    out: *mut *const u8,
    out_len: *mut usize,
) -> c_int {
    // SAFETY: s comes from chor_session_new and is not aliased during the call.
    let Some(cs) = (unsafe { s.as_mut() }) else {
        exit_with("chor_recv: null session", 1)
    };
    // SAFETY: per this function's contract.
    let Some(peer) = (unsafe { c_str(peer) }) else {
        return cs.usage_error("chor_recv: the peer name is missing or not UTF-8");
    };
    if out.is_null() || out_len.is_null() {
        return cs.usage_error("chor_recv: null output pointer");
    }
    let r = match &cs.session {
        Some(sess) => sess.recv_encoded(peer, loc, &mut cs.recv_buf),
        None => return cs.usage_error("chor_recv: the session is closed"),
    };
    match r {
        Ok(()) => {
            // SAFETY: out and out_len are writable per the contract.
            unsafe {
                *out = cs.recv_buf.as_ptr();
                *out_len = cs.recv_buf.len();
            }
            0
        }
        Err(e) => cs.fail_with(e),
    }
}

/// Flushes what was sent, closes every connection and frees the session. Returns the exit
/// status for `main`: 0, or 1 after printing the error.
///
/// # Safety
/// `s` comes from [`chor_session_new`] and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_close(s: *mut ChorSession) -> c_int {
    if s.is_null() {
        return 1;
    }
    // SAFETY: s was made by Box::into_raw in chor_session_new and is given up by the caller.
    let mut cs = unsafe { Box::from_raw(s) };
    let r = match cs.session.take() {
        Some(sess) => sess.close(),
        None => Ok(()),
    };
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Prints the error of the last failed call (naming role, peer and source location) and
/// exits with status 1.
///
/// # Safety
/// `s` comes from [`chor_session_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_fail(s: *mut ChorSession) -> ! {
    // SAFETY: s comes from chor_session_new.
    let msg = match unsafe { s.as_ref() } {
        Some(ChorSession {
            last_error: Some(e),
            ..
        }) => e.to_string(),
        Some(cs) => format!("role {}: failed (no runtime error recorded)", cs.role),
        None => "failed".to_string(),
    };
    exit_with(&msg, 1)
}

/// Stops the role for a fault in its own code (`message`, `len` bytes of UTF-8, e.g.
/// "division by zero") at location `loc`: prints it and exits with status 1.
///
/// # Safety
/// `s` comes from [`chor_session_new`]; `message` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_fault(
    s: *mut ChorSession,
    message: *const u8,
    len: usize,
    loc: u32,
) -> ! {
    let text = if message.is_null() {
        "runtime fault".to_string()
    } else {
        // SAFETY: message points to len readable bytes.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(message, len) }).into_owned()
    };
    // SAFETY: s comes from chor_session_new.
    let msg = match unsafe { s.as_ref() } {
        Some(ChorSession {
            session: Some(sess),
            ..
        }) => sess.fault(loc, text).to_string(),
        Some(cs) => format!("role {}: {text}", cs.role),
        None => text,
    };
    exit_with(&msg, 1)
}

#[cfg(test)]
mod tests {
    use super::config_path;

    #[test]
    fn finds_the_config_flag() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            config_path(&a(&["Buyer", "--config", "d.toml"])),
            Some("d.toml")
        );
        assert_eq!(
            config_path(&a(&["Buyer", "--config=x/d.toml"])),
            Some("x/d.toml")
        );
        assert_eq!(config_path(&a(&["Buyer", "--config"])), None);
        assert_eq!(config_path(&a(&["--config"])), None);
    }
}

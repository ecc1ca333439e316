//! Network namespaces, for the tests that run roles as separate hosts (they need root and
//! Debian's `ip`).

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs `ip ARGS`; its error output is the error.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            super::text(&o.stderr).trim()
        ))
    }
}

/// Starts `exe --config cfg` inside the namespace `ns`, its output piped.
pub fn spawn_in(ns: &str, exe: &Path, cfg: &Path) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .arg("--config")
        .arg(cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start role in its namespace")
}

/// Deletes the namespaces `names` (deleting one deletes the veth ends inside it).
pub fn remove(names: &[String]) {
    for n in names {
        let _ = ip(&["netns", "del", n]);
    }
}

/// The namespaces `made`, or `None` (with a notice) where this machine cannot make them and
/// CI is not set; under CI a failure to make them fails the test.
pub fn or_skip<T>(made: Result<T, String>) -> Option<T> {
    match made {
        Ok(t) => Some(t),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but network namespaces cannot be created: {e}");
            }
            eprintln!(
                "notice: test skipped: cannot create network namespaces (it needs root): {e}"
            );
            None
        }
    }
}

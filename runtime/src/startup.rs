//! The start of every role executable, native or interpreted: the command line, the
//! deployment file, and ending with the `chor run` that started it.
//!
//! Both kinds of role executable call [`load_config`] before connecting to their peers, so
//! they accept the same arguments and report the same errors.

use crate::config::DeployConfig;
use std::path::PathBuf;

/// The environment variable through which `chor run` names itself to the roles it starts.
pub const PARENT_PID_VAR: &str = "CHOR_PARENT_PID";

/// Reads the command line (`--config PATH`, `--help`, `-- ARGS` for `env::args()`), loads the deployment file, checks that
/// it names exactly the roles of the program, and prints its warnings (a secret file others
/// can read). `Err` carries the exit status after the message
/// has been printed: 0 for `--help`, 2 for a bad command line, 1 for a bad deployment file.
pub fn load_config(role: &str, roles: &[String], args: &[String]) -> Result<DeployConfig, i32> {
    end_with_parent();
    let usage = format!("usage: {role} --config deploy.toml [-- ARGS...]");
    let mut config: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--config" | "-c" => {
                config = args.get(i + 1).map(PathBuf::from);
                i += 2;
            }
            "--" => {
                // The program's own arguments (`env::args()`).
                crate::rt::world::set_args(args[i + 1..].to_vec());
                break;
            }
            "--help" | "-h" => {
                println!("{role}: role {role} of a chor program\n\n{usage}");
                return Err(0);
            }
            other => {
                eprintln!("error: unexpected argument `{other}`\n{usage}");
                return Err(2);
            }
        }
    }
    let Some(config) = config else {
        eprintln!("error: missing --config\n{usage}");
        return Err(2);
    };
    let cfg = DeployConfig::from_file(&config).map_err(|e| {
        eprintln!("error: role {role}: {e}");
        1
    })?;
    cfg.require_exact_roles(roles).map_err(|e| {
        eprintln!("error: role {role}: {e}");
        1
    })?;
    for w in &cfg.warnings {
        eprintln!("warning: role {role}: {w}");
    }
    Ok(cfg)
}

/// Finds `--member i` (before any `--`) among the arguments of the executable of the family
/// `family` of `n` members: where it stands and the member it names. Missing, malformed or out
/// of range, the error names the family and the range (the same in both back ends).
pub fn find_member(family: &str, n: usize, args: &[String]) -> Result<(usize, usize), String> {
    let last = n.saturating_sub(1);
    let Some(k) = args
        .iter()
        .take_while(|a| *a != "--")
        .position(|a| a == "--member")
    else {
        return Err(format!(
            "role {family}: this executable runs a member of the family {family} \
             ({n} members): start it with --member 0 … {last}"
        ));
    };
    let value = args.get(k + 1).cloned().unwrap_or_default();
    match value.parse::<usize>() {
        Ok(i) if i < n => Ok((k, i)),
        _ => Err(format!(
            "role {family}: --member {value} is out of range: the family {family} has \
             {n} members (0 … {last})"
        )),
    }
}

/// When started by `chor run` (which sets [`PARENT_PID_VAR`]), ends this process as soon as
/// `chor` ends, however it ends (SIGKILL included): an orphaned role would otherwise wait for
/// its peers, or compute, forever. On Linux the kernel delivers SIGKILL when the parent dies;
/// elsewhere a thread checks the parent every 100 ms.
pub fn end_with_parent() {
    let Some(parent) = std::env::var(PARENT_PID_VAR)
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory.
        #[allow(unsafe_code)]
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = std::thread::Builder::new()
            .name("parent-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if std::os::unix::process::parent_id() as i32 != parent {
                        std::process::exit(1);
                    }
                }
            });
    }
    // `chor` may have died before the signal was asked for: then this process was re-parented.
    if std::os::unix::process::parent_id() as i32 != parent {
        std::process::exit(1);
    }
}

/// What [`on_termination`] runs when a terminating signal arrives, by registration.
type Cleanups = std::collections::BTreeMap<u64, Box<dyn FnOnce() + Send>>;

static CLEANUPS: std::sync::Mutex<(u64, Cleanups)> =
    std::sync::Mutex::new((0, std::collections::BTreeMap::new()));

/// The write end of the pipe the signal handler writes the signal's number to (-1: none).
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The signals that ask a process to end and that [`on_termination`] handles.
const TERMINATING: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Removes its cleanup from those [`on_termination`] runs when dropped.
pub struct TerminationGuard(Option<u64>);

impl Drop for TerminationGuard {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            let mut g = CLEANUPS.lock().unwrap_or_else(|e| e.into_inner());
            g.1.remove(&id);
        }
    }
}

/// Runs `cleanup` if this process is asked to end by SIGTERM, SIGINT or SIGHUP while the
/// returned guard lives, then ends the process by that same signal (so its parent sees
/// what it would have seen without the cleanup). For `chor run`, whose temporary build
/// directory would otherwise be left behind; the roles it started end with it anyway
/// ([`end_with_parent`]). A signal this process ignores (`nohup`, SIGINT in a background
/// job) stays ignored. Should the handler not be installed, nothing is cleaned up and the
/// process ends as before.
pub fn on_termination(cleanup: impl FnOnce() + Send + 'static) -> TerminationGuard {
    if install_signal_thread().is_err() {
        return TerminationGuard(None);
    }
    let mut g = CLEANUPS.lock().unwrap_or_else(|e| e.into_inner());
    let id = g.0;
    g.0 += 1;
    g.1.insert(id, Box::new(cleanup));
    TerminationGuard(Some(id))
}

/// Async-signal-safe: writes the signal's number to the pipe the cleanup thread reads.
extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(std::sync::atomic::Ordering::SeqCst);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; `b` outlives the call.
        #[allow(unsafe_code)]
        unsafe {
            libc::write(fd, (&b as *const u8).cast(), 1);
        }
    }
}

/// Once per process: the pipe, the thread that runs the cleanups, and the handlers.
fn install_signal_thread() -> std::io::Result<()> {
    use std::io::Read;
    use std::os::fd::IntoRawFd;
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *INSTALLED.get_or_init(|| {
        let Ok((mut reader, writer)) = std::os::unix::net::UnixStream::pair() else {
            return false;
        };
        let spawned = std::thread::Builder::new()
            .name("chor-signals".into())
            .spawn(move || {
                let mut b = [0u8; 1];
                loop {
                    match reader.read(&mut b) {
                        Ok(1) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        _ => return,
                    }
                }
                let cleanups = {
                    let mut g = CLEANUPS.lock().unwrap_or_else(|e| e.into_inner());
                    std::mem::take(&mut g.1)
                };
                for (_, c) in cleanups {
                    c();
                }
                let sig = libc::c_int::from(b[0]);
                // SAFETY: restoring the default action and raising a signal touch no memory.
                #[allow(unsafe_code)]
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    libc::raise(sig);
                }
                std::process::exit(128 + sig);
            });
        if spawned.is_err() {
            return false;
        }
        SIGNAL_PIPE.store(writer.into_raw_fd(), std::sync::atomic::Ordering::SeqCst);
        for sig in TERMINATING {
            // SAFETY: sigaction with a handler that only calls write(2); the structures are
            // initialised (zeroed, then filled) and outlive the calls.
            #[allow(unsafe_code)]
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                act.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
        }
        true
    });
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other("cannot handle terminating signals"))
    }
}

/// Removes the directories `chor run` left in `tmp` (`chor-run-PID`) when it was killed
/// with SIGKILL, which no handler sees: those of processes that no longer exist, untouched
/// for `min_age` (a directory of a `chor run` in another PID namespace that shares `tmp` is
/// written to while it builds). Linux only (it needs `/proc`).
pub fn sweep_stale_run_dirs(tmp: &std::path::Path, min_age: std::time::Duration) -> usize {
    if !std::path::Path::new("/proc/self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("chor-run-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let old = e
            .metadata()
            .ok()
            .filter(|m| m.is_dir())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if old
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            && std::fs::remove_dir_all(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// `n` distinct loopback ports that are free now, for the roles to listen on later.
///
/// They are picked below the kernel's range of ephemeral ports when there is room: a port
/// from that range, released and bound again later, can meanwhile be taken by any outgoing
/// connection on the machine (e.g. other roles dialling each other), which a port below the
/// range cannot.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    bind_free_ports(n)?
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// [`free_ports`], still bound: `n` listening sockets on distinct loopback ports, for
/// `chor run` to hand to the roles it starts ([`spawn_with_listener`]).
pub fn bind_free_ports(n: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    use std::hash::{BuildHasher, Hasher};
    use std::net::TcpListener;
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = (10_000u16, low.saturating_sub(1));
    let mut held: Vec<TcpListener> = Vec::new();
    if to > from + 1000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let mut x = h.finish() | 1;
        let span = u64::from(to - from);
        for _ in 0..(n * 50) {
            if held.len() == n {
                break;
            }
            // xorshift: a cheap spread over the range; binding decides.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let port = from + (x % span) as u16;
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                held.push(l);
            }
        }
    }
    while held.len() < n {
        held.push(TcpListener::bind("127.0.0.1:0")?);
    }
    Ok(held)
}

/// The environment variable through which `chor run` hands a role the socket it bound and
/// listens on for it: its file descriptor.
pub const LISTEN_FD_VAR: &str = "CHOR_LISTEN_FD";

/// Starts `cmd` with `listener` as the socket its role listens on: the role accepts on it
/// instead of binding its address itself. `chor run` binds every role's address before
/// starting any role, so no role ever dials a peer that is not listening yet (which is
/// refused and retried, a wait and a wake-up each time, while the roles start on the same
/// CPUs), and no other program can take a port between its choice and its use. A role
/// started by hand binds its address as before.
///
/// The descriptor is made inheritable for the time of the spawn only, so that the standard
/// library starts the process with `posix_spawn` (a `vfork`) rather than `fork`, which a
/// closure run before `exec` would need: `fork` copies the page tables of this process, and
/// `chor run` holds the compiler's memory (copying 64 MB of it took about 2 ms a role).
/// While it is inheritable, a process that another thread of this one starts inherits the
/// listener too; callers start their roles from one thread.
#[cfg(unix)]
pub fn spawn_with_listener(
    cmd: &mut std::process::Command,
    listener: &std::net::TcpListener,
) -> std::io::Result<std::process::Child> {
    use std::os::unix::io::AsRawFd;
    let fd = listener.as_raw_fd();
    cmd.env(LISTEN_FD_VAR, fd.to_string());
    let set = |flags: libc::c_int| {
        // SAFETY: fcntl(F_SETFD) on a descriptor this process owns (the listener, borrowed
        // for the whole call) changes only its close-on-exec flag.
        #[allow(unsafe_code)]
        let r = unsafe { libc::fcntl(fd, libc::F_SETFD, flags) };
        if r == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    set(0)?;
    let child = cmd.spawn();
    set(libc::FD_CLOEXEC)?;
    child
}

/// The listening socket [`spawn_with_listener`] handed to this process, if it is one bound to
/// `addr` (the role's listening address in the deployment file). Taken once: a later call
/// returns `None`. A descriptor that is not a listening socket is left alone; a listening
/// one bound elsewhere (a deployment file edited since) is closed, and the role binds
/// `addr` itself.
#[cfg(unix)]
pub fn inherited_listener(addr: std::net::SocketAddr) -> Option<std::net::TcpListener> {
    use std::os::unix::io::FromRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let fd: libc::c_int = std::env::var(LISTEN_FD_VAR).ok()?.parse().ok()?;
    if fd < 3 || TAKEN.swap(true, Ordering::SeqCst) {
        return None;
    }
    let mut listening: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `listening`; on a descriptor that is
    // not open or not a socket it fails without side effects.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut listening as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 || listening == 0 {
        return None;
    }
    // SAFETY: the descriptor is an open listening socket that `chor run` handed to this
    // process for this purpose; nothing else in the process owns it (taken once, above).
    // Close-on-exec again, so that programs this role starts do not inherit it.
    #[allow(unsafe_code)]
    let listener = unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        std::net::TcpListener::from_raw_fd(fd)
    };
    (listener.local_addr().ok()? == addr).then_some(listener)
}

/// Without [`spawn_with_listener`], every role binds its own address.
#[cfg(not(unix))]
pub fn inherited_listener(_addr: std::net::SocketAddr) -> Option<std::net::TcpListener> {
    None
}

/// One loopback address that is free now and that no earlier call in this process returned:
/// for tests and benchmarks that pick addresses one at a time and bind them later (a port
/// released by one pick can otherwise come back from the next).
pub fn fresh_loopback_addr() -> std::net::SocketAddr {
    use std::sync::Mutex;
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut port = 0;
    for _ in 0..1000 {
        port = free_ports(1)
            .ok()
            .and_then(|p| p.first().copied())
            .unwrap_or(0);
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if port != 0 && !given.contains(&port) {
            given.push(port);
            break;
        }
    }
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

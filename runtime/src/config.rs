//! The deployment file (`deploy.toml`, design card section 6) that every role executable reads
//! through `--config PATH`.
//!
//! ```toml
//! [roles]
//! Buyer  = "10.0.0.1:7100"
//! Seller = "10.0.0.2:7100"
//! [security]
//! secret_file = "cluster.key"   # optional; relative to this file; without it, loopback only
//! [runtime]
//! connect_timeout_ms = 10000    # optional (default 10000): how long roles wait for each other
//! idle_timeout_ms = 60000       # optional (default none): longest wait for one message
//! ```
//! Parsing is strict (unknown tables or keys are errors) because a misspelt
//! `conect_timeout_ms` silently ignored would only surface as a confusing hang or timeout.
//! Addresses are resolved once, here, so that a bad address is reported before any
//! connection is tried.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// Default for `[runtime] connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;

/// The shortest shared secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The longest role name (it travels in the handshake with a one-byte length).
pub const MAX_ROLE_NAME: usize = 255;

/// A parsed deployment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    /// Each role's address, resolved.
    pub roles: BTreeMap<String, SocketAddr>,
    /// Where the secret was read from (resolved against the file's directory), if configured.
    pub secret_file: Option<PathBuf>,
    /// The shared secret peers prove they hold, if configured.
    pub secret: Option<Secret>,
    /// How long connecting to all peers may take.
    pub connect_timeout_ms: u64,
    /// How long a receive may wait for a message before failing; `None` waits indefinitely.
    pub idle_timeout_ms: Option<u64>,
}

/// The bytes of the shared secret (trailing whitespace of the file removed); never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes (at least [`MIN_SECRET_LEN`] of them are expected).
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

/// A deployment file that cannot be used, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or "deployment file" when parsed from a string).
    pub origin: String,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What can be wrong with a deployment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Unreadable(String),
    /// The file is not valid TOML.
    Syntax(String),
    /// A key or table this runtime does not know.
    UnknownKey(String),
    /// A key holds the wrong kind of value.
    BadValue { key: String, expected: String },
    /// `[roles]` is absent or empty.
    NoRoles,
    /// A role the program needs has no address.
    MissingRole(String),
    /// A role name that cannot be used.
    BadRoleName(String),
    /// An address that does not parse or resolve.
    BadAddress {
        role: String,
        address: String,
        reason: String,
    },
    /// The secret file could not be read, or is too short.
    Secret { path: PathBuf, reason: String },
    /// No secret is configured but a role is not on loopback.
    InsecureAddress { role: String, address: SocketAddr },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin)?;
        match &self.kind {
            ConfigErrorKind::Unreadable(e) => write!(f, "cannot read the deployment file: {e}"),
            ConfigErrorKind::Syntax(e) => write!(f, "invalid TOML: {}", e.trim_end()),
            ConfigErrorKind::UnknownKey(k) => write!(
                f,
                "unknown key `{k}` (known: [roles], [security] secret_file, \
                 [runtime] connect_timeout_ms and idle_timeout_ms)"
            ),
            ConfigErrorKind::BadValue { key, expected } => {
                write!(f, "`{key}` must be {expected}")
            }
            ConfigErrorKind::NoRoles => {
                write!(
                    f,
                    "no roles: add a [roles] table mapping each role to \"host:port\""
                )
            }
            ConfigErrorKind::MissingRole(r) => write!(
                f,
                "role {r} has no address: add `{r} = \"host:port\"` under [roles]"
            ),
            ConfigErrorKind::BadRoleName(r) => write!(
                f,
                "bad role name {r:?} (a role name is non-empty and at most {MAX_ROLE_NAME} bytes)"
            ),
            ConfigErrorKind::BadAddress {
                role,
                address,
                reason,
            } => write!(
                f,
                "role {role} has a bad address {address:?} (expected \"host:port\"): {reason}"
            ),
            ConfigErrorKind::Secret { path, reason } => {
                write!(f, "cannot use secret_file {}: {reason}", path.display())
            }
            ConfigErrorKind::InsecureAddress { role, address } => write!(
                f,
                "role {role} is at {address}, which is not a loopback address, but no \
                 [security] secret_file is configured; without a shared secret only \
                 loopback addresses (127.0.0.1, ::1) are allowed"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl DeployConfig {
    /// Reads and checks a deployment file; a relative `secret_file` is resolved against the
    /// file's own directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<DeployConfig, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            kind: ConfigErrorKind::Unreadable(e.to_string()),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, origin)
    }

    /// Parses the text of a deployment file; `base_dir` is where `secret_file` is looked up.
    pub fn from_str(text: &str, base_dir: &Path) -> Result<DeployConfig, ConfigError> {
        Self::parse(text, base_dir, "deployment file".to_string())
    }

    /// A configuration on loopback without a secret, built in code (tests, `chor run`).
    pub fn loopback(roles: BTreeMap<String, SocketAddr>) -> DeployConfig {
        DeployConfig {
            roles,
            secret_file: None,
            secret: None,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            idle_timeout_ms: None,
        }
    }

    /// The address of `role`, or a clear error if the file does not list it.
    pub fn addr_of(&self, role: &str) -> Result<SocketAddr, ConfigError> {
        self.roles.get(role).copied().ok_or_else(|| ConfigError {
            origin: "deployment file".to_string(),
            kind: ConfigErrorKind::MissingRole(role.to_string()),
        })
    }

    /// Checks that every role of the program has an address.
    pub fn require_roles<S: AsRef<str>>(&self, roles: &[S]) -> Result<(), ConfigError> {
        roles
            .iter()
            .try_for_each(|r| self.addr_of(r.as_ref()).map(|_| ()))
    }

    fn parse(text: &str, base_dir: &Path, origin: String) -> Result<DeployConfig, ConfigError> {
        let err = |kind| ConfigError {
            origin: origin.clone(),
            kind,
        };
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(ConfigErrorKind::Syntax(e.to_string())))?;

        let mut roles = BTreeMap::new();
        let mut secret_path = None;
        let mut connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
        let mut idle_timeout_ms = None;

        for (key, item) in &doc {
            let table = item.as_table().ok_or_else(|| {
                err(ConfigErrorKind::BadValue {
                    key: key.clone(),
                    expected: "a table".to_string(),
                })
            })?;
            match key.as_str() {
                "roles" => {
                    for (role, addr) in table {
                        if role.is_empty() || role.len() > MAX_ROLE_NAME {
                            return Err(err(ConfigErrorKind::BadRoleName(role.clone())));
                        }
                        let addr = addr.as_str().ok_or_else(|| {
                            err(ConfigErrorKind::BadValue {
                                key: format!("roles.{role}"),
                                expected: "a string \"host:port\"".to_string(),
                            })
                        })?;
                        let resolved = resolve(addr).map_err(|reason| {
                            err(ConfigErrorKind::BadAddress {
                                role: role.clone(),
                                address: addr.to_string(),
                                reason,
                            })
                        })?;
                        roles.insert(role.clone(), resolved);
                    }
                }
                "security" => {
                    for (k, v) in table {
                        match k.as_str() {
                            "secret_file" => {
                                let p = v.as_str().ok_or_else(|| {
                                    err(ConfigErrorKind::BadValue {
                                        key: "security.secret_file".to_string(),
                                        expected: "a string (a path)".to_string(),
                                    })
                                })?;
                                secret_path = Some(base_dir.join(p));
                            }
                            _ => {
                                return Err(err(ConfigErrorKind::UnknownKey(format!(
                                    "security.{k}"
                                ))));
                            }
                        }
                    }
                }
                "runtime" => {
                    for (k, v) in table {
                        let ms = || {
                            v.as_integer()
                                .and_then(|i| u64::try_from(i).ok())
                                .filter(|&i| i > 0)
                                .ok_or_else(|| {
                                    err(ConfigErrorKind::BadValue {
                                        key: format!("runtime.{k}"),
                                        expected: "a positive integer (milliseconds)".to_string(),
                                    })
                                })
                        };
                        match k.as_str() {
                            "connect_timeout_ms" => connect_timeout_ms = ms()?,
                            "idle_timeout_ms" => idle_timeout_ms = Some(ms()?),
                            _ => {
                                return Err(err(ConfigErrorKind::UnknownKey(format!(
                                    "runtime.{k}"
                                ))));
                            }
                        }
                    }
                }
                _ => return Err(err(ConfigErrorKind::UnknownKey(key.clone()))),
            }
        }

        if roles.is_empty() {
            return Err(err(ConfigErrorKind::NoRoles));
        }

        let secret = match &secret_path {
            None => {
                if let Some((role, addr)) = roles.iter().find(|(_, a)| !a.ip().is_loopback()) {
                    return Err(err(ConfigErrorKind::InsecureAddress {
                        role: role.clone(),
                        address: *addr,
                    }));
                }
                None
            }
            Some(path) => Some(read_secret(path).map_err(|reason| {
                err(ConfigErrorKind::Secret {
                    path: path.clone(),
                    reason,
                })
            })?),
        };

        Ok(DeployConfig {
            roles,
            secret_file: secret_path,
            secret,
            connect_timeout_ms,
            idle_timeout_ms,
        })
    }
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return Ok(a);
    }
    if !addr.contains(':') {
        return Err("missing the port".to_string());
    }
    let mut found = addr.to_socket_addrs().map_err(|e| e.to_string())?;
    found
        .next()
        .ok_or_else(|| "the host name resolves to no address".to_string())
}

fn read_secret(path: &Path) -> Result<Secret, String> {
    let mut bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // A key file written with `echo` or an editor ends in a newline that is not part of it.
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    if bytes.len() < MIN_SECRET_LEN {
        return Err(format!(
            "the secret is {} bytes long; use at least {MIN_SECRET_LEN} (e.g. `head -c 32 /dev/urandom | base64 > cluster.key`)",
            bytes.len()
        ));
    }
    Ok(Secret(bytes))
}

//! The deployment file (`deploy.toml`, design card section 6) that every role executable reads
//! through `--config PATH`.
//!
//! ```toml
//! [roles]
//! Buyer  = "10.0.0.1:7100"
//! Seller = { address = "seller.internal:7100", listen = "0.0.0.0:7100",
//!            cert = "Seller.pem", key = "Seller.key" }
//! [security]
//! ca = "ca.pem"                 # TLS 1.3: trust role certificates signed by this CA
//! # pinned = true               # or: TLS 1.3 trusting exactly each role's own `cert`
//! # allow_plaintext = true      # unencrypted traffic off loopback (explicit opt-in)
//! secret_file = "cluster.key"   # optional shared secret (SPAKE2 in the handshake)
//! [runtime]
//! connect_timeout_ms = 10000    # optional (default 10000): how long roles wait for each other
//! handshake_timeout_ms = 5000   # optional (default 5000): one deadline for a whole handshake
//! idle_timeout_ms = 30000       # optional (default 30000): longest silence from a peer
//! max_message_bytes = 67108864  # optional (default 64 MiB): largest message sent or received
//! ```
//! A role's `address` is where the others reach it; `listen` (default: the address) is what it
//! binds, for containers and NAT where the two differ. Host names are resolved again, with
//! retries, while the roles connect (a peer's DNS entry may appear late), and each of their
//! addresses is dialled in turn.
//!
//! Parsing is strict (unknown tables or keys are errors) because a misspelt
//! `conect_timeout_ms` silently ignored would only surface as a confusing hang or timeout.
//! Every error names the file and, where it comes from one, the line. Peers keep a silent
//! connection alive with heartbeats, so `idle_timeout_ms` bounds how long a stopped or cut-off
//! peer goes unnoticed, not how long a live one may take.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// Default for `[runtime] connect_timeout_ms`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;

/// Default for `[runtime] handshake_timeout_ms`.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 5_000;

/// Default for `[runtime] idle_timeout_ms` (also what `chor build` writes).
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 30_000;

/// Default for `[runtime] max_message_bytes`: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The largest `max_message_bytes` accepted (frames carry a 32-bit length).
pub const MAX_MESSAGE_BYTES_LIMIT: usize = (u32::MAX - 1) as usize;

/// The shortest shared secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The longest role name (it travels in the handshake with a one-byte length).
pub const MAX_ROLE_NAME: usize = 255;

/// A parsed deployment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    /// The file it was read from ("deployment file" when parsed from a string).
    pub origin: String,
    /// Each role's addresses; the members of a family as `Workers[2]`.
    pub roles: BTreeMap<String, Endpoint>,
    /// The families the file lists (`Workers = ["…", "…"]`), with the line and the length
    /// of each list.
    pub families: BTreeMap<String, (Option<u32>, usize)>,
    /// Where the secret was read from (resolved against the file's directory), if configured.
    pub secret_file: Option<PathBuf>,
    /// The shared secret peers prove they hold, if configured.
    pub secret: Option<Secret>,
    /// TLS for every connection, if configured (`[security] ca` or `pinned`).
    pub tls: Option<TlsTrust>,
    /// `[security] allow_plaintext`: roles off loopback may talk without TLS.
    pub allow_plaintext: bool,
    /// How long connecting to all peers may take.
    pub connect_timeout_ms: u64,
    /// How long one handshake may take in all.
    pub handshake_timeout_ms: u64,
    /// The longest silence from a peer before a waiting role gives up; `None` waits forever.
    pub idle_timeout_ms: Option<u64>,
    /// The largest message (encoded) sent or received.
    pub max_message_bytes: usize,
    /// Things that work but deserve attention (a secret file others can read).
    pub warnings: Vec<String>,
}

/// Where one role is reached and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The address other roles dial, as written ("host:port").
    pub address: String,
    /// `address` resolved when the file was read (`None`: a host name that did not resolve
    /// yet; dialling resolves it again until the connect deadline).
    pub resolved: Option<SocketAddr>,
    /// What the role binds, when it differs from its address.
    pub listen: Option<SocketAddr>,
    /// The line of the deployment file that gives it.
    pub line: Option<u32>,
    /// The role's certificate (PEM), resolved against the file's directory.
    pub cert: Option<PathBuf>,
    /// The role's private key (PEM); only the role itself reads it.
    pub key: Option<PathBuf>,
}

/// How roles decide whom to trust over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// Certificates signed by this CA (PEM file), each naming its role.
    Ca {
        /// The CA certificate file.
        path: PathBuf,
        /// The line of `ca =`.
        line: Option<u32>,
    },
    /// Exactly the certificate each role's `cert` names.
    Pinned,
}

impl Endpoint {
    /// An endpoint at a known address.
    pub fn at(addr: SocketAddr) -> Endpoint {
        Endpoint {
            address: addr.to_string(),
            resolved: Some(addr),
            listen: None,
            line: None,
            cert: None,
            key: None,
        }
    }

    /// The address to dial, resolving a host name now if needed.
    pub fn dial_addr(&self) -> Result<SocketAddr, String> {
        match self.resolved {
            Some(a) => Ok(a),
            None => resolve(&self.address),
        }
    }

    /// Every address to dial, in the resolver's order, resolving a host name now if needed:
    /// a name with IPv6 and IPv4 addresses reaches a peer that listens on one of them only.
    /// A host name is looked up again each time (a peer's DNS entry may have changed since
    /// the file was read); if that fails, the address it had then is used.
    pub fn dial_addrs(&self) -> Result<Vec<SocketAddr>, String> {
        if let Ok(a) = self.address.parse::<SocketAddr>() {
            return Ok(vec![a]);
        }
        resolve_all(&self.address).or_else(|e| self.resolved.map(|a| vec![a]).ok_or(e))
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        match self.listen {
            Some(a) => Ok(a),
            None => self.dial_addr(),
        }
    }
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

/// A deployment file that cannot be used, with the file (and line) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or "deployment file" when parsed from a string).
    pub origin: String,
    /// The line the mistake is on, when it is on one.
    pub line: Option<u32>,
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
    /// A family's list of addresses has another length than the program's family.
    FamilySize {
        family: String,
        listed: usize,
        built: usize,
    },
    /// A role the program does not have.
    ExtraRole { role: String, known: Vec<String> },
    /// A role name that cannot be used.
    BadRoleName(String),
    /// An address that does not parse or resolve.
    BadAddress {
        role: String,
        address: String,
        reason: String,
    },
    /// Two roles at the same address (or listening on the same one).
    DuplicateAddress {
        role: String,
        other: String,
        other_line: Option<u32>,
        address: String,
    },
    /// The secret file could not be read, or is too short.
    Secret { path: PathBuf, reason: String },
    /// No TLS is configured but a role is not on loopback.
    InsecureAddress { role: String, address: String },
    /// TLS is configured but a role lacks its certificate (or `ca` and `pinned` clash).
    Tls(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: ", self.origin)?,
            None => write!(f, "{}: ", self.origin)?,
        }
        match &self.kind {
            ConfigErrorKind::Unreadable(e) => write!(f, "cannot read the deployment file: {e}"),
            ConfigErrorKind::Syntax(e) => write!(f, "invalid TOML: {}", e.trim_end()),
            ConfigErrorKind::UnknownKey(k) => write!(
                f,
                "unknown key `{k}` (known: [roles] with address, listen, cert and key, \
                 [security] ca, pinned, allow_plaintext and secret_file, [runtime] \
                 connect_timeout_ms, handshake_timeout_ms, idle_timeout_ms and \
                 max_message_bytes)"
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
            ConfigErrorKind::FamilySize {
                family,
                listed,
                built,
            } => write!(
                f,
                "family {family} lists {listed} address{} but the program was built with \
                 --size {family}={built}: list one address per member",
                if *listed == 1 { "" } else { "es" }
            ),
            ConfigErrorKind::ExtraRole { role, known } => write!(
                f,
                "role {role} is not a role of this program (its roles are {}); remove it",
                known.join(", ")
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
            ConfigErrorKind::DuplicateAddress {
                role,
                other,
                other_line,
                address,
            } => {
                write!(f, "roles {other} and {role} both use {address}")?;
                if let Some(l) = other_line {
                    write!(f, " ({other} is on line {l})")?;
                }
                write!(f, "; every role needs its own address")
            }
            ConfigErrorKind::Secret { path, reason } => {
                write!(f, "cannot use secret_file {}: {reason}", path.display())
            }
            ConfigErrorKind::InsecureAddress { role, address } => write!(
                f,
                "role {role} is at {address}, which is not a loopback address, but TLS is \
                 not configured: set [security] ca = \"ca.pem\" (or pinned = true) and a \
                 cert and key for every role (`chor keys DIR --roles ...` writes them), or \
                 accept unencrypted, unauthenticated traffic on that network with [security] \
                 allow_plaintext = true"
            ),
            ConfigErrorKind::Tls(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// `Workers[2]` → `("Workers", 2)`: the name of a family member.
pub fn split_member(role: &str) -> Option<(&str, usize)> {
    let (family, rest) = role.split_once('[')?;
    let index = rest.strip_suffix(']')?.parse().ok()?;
    Some((family, index))
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> u32 {
    let n = text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
}

impl DeployConfig {
    /// Reads and checks a deployment file; a relative `secret_file` is resolved against the
    /// file's own directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<DeployConfig, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            line: None,
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
            origin: "deployment file".to_string(),
            roles: roles
                .into_iter()
                .map(|(r, a)| (r, Endpoint::at(a)))
                .collect(),
            families: BTreeMap::new(),
            secret_file: None,
            secret: None,
            tls: None,
            allow_plaintext: false,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
            idle_timeout_ms: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            warnings: Vec::new(),
        }
    }

    fn error(&self, line: Option<u32>, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            origin: self.origin.clone(),
            line,
            kind,
        }
    }

    /// The endpoint of `role`, or a clear error if the file does not list it.
    pub fn endpoint(&self, role: &str) -> Result<&Endpoint, ConfigError> {
        self.roles
            .get(role)
            .ok_or_else(|| self.error(None, ConfigErrorKind::MissingRole(role.to_string())))
    }

    /// The address `role` is dialled at (resolved now), or a clear error.
    pub fn addr_of(&self, role: &str) -> Result<SocketAddr, ConfigError> {
        self.socket_addr(role, Endpoint::dial_addr)
    }

    /// The address `role` binds, or a clear error.
    pub fn listen_of(&self, role: &str) -> Result<SocketAddr, ConfigError> {
        self.socket_addr(role, Endpoint::listen_addr)
    }

    /// One of `role`'s addresses, with the file's line in the error when it is bad.
    fn socket_addr(
        &self,
        role: &str,
        which: impl Fn(&Endpoint) -> Result<SocketAddr, String>,
    ) -> Result<SocketAddr, ConfigError> {
        let e = self.endpoint(role)?;
        which(e).map_err(|reason| {
            self.error(
                e.line,
                ConfigErrorKind::BadAddress {
                    role: role.to_string(),
                    address: e.address.clone(),
                    reason,
                },
            )
        })
    }

    /// Checks that every role of the program has an address.
    pub fn require_roles<S: AsRef<str>>(&self, roles: &[S]) -> Result<(), ConfigError> {
        roles
            .iter()
            .try_for_each(|r| self.endpoint(r.as_ref()).map(|_| ()))
    }

    /// Checks that the file lists exactly the program's roles: each needs an address, and a
    /// role the program does not have is a mistake (a misspelt name, or the file of another
    /// program).
    pub fn require_exact_roles<S: AsRef<str>>(&self, roles: &[S]) -> Result<(), ConfigError> {
        // A family's list must have one address per member: say so before naming the
        // first member without one.
        let mut built: BTreeMap<&str, usize> = BTreeMap::new();
        for r in roles {
            if let Some((family, _)) = split_member(r.as_ref()) {
                *built.entry(family).or_default() += 1;
            }
        }
        for (family, (line, listed)) in &self.families {
            if let Some(&n) = built.get(family.as_str())
                && n != *listed
            {
                return Err(self.error(
                    *line,
                    ConfigErrorKind::FamilySize {
                        family: family.clone(),
                        listed: *listed,
                        built: n,
                    },
                ));
            }
        }
        self.require_roles(roles)?;
        let known: Vec<String> = roles.iter().map(|r| r.as_ref().to_string()).collect();
        match self.roles.iter().find(|(r, _)| !known.contains(r)) {
            Some((r, e)) => Err(self.error(
                e.line,
                ConfigErrorKind::ExtraRole {
                    role: r.clone(),
                    known,
                },
            )),
            None => Ok(()),
        }
    }

    fn parse(text: &str, base_dir: &Path, origin: String) -> Result<DeployConfig, ConfigError> {
        use toml::de::{DeTable, DeValue};
        let err = |line: Option<u32>, kind| ConfigError {
            origin: origin.clone(),
            line,
            kind,
        };
        let line = |span: std::ops::Range<usize>| Some(line_at(text, span.start));
        let doc = DeTable::parse(text).map_err(|e| {
            let l = e.span().map(|s| line_at(text, s.start));
            err(l, ConfigErrorKind::Syntax(e.message().to_string()))
        })?;

        let mut cfg = DeployConfig::loopback(BTreeMap::new());
        cfg.origin = origin.clone();
        cfg.idle_timeout_ms = Some(DEFAULT_IDLE_TIMEOUT_MS);
        let mut secret_path = None;
        let mut ca: Option<(PathBuf, Option<u32>)> = None;
        let mut pinned: Option<Option<u32>> = None;
        let mut roles_line = None;

        for (key, item) in doc.get_ref() {
            let kline = line(key.span());
            let key = key.get_ref().as_ref();
            let DeValue::Table(table) = item.get_ref() else {
                return Err(err(
                    kline,
                    ConfigErrorKind::BadValue {
                        key: key.to_string(),
                        expected: "a table".to_string(),
                    },
                ));
            };
            match key {
                "roles" => {
                    roles_line = kline;
                    for (name, value) in table {
                        let rline = line(name.span());
                        let name: String = name.get_ref().to_string();
                        if name.is_empty() || name.len() > MAX_ROLE_NAME {
                            return Err(err(rline, ConfigErrorKind::BadRoleName(name)));
                        }
                        // A family: one address per member, in member order.
                        let entries: Vec<(String, &DeValue)> = match value.get_ref() {
                            DeValue::Array(items) => {
                                if items.is_empty() {
                                    return Err(err(
                                        rline,
                                        ConfigErrorKind::BadValue {
                                            key: format!("roles.{name}"),
                                            expected: "a list of one address per member (a \
                                                       family has at least one)"
                                                .to_string(),
                                        },
                                    ));
                                }
                                cfg.families.insert(name.clone(), (rline, items.len()));
                                items
                                    .iter()
                                    .enumerate()
                                    .map(|(i, v)| (format!("{name}[{i}]"), v.get_ref()))
                                    .collect()
                            }
                            v => vec![(name.clone(), v)],
                        };
                        for (role, value) in entries {
                            let bad_value = |key: String| {
                                err(
                                    rline,
                                    ConfigErrorKind::BadValue {
                                        key,
                                        expected: "a string \"host:port\" or a table { address = \
                                               \"host:port\", listen = \"ip:port\", cert = \
                                               \"role.pem\", key = \"role.key\" }"
                                            .to_string(),
                                    },
                                )
                            };
                            let mut cert = None;
                            let mut key = None;
                            let (address, listen) = match value {
                                DeValue::String(s) => (s.to_string(), None),
                                DeValue::Table(t) => {
                                    let mut address = None;
                                    let mut listen = None;
                                    for (k, v) in t {
                                        let s = v
                                            .get_ref()
                                            .as_str()
                                            .ok_or_else(|| {
                                                bad_value(format!("roles.{role}.{}", k.get_ref()))
                                            })?
                                            .to_string();
                                        match k.get_ref().as_ref() {
                                            "address" => address = Some(s),
                                            "listen" => listen = Some(s),
                                            "cert" => cert = Some(base_dir.join(s)),
                                            "key" => key = Some(base_dir.join(s)),
                                            other => {
                                                return Err(err(
                                                    line(k.span()),
                                                    ConfigErrorKind::UnknownKey(format!(
                                                        "roles.{role}.{other}"
                                                    )),
                                                ));
                                            }
                                        }
                                    }
                                    let address = address.ok_or_else(|| {
                                        bad_value(format!("roles.{role}.address"))
                                    })?;
                                    (address, listen)
                                }
                                _ => return Err(bad_value(format!("roles.{role}"))),
                            };
                            let bad_address = |address: &str, reason: String| {
                                err(
                                    rline,
                                    ConfigErrorKind::BadAddress {
                                        role: role.clone(),
                                        address: address.to_string(),
                                        reason,
                                    },
                                )
                            };
                            check_shape(&address).map_err(|r| bad_address(&address, r))?;
                            // A host name that does not resolve yet is tried again while
                            // connecting (its DNS entry may appear with its container).
                            let resolved = resolve(&address).ok();
                            let listen = match listen {
                                // The listen address is local: it must be an IP address or a
                                // name that resolves now.
                                Some(l) => Some(
                                    check_shape(&l)
                                        .and_then(|()| resolve(&l))
                                        .map_err(|r| bad_address(&l, r))?,
                                ),
                                None => None,
                            };
                            cfg.roles.insert(
                                role.clone(),
                                Endpoint {
                                    address,
                                    resolved,
                                    listen,
                                    line: rline,
                                    cert,
                                    key,
                                },
                            );
                        }
                    }
                }
                "security" => {
                    for (k, v) in table {
                        match k.get_ref().as_ref() {
                            "secret_file" => {
                                let p = v.get_ref().as_str().ok_or_else(|| {
                                    err(
                                        line(k.span()),
                                        ConfigErrorKind::BadValue {
                                            key: "security.secret_file".to_string(),
                                            expected: "a string (a path)".to_string(),
                                        },
                                    )
                                })?;
                                secret_path = Some((base_dir.join(p), line(k.span())));
                            }
                            "ca" => {
                                let p = v.get_ref().as_str().ok_or_else(|| {
                                    err(
                                        line(k.span()),
                                        ConfigErrorKind::BadValue {
                                            key: "security.ca".to_string(),
                                            expected: "a string (a path)".to_string(),
                                        },
                                    )
                                })?;
                                ca = Some((base_dir.join(p), line(k.span())));
                            }
                            flag @ ("pinned" | "allow_plaintext") => {
                                let b = v.get_ref().as_bool().ok_or_else(|| {
                                    err(
                                        line(k.span()),
                                        ConfigErrorKind::BadValue {
                                            key: format!("security.{flag}"),
                                            expected: "true or false".to_string(),
                                        },
                                    )
                                })?;
                                if flag == "pinned" {
                                    pinned = b.then(|| line(k.span()));
                                } else {
                                    cfg.allow_plaintext = b;
                                }
                            }
                            other => {
                                return Err(err(
                                    line(k.span()),
                                    ConfigErrorKind::UnknownKey(format!("security.{other}")),
                                ));
                            }
                        }
                    }
                }
                "runtime" => {
                    for (k, v) in table {
                        let kl = line(k.span());
                        let name = k.get_ref().as_ref();
                        let positive = |what: &str| {
                            v.get_ref()
                                .as_integer()
                                .and_then(|i| {
                                    let digits = i.as_str().replace('_', "");
                                    let digits = digits
                                        .trim_start_matches("0x")
                                        .trim_start_matches("0o")
                                        .trim_start_matches("0b");
                                    u64::from_str_radix(digits, i.radix()).ok()
                                })
                                .filter(|&i| i > 0)
                                .ok_or_else(|| {
                                    err(
                                        kl,
                                        ConfigErrorKind::BadValue {
                                            key: format!("runtime.{name}"),
                                            expected: format!("a positive integer ({what})"),
                                        },
                                    )
                                })
                        };
                        match name {
                            "connect_timeout_ms" => {
                                cfg.connect_timeout_ms = positive("milliseconds")?;
                            }
                            "handshake_timeout_ms" => {
                                cfg.handshake_timeout_ms = positive("milliseconds")?;
                            }
                            "idle_timeout_ms" => {
                                cfg.idle_timeout_ms = Some(positive("milliseconds")?);
                            }
                            "max_message_bytes" => {
                                let n = positive("bytes")?;
                                cfg.max_message_bytes = usize::try_from(n)
                                    .ok()
                                    .filter(|n| *n <= MAX_MESSAGE_BYTES_LIMIT)
                                    .ok_or_else(|| {
                                        err(
                                            kl,
                                            ConfigErrorKind::BadValue {
                                                key: "runtime.max_message_bytes".to_string(),
                                                expected: format!(
                                                    "at most {MAX_MESSAGE_BYTES_LIMIT}"
                                                ),
                                            },
                                        )
                                    })?;
                            }
                            other => {
                                return Err(err(
                                    kl,
                                    ConfigErrorKind::UnknownKey(format!("runtime.{other}")),
                                ));
                            }
                        }
                    }
                }
                other => return Err(err(kline, ConfigErrorKind::UnknownKey(other.to_string()))),
            }
        }

        if cfg.roles.is_empty() {
            return Err(err(roles_line, ConfigErrorKind::NoRoles));
        }

        // Two roles at one address would connect to each other's listener by mistake.
        let mut seen: BTreeMap<String, (&String, Option<u32>)> = BTreeMap::new();
        let mut seen_listen: BTreeMap<SocketAddr, (&String, Option<u32>)> = BTreeMap::new();
        for (role, e) in &cfg.roles {
            let key = e
                .resolved
                .map_or_else(|| e.address.clone(), |a| a.to_string());
            if let Some((other, other_line)) = seen.insert(key.clone(), (role, e.line)) {
                return Err(err(
                    e.line,
                    ConfigErrorKind::DuplicateAddress {
                        role: role.clone(),
                        other: other.clone(),
                        other_line,
                        address: e.address.clone(),
                    },
                ));
            }
            // What the role binds: its listen address, or else its address. A wildcard
            // (0.0.0.0, ::) is what roles in separate containers or hosts each bind, so two
            // of them are no conflict; on one host the second bind fails, naming the address.
            if let Some(l) = e.listen.or(e.resolved)
                && !l.ip().is_unspecified()
                && let Some((other, other_line)) = seen_listen.insert(l, (role, e.line))
            {
                return Err(err(
                    e.line,
                    ConfigErrorKind::DuplicateAddress {
                        role: role.clone(),
                        other: other.clone(),
                        other_line,
                        address: format!("listen address {l}"),
                    },
                ));
            }
        }

        cfg.tls = match (ca, pinned) {
            (Some(_), Some(pline)) => {
                return Err(err(
                    pline,
                    ConfigErrorKind::Tls(
                        "[security] has both `ca` and `pinned = true`; choose one way to \
                         trust the roles' certificates"
                            .to_string(),
                    ),
                ));
            }
            (Some((path, line)), None) => Some(TlsTrust::Ca { path, line }),
            (None, Some(_)) => Some(TlsTrust::Pinned),
            (None, None) => None,
        };
        if cfg.tls.is_some() {
            // Every role proves its name with its certificate; pinning needs every one.
            if let Some((role, e)) = cfg.roles.iter().find(|(_, e)| e.cert.is_none()) {
                return Err(err(
                    e.line,
                    ConfigErrorKind::Tls(format!(
                        "role {role} has no certificate: with TLS every role needs \
                         `{role} = {{ address = \"{}\", cert = \"{role}.pem\", key = \
                         \"{role}.key\" }}`",
                        e.address
                    )),
                ));
            }
        } else if !cfg.allow_plaintext
            && let Some((role, e)) = cfg
                .roles
                .iter()
                .find(|(_, e)| !e.resolved.is_some_and(|a| a.ip().is_loopback()))
        {
            return Err(err(
                e.line,
                ConfigErrorKind::InsecureAddress {
                    role: role.clone(),
                    address: e.address.clone(),
                },
            ));
        }
        // A private key others can read is as good as published (only keys present on this
        // host are looked at: the others live on their own hosts).
        for e in cfg.roles.values() {
            if let Some(k) = &e.key {
                cfg.warnings.extend(readable_by_others(k, "private key"));
            }
        }
        match &secret_path {
            None => {}
            Some((path, sline)) => {
                let (secret, warning) = read_secret(path).map_err(|reason| {
                    err(
                        *sline,
                        ConfigErrorKind::Secret {
                            path: path.clone(),
                            reason,
                        },
                    )
                })?;
                cfg.secret = Some(secret);
                cfg.warnings.extend(warning);
                cfg.secret_file = Some(path.clone());
            }
        }
        Ok(cfg)
    }
}

/// Checks that `addr` has the form `host:port` (without resolving it).
fn check_shape(addr: &str) -> Result<(), String> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return if a.port() == 0 {
            Err(PORT_ZERO.to_string())
        } else {
            Ok(())
        };
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err("missing the port".to_string());
    };
    if host.is_empty() {
        return Err("missing the host".to_string());
    }
    match port.parse::<u16>() {
        Ok(0) => Err(PORT_ZERO.to_string()),
        Ok(_) => Ok(()),
        Err(_) => Err(format!("bad port {port:?}")),
    }
}

/// Why port 0 is refused: binding it picks a port at random, which no peer can know (before,
/// the file was accepted and every peer dialled port 0 until its connect timeout).
const PORT_ZERO: &str = "port 0 picks a free port at random when bound, and no other role                          could know which; give the role a fixed port";

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    resolve_all(addr).map(|all| all[0])
}

/// Every address `addr` names (at least one), in the resolver's order.
fn resolve_all(addr: &str) -> Result<Vec<SocketAddr>, String> {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return Ok(vec![a]);
    }
    check_shape(addr)?;
    let mut found: Vec<SocketAddr> = Vec::new();
    for a in addr.to_socket_addrs().map_err(|e| e.to_string())? {
        if !found.contains(&a) {
            found.push(a);
        }
    }
    if found.is_empty() {
        return Err("the host name resolves to no address".to_string());
    }
    Ok(found)
}

/// The secret, and a warning when others than the owner may read the file.
fn read_secret(path: &Path) -> Result<(Secret, Option<String>), String> {
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
    Ok((Secret(bytes), readable_by_others(path, "secret file")))
}

#[cfg(unix)]
fn readable_by_others(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "the {what} {} can be read by other users (mode {:o}); restrict it with \
             `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path, _what: &str) -> Option<String> {
    None
}

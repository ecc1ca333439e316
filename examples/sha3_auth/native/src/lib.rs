//! The Rust side of the sha3_auth example: SHA3-256 from RustCrypto's `sha3` crate, and a
//! token type shared with the chor program.

use sha3::{Digest, Sha3_256};

chor_ffi::chor_struct! {
    /// A signed claim: the user's name and SHA3-256(key ":" name), in hex.
    pub struct Token { pub name: String, pub mac: String }
}

/// SHA3-256 of a text, as lower-case hex.
pub fn sha3_256(text: String) -> String {
    Sha3_256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token the identity provider issues for `name`.
pub fn issue(key: String, name: String) -> Token {
    let mac = sha3_256(format!("{key}:{name}"));
    Token { name, mac }
}

/// The owner of a token, if the identity provider signed it.
pub fn verify(key: String, token: Token) -> Result<String, String> {
    if issue(key, token.name.clone()).mac == token.mac {
        Ok(token.name)
    } else {
        Err(format!("bad signature for {}", token.name))
    }
}

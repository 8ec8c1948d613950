//! Passwords: Redshift's rules for clear-text passwords, and the forms they are kept in.
//!
//! A password is never stored. A clear-text one becomes a SCRAM-SHA-256 verifier (RFC 5802,
//! 7677) in PostgreSQL's `pg_authid.rolpassword` text form:
//!
//! ```text
//! SCRAM-SHA-256$<iterations>:<salt, base64>$<StoredKey, base64>:<ServerKey, base64>
//!   SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)
//!   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//!   ServerKey      = HMAC(SaltedPassword, "Server Key")
//! ```
//!
//! An `md5` hash given as the password (`md5` followed by the 32 hex digits of
//! MD5(password || user name), PostgreSQL's and Redshift's form) is kept as given; such a
//! user authenticates with MD5, for old drivers.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::rand::SecureRandom;
use ring::{digest, hmac, pbkdf2};

use crate::error::{Error, Result};

/// PBKDF2 iterations of a new verifier: PostgreSQL's default `scram_iterations`.
pub const SCRAM_ITERATIONS: u32 = 4096;
/// Bytes of a verifier's random salt (PostgreSQL's length).
const SALT_BYTES: usize = 16;
/// Redshift's length limits for a clear-text password, in characters.
const PASSWORD_CHARS_MIN: usize = 8;
const PASSWORD_CHARS_MAX: usize = 64;

/// A password as the catalog keeps it, parsed.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A SCRAM-SHA-256 verifier.
    Scram {
        salt: Vec<u8>,
        iterations: u32,
        stored_key: Vec<u8>,
        server_key: Vec<u8>,
    },
    /// PostgreSQL's MD5 form: the 32 lower-case hex digits of MD5(password || user name).
    Md5(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Scram { iterations, .. } => f
                .debug_struct("Scram")
                .field("iterations", iterations)
                .finish_non_exhaustive(),
            Credential::Md5(_) => f.write_str("Md5(..)"),
        }
    }
}

impl Credential {
    /// Reads the stored text form; `None` if it is neither form.
    pub fn parse(stored: &str) -> Option<Credential> {
        if let Some(hex) = stored.strip_prefix("md5") {
            return is_md5_hex(hex).then(|| Credential::Md5(hex.to_owned()));
        }
        let rest = stored.strip_prefix("SCRAM-SHA-256$")?;
        let (head, keys) = rest.split_once('$')?;
        let (iterations, salt) = head.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        Some(Credential::Scram {
            salt: BASE64.decode(salt).ok()?,
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            stored_key: BASE64.decode(stored_key).ok()?,
            server_key: BASE64.decode(server_key).ok()?,
        })
    }

    /// The stored text form.
    pub fn to_stored(&self) -> String {
        match self {
            Credential::Scram {
                salt,
                iterations,
                stored_key,
                server_key,
            } => format!(
                "SCRAM-SHA-256${iterations}:{}${}:{}",
                BASE64.encode(salt),
                BASE64.encode(stored_key),
                BASE64.encode(server_key)
            ),
            Credential::Md5(hex) => format!("md5{hex}"),
        }
    }

    /// A verifier of `password` with a fresh random salt.
    pub fn scram(password: &str) -> Result<Credential> {
        let mut salt = vec![0u8; SALT_BYTES];
        ring::rand::SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| Error::Internal("no random bytes for a password salt".into()))?;
        Ok(scram_with_salt(password, salt, SCRAM_ITERATIONS))
    }

    /// A verifier nobody can match (for a role without a password, so the exchange runs and
    /// fails as for a wrong password).
    pub fn impossible() -> Credential {
        let mut bytes = vec![0u8; 48];
        let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
        let (salt, key) = bytes.split_at(16);
        Credential::Scram {
            salt: salt.to_vec(),
            iterations: SCRAM_ITERATIONS,
            stored_key: key.to_vec(),
            server_key: key.to_vec(),
        }
    }
}

/// MD5 authentication: a fresh 4-byte salt, and the response a client that knows the password
/// answers it with (`md5` and the hex of MD5(hex of the stored hash || salt)), for a role whose
/// stored form is `md5hex`.
pub fn md5_challenge(md5hex: &str) -> ([u8; 4], String) {
    use md5::Digest;
    let mut salt = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut salt);
    let mut input = md5hex.as_bytes().to_vec();
    input.extend_from_slice(&salt);
    let digest = md5::Md5::digest(&input);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    (salt, format!("md5{hex}"))
}

/// The SCRAM verifier of `password` with `salt`.
fn scram_with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Credential {
    // As PostgreSQL: SASLprep the password, or use it as is when that fails.
    let prepared = stringprep::saslprep(password)
        .map(|p| p.into_owned())
        .unwrap_or_else(|_| password.to_owned());
    let mut salted = [0u8; digest::SHA256_OUTPUT_LEN];
    let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &salt,
        prepared.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    Credential::Scram {
        salt,
        iterations,
        stored_key: stored_key.as_ref().to_vec(),
        server_key: server_key.as_ref().to_vec(),
    }
}

fn is_md5_hex(hex: &str) -> bool {
    hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The credential for `PASSWORD 'text'`: an `md5` hash kept as given, `sha256|password`
/// hashed as clear text, anything else a clear-text password that must meet Redshift's rules
/// (8 to 64 characters, at least one upper-case letter, one lower-case letter and one digit,
/// only printable ASCII other than `'`, `"`, `\`, `/`, `@` and space).
pub fn credential(text: &str) -> Result<Credential> {
    if let Some(hex) = text.strip_prefix("md5") {
        if is_md5_hex(hex) {
            return Ok(Credential::Md5(hex.to_ascii_lowercase()));
        }
    }
    let clear = match text.strip_prefix("sha256|") {
        Some(rest) if rest.contains('|') => {
            return Err(Error::Unsupported {
                message: "a SHA-256 digest with its salt cannot be used for authentication here; \
                          give the password as 'sha256|password' or in clear text"
                    .into(),
            })
        }
        Some(rest) => rest,
        None => text,
    };
    check_rules(clear)?;
    Credential::scram(clear)
}

/// Redshift's rules for a clear-text password.
fn check_rules(password: &str) -> Result<()> {
    let bad = |message: &str| {
        Err(Error::InvalidParameter {
            message: message.to_owned(),
        })
    };
    let chars = password.chars().count();
    if chars < PASSWORD_CHARS_MIN {
        return bad("password must be at least 8 characters long");
    }
    if chars > PASSWORD_CHARS_MAX {
        return bad("password must be at most 64 characters long");
    }
    if password
        .chars()
        .any(|c| !c.is_ascii_graphic() || matches!(c, '\'' | '"' | '\\' | '/' | '@'))
    {
        return bad(
            "password may contain only printable ASCII characters other than ' \" \\ / @ and space",
        );
    }
    if !password.chars().any(|c| c.is_ascii_uppercase()) {
        return bad("password must contain an uppercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_lowercase()) {
        return bad("password must contain a lowercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return bad("password must contain a number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677's example: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==,
    // 4096 iterations; its StoredKey and ServerKey are the ones a PostgreSQL server derives.
    #[test]
    fn verifier_matches_rfc_7677() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let c = scram_with_salt("pencil", salt, 4096);
        assert_eq!(
            c.to_stored(),
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$\
             WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:\
             wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
        assert_eq!(Credential::parse(&c.to_stored()), Some(c));
    }

    // Clear-text passwords against each rule, and the hashed forms.
    #[test]
    fn redshift_password_rules() {
        assert!(matches!(
            credential("Abcdefg1"),
            Ok(Credential::Scram { .. })
        ));
        let message = |p: &str| credential(p).unwrap_err().to_string();
        assert_eq!(
            message("Abc1"),
            "password must be at least 8 characters long"
        );
        assert_eq!(
            message(&format!("Ab1{}", "x".repeat(62))),
            "password must be at most 64 characters long"
        );
        assert_eq!(
            message("abcdefg1"),
            "password must contain an uppercase letter"
        );
        assert_eq!(
            message("ABCDEFG1"),
            "password must contain a lowercase letter"
        );
        assert_eq!(message("Abcdefgh"), "password must contain a number");
        assert!(message("Abcdef 1").contains("printable ASCII"));
        assert!(message("Abcdef@1").contains("printable ASCII"));
        let md5 = "md5B2EA9E1D4A3A2C3B4F5E6D7C8B9A0F1E";
        assert_eq!(
            credential(md5).unwrap(),
            Credential::Md5("b2ea9e1d4a3a2c3b4f5e6d7c8b9a0f1e".into())
        );
        // Not 32 hex digits: a clear-text password, which must meet the rules.
        assert!(credential("md5abc").is_err());
        assert!(matches!(
            credential("sha256|Abcdefg1"),
            Ok(Credential::Scram { .. })
        ));
        assert!(credential("sha256|Abc").is_err());
        assert!(credential("sha256|abcdef|salt").is_err());
        let a = credential("Abcdefg1").unwrap();
        let b = credential("Abcdefg1").unwrap();
        assert_ne!(a, b, "each verifier has its own salt");
        assert!(!format!("{a:?}").contains("key"));
    }
}

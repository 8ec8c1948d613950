//! Who may connect, how they prove it, and what the server tells them once they have.
//!
//! Basalt has one database, `dev`. The bootstrap superuser `basalt` is configured on the
//! server: without a password it is trusted (and [`crate::start`] only listens on loopback
//! then); with one it authenticates with SCRAM-SHA-256 against a verifier derived at startup,
//! and the password itself is wiped once the verifier exists.
//!
//! Every other role comes from the catalog (CREATE USER) and always proves its password: with
//! SCRAM-SHA-256 against its stored verifier, or with MD5 when it was created with an `md5`
//! hash. A role without a password, or whose VALID UNTIL has passed, goes through a SCRAM
//! exchange that no password can win, so it fails as a wrong password does (28P01) without
//! telling the client why. An unknown role is refused before authentication (28000).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use basalt_engine::security::{Credential, Login};
use pgwire::api::auth::md5pass::Md5PasswordAuth;
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory};
use pgwire::api::auth::sasl::scram::{gen_salted_password, random_nonce, ScramAuth, ScramSecret};
use pgwire::api::auth::{AuthSource, LoginInfo, Password, ServerParameterProvider};
use pgwire::api::{ClientInfo, METADATA_APPLICATION_NAME, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{PgWireError, PgWireResult};

use crate::sqlstate::{code, SqlError};

/// The only database.
pub const DATABASE: &str = "dev";
/// The only role, a superuser.
pub const SUPERUSER: &str = "basalt";
/// The `server_version` reported to clients: the PostgreSQL version Basalt presents (so drivers
/// use their current catalog queries) with Basalt's own name and version, in the style of
/// distribution builds such as `15.4 (Debian 15.4-1)`, which every driver parses.
pub fn server_version() -> String {
    basalt_engine::SERVER_VERSION.to_owned()
}
/// PBKDF2 iterations of the SCRAM verifier, PostgreSQL's default `scram_iterations`.
pub const SCRAM_ITERATIONS: usize = 4096;

/// How connections authenticate.
pub(crate) enum Auth {
    /// Every connection is accepted (loopback listeners only).
    Trust,
    /// SCRAM-SHA-256 against the configured password's verifier.
    Scram(ScramAuth),
}

impl Auth {
    /// Trust without a password; SCRAM with one, which is consumed and wiped.
    pub(crate) fn new(password: Option<String>) -> Self {
        match password {
            None => Auth::Trust,
            Some(password) => {
                let verifier = ScramVerifier::new(password, SCRAM_ITERATIONS);
                Auth::Scram(ScramAuth::new(Arc::new(verifier)))
            }
        }
    }
}

/// A SCRAM-SHA-256 verifier, as PostgreSQL stores in `pg_authid.rolpassword`: salt, iteration
/// count, `StoredKey = H(HMAC(SaltedPassword, "Client Key"))` and
/// `ServerKey = HMAC(SaltedPassword, "Server Key")`. It checks a client's proof but cannot be
/// turned back into the password.
pub(crate) struct ScramVerifier {
    salt: Vec<u8>,
    iterations: usize,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramVerifier {
    /// The verifier a catalog role's stored credential holds.
    fn from_credential(credential: &Credential) -> Option<Self> {
        match credential {
            Credential::Scram {
                salt,
                iterations,
                stored_key,
                server_key,
            } => Some(ScramVerifier {
                salt: salt.clone(),
                iterations: *iterations as usize,
                stored_key: stored_key.clone(),
                server_key: server_key.clone(),
            }),
            Credential::Md5(_) => None,
        }
    }

    /// Derives the verifier with a fresh random salt, then overwrites `password`'s bytes.
    pub(crate) fn new(password: String, iterations: usize) -> Self {
        // A nonce is 18 random bytes in base64; any bytes serve as a salt.
        let salt = random_nonce().into_bytes();
        let salted = gen_salted_password(&password, &salt, iterations);
        let mut bytes = password.into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
        match ScramSecret::verifier_from_salted_password(salt, salted, iterations) {
            ScramSecret::Verifier {
                salt,
                iterations,
                stored_key,
                server_key,
            } => ScramVerifier {
                salt,
                iterations,
                stored_key,
                server_key,
            },
            // `verifier_from_salted_password` only builds verifiers.
            ScramSecret::SaltedPassword { salt, .. } => ScramVerifier {
                salt,
                iterations,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            },
        }
    }

    fn secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AuthSource for ScramVerifier {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // There is no password to hand out, only the verifier.
        Err(PgWireError::InvalidPassword(
            login.user().unwrap_or_default().to_owned(),
        ))
    }

    async fn get_scram_secret(
        &self,
        _login: &LoginInfo,
    ) -> PgWireResult<(ScramSecret, Option<()>)> {
        Ok((self.secret(), None))
    }
}

/// The MD5 expected answer of a role created with an `md5` hash.
struct Md5Source {
    /// The 32 hex digits of MD5(password || user name).
    hash: String,
}

impl fmt::Debug for Md5Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Md5Source").finish_non_exhaustive()
    }
}

#[async_trait]
impl AuthSource for Md5Source {
    async fn get_password(&self, _login: &LoginInfo) -> PgWireResult<Password> {
        let (salt, expected) = basalt_engine::security::password::md5_challenge(&self.hash);
        Ok(Password::new(Some(salt.to_vec()), expected.into_bytes()))
    }
}

/// Who is logging in: the bootstrap superuser, or a catalog role and how it logs in.
pub(crate) struct LoginPlan {
    pub(crate) user: String,
    /// `None` for the bootstrap superuser.
    pub(crate) catalog: Option<Login>,
}

impl LoginPlan {
    /// The mechanism that authenticates this login, or `None` when it is trusted.
    pub(crate) fn mechanism(&self, auth: &Auth) -> Option<Box<dyn AuthMechanism>> {
        let Some(login) = &self.catalog else {
            return match auth {
                Auth::Trust => None,
                Auth::Scram(scram) => Some(scram.create()),
            };
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let expired = login.valid_until.is_some_and(|until| until <= now);
        let credential = login.credential.as_ref().filter(|_| !expired);
        if let Some(Credential::Md5(hash)) = credential {
            return Some(Md5PasswordAuth::new(Arc::new(Md5Source { hash: hash.clone() })).create());
        }
        let verifier = credential
            .and_then(ScramVerifier::from_credential)
            .or_else(|| ScramVerifier::from_credential(&Credential::impossible()))?;
        Some(ScramAuth::new(Arc::new(verifier)).create())
    }

    /// Most concurrent connections of this role, if limited.
    pub(crate) fn connection_limit(&self) -> Option<usize> {
        let limit = self.catalog.as_ref()?.connection_limit;
        usize::try_from(limit).ok()
    }
}

/// Checks the startup packet's user and database; `login` looks a catalog role up.
pub(crate) fn check_login(
    metadata: &HashMap<String, String>,
    login: impl FnOnce(&str) -> Option<Login>,
) -> Result<LoginPlan, SqlError> {
    let Some(user) = metadata.get(METADATA_USER).filter(|u| !u.is_empty()) else {
        return Err(SqlError::fatal(
            code::INVALID_AUTHORIZATION_SPECIFICATION,
            "no PostgreSQL user name specified in startup packet",
        ));
    };
    let catalog = if user == SUPERUSER {
        None
    } else {
        let Some(found) = login(user) else {
            return Err(SqlError::fatal(
                code::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" does not exist"),
            ));
        };
        if !found.can_login {
            return Err(SqlError::fatal(
                code::INVALID_AUTHORIZATION_SPECIFICATION,
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        Some(found)
    };
    // As in PostgreSQL, the database defaults to the user's name.
    let database = metadata
        .get(METADATA_DATABASE)
        .filter(|d| !d.is_empty())
        .unwrap_or(user);
    if database != DATABASE {
        return Err(SqlError::fatal(
            code::INVALID_CATALOG_NAME,
            format!("database \"{database}\" does not exist"),
        ));
    }
    Ok(LoginPlan {
        user: user.clone(),
        catalog,
    })
}

/// The error a wrong SCRAM proof ends the connection with.
pub(crate) fn password_failed(user: &str) -> SqlError {
    SqlError::fatal(
        code::INVALID_PASSWORD,
        format!("password authentication failed for user \"{user}\""),
    )
}

/// The reported parameters of a new session, with the values its startup options gave them.
pub(crate) struct StartupReport(pub(crate) Vec<(String, String)>);

/// The ParameterStatus messages sent after authentication, as PostgreSQL 15 sends them.
#[derive(Debug, Default)]
pub(crate) struct ServerParameters;

impl ServerParameterProvider for ServerParameters {
    fn server_parameters<C>(&self, client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        // A session with settings reports its own values, startup options applied.
        if let Some(report) = client.session_extensions().get::<StartupReport>() {
            return Some(report.0.iter().cloned().collect());
        }
        let metadata = client.metadata();
        let user = metadata.get(METADATA_USER).cloned().unwrap_or_default();
        let application_name = metadata
            .get(METADATA_APPLICATION_NAME)
            .cloned()
            .unwrap_or_default();
        let parameters = [
            ("server_version", server_version()),
            ("server_encoding", "UTF8".to_owned()),
            ("client_encoding", "UTF8".to_owned()),
            ("DateStyle", "ISO, MDY".to_owned()),
            ("TimeZone", "UTC".to_owned()),
            ("IntervalStyle", "postgres".to_owned()),
            ("integer_datetimes", "on".to_owned()),
            ("standard_conforming_strings", "on".to_owned()),
            ("default_transaction_read_only", "off".to_owned()),
            ("in_hot_standby", "off".to_owned()),
            ("is_superuser", "on".to_owned()),
            ("application_name", application_name),
            ("session_authorization", user),
        ];
        Some(
            parameters
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(user: Option<&str>, database: Option<&str>) -> HashMap<String, String> {
        let mut m = HashMap::new();
        if let Some(u) = user {
            m.insert(METADATA_USER.to_owned(), u.to_owned());
        }
        if let Some(d) = database {
            m.insert(METADATA_DATABASE.to_owned(), d.to_owned());
        }
        m
    }

    // Startup packets with the right and wrong user and database.
    fn check(metadata: &HashMap<String, String>) -> Result<String, SqlError> {
        check_login(metadata, |_| None).map(|plan| plan.user)
    }

    #[test]
    fn only_basalt_on_dev_may_log_in() {
        assert_eq!(
            check(&login(Some("basalt"), Some("dev"))).unwrap(),
            "basalt"
        );
        let e = check(&login(Some("alice"), Some("dev"))).unwrap_err();
        assert_eq!((e.code, e.severity), ("28000", "FATAL"));
        assert_eq!(e.message, "role \"alice\" does not exist");
        let e = check(&login(Some("basalt"), Some("prod"))).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("3D000", "database \"prod\" does not exist")
        );
        // No database: PostgreSQL uses the user name, which is not a database here.
        let e = check(&login(Some("basalt"), None)).unwrap_err();
        assert_eq!(e.message, "database \"basalt\" does not exist");
        assert_eq!(check(&login(None, Some("dev"))).unwrap_err().code, "28000");
    }

    // A verifier from a password: salted, with the configured iterations, keys of SHA-256 size.
    #[test]
    fn verifier_keeps_no_password() {
        let v = ScramVerifier::new("pencil".to_owned(), SCRAM_ITERATIONS);
        assert_eq!(v.iterations, 4096);
        assert_eq!(v.stored_key.len(), 32);
        assert_eq!(v.server_key.len(), 32);
        assert!(!v.salt.is_empty());
        let w = ScramVerifier::new("pencil".to_owned(), SCRAM_ITERATIONS);
        assert_ne!(v.salt, w.salt);
        assert_ne!(v.stored_key, w.stored_key);
        assert!(!format!("{v:?}").contains("key"));
    }
}

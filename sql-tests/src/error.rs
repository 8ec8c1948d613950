//! The one error type both adapters report, so `statement error <regex>` reads the same text in
//! both modes.

use std::fmt;

/// A failed statement as a test sees it: the server's message text and, when known, its
/// SQLSTATE code.
///
/// Displays as `<message> (SQLSTATE <code>)`, so a test can match on either part:
/// `statement error does not exist` or `statement error 42P01`. The code is also given to the
/// runner, so `statement error (42P01)` matches on the code alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SltError {
    pub message: String,
    pub sqlstate: Option<String>,
}

impl SltError {
    /// An error raised by the test harness itself (connection trouble, a timeout, a panic).
    pub fn harness(message: impl Into<String>) -> Self {
        SltError {
            message: message.into(),
            sqlstate: None,
        }
    }
}

impl fmt::Display for SltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = &self.sqlstate {
            write!(f, " (SQLSTATE {code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SltError {}

#[cfg(test)]
mod tests {
    use super::*;

    // The code follows the message in parentheses, and is left out when unknown.
    #[test]
    fn display_appends_code() {
        let e = SltError {
            message: "relation \"t\" does not exist".into(),
            sqlstate: Some("42P01".into()),
        };
        assert_eq!(
            e.to_string(),
            "relation \"t\" does not exist (SQLSTATE 42P01)"
        );
        assert_eq!(SltError::harness("boom").to_string(), "boom");
    }
}

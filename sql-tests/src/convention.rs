//! How result values become the strings that sqllogictest compares.
//!
//! Both adapters start from PostgreSQL's text form of a value (the embedded one formats it with
//! `basalt_engine::pgtext`, the wire one receives it in a text-format DataRow) and pass it through
//! the same function here, so a result reads identically in both modes.

use std::sync::{Arc, Mutex, PoisonError};

use sqllogictest::DefaultColumnType;

/// The value conventions of a family of test files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// Basalt's own tests: PostgreSQL's text output, NULL as `NULL`, the empty string as
    /// `(empty)`.
    Postgres,
    /// The sqlite corpus: the query's type string decides the format of each column, as sqlite's
    /// own runner does. `I` prints an integer (a fractional number is truncated toward zero, a
    /// boolean is 1 or 0), `R` prints a number with exactly three decimals (`%.3f`), `T` prints
    /// the text. NULL is `NULL` and the empty string `(empty)`, as above.
    Sqlite,
}

/// The type string of the query record about to run, shared between the record loop and the
/// connections that format its result. Only [`Convention::Sqlite`] reads it.
#[derive(Clone, Debug, Default)]
pub struct TypeHint(Arc<Mutex<Option<Vec<DefaultColumnType>>>>);

impl TypeHint {
    /// Records the type string of the next query (`None` for a statement).
    pub fn set(&self, types: Option<Vec<DefaultColumnType>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = types;
    }

    /// The type string of the query that is running, if any.
    pub fn get(&self) -> Option<Vec<DefaultColumnType>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Marks SQL NULL in results.
pub const NULL_TEXT: &str = "NULL";

/// Marks the empty string in results (an empty field would vanish in the whitespace-separated
/// result lines).
pub const EMPTY_TEXT: &str = "(empty)";

impl Convention {
    /// The result string for one value, given its PostgreSQL text form (`None` for NULL) and the
    /// type character the test expects for its column, if known.
    pub fn render(self, text: Option<&str>, expected: Option<&DefaultColumnType>) -> String {
        let Some(text) = text else {
            return NULL_TEXT.to_string();
        };
        if text.is_empty() {
            return EMPTY_TEXT.to_string();
        }
        match (self, expected) {
            (Convention::Sqlite, Some(DefaultColumnType::Integer)) => sqlite_integer(text),
            (Convention::Sqlite, Some(DefaultColumnType::FloatingPoint)) => sqlite_real(text),
            _ => text.to_string(),
        }
    }
}

/// `%lld` of the value read as an integer, as sqlite's runner prints an `I` column.
fn sqlite_integer(text: &str) -> String {
    match text {
        "t" => return "1".to_string(),
        "f" => return "0".to_string(),
        _ => {}
    }
    if text.parse::<i64>().is_ok() {
        return text.to_string();
    }
    if let Some(truncated) = truncate_decimal(text) {
        return truncated;
    }
    match text.parse::<f64>() {
        // `as` saturates, like sqlite's conversion of an out-of-range real.
        Ok(v) if v.is_finite() => (v.trunc() as i64).to_string(),
        _ => text.to_string(),
    }
}

/// The integer part of a plain decimal literal such as `-12.50`, without going through a float
/// (a NUMERIC can hold more digits than an f64).
fn truncate_decimal(text: &str) -> Option<String> {
    let (int, frac) = text.split_once('.')?;
    let (negative, digits) = match int.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, int.strip_prefix('+').unwrap_or(int)),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.is_empty() || !all_digits(digits) || !all_digits(frac) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".to_string());
    }
    Some(if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    })
}

/// `%.3f` of the value read as a number, as sqlite's runner prints an `R` column.
fn sqlite_real(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => format!("{v:.3}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // NULL and the empty string have their markers in every convention and column type.
    #[test]
    fn null_and_empty_markers() {
        for convention in [Convention::Postgres, Convention::Sqlite] {
            for ty in [None, Some(&DefaultColumnType::Integer)] {
                assert_eq!(convention.render(None, ty), "NULL");
                assert_eq!(convention.render(Some(""), ty), "(empty)");
            }
        }
    }

    // PostgreSQL's text form passes through untouched, whatever the type string says.
    #[test]
    fn postgres_keeps_text() {
        let c = Convention::Postgres;
        assert_eq!(
            c.render(Some("1.50"), Some(&DefaultColumnType::Integer)),
            "1.50"
        );
        assert_eq!(c.render(Some("t"), Some(&DefaultColumnType::Integer)), "t");
        assert_eq!(
            c.render(Some("2"), Some(&DefaultColumnType::FloatingPoint)),
            "2"
        );
    }

    // Numbers in `I` columns: integers as they are, fractions truncated toward zero.
    #[test]
    fn sqlite_integer_columns() {
        let i = Some(&DefaultColumnType::Integer);
        let c = Convention::Sqlite;
        assert_eq!(c.render(Some("-42"), i), "-42");
        assert_eq!(c.render(Some("3.75"), i), "3");
        assert_eq!(c.render(Some("-3.75"), i), "-3");
        assert_eq!(c.render(Some("-0.5"), i), "0");
        assert_eq!(
            c.render(Some("123456789012345678901234.5"), i),
            "123456789012345678901234"
        );
        assert_eq!(c.render(Some("1e+15"), i), "1000000000000000");
        assert_eq!(c.render(Some("t"), i), "1");
        assert_eq!(c.render(Some("f"), i), "0");
        assert_eq!(c.render(Some("abc"), i), "abc");
    }

    // Numbers in `R` columns get exactly three decimals; text columns stay text.
    #[test]
    fn sqlite_real_and_text_columns() {
        let c = Convention::Sqlite;
        let r = Some(&DefaultColumnType::FloatingPoint);
        assert_eq!(c.render(Some("2"), r), "2.000");
        assert_eq!(c.render(Some("0.33333333"), r), "0.333");
        assert_eq!(c.render(Some("-1.5"), r), "-1.500");
        assert_eq!(c.render(Some("NaN"), r), "NaN");
        let t = Some(&DefaultColumnType::Text);
        assert_eq!(c.render(Some("1.50"), t), "1.50");
        assert_eq!(c.render(Some("1.50"), None), "1.50");
    }
}

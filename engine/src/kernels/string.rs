//! String kernels: LIKE / ILIKE and SUBSTRING, with PostgreSQL's semantics.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Int32Array, Scalar, StringArray};

use crate::error::{Error, Result};

/// Matches `values` against `pattern` (`%` any run, `_` any one character, `\` escapes).
/// A constant pattern is given as `Scalar` so it is compiled once for the whole batch.
pub fn like(
    values: &ArrayRef,
    pattern: &ArrayRef,
    pattern_is_constant: bool,
    case_insensitive: bool,
) -> Result<ArrayRef> {
    let values = values.as_string::<i32>();
    let out = if pattern_is_constant && !pattern.is_empty() {
        let one = pattern.slice(0, 1);
        let scalar = Scalar::new(one.as_string::<i32>().clone());
        if case_insensitive {
            arrow_string::like::ilike(values, &scalar)?
        } else {
            arrow_string::like::like(values, &scalar)?
        }
    } else {
        let pattern = pattern.as_string::<i32>();
        for p in pattern.iter().flatten() {
            check_pattern(p)?;
        }
        if case_insensitive {
            arrow_string::like::ilike(values, pattern)?
        } else {
            arrow_string::like::like(values, pattern)?
        }
    };
    Ok(Arc::new(out))
}

/// Rejects a pattern PostgreSQL rejects: one ending in the escape character.
pub fn check_pattern(pattern: &str) -> Result<()> {
    let mut escaped = false;
    for c in pattern.chars() {
        escaped = !escaped && c == '\\';
    }
    if escaped {
        return Err(Error::InvalidEscapeSequence {
            message: "LIKE pattern must not end with escape character".into(),
        });
    }
    Ok(())
}

/// Rewrites a pattern written with `ESCAPE escape` into the backslash-escaped form [`like`]
/// takes. An empty escape string turns escaping off.
pub fn rewrite_escape(pattern: &str, escape: &str) -> Result<String> {
    let mut chars = escape.chars();
    let esc = match (chars.next(), chars.next()) {
        (None, _) => None,
        (Some(c), None) => Some(c),
        _ => {
            return Err(Error::InvalidEscapeSequence {
                message: "invalid escape string".into(),
            })
        }
    };
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if Some(c) == esc {
            match it.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => {
                    return Err(Error::InvalidEscapeSequence {
                        message: "LIKE pattern must not end with escape character".into(),
                    })
                }
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// `substring(s FROM start [FOR count])`: characters `start .. start + count` (1-based),
/// clipped to the string; a negative count is an error.
pub fn substring(
    values: &ArrayRef,
    start: &ArrayRef,
    count: Option<&ArrayRef>,
) -> Result<ArrayRef> {
    let values = values.as_string::<i32>();
    let start: &Int32Array = start.as_primitive();
    let count: Option<&Int32Array> = count.map(|c| c.as_primitive());
    let mut out =
        arrow_array::builder::StringBuilder::with_capacity(values.len(), values.value_data().len());
    for i in 0..values.len() {
        if values.is_null(i) || start.is_null(i) || count.is_some_and(|c| c.is_null(i)) {
            out.append_null();
            continue;
        }
        let s = values.value(i);
        let from = i64::from(start.value(i));
        let end = match count {
            Some(c) => {
                let n = i64::from(c.value(i));
                if n < 0 {
                    return Err(Error::NegativeSubstringLength);
                }
                Some(from + n)
            }
            None => None,
        };
        out.append_value(char_range(s, from, end));
    }
    Ok(Arc::new(out.finish()))
}

/// The characters at 1-based positions `from ..end` of `s` (to the end when `end` is None).
fn char_range(s: &str, from: i64, end: Option<i64>) -> &str {
    let first = from.max(1);
    let end = end.unwrap_or(i64::MAX);
    if end <= first {
        return "";
    }
    let skip = (first - 1) as usize;
    let take = (end - first) as usize;
    if s.is_ascii() {
        let a = skip.min(s.len());
        let b = a.saturating_add(take).min(s.len());
        return &s[a..b];
    }
    let mut idx = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()));
    let a = idx.nth(skip).unwrap_or(s.len());
    let b = if take == 0 {
        a
    } else {
        idx.nth(take - 1).unwrap_or(s.len())
    };
    &s[a..b]
}

/// Builds a one-value string array, for constant patterns.
pub fn constant(value: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![value]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    #[test]
    fn substring_follows_postgresql() {
        assert_eq!(char_range("hello", 2, Some(5)), "ell");
        assert_eq!(char_range("hello", 0, Some(3)), "he");
        assert_eq!(char_range("hello", -5, Some(-2)), "");
        assert_eq!(char_range("hello", 4, None), "lo");
        assert_eq!(char_range("hello", 9, None), "");
        assert_eq!(char_range("héllo", 2, Some(4)), "él");
        assert_eq!(char_range("héllo", 5, Some(10)), "o");
        let v = strings(&[Some("abc"), None]);
        let s: ArrayRef = Arc::new(Int32Array::from(vec![2, 1]));
        let c: ArrayRef = Arc::new(Int32Array::from(vec![-1, 1]));
        assert!(matches!(
            substring(&v, &s, Some(&c)),
            Err(Error::NegativeSubstringLength)
        ));
    }

    #[test]
    fn like_with_escapes() {
        let v = strings(&[Some("a%b"), Some("axb"), None, Some("A%B")]);
        let p = constant(&rewrite_escape("a!%b", "!").unwrap());
        let out = like(&v, &p, true, false).unwrap();
        let out = out.as_boolean();
        assert!(out.value(0));
        assert!(!out.value(1));
        assert!(out.is_null(2));
        assert!(!out.value(3));
        let out = like(&v, &p, true, true).unwrap();
        assert!(out.as_boolean().value(3));
        assert_eq!(rewrite_escape("a\\b", "").unwrap(), "a\\\\b");
        assert!(rewrite_escape("ab!", "!").is_err());
        assert!(rewrite_escape("ab", "!!").is_err());
        assert!(check_pattern("ab\\").is_err());
        assert!(check_pattern("ab\\\\").is_ok());
    }
}

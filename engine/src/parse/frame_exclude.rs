//! A window frame's `EXCLUDE CURRENT ROW | GROUP | TIES | NO OTHERS` clause (PostgreSQL 11),
//! which sqlparser does not parse.
//!
//! The clause is blanked with spaces where it ends a frame (after PRECEDING, FOLLOWING or
//! CURRENT ROW, and before the window's closing parenthesis), so every other token keeps its
//! position. The binder, binding a frame, asks [`exclusion_after`] with the original text for
//! the clause of the window written after a function call (`f(...) OVER (...)`) or after a
//! name in a WINDOW clause (`w AS (...)`).

use std::borrow::Cow;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::planner::expr::FrameExclude;

/// The statement's significant tokens, when it may hold an EXCLUDE clause at all.
fn tokens(sql: &str) -> Option<Vec<TokenWithSpan>> {
    // Cheap test first: almost no statement holds the word.
    if !sql
        .as_bytes()
        .windows(7)
        .any(|w| w.eq_ignore_ascii_case(b"exclude"))
    {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    Some(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect(),
    )
}

fn is_word(t: &TokenWithSpan, w: &str) -> bool {
    matches!(&t.token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// The EXCLUDE clause starting at `tokens[k]`, if one is there: its kind and its last token.
fn clause_at(tokens: &[TokenWithSpan], k: usize) -> Option<(FrameExclude, usize)> {
    let at = |i: usize| tokens.get(i);
    if !is_word(at(k)?, "exclude") {
        return None;
    }
    let before = at(k.checked_sub(1)?)?;
    if !["preceding", "following", "row"]
        .iter()
        .any(|w| is_word(before, w))
    {
        return None;
    }
    let next = at(k + 1)?;
    let (kind, last) = if is_word(next, "current") && is_word(at(k + 2)?, "row") {
        (FrameExclude::CurrentRow, k + 2)
    } else if is_word(next, "group") {
        (FrameExclude::Group, k + 1)
    } else if is_word(next, "ties") {
        (FrameExclude::Ties, k + 1)
    } else if is_word(next, "no") && is_word(at(k + 2)?, "others") {
        (FrameExclude::NoOthers, k + 2)
    } else {
        return None;
    };
    (at(last + 1)?.token == Token::RParen).then_some((kind, last))
}

/// The EXCLUDE clauses of `sql`: the span each covers.
fn marks(sql: &str) -> Vec<(Location, Location)> {
    let Some(tokens) = tokens(sql) else {
        return Vec::new();
    };
    (0..tokens.len())
        .filter_map(|k| {
            clause_at(&tokens, k).map(|(_, last)| (tokens[k].span.start, tokens[last].span.end))
        })
        .collect()
}

/// True if `sql` holds a frame's EXCLUDE clause.
pub fn any(sql: &str) -> bool {
    !marks(sql).is_empty()
}

/// `sql` with each frame's EXCLUDE clause replaced by spaces (the text unchanged when none).
pub fn blank(sql: &str) -> Cow<'_, str> {
    super::blank_spans(sql, &marks(sql))
}

/// The EXCLUDE clause of the window that follows `after` in `sql`: the first parenthesized
/// window after an OVER or AS at the level of the token at `after` (a call's name's end, or a
/// WINDOW clause name's end). `NoOthers` when the window has none.
pub fn exclusion_after(sql: &str, after: Location) -> FrameExclude {
    let Some(tokens) = tokens(sql) else {
        return FrameExclude::NoOthers;
    };
    let Some(first) = tokens.iter().position(|t| t.span.start >= after) else {
        return FrameExclude::NoOthers;
    };
    let mut depth = 0i32;
    let mut k = first;
    // Up to the window's opening parenthesis.
    while k < tokens.len() {
        match &tokens[k].token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth < 0 {
                    return FrameExclude::NoOthers;
                }
            }
            _ if depth == 0 && (is_word(&tokens[k], "over") || is_word(&tokens[k], "as")) => {
                if tokens.get(k + 1).map(|t| &t.token) != Some(&Token::LParen) {
                    return FrameExclude::NoOthers;
                }
                break;
            }
            _ => {}
        }
        k += 1;
    }
    // Inside the window, at its own level.
    let mut depth = 0i32;
    for (j, t) in tokens.iter().enumerate().skip(k + 1) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ if depth == 1 => {
                if let Some((kind, _)) = clause_at(&tokens, j) {
                    return kind;
                }
            }
            _ => {}
        }
    }
    FrameExclude::NoOthers
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each clause is blanked where it ends a frame, positions kept; the word elsewhere stays.
    #[test]
    fn frame_clauses_are_blanked_in_place() {
        let sql = "SELECT sum(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW \
                   EXCLUDE CURRENT ROW), 'exclude ties)' FROM t";
        let b = blank(sql);
        assert_eq!(b.len(), sql.len());
        assert!(b.contains("CURRENT ROW                    ), 'exclude ties)'"));
        let named = "SELECT f() OVER w FROM t WINDOW w AS (ROWS UNBOUNDED PRECEDING exclude\n\
                     ties)";
        assert!(blank(named).ends_with("PRECEDING        \n    )"));
        assert!(matches!(
            blank("SELECT * EXCLUDE (a) FROM t"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            blank("SELECT sum(x) OVER (ORDER BY x EXCLUDE TIES) FROM t"),
            Cow::Borrowed(_)
        ));
    }

    // The clause is found for the window after a call's name, not for another call's.
    #[test]
    fn each_window_finds_its_own_clause() {
        let sql = "SELECT a(x) OVER (ROWS 1 PRECEDING), b(y) FILTER (WHERE (y > 0)) OVER \
                   (GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE GROUP), c(z) OVER w \
                   FROM t WINDOW w AS (ROWS UNBOUNDED PRECEDING EXCLUDE TIES)";
        let after = |word: &str| {
            let at = sql.find(word).unwrap() + word.len();
            Location::new(1, at as u64 + 1)
        };
        assert_eq!(exclusion_after(sql, after("a")), FrameExclude::NoOthers);
        assert_eq!(exclusion_after(sql, after(", b")), FrameExclude::Group);
        assert_eq!(exclusion_after(sql, after(", c")), FrameExclude::NoOthers);
        assert_eq!(exclusion_after(sql, after("WINDOW w")), FrameExclude::Ties);
    }
}

//! Redshift's `APPROXIMATE COUNT(DISTINCT expr)`, which sqlparser does not parse.
//!
//! The word APPROXIMATE is blanked with spaces wherever it is followed (across whitespace and
//! comments) by the word COUNT and an opening parenthesis, so every other token keeps its
//! position; the binder, binding a COUNT call, asks [`marked_at`] with the original text
//! whether that call was so marked, and binds it to the sketch-based aggregate.

use std::borrow::Cow;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// The APPROXIMATE words that mark a COUNT call: (the word's span start and end, the COUNT
/// word's start).
fn marks(sql: &str) -> Vec<(Location, Location, Location)> {
    // Cheap test first: almost no statement holds the word.
    if !sql
        .as_bytes()
        .windows(11)
        .any(|w| w.eq_ignore_ascii_case(b"approximate"))
    {
        return Vec::new();
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return Vec::new();
    };
    let significant: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |t: &TokenWithSpan, w: &str| matches!(&t.token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    significant
        .windows(3)
        .filter(|w| word(w[0], "approximate") && word(w[1], "count") && w[2].token == Token::LParen)
        .map(|w| (w[0].span.start, w[0].span.end, w[1].span.start))
        .collect()
}

/// `sql` with each marking APPROXIMATE replaced by spaces (the text unchanged when none).
pub fn blank(sql: &str) -> Cow<'_, str> {
    let spans: Vec<(Location, Location)> = marks(sql)
        .into_iter()
        .map(|(start, end, _)| (start, end))
        .collect();
    super::blank_spans(sql, &spans)
}

/// When the COUNT word starting at `count` in `sql` was marked APPROXIMATE, the marking
/// word's start.
pub fn marked_at(sql: &str, count: Location) -> Option<Location> {
    marks(sql)
        .into_iter()
        .find(|(_, _, c)| *c == count)
        .map(|(start, _, _)| start)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The word is blanked only before COUNT(, keeping every position; strings, quoted names
    // and other uses stay.
    #[test]
    fn only_marking_words_are_blanked() {
        let sql = "SELECT approximate\n /* c */ COUNT (DISTINCT x), 'approximate count(', \
                   \"approximate\" FROM t";
        let blanked = blank(sql);
        assert_eq!(blanked.len(), sql.len());
        assert!(blanked.starts_with("SELECT            \n /* c */ COUNT"));
        assert!(blanked.contains("'approximate count('"));
        assert!(blanked.contains("\"approximate\""));
        assert_eq!(
            marked_at(sql, Location::new(2, 10)),
            Some(Location::new(1, 8))
        );
        assert_eq!(marked_at(sql, Location::new(1, 8)), None);
        assert!(matches!(
            blank("SELECT approximate FROM t"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            blank("SELECT approximate count FROM t"),
            Cow::Borrowed(_)
        ));
    }
}

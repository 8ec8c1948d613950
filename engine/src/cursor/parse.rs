//! FETCH and MOVE, read from tokens: sqlparser reads neither MOVE nor FETCH's short forms
//! (`FETCH c`, `FETCH NEXT c`, `FORWARD` without a count, signed counts), so both are parsed
//! here with PostgreSQL's grammar:
//!
//! ```text
//! { FETCH | MOVE } [ direction ] [ FROM | IN ] cursor_name
//! direction: NEXT | PRIOR | FIRST | LAST | ABSOLUTE n | RELATIVE n | n | ALL
//!          | FORWARD [ n | ALL ] | BACKWARD [ n | ALL ]
//! ```

use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Error, Result};
use crate::planner::bind::span_position;

/// Which way a FETCH or MOVE goes, as PostgreSQL's executor sees it: a signed count given
/// with FORWARD or BACKWARD is turned around when negative, and NEXT, PRIOR, FIRST and LAST
/// are their FORWARD 1, BACKWARD 1, ABSOLUTE 1 and ABSOLUTE -1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The next `n` rows (`Count::All`: every remaining row). 0 re-reads the current row.
    Forward(Count),
    /// The `n` rows before the current one, nearest first.
    Backward(Count),
    /// Row `n` (from the end when negative); 0 is before the first row.
    Absolute(i64),
    /// The row `n` away from the current one; 0 re-reads the current row.
    Relative(i64),
}

/// How many rows a FORWARD or BACKWARD step covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Rows(u64),
    All,
}

/// A parsed FETCH or MOVE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchCommand {
    /// MOVE: position the cursor, return only the count.
    pub moving: bool,
    pub direction: Direction,
    /// The cursor's name: folded to lower case unless double-quoted.
    pub cursor: String,
}

impl FetchCommand {
    /// The command tag's word: `FETCH` or `MOVE`.
    pub fn verb(&self) -> &'static str {
        if self.moving {
            "MOVE"
        } else {
            "FETCH"
        }
    }
}

/// Whether the statement in `tokens` is a FETCH or a MOVE.
pub fn is_fetch(tokens: &[TokenWithSpan]) -> bool {
    let first = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)));
    matches!(first.map(|t| &t.token), Some(Token::Word(w))
        if w.quote_style.is_none()
            && (w.value.eq_ignore_ascii_case("fetch") || w.value.eq_ignore_ascii_case("move")))
}

/// Parses the FETCH or MOVE statement of `sql` whose tokens are `tokens`.
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<FetchCommand> {
    let words: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .collect();
    let mut p = Tokens { sql, words, at: 0 };
    let moving = match p.keyword().as_deref() {
        Some("fetch") => false,
        Some("move") => true,
        _ => return Err(p.error_here()),
    };
    p.at += 1;
    let direction = p.direction()?;
    if matches!(p.keyword().as_deref(), Some("from" | "in")) && p.remaining() > 1 {
        p.at += 1;
    }
    let cursor = p.name()?;
    if p.remaining() > 0 {
        return Err(p.error_here());
    }
    Ok(FetchCommand {
        moving,
        direction,
        cursor,
    })
}

/// The statement's tokens, without whitespace, and a read position.
struct Tokens<'a> {
    sql: &'a str,
    words: Vec<&'a TokenWithSpan>,
    at: usize,
}

impl Tokens<'_> {
    fn remaining(&self) -> usize {
        self.words.len().saturating_sub(self.at)
    }

    /// The next token as an unquoted lower-case keyword, if it is one.
    fn keyword(&self) -> Option<String> {
        match self.words.get(self.at).map(|t| &t.token) {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
            _ => None,
        }
    }

    /// The direction, if one comes before the cursor name. A word is a direction keyword only
    /// when a cursor name follows it, so `FETCH next` fetches from a cursor named `next`, as
    /// in PostgreSQL.
    fn direction(&mut self) -> Result<Direction> {
        if self.remaining() <= 1 {
            return Ok(Direction::Forward(Count::Rows(1)));
        }
        let keyword = self.keyword();
        let direction = match keyword.as_deref() {
            Some("next") => Direction::Forward(Count::Rows(1)),
            Some("prior") => Direction::Backward(Count::Rows(1)),
            Some("first") => Direction::Absolute(1),
            Some("last") => Direction::Absolute(-1),
            Some("all") => Direction::Forward(Count::All),
            Some("absolute") => {
                self.at += 1;
                return Ok(Direction::Absolute(self.signed()?));
            }
            Some("relative") => {
                self.at += 1;
                return Ok(Direction::Relative(self.signed()?));
            }
            Some(way @ ("forward" | "backward")) => {
                let forward = way == "forward";
                self.at += 1;
                let count = if self.remaining() <= 1 {
                    Count::Rows(1)
                } else if self.keyword().as_deref() == Some("all") {
                    self.at += 1;
                    Count::All
                } else if self.starts_number() {
                    let n = self.signed()?;
                    return Ok(signed_step(if forward { n } else { -n }));
                } else {
                    Count::Rows(1)
                };
                return Ok(if forward {
                    Direction::Forward(count)
                } else {
                    Direction::Backward(count)
                });
            }
            _ if self.starts_number() => return Ok(signed_step(self.signed()?)),
            _ => return Ok(Direction::Forward(Count::Rows(1))),
        };
        self.at += 1;
        Ok(direction)
    }

    fn starts_number(&self) -> bool {
        matches!(
            self.words.get(self.at).map(|t| &t.token),
            Some(Token::Number(..) | Token::Minus | Token::Plus)
        )
    }

    /// An optionally signed integer.
    fn signed(&mut self) -> Result<i64> {
        let negative = match self.words.get(self.at).map(|t| &t.token) {
            Some(Token::Minus) => {
                self.at += 1;
                true
            }
            Some(Token::Plus) => {
                self.at += 1;
                false
            }
            _ => false,
        };
        match self.words.get(self.at).map(|t| &t.token) {
            Some(Token::Number(text, _)) => {
                let value = text.parse::<i64>().map_err(|_| self.error_here())?;
                self.at += 1;
                Ok(if negative { -value } else { value })
            }
            _ => Err(self.error_here()),
        }
    }

    /// A cursor name: folded to lower case unless double-quoted.
    fn name(&mut self) -> Result<String> {
        match self.words.get(self.at).map(|t| &t.token) {
            // Reserved words are no names: PostgreSQL reads them as the direction or FROM
            // and finds the name missing.
            Some(Token::Word(w))
                if w.quote_style.is_none()
                    && ["all", "from", "in"]
                        .iter()
                        .any(|k| w.value.eq_ignore_ascii_case(k)) =>
            {
                self.at += 1;
                Err(self.error_here())
            }
            Some(Token::Word(w)) => {
                let name = match w.quote_style {
                    Some(_) => w.value.clone(),
                    None => w.value.to_lowercase(),
                };
                self.at += 1;
                Ok(name)
            }
            _ => Err(self.error_here()),
        }
    }

    fn error_here(&self) -> Error {
        match self.words.get(self.at) {
            Some(t) => Error::Syntax {
                message: format!("syntax error at or near \"{}\"", t.token),
                position: span_position(self.sql, t.span),
            },
            None => Error::Syntax {
                message: "syntax error at end of input".into(),
                position: Some(self.sql.chars().count() as u32 + 1),
            },
        }
    }
}

/// A signed count without a direction keyword (or with FORWARD): backward when negative.
fn signed_step(n: i64) -> Direction {
    if n < 0 {
        Direction::Backward(Count::Rows(n.unsigned_abs()))
    } else {
        Direction::Forward(Count::Rows(n.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn parsed(sql: &str) -> Result<FetchCommand> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        assert!(is_fetch(&tokens), "{sql}");
        parse(sql, &tokens)
    }

    fn direction(sql: &str) -> Direction {
        parsed(sql).unwrap().direction
    }

    #[test]
    fn every_direction_reads_as_postgres_reads_it() {
        // Input: each form of PostgreSQL's fetch_args, with and without FROM / IN.
        use Count::{All, Rows};
        use Direction::*;
        assert_eq!(direction("FETCH c"), Forward(Rows(1)));
        assert_eq!(direction("FETCH FROM c"), Forward(Rows(1)));
        assert_eq!(direction("fetch next in c"), Forward(Rows(1)));
        assert_eq!(direction("FETCH PRIOR c"), Backward(Rows(1)));
        assert_eq!(direction("FETCH FIRST FROM c"), Absolute(1));
        assert_eq!(direction("FETCH LAST c"), Absolute(-1));
        assert_eq!(direction("FETCH ABSOLUTE -3 c"), Absolute(-3));
        assert_eq!(direction("FETCH RELATIVE +2 IN c"), Relative(2));
        assert_eq!(direction("FETCH 5 c"), Forward(Rows(5)));
        assert_eq!(direction("FETCH -5 c"), Backward(Rows(5)));
        assert_eq!(direction("FETCH 0 c"), Forward(Rows(0)));
        assert_eq!(direction("FETCH ALL FROM c"), Forward(All));
        assert_eq!(direction("FETCH FORWARD c"), Forward(Rows(1)));
        assert_eq!(direction("FETCH FORWARD 7 FROM c"), Forward(Rows(7)));
        assert_eq!(direction("FETCH FORWARD -7 FROM c"), Backward(Rows(7)));
        assert_eq!(direction("FETCH FORWARD ALL c"), Forward(All));
        assert_eq!(direction("FETCH BACKWARD c"), Backward(Rows(1)));
        assert_eq!(direction("FETCH BACKWARD 2 c"), Backward(Rows(2)));
        assert_eq!(direction("FETCH BACKWARD -2 c"), Forward(Rows(2)));
        assert_eq!(direction("FETCH BACKWARD ALL IN c"), Backward(All));
        let m = parsed("MOVE LAST IN c").unwrap();
        assert!(m.moving);
        assert_eq!(m.verb(), "MOVE");
        assert_eq!(m.direction, Absolute(-1));
    }

    #[test]
    fn names_fold_unless_quoted_and_a_lone_keyword_is_a_name() {
        // Input: quoted and unquoted names, and names that are unreserved direction keywords.
        assert_eq!(parsed("FETCH Cur").unwrap().cursor, "cur");
        assert_eq!(parsed("FETCH 2 FROM \"Cur\"").unwrap().cursor, "Cur");
        assert_eq!(parsed("FETCH next").unwrap().cursor, "next");
        assert_eq!(parsed("FETCH FORWARD next").unwrap().cursor, "next");
    }

    #[test]
    fn malformed_statements_are_syntax_errors_with_positions() {
        // Input: a missing name, a missing count, trailing words and INTO.
        let e = parsed("FETCH").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at end of input");
        let e = parsed("FETCH ABSOLUTE c").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"c\"");
        for sql in ["FETCH from", "fetch all", "FETCH FORWARD ALL"] {
            let e = parsed(sql).unwrap_err();
            assert_eq!(e.to_string(), "syntax error at end of input", "{sql}");
        }
        let e = parsed("FETCH 2 FROM c extra").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"extra\"");
        assert_eq!(e.position(), Some(16));
        let e = parsed("FETCH c INTO x").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"INTO\"");
        let e = parsed("MOVE 1 2 c").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"2\"");
    }
}

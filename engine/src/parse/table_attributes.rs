//! Redshift's CREATE TABLE attributes, taken out of the SQL text before sqlparser sees it.
//!
//! sqlparser 0.64 parses `DISTSTYLE`, `DISTKEY (c)` and `SORTKEY (c, ...)` after a column list
//! only in that order, and neither `COMPOUND` / `INTERLEAVED` / `SORTKEY AUTO`, the table-level
//! `ENCODE AUTO`, nor the column attributes `ENCODE <encoding>`, `DISTKEY` and `SORTKEY`. So
//! before parsing, every CREATE TABLE with a column list is scanned token by token (with
//! sqlparser's own tokenizer): these attributes are recorded with the 1-based character
//! positions of their words and replaced in the text by as many spaces as they had characters
//! (line breaks kept), so every other token keeps its line, column and character position and
//! the parser's errors still point at the right place. What this pass recognizes:
//!
//! ```text
//! column element:  name type ... [ENCODE word] [DISTKEY] [SORTKEY] ...   (any order, at the
//!                  element's own nesting level; elements starting with CONSTRAINT, PRIMARY,
//!                  UNIQUE, FOREIGN, CHECK, LIKE or EXCLUDE are table constraints, left alone)
//! after the list:  DISTSTYLE {AUTO | EVEN | KEY | ALL}
//!                  DISTKEY ( column )
//!                  [COMPOUND | INTERLEAVED] SORTKEY ( column [, ...] ) | SORTKEY AUTO
//!                  ENCODE AUTO
//!                  (in any order, each at most once, until AS or the end of the statement)
//! ```
//!
//! A malformed attribute (`DISTSTYLE odd`, `DISTKEY a`, a second `DISTSTYLE`) is a syntax error
//! at the offending token, as the parser would report it. What the attributes mean (a column
//! that does not exist, a DISTKEY with DISTSTYLE EVEN) is the binder's to judge.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Word};

use crate::error::{Error, Result};
use crate::planner::bind::span_position;

/// A word of an attribute and the 1-based character position where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// A keyword as written; a column name normalized as an identifier (lower case unless
    /// quoted).
    pub value: String,
    pub position: Option<u32>,
}

/// A table-level sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum SortKeyClause {
    /// `SORTKEY AUTO`.
    Auto { position: Option<u32> },
    /// `[COMPOUND | INTERLEAVED] SORTKEY (columns)`.
    Columns {
        interleaved: bool,
        columns: Vec<Located>,
        position: Option<u32>,
    },
}

/// The Redshift attributes of one CREATE TABLE.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableAttributes {
    /// `DISTSTYLE x`: the style keyword.
    pub dist_style: Option<Located>,
    /// Table-level `DISTKEY (c)`: the column.
    pub dist_key: Option<Located>,
    pub sort_key: Option<SortKeyClause>,
    /// `ENCODE x` of a column: the column, and the encoding keyword.
    pub column_encodings: Vec<(String, Located)>,
    /// Columns declared `DISTKEY`, at the position of that word.
    pub column_dist_keys: Vec<Located>,
    /// Columns declared `SORTKEY`, at the position of that word.
    pub column_sort_keys: Vec<Located>,
    /// The column names of `CREATE TABLE t (a, b, ...) AS query`, which sqlparser does not
    /// parse (it wants a type after each name).
    pub as_columns: Vec<Located>,
    /// `CREATE VIEW ... AS query WITH NO SCHEMA BINDING` (Redshift's late-binding view),
    /// which sqlparser reads only in its Redshift dialect.
    pub no_schema_binding: bool,
}

impl TableAttributes {
    fn is_empty(&self) -> bool {
        *self == TableAttributes::default()
    }
}

/// SQL text with the attributes blanked out, and the attributes of each CREATE TABLE that had
/// any, keyed by where the table's name starts (the parsed statement's name has that span).
#[derive(Debug)]
pub struct Stripped {
    pub sql: String,
    pub tables: Vec<(Location, TableAttributes)>,
}

/// Takes the Redshift table attributes out of `sql`. Text that does not tokenize is returned
/// as it is, for the parser to report.
pub fn strip(sql: &str) -> Result<Stripped> {
    let dialect = PostgreSqlDialect {};
    let Ok(all) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return Ok(Stripped {
            sql: sql.to_owned(),
            tables: Vec::new(),
        });
    };
    let tokens: Vec<TokenWithSpan> = all
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut scan = Scan {
        sql,
        blanks: Vec::new(),
        tables: Vec::new(),
        end: None,
    };
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.token == Token::SemiColon {
            scan.end = Some(t.clone());
            scan.statement(tokens.get(start..i).unwrap_or_default())?;
            start = i + 1;
        }
    }
    scan.end = None;
    scan.statement(tokens.get(start..).unwrap_or_default())?;
    if scan.blanks.is_empty() {
        return Ok(Stripped {
            sql: sql.to_owned(),
            tables: scan.tables,
        });
    }
    Ok(Stripped {
        sql: blank_out(sql, &scan.blanks),
        tables: scan.tables,
    })
}

/// `sql` with the characters of every span replaced by spaces, line breaks kept.
fn blank_out(sql: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(sql.len());
    let (mut line, mut column) = (1u64, 1u64);
    for ch in sql.chars() {
        let here = Location::new(line, column);
        let blank = spans.iter().any(|s| s.start <= here && here < s.end);
        if blank && ch != '\n' {
            out.push(' ');
        } else {
            out.push(ch);
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    out
}

/// An unquoted word's text in upper case, if `t` is one.
/// Where the (possibly qualified) name at `t[i]` starts, and the index just past it.
fn qualified_name_at(t: &[TokenWithSpan], i: usize) -> Option<(Location, usize)> {
    let start = t.get(i)?.span.start;
    let mut past = i + 1;
    while t.get(past).is_some_and(|x| x.token == Token::Period) {
        past += 2;
    }
    Some((start, past))
}

fn keyword(t: Option<&TokenWithSpan>) -> Option<String> {
    match t.map(|t| &t.token) {
        Some(Token::Word(Word {
            value,
            quote_style: None,
            ..
        })) => Some(value.to_ascii_uppercase()),
        _ => None,
    }
}

/// An identifier as the binder normalizes it, if `t` is a word.
fn identifier(t: &TokenWithSpan) -> Option<String> {
    match &t.token {
        Token::Word(Word {
            value,
            quote_style: None,
            ..
        }) => Some(value.to_lowercase()),
        Token::Word(Word { value, .. }) => Some(value.clone()),
        _ => None,
    }
}

const CONSTRAINT_STARTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "FOREIGN",
    "CHECK",
    "LIKE",
    "EXCLUDE",
];
const CREATE_MODIFIERS: &[&str] = &[
    "OR",
    "REPLACE",
    "LOCAL",
    "GLOBAL",
    "TEMP",
    "TEMPORARY",
    "UNLOGGED",
];

struct Scan<'a> {
    sql: &'a str,
    blanks: Vec<Span>,
    tables: Vec<(Location, TableAttributes)>,
    /// The `;` that ends the statement being scanned, if one does: where an error at "the
    /// end of the statement" points.
    end: Option<TokenWithSpan>,
}

impl Scan<'_> {
    fn position(&self, t: &TokenWithSpan) -> Option<u32> {
        span_position(self.sql, t.span)
    }

    fn located(&self, t: &TokenWithSpan, value: String) -> Located {
        Located {
            value,
            position: self.position(t),
        }
    }

    /// A syntax error at `t`, or at the end of the statement when there is no token.
    fn syntax_error(&self, t: Option<&TokenWithSpan>) -> Error {
        match t.or(self.end.as_ref()) {
            Some(t) => Error::Syntax {
                message: format!("syntax error at or near \"{}\"", t.token),
                position: self.position(t),
            },
            None => Error::Syntax {
                message: "syntax error at end of input".into(),
                position: u32::try_from(self.sql.chars().count() + 1).ok(),
            },
        }
    }

    fn statement(&mut self, t: &[TokenWithSpan]) -> Result<()> {
        if keyword(t.first()).as_deref() == Some("ALTER") {
            return self.alter_table(t);
        }
        if keyword(t.first()).as_deref() != Some("CREATE") {
            return Ok(());
        }
        let mut i = 1;
        while keyword(t.get(i)).is_some_and(|k| CREATE_MODIFIERS.contains(&k.as_str())) {
            i += 1;
        }
        if keyword(t.get(i)).as_deref() == Some("VIEW") {
            self.view(t, i + 1);
            return Ok(());
        }
        if keyword(t.get(i)).as_deref() != Some("TABLE") {
            return Ok(());
        }
        i += 1;
        if keyword(t.get(i)).as_deref() == Some("IF") {
            i += 3;
        }
        // The name may itself be a word such as INTERLEAVED.
        let Some((name_start, past)) = qualified_name_at(t, i) else {
            return Ok(());
        };
        i = past;
        while let Some(tok) = t.get(i) {
            if tok.token == Token::LParen {
                break;
            }
            match keyword(Some(tok)).as_deref() {
                Some("AS") => return Ok(()),
                // CREATE TABLE AS without a column list: attributes before AS.
                Some(
                    "DISTSTYLE" | "DISTKEY" | "SORTKEY" | "COMPOUND" | "INTERLEAVED" | "BACKUP",
                ) => {
                    let mut attrs = TableAttributes::default();
                    self.table_attributes(t.get(i..).unwrap_or_default(), &mut attrs)?;
                    if !attrs.is_empty() {
                        self.tables.push((name_start, attrs));
                    }
                    return Ok(());
                }
                _ => {}
            }
            i += 1;
        }
        let open = i;
        let mut depth = 0usize;
        let mut close = None;
        for (j, tok) in t.iter().enumerate().skip(open) {
            match tok.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return Ok(());
        };
        let mut attrs = TableAttributes::default();
        let inner = t.get(open + 1..close).unwrap_or_default();
        let elements = split_top_level(inner, t.get(close));
        let names_only = elements
            .iter()
            .all(|(e, _)| e.len() == 1 && identifier(&e[0]).is_some());
        let rest = t.get(close + 1..).unwrap_or_default();
        let is_as = rest
            .iter()
            .any(|x| keyword(Some(x)).as_deref() == Some("AS"));
        if names_only && is_as {
            // CREATE TABLE t (a, b) ... AS query: the names are taken out for the binder.
            for (e, _) in &elements {
                if let Some(name) = identifier(&e[0]) {
                    attrs.as_columns.push(self.located(&e[0], name));
                }
            }
            self.blank_range(t, open, close + 1);
        } else {
            for (element, after) in elements {
                self.column_element(element, after, &mut attrs)?;
            }
        }
        self.table_attributes(t.get(close + 1..).unwrap_or_default(), &mut attrs)?;
        if !attrs.is_empty() {
            self.tables.push((name_start, attrs));
        }
        Ok(())
    }

    /// `ALTER TABLE [IF EXISTS] [ONLY] name ADD [COLUMN] [IF NOT EXISTS] element`: the
    /// column element's attributes (Redshift's `ENCODE`), as in CREATE TABLE.
    fn alter_table(&mut self, t: &[TokenWithSpan]) -> Result<()> {
        if keyword(t.get(1)).as_deref() != Some("TABLE") {
            return Ok(());
        }
        let mut i = 2;
        if keyword(t.get(i)).as_deref() == Some("IF") {
            i += 2;
        }
        if keyword(t.get(i)).as_deref() == Some("ONLY") {
            i += 1;
        }
        let Some((name_start, past)) = qualified_name_at(t, i) else {
            return Ok(());
        };
        i = past;
        if keyword(t.get(i)).as_deref() != Some("ADD") {
            return Ok(());
        }
        i += 1;
        if keyword(t.get(i)).as_deref() == Some("COLUMN") {
            i += 1;
        } else if keyword(t.get(i)).is_some_and(|k| CONSTRAINT_STARTS.contains(&k.as_str())) {
            return Ok(());
        }
        if keyword(t.get(i)).as_deref() == Some("IF") {
            i += 3;
        }
        let mut attrs = TableAttributes::default();
        self.column_element(t.get(i..).unwrap_or_default(), None, &mut attrs)?;
        if !attrs.is_empty() {
            self.tables.push((name_start, attrs));
        }
        Ok(())
    }

    /// A CREATE VIEW whose name starts at `t[i]` (after `IF NOT EXISTS`): a trailing `WITH
    /// NO SCHEMA BINDING` is blanked and recorded.
    fn view(&mut self, t: &[TokenWithSpan], mut i: usize) {
        if keyword(t.get(i)).as_deref() == Some("IF") {
            i += 3;
        }
        let Some(name) = t.get(i) else {
            return;
        };
        let Some(start) = t.len().checked_sub(4) else {
            return;
        };
        let tail: Vec<Option<String>> = (start..t.len()).map(|j| keyword(t.get(j))).collect();
        let words = ["WITH", "NO", "SCHEMA", "BINDING"];
        if start > i && tail.iter().zip(words).all(|(k, w)| k.as_deref() == Some(w)) {
            self.blank_range(t, start, t.len());
            let attrs = TableAttributes {
                no_schema_binding: true,
                ..TableAttributes::default()
            };
            self.tables.push((name.span.start, attrs));
        }
    }

    /// One element of the column list; `after` is the token that ends it (`,` or `)`).
    fn column_element(
        &mut self,
        e: &[TokenWithSpan],
        after: Option<&TokenWithSpan>,
        attrs: &mut TableAttributes,
    ) -> Result<()> {
        let Some(first) = e.first() else {
            return Ok(());
        };
        if keyword(Some(first)).is_some_and(|k| CONSTRAINT_STARTS.contains(&k.as_str())) {
            return Ok(());
        }
        let Some(column) = identifier(first) else {
            return Ok(());
        };
        let mut depth = 0i64;
        let mut m = 1;
        while let Some(tok) = e.get(m) {
            match tok.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            if depth != 0 {
                m += 1;
                continue;
            }
            match keyword(Some(tok)).as_deref() {
                Some("ENCODE") => {
                    let Some(word) = e.get(m + 1).filter(|w| matches!(w.token, Token::Word(_)))
                    else {
                        return Err(self.syntax_error(e.get(m + 1).or(after)));
                    };
                    let value = word.token.to_string();
                    attrs
                        .column_encodings
                        .push((column.clone(), self.located(word, value)));
                    self.blanks.push(tok.span.union(&word.span));
                    m += 2;
                    continue;
                }
                Some("DISTKEY") => {
                    attrs
                        .column_dist_keys
                        .push(self.located(tok, column.clone()));
                    self.blanks.push(tok.span);
                }
                Some("SORTKEY") => {
                    attrs
                        .column_sort_keys
                        .push(self.located(tok, column.clone()));
                    self.blanks.push(tok.span);
                }
                _ => {}
            }
            m += 1;
        }
        Ok(())
    }

    fn table_attributes(&mut self, t: &[TokenWithSpan], attrs: &mut TableAttributes) -> Result<()> {
        let mut m = 0;
        let mut encode_auto = false;
        while let Some(tok) = t.get(m) {
            let Some(word) = keyword(Some(tok)) else {
                m += 1;
                continue;
            };
            match word.as_str() {
                "AS" => break,
                "DISTSTYLE" => {
                    let style = keyword(t.get(m + 1))
                        .filter(|s| ["AUTO", "EVEN", "KEY", "ALL"].contains(&s.as_str()));
                    let (Some(style), Some(style_token)) = (style, t.get(m + 1)) else {
                        return Err(self.syntax_error(t.get(m + 1)));
                    };
                    if attrs.dist_style.is_some() {
                        return Err(self.syntax_error(Some(tok)));
                    }
                    attrs.dist_style = Some(self.located(style_token, style));
                    self.blanks.push(tok.span.union(&style_token.span));
                    m += 2;
                }
                "DISTKEY" => {
                    if attrs.dist_key.is_some() {
                        return Err(self.syntax_error(Some(tok)));
                    }
                    let (columns, end) = self.column_list(t, m + 1, false)?;
                    attrs.dist_key = columns.into_iter().next();
                    self.blank_range(t, m, end);
                    m = end;
                }
                "COMPOUND" | "INTERLEAVED" | "SORTKEY" => {
                    let start = m;
                    let interleaved = word == "INTERLEAVED";
                    if word != "SORTKEY" {
                        m += 1;
                        if keyword(t.get(m)).as_deref() != Some("SORTKEY") {
                            return Err(self.syntax_error(t.get(m)));
                        }
                    }
                    if attrs.sort_key.is_some() {
                        return Err(self.syntax_error(t.get(start)));
                    }
                    let position = t.get(start).and_then(|s| self.position(s));
                    if word == "SORTKEY" && keyword(t.get(m + 1)).as_deref() == Some("AUTO") {
                        attrs.sort_key = Some(SortKeyClause::Auto { position });
                        self.blank_range(t, start, m + 2);
                        m += 2;
                        continue;
                    }
                    let (columns, end) = self.column_list(t, m + 1, true)?;
                    attrs.sort_key = Some(SortKeyClause::Columns {
                        interleaved,
                        columns,
                        position,
                    });
                    self.blank_range(t, start, end);
                    m = end;
                }
                "BACKUP" => {
                    // Redshift's BACKUP YES | NO: one node keeps no separate backups.
                    if !matches!(keyword(t.get(m + 1)).as_deref(), Some("YES" | "NO")) {
                        return Err(self.syntax_error(t.get(m + 1)));
                    }
                    self.blank_range(t, m, m + 2);
                    m += 2;
                }
                "ENCODE" => {
                    if keyword(t.get(m + 1)).as_deref() != Some("AUTO") || encode_auto {
                        return Err(self.syntax_error(t.get(m + 1)));
                    }
                    encode_auto = true;
                    self.blank_range(t, m, m + 2);
                    m += 2;
                }
                _ => m += 1,
            }
        }
        Ok(())
    }

    /// `( column [, ...] )` starting at token `at` (one column unless `many`): the columns and
    /// the index just after the closing parenthesis.
    fn column_list(
        &self,
        t: &[TokenWithSpan],
        at: usize,
        many: bool,
    ) -> Result<(Vec<Located>, usize)> {
        if t.get(at).map(|x| &x.token) != Some(&Token::LParen) {
            return Err(self.syntax_error(t.get(at)));
        }
        let mut columns = Vec::new();
        let mut m = at + 1;
        loop {
            let Some(name) = t.get(m).and_then(|x| identifier(x).map(|n| (x, n))) else {
                return Err(self.syntax_error(t.get(m)));
            };
            columns.push(self.located(name.0, name.1));
            m += 1;
            match t.get(m).map(|x| &x.token) {
                Some(Token::RParen) => return Ok((columns, m + 1)),
                Some(Token::Comma) if many => m += 1,
                _ => return Err(self.syntax_error(t.get(m))),
            }
        }
    }

    fn blank_range(&mut self, t: &[TokenWithSpan], from: usize, to: usize) {
        if let (Some(a), Some(b)) = (t.get(from), t.get(to.saturating_sub(1))) {
            self.blanks.push(a.span.union(&b.span));
        }
    }
}

/// The comma-separated elements of a parenthesized list's tokens, split at its own level,
/// each with the token that ends it (its comma, or `close` for the last).
fn split_top_level<'t>(
    tokens: &'t [TokenWithSpan],
    close: Option<&'t TokenWithSpan>,
) -> Vec<(&'t [TokenWithSpan], Option<&'t TokenWithSpan>)> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i64, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                out.push((tokens.get(start..i).unwrap_or_default(), Some(t)));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push((tokens.get(start..).unwrap_or_default(), close));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_recorded_and_blanked_in_place() {
        // Input: Redshift's column and table attributes together, over two lines, followed by
        // a second statement that mentions no attribute.
        let sql = "CREATE TABLE t (a int ENCODE az64 DISTKEY SORTKEY, b varchar(10) encode Text255)\n DISTSTYLE KEY INTERLEAVED SORTKEY(a,\"B\") ENCODE AUTO; SELECT 1";
        let s = strip(sql).unwrap();
        assert_eq!(s.sql.chars().count(), sql.chars().count());
        assert_eq!(
            s.sql,
            "CREATE TABLE t (a int                            , b varchar(10)               )\n                                                     ; SELECT 1"
        );
        assert_eq!(s.tables.len(), 1);
        let (at, attrs) = &s.tables[0];
        assert_eq!(*at, Location::new(1, 14));
        let loc = |value: &str, position: u32| Located {
            value: value.into(),
            position: Some(position),
        };
        assert_eq!(
            attrs.column_encodings,
            [
                ("a".to_string(), loc("az64", 30)),
                ("b".to_string(), loc("Text255", 73))
            ]
        );
        assert_eq!(attrs.column_dist_keys, [loc("a", 35)]);
        assert_eq!(attrs.column_sort_keys, [loc("a", 43)]);
        assert_eq!(attrs.dist_style, Some(loc("KEY", 93)));
        assert_eq!(
            attrs.sort_key,
            Some(SortKeyClause::Columns {
                interleaved: true,
                columns: vec![loc("a", 117), loc("B", 119)],
                position: Some(97),
            })
        );
    }

    #[test]
    fn other_statements_and_constraints_are_left_alone() {
        // Input: a table constraint named sortkey, a CHECK mentioning distkey, CREATE TABLE
        // AS, and a SELECT of a column named sortkey.
        for sql in [
            "CREATE TABLE t (a int, CONSTRAINT sortkey PRIMARY KEY (a), CHECK (distkey > 0))",
            "CREATE TABLE t AS SELECT 1 AS sortkey",
            "SELECT sortkey FROM t",
        ] {
            let s = strip(sql).unwrap();
            assert_eq!(s.sql, sql);
            assert!(s.tables.is_empty());
        }
    }

    #[test]
    fn create_table_as_column_names_and_attributes_are_taken_out() {
        // Input: CREATE TABLE AS with a column list and attributes, and one with attributes
        // and BACKUP NO but no list.
        let sql = "CREATE TABLE t (a, \"B\") DISTKEY(a) AS SELECT 1, 2";
        let s = strip(sql).unwrap();
        let blank = |from: &str| " ".repeat(from.chars().count());
        assert_eq!(
            s.sql,
            format!(
                "CREATE TABLE t {} AS SELECT 1, 2",
                blank("(a, \"B\") DISTKEY(a)")
            )
        );
        let attrs = &s.tables[0].1;
        let names: Vec<&str> = attrs.as_columns.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(names, ["a", "B"]);
        assert_eq!(attrs.dist_key.as_ref().map(|k| k.value.as_str()), Some("a"));
        let s = strip("CREATE TABLE interleaved AS SELECT 1 AS x").unwrap();
        assert!(s.tables.is_empty());
        let s = strip("CREATE TABLE t BACKUP NO SORTKEY(x) AS SELECT 1 AS x").unwrap();
        assert_eq!(
            s.sql,
            format!(
                "CREATE TABLE t {} AS SELECT 1 AS x",
                blank("BACKUP NO SORTKEY(x)")
            )
        );
        assert!(s.tables[0].1.as_columns.is_empty());
    }

    #[test]
    fn malformed_attributes_are_syntax_errors_at_the_offending_token() {
        // Input: a style that does not exist, DISTKEY without parentheses, two DISTSTYLEs,
        // COMPOUND without SORTKEY, SORTKEY with an empty list, and ENCODE with no word.
        let cases = [
            ("CREATE TABLE t (a int) DISTSTYLE odd", "\"odd\"", 34),
            ("CREATE TABLE t (a int) DISTKEY a", "\"a\"", 32),
            (
                "CREATE TABLE t (a int) DISTSTYLE ALL DISTSTYLE EVEN",
                "\"DISTSTYLE\"",
                38,
            ),
            ("CREATE TABLE t (a int) COMPOUND (a)", "\"(\"", 33),
            ("CREATE TABLE t (a int) SORTKEY ()", "\")\"", 33),
            ("CREATE TABLE t (a int) ENCODE RAW", "\"RAW\"", 31),
        ];
        for (sql, near, position) in cases {
            let e = strip(sql).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("syntax error at or near {near}"),
                "{sql}"
            );
            assert_eq!(e.position(), Some(position), "{sql}");
        }
        let e = strip("CREATE TABLE t (a int ENCODE)").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \")\"");
        let e = strip("CREATE TABLE t (a int) SORTKEY").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at end of input");
        let e = strip("CREATE TABLE t (a int) SORTKEY; SELECT 1").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \";\"");
        assert_eq!(e.position(), Some(31));
    }
}

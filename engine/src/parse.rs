//! SQL text to ASTs, with PostgreSQL-style syntax errors. Redshift's CREATE TABLE attributes
//! are taken out of the text first (`table_attributes`) and handed on beside the AST, and the
//! APPROXIMATE of `APPROXIMATE COUNT(DISTINCT ...)` and window frames' EXCLUDE clauses are
//! blanked (`approximate`, `frame_exclude`), the binder finding them again in the original
//! text; prefix operators such as `~` are given PostgreSQL's precedence (`prefix_operators`);
//! a parenthesized VALUES list is made a query wherever a parenthesized query may stand
//! (`values_queries`). COPY from files, UNLOAD, role statements, FETCH and MOVE are read from
//! tokens by their own modules.

pub(crate) mod approximate;
pub(crate) mod frame_exclude;
mod prefix_operators;
mod table_attributes;
mod values_queries;

use sqlparser::ast::Spanned;
use sqlparser::ast::Statement;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
pub use table_attributes::{Located, SortKeyClause, TableAttributes};

use crate::error::{Error, Result};

/// Deepest expression nesting accepted, so hostile input cannot overflow the stack.
const PARSE_DEPTH_MAX: usize = 200;

/// A parsed statement: one sqlparser knows, or a Redshift COPY / UNLOAD (see `copy::options`).
#[derive(Clone, Debug)]
pub enum Parsed {
    /// A statement sqlparser knows, with the Redshift attributes of the table it creates.
    Sql(Box<Statement>, Option<Box<TableAttributes>>),
    Transfer(Box<crate::copy::options::Transfer>),
    /// A role or privilege statement (see `security::parse`).
    Security(Box<crate::security::Command>),
    /// FETCH or MOVE (see `cursor::parse`).
    Fetch(Box<crate::cursor::parse::FetchCommand>),
}

/// Parses zero or more `;`-separated statements, COPY-from-file and UNLOAD statements included.
pub fn parse_all(sql: &str) -> Result<Vec<Parsed>> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let with_attributes = |sql: &str| -> Result<Vec<Parsed>> {
        Ok(parse_with_attributes(sql)?
            .into_iter()
            .map(|(s, a)| Parsed::Sql(Box::new(s), a.map(Box::new)))
            .collect())
    };
    let dialect = PostgreSqlDialect {};
    let tokens = match Tokenizer::new(&dialect, sql).tokenize_with_location() {
        Ok(t) => t,
        // Let the parser report the tokenizer's error as it always has.
        Err(_) => return with_attributes(sql),
    };
    let segments = split_statements(tokens);
    if !segments.iter().any(|s| {
        crate::copy::options::is_transfer(s)
            || crate::security::parse::is_security(s)
            || crate::cursor::parse::is_fetch(s)
    }) {
        return with_attributes(sql);
    }
    // Statements beside a COPY or UNLOAD: their CREATE TABLE attributes are blanked out of the
    // text (positions unchanged) and the text tokenized again.
    let stripped = table_attributes::strip(&blanked(sql))?;
    let mut tables = stripped.tables;
    let tokens = Tokenizer::new(&dialect, &stripped.sql)
        .tokenize_with_location()
        .map_err(|e| Error::Syntax {
            message: e.to_string(),
            position: None,
        })?;
    let segments = split_statements(tokens);
    let mut out = Vec::new();
    for seg in segments {
        if seg
            .iter()
            .all(|t| matches!(t.token, Token::Whitespace(_) | Token::EOF))
        {
            continue;
        }
        if crate::cursor::parse::is_fetch(&seg) {
            out.push(Parsed::Fetch(Box::new(crate::cursor::parse::parse(
                sql, &seg,
            )?)));
        } else if crate::security::parse::is_security(&seg) {
            out.push(Parsed::Security(Box::new(crate::security::parse::parse(
                sql, &seg,
            )?)));
        } else if crate::copy::options::is_transfer(&seg) {
            out.push(Parsed::Transfer(Box::new(
                crate::copy::options::parse_transfer(sql, &seg)?,
            )));
        } else {
            let mut parser = Parser::new(&dialect)
                .with_recursion_limit(PARSE_DEPTH_MAX)
                .with_tokens_with_locations(values_queries::rewrite(seg));
            let stmts = parser
                .parse_statements()
                .map_err(|e| syntax_error(sql, e))?;
            for mut s in stmts {
                prefix_operators::reassociate(&mut s);
                let attributes = attributes_of(&s, &mut tables);
                out.push(Parsed::Sql(Box::new(s), attributes.map(Box::new)));
            }
        }
    }
    Ok(out)
}

/// Tokens split into statements at each top-level `;`.
fn split_statements(
    tokens: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<Vec<sqlparser::tokenizer::TokenWithSpan>> {
    use sqlparser::tokenizer::Token;
    let mut segments = vec![Vec::new()];
    let mut depth = 0i32;
    for t in tokens {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        if t.token == Token::SemiColon && depth <= 0 {
            segments.push(Vec::new());
        } else if let Some(s) = segments.last_mut() {
            s.push(t);
        }
    }
    segments
}

/// `sql` with the words sqlparser does not know blanked out, every position kept: APPROXIMATE
/// before COUNT, and window frames' EXCLUDE clauses. The binder finds them in the original text.
fn blanked(sql: &str) -> String {
    frame_exclude::blank(&approximate::blank(sql)).into_owned()
}

/// Parses zero or more `;`-separated statements, each with the Redshift attributes of the
/// table it creates, if it is a CREATE TABLE that has any.
pub fn parse_with_attributes(sql: &str) -> Result<Vec<(Statement, Option<TableAttributes>)>> {
    let stripped = table_attributes::strip(&blanked(sql))?;
    let dialect = PostgreSqlDialect {};
    let mut parser = parser_for(&dialect, &stripped.sql).map_err(|e| syntax_error(sql, e))?;
    let statements = parser
        .parse_statements()
        .map_err(|e| syntax_error(sql, e))?;
    let mut tables = stripped.tables;
    Ok(statements
        .into_iter()
        .map(|mut statement| {
            prefix_operators::reassociate(&mut statement);
            let attributes = attributes_of(&statement, &mut tables);
            (statement, attributes)
        })
        .collect())
}

/// The attributes taken out of the CREATE TABLE `statement`, matched by the table name's
/// position.
fn attributes_of(
    statement: &Statement,
    tables: &mut Vec<(sqlparser::tokenizer::Location, TableAttributes)>,
) -> Option<TableAttributes> {
    match statement {
        Statement::CreateView(cv) => {
            let at = cv.name.span().start;
            tables
                .iter()
                .position(|(start, _)| *start == at)
                .map(|i| tables.swap_remove(i).1)
        }
        Statement::AlterTable(at) => {
            let at = at.name.span().start;
            tables
                .iter()
                .position(|(start, _)| *start == at)
                .map(|i| tables.swap_remove(i).1)
        }
        Statement::CreateTable(ct) => {
            let at = ct.name.span().start;
            tables
                .iter()
                .position(|(start, _)| *start == at)
                .map(|i| tables.swap_remove(i).1)
        }
        _ => None,
    }
}

/// A parser over the tokens of `sql`, parenthesized VALUES lists made queries.
fn parser_for<'a>(
    dialect: &'a PostgreSqlDialect,
    sql: &str,
) -> std::result::Result<Parser<'a>, ParserError> {
    let tokens = sqlparser::tokenizer::Tokenizer::new(dialect, sql).tokenize_with_location()?;
    Ok(Parser::new(dialect)
        .with_recursion_limit(PARSE_DEPTH_MAX)
        .with_tokens_with_locations(values_queries::rewrite(tokens)))
}

/// Parses zero or more `;`-separated statements.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let dialect = PostgreSqlDialect {};
    let mut parser = parser_for(&dialect, sql).map_err(|e| syntax_error(sql, e))?;
    let mut statements = parser
        .parse_statements()
        .map_err(|e| syntax_error(sql, e))?;
    statements
        .iter_mut()
        .for_each(prefix_operators::reassociate);
    Ok(statements)
}

/// Turns sqlparser's message ("Expected: X, found: Y at Line: L, Column: C") into
/// PostgreSQL's ("syntax error at or near "Y"") with a character position.
pub(crate) fn syntax_error(sql: &str, e: ParserError) -> Error {
    let raw = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return Error::Syntax {
                message: "statement is too deeply nested".into(),
                position: None,
            }
        }
    };
    let (body, position) = match raw.rfind(" at Line: ") {
        Some(i) => {
            let loc = &raw[i + " at Line: ".len()..];
            let mut parts = loc.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
            let col = parts.next().and_then(|c| c.trim().parse::<u64>().ok());
            let pos = match (line, col) {
                (Some(l), Some(c)) => crate::planner::bind::span_position(
                    sql,
                    sqlparser::tokenizer::Span::new(
                        sqlparser::tokenizer::Location::new(l, c),
                        sqlparser::tokenizer::Location::new(l, c),
                    ),
                ),
                _ => None,
            };
            (raw[..i].to_string(), pos)
        }
        None => (raw.clone(), None),
    };
    let message = match body.rfind("found: ") {
        Some(i) => {
            let found = body[i + "found: ".len()..].trim();
            if found == "EOF" {
                "syntax error at end of input".to_string()
            } else {
                format!("syntax error at or near \"{found}\"")
            }
        }
        None => format!("syntax error: {body}"),
    };
    let position = position.or_else(|| {
        if message.ends_with("end of input") {
            u32::try_from(sql.chars().count() + 1).ok()
        } else {
            None
        }
    });
    Error::Syntax { message, position }
}

/// `sql` with the text of each `[start, end)` span replaced by spaces (newlines kept), so every
/// other token keeps its line and column: how words sqlparser cannot parse (APPROXIMATE, a
/// frame's EXCLUDE) are taken out before parsing. The text is unchanged when there are none.
pub(crate) fn blank_spans<'s>(
    sql: &'s str,
    spans: &[(
        sqlparser::tokenizer::Location,
        sqlparser::tokenizer::Location,
    )],
) -> std::borrow::Cow<'s, str> {
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let (mut line, mut column) = (1u64, 1u64);
    for ch in sql.chars() {
        let here = sqlparser::tokenizer::Location::new(line, column);
        let inside = spans
            .iter()
            .any(|(start, end)| here >= *start && here < *end);
        out.push(if inside && ch != '\n' { ' ' } else { ch });
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A misspelled keyword and a truncated statement.
    #[test]
    fn syntax_errors_look_like_postgres() {
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        // Positions after a blanked attribute are unchanged.
        let e = parse_with_attributes("CREATE TABLE t (a int SORTKEY ENCODE raw, b intt x)")
            .unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"x\"");
        assert_eq!(e.position(), Some(50));
        let parsed =
            parse_with_attributes("CREATE TABLE t (a int) DISTSTYLE EVEN; CREATE TABLE u (b int)")
                .unwrap();
        assert!(parsed[0].1.as_ref().is_some_and(|a| a.dist_style.is_some()));
        assert!(parsed[1].1.is_none());
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        assert_eq!(e.position(), Some(1));
        let e = parse("SELECT 1 +").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at end of input");
    }

    // A frame's EXCLUDE clause is taken out of the text before parsing (the binder reads
    // it); an EXCLUDE elsewhere, or of something else, is still a syntax error.
    #[test]
    fn frame_exclusion_parses() {
        parse_with_attributes(
            "SELECT sum(a) OVER (ORDER BY a ROWS UNBOUNDED PRECEDING EXCLUDE TIES) FROM t",
        )
        .unwrap();
        parse_with_attributes(
            "SELECT sum(a) OVER (ROWS BETWEEN 1 PRECEDING AND CURRENT ROW exclude no others) FROM t",
        )
        .unwrap();
        let e = parse_with_attributes("SELECT sum(a) OVER (ROWS CURRENT ROW EXCLUDE foo) FROM t")
            .unwrap_err();
        assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
        let e = parse("SELECT (1 exclude)").unwrap_err();
        assert!(matches!(e, Error::Syntax { .. }), "{e:?}");
    }
}

//! SQL text to ASTs, with PostgreSQL-style syntax errors. Redshift's CREATE TABLE attributes
//! are taken out of the text first (`table_attributes`) and handed on beside the AST.

mod table_attributes;

use sqlparser::ast::Spanned;
use sqlparser::ast::Statement;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
pub use table_attributes::{Located, SortKeyClause, TableAttributes};

use crate::error::{Error, Result};

/// Deepest expression nesting accepted, so hostile input cannot overflow the stack.
const PARSE_DEPTH_MAX: usize = 200;

/// Parses zero or more `;`-separated statements, each with the Redshift attributes of the
/// table it creates, if it is a CREATE TABLE that has any.
pub fn parse(sql: &str) -> Result<Vec<(Statement, Option<TableAttributes>)>> {
    let stripped = table_attributes::strip(sql)?;
    let dialect = PostgreSqlDialect {};
    let parser = Parser::new(&dialect).with_recursion_limit(PARSE_DEPTH_MAX);
    let parser = parser
        .try_with_sql(&stripped.sql)
        .map_err(|e| syntax_error(sql, e))?;
    let mut parser = parser;
    let statements = parser
        .parse_statements()
        .map_err(|e| syntax_error(sql, e))?;
    let mut tables = stripped.tables;
    Ok(statements
        .into_iter()
        .map(|statement| {
            let attributes = match &statement {
                Statement::CreateTable(ct) => {
                    let at = ct.name.span().start;
                    tables
                        .iter()
                        .position(|(start, _)| *start == at)
                        .map(|i| tables.swap_remove(i).1)
                }
                _ => None,
            };
            (statement, attributes)
        })
        .collect())
}

/// Turns sqlparser's message ("Expected: X, found: Y at Line: L, Column: C") into
/// PostgreSQL's ("syntax error at or near "Y"") with a character position.
fn syntax_error(sql: &str, e: ParserError) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    // A misspelled keyword and a truncated statement.
    #[test]
    fn syntax_errors_look_like_postgres() {
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        // Positions after a blanked attribute are unchanged.
        let e = parse("CREATE TABLE t (a int SORTKEY ENCODE raw, b intt x)").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"x\"");
        assert_eq!(e.position(), Some(50));
        let parsed =
            parse("CREATE TABLE t (a int) DISTSTYLE EVEN; CREATE TABLE u (b int)").unwrap();
        assert!(parsed[0].1.as_ref().is_some_and(|a| a.dist_style.is_some()));
        assert!(parsed[1].1.is_none());
        let e = parse("SELEC 1").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"SELEC\"");
        assert_eq!(e.position(), Some(1));
        let e = parse("SELECT 1 +").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at end of input");
    }
}

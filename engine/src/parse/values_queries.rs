//! A parenthesized VALUES list as a query wherever a query may stand in parentheses.
//!
//! PostgreSQL reads `(VALUES (1), (2))` as a query anywhere a parenthesized query may appear:
//! a scalar subquery (`SELECT (VALUES (1))`), `x IN (VALUES (1), (2))`, `EXISTS (VALUES ...)`,
//! a WITH query's body. sqlparser starts a parenthesized query only at SELECT or WITH (its
//! `peek_sub_query`); elsewhere it reads `VALUES (1)` as a call of a function named `values`.
//! This pass rewrites the tokens of such a list so that sqlparser reads a query with the same
//! rows and column names (`column1`, ...): one row, `( VALUES (e1, e2) ... )`, becomes the
//! plain SELECT `( SELECT e1 AS column1, e2 AS column2 ... )`, which may read an enclosing
//! query's columns as any subquery; several rows, `( VALUES (...), (...) ... )`, become
//! `( SELECT * FROM ( VALUES (...), (...) ... ) AS "?values" )`. The inserted tokens carry the span of the opening parenthesis; every original
//! token keeps its own, so positions in error messages are unchanged. A parenthesis after
//! FROM, JOIN or LATERAL opens a derived table, which sqlparser already reads as a query, and
//! is left alone.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

/// The alias of the derived table the rewrite wraps a VALUES list in: a quoted name no query
/// text refers to.
const VALUES_ALIAS: &str = "?values";

fn significant(t: &Token) -> bool {
    !matches!(t, Token::Whitespace(_))
}

fn is_keyword(t: &Token, kw: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == kw && w.quote_style.is_none())
}

/// The index of the `)` that closes the `(` at `open`, if any.
fn closing(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// The tokens with every parenthesized VALUES list outside FROM made a SELECT (see the
/// module documentation).
pub(crate) fn rewrite(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    // Cheap exit for the common statement without VALUES.
    if !tokens.iter().any(|t| is_keyword(&t.token, Keyword::VALUES)) {
        return tokens;
    }
    let next_significant =
        |from: usize| (from..tokens.len()).find(|&k| significant(&tokens[k].token));
    let mut out = Vec::with_capacity(tokens.len() + 16);
    // For each open parenthesis: the span to give the closing tokens if it was rewritten.
    let mut open: Vec<Option<sqlparser::tokenizer::Span>> = Vec::new();
    let mut previous: Option<&Token> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.token {
            Token::LParen => {
                // `(` VALUES `(` row `)`, and whether another row follows.
                let row = next_significant(i + 1)
                    .filter(|&j| is_keyword(&tokens[j].token, Keyword::VALUES))
                    .and_then(|j| next_significant(j + 1))
                    .filter(|&k| tokens[k].token == Token::LParen)
                    .and_then(|k| closing(&tokens, k).map(|m| (k, m)));
                let derived_table = previous.is_some_and(|p| {
                    is_keyword(p, Keyword::FROM)
                        || is_keyword(p, Keyword::JOIN)
                        || is_keyword(p, Keyword::LATERAL)
                });
                out.push(t.clone());
                let at = |token: Token| TokenWithSpan::new(token, t.span);
                match row {
                    Some((k, m)) if !derived_table => {
                        let more_rows = next_significant(m + 1)
                            .is_some_and(|n| tokens[n].token == Token::Comma);
                        if more_rows {
                            out.extend([
                                at(Token::make_keyword("SELECT")),
                                at(Token::Whitespace(Whitespace::Space)),
                                at(Token::Mul),
                                at(Token::Whitespace(Whitespace::Space)),
                                at(Token::make_keyword("FROM")),
                                at(Token::Whitespace(Whitespace::Space)),
                                at(Token::LParen),
                            ]);
                            open.push(Some(t.span));
                        } else {
                            // One row: `SELECT e1 AS column1, ...`, a plain SELECT that may
                            // read the enclosing query's columns.
                            out.push(at(Token::make_keyword("SELECT")));
                            out.push(at(Token::Whitespace(Whitespace::Space)));
                            select_items(&tokens[k + 1..m], t.span, &mut out);
                            open.push(None);
                            previous = Some(&tokens[m].token);
                            i = m + 1;
                            continue;
                        }
                    }
                    _ => open.push(None),
                }
            }
            Token::RParen => {
                if let Some(Some(span)) = open.pop() {
                    let at = |token: Token| TokenWithSpan::new(token, span);
                    out.extend([
                        at(Token::RParen),
                        at(Token::Whitespace(Whitespace::Space)),
                        at(Token::make_keyword("AS")),
                        at(Token::Whitespace(Whitespace::Space)),
                        at(Token::make_word(VALUES_ALIAS, Some('"'))),
                    ]);
                }
                out.push(t.clone());
            }
            _ => out.push(t.clone()),
        }
        if significant(&t.token) {
            previous = Some(&t.token);
        }
        i += 1;
    }
    out
}

/// The items of one VALUES row (the tokens between its parentheses) as a select list,
/// `e1 AS column1, e2 AS column2, ...`, each item rewritten in turn.
fn select_items(
    row: &[TokenWithSpan],
    span: sqlparser::tokenizer::Span,
    out: &mut Vec<TokenWithSpan>,
) {
    let mut items: Vec<&[TokenWithSpan]> = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (k, t) in row.iter().enumerate() {
        match t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                items.push(&row[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    items.push(&row[start..]);
    let at = |token: Token| TokenWithSpan::new(token, span);
    for (n, item) in items.into_iter().enumerate() {
        if n > 0 {
            out.push(at(Token::Comma));
        }
        out.extend(rewrite(item.to_vec()));
        out.extend([
            at(Token::Whitespace(Whitespace::Space)),
            at(Token::make_keyword("AS")),
            at(Token::Whitespace(Whitespace::Space)),
            at(Token::make_word(&format!("column{}", n + 1), None)),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn rewritten(sql: &str) -> String {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap_or_default();
        super::rewrite(tokens)
            .iter()
            .map(|t| t.token.to_string())
            .collect()
    }

    // A scalar subquery of one row, an IN list's subquery of two rows and nested ones are
    // rewritten; a derived table in FROM, an INSERT's VALUES and a column named values are
    // not.
    #[test]
    fn rewrites_values_outside_from() {
        assert_eq!(
            rewritten("SELECT (VALUES (1, f(2, 3)))"),
            "SELECT (SELECT 1 AS column1, f(2, 3) AS column2)"
        );
        assert_eq!(
            rewritten("SELECT 1 IN (VALUES (1), ((VALUES (2))))"),
            "SELECT 1 IN (SELECT * FROM (VALUES (1), ((SELECT 2 AS column1))) AS \"?values\")"
        );
        assert_eq!(
            rewritten("SELECT (VALUES ((VALUES (2))) LIMIT 1)"),
            "SELECT (SELECT (SELECT 2 AS column1) AS column1 LIMIT 1)"
        );
        assert_eq!(
            rewritten("SELECT * FROM (VALUES (1)) v"),
            "SELECT * FROM (VALUES (1)) v"
        );
        assert_eq!(
            rewritten("INSERT INTO t VALUES (1)"),
            "INSERT INTO t VALUES (1)"
        );
        assert_eq!(
            rewritten("SELECT count(values) FROM t"),
            "SELECT count(values) FROM t"
        );
    }
}

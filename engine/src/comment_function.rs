//! COMMENT ON FUNCTION and COMMENT ON AGGREGATE: the description `pg_description`,
//! `obj_description(oid, 'pg_proc')` and psql's `\df+` show for a function of `pg_proc`.
//!
//! ```text
//! COMMENT ON { FUNCTION | AGGREGATE } name [ ( [ [ argmode ] [ argname ] argtype [, ...] ] | * ) ]
//!     IS { 'text' | NULL }
//! ```
//!
//! sqlparser reads the name but not the argument list, so the statement is read here from
//! tokens and travels as a `copy::options::Transfer::CommentOnFunction`, as COMMENT ON
//! CONSTRAINT does. The functions are the built-in ones `pg_proc` lists (Basalt has no CREATE
//! FUNCTION), each with PostgreSQL 15's own description until a comment replaces it. As in
//! PostgreSQL: the argument types pick one function exactly (OUT arguments are left out, a
//! name may stand for a type's argument name, `"any"` is the pseudo-type); without a list the
//! name must be unique (42725); an unknown function is 42883, an unknown type 42704, an
//! unknown schema 3F000; COMMENT ON AGGREGATE of a plain function is 42809; and only the
//! owner may comment, which for built-in functions is a superuser (42501). A comment lives
//! in the manifest's `objects.comments` under the function's OID (below every relation id);
//! `IS NULL` or `IS ''` on a function PostgreSQL describes keeps an empty comment there, so
//! the built-in description stays removed.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use basalt_storage::SqlType;

use crate::catalog::procs;
use crate::copy::options::Cursor;
use crate::error::{Error, Result};
use crate::planner::bind::Binder;
use crate::security::Actor;
use crate::{command, storage_error, Session, StatementResult};

/// `COMMENT ON FUNCTION | AGGREGATE name [(args)] IS 'text' | NULL`, read from tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct CommentOnFunction {
    /// AGGREGATE rather than FUNCTION.
    pub aggregate: bool,
    /// The function's name, one or two parts, folded as identifiers.
    pub name: Vec<String>,
    /// The argument types, OUT arguments left out; `None` when no list was written.
    pub args: Option<Vec<ast::DataType>>,
    /// The comment; `None` for `IS NULL`.
    pub comment: Option<String>,
}

/// `pg_type`'s OID of the `"any"` pseudo-type.
const ANY_TYPE_OID: i64 = 2276;

/// True when the tokens (whitespace skipped) start with `COMMENT ON FUNCTION` or `COMMENT ON
/// AGGREGATE`.
pub fn is_comment_on_function(tokens: &[TokenWithSpan]) -> bool {
    let mut c = Cursor::new("", tokens);
    c.eat("comment") && c.eat("on") && (c.eat("function") || c.eat("aggregate"))
}

/// Parses `COMMENT ON { FUNCTION | AGGREGATE } name [(args)] IS { 'text' | NULL }`.
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<CommentOnFunction> {
    let mut c = Cursor::new(sql, tokens);
    c.expect("comment")?;
    c.expect("on")?;
    let aggregate = c.eat("aggregate");
    if !aggregate {
        c.expect("function")?;
    }
    let mut name = vec![c.ident()?];
    while c.eat_token(&Token::Period) {
        if name.len() == 2 {
            return Err(c.error());
        }
        name.push(c.ident()?);
    }
    let args = if c.eat_token(&Token::LParen) {
        Some(arguments(&mut c, aggregate)?)
    } else {
        None
    };
    c.expect("is")?;
    let comment = if c.eat("null") {
        None
    } else {
        Some(c.string()?)
    };
    if !c.done() {
        return Err(c.error());
    }
    Ok(CommentOnFunction {
        aggregate,
        name,
        args,
        comment,
    })
}

/// The argument list after its `(`, through its `)`: each argument's type.
fn arguments(c: &mut Cursor<'_>, aggregate: bool) -> Result<Vec<ast::DataType>> {
    // An aggregate of no arguments is written `(*)`.
    if aggregate && c.eat_token(&Token::Mul) {
        if !c.eat_token(&Token::RParen) {
            return Err(c.error());
        }
        return Ok(Vec::new());
    }
    let mut args = Vec::new();
    if c.eat_token(&Token::RParen) {
        return Ok(args);
    }
    loop {
        // One argument's tokens: up to a comma or the closing parenthesis at depth 0.
        let start = c.at;
        let mut depth = 0usize;
        loop {
            match c.peek() {
                None => return Err(c.error()),
                Some(Token::LParen) => depth += 1,
                Some(Token::RParen) if depth == 0 => break,
                Some(Token::RParen) => depth -= 1,
                Some(Token::Comma) if depth == 0 => break,
                Some(_) => {}
            }
            c.next();
        }
        let (sql, all) = c.parts();
        let tokens: Vec<TokenWithSpan> = all[start..c.at].iter().map(|t| (*t).clone()).collect();
        if let Some(ty) = argument_type(sql, &tokens)? {
            args.push(ty);
        }
        if c.eat_token(&Token::RParen) {
            return Ok(args);
        }
        if !c.eat_token(&Token::Comma) {
            return Err(c.error());
        }
    }
}

/// The type of one argument, `[argmode] [argname] argtype`; `None` for an OUT argument, which
/// does not identify the function.
fn argument_type(sql: &str, tokens: &[TokenWithSpan]) -> Result<Option<ast::DataType>> {
    let mut rest = tokens;
    let mode = |t: &TokenWithSpan| match &t.token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        _ => None,
    };
    if let Some(first) = rest.first() {
        match mode(first).as_deref() {
            Some("OUT") => return Ok(None),
            Some("IN" | "INOUT" | "VARIADIC") => rest = &rest[1..],
            _ => {}
        }
    }
    // The whole as a type, else the first word as the argument's name and the rest as its
    // type (so `double precision` stays a type and `a integer` is one).
    let whole = data_type(sql, rest);
    match (whole, rest.len() > 1) {
        (Ok(ty), _) => Ok(Some(ty)),
        (Err(e), true) => data_type(sql, &rest[1..]).map(Some).map_err(|_| e),
        (Err(e), false) => Err(e),
    }
}

/// `tokens`, all of them, as one data type.
fn data_type(sql: &str, tokens: &[TokenWithSpan]) -> Result<ast::DataType> {
    let mut parser = Parser::new(&PostgreSqlDialect {}).with_tokens_with_locations(tokens.to_vec());
    let ty = parser
        .parse_data_type()
        .map_err(|e| crate::parse::syntax_error(sql, e))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(Error::Syntax {
            message: format!("syntax error at or near \"{}\"", next.token),
            position: crate::planner::bind::span_position(sql, next.span),
        });
    }
    Ok(ty)
}

impl Session {
    /// COMMENT ON FUNCTION / AGGREGATE: sets or removes the description of a `pg_proc`
    /// function.
    pub(crate) fn comment_on_function(
        &mut self,
        stmt: &CommentOnFunction,
        text: &str,
    ) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let (schema, name) = match stmt.name.as_slice() {
            [name] => (None, name.as_str()),
            [schema, name] => (Some(schema.as_str()), name.as_str()),
            _ => {
                return Err(Error::Syntax {
                    message: "improper qualified name (too many dotted names)".into(),
                    position: None,
                })
            }
        };
        if let Some(s) = schema {
            let temp = self.session_info(&manifest).path.temp;
            if !crate::schemas::exists(&manifest, s, &temp) {
                return Err(Error::UndefinedSchema {
                    name: s.to_owned(),
                    position: None,
                });
            }
        }
        let qualified = match schema {
            Some(s) => format!("{s}.{name}"),
            None => name.to_owned(),
        };
        // Every function `pg_proc` lists is in pg_catalog.
        let in_catalog = schema.is_none_or(|s| s == "pg_catalog");
        let candidates: Vec<procs::Proc> = procs::procs()
            .filter(|p| in_catalog && p.name == name)
            .collect();
        let found = match &stmt.args {
            None => match candidates.as_slice() {
                [] => {
                    return Err(Error::UndefinedFunction {
                        message: format!("could not find a function named \"{qualified}\""),
                        position: None,
                    })
                }
                [p] => p,
                _ => {
                    return Err(Error::AmbiguousFunction {
                        message: format!("function name \"{qualified}\" is not unique"),
                        position: None,
                    })
                }
            },
            Some(args) => {
                let binder = Binder::new(&manifest, text, None);
                let mut oids = Vec::with_capacity(args.len());
                let mut names = Vec::with_capacity(args.len());
                for ty in args {
                    let (oid, shown) = argument_oid(&binder, ty)?;
                    oids.push(oid);
                    names.push(shown);
                }
                match candidates.iter().find(|p| p.args == oids.as_slice()) {
                    Some(p) => p,
                    None => {
                        return Err(Error::UndefinedFunction {
                            message: format!(
                                "function {qualified}({}) does not exist",
                                names.join(", ")
                            ),
                            position: None,
                        })
                    }
                }
            }
        };
        if stmt.aggregate && found.kind != 'a' {
            return Err(Error::WrongObjectType {
                message: format!(
                    "function {}({}) is not an aggregate",
                    found.name, found.args_text
                ),
                position: None,
            });
        }
        // Built-in functions belong to the bootstrap superuser.
        let actor = Actor::of(&manifest.security, self.role_oid);
        if !actor.superuser && actor.oid != basalt_storage::security::BOOTSTRAP_ROLE_OID {
            return Err(Error::InsufficientPrivilege {
                message: format!("must be owner of function {}", found.name),
            });
        }
        let object = found.oid.unsigned_abs();
        // PostgreSQL stores an empty comment as none; an empty one kept here hides the
        // built-in description.
        let comment = stmt.comment.clone().filter(|c| !c.is_empty());
        let kept = match comment {
            Some(c) => Some(c),
            None if crate::catalog::built_in_description(object).is_some() => Some(String::new()),
            None => None,
        };
        if manifest.objects.comment(object, None) == kept.as_deref() {
            return Ok(command("COMMENT"));
        }
        self.write_at(&manifest, |t| {
            let mut objects = t.snapshot().objects.clone();
            objects.set_comment(object, None, kept);
            t.set_objects(objects).map_err(storage_error)
        })?;
        Ok(command("COMMENT"))
    }
}

/// A written argument type's `pg_type` OID and its name as PostgreSQL's messages print it
/// (no type modifier).
fn argument_oid(binder: &Binder<'_>, ty: &ast::DataType) -> Result<(i64, String)> {
    if let ast::DataType::Custom(name, modifiers) = ty {
        let any = matches!(name.0.as_slice(), [part]
            if part.as_ident().is_some_and(|i| i.value == "any" && i.quote_style.is_some()));
        if any && modifiers.is_empty() {
            return Ok((ANY_TYPE_OID, "\"any\"".into()));
        }
    }
    let bound: SqlType = binder.bind_type(ty, sqlparser::tokenizer::Span::empty())?;
    let shown = bound.pg_name();
    let shown = match (shown.find('('), shown.find(')')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &shown[..open], &shown[close + 1..])
        }
        _ => shown,
    };
    Ok((crate::catalog::type_oid(bound), shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::tokenizer::Tokenizer;

    fn tokens(sql: &str) -> Vec<TokenWithSpan> {
        Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap()
    }

    fn parsed(sql: &str) -> CommentOnFunction {
        assert!(is_comment_on_function(&tokens(sql)), "{sql}");
        parse(sql, &tokens(sql)).unwrap()
    }

    // Input: argument lists with modes, names, multi-word types, type modifiers and `"any"`,
    // an aggregate's `(*)`, no list, and IS NULL.
    #[test]
    fn comment_on_function_parses() {
        let c = parsed(
            "COMMENT ON FUNCTION pg_catalog.Trunc(IN x numeric(10, 2), OUT r numeric, double precision) IS 'cut'",
        );
        assert_eq!(c.name, ["pg_catalog", "trunc"]);
        assert!(!c.aggregate);
        let args: Vec<String> = c.args.unwrap().iter().map(|t| t.to_string()).collect();
        assert_eq!(args, ["NUMERIC(10,2)", "DOUBLE PRECISION"]);
        assert_eq!(c.comment.as_deref(), Some("cut"));
        let c = parsed("comment on function format(text, variadic \"any\") is null");
        assert_eq!(c.args.map(|a| a.len()), Some(2));
        assert_eq!(c.comment, None);
        let c = parsed("COMMENT ON AGGREGATE count(*) IS 'rows'");
        assert!(c.aggregate);
        assert_eq!(c.args, Some(Vec::new()));
        let c = parsed("COMMENT ON FUNCTION pi IS ''");
        assert_eq!(c.args, None);
        assert_eq!(c.comment.as_deref(), Some(""));
        assert!(!is_comment_on_function(&tokens(
            "COMMENT ON TABLE t IS 'x'"
        )));
        for bad in [
            "COMMENT ON FUNCTION count(*) IS 'x'",
            "COMMENT ON FUNCTION abs(integer IS 'x'",
            "COMMENT ON FUNCTION abs(integer) IS 5",
            "COMMENT ON FUNCTION a.b.c() IS 'x'",
        ] {
            assert!(
                matches!(parse(bad, &tokens(bad)), Err(Error::Syntax { .. })),
                "{bad}"
            );
        }
    }
}

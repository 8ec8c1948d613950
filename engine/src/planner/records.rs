//! Record (composite) values and field access: `(expr).field`, `(alias.col).field`, and
//! `information_schema._pg_expandarray(anyarray)`, the set-returning function of records
//! `(x anyelement, n int)` that JDBC drivers use to list index and key columns.
//!
//! Basalt has no record type in its plans. A record is known to the binder only: a
//! [`Record`] is the list of its fields' expressions, and field access picks one of them as
//! it is bound. Where a record itself is a value (a select-list item), it is its text as
//! PostgreSQL prints a record, `(10,1)`, built from its fields. A derived table or WITH query
//! whose select list has a record also carries the record's fields as hidden columns
//! (named by [`field_column_name`]), so `(alias.col).field` outside reads the field's value.
//!
//! `_pg_expandarray(a)` is `unnest(a)` and `generate_series(1, cardinality(a))` in lockstep:
//! in FROM its columns are `x` and `n`; in a select list its two calls join the list's other
//! set-returning calls, and the record is built from their columns. `pg_get_keywords()` is
//! a record in a select list the same way, from its five calls.

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, AggContext, Binder, Scope, ScopeColumn};
use crate::planner::expr::Expr;
use crate::planner::plan::{KeywordColumn, SetCall, SetFunc};
use crate::planner::set_functions::SELECT_MARK;
use crate::planner::subquery::HIDDEN_PREFIX;
use crate::types::{display_name, Datum};

/// The field names of `_pg_expandarray`'s records.
const EXPAND_ARRAY_FIELDS: [&str; 2] = ["x", "n"];

/// A record value while it is bound: its fields' names and expressions.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub names: Vec<String>,
    pub fields: Vec<Expr>,
    /// The field that is NULL only where the whole record is (a set-returning call's
    /// padding row), if any.
    pub present: Option<usize>,
}

/// True for `information_schema._pg_expandarray`.
pub(crate) fn is_expand_array(name: &ast::ObjectName) -> bool {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(normalize_ident).unwrap_or_default())
        .collect();
    matches!(parts.as_slice(), [s, n] if s == "information_schema" && n == "_pg_expandarray")
}

/// True for `pg_get_keywords` (bare or in `pg_catalog`).
fn is_keywords(name: &ast::ObjectName) -> bool {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(normalize_ident).unwrap_or_default())
        .collect();
    match parts.as_slice() {
        [n] => n == "pg_get_keywords",
        [s, n] => s == "pg_catalog" && n == "pg_get_keywords",
        _ => false,
    }
}

/// True for the set-returning functions whose value in a select list is a record:
/// `_pg_expandarray` and `pg_get_keywords`.
pub(crate) fn is_record_function(name: &ast::ObjectName) -> bool {
    is_expand_array(name) || is_keywords(name)
}

/// The hidden column that carries field `field` of the record column `column` out of a
/// derived table.
pub(crate) fn field_column_name(column: &str, field: &str) -> String {
    format!("{HIDDEN_PREFIX}record:{column}.{field}")
}

/// The record column and field a hidden field column carries, if it is one.
pub(crate) fn field_column_parts(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(HIDDEN_PREFIX)?.strip_prefix("record:")?;
    rest.rsplit_once('.')
}

impl Binder<'_> {
    /// Binds `e` as a record if it is one: a `_pg_expandarray` or `pg_get_keywords` call in
    /// a select list, or a column of a derived table that carries a record's fields.
    pub(crate) fn bind_record(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Option<Record>> {
        match e {
            ast::Expr::Nested(inner) => self.bind_record(inner, scope, agg),
            ast::Expr::Function(f) if is_record_function(&f.name) && f.over.is_none() => {
                self.bind_record_call(f, scope, agg).map(Some)
            }
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => {
                let Ok(Expr::Column { index, .. }) = self.bind_expr(e, scope, agg) else {
                    return Ok(None);
                };
                let Some(c) = scope.columns.get(index) else {
                    return Ok(None);
                };
                let mut names = Vec::new();
                let mut fields = Vec::new();
                for (i, f) in scope.columns.iter().enumerate() {
                    if f.relation != c.relation {
                        continue;
                    }
                    if let Some((col, field)) = field_column_parts(&f.name) {
                        if col == c.name {
                            names.push(field.to_string());
                            fields.push(Expr::Column { index: i, ty: f.ty });
                        }
                    }
                }
                if fields.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Record {
                    names,
                    fields,
                    present: None,
                }))
            }
            _ => Ok(None),
        }
    }

    /// `(root).field...`: the field of a record, or 42809 on a value that is not one.
    pub(crate) fn bind_field_access(
        &mut self,
        root: &ast::Expr,
        field: &ast::Ident,
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Expr> {
        let name = normalize_ident(field);
        let position = self.position(root.span());
        match self.bind_record(root, scope, agg)? {
            Some(r) => match r.names.iter().position(|n| *n == name) {
                Some(i) => Ok(r.fields[i].clone()),
                None => Err(Error::UndefinedColumnMessage {
                    message: format!("could not identify column \"{name}\" in record data type"),
                    position,
                }),
            },
            None => {
                let v = self.bind_expr(root, scope, agg)?;
                let ty = if matches!(v, Expr::Literal { unknown: true, .. }) {
                    "unknown".to_string()
                } else {
                    display_name(v.ty())
                };
                Err(Error::WrongObjectType {
                    message: format!(
                        "column notation .{name} applied to type {ty}, which is not a composite type"
                    ),
                    position,
                })
            }
        }
    }

    /// A select-list `_pg_expandarray(a)` or `pg_get_keywords()`: its calls join the select
    /// list's set-returning calls, and its record is their columns.
    fn bind_record_call(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Record> {
        let args = match &f.args {
            ast::FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                    other => Err(Error::Unsupported {
                        message: format!("function argument not supported: {other}"),
                    }),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let keywords = is_keywords(&f.name);
        let mut calls = self.select_set_calls_for(agg)?;
        let bound = (|| {
            if keywords {
                let args: Vec<ast::Expr> = args.iter().map(|a| (*a).clone()).collect();
                return self.bind_set_call(
                    SetFunc::Keywords(KeywordColumn::Word),
                    &args,
                    scope,
                    f.span(),
                    "set-returning function arguments",
                );
            }
            let mut bound = Vec::with_capacity(args.len());
            for a in &args {
                bound.push(self.bind_expr(
                    a,
                    scope,
                    AggContext::Forbidden("set-returning function arguments"),
                )?);
            }
            self.expand_array_calls(bound, f.span())
        })();
        let bound = match bound {
            Ok(b) => b,
            Err(e) => {
                self.select_set_calls = Some(calls);
                return Err(e);
            }
        };
        let fields = bound
            .iter()
            .enumerate()
            .map(|(k, c)| Expr::Column {
                index: SELECT_MARK + calls.len() + k,
                ty: c.ty,
            })
            .collect();
        let (names, present): (Vec<String>, usize) = if keywords {
            let names = bound.iter().map(|c| c.func.column_name().into()).collect();
            // The keyword is never NULL but in a padding row.
            (names, 0)
        } else {
            let names = EXPAND_ARRAY_FIELDS.iter().map(|s| s.to_string()).collect();
            (names, 1)
        };
        calls.extend(bound);
        self.select_set_calls = Some(calls);
        Ok(Record {
            names,
            fields,
            present: Some(present),
        })
    }

    /// `_pg_expandarray`'s two calls over its bound arguments: the array's elements and
    /// their positions.
    pub(crate) fn expand_array_calls(
        &mut self,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<Vec<SetCall>> {
        let position = self.position(span);
        let arr = match <[Expr; 1]>::try_from(args) {
            Ok([Expr::Literal { unknown: true, .. }]) => {
                return Err(Error::DatatypeMismatch {
                    message: "could not determine polymorphic type because input has type unknown"
                        .into(),
                    position: None,
                })
            }
            Ok([a]) if matches!(a.ty(), SqlType::Array { .. }) => a,
            Ok([a]) => {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function information_schema._pg_expandarray({}) does not exist",
                        display_name(a.ty())
                    ),
                    position,
                })
            }
            Err(args) => {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function information_schema._pg_expandarray({}) does not exist",
                        args.iter()
                            .map(|a| display_name(a.ty()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    position,
                })
            }
        };
        let SqlType::Array { element } = arr.ty() else {
            return Err(Error::Internal("_pg_expandarray of a non-array".into()));
        };
        let count = self.scalar_function("cardinality", vec![arr.clone()], position, span)?;
        Ok(vec![
            SetCall {
                func: SetFunc::Unnest,
                args: vec![arr],
                ty: element.sql_type(),
            },
            SetCall {
                func: SetFunc::GenerateSeries,
                args: vec![Expr::literal(Datum::Int(1), SqlType::Integer), count],
                ty: SqlType::Integer,
            },
        ])
    }

    /// A record as a value: its text as PostgreSQL prints a record, `(f1,f2)`, each field
    /// in its text form, empty for NULL, and double-quoted (with `"` and `\` doubled) when
    /// it is empty or holds a quote, backslash, parenthesis, comma or white space.
    pub(crate) fn record_text(&mut self, r: &Record) -> Result<Expr> {
        let mut parts = Vec::with_capacity(r.fields.len());
        for (i, f) in r.fields.iter().enumerate() {
            let v = format!("v{i}");
            parts.push(if f.ty() == SqlType::Boolean {
                format!("CASE WHEN {v} IS NULL THEN '' WHEN {v} THEN 't' ELSE 'f' END")
            } else {
                format!(
                    "CASE WHEN {v} IS NULL THEN '' \
                     WHEN CAST({v} AS TEXT) = '' OR CAST({v} AS TEXT) ~ '[\"\\\\(),\\s]' \
                     THEN '\"' || replace(replace(CAST({v} AS TEXT), '\\', '\\\\'), '\"', '\"\"') || '\"' \
                     ELSE CAST({v} AS TEXT) END"
                )
            });
        }
        let mut text = format!("'(' || {} || ')'", parts.join(" || ',' || "));
        if let Some(p) = r.present {
            text = format!("CASE WHEN v{p} IS NULL THEN NULL ELSE {text} END");
        }
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let template = sqlparser::parser::Parser::new(&dialect)
            .try_with_sql(&text)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| Error::Internal(format!("record text template: {e}")))?;
        let scope = Scope {
            columns: r
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| ScopeColumn {
                    relation: None,
                    name: format!("v{i}"),
                    ty: f.ty(),
                    origin: None,
                })
                .collect(),
            ..Default::default()
        };
        // Bound against the fields as columns 0.., then the columns become the fields.
        let saved = std::mem::take(&mut self.outer);
        let bound = self.bind_expr(&template, &scope, AggContext::Forbidden("record"));
        self.outer = saved;
        let bound = bound?;
        Ok(bound.transform(&mut |x| match x {
            Expr::Column { index, .. } => r.fields.get(*index).cloned(),
            _ => None,
        }))
    }
}

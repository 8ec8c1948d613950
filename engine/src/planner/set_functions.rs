//! Set-returning functions: `generate_series`, `unnest`, `generate_subscripts`,
//! `pg_partition_ancestors` (no rows: Basalt has no partitioned tables) and `pg_get_keywords`
//! (five columns, one call each) as FROM items (with WITH
//! ORDINALITY, column aliases, LATERAL and implicit lateral references to earlier FROM items
//! and to an enclosing query's columns) and in the select list.
//!
//! A call binds to a [`SetCall`]; the calls of one FROM item or of one select list run in
//! lockstep in a `Plan::SetFunctions`. A FROM item whose arguments read no earlier FROM item
//! is that node over one empty row, joined like any relation; one whose arguments do is
//! applied on top of the join of the other FROM items (`select::bind_from`), so it runs once
//! per batch of their rows, never per row.

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, AggContext, Binder, Scope, ScopeColumn};
use crate::planner::expr::Expr;
use crate::planner::plan::{KeywordColumn, Plan, SetCall, SetFunc};
use crate::types::{display_name, Datum};

/// Column indices at or past this stand for an enclosing query's columns (the decorrelation
/// domain) while a FROM function's arguments are bound, before the domain's place is known.
pub(crate) const DOMAIN_BASE: usize = usize::MAX / 4;

/// Column indices at or past this stand for the select list's set-returning calls until the
/// `Plan::SetFunctions` that computes them is placed.
pub(crate) const SELECT_MARK: usize = usize::MAX / 8;

/// True for the names of the set-returning functions Basalt has.
pub fn is_set_function(name: &ast::ObjectName) -> bool {
    set_function_name(name).is_some()
}

fn set_function_name(name: &ast::ObjectName) -> Option<SetFunc> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(normalize_ident)
                .unwrap_or_else(|| p.to_string())
        })
        .collect();
    let last = match parts.as_slice() {
        [n] => n,
        [s, n] if s == "pg_catalog" => n,
        _ => return None,
    };
    match last.as_str() {
        "generate_series" => Some(SetFunc::GenerateSeries),
        "unnest" => Some(SetFunc::Unnest),
        "generate_subscripts" => Some(SetFunc::GenerateSubscripts),
        "pg_partition_ancestors" => Some(SetFunc::PartitionAncestors),
        "pg_get_keywords" => Some(SetFunc::Keywords(KeywordColumn::Word)),
        _ => None,
    }
}

/// A function call written in FROM: the set-returning function (`None` for
/// `_pg_expandarray`) and its arguments.
type FromCall = (Option<SetFunc>, Vec<ast::Expr>);

/// A FROM item that is a function call, bound.
pub(crate) struct FunctionItem {
    pub plan: Plan,
    pub scope: Scope,
    /// Set when the arguments read earlier FROM items or the enclosing query: the calls (over
    /// the FROM clause's columns, and [`DOMAIN_BASE`] + k for the domain's k-th column) to
    /// apply on top of the join of the items they read. `plan` is then unused.
    pub lateral: Option<(Vec<SetCall>, bool)>,
}

impl Binder<'_> {
    /// Binds a FROM item that calls a function, or returns `None` for any other item.
    /// `prefix` is the scope of the FROM items before it; `correlating` is set while a
    /// decorrelated subquery is bound against its domain.
    pub(crate) fn bind_function_item(
        &mut self,
        t: &ast::TableFactor,
        prefix: &Scope,
        correlating: bool,
    ) -> Result<Option<FunctionItem>> {
        let (calls_ast, alias, ordinality, span): (Vec<FromCall>, _, bool, Span) = match t {
            ast::TableFactor::Table {
                name,
                alias,
                args: Some(args),
                with_ordinality,
                ..
            } => {
                let func = match set_function_name(name) {
                    Some(f) => Some(f),
                    None if crate::planner::records::is_expand_array(name) => None,
                    None => {
                        return Err(self.undefined_function(
                            name,
                            &args.args,
                            prefix,
                            name.span(),
                        )?)
                    }
                };
                let exprs = plain_args(&args.args)?;
                (vec![(func, exprs)], alias, *with_ordinality, name.span())
            }
            ast::TableFactor::Function {
                name,
                args,
                with_ordinality,
                alias,
                ..
            } => {
                let func = match set_function_name(name) {
                    Some(f) => Some(f),
                    None if crate::planner::records::is_expand_array(name) => None,
                    None => {
                        return Err(self.undefined_function(name, args, prefix, name.span())?)
                    }
                };
                (
                    vec![(func, plain_args(args)?)],
                    alias,
                    *with_ordinality,
                    name.span(),
                )
            }
            ast::TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_ordinality,
                ..
            } => {
                if *with_offset {
                    return Err(Error::Unsupported {
                        message: "UNNEST ... WITH OFFSET is not supported".into(),
                    });
                }
                (
                    vec![(Some(SetFunc::Unnest), array_exprs.clone())],
                    alias,
                    *with_ordinality,
                    t.span(),
                )
            }
            _ => return Ok(None),
        };
        // `None` stands for `_pg_expandarray`, whose two calls give the columns x and n.
        let mut calls = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let saved = self.outer.last().and_then(|f| f.domain_offset);
        if correlating {
            if let Some(frame) = self.outer.last_mut() {
                frame.domain_offset = Some(DOMAIN_BASE);
            }
        }
        let bound = (|| {
            for (func, args) in &calls_ast {
                match func {
                    Some(func) => {
                        let c =
                            self.bind_set_call(*func, args, prefix, span, "functions in FROM")?;
                        names.extend(c.iter().map(|c| c.func.column_name()));
                        calls.extend(c);
                    }
                    None => {
                        let mut bound = Vec::with_capacity(args.len());
                        for a in args {
                            bound.push(self.bind_expr(
                                a,
                                prefix,
                                AggContext::Forbidden("functions in FROM"),
                            )?);
                        }
                        calls.extend(self.expand_array_calls(bound, span)?);
                        names.extend(["x", "n"]);
                    }
                }
            }
            Ok::<(), Error>(())
        })();
        if correlating {
            if let Some(frame) = self.outer.last_mut() {
                frame.domain_offset = saved;
            }
        }
        bound?;
        self.no_subqueries_here("functions in FROM")?;
        let func_name = match calls_ast.first() {
            Some((Some(f), _)) => f.name(),
            Some((None, _)) => "_pg_expandarray",
            None => "unnest",
        };
        let relation = alias
            .as_ref()
            .map(|a| normalize_ident(&a.name))
            .unwrap_or_else(|| func_name.to_string());
        let renames: Vec<String> = alias
            .as_ref()
            .map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect())
            .unwrap_or_default();
        let width = calls.len() + usize::from(ordinality);
        if renames.len() > width {
            return Err(Error::InvalidColumnReference {
                message: format!(
                    "table \"{relation}\" has {width} columns available but {} columns specified",
                    renames.len()
                ),
                position: self.position(span),
            });
        }
        let mut columns = Vec::with_capacity(width);
        for (i, c) in calls.iter().enumerate() {
            // A lone function's column takes the alias's name, as in PostgreSQL.
            let default = match (&alias, calls.len()) {
                (Some(a), 1) => normalize_ident(&a.name),
                _ => names.get(i).unwrap_or(&c.func.name()).to_string(),
            };
            columns.push(ScopeColumn {
                relation: Some(relation.clone()),
                name: renames.get(i).cloned().unwrap_or(default),
                ty: c.ty,
                origin: None,
            });
        }
        if ordinality {
            columns.push(ScopeColumn {
                relation: Some(relation.clone()),
                name: renames
                    .get(calls.len())
                    .cloned()
                    .unwrap_or_else(|| "ordinality".into()),
                ty: SqlType::BigInt,
                origin: None,
            });
        }
        let scope = Scope {
            columns,
            ..Default::default()
        };
        let lateral = calls
            .iter()
            .any(|c| c.args.iter().any(|a| !a.columns().is_empty()));
        if lateral {
            return Ok(Some(FunctionItem {
                plan: Plan::Values {
                    rows: vec![vec![]],
                    types: vec![],
                },
                scope,
                lateral: Some((calls, ordinality)),
            }));
        }
        Ok(Some(FunctionItem {
            plan: Plan::SetFunctions {
                input: Box::new(Plan::Values {
                    rows: vec![vec![]],
                    types: vec![],
                }),
                calls,
                ordinality,
            },
            scope,
            lateral: None,
        }))
    }

    /// A set-returning function called in an expression: allowed at the top of a select list
    /// (outside aggregates), where it stands for the column its call will fill.
    pub(crate) fn bind_select_set_call(
        &mut self,
        f: &ast::Function,
        args: &[ast::Expr],
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Expr> {
        let position = self.position(f.span());
        let func = set_function_name(&f.name)
            .ok_or_else(|| Error::Internal("not a set-returning function".into()))?;
        let mut calls = self.select_set_calls_for(agg)?;
        // The arguments are bound with no collector: a nested call is refused.
        let bound = self.bind_set_call(
            func,
            args,
            scope,
            f.span(),
            "set-returning function arguments",
        );
        let bound = match bound {
            Ok(b) => b,
            Err(e) => {
                self.select_set_calls = Some(calls);
                return Err(e);
            }
        };
        let [call] = <[SetCall; 1]>::try_from(bound).map_err(|b| Error::UndefinedFunction {
            message: format!(
                "function {}({}) does not exist",
                func.name(),
                b.iter()
                    .map(|c| display_name(c.args[0].ty()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            position,
        })?;
        let e = Expr::Column {
            index: SELECT_MARK + calls.len(),
            ty: call.ty,
        };
        calls.push(call);
        self.select_set_calls = Some(calls);
        Ok(e)
    }

    /// Takes the select list's set-returning calls so far, for a call found in a context
    /// `agg`; an error where such calls are not allowed. The caller puts them back.
    pub(crate) fn select_set_calls_for(&mut self, agg: AggContext) -> Result<Vec<SetCall>> {
        let clause = match agg {
            AggContext::Forbidden(clause) => Some(clause),
            AggContext::Nested => Some("aggregate function calls"),
            AggContext::Allowed => None,
        };
        let Some(calls) = self.select_set_calls.take() else {
            return Err(match clause {
                Some(c) if c.starts_with("aggregate") => Error::Unsupported {
                    message: "aggregate function calls cannot contain set-returning function calls"
                        .into(),
                },
                Some(c) => Error::Unsupported {
                    message: format!("set-returning functions are not allowed in {c}"),
                },
                None => Error::Unsupported {
                    message: "set-returning functions are not allowed here".into(),
                },
            });
        };
        if clause == Some("aggregate function calls") {
            self.select_set_calls = Some(calls);
            return Err(Error::Unsupported {
                message: "aggregate function calls cannot contain set-returning function calls"
                    .into(),
            });
        }
        Ok(calls)
    }

    /// The error for a FROM function Basalt does not have: PostgreSQL's "function f(types)
    /// does not exist" (42883).
    fn undefined_function(
        &mut self,
        name: &ast::ObjectName,
        args: &[ast::FunctionArg],
        scope: &Scope,
        span: Span,
    ) -> Result<Error> {
        let exprs = plain_args(args)?;
        let mut types = Vec::new();
        for e in &exprs {
            types.push(arg_type_name(&self.bind_expr(
                e,
                scope,
                AggContext::Forbidden("functions in FROM"),
            )?));
        }
        Ok(Error::UndefinedFunction {
            message: format!("function {name}({}) does not exist", types.join(", ")),
            position: self.position(span),
        })
    }

    /// Binds one set-returning call; `unnest` of several arrays is one call per array.
    pub(crate) fn bind_set_call(
        &mut self,
        func: SetFunc,
        args: &[ast::Expr],
        scope: &Scope,
        span: Span,
        clause: &'static str,
    ) -> Result<Vec<SetCall>> {
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.bind_expr(a, scope, AggContext::Forbidden(clause))?);
        }
        let no_such = |b: &[Expr], binder: &Binder<'_>| Error::UndefinedFunction {
            message: format!(
                "function {}({}) does not exist",
                func.name(),
                b.iter().map(arg_type_name).collect::<Vec<_>>().join(", ")
            ),
            position: binder.position(span),
        };
        match func {
            SetFunc::Unnest => {
                if bound.is_empty() {
                    return Err(no_such(&bound, self));
                }
                let mut calls = Vec::with_capacity(bound.len());
                for b in &bound {
                    match b.ty() {
                        SqlType::Array { element } if !is_unknown(b) => calls.push(SetCall {
                            func,
                            args: vec![b.clone()],
                            ty: element.sql_type(),
                        }),
                        _ => return Err(no_such(&bound, self)),
                    }
                }
                Ok(calls)
            }
            SetFunc::GenerateSeries => {
                if !(2..=3).contains(&bound.len()) {
                    return Err(no_such(&bound, self));
                }
                let temporal = |t: SqlType| {
                    matches!(t, SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz)
                };
                if bound[..2]
                    .iter()
                    .any(|b| !is_unknown(b) && temporal(b.ty()))
                {
                    // generate_series(start, stop, interval): TIMESTAMP when both ends are
                    // timestamps, TIMESTAMPTZ otherwise (dates resolve to it, as in
                    // PostgreSQL).
                    let [start, stop, step] =
                        <[Expr; 3]>::try_from(bound.clone()).map_err(|_| no_such(&bound, self))?;
                    let ends = [&start, &stop];
                    let ty = if ends
                        .iter()
                        .all(|e| is_unknown(e) || e.ty() == SqlType::Timestamp)
                    {
                        SqlType::Timestamp
                    } else {
                        SqlType::Timestamptz
                    };
                    let step = self.coerce_unknown(step, SqlType::Interval)?;
                    if ends.iter().any(|e| !is_unknown(e) && !temporal(e.ty()))
                        || step.ty() != SqlType::Interval
                    {
                        return Err(no_such(&bound, self));
                    }
                    let start = self.coerce_unknown(start, ty)?;
                    let stop = self.coerce_unknown(stop, ty)?;
                    let mut args = vec![
                        self.cast(start, ty, false, span)?,
                        self.cast(stop, ty, false, span)?,
                        step,
                    ];
                    // A TIMESTAMPTZ series steps in the session's zone.
                    let zone = self.settings.and_then(|s| s.get("TimeZone"));
                    if let (SqlType::Timestamptz, Some(zone)) = (ty, zone) {
                        if !self.zone().is_utc() {
                            args.push(Expr::literal(Datum::Text(zone.to_owned()), SqlType::Text));
                        }
                    }
                    return Ok(vec![SetCall { func, args, ty }]);
                }
                let mut ty: Option<SqlType> = None;
                for b in &bound {
                    if is_unknown(b) {
                        continue;
                    }
                    let t = match b.ty() {
                        SqlType::SmallInt | SqlType::Integer => SqlType::Integer,
                        SqlType::BigInt => SqlType::BigInt,
                        d @ SqlType::Decimal { .. } => d,
                        _ => return Err(no_such(&bound, self)),
                    };
                    ty = Some(match ty {
                        None => t,
                        Some(prev) => crate::types::common_type(prev, t)
                            .ok_or_else(|| no_such(&bound, self))?,
                    });
                }
                let ty = ty.unwrap_or(SqlType::Integer);
                let args = bound
                    .into_iter()
                    .map(|b| self.cast(b, ty, false, span))
                    .collect::<Result<Vec<_>>>()?;
                Ok(vec![SetCall { func, args, ty }])
            }
            SetFunc::GenerateSubscripts => {
                if !(2..=3).contains(&bound.len())
                    || is_unknown(&bound[0])
                    || !matches!(bound[0].ty(), SqlType::Array { .. })
                {
                    return Err(no_such(&bound, self));
                }
                let mut args = vec![bound[0].clone()];
                let dim = self.coerce_unknown(bound[1].clone(), SqlType::Integer)?;
                if !matches!(dim.ty(), SqlType::SmallInt | SqlType::Integer) {
                    return Err(no_such(&bound, self));
                }
                args.push(self.cast(dim, SqlType::Integer, false, span)?);
                let reverse = match bound.get(2) {
                    Some(r) => self.coerce_unknown(r.clone(), SqlType::Boolean)?,
                    None => Expr::literal(crate::types::Datum::Boolean(false), SqlType::Boolean),
                };
                if reverse.ty() != SqlType::Boolean {
                    return Err(no_such(&bound, self));
                }
                args.push(reverse);
                // The first subscript: 0 for the vectors (int2vector, oidvector), else 1.
                let vector =
                    matches!(bound[0].ty(), SqlType::Array { element } if element.is_vector());
                let first = i64::from(!vector);
                args.push(Expr::literal(
                    crate::types::Datum::Int(first),
                    SqlType::Integer,
                ));
                Ok(vec![SetCall {
                    func,
                    args,
                    ty: SqlType::Integer,
                }])
            }
            // No arguments; one call per column.
            SetFunc::Keywords(_) => {
                if !bound.is_empty() {
                    return Err(no_such(&bound, self));
                }
                Ok(KeywordColumn::ALL
                    .iter()
                    .map(|c| SetCall {
                        func: SetFunc::Keywords(*c),
                        args: Vec::new(),
                        ty: c.sql_type(),
                    })
                    .collect())
            }
            SetFunc::PartitionAncestors => {
                let [arg] = bound.as_slice() else {
                    return Err(no_such(&bound, self));
                };
                let arg = self.coerce_unknown(arg.clone(), SqlType::Integer)?;
                if !matches!(
                    arg.ty(),
                    SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
                ) {
                    return Err(no_such(&bound, self));
                }
                let arg = self.cast(arg, SqlType::Integer, false, span)?;
                Ok(vec![SetCall {
                    func,
                    args: vec![arg],
                    ty: SqlType::Integer,
                }])
            }
        }
    }
}

fn is_unknown(e: &Expr) -> bool {
    matches!(e, Expr::Literal { unknown: true, .. })
}

fn arg_type_name(e: &Expr) -> String {
    if is_unknown(e) {
        "unknown".into()
    } else {
        display_name(e.ty())
    }
}

/// A function's arguments as expressions (named arguments and `*` are refused).
fn plain_args(args: &[ast::FunctionArg]) -> Result<Vec<ast::Expr>> {
    args.iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e.clone()),
            other => Err(Error::Unsupported {
                message: format!("function argument not supported: {other}"),
            }),
        })
        .collect()
}

/// Replaces the domain stand-ins ([`DOMAIN_BASE`] + k) in a lateral call's arguments by the
/// domain's columns at `offset`.
pub(crate) fn place_domain(calls: &mut [SetCall], offset: usize) {
    for c in calls {
        c.args = c
            .args
            .iter()
            .map(|a| {
                a.map_columns(&|i| {
                    if i >= DOMAIN_BASE {
                        i - DOMAIN_BASE + offset
                    } else {
                        i
                    }
                })
            })
            .collect();
    }
}

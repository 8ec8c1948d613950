//! The binder: resolves names and types in a parsed statement and produces a plan.
//!
//! Expressions are bound here; queries (FROM, joins, grouping, ordering) in `select.rs`;
//! DDL and INSERT in `statement.rs`.

use basalt_storage::{Manifest, SqlType};
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::kernels::cast::{cast_datum, datum_type};
use crate::kernels::datetime::DateField;
use crate::kernels::string;
use crate::kernels::zones::{parse_timestamptz_in, Zone, ZoneFunc};
use crate::planner::expr::{AggCall, AggFunc, BinaryOp, Expr, RoundMode, ScalarFunc};
use crate::planner::subquery::{Domain, OuterFrame, PendingSubquery, SubqueryKind};
use crate::types::datum::parse_decimal_text;
use crate::types::{
    self, common_type, display_name, explicit_cast, implicit_cast, numeric, numeric_rank, Datum,
};

/// Highest parameter number, `$65535`, as PostgreSQL's protocol allows.
pub const PARAMS_MAX: usize = 65535;

/// Default schema for unqualified names.
pub const DEFAULT_SCHEMA: &str = "public";

/// One column visible to expressions: its relation's name or alias, its name and type.
#[derive(Clone, Debug)]
pub struct ScopeColumn {
    pub relation: Option<String>,
    pub name: String,
    pub ty: SqlType,
    /// The table column it reads unchanged, if it is one (for RowDescription).
    pub origin: Option<crate::ColumnOrigin>,
}

/// The columns an expression may reference, in the order of its input's columns.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    /// Columns only a qualified name reaches, which `*` leaves out: the two sides' own
    /// columns of a JOIN USING or NATURAL JOIN, whose merged column stands for them.
    pub qualified_only: Vec<usize>,
    /// The merged columns of JOIN USING and NATURAL JOIN, latest join first.
    pub merged: Vec<MergedColumn>,
}

/// A column that JOIN USING or NATURAL JOIN merged from its two sides. It has no position in
/// the input: a reference to it is its expression over the sides' columns (the left side's
/// value, the right side's for RIGHT JOIN, their COALESCE for FULL JOIN), so a condition on
/// it can still reach the scans below an inner join.
#[derive(Clone, Debug)]
pub struct MergedColumn {
    /// The alias of `USING (...) AS alias`, the only qualifier that reaches it.
    pub relation: Option<String>,
    pub name: String,
    pub expr: Expr,
    /// Whether an unqualified name and `*` reach it: a later join that merges it again
    /// hides it, as it hides a table's own column.
    pub visible: bool,
    /// `*` lists it just before the column at this index, the first of its join's left side.
    pub star_at: usize,
}

/// One item of `*` over a scope: an input column or a merged column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StarItem {
    Column(usize),
    Merged(usize),
}

impl Scope {
    /// The table column `e` shows unchanged, if it is a plain reference to one.
    pub fn origin_of(&self, e: &Expr) -> Option<crate::ColumnOrigin> {
        match e {
            Expr::Column { index, .. } => self.columns.get(*index)?.origin,
            _ => None,
        }
    }

    pub fn concat(&self, other: &Scope) -> Scope {
        let width = self.columns.len();
        let mut out = self.clone();
        out.columns.extend(other.columns.iter().cloned());
        out.qualified_only
            .extend(other.qualified_only.iter().map(|i| i + width));
        out.merged.extend(other.merged.iter().map(|m| MergedColumn {
            expr: m.expr.map_columns(&|i| i + width),
            star_at: m.star_at + width,
            ..m.clone()
        }));
        out
    }

    /// The scope of the columns `lo..hi` alone, renumbered from 0, with the merged columns
    /// that read only them.
    pub fn slice(&self, lo: usize, hi: usize) -> Scope {
        Scope {
            columns: self.columns[lo..hi].to_vec(),
            qualified_only: self
                .qualified_only
                .iter()
                .filter(|i| (lo..hi).contains(*i))
                .map(|i| i - lo)
                .collect(),
            merged: self
                .merged
                .iter()
                .filter(|m| {
                    (lo..hi).contains(&m.star_at)
                        && m.expr.columns().iter().all(|i| (lo..hi).contains(i))
                })
                .map(|m| MergedColumn {
                    expr: m.expr.map_columns(&|i| i - lo),
                    star_at: m.star_at - lo,
                    ..m.clone()
                })
                .collect(),
        }
    }

    /// What `*` lists over the columns `lo..hi`, in order: each join's merged columns before
    /// its left side's columns; hidden and qualified-only columns left out.
    pub fn star_items(&self, lo: usize, hi: usize) -> Vec<StarItem> {
        let mut out = Vec::new();
        for i in lo..hi {
            for (k, m) in self.merged.iter().enumerate() {
                if m.visible && m.star_at == i {
                    out.push(StarItem::Merged(k));
                }
            }
            let c = &self.columns[i];
            if !c.name.starts_with(crate::planner::subquery::HIDDEN_PREFIX)
                && !self.qualified_only.contains(&i)
            {
                out.push(StarItem::Column(i));
            }
        }
        out
    }

    /// The name, type and expression of a star item.
    pub fn star_item(&self, item: StarItem) -> (String, Expr) {
        match item {
            StarItem::Column(i) => {
                let c = &self.columns[i];
                (c.name.clone(), Expr::Column { index: i, ty: c.ty })
            }
            StarItem::Merged(k) => {
                let m = &self.merged[k];
                (m.name.clone(), m.expr.clone())
            }
        }
    }

    /// Whether an unqualified `name` names a column here.
    pub fn has_name(&self, name: &str) -> bool {
        self.columns
            .iter()
            .enumerate()
            .any(|(i, c)| c.name == name && !self.qualified_only.contains(&i))
            || self.merged.iter().any(|m| m.visible && m.name == name)
    }
}

/// Whether aggregates may appear where an expression is bound, and why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggContext {
    Allowed,
    /// Not allowed; the clause named in the error message.
    Forbidden(&'static str),
    /// Inside an aggregate's argument.
    Nested,
}

impl AggContext {
    /// Whether an aggregate call may stand here: 42803 at `position` where it may not.
    pub(crate) fn check(self, position: Option<u32>) -> Result<()> {
        match self {
            AggContext::Allowed => Ok(()),
            AggContext::Forbidden(clause) => Err(Error::Grouping {
                message: format!("aggregate functions are not allowed in {clause}"),
                position,
            }),
            AggContext::Nested => Err(Error::Grouping {
                message: "aggregate function calls cannot be nested".into(),
                position,
            }),
        }
    }
}

/// The comparison operator `op` names (`=`, `<>`, `<`, `<=`, `>`, `>=`), if it is one.
pub(crate) fn comparison(op: &ast::BinaryOperator) -> Option<BinaryOp> {
    Some(match op {
        ast::BinaryOperator::Eq => BinaryOp::Eq,
        ast::BinaryOperator::NotEq => BinaryOp::NotEq,
        ast::BinaryOperator::Lt => BinaryOp::Lt,
        ast::BinaryOperator::LtEq => BinaryOp::LtEq,
        ast::BinaryOperator::Gt => BinaryOp::Gt,
        ast::BinaryOperator::GtEq => BinaryOp::GtEq,
        _ => return None,
    })
}

/// The type an untyped literal compared with a value of type `other` takes: `other`, except
/// that a string too long for a CHAR(n) or VARCHAR(n) keeps its own length. PostgreSQL
/// compares `bpchar` and `text` without a length, so `flag = 'none'` on a CHAR(1) column is
/// false rather than a "value too long" error.
fn compared_literal_type(literal: &Expr, other: SqlType) -> SqlType {
    let Expr::Literal {
        value: Datum::Text(s),
        ..
    } = literal
    else {
        return other;
    };
    match other {
        SqlType::Char { length } => {
            let chars = s.trim_end_matches(' ').chars().count();
            match u32::try_from(chars) {
                Ok(n) if n > length => SqlType::Char { length: n },
                _ => other,
            }
        }
        SqlType::Varchar { length } if s.chars().count() > length as usize => SqlType::Text,
        _ => other,
    }
}

/// Binds statements against one catalog snapshot.
pub struct Binder<'a> {
    pub catalog: &'a Manifest,
    pub(crate) sql: &'a str,
    /// Text values of `$1..$n`; `None` while describing (parameters are then untyped NULLs).
    params: Option<&'a [Option<String>]>,
    /// Highest `$n` seen.
    pub param_count: usize,
    /// The type each `$n` was given by its context (`None`: not yet known), as PostgreSQL
    /// infers the types of parameters a client leaves unspecified.
    param_types: std::cell::RefCell<Vec<Option<SqlType>>>,
    /// The enclosing queries' scopes while a subquery is bound, innermost last.
    pub(crate) outer: Vec<OuterFrame>,
    /// Subqueries found in the expressions of the query being bound, waiting to be joined
    /// to its input.
    pub(crate) pending: Vec<PendingSubquery>,
    /// The outer rows' correlation values, for the subquery about to be bound.
    pub(crate) domain: Option<Domain>,
    /// Set just before a subquery's own SELECT is bound.
    pub(crate) entering_subquery: bool,
    /// Where the expression holding the subquery about to be bound stands: whether the
    /// enclosing query may compute an aggregate the subquery names (an outer aggregate).
    pub(crate) enclosing_agg: AggContext,
    /// Set while the next SELECT is bound as an operand of UNION / INTERSECT / EXCEPT: its
    /// untyped literals stay untyped, for the set operation to resolve with the other side.
    pub(crate) set_operand: bool,
    /// Set by a decorrelated aggregate subquery: its select list's values for an empty input.
    pub(crate) empty_values: Option<Vec<Expr>>,
    /// A decorrelated subquery's LIMIT as (rows skipped, rows kept at most), applied to each
    /// domain value's rows by its SELECT.
    pub(crate) lifted_limit: Option<(u64, Option<u64>)>,
    /// The session's settings, for current_setting() and current_user.
    pub settings: Option<&'a crate::settings::Settings>,
    /// The session's key for `pg_sleep` to find its cancel requests and timeout (0: none).
    pub interrupt_key: u64,
    /// The transaction's start (microseconds since 1970, UTC), as now() reports it; the
    /// session sets it, and a statement bound without one reads the clock once.
    pub now: std::cell::OnceCell<i64>,
    /// The statement's start, as statement_timestamp() reports it; set likewise.
    pub statement_now: std::cell::OnceCell<i64>,
    /// STL_LOAD_ERRORS, for queries that read it.
    pub load_errors: Option<&'a crate::copy::load_errors::LoadErrorLog>,
    /// The Redshift attributes of the CREATE TABLE being bound, taken out before parsing.
    pub table_attributes: Option<&'a crate::parse::TableAttributes>,
    /// The store, for system views that read segment footers (STV_BLOCKLIST).
    pub store: Option<&'a basalt_storage::Store>,
    /// The workload queue, for STV_WLM_QUERY_STATE.
    pub queue: Option<&'a crate::wlm::Queue>,
    /// Who the session is, for privilege functions and role catalogs.
    pub session: Option<&'a crate::security::SessionInfo>,
    /// Where external tables' files are read.
    pub files: Option<std::sync::Arc<dyn crate::copy::files::FileStore>>,
    /// WITH queries in scope, outermost first; a reference binds the innermost of a name.
    pub(crate) ctes: Vec<CteDef>,
    /// The WINDOW clauses of the queries being bound, outermost first.
    /// The WINDOW clauses in scope: each window's name, definition, and where its name ends
    /// in the text (a frame's EXCLUDE clause is found after it).
    pub(crate) named_windows: Vec<(String, ast::NamedWindowExpr, sqlparser::tokenizer::Location)>,
    /// While a window call's arguments or window are bound, the error a window call there
    /// gives (window calls do not nest).
    pub(crate) in_window: Option<&'static str>,
    /// Every table and view the statement reads, for privileges and view dependencies.
    pub accesses: Vec<crate::views::Access>,
    /// The owners of the views whose queries are being bound, innermost last: what a view
    /// reads is checked against its owner's privileges.
    pub(crate) view_owners: Vec<u32>,
    /// Set while a late-binding view's query is checked: relation names must be qualified.
    pub(crate) late_binding: bool,
    /// While a select list is bound: its set-returning calls, each standing in the list as
    /// the column `set_functions::SELECT_MARK + k`.
    pub(crate) select_set_calls: Option<Vec<crate::planner::plan::SetCall>>,
    /// Set just before the SELECT of a derived table or WITH query is bound: its select
    /// list's records also put out their fields, as hidden columns (`records`).
    pub(crate) expose_records: bool,
}

/// A WITH query as its references see it.
#[derive(Clone, Debug)]
pub(crate) struct CteDef {
    pub name: String,
    pub query: ast::Query,
    /// Column names from `WITH name (a, b) AS ...`.
    pub columns: Vec<String>,
    /// Defined under WITH RECURSIVE: its query may read itself.
    pub recursive: bool,
    /// Set while a recursive query's recursive term is bound: the name then reads the
    /// working table.
    pub work_table: Option<WorkTableRef>,
    /// Computed once per statement and read by every reference (`AS MATERIALIZED`, or, as in
    /// PostgreSQL, a query named more than once), rather than planned anew at each.
    pub materialize: bool,
    /// The materialized query once its first reference has bound it.
    pub bound: Option<crate::planner::select::BoundQuery>,
}

impl CteDef {
    /// The WITH query `cte` of a WITH clause of `query`.
    pub fn new(cte: &ast::Cte, query: &ast::Query, recursive: bool) -> CteDef {
        let name = normalize_ident(&cte.alias.name);
        // As in PostgreSQL, a query calling a volatile function is never folded into its
        // references, NOT MATERIALIZED or not: each reference reads the same rows.
        let materialize = !recursive
            && (calls_volatile(&cte.query)
                || match cte.materialized {
                    Some(ast::CteAsMaterialized::Materialized) => true,
                    Some(ast::CteAsMaterialized::NotMaterialized) => false,
                    None => references(query, &name) > 1,
                });
        CteDef {
            query: (*cte.query).clone(),
            columns: cte
                .alias
                .columns
                .iter()
                .map(|c| normalize_ident(&c.name))
                .collect(),
            recursive,
            work_table: None,
            materialize,
            bound: None,
            name,
        }
    }
}

/// Whether `query` calls a volatile function: one whose value may differ from call to call
/// within a statement.
fn calls_volatile(query: &ast::Query) -> bool {
    const VOLATILE: [&str; 3] = ["random", "pg_sleep", "clock_timestamp"];
    ast::visit_expressions(query, |e| match e {
        ast::Expr::Function(f)
            if f.name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .is_some_and(|i| VOLATILE.contains(&normalize_ident(i).as_str())) =>
        {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

/// How many times `query` (its WITH queries included) names the relation `name` without a
/// schema. An inner WITH query of the same name is counted too: the count only decides
/// whether materializing can pay.
fn references(query: &ast::Query, name: &str) -> usize {
    let mut count = 0;
    let _ = ast::visit_relations(query, |relation| {
        if let [part] = relation.0.as_slice() {
            if part.as_ident().is_some_and(|i| normalize_ident(i) == name) {
                count += 1;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    count
}

/// The working table of a recursive union, as its recursive term sees it.
#[derive(Clone, Debug)]
pub(crate) struct WorkTableRef {
    /// The recursive union's id.
    pub id: usize,
    pub columns: Vec<crate::ResultColumn>,
    /// Where the recursive term has read it so far.
    pub references: Vec<Option<u32>>,
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a Manifest, sql: &'a str, params: Option<&'a [Option<String>]>) -> Self {
        Binder {
            catalog,
            sql,
            params,
            param_count: 0,
            param_types: std::cell::RefCell::new(Vec::new()),
            outer: Vec::new(),
            pending: Vec::new(),
            domain: None,
            entering_subquery: false,
            enclosing_agg: AggContext::Allowed,
            set_operand: false,
            empty_values: None,
            lifted_limit: None,
            settings: None,
            interrupt_key: 0,
            now: std::cell::OnceCell::new(),
            statement_now: std::cell::OnceCell::new(),
            load_errors: None,
            table_attributes: None,
            store: None,
            queue: None,
            session: None,
            files: None,
            ctes: Vec::new(),
            named_windows: Vec::new(),
            in_window: None,
            accesses: Vec::new(),
            view_owners: Vec::new(),
            late_binding: false,
            select_set_calls: None,
            expose_records: false,
        }
    }

    /// The types of `$1..$n` as the statement's context gave them (TEXT where it gave none).
    pub fn param_types(&self) -> Vec<SqlType> {
        let types = self.param_types.borrow();
        (0..self.param_count)
            .map(|i| types.get(i).copied().flatten().unwrap_or(SqlType::Text))
            .collect()
    }

    /// 1-based character offset of a span's start in the statement text.
    pub fn position(&self, span: Span) -> Option<u32> {
        span_position(self.sql, span)
    }

    /// Binds a scalar expression against `scope`.
    pub fn bind_expr(&mut self, e: &ast::Expr, scope: &Scope, agg: AggContext) -> Result<Expr> {
        match e {
            ast::Expr::Identifier(id) => {
                match self.resolve_column(std::slice::from_ref(id), scope) {
                    // Redshift's SYSDATE is written without parentheses; a column of that
                    // name wins.
                    Err(Error::UndefinedColumn { .. })
                        if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("sysdate") =>
                    {
                        self.date_function("sysdate", Vec::new(), e.span())?
                            .map_err(|_| Error::Internal("sysdate".into()))
                    }
                    other => other,
                }
            }
            ast::Expr::CompoundIdentifier(ids) => self.resolve_column(ids, scope),
            ast::Expr::Nested(inner) => self.bind_expr(inner, scope, agg),
            ast::Expr::Value(v) => self.bind_value(&v.value, v.span),
            ast::Expr::TypedString(ts) => {
                let ty = self.bind_type(&ts.data_type, ts.value.span)?;
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok(Expr::literal(self.parse_literal(&text, ty)?, ty))
            }
            ast::Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                let value = self.bind_expr(timestamp, scope, agg)?;
                let zone = self.bind_expr(time_zone, scope, agg)?;
                self.at_time_zone(value, zone, e.span())
            }
            // A standalone `INTERVAL '...' [unit]` is an INTERVAL constant.
            ast::Expr::Interval(iv) => {
                let v = super::dates::interval_constant(iv)?;
                let v = crate::types::temporal::Interval {
                    months: v.months,
                    days: v.days,
                    micros: v.micros,
                };
                if v.to_arrow().is_none() {
                    return Err(Error::InvalidDatetime {
                        message: "interval out of range".into(),
                    });
                }
                Ok(Expr::literal(Datum::Interval(v), SqlType::Interval))
            }
            ast::Expr::BinaryOp { left, op, right } => {
                // `(a, b) op (SELECT x, y ...)`: a row compared with the subquery's one row.
                if let (Some(fields), ast::Expr::Subquery(q), Some(cmp)) = (
                    super::rows::row_fields(left),
                    right.as_ref(),
                    comparison(op),
                ) {
                    let x = fields
                        .into_iter()
                        .map(|f| self.bind_expr(f, scope, agg))
                        .collect::<Result<Vec<_>>>()?;
                    self.enclosing_agg = agg;
                    return self.bind_subquery(q, SubqueryKind::Row(cmp, x), scope, e.span());
                }
                if let Some(v) = self.bind_row_comparison(left, op, right, scope, agg, e.span())? {
                    return Ok(v);
                }
                // `value ± INTERVAL '...'` (and `INTERVAL '...' + value`).
                let plus = matches!(op, ast::BinaryOperator::Plus);
                if plus || matches!(op, ast::BinaryOperator::Minus) {
                    if let ast::Expr::Interval(iv) = right.as_ref() {
                        let l = self.bind_expr(left, scope, agg)?;
                        let iv = super::dates::interval_constant(iv)?;
                        return self.add_interval(l, iv, !plus, false, e.span());
                    }
                    if let (ast::Expr::Interval(iv), true) = (left.as_ref(), plus) {
                        let r = self.bind_expr(right, scope, agg)?;
                        let iv = super::dates::interval_constant(iv)?;
                        return self.add_interval(r, iv, false, true, e.span());
                    }
                }
                let l = self.bind_expr(left, scope, agg)?;
                let r = self.bind_expr(right, scope, agg)?;
                // `OPERATOR(pg_catalog.~)` is the built-in `~`, as psql writes it.
                let resolved;
                let op = match op {
                    ast::BinaryOperator::PGCustomBinaryOperator(parts) => {
                        resolved =
                            qualified_operator(parts).ok_or_else(|| Error::UndefinedFunction {
                                message: format!(
                                    "operator does not exist: {} OPERATOR({}) {}",
                                    display_name(l.ty()),
                                    parts.join("."),
                                    display_name(r.ty())
                                ),
                                position: self.position(e.span()),
                            })?;
                        &resolved
                    }
                    op => op,
                };
                if let Some((ci, negated, symbol)) = match op {
                    ast::BinaryOperator::PGRegexMatch => Some((false, false, "~")),
                    ast::BinaryOperator::PGRegexIMatch => Some((true, false, "~*")),
                    ast::BinaryOperator::PGRegexNotMatch => Some((false, true, "!~")),
                    ast::BinaryOperator::PGRegexNotIMatch => Some((true, true, "!~*")),
                    _ => None,
                } {
                    return self.regex_match(l, r, ci, negated, symbol, e.span());
                }
                let op = match (comparison(op), op) {
                    (Some(cmp), _) => cmp,
                    (None, ast::BinaryOperator::Plus) => BinaryOp::Add,
                    (None, ast::BinaryOperator::Minus) => BinaryOp::Sub,
                    (None, ast::BinaryOperator::Multiply) => BinaryOp::Mul,
                    (None, ast::BinaryOperator::Divide) => BinaryOp::Div,
                    (None, ast::BinaryOperator::Modulo) => BinaryOp::Mod,
                    (None, ast::BinaryOperator::And) => BinaryOp::And,
                    (None, ast::BinaryOperator::Or) => BinaryOp::Or,
                    (None, ast::BinaryOperator::StringConcat) => BinaryOp::Concat,
                    (None, ast::BinaryOperator::BitwiseAnd) => BinaryOp::BitAnd,
                    (None, ast::BinaryOperator::BitwiseOr) => BinaryOp::BitOr,
                    (None, ast::BinaryOperator::PGBitwiseXor) => BinaryOp::BitXor,
                    (None, ast::BinaryOperator::PGBitwiseShiftLeft) => BinaryOp::ShiftLeft,
                    (None, ast::BinaryOperator::PGBitwiseShiftRight) => BinaryOp::ShiftRight,
                    (None, other) => {
                        return Err(Error::Unsupported {
                            message: format!("operator {other} is not supported"),
                        })
                    }
                };
                self.binary(op, l, r, e.span())
            }
            ast::Expr::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => {
                    let v = self.bind_expr(expr, scope, agg)?;
                    let v = self.coerce_bool(v, "NOT", expr.span())?;
                    Ok(fold(Expr::Not(Box::new(v))))
                }
                ast::UnaryOperator::Minus => {
                    // Fold `-<number>` so that -2147483648 is an integer literal.
                    if let ast::Expr::Value(v) = expr.as_ref() {
                        if let ast::Value::Number(n, _) = &v.value {
                            return self.number_literal(&format!("-{n}"));
                        }
                    }
                    let v = self.bind_expr(expr, scope, agg)?;
                    let v = self.coerce_unknown(v, SqlType::Double)?;
                    if numeric_rank(v.ty()).is_none() && v.ty() != SqlType::Interval {
                        return Err(Error::UndefinedFunction {
                            message: format!("operator does not exist: - {}", display_name(v.ty())),
                            position: self.position(e.span()),
                        });
                    }
                    Ok(fold(Expr::Negate(Box::new(v))))
                }
                ast::UnaryOperator::Plus => self.bind_expr(expr, scope, agg),
                ast::UnaryOperator::BitwiseNot => {
                    let v = self.bind_expr(expr, scope, agg)?;
                    self.bitwise_not(v, e.span())
                }
                other => Err(Error::Unsupported {
                    message: format!("operator {other} is not supported"),
                }),
            },
            ast::Expr::IsDistinctFrom(l, r) | ast::Expr::IsNotDistinctFrom(l, r) => {
                let negated = matches!(e, ast::Expr::IsNotDistinctFrom(..));
                self.bind_distinct_from(l, r, negated, scope, agg, e.span())
            }
            ast::Expr::IsNull(inner) | ast::Expr::IsNotNull(inner) => {
                let v = self.bind_expr(inner, scope, agg)?;
                Ok(fold(Expr::IsNull {
                    expr: Box::new(v),
                    negated: matches!(e, ast::Expr::IsNotNull(_)),
                }))
            }
            ast::Expr::IsUnknown(inner) | ast::Expr::IsNotUnknown(inner) => {
                // x IS UNKNOWN is x IS NULL, for Booleans only.
                let v = self.bind_expr(inner, scope, agg)?;
                let negated = matches!(e, ast::Expr::IsNotUnknown(_));
                let what = if negated {
                    "IS NOT UNKNOWN"
                } else {
                    "IS UNKNOWN"
                };
                let v = self.coerce_bool(v, what, inner.span())?;
                Ok(fold(Expr::IsNull {
                    expr: Box::new(v),
                    negated,
                }))
            }
            ast::Expr::IsTrue(inner)
            | ast::Expr::IsNotTrue(inner)
            | ast::Expr::IsFalse(inner)
            | ast::Expr::IsNotFalse(inner) => {
                // x IS TRUE is never NULL: coalesce(x = true, false).
                let v = self.bind_expr(inner, scope, agg)?;
                let what = match e {
                    ast::Expr::IsTrue(_) => "IS TRUE",
                    ast::Expr::IsNotTrue(_) => "IS NOT TRUE",
                    ast::Expr::IsFalse(_) => "IS FALSE",
                    _ => "IS NOT FALSE",
                };
                let v = self.coerce_bool(v, what, inner.span())?;
                let want = matches!(e, ast::Expr::IsTrue(_) | ast::Expr::IsNotTrue(_));
                let negate = matches!(e, ast::Expr::IsNotTrue(_) | ast::Expr::IsNotFalse(_));
                let test = Expr::Case {
                    whens: vec![(
                        Expr::IsNull {
                            expr: Box::new(v.clone()),
                            negated: false,
                        },
                        Expr::literal(Datum::Boolean(false), SqlType::Boolean),
                    )],
                    otherwise: Some(Box::new(if want { v } else { Expr::Not(Box::new(v)) })),
                    ty: SqlType::Boolean,
                };
                Ok(if negate {
                    Expr::Not(Box::new(test))
                } else {
                    test
                })
            }
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let v = self.bind_expr(expr, scope, agg)?;
                let lo = self.bind_expr(low, scope, agg)?;
                let hi = self.bind_expr(high, scope, agg)?;
                let ge = self.binary(BinaryOp::GtEq, v.clone(), lo, e.span())?;
                let le = self.binary(BinaryOp::LtEq, v, hi, e.span())?;
                let both = self.binary(BinaryOp::And, ge, le, e.span())?;
                Ok(if *negated {
                    fold(Expr::Not(Box::new(both)))
                } else {
                    both
                })
            }
            ast::Expr::In {
                expr,
                target,
                negated,
                ..
            } => {
                let list = match target {
                    ast::InTarget::List(list) => list,
                    ast::InTarget::Subquery(q) => {
                        let x = self.bind_row_or_value(expr, scope, agg)?;
                        self.enclosing_agg = agg;
                        let v = self.bind_subquery(q, SubqueryKind::In(x), scope, e.span())?;
                        return Ok(if *negated { Expr::Not(Box::new(v)) } else { v });
                    }
                    _ => {
                        return Err(Error::Unsupported {
                            message: "this IN form is not supported yet".into(),
                        })
                    }
                };
                if let Some(v) =
                    self.bind_row_in_list(expr, list, *negated, scope, agg, e.span())?
                {
                    return Ok(v);
                }
                let v = self.bind_expr(expr, scope, agg)?;
                let mut any: Option<Expr> = None;
                for item in list {
                    let item = self.bind_expr(item, scope, agg)?;
                    let eq = self.binary(BinaryOp::Eq, v.clone(), item, e.span())?;
                    any = Some(match any {
                        None => eq,
                        Some(prev) => self.binary(BinaryOp::Or, prev, eq, e.span())?,
                    });
                }
                let any = any.ok_or_else(|| Error::Syntax {
                    message: "syntax error at or near \")\"".into(),
                    position: self.position(e.span()),
                })?;
                Ok(if *negated {
                    fold(Expr::Not(Box::new(any)))
                } else {
                    any
                })
            }
            ast::Expr::Cast {
                expr,
                data_type,
                kind,
                ..
            } => {
                let _ = kind;
                let reg = match data_type {
                    ast::DataType::Regclass => Some("regclass".to_owned()),
                    ast::DataType::Custom(name, _) => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(normalize_ident),
                    _ => None,
                };
                if let Some(last) = reg {
                    if crate::catalog::is_reg_type(&last) {
                        let v = self.bind_expr(expr, scope, agg)?;
                        return crate::catalog::reg_cast(self, v, &last, e.span());
                    }
                }
                let to = self.bind_type(data_type, e.span())?;
                if let (ast::Expr::Array(a), SqlType::Array { .. }) = (expr.as_ref(), to) {
                    if a.elem.is_empty() {
                        return Ok(self.empty_array(to));
                    }
                }
                let v = self.bind_expr(expr, scope, agg)?;
                self.cast(v, to, true, e.span())
            }
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.bind_case(
                operand.as_deref(),
                conditions,
                else_result.as_deref(),
                scope,
                agg,
                e.span(),
            ),
            ast::Expr::Function(f) => self.bind_function(f, scope, agg),
            ast::Expr::Subquery(q) => {
                self.enclosing_agg = agg;
                self.bind_subquery(q, SubqueryKind::Scalar, scope, e.span())
            }
            ast::Expr::Exists { subquery, negated } => {
                self.enclosing_agg = agg;
                let v = self.bind_subquery(subquery, SubqueryKind::Exists, scope, e.span())?;
                Ok(if *negated { Expr::Not(Box::new(v)) } else { v })
            }
            ast::Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | ast::Expr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(Error::Unsupported {
                        message: "LIKE ANY is not supported".into(),
                    });
                }
                let ci = matches!(e, ast::Expr::ILike { .. });
                let like = self.bind_like(
                    expr,
                    pattern,
                    escape_char.as_deref(),
                    ci,
                    scope,
                    agg,
                    e.span(),
                )?;
                Ok(fold(if *negated {
                    Expr::Not(Box::new(like))
                } else {
                    like
                }))
            }
            ast::Expr::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => {
                // As PostgreSQL: s SIMILAR TO p is s ~ similar_to_escape(p).
                let l = self.bind_expr(expr, scope, agg)?;
                let mut args = vec![self.bind_expr(pattern, scope, agg)?];
                if let Some(esc) = escape_char {
                    args.push(self.bind_expr(esc, scope, agg)?);
                }
                let position = self.position(e.span());
                let re = self.scalar_function("similar_to_escape", args, position, e.span())?;
                self.regex_match(l, re, false, *negated, "~", e.span())
            }
            ast::Expr::Extract { field, expr, .. } => {
                let name = field.to_string();
                let v = self.bind_expr(expr, scope, agg)?;
                self.extract(name.trim_matches(|c| c == '\'' || c == '"'), v, e.span())
            }
            ast::Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr, scope, agg)?];
                let from = match substring_from {
                    Some(f) => self.bind_expr(f, scope, agg)?,
                    None => Expr::literal(Datum::Int(1), SqlType::Integer),
                };
                args.push(from);
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f, scope, agg)?);
                }
                let position = self.position(e.span());
                self.scalar_function("substring", args, position, e.span())
            }
            ast::Expr::Position { expr, r#in } => {
                let args = vec![
                    self.bind_expr(expr, scope, agg)?,
                    self.bind_expr(r#in, scope, agg)?,
                ];
                let position = self.position(e.span());
                self.scalar_function("position", args, position, e.span())
            }
            ast::Expr::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let mut args = vec![self.bind_expr(expr, scope, agg)?];
                if let Some(what) = trim_what {
                    args.push(self.bind_expr(what, scope, agg)?);
                }
                for c in trim_characters.iter().flatten() {
                    args.push(self.bind_expr(c, scope, agg)?);
                }
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let position = self.position(e.span());
                self.scalar_function(name, args, position, e.span())
            }
            ast::Expr::Ceil { expr, field } | ast::Expr::Floor { expr, field } => {
                let mut args = vec![self.bind_expr(expr, scope, agg)?];
                if let ast::CeilFloorKind::Scale(v) = field {
                    args.push(self.bind_value(&v.value, v.span)?);
                }
                let name = if matches!(e, ast::Expr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                let position = self.position(e.span());
                self.scalar_function(name, args, position, e.span())
            }
            ast::Expr::Array(a) => self.bind_array_constructor(&a.elem, scope, agg, e.span()),
            // `x = ANY (SELECT ...)` is `x IN (SELECT ...)` and `x <> ALL (SELECT ...)` is
            // `x NOT IN (SELECT ...)`, NULLs included.
            ast::Expr::AnyOp {
                left,
                compare_op: ast::BinaryOperator::Eq,
                right,
                ..
            }
            | ast::Expr::AllOp {
                left,
                compare_op: ast::BinaryOperator::NotEq,
                right,
            } if matches!(right.as_ref(), ast::Expr::Subquery(_)) => {
                let ast::Expr::Subquery(q) = right.as_ref() else {
                    return Err(Error::Internal("quantified comparison".into()));
                };
                let x = self.bind_row_or_value(left, scope, agg)?;
                self.enclosing_agg = agg;
                let v = self.bind_subquery(q, SubqueryKind::In(x), scope, e.span())?;
                Ok(if matches!(e, ast::Expr::AllOp { .. }) {
                    Expr::Not(Box::new(v))
                } else {
                    v
                })
            }
            ast::Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } if matches!(right.as_ref(), ast::Expr::Subquery(_)) => {
                let ast::Expr::Subquery(q) = right.as_ref() else {
                    return Err(Error::Internal("quantified comparison".into()));
                };
                self.bind_quantified(left, compare_op, q, false, scope, agg, e.span())
            }
            ast::Expr::AllOp {
                left,
                compare_op,
                right,
            } if matches!(right.as_ref(), ast::Expr::Subquery(_)) => {
                let ast::Expr::Subquery(q) = right.as_ref() else {
                    return Err(Error::Internal("quantified comparison".into()));
                };
                self.bind_quantified(left, compare_op, q, true, scope, agg, e.span())
            }
            ast::Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            } if !matches!(right.as_ref(), ast::Expr::Subquery(_)) => {
                self.bind_array_comparison(left, compare_op, right, false, scope, agg, e.span())
            }
            ast::Expr::AllOp {
                left,
                compare_op,
                right,
            } if !matches!(right.as_ref(), ast::Expr::Subquery(_)) => {
                self.bind_array_comparison(left, compare_op, right, true, scope, agg, e.span())
            }
            ast::Expr::CompoundFieldAccess { root, access_chain } => {
                // `t.col[i]` parses as `t` followed by `.col` and `[i]`: the leading dotted
                // names are one qualified column reference, and the subscripts apply to it.
                let dotted = access_chain
                    .iter()
                    .take_while(|a| matches!(a, ast::AccessExpr::Dot(ast::Expr::Identifier(_))))
                    .count();
                let (root, access_chain) = match root.as_ref() {
                    ast::Expr::Identifier(first) if dotted > 0 => {
                        let mut parts = vec![first.clone()];
                        parts.extend(access_chain[..dotted].iter().filter_map(|a| match a {
                            ast::AccessExpr::Dot(ast::Expr::Identifier(i)) => Some(i.clone()),
                            _ => None,
                        }));
                        (
                            std::borrow::Cow::Owned(ast::Expr::CompoundIdentifier(parts)),
                            &access_chain[dotted..],
                        )
                    }
                    _ => (std::borrow::Cow::Borrowed(root.as_ref()), &access_chain[..]),
                };
                // The root is bound on first use: a field access binds it as a record.
                let mut v: Option<Expr> = None;
                for access in access_chain {
                    match access {
                        ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                            let base = match v.take() {
                                Some(x) => x,
                                None => self.bind_expr(&root, scope, agg)?,
                            };
                            let i = self.bind_expr(index, scope, agg)?;
                            v = Some(self.bind_subscript(base, i, e.span())?);
                        }
                        ast::AccessExpr::Dot(ast::Expr::Identifier(field)) => {
                            v = Some(match v.take() {
                                None => self.bind_field_access(&root, field, scope, agg)?,
                                Some(x) => {
                                    return Err(Error::WrongObjectType {
                                        message: format!(
                                            "column notation .{} applied to type {}, which is not a composite type",
                                            normalize_ident(field),
                                            display_name(x.ty())
                                        ),
                                        position: self.position(e.span()),
                                    })
                                }
                            });
                        }
                        other => {
                            return Err(Error::Unsupported {
                                message: format!("array access not supported: {other}"),
                            })
                        }
                    }
                }
                match v {
                    Some(v) => Ok(v),
                    None => self.bind_expr(&root, scope, agg),
                }
            }
            ast::Expr::Collate { expr, collation } => {
                // Basalt compares strings by their bytes, which is PostgreSQL's "C" collation
                // (and what its "default" is in a C-locale database).
                let last = collation
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(normalize_ident)
                    .unwrap_or_default();
                let name = last.to_ascii_lowercase();
                if !matches!(name.as_str(), "default" | "c" | "posix" | "ucs_basic") {
                    return Err(Error::UndefinedObject {
                        message: format!(
                            "collation \"{last}\" for encoding \"UTF8\" does not exist"
                        ),
                        position: self.position(e.span()),
                    });
                }
                let v = self.bind_expr(expr, scope, agg)?;
                let v = self.coerce_unknown(v, SqlType::Text)?;
                if !v.ty().is_string() {
                    return Err(Error::DatatypeMismatch {
                        message: format!(
                            "collations are not supported by type {}",
                            display_name(v.ty())
                        ),
                        position: self.position(e.span()),
                    });
                }
                Ok(v)
            }
            other => Err(Error::Unsupported {
                message: format!("expression not supported yet: {other}"),
            }),
        }
    }

    /// `expr [NOT] LIKE pattern [ESCAPE esc]` (and ILIKE): both sides text; CHAR(n) values
    /// keep their blank padding, as PostgreSQL's bpcharlike does.
    #[allow(clippy::too_many_arguments)]
    fn bind_like(
        &mut self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        case_insensitive: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        let v = self.bind_expr(expr, scope, agg)?;
        let p = self.bind_expr(pattern, scope, agg)?;
        let shown = |e: &Expr| match e {
            Expr::Literal { unknown: true, .. } => "unknown".to_string(),
            e => display_name(e.ty()),
        };
        let (v_name, p_name) = (shown(&v), shown(&p));
        let v = self.coerce_unknown(v, SqlType::Text)?;
        let p = self.coerce_unknown(p, SqlType::Text)?;
        if !v.ty().is_string() || !p.ty().is_string() {
            return Err(Error::UndefinedFunction {
                message: format!(
                    "operator does not exist: {v_name} {} {p_name}",
                    if case_insensitive { "~~*" } else { "~~" },
                ),
                position: self.position(span),
            });
        }
        let as_text = |b: &Self, e: Expr| -> Result<Expr> {
            match e.ty() {
                SqlType::Char { .. } => Ok(e),
                _ => b.cast(e, SqlType::Text, true, span),
            }
        };
        let v = as_text(self, v)?;
        let mut p = as_text(self, p)?;
        if let Some(esc) = escape {
            let esc = self.bind_expr(esc, scope, agg)?;
            let esc = self.coerce_unknown(esc, SqlType::Text)?;
            let esc = match fold(esc) {
                Expr::Literal {
                    value: Datum::Text(t),
                    ..
                } => Some(t),
                Expr::Literal {
                    value: Datum::Null, ..
                } => None,
                _ => {
                    return Err(Error::Unsupported {
                        message: "ESCAPE must be a constant".into(),
                    })
                }
            };
            p = match (esc, p) {
                (
                    Some(esc),
                    Expr::Literal {
                        value: Datum::Text(pat),
                        ..
                    },
                ) => Expr::literal(
                    Datum::Text(string::rewrite_escape(&pat, &esc)?),
                    SqlType::Text,
                ),
                (Some(esc), p) if esc == "\\" => p,
                (None, _) => Expr::literal(Datum::Null, SqlType::Text),
                _ => {
                    return Err(Error::Unsupported {
                        message: "ESCAPE other than a backslash needs a constant pattern".into(),
                    })
                }
            };
        }
        if let Expr::Literal {
            value: Datum::Text(pat),
            ..
        } = &p
        {
            string::check_pattern(pat)?;
        }
        Ok(Expr::Function {
            func: if case_insensitive {
                ScalarFunc::ILike
            } else {
                ScalarFunc::Like
            },
            args: vec![v, p],
            ty: SqlType::Boolean,
        })
    }

    /// `EXTRACT(field FROM v)`: NUMERIC, as in PostgreSQL 14 and later.
    pub(crate) fn extract(&self, field: &str, v: Expr, span: Span) -> Result<Expr> {
        let v = self.coerce_unknown(v, SqlType::Timestamp)?;
        let from = v.ty();
        if !matches!(
            from,
            SqlType::Date
                | SqlType::Timestamp
                | SqlType::Timestamptz
                | SqlType::Time
                | SqlType::Interval
        ) {
            return Err(Error::UndefinedFunction {
                message: format!(
                    "function pg_catalog.extract(unknown, {}) does not exist",
                    display_name(from)
                ),
                position: self.position(span),
            });
        }
        let lower = field.to_ascii_lowercase();
        if from == SqlType::Timestamptz
            && matches!(
                lower.as_str(),
                "timezone" | "timezone_h" | "timezone_hour" | "timezone_m" | "timezone_minute"
            )
        {
            return self.extract_zone_offset(&lower, v, span);
        }
        let parsed = DateField::parse(field).ok_or_else(|| Error::InvalidParameter {
            message: format!(
                "unit \"{}\" not recognized for type {}",
                field.to_ascii_lowercase(),
                from.pg_name()
            ),
        })?;
        let scale = parsed.result_scale(from)?;
        // A TIMESTAMPTZ's calendar fields are those of its local time in the session's
        // zone; its epoch is the instant's.
        let v = match (from, parsed) {
            (SqlType::Timestamptz, f) if f != DateField::Epoch => {
                self.zoned_cast(&v, SqlType::Timestamp).unwrap_or(v)
            }
            _ => v,
        };
        Ok(fold(Expr::Function {
            func: ScalarFunc::Extract(parsed),
            args: vec![v],
            ty: numeric(scale),
        }))
    }

    /// EXTRACT's `timezone` (the session zone's offset east of UTC in seconds at the
    /// instant), `timezone_hour` and `timezone_minute` (its parts, signed alike).
    fn extract_zone_offset(&self, field: &str, v: Expr, span: Span) -> Result<Expr> {
        let seconds = fold(Expr::Function {
            func: ScalarFunc::Zone(ZoneFunc::Offset(self.zone())),
            args: vec![v],
            ty: SqlType::BigInt,
        });
        let int = |n: i64| Expr::literal(Datum::Int(n), SqlType::BigInt);
        let value = match field {
            "timezone" => seconds,
            "timezone_h" | "timezone_hour" => {
                self.binary(BinaryOp::Div, seconds, int(3600), span)?
            }
            _ => {
                let minutes = self.binary(BinaryOp::Div, seconds, int(60), span)?;
                self.binary(BinaryOp::Mod, minutes, int(60), span)?
            }
        };
        self.cast(value, numeric(0), false, span)
    }

    /// Resolves a column name in `scope`, then in the enclosing query's scope (a correlated
    /// reference).
    fn resolve_column(&mut self, ids: &[ast::Ident], scope: &Scope) -> Result<Expr> {
        let err = match self.resolve_local(ids, scope) {
            Ok(e) => return Ok(e),
            Err(
                e @ (Error::UndefinedColumn { .. }
                | Error::UndefinedColumnMessage { .. }
                | Error::MissingFromEntry { .. }),
            ) => e,
            Err(e) => return Err(e),
        };
        let depth = self.outer.len();
        for level in (0..depth).rev() {
            let found = match self.resolve_local(ids, &self.outer[level].scope) {
                Ok(e) => Some(e),
                Err(e @ Error::AmbiguousColumn { .. }) => return Err(e),
                Err(_) => None,
            };
            let Some(found) = found else { continue };
            // A column, or a merged USING column's expression over columns: each column
            // it reads is an outer reference.
            let mut read: Vec<(usize, SqlType)> = Vec::new();
            found.visit(&mut |x| {
                if let Expr::Column { index, ty } = x {
                    if !read.iter().any(|(i, _)| i == index) {
                        read.push((*index, *ty));
                    }
                }
            });
            let mut replaced = Vec::with_capacity(read.len());
            for (index, ty) in &read {
                replaced.push((*index, self.grand_outer_reference(level, *index, *ty)?));
            }
            return Ok(found.transform(&mut |x| match x {
                Expr::Column { index, .. } => replaced
                    .iter()
                    .find(|(i, _)| i == index)
                    .map(|(_, e)| e.clone()),
                _ => None,
            }));
        }
        Err(err)
    }

    pub(crate) fn resolve_local(&self, ids: &[ast::Ident], scope: &Scope) -> Result<Expr> {
        let span = ids.first().map(|i| i.span).unwrap_or(Span::empty());
        let position = self.position(span);
        let names: Vec<String> = ids.iter().map(normalize_ident).collect();
        let (relation, name) = match names.as_slice() {
            [n] => (None, n.as_str()),
            [r, n] => (Some(r.as_str()), n.as_str()),
            [_, r, n] => (Some(r.as_str()), n.as_str()),
            _ => {
                return Err(Error::Unsupported {
                    message: format!("improper qualified name: {}", names.join(".")),
                })
            }
        };
        let mut found: Option<Expr> = None;
        let ambiguous = || Error::AmbiguousColumn {
            name: name.to_string(),
            position,
        };
        // A merged USING column: unqualified while visible, or by its join's alias.
        for m in &scope.merged {
            let reached = match relation {
                None => m.visible,
                Some(r) => m.relation.as_deref() == Some(r),
            };
            if m.name != name || !reached {
                continue;
            }
            if found.is_some() {
                return Err(ambiguous());
            }
            found = Some(m.expr.clone());
        }
        for (i, c) in scope.columns.iter().enumerate() {
            if c.name != name {
                continue;
            }
            match relation {
                Some(r) if c.relation.as_deref() != Some(r) => continue,
                None if scope.qualified_only.contains(&i) => continue,
                _ => {}
            }
            if found.is_some() {
                return Err(ambiguous());
            }
            found = Some(Expr::Column { index: i, ty: c.ty });
        }
        match found {
            Some(e) => Ok(e),
            None => {
                if let Some(r) = relation {
                    if !scope
                        .columns
                        .iter()
                        .any(|c| c.relation.as_deref() == Some(r))
                        && !scope
                            .merged
                            .iter()
                            .any(|m| m.relation.as_deref() == Some(r))
                    {
                        return Err(Error::MissingFromEntry {
                            name: r.to_string(),
                            position,
                        });
                    }
                    // PostgreSQL prints a qualified name unquoted here.
                    return Err(Error::UndefinedColumnMessage {
                        message: format!("column {r}.{name} does not exist"),
                        position,
                    });
                }
                Err(Error::UndefinedColumn {
                    name: name.to_string(),
                    position,
                })
            }
        }
    }

    fn bind_value(&mut self, v: &ast::Value, span: Span) -> Result<Expr> {
        match v {
            ast::Value::Number(n, _) => self.number_literal(n),
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::DoubleQuotedString(s) => Ok(Expr::Literal {
                value: Datum::Text(s.clone()),
                ty: SqlType::Text,
                unknown: true,
                param: None,
            }),
            ast::Value::Boolean(b) => Ok(Expr::literal(Datum::Boolean(*b), SqlType::Boolean)),
            ast::Value::Null => Ok(Expr::Literal {
                value: Datum::Null,
                ty: SqlType::Text,
                unknown: true,
                param: None,
            }),
            ast::Value::Placeholder(p) => {
                let n: usize = p
                    .strip_prefix('$')
                    .and_then(|d| d.parse().ok())
                    .filter(|n| (1..=PARAMS_MAX).contains(n))
                    .ok_or_else(|| Error::Syntax {
                        message: format!("syntax error at or near \"{p}\""),
                        position: self.position(span),
                    })?;
                self.param_count = self.param_count.max(n);
                {
                    let mut types = self.param_types.borrow_mut();
                    if types.len() < n {
                        types.resize(n, None);
                    }
                }
                let value = match self.params {
                    None => Datum::Null,
                    Some(params) => match params.get(n - 1) {
                        Some(Some(text)) => Datum::Text(text.clone()),
                        Some(None) => Datum::Null,
                        None => {
                            return Err(Error::InvalidParameter {
                                message: format!("there is no parameter ${n}"),
                            })
                        }
                    },
                };
                Ok(Expr::Literal {
                    value,
                    ty: SqlType::Text,
                    unknown: true,
                    param: Some(n),
                })
            }
            other => Err(Error::Unsupported {
                message: format!("literal not supported yet: {other}"),
            }),
        }
    }

    fn number_literal(&self, n: &str) -> Result<Expr> {
        if !n.contains(['.', 'e', 'E']) {
            if let Ok(v) = n.parse::<i64>() {
                let ty = if i32::try_from(v).is_ok() {
                    SqlType::Integer
                } else {
                    SqlType::BigInt
                };
                return Ok(Expr::literal(Datum::Int(v), ty));
            }
        }
        let (v, scale) = parse_decimal_text(n)?;
        Ok(Expr::literal(Datum::Decimal(v, scale), numeric(scale)))
    }

    /// Resolves a SQL type name.
    pub fn bind_type(&self, t: &ast::DataType, span: Span) -> Result<SqlType> {
        use ast::DataType as D;
        let position = self.position(span);
        let length = |l: &Option<ast::CharacterLength>, default: u32| -> Result<u32> {
            let max = basalt_storage::types::VARCHAR_LENGTH_MAX;
            // CHAR's errors are PostgreSQL's for char (its default length is 1).
            let message = match (default, l) {
                (1, Some(ast::CharacterLength::IntegerLength { length: 0, .. })) => {
                    "length for type char must be at least 1".to_string()
                }
                (1, _) => format!("length for type char cannot exceed {max}"),
                _ => format!("length for type varchar must be between 1 and {max}"),
            };
            match l {
                None => Ok(default),
                Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                    if *length == 0 || *length > max as u64 {
                        return Err(Error::InvalidTypeModifier { message, position });
                    }
                    Ok(*length as u32)
                }
                Some(ast::CharacterLength::Max) => Ok(basalt_storage::types::VARCHAR_LENGTH_MAX),
            }
        };
        Ok(match t {
            D::SmallInt(_) | D::Int2(_) => SqlType::SmallInt,
            D::Int(_) | D::Integer(_) | D::Int4(_) => SqlType::Integer,
            D::BigInt(_) | D::Int8(_) => SqlType::BigInt,
            D::Numeric(info) | D::Decimal(info) | D::Dec(info) => {
                let (p, s) = match info {
                    // Redshift's default DECIMAL is DECIMAL(18,0).
                    ast::ExactNumberInfo::None => (18, 0),
                    ast::ExactNumberInfo::Precision(p) => (*p, 0),
                    ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
                };
                if p < 1 || p > basalt_storage::types::DECIMAL_PRECISION_MAX as u64 {
                    return Err(Error::InvalidTypeModifier {
                        message: format!(
                            "NUMERIC precision {p} must be between 1 and {}",
                            basalt_storage::types::DECIMAL_PRECISION_MAX
                        ),
                        position,
                    });
                }
                if s < 0 || s as u64 > p {
                    return Err(Error::InvalidTypeModifier {
                        message: format!("NUMERIC scale {s} must be between 0 and precision {p}"),
                        position,
                    });
                }
                SqlType::Decimal {
                    precision: p as u8,
                    scale: s as i8,
                }
            }
            D::Real | D::Float4 => SqlType::Real,
            D::Float(info) => match info {
                ast::ExactNumberInfo::Precision(p) if *p <= 24 => SqlType::Real,
                _ => SqlType::Double,
            },
            D::Double(_) | D::DoublePrecision | D::Float8 => SqlType::Double,
            D::Bool | D::Boolean => SqlType::Boolean,
            D::Char(l) | D::Character(l) => SqlType::Char {
                length: length(l, 1)?,
            },
            // Redshift's VARCHAR without a length is VARCHAR(256).
            D::Varchar(l) | D::CharacterVarying(l) => SqlType::Varchar {
                length: length(l, 256)?,
            },
            D::Text | D::String(_) => SqlType::Text,
            D::Date => SqlType::Date,
            D::Timestamp(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
                SqlType::Timestamp
            }
            D::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => {
                SqlType::Timestamptz
            }
            D::Time(_, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
                SqlType::Time
            }
            D::Interval {
                fields: None,
                precision: None,
            } => SqlType::Interval,
            D::Array(ast::ArrayElemTypeDef::SquareBracket(inner, _)) => {
                let element = self.bind_type(inner, span)?;
                element.array_of().ok_or_else(|| Error::Unsupported {
                    message: "arrays of more than one dimension are not supported".into(),
                })?
            }
            D::Custom(name, _) => {
                // PostgreSQL's internal names, alone or qualified with pg_catalog.
                let n = name.to_string().to_ascii_lowercase();
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident())
                    .map(normalize_ident)
                    .collect();
                let base = match parts.as_slice() {
                    [t] => t.as_str(),
                    [schema, t] if schema == "pg_catalog" => t.as_str(),
                    _ => return Err(Error::UndefinedType { name: n, position }),
                };
                match base {
                    "bpchar" => SqlType::Char { length: 1 },
                    "float4" => SqlType::Real,
                    "float8" | "double precision" => SqlType::Double,
                    "bool" | "boolean" => SqlType::Boolean,
                    "int2" | "smallint" => SqlType::SmallInt,
                    "int4" | "int" | "integer" => SqlType::Integer,
                    "int8" | "bigint" => SqlType::BigInt,
                    "text" => SqlType::Text,
                    // Basalt's catalogs hold OIDs as integers; `name` is text.
                    "oid" => SqlType::Integer,
                    "name" => SqlType::Text,
                    "varchar" => SqlType::Varchar { length: 256 },
                    "numeric" | "decimal" => SqlType::Decimal {
                        precision: 18,
                        scale: 0,
                    },
                    "date" => SqlType::Date,
                    "timestamp" => SqlType::Timestamp,
                    "timestamptz" => SqlType::Timestamptz,
                    "time" => SqlType::Time,
                    "interval" => SqlType::Interval,
                    _ => return Err(Error::UndefinedType { name: n, position }),
                }
            }
            other => {
                return Err(Error::UndefinedType {
                    name: other.to_string().to_ascii_lowercase(),
                    position,
                })
            }
        })
    }

    /// Gives an untyped literal the type `ty` (no-op for typed expressions).
    pub fn coerce_unknown(&self, e: Expr, ty: SqlType) -> Result<Expr> {
        self.coerce_unknown_as(e, ty, false)
    }

    /// As [`Binder::coerce_unknown`]; `explicit` (a CAST) truncates strings to the declared
    /// length instead of failing.
    fn coerce_unknown_as(&self, e: Expr, ty: SqlType, explicit: bool) -> Result<Expr> {
        match e {
            Expr::Literal {
                value,
                unknown: true,
                param,
                ..
            } => {
                if let Some(n) = param {
                    if let Some(slot) = self.param_types.borrow_mut().get_mut(n - 1) {
                        slot.get_or_insert(ty);
                    }
                }
                let value = match value {
                    Datum::Text(s) => self.parse_literal(&s, ty)?,
                    other => other,
                };
                // Parsed text has its own natural scale/length; fit it to `ty`.
                let value = cast_datum(&value, datum_type(&value), ty, explicit)?;
                Ok(Expr::literal(value, ty))
            }
            other => Ok(other),
        }
    }

    fn coerce_bool(&self, e: Expr, what: &str, span: Span) -> Result<Expr> {
        let e = self.coerce_unknown(e, SqlType::Boolean)?;
        if e.ty() != SqlType::Boolean {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "argument of {what} must be type boolean, not type {}",
                    display_name(e.ty())
                ),
                position: self.position(span),
            });
        }
        Ok(e)
    }

    /// Converts `e` to `to`: explicit (CAST) or implicit (operators), with folding.
    pub fn cast(&self, e: Expr, to: SqlType, explicit: bool, span: Span) -> Result<Expr> {
        if let Expr::Literal { unknown: true, .. } = e {
            return self.coerce_unknown_as(e, to, explicit);
        }
        let from = e.ty();
        if from == to {
            return Ok(e);
        }
        let allowed = if explicit {
            explicit_cast(from, to)
        } else {
            implicit_cast(from, to)
        };
        if !allowed {
            return Err(Error::CannotCoerce {
                message: format!(
                    "cannot cast type {} to {}",
                    display_name(from),
                    display_name(to)
                ),
                position: self.position(span),
            });
        }
        if let Some(e) = self.zoned_cast(&e, to) {
            return Ok(e);
        }
        Ok(fold(Expr::Cast {
            expr: Box::new(e),
            to,
            explicit,
        }))
    }

    /// The session's time zone (UTC for a statement bound without a session).
    pub(crate) fn zone(&self) -> Zone {
        self.settings.map_or(Zone::UTC, |s| s.time_zone())
    }

    /// A constant of type `ty` from its text: TIMESTAMPTZ text without a zone is local time
    /// in the session's zone.
    pub(crate) fn parse_literal(&self, text: &str, ty: SqlType) -> Result<Datum> {
        match ty {
            SqlType::Timestamptz => {
                Ok(Datum::Timestamptz(parse_timestamptz_in(text, self.zone())?))
            }
            _ => Datum::parse(text, ty),
        }
    }

    /// The casts whose result depends on the session's time zone (TIMESTAMPTZ to and from
    /// TIMESTAMP, DATE, TIME and text), as calls that carry the zone; `None` for any other
    /// cast, or in a session whose zone is UTC (where the plain cast is the same).
    pub(crate) fn zoned_cast(&self, e: &Expr, to: SqlType) -> Option<Expr> {
        use SqlType::{Date, Text, Time, Timestamp, Timestamptz};
        let zone = self.zone();
        if zone.is_utc() {
            return None;
        }
        let call = |func: ZoneFunc, arg: Expr, ty: SqlType| {
            fold(Expr::Function {
                func: ScalarFunc::Zone(func),
                args: vec![arg],
                ty,
            })
        };
        let plain = |e: Expr, to: SqlType| {
            if e.ty() == to {
                return e;
            }
            fold(Expr::Cast {
                expr: Box::new(e),
                to,
                explicit: true,
            })
        };
        let from = e.ty();
        Some(match (from, to) {
            (Timestamptz, Timestamp | Date | Time) => {
                plain(call(ZoneFunc::ToLocal(zone), e.clone(), Timestamp), to)
            }
            (Timestamp | Date, Timestamptz) => call(
                ZoneFunc::ToInstant(zone),
                plain(e.clone(), Timestamp),
                Timestamptz,
            ),
            (f, Timestamptz) if f.is_string() => call(
                ZoneFunc::FromText(zone),
                plain(e.clone(), Text),
                Timestamptz,
            ),
            (Timestamptz, t) if t.is_string() => {
                plain(call(ZoneFunc::ToText(zone), e.clone(), Text), to)
            }
            _ => return None,
        })
    }

    /// Converts `e` for storing into a column of type `to` (INSERT), as PostgreSQL's
    /// assignment casts.
    pub fn assign(&self, e: Expr, to: SqlType, column: &str, span: Span) -> Result<Expr> {
        if let Expr::Literal { unknown: true, .. } = e {
            return self.coerce_unknown(e, to);
        }
        let from = e.ty();
        if from == to && !matches!(to, SqlType::Char { .. } | SqlType::Varchar { .. }) {
            return Ok(e);
        }
        if !types::assignment_cast(from, to) {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "column \"{column}\" is of type {} but expression is of type {}",
                    to.pg_name(),
                    from.pg_name()
                ),
                position: self.position(span),
            });
        }
        if let Some(e) = self.zoned_cast(&e, to) {
            return Ok(e);
        }
        Ok(fold(Expr::Cast {
            expr: Box::new(e),
            to,
            explicit: false,
        }))
    }

    /// Types and builds a binary operation, inserting implicit casts.
    pub fn binary(&self, op: BinaryOp, l: Expr, r: Expr, span: Span) -> Result<Expr> {
        if op.is_bitwise() {
            return self.bitwise(op, l, r, span);
        }
        let position = self.position(span);
        let array = |e: &Expr| matches!(e.ty(), SqlType::Array { .. });
        if op == BinaryOp::Concat && (array(&l) || array(&r)) {
            return self.array_concat(vec![l, r], span);
        }
        // Untyped literals take the other side's type.
        let (l, r) = match (&l, &r) {
            (Expr::Literal { unknown: true, .. }, Expr::Literal { unknown: true, .. }) => {
                let t = if matches!(op, BinaryOp::And | BinaryOp::Or) {
                    SqlType::Boolean
                } else {
                    SqlType::Text
                };
                (self.coerce_unknown(l, t)?, self.coerce_unknown(r, t)?)
            }
            (Expr::Literal { unknown: true, .. }, _) => {
                let t = if op == BinaryOp::Concat {
                    SqlType::Text
                } else if op.is_comparison() {
                    compared_literal_type(&l, r.ty())
                } else {
                    r.ty()
                };
                (self.coerce_unknown(l, t)?, r)
            }
            (_, Expr::Literal { unknown: true, .. }) => {
                let t = if op == BinaryOp::Concat {
                    SqlType::Text
                } else if op.is_comparison() {
                    compared_literal_type(&r, l.ty())
                } else {
                    l.ty()
                };
                let t = if matches!(op, BinaryOp::And | BinaryOp::Or) {
                    SqlType::Boolean
                } else {
                    t
                };
                (l, self.coerce_unknown(r, t)?)
            }
            _ => (l, r),
        };
        let (lt, rt) = (l.ty(), r.ty());
        let no_operator = || Error::UndefinedFunction {
            message: format!(
                "operator does not exist: {} {} {}",
                display_name(lt),
                op.symbol(),
                display_name(rt)
            ),
            position,
        };
        let out = match op {
            BinaryOp::And | BinaryOp::Or => {
                let what = if op == BinaryOp::And { "AND" } else { "OR" };
                let l = self.coerce_bool(l, what, span)?;
                let r = self.coerce_bool(r, what, span)?;
                Expr::Binary {
                    op,
                    left: Box::new(l),
                    right: Box::new(r),
                    ty: SqlType::Boolean,
                }
            }
            _ if op.is_comparison() => {
                let common = common_type(lt, rt).ok_or_else(no_operator)?;
                Expr::Binary {
                    op,
                    left: Box::new(self.cast(l, common, false, span)?),
                    right: Box::new(self.cast(r, common, false, span)?),
                    ty: SqlType::Boolean,
                }
            }
            BinaryOp::Concat => Expr::Binary {
                op,
                left: Box::new(self.cast(l, SqlType::Text, true, span)?),
                right: Box::new(self.cast(r, SqlType::Text, true, span)?),
                ty: SqlType::Text,
            },
            _ => {
                if let Some(e) = self.date_arithmetic(op, &l, &r, span)? {
                    return Ok(e);
                }
                if numeric_rank(lt).is_none() || numeric_rank(rt).is_none() {
                    return Err(no_operator());
                }
                let common = common_type(lt, rt).ok_or_else(no_operator)?;
                match common {
                    SqlType::Decimal { .. } => {
                        let (ls, rs) = (types::decimal_scale(lt), types::decimal_scale(rt));
                        let scale = match op {
                            BinaryOp::Mul => ls.saturating_add(rs),
                            BinaryOp::Div => ls.max(rs).max(types::NUMERIC_DIVISION_SCALE),
                            _ => ls.max(rs),
                        };
                        let l = self.cast(l, numeric(ls), false, span)?;
                        let r = self.cast(r, numeric(rs), false, span)?;
                        Expr::Binary {
                            op,
                            left: Box::new(l),
                            right: Box::new(r),
                            ty: numeric(scale),
                        }
                    }
                    _ => Expr::Binary {
                        op,
                        left: Box::new(self.cast(l, common, false, span)?),
                        right: Box::new(self.cast(r, common, false, span)?),
                        ty: common,
                    },
                }
            }
        };
        Ok(fold(out))
    }

    fn bind_case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        let operand = match operand {
            Some(o) => Some(self.bind_expr(o, scope, agg)?),
            None => None,
        };
        let mut whens = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len() + 1);
        for c in conditions {
            let cond = self.bind_expr(&c.condition, scope, agg)?;
            let cond = match &operand {
                Some(o) => self.binary(BinaryOp::Eq, o.clone(), cond, c.condition.span())?,
                None => self.coerce_bool(cond, "CASE/WHEN", c.condition.span())?,
            };
            whens.push(cond);
            results.push(self.bind_expr(&c.result, scope, agg)?);
        }
        let otherwise = match else_result {
            Some(e) => Some(self.bind_expr(e, scope, agg)?),
            None => None,
        };
        // PostgreSQL resolves the ELSE result first, then the THEN results in order (which
        // its error for types that cannot be matched shows).
        let has_else = otherwise.is_some();
        let mut all: Vec<Expr> = otherwise.into_iter().collect();
        all.extend(results);
        let mut all = self.unify(all, "CASE", span)?;
        let ty = all.first().map(|e| e.ty()).unwrap_or(SqlType::Text);
        let otherwise = if has_else && !all.is_empty() {
            Some(Box::new(all.remove(0)))
        } else {
            None
        };
        let whens: Vec<(Expr, Expr)> = whens.into_iter().zip(all).collect();
        Ok(Expr::Case {
            whens,
            otherwise,
            ty,
        })
    }

    /// Converts expressions to one common type (CASE branches, COALESCE, VALUES columns).
    pub fn unify(&self, exprs: Vec<Expr>, what: &str, span: Span) -> Result<Vec<Expr>> {
        let mut ty: Option<SqlType> = None;
        for e in &exprs {
            if matches!(e, Expr::Literal { unknown: true, .. }) {
                continue;
            }
            ty = Some(match ty {
                None => e.ty(),
                Some(t) => common_type(t, e.ty()).ok_or_else(|| Error::DatatypeMismatch {
                    message: format!(
                        "{what} types {} and {} cannot be matched",
                        display_name(t),
                        display_name(e.ty())
                    ),
                    position: self.position(span),
                })?,
            });
        }
        let ty = ty.unwrap_or(SqlType::Text);
        exprs
            .into_iter()
            .map(|e| self.cast(e, ty, false, span))
            .collect()
    }

    fn bind_function(&mut self, f: &ast::Function, scope: &Scope, agg: AggContext) -> Result<Expr> {
        // A quoted name keeps its case, as PostgreSQL's: "abs"(x) calls abs, "ABS"(x) nothing.
        let name = f
            .name
            .0
            .last()
            .map(|p| match p.as_ident() {
                Some(id) => normalize_ident(id),
                None => p.to_string().to_ascii_lowercase(),
            })
            .unwrap_or_default();
        let position = self.position(f.span());
        if let ("array", ast::FunctionArguments::Subquery(q)) = (name.as_str(), &f.args) {
            self.enclosing_agg = agg;
            return self.bind_array_subquery(q, scope, f.span());
        }
        let (args, distinct, star) = match &f.args {
            ast::FunctionArguments::None => (vec![], false, false),
            ast::FunctionArguments::List(list) => {
                let distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                let mut args = Vec::new();
                let mut named: Vec<(ast::Ident, ast::Expr)> = Vec::new();
                let mut star = false;
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))
                            if named.is_empty() =>
                        {
                            args.push(e.clone())
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        ast::FunctionArg::Named {
                            name: n,
                            arg: ast::FunctionArgExpr::Expr(e),
                            operator:
                                ast::FunctionArgOperator::RightArrow
                                | ast::FunctionArgOperator::Assignment,
                        }
                        | ast::FunctionArg::ExprNamed {
                            name: ast::Expr::Identifier(n),
                            arg: ast::FunctionArgExpr::Expr(e),
                            operator:
                                ast::FunctionArgOperator::RightArrow
                                | ast::FunctionArgOperator::Assignment,
                        } => {
                            let key = normalize_ident(n);
                            if named.iter().any(|(m, _)| normalize_ident(m) == key) {
                                return Err(Error::Syntax {
                                    message: format!("argument name \"{key}\" used more than once"),
                                    position: self.position(n.span),
                                });
                            }
                            named.push((n.clone(), e.clone()));
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            return Err(Error::Syntax {
                                message: "positional argument cannot follow named argument".into(),
                                position: self.position(e.span()),
                            })
                        }
                        other => {
                            return Err(Error::Unsupported {
                                message: format!("function argument not supported: {other}"),
                            })
                        }
                    }
                }
                if !named.is_empty() {
                    args = self.place_named_args(&name, args, named, scope, agg, position)?;
                }
                (args, distinct, star)
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(Error::Unsupported {
                    message: "subqueries are not supported yet".into(),
                })
            }
        };
        // Redshift's APPROXIMATE COUNT(DISTINCT x) (see `parse::approximate`).
        let approximate = match f.name.0.as_slice() {
            [_] if name == "count" => {
                crate::parse::approximate::marked_at(self.sql, f.name.span().start)
            }
            _ => None,
        };
        if let Some(at) = approximate {
            if f.over.is_some() || !distinct || star || args.len() != 1 {
                return Err(Error::Syntax {
                    message: "APPROXIMATE applies only to COUNT(DISTINCT expression)".into(),
                    position: self.position(Span::new(at, at)),
                });
            }
        }
        if f.over.is_none() && crate::planner::records::is_record_function(&f.name) {
            let e = ast::Expr::Function(f.clone());
            let record = self
                .bind_record(&e, scope, agg)?
                .ok_or_else(|| Error::Internal(format!("{} did not bind to a record", f.name)))?;
            return self.record_text(&record);
        }
        if f.over.is_none() && crate::planner::set_functions::is_set_function(&f.name) {
            return self.bind_select_set_call(f, &args, scope, agg);
        }
        if f.over.is_some() {
            return self.bind_window_function(&name, f, &args, distinct, star, scope, agg);
        }
        if crate::planner::window::is_window_only(&name) {
            return Err(Error::WrongObjectType {
                message: format!("window function {name} requires an OVER clause"),
                position,
            });
        }
        if name == "grouping" {
            match agg {
                AggContext::Allowed => {}
                AggContext::Forbidden(clause) => {
                    return Err(Error::Grouping {
                        message: format!("grouping operations are not allowed in {clause}"),
                        position,
                    })
                }
                AggContext::Nested => {
                    return Err(Error::Grouping {
                        message: "aggregate function calls cannot contain grouping operations"
                            .into(),
                        position,
                    })
                }
            }
            if args.is_empty() || args.len() > 31 {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function grouping with {} arguments does not exist",
                        args.len()
                    ),
                    position,
                });
            }
            let bound = args
                .iter()
                .map(|a| self.bind_expr(a, scope, AggContext::Nested))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Expr::Function {
                func: ScalarFunc::Grouping,
                args: bound,
                ty: SqlType::Integer,
            });
        }
        // `agg(x) FILTER (WHERE p)` is `agg(CASE WHEN p THEN x END)`: these aggregates skip
        // NULL inputs, so the rows p rejects are left out (COUNT(*) counts a constant).
        let (args, star) = match &f.filter {
            None => (args, star),
            Some(p) => {
                let filtered = matches!(
                    name.as_str(),
                    "count"
                        | "sum"
                        | "avg"
                        | "min"
                        | "max"
                        | "stddev"
                        | "stddev_samp"
                        | "stddev_pop"
                        | "variance"
                        | "var_samp"
                        | "var_pop"
                        | "bool_and"
                        | "every"
                        | "bool_or"
                        | "string_agg"
                        | "listagg"
                );
                if !filtered {
                    let aggregate = matches!(
                        name.as_str(),
                        "array_agg" | "percentile_cont" | "percentile_disc" | "median"
                    );
                    return Err(if aggregate {
                        Error::Unsupported {
                            message: format!("FILTER is not supported with {name} yet"),
                        }
                    } else {
                        Error::WrongObjectType {
                            message: format!(
                                "FILTER specified, but {name} is not an aggregate function"
                            ),
                            position,
                        }
                    });
                }
                self.check_filter(p, scope)?;
                let mut args = args;
                if star {
                    args = vec![ast::Expr::value(ast::Value::Number("1".into(), false))];
                }
                if let Some(first) = args.first_mut() {
                    *first = ast::Expr::Case {
                        case_token: ast::helpers::attached_token::AttachedToken::empty(),
                        end_token: ast::helpers::attached_token::AttachedToken::empty(),
                        operand: None,
                        conditions: vec![ast::CaseWhen {
                            condition: p.as_ref().clone(),
                            result: first.clone(),
                        }],
                        else_result: None,
                    };
                }
                (args, false)
            }
        };
        if matches!(name.as_str(), "array_agg" | "string_agg" | "listagg") {
            return self.bind_collecting_aggregate(&name, f, &args, distinct, scope, agg, position);
        }
        if matches!(
            name.as_str(),
            "percentile_cont" | "percentile_disc" | "median"
        ) {
            return self.bind_percentile(&name, f, &args, scope, agg, position);
        }
        if !f.within_group.is_empty() {
            // PostgreSQL looks for a function over the arguments and the ordering's types.
            let mut types = Vec::new();
            for e in args.iter().chain(f.within_group.iter().map(|o| &o.expr)) {
                let b = self.bind_expr(e, scope, AggContext::Nested)?;
                types.push(display_name(b.ty()));
            }
            return Err(Error::UndefinedFunction {
                message: format!("function {name}({}) does not exist", types.join(", ")),
                position,
            });
        }
        let agg_func = match name.as_str() {
            "count" if approximate.is_some() => Some(AggFunc::ApproxCountDistinct),
            "count" if star => Some(AggFunc::CountStar),
            "count" => Some(AggFunc::Count),
            "sum" => Some(AggFunc::Sum),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "stddev" | "stddev_samp" => Some(AggFunc::StddevSamp),
            "stddev_pop" => Some(AggFunc::StddevPop),
            "variance" | "var_samp" => Some(AggFunc::VarSamp),
            "var_pop" => Some(AggFunc::VarPop),
            "bool_and" | "every" => Some(AggFunc::BoolAnd),
            "bool_or" => Some(AggFunc::BoolOr),
            _ => None,
        };
        if let Some(func) = agg_func {
            if let Some(v) = self.outer_aggregate(f, &args, scope, position)? {
                return Ok(v);
            }
            agg.check(position)?;
            let arg = match (func, args.as_slice()) {
                (AggFunc::CountStar, []) => None,
                (AggFunc::CountStar, _) => None,
                (_, [a]) => Some(self.bind_expr(a, scope, AggContext::Nested)?),
                _ => {
                    // Named with its arguments' types, as PostgreSQL's error names it.
                    let mut types = Vec::with_capacity(args.len());
                    for a in &args {
                        types.push(match self.bind_expr(a, scope, AggContext::Nested)? {
                            Expr::Literal { unknown: true, .. } => "unknown".to_string(),
                            b => display_name(b.ty()),
                        });
                    }
                    return Err(Error::UndefinedFunction {
                        message: format!("function {name}({}) does not exist", types.join(", ")),
                        position,
                    });
                }
            };
            // The sketch replaces DISTINCT's exact set.
            let distinct = distinct && func != AggFunc::ApproxCountDistinct;
            return self.aggregate(func, arg, distinct, &name, position);
        }
        let date_part = super::dates::takes_date_part(&name);
        let bound = args
            .iter()
            .enumerate()
            .map(|(i, a)| match super::dates::date_part_word(a) {
                Some(word) if i == 0 && date_part => Ok(word),
                _ => self.bind_expr(a, scope, agg),
            })
            .collect::<Result<Vec<_>>>()?;
        self.scalar_function(&name, bound, position, f.span())
    }

    /// Checks an aggregate's FILTER condition on its own, for PostgreSQL's errors: no
    /// aggregates in it, and boolean.
    pub(crate) fn check_filter(&mut self, p: &ast::Expr, scope: &Scope) -> Result<()> {
        let mark = self.pending.len();
        let checked = self.bind_expr(p, scope, AggContext::Forbidden("FILTER"));
        self.pending.truncate(mark);
        let checked = self.coerce_unknown(checked?, SqlType::Boolean)?;
        if checked.ty() != SqlType::Boolean {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "argument of FILTER must be type boolean, not type {}",
                    display_name(checked.ty())
                ),
                position: self.position(p.span()),
            });
        }
        Ok(())
    }

    /// The arguments of a call with named ones (`make_interval(days => 10)`) in parameter
    /// order, the parameters not given taking their defaults. Only make_interval has named
    /// parameters; any other call, or an unknown or already given name, does not exist.
    fn place_named_args(
        &mut self,
        name: &str,
        positional: Vec<ast::Expr>,
        named: Vec<(ast::Ident, ast::Expr)>,
        scope: &Scope,
        agg: AggContext,
        position: Option<u32>,
    ) -> Result<Vec<ast::Expr>> {
        const MAKE_INTERVAL: [&str; 7] =
            ["years", "months", "weeks", "days", "hours", "mins", "secs"];
        let params: &[&str] = if name == "make_interval" {
            &MAKE_INTERVAL
        } else {
            &[]
        };
        let mut slots: Vec<Option<ast::Expr>> = vec![None; params.len()];
        let mut fits = positional.len() <= params.len();
        for (k, e) in positional.iter().enumerate() {
            if let Some(slot) = slots.get_mut(k) {
                *slot = Some(e.clone());
            }
        }
        for (n, e) in &named {
            match params.iter().position(|p| *p == normalize_ident(n)) {
                Some(k) if slots[k].is_none() => slots[k] = Some(e.clone()),
                _ => fits = false,
            }
        }
        if fits {
            let zero = ast::Expr::value(ast::Value::Number("0".into(), false));
            return Ok(slots
                .into_iter()
                .map(|s| s.unwrap_or_else(|| zero.clone()))
                .collect());
        }
        let mut shown = Vec::with_capacity(positional.len() + named.len());
        for e in &positional {
            shown.push(display_name(self.bind_expr(e, scope, agg)?.ty()).to_string());
        }
        for (n, e) in &named {
            let ty = self.bind_expr(e, scope, agg)?.ty();
            shown.push(format!("{} => {}", normalize_ident(n), display_name(ty)));
        }
        self.pending.clear();
        Err(Error::UndefinedFunction {
            message: format!("function {name}({}) does not exist", shown.join(", ")),
            position,
        })
    }

    /// PERCENTILE_CONT / PERCENTILE_DISC (f) WITHIN GROUP (ORDER BY x), and MEDIAN(x).
    fn bind_percentile(
        &mut self,
        name: &str,
        f: &ast::Function,
        args: &[ast::Expr],
        scope: &Scope,
        agg: AggContext,
        position: Option<u32>,
    ) -> Result<Expr> {
        match agg {
            AggContext::Allowed => {}
            AggContext::Forbidden(clause) => {
                return Err(Error::Grouping {
                    message: format!("aggregate functions are not allowed in {clause}"),
                    position,
                })
            }
            AggContext::Nested => {
                return Err(Error::Grouping {
                    message: "aggregate function calls cannot be nested".into(),
                    position,
                })
            }
        }
        let span = f.span();
        if name == "median" {
            let [a] = args else {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function median with {} arguments does not exist",
                        args.len()
                    ),
                    position,
                });
            };
            let a = self.bind_expr(a, scope, AggContext::Nested)?;
            return Ok(Expr::Aggregate(Box::new(self.median_call(a, position)?)));
        }
        let ([fraction], [order]) = (args, f.within_group.as_slice()) else {
            return Err(Error::UndefinedFunction {
                message: format!(
                    "function {name} needs one fraction and WITHIN GROUP (ORDER BY one expression)"
                ),
                position,
            });
        };
        let x = self.bind_expr(&order.expr, scope, AggContext::Nested)?;
        let call = self.percentile_call(name, fraction, x, order, position, span)?;
        Ok(Expr::Aggregate(Box::new(call)))
    }

    /// MEDIAN(a) over the bound argument `a`.
    pub(crate) fn median_call(&self, a: Expr, position: Option<u32>) -> Result<AggCall> {
        let a = self.coerce_unknown(a, SqlType::Double)?;
        let ty = match a.ty() {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => numeric(1),
            SqlType::Decimal { scale, .. } => numeric((scale + 1).min(37)),
            SqlType::Real | SqlType::Double => SqlType::Double,
            other => {
                return Err(Error::UndefinedFunction {
                    message: format!("function median({}) does not exist", display_name(other)),
                    position,
                })
            }
        };
        Ok(AggCall::new(AggFunc::Median, Some(a), false, ty))
    }

    /// PERCENTILE_CONT / PERCENTILE_DISC (fraction) WITHIN GROUP (ORDER BY x), `x` bound from
    /// `order`'s expression.
    pub(crate) fn percentile_call(
        &mut self,
        name: &str,
        fraction: &ast::Expr,
        x: Expr,
        order: &ast::OrderByExpr,
        position: Option<u32>,
        span: Span,
    ) -> Result<AggCall> {
        let fr = self.bind_expr(
            fraction,
            &Scope::default(),
            AggContext::Forbidden("the fraction of an ordered-set aggregate"),
        )?;
        let fr = self.coerce_unknown(fr, SqlType::Double)?;
        let fr = self.cast(fr, SqlType::Double, false, span)?;
        let fraction = match fr {
            Expr::Literal {
                value: Datum::Float(v),
                ..
            } => v,
            _ => {
                return Err(Error::Unsupported {
                    message: format!("the fraction of {name} must be a constant"),
                })
            }
        };
        if !(0.0..=1.0).contains(&fraction) {
            return Err(Error::NumericOutOfRange {
                message: format!("percentile value {fraction} is not between 0 and 1"),
            });
        }
        let descending = matches!(order.options.sort, Some(ast::OrderBySort::Desc));
        let (func, x) = if name == "percentile_cont" {
            let x = self.coerce_unknown(x, SqlType::Double)?;
            if !x.ty().is_numeric() {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function percentile_cont(double precision, {}) does not exist",
                        display_name(x.ty())
                    ),
                    position,
                });
            }
            let x = self.cast(x, SqlType::Double, false, span)?;
            (
                AggFunc::PercentileCont {
                    fraction: fraction.to_bits(),
                    descending,
                },
                x,
            )
        } else {
            let x = self.coerce_unknown(x, SqlType::Text)?;
            (
                AggFunc::PercentileDisc {
                    fraction: fraction.to_bits(),
                    descending,
                },
                x,
            )
        };
        let ty = x.ty();
        Ok(AggCall::new(func, Some(x), false, ty))
    }

    pub(crate) fn aggregate(
        &self,
        func: AggFunc,
        arg: Option<Expr>,
        distinct: bool,
        name: &str,
        position: Option<u32>,
    ) -> Result<Expr> {
        let arg = match arg {
            Some(a) => Some(self.coerce_unknown(a, SqlType::Text)?),
            None => None,
        };
        let at = arg.as_ref().map(|a| a.ty());
        let no_fn = |t: SqlType| Error::UndefinedFunction {
            message: format!("function {name}({}) does not exist", display_name(t)),
            position,
        };
        let ty = match (func, at) {
            (AggFunc::CountStar | AggFunc::Count | AggFunc::ApproxCountDistinct, _) => {
                SqlType::BigInt
            }
            (AggFunc::Sum, Some(t)) => match t {
                SqlType::SmallInt | SqlType::Integer => SqlType::BigInt,
                SqlType::BigInt => numeric(0),
                SqlType::Decimal { scale, .. } => numeric(scale),
                SqlType::Real | SqlType::Double | SqlType::Interval => t,
                other => return Err(no_fn(other)),
            },
            (AggFunc::Avg, Some(t)) => match t {
                SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => {
                    numeric(types::NUMERIC_DIVISION_SCALE)
                }
                SqlType::Decimal { scale, .. } => numeric(scale.max(types::NUMERIC_DIVISION_SCALE)),
                SqlType::Real | SqlType::Double => SqlType::Double,
                SqlType::Interval => SqlType::Interval,
                other => return Err(no_fn(other)),
            },
            // PostgreSQL has no min(boolean) or max(boolean) (bool_and and bool_or are).
            (AggFunc::Min | AggFunc::Max, Some(SqlType::Boolean)) => {
                return Err(no_fn(SqlType::Boolean))
            }
            (AggFunc::Min | AggFunc::Max, Some(t)) => t,
            // PostgreSQL: NUMERIC for integer and NUMERIC input, DOUBLE for floats.
            (
                AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop,
                Some(t),
            ) => match t {
                SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => {
                    numeric(types::NUMERIC_DIVISION_SCALE)
                }
                SqlType::Decimal { scale, .. } => numeric(scale.max(types::NUMERIC_DIVISION_SCALE)),
                SqlType::Real | SqlType::Double => SqlType::Double,
                other => return Err(no_fn(other)),
            },
            (
                AggFunc::PercentileCont { .. } | AggFunc::PercentileDisc { .. } | AggFunc::Median,
                _,
            ) => {
                return Err(Error::Internal(format!(
                    "{name} bound as a plain aggregate"
                )))
            }
            (AggFunc::ArrayAgg | AggFunc::StringAgg, _) => {
                return Err(Error::Internal(format!(
                    "{name} bound as a plain aggregate"
                )))
            }
            (AggFunc::BoolAnd | AggFunc::BoolOr, Some(t)) => match t {
                SqlType::Boolean => SqlType::Boolean,
                other => return Err(no_fn(other)),
            },
            (_, None) => return Err(Error::Internal(format!("{name} without an argument"))),
        };
        Ok(Expr::Aggregate(Box::new(AggCall::new(
            func, arg, distinct, ty,
        ))))
    }

    pub(crate) fn scalar_function(
        &self,
        name: &str,
        args: Vec<Expr>,
        position: Option<u32>,
        span: Span,
    ) -> Result<Expr> {
        // An untyped literal shows as `unknown`, as PostgreSQL names it.
        let no_fn = |args: &[Expr]| Error::UndefinedFunction {
            message: format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| match a {
                        Expr::Literal { unknown: true, .. } => "unknown".to_string(),
                        a => display_name(a.ty()),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            position,
        };
        match (name, args.len()) {
            ("coalesce", n) if n >= 1 => {
                let args = self.unify(args, "COALESCE", span)?;
                let ty = args[0].ty();
                let mut args = args;
                let last = args.pop().map(Box::new);
                let whens = args
                    .into_iter()
                    .map(|a| {
                        (
                            Expr::IsNull {
                                expr: Box::new(a.clone()),
                                negated: true,
                            },
                            a,
                        )
                    })
                    .collect();
                Ok(Expr::Case {
                    whens,
                    otherwise: last,
                    ty,
                })
            }
            ("nullif", 2) => {
                let mut it = args.into_iter();
                let (a, b) = match (it.next(), it.next()) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(Error::Internal("nullif arity".into())),
                };
                let a = self.coerce_unknown(a, b.ty())?;
                let ty = a.ty();
                let eq = self.binary(BinaryOp::Eq, a.clone(), b, span)?;
                Ok(Expr::Case {
                    whens: vec![(eq, Expr::literal(Datum::Null, ty))],
                    otherwise: Some(Box::new(a)),
                    ty,
                })
            }
            ("abs", 1) => {
                let a = self.coerce_unknown(
                    args.into_iter().next().ok_or_else(|| no_fn(&[]))?,
                    SqlType::Double,
                )?;
                if numeric_rank(a.ty()).is_none() {
                    return Err(no_fn(std::slice::from_ref(&a)));
                }
                let ty = a.ty();
                Ok(fold(Expr::Function {
                    func: ScalarFunc::Abs,
                    args: vec![a],
                    ty,
                }))
            }
            ("length" | "char_length" | "character_length" | "len", 1) => {
                let a = self.coerce_unknown(
                    args.into_iter().next().ok_or_else(|| no_fn(&[]))?,
                    SqlType::Text,
                )?;
                if !a.ty().is_string() {
                    return Err(no_fn(std::slice::from_ref(&a)));
                }
                Ok(fold(Expr::Function {
                    func: ScalarFunc::Length,
                    args: vec![self.cast(a, SqlType::Text, true, span)?],
                    ty: SqlType::Integer,
                }))
            }
            ("upper" | "lower", 1) => {
                let a = self.coerce_unknown(
                    args.into_iter().next().ok_or_else(|| no_fn(&[]))?,
                    SqlType::Text,
                )?;
                if !a.ty().is_string() {
                    return Err(no_fn(std::slice::from_ref(&a)));
                }
                Ok(fold(Expr::Function {
                    func: if name == "upper" {
                        ScalarFunc::Upper
                    } else {
                        ScalarFunc::Lower
                    },
                    args: vec![self.cast(a, SqlType::Text, true, span)?],
                    ty: SqlType::Text,
                }))
            }
            ("round", 1 | 2) => {
                let mut it = args.into_iter();
                let a = it.next().ok_or_else(|| no_fn(&[]))?;
                let a = self.coerce_unknown(a, numeric(0))?;
                let digits = match it.next() {
                    None => 0i64,
                    Some(d) => match self.coerce_unknown(d, SqlType::Integer)? {
                        Expr::Literal {
                            value: Datum::Int(v),
                            ..
                        } => v,
                        _ => {
                            return Err(Error::Unsupported {
                                message: "round() digits must be a constant".into(),
                            })
                        }
                    },
                };
                let exact = matches!(
                    a.ty(),
                    SqlType::Decimal { .. }
                        | SqlType::SmallInt
                        | SqlType::Integer
                        | SqlType::BigInt
                );
                if digits < 0 && exact {
                    // round(x, -n): to a multiple of 10^n, on NUMERIC as PostgreSQL.
                    let a = match a.ty() {
                        SqlType::Decimal { .. } => a,
                        _ => self.cast(a, numeric(0), false, span)?,
                    };
                    let (target, tens) = crate::planner::functions::decimal_digits(digits);
                    return Ok(fold(Expr::Function {
                        func: ScalarFunc::DecimalRound(RoundMode::Round, tens),
                        args: vec![a],
                        ty: numeric(target),
                    }));
                }
                if digits != 0 && matches!(a.ty(), SqlType::Real | SqlType::Double) {
                    // round(double precision, integer) does not exist in PostgreSQL either.
                    return Err(Error::UndefinedFunction {
                        message: format!(
                            "function round({}, integer) does not exist",
                            display_name(a.ty())
                        ),
                        position,
                    });
                }
                let (a, ty) = match a.ty() {
                    SqlType::Decimal { .. } => (a, numeric(digits.clamp(0, 38) as i8)),
                    t if numeric_rank(t).is_some()
                        && digits == 0
                        && t != SqlType::Real
                        && t != SqlType::Double =>
                    {
                        let a = self.cast(a, numeric(0), false, span)?;
                        (a, numeric(0))
                    }
                    SqlType::Real | SqlType::Double if digits == 0 => {
                        (self.cast(a, SqlType::Double, false, span)?, SqlType::Double)
                    }
                    t if numeric_rank(t).is_some() => {
                        let a = self.cast(a, numeric(0), false, span)?;
                        (a, numeric(digits.clamp(0, 38) as i8))
                    }
                    _ => return Err(no_fn(std::slice::from_ref(&a))),
                };
                Ok(fold(Expr::Function {
                    func: ScalarFunc::Round,
                    args: vec![a],
                    ty,
                }))
            }
            ("substring" | "substr", 2 | 3) => {
                let fits = |e: &Expr, t: SqlType| match e {
                    Expr::Literal { unknown: true, .. } => true,
                    e if t.is_string() => e.ty().is_string(),
                    e => matches!(e.ty(), SqlType::SmallInt | SqlType::Integer),
                };
                if !args.iter().enumerate().all(|(i, a)| {
                    fits(
                        a,
                        if i == 0 {
                            SqlType::Text
                        } else {
                            SqlType::Integer
                        },
                    )
                }) {
                    return Err(no_fn(&args));
                }
                let mut it = args.into_iter();
                let v = it.next().ok_or_else(|| no_fn(&[]))?;
                let v = self.coerce_unknown(v, SqlType::Text)?;
                if !v.ty().is_string() {
                    return Err(no_fn(std::slice::from_ref(&v)));
                }
                let mut out = vec![self.cast(v, SqlType::Text, true, span)?];
                for a in it {
                    let a = self.coerce_unknown(a, SqlType::Integer)?;
                    if !matches!(a.ty(), SqlType::SmallInt | SqlType::Integer) {
                        return Err(no_fn(std::slice::from_ref(&a)));
                    }
                    out.push(self.cast(a, SqlType::Integer, false, span)?);
                }
                Ok(fold(Expr::Function {
                    func: ScalarFunc::Substring,
                    args: out,
                    ty: SqlType::Text,
                }))
            }
            ("date_part", 2) => {
                let mut it = args.into_iter();
                let (f, v) = match (it.next(), it.next()) {
                    (Some(f), Some(v)) => (f, v),
                    _ => return Err(no_fn(&[])),
                };
                let field = match self.coerce_unknown(f, SqlType::Text)? {
                    Expr::Literal {
                        value: Datum::Text(t),
                        ..
                    } => t,
                    _ => {
                        return Err(Error::Unsupported {
                            message: "date_part() field must be a constant".into(),
                        })
                    }
                };
                let e = self.extract(&field, v, span)?;
                self.cast(e, SqlType::Double, false, span)
            }
            ("version", 0) => Ok(Expr::Function {
                func: ScalarFunc::Version,
                args: vec![],
                ty: SqlType::Text,
            }),
            _ => match self.builtin_function(name, args, position, span)? {
                Ok(e) => Ok(e),
                Err(args) => {
                    crate::catalog::function(self, name, args, span)?.map_err(|a| no_fn(&a))
                }
            },
        }
    }
}

/// An identifier as PostgreSQL folds it: unquoted names to lower case.
pub fn normalize_ident(id: &ast::Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_lowercase(),
    }
}

/// 1-based character offset in `sql` of a span's start.
pub fn span_position(sql: &str, span: Span) -> Option<u32> {
    let (line, col) = (span.start.line, span.start.column);
    if line == 0 {
        return None;
    }
    let mut offset = 0usize;
    for (i, l) in sql.split_inclusive('\n').enumerate() {
        if i as u64 + 1 == line {
            return u32::try_from(offset + col as usize).ok();
        }
        offset += l.chars().count();
    }
    None
}

/// Folds an expression with no column references into a literal, if it can be evaluated
/// without error (an error is left to surface when the statement runs, as PostgreSQL would).
/// The built-in operator `OPERATOR(schema.symbol)` names: PostgreSQL's operators live in
/// `pg_catalog`. `None` for another schema or an unknown symbol.
fn qualified_operator(parts: &[String]) -> Option<ast::BinaryOperator> {
    use ast::BinaryOperator as B;
    let (symbol, schema) = parts.split_last()?;
    if !(schema.is_empty() || (schema.len() == 1 && schema[0].eq_ignore_ascii_case("pg_catalog"))) {
        return None;
    }
    Some(match symbol.as_str() {
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "=" => B::Eq,
        "<>" | "!=" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "+" => B::Plus,
        "-" => B::Minus,
        "*" => B::Multiply,
        "/" => B::Divide,
        "%" => B::Modulo,
        "||" => B::StringConcat,
        "&" => B::BitwiseAnd,
        "|" => B::BitwiseOr,
        "#" => B::PGBitwiseXor,
        "<<" => B::PGBitwiseShiftLeft,
        ">>" => B::PGBitwiseShiftRight,
        _ => return None,
    })
}

pub fn fold(e: Expr) -> Expr {
    if matches!(e, Expr::Literal { .. }) || !e.is_constant() {
        return e;
    }
    if matches!(
        e,
        Expr::Function {
            func: ScalarFunc::Version,
            ..
        }
    ) {
        return e;
    }
    let batch = match arrow_array::RecordBatch::try_new_with_options(
        crate::kernels::eval::empty_schema(),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    ) {
        Ok(b) => b,
        Err(_) => return e,
    };
    match crate::kernels::eval::evaluate(&e, &batch) {
        Ok(arr) => Expr::literal(
            crate::kernels::cast::datum_at(arr.as_ref(), 0, e.ty()),
            e.ty(),
        ),
        Err(_) => e,
    }
}

/// Name PostgreSQL gives a result column computed by `e` (FigureColname).
/// The column name PostgreSQL gives `expr::type` when `expr` has none: the type's internal
/// name (`int4`), the element type's for an array.
fn type_column_name(data_type: &ast::DataType) -> String {
    match data_type {
        ast::DataType::Int(_) | ast::DataType::Integer(_) | ast::DataType::Int4(_) => "int4".into(),
        ast::DataType::BigInt(_) | ast::DataType::Int8(_) => "int8".into(),
        ast::DataType::SmallInt(_) | ast::DataType::Int2(_) => "int2".into(),
        ast::DataType::Numeric(_) | ast::DataType::Decimal(_) | ast::DataType::Dec(_) => {
            "numeric".into()
        }
        ast::DataType::Real | ast::DataType::Float4 => "float4".into(),
        ast::DataType::Double(_) | ast::DataType::DoublePrecision | ast::DataType::Float8 => {
            "float8".into()
        }
        ast::DataType::Bool | ast::DataType::Boolean => "bool".into(),
        ast::DataType::Varchar(_) | ast::DataType::CharacterVarying(_) => "varchar".into(),
        ast::DataType::Char(_) | ast::DataType::Character(_) => "bpchar".into(),
        ast::DataType::Text => "text".into(),
        ast::DataType::Date => "date".into(),
        ast::DataType::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => {
            "timestamptz".into()
        }
        ast::DataType::Timestamp(..) => "timestamp".into(),
        ast::DataType::Time(..) => "time".into(),
        ast::DataType::Interval { .. } => "interval".into(),
        ast::DataType::Array(ast::ArrayElemTypeDef::SquareBracket(inner, _)) => {
            type_column_name(inner)
        }
        ast::DataType::Regclass => "regclass".into(),
        ast::DataType::Custom(name, _) => name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(normalize_ident)
            .unwrap_or_else(|| "?column?".into()),
        _ => "?column?".into(),
    }
}

/// The name of a query's first output column as written, or `?column?`.
fn subquery_column_name(q: &ast::Query) -> String {
    let mut body = q.body.as_ref();
    loop {
        match body {
            ast::SetExpr::SetOperation { left, .. } => body = left,
            ast::SetExpr::Query(inner) => body = inner.body.as_ref(),
            ast::SetExpr::Select(s) => {
                return match s.projection.first() {
                    Some(ast::SelectItem::UnnamedExpr(e)) => column_name(e),
                    Some(ast::SelectItem::ExprWithAlias { alias, .. }) => normalize_ident(alias),
                    _ => "?column?".into(),
                }
            }
            _ => return "?column?".into(),
        }
    }
}

pub fn column_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => normalize_ident(id),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(normalize_ident).unwrap_or_default(),
        ast::Expr::Nested(inner) => column_name(inner),
        ast::Expr::Function(f) => f
            .name
            .0
            .last()
            .map(|p| p.to_string().to_ascii_lowercase())
            .unwrap_or_else(|| "?column?".into()),
        ast::Expr::Cast {
            expr, data_type, ..
        } => {
            let inner = column_name(expr);
            if inner != "?column?" {
                return inner;
            }
            type_column_name(data_type)
        }
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::Array(_) => "array".into(),
        ast::Expr::Exists { .. } => "exists".into(),
        // A scalar subquery is named after its select list's column.
        ast::Expr::Subquery(q) => subquery_column_name(q),
        // `t.col[i]` is named after `col`, the last field reached by a dot.
        ast::Expr::CompoundFieldAccess { root, access_chain } => access_chain
            .iter()
            .rev()
            .find_map(|a| match a {
                ast::AccessExpr::Dot(e) => Some(column_name(e)),
                ast::AccessExpr::Subscript(_) => None,
            })
            .unwrap_or_else(|| column_name(root)),
        ast::Expr::Extract { .. } => "extract".into(),
        ast::Expr::Substring { .. } => "substring".into(),
        ast::Expr::Position { .. } => "position".into(),
        ast::Expr::Trim { trim_where, .. } => match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim".into(),
            Some(ast::TrimWhereField::Trailing) => "rtrim".into(),
            _ => "btrim".into(),
        },
        ast::Expr::Ceil { .. } => "ceil".into(),
        ast::Expr::Floor { .. } => "floor".into(),
        ast::Expr::Interval(_) => "interval".into(),
        ast::Expr::TypedString(ts) => match ts.data_type {
            ast::DataType::Date => "date".into(),
            ast::DataType::Timestamp(..) => "timestamp".into(),
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

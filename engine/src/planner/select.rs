//! Binding queries: FROM and joins, WHERE, grouping and aggregates, HAVING, the select list,
//! DISTINCT, ORDER BY, LIMIT and OFFSET.

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{
    column_name, normalize_ident, AggContext, Binder, CteDef, MergedColumn, Scope, ScopeColumn,
    StarItem,
};
use crate::planner::estimate::{self, ColumnEstimate};
use crate::planner::expr::{
    AggCall, AggFunc, BinaryOp, Expr, ScalarFunc, WindowCall, WindowFrame, WindowFunc,
};
use crate::planner::plan::{JoinType, Plan, SetOpKind, SortKey};
use crate::planner::records::Record;
use crate::planner::set_functions::{DOMAIN_BASE, SELECT_MARK};
use crate::planner::subquery::{Domain, HIDDEN_PREFIX};
use crate::planner::window::{contains_window, plan_windows};
use crate::types::Datum;
use crate::ResultColumn;

/// A bound query: its plan and the names and types of its output columns.
#[derive(Clone, Debug)]
pub struct BoundQuery {
    pub plan: Plan,
    pub columns: Vec<ResultColumn>,
}

/// A lateral function item's calls (over the FROM clause's columns) and WITH ORDINALITY.
type Lateral = (Vec<crate::planner::plan::SetCall>, bool);

/// A join condition: as written (ON, bound with WHERE) or already bound over the FROM
/// clause's columns (JOIN USING's equalities).
enum Condition<'q> {
    Written(&'q ast::Expr),
    Bound(Expr),
}

/// A FROM clause (or a parenthesised join) while it is bound: its items in order, the scope
/// of all their columns, and the conditions that join them.
#[derive(Default)]
struct FromItems<'q> {
    relations: Vec<Relation>,
    /// For each relation, the set-returning calls it applies on top of the others when its
    /// arguments read them (a lateral function item).
    laterals: Vec<Option<Lateral>>,
    scope: Scope,
    conditions: Vec<Condition<'q>>,
}

/// `l = r`, for two expressions of one type.
fn equals(l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(l),
        right: Box::new(r),
        ty: SqlType::Boolean,
    }
}

/// One FROM item after binding: its plan and the columns it contributes.
struct Relation {
    plan: Plan,
    scope: Scope,
    /// Estimated rows, for choosing the hash join's build side.
    rows: u64,
}

impl Binder<'_> {
    /// Binds a full query (with ORDER BY / LIMIT).
    pub fn bind_query(&mut self, q: &ast::Query) -> Result<BoundQuery> {
        let mark = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = normalize_ident(&cte.alias.name);
                if self.ctes[mark..].iter().any(|c| c.name == name) {
                    self.ctes.truncate(mark);
                    return Err(Error::DuplicateWithQuery {
                        name,
                        position: self.position(cte.alias.name.span),
                    });
                }
                self.ctes.push(CteDef::new(cte, q, with.recursive));
            }
        }
        // A set-returning call belongs to the select list of its own query, not an
        // enclosing one.
        let enclosing_set_calls = self.select_set_calls.take();
        let r = self.bind_query_body(q);
        self.select_set_calls = enclosing_set_calls;
        self.ctes.truncate(mark);
        r
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> Result<BoundQuery> {
        let order_by: &[ast::OrderByExpr] = match &q.order_by {
            None => &[],
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(e) => e,
                ast::OrderByKind::All(_) => {
                    return Err(Error::Unsupported {
                        message: "ORDER BY ALL is not supported".into(),
                    })
                }
            },
        };
        let expose = std::mem::take(&mut self.expose_records);
        let bounds = self.limit_bounds(q)?;
        let bound = match q.body.as_ref() {
            ast::SetExpr::Select(s) => {
                self.expose_records = expose;
                if self.entering_subquery && self.domain.is_some() {
                    // A decorrelated subquery's LIMIT applies per outer row: the SELECT
                    // ranks its rows within each domain value instead.
                    self.lifted_limit = bounds;
                    let r = self.bind_select(s, order_by);
                    self.lifted_limit = None;
                    return r;
                }
                self.bind_select(s, order_by)?
            }
            other => {
                let inner = self.bind_set_expr(other)?;
                self.order_output(inner, order_by)?
            }
        };
        Ok(match bounds {
            Some((offset, limit)) => BoundQuery {
                plan: Plan::Limit {
                    input: Box::new(bound.plan),
                    offset,
                    limit,
                },
                ..bound
            },
            None => bound,
        })
    }

    pub(crate) fn bind_set_expr(&mut self, body: &ast::SetExpr) -> Result<BoundQuery> {
        match body {
            ast::SetExpr::Select(s) => self.bind_select(s, &[]),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(v) => self.bind_values(v, None),
            ast::SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => self.bind_set_operation(*op, *set_quantifier, left, right),
            other => Err(Error::Unsupported {
                message: format!("not supported yet: {other}"),
            }),
        }
    }

    fn bind_set_operation(
        &mut self,
        op: ast::SetOperator,
        quantifier: ast::SetQuantifier,
        left: &ast::SetExpr,
        right: &ast::SetExpr,
    ) -> Result<BoundQuery> {
        let kind = match op {
            ast::SetOperator::Union => SetOpKind::Union,
            ast::SetOperator::Intersect => SetOpKind::Intersect,
            ast::SetOperator::Except | ast::SetOperator::Minus => SetOpKind::Except,
        };
        let all = match quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => {
                return Err(Error::Unsupported {
                    message: format!("{op} {other} is not supported"),
                })
            }
        };
        self.set_operand = matches!(left, ast::SetExpr::Select(_));
        let l = self.bind_set_expr(left);
        self.set_operand = false;
        let mut l = l?;
        self.set_operand = matches!(right, ast::SetExpr::Select(_));
        let r = self.bind_set_expr(right);
        self.set_operand = false;
        let mut r = r?;
        let what = op.to_string().to_uppercase();
        if l.columns.len() != r.columns.len() {
            return Err(Error::Syntax {
                message: format!("each {what} query must have the same number of columns"),
                position: self.position(right.span()),
            });
        }
        // Each column takes the common type of both sides; an untyped literal takes the other
        // side's type (TEXT when both are untyped), as in PostgreSQL.
        for i in 0..l.columns.len() {
            let (lu, ru) = (untyped_column(&l.plan, i), untyped_column(&r.plan, i));
            let target = match (lu, ru) {
                (true, false) => r.columns[i].ty,
                (false, true) => l.columns[i].ty,
                _ => SqlType::Text,
            };
            for (side, untyped) in [(&mut l, lu), (&mut r, ru)] {
                if untyped {
                    self.type_untyped_column(side, i, target)?;
                }
            }
        }
        let mut types = Vec::with_capacity(l.columns.len());
        for (a, b) in l.columns.iter().zip(&r.columns) {
            let t =
                crate::types::common_type(a.ty, b.ty).ok_or_else(|| Error::DatatypeMismatch {
                    message: format!(
                        "{what} types {} and {} cannot be matched",
                        crate::types::display_name(a.ty),
                        crate::types::display_name(b.ty)
                    ),
                    position: self.position(right.span()),
                })?;
            types.push(t);
        }
        let columns = l
            .columns
            .iter()
            .zip(&types)
            .map(|(c, t)| ResultColumn {
                name: c.name.clone(),
                ty: *t,
                origin: None,
            })
            .collect();
        let left = self.convert_columns(l, &types)?;
        let right = self.convert_columns(r, &types)?;
        Ok(BoundQuery {
            plan: Plan::SetOp {
                left: Box::new(left),
                right: Box::new(right),
                kind,
                all,
            },
            columns,
        })
    }

    /// Gives column `i` of a set operation's operand, an untyped literal, the type `ty`.
    fn type_untyped_column(&mut self, q: &mut BoundQuery, i: usize, ty: SqlType) -> Result<()> {
        let Plan::Project { exprs, .. } = &mut q.plan else {
            return Err(Error::Internal("untyped set operation column".into()));
        };
        let e = self.coerce_unknown(exprs[i].clone(), ty)?;
        // An untyped literal TEXT's own way stays untyped no more.
        let e = match e {
            Expr::Literal {
                value, ty, param, ..
            } => Expr::Literal {
                value,
                ty,
                unknown: false,
                param,
            },
            other => other,
        };
        q.columns[i].ty = e.ty();
        exprs[i] = e;
        Ok(())
    }

    /// Binds VALUES rows. With `targets`, each column is converted to the target type as an
    /// assignment (INSERT); otherwise columns take the common type of their rows.
    pub fn bind_values(
        &mut self,
        v: &ast::Values,
        targets: Option<&[(String, SqlType)]>,
    ) -> Result<BoundQuery> {
        // A VALUES list is not a subquery's own level (that is a SELECT): like a derived
        // table's SELECT, it does not see the enclosing queries' columns.
        let saved_outer = std::mem::take(&mut self.outer);
        let r = self.bind_values_rows(v, targets);
        self.outer = saved_outer;
        r
    }

    fn bind_values_rows(
        &mut self,
        v: &ast::Values,
        targets: Option<&[(String, SqlType)]>,
    ) -> Result<BoundQuery> {
        let empty = Scope::default();
        let width = v.rows.first().map(|r| r.len()).unwrap_or(0);
        let mut rows: Vec<Vec<Expr>> = Vec::with_capacity(v.rows.len());
        for row in &v.rows {
            if row.len() != width {
                return Err(Error::Syntax {
                    message: "VALUES lists must all be the same length".into(),
                    position: self.position(row.first().map(|e| e.span()).unwrap_or(Span::empty())),
                });
            }
            let mut out = Vec::with_capacity(width);
            for (i, e) in row.iter().enumerate() {
                let b = self.bind_expr(e, &empty, AggContext::Forbidden("VALUES"))?;
                let b = match targets.and_then(|t| t.get(i)) {
                    Some((name, ty)) => self.assign(b, *ty, name, e.span())?,
                    None => b,
                };
                out.push(b);
            }
            rows.push(out);
        }
        self.no_subqueries_here("VALUES")?;
        let mut types = Vec::with_capacity(width);
        if targets.is_none() {
            // Unify each column across rows.
            for c in 0..width {
                let col: Vec<Expr> = rows.iter().map(|r| r[c].clone()).collect();
                let col = self.unify(col, "VALUES", Span::empty())?;
                for (r, e) in rows.iter_mut().zip(col) {
                    r[c] = e;
                }
            }
        }
        for c in 0..width {
            types.push(rows.first().map(|r| r[c].ty()).unwrap_or(SqlType::Text));
        }
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, ty)| ResultColumn {
                name: format!("column{}", i + 1),
                ty: *ty,
                origin: None,
            })
            .collect();
        Ok(BoundQuery {
            plan: Plan::Values { rows, types },
            columns,
        })
    }

    /// ORDER BY over a query's output columns only (VALUES, nested queries).
    fn order_output(&mut self, q: BoundQuery, order_by: &[ast::OrderByExpr]) -> Result<BoundQuery> {
        if order_by.is_empty() {
            return Ok(q);
        }
        let scope = Scope {
            columns: q
                .columns
                .iter()
                .map(|c| ScopeColumn {
                    relation: None,
                    name: c.name.clone(),
                    ty: c.ty,
                    origin: None,
                })
                .collect(),
            ..Default::default()
        };
        let mut keys = Vec::new();
        for ob in order_by {
            let expr = match self.output_reference(&ob.expr, &q.columns)? {
                Some(i) => Expr::Column {
                    index: i,
                    ty: q.columns[i].ty,
                },
                None => self.bind_expr(&ob.expr, &scope, AggContext::Forbidden("ORDER BY"))?,
            };
            keys.push(sort_key(expr, &ob.options));
        }
        self.no_subqueries_here("ORDER BY")?;
        Ok(BoundQuery {
            plan: Plan::Sort {
                input: Box::new(q.plan),
                keys,
            },
            columns: q.columns,
        })
    }

    /// An ORDER BY / GROUP BY item that names an output column by position or alias.
    fn output_reference(&self, e: &ast::Expr, columns: &[ResultColumn]) -> Result<Option<usize>> {
        match e {
            ast::Expr::Value(v) => {
                if let ast::Value::Number(n, _) = &v.value {
                    let k: usize = n.parse().unwrap_or(0);
                    if k == 0 || k > columns.len() {
                        return Err(Error::InvalidColumnReference {
                            message: format!("ORDER BY position {n} is not in select list"),
                            position: self.position(v.span),
                        });
                    }
                    return Ok(Some(k - 1));
                }
                Ok(None)
            }
            ast::Expr::Identifier(id) => {
                let name = normalize_ident(id);
                let matches: Vec<usize> = columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.name == name)
                    .map(|(i, _)| i)
                    .collect();
                match matches.as_slice() {
                    [i] => Ok(Some(*i)),
                    [] => Ok(None),
                    _ => Err(Error::AmbiguousColumn {
                        name,
                        position: self.position(id.span),
                    }),
                }
            }
            _ => Ok(None),
        }
    }

    /// A query's LIMIT / OFFSET / FETCH FIRST as (rows skipped, rows kept at most), or `None`
    /// when they keep every row.
    fn limit_bounds(&mut self, q: &ast::Query) -> Result<Option<(u64, Option<u64>)>> {
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit), Some(offset))
            }
        };
        let mut limit = match limit {
            Some(e) => self.constant_count(e, "LIMIT")?,
            None => None,
        };
        let offset = match offset {
            Some(e) => self.constant_count(e, "OFFSET")?,
            None => None,
        };
        if let Some(fetch) = &q.fetch {
            if fetch.with_ties || fetch.percent {
                return Err(Error::Unsupported {
                    message: "FETCH FIRST ... WITH TIES or PERCENT is not supported yet".into(),
                });
            }
            // FETCH FIRST ROWS ONLY, without a count, keeps one row.
            let n = match &fetch.quantity {
                Some(e) => self.constant_count(e, "FETCH FIRST")?,
                None => Some(1),
            };
            limit = match (limit, n) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        // PostgreSQL checks the OFFSET first, and FETCH FIRST's count as a LIMIT.
        let offset = match offset {
            Some(v) => u64::try_from(v).map_err(|_| Error::NegativeOffset)?,
            None => 0,
        };
        let limit = match limit {
            Some(v) => Some(u64::try_from(v).map_err(|_| Error::NegativeLimit)?),
            None => None,
        };
        Ok((limit.is_some() || offset > 0).then_some((offset, limit)))
    }

    /// The value of a LIMIT, OFFSET or FETCH FIRST count (`None` for NULL), which must be a
    /// constant; the caller checks its sign.
    fn constant_count(&mut self, e: &ast::Expr, what: &'static str) -> Result<Option<i64>> {
        // The enclosing query's subqueries stay pending; only this clause's are refused.
        let enclosing = std::mem::take(&mut self.pending);
        let b = self.bind_expr(e, &Scope::default(), AggContext::Forbidden(what));
        let checked = self.no_subqueries_here(what);
        self.pending = enclosing;
        let b = b?;
        checked?;
        let b = self.coerce_unknown(b, SqlType::BigInt)?;
        let b = self.cast(b, SqlType::BigInt, false, e.span())?;
        match b {
            Expr::Literal {
                value: Datum::Null, ..
            } => Ok(None),
            Expr::Literal {
                value: Datum::Int(v),
                ..
            } => Ok(Some(v)),
            _ => Err(Error::Unsupported {
                message: format!("{what} must be a constant"),
            }),
        }
    }

    fn bind_select(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<BoundQuery> {
        // A subquery's SELECT sees the enclosing queries and may receive a domain; any other
        // SELECT (a derived table, a set operation's arm) starts afresh.
        let is_subquery = std::mem::take(&mut self.entering_subquery);
        let domain = if is_subquery {
            self.domain.take()
        } else {
            None
        };
        let lifted_limit = self.lifted_limit.take().filter(|_| domain.is_some());
        let saved_outer = if is_subquery {
            None
        } else {
            Some(std::mem::take(&mut self.outer))
        };
        let saved_pending = std::mem::take(&mut self.pending);
        let windows_mark = self.named_windows.len();
        self.named_windows.extend(
            s.named_window
                .iter()
                .map(|d| (normalize_ident(&d.0), d.1.clone(), d.0.span.end)),
        );
        let r = self.bind_select_body(s, order_by, domain, lifted_limit);
        self.named_windows.truncate(windows_mark);
        self.pending = saved_pending;
        if let Some(outer) = saved_outer {
            self.outer = outer;
        }
        r
    }

    fn bind_select_body(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
        domain: Option<Domain>,
        lifted_limit: Option<(u64, Option<u64>)>,
    ) -> Result<BoundQuery> {
        let expose = std::mem::take(&mut self.expose_records);
        let set_operand = std::mem::take(&mut self.set_operand);
        let nd = domain.as_ref().map(|d| d.types.len()).unwrap_or(0);
        if s.top.is_some() || !s.lateral_views.is_empty() {
            return Err(Error::Unsupported {
                message: "this SELECT form is not supported yet".into(),
            });
        }
        // FROM and WHERE: joined input with every predicate applied.
        let (mut plan, scope) = self.bind_from(&s.from, s.selection.as_ref(), domain)?;
        let domain_offset = scope
            .columns
            .iter()
            .position(|c| {
                c.name.starts_with(HIDDEN_PREFIX)
                    && crate::planner::records::field_column_parts(&c.name).is_none()
            })
            .unwrap_or(scope.columns.len());

        // The select list, bound against the input (aggregates still inside); its
        // set-returning calls are collected.
        let saved_set_calls = self.select_set_calls.replace(Vec::new());
        let items = self.bind_select_items(s, &scope);
        let set_calls =
            std::mem::replace(&mut self.select_set_calls, saved_set_calls).unwrap_or_default();
        let (mut items, records) = items?;
        // Untyped literals in the select list become TEXT, but for a set operation's plain
        // operand, whose columns the set operation types.
        let keep_untyped = set_operand
            && s.distinct.is_none()
            && order_by.is_empty()
            && matches!(&s.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty())
            && s.having.is_none();
        for (e, _) in items.iter_mut() {
            if matches!(e, Expr::Literal { unknown: true, .. }) && !keep_untyped {
                *e = self.coerce_unknown(e.clone(), SqlType::Text)?;
            }
        }
        let mut output_names: Vec<ResultColumn> = items
            .iter()
            .map(|(e, n)| ResultColumn {
                name: n.clone(),
                ty: e.ty(),
                origin: scope.origin_of(e),
            })
            .collect();
        // A derived table's or WITH query's records also put out their fields, hidden.
        if expose && nd == 0 {
            for (i, r) in &records {
                let column = output_names[*i].name.clone();
                for (name, field) in r.names.iter().zip(&r.fields) {
                    let hidden = crate::planner::records::field_column_name(&column, name);
                    output_names.push(ResultColumn {
                        name: hidden.clone(),
                        ty: field.ty(),
                        origin: None,
                    });
                    items.push((field.clone(), hidden));
                }
            }
        }
        // A decorrelated subquery also returns its domain columns, after the select list.
        for j in 0..nd {
            let ty = scope.columns[domain_offset + j].ty;
            items.push((
                Expr::Column {
                    index: domain_offset + j,
                    ty,
                },
                String::new(),
            ));
        }

        // GROUP BY.
        let mut has_sets = false;
        let mut grouping_sets: Option<Vec<Vec<usize>>> = None;
        let group_exprs: Vec<Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(Error::Unsupported {
                        message: "GROUP BY modifiers are not supported yet".into(),
                    });
                }
                // The distinct grouping expressions, and each grouping set as indices into
                // them: the cross product of every item's alternatives (a plain expression
                // has one; ROLLUP, CUBE and GROUPING SETS several).
                let mut out: Vec<Expr> = Vec::new();
                let mut sets: Vec<Vec<usize>> = vec![vec![]];
                for g in exprs {
                    let alternatives: Vec<Vec<&ast::Expr>> = match g {
                        ast::Expr::Rollup(lists) => {
                            has_sets = true;
                            (0..=lists.len())
                                .rev()
                                .map(|k| lists[..k].iter().flatten().collect())
                                .collect()
                        }
                        ast::Expr::Cube(lists) => {
                            has_sets = true;
                            if lists.len() > 12 {
                                return Err(Error::TooManyColumns {
                                    message: "CUBE is limited to 12 elements".into(),
                                });
                            }
                            let k = lists.len();
                            (0..(1usize << k))
                                .rev()
                                .map(|mask| {
                                    (0..k)
                                        .filter(|b| mask & (1 << (k - 1 - b)) != 0)
                                        .flat_map(|b| lists[b].iter())
                                        .collect()
                                })
                                .collect()
                        }
                        ast::Expr::GroupingSets(lists) => {
                            has_sets = true;
                            // A ROLLUP or CUBE among the sets stands for all of its own.
                            let mut sets = Vec::new();
                            for l in lists {
                                match l.as_slice() {
                                    [one] => match nested_sets(one)? {
                                        Some(expanded) => sets.extend(expanded),
                                        None => sets.push(vec![one]),
                                    },
                                    _ => sets.push(l.iter().collect()),
                                }
                            }
                            sets
                        }
                        // `()`: the empty grouping set.
                        ast::Expr::Tuple(t) if t.is_empty() => {
                            has_sets = true;
                            vec![vec![]]
                        }
                        other => vec![vec![other]],
                    };
                    let mut alt_sets: Vec<Vec<usize>> = Vec::with_capacity(alternatives.len());
                    for alt in alternatives {
                        let mut set = Vec::new();
                        for e in alt {
                            if matches!(
                                e,
                                ast::Expr::Rollup(_)
                                    | ast::Expr::Cube(_)
                                    | ast::Expr::GroupingSets(_)
                            ) {
                                return Err(Error::Unsupported {
                                    message:
                                        "nested ROLLUP, CUBE or GROUPING SETS are not supported yet"
                                            .into(),
                                });
                            }
                            let b = self.bind_group_item(e, &scope, &output_names, &items)?;
                            let i = match out.iter().position(|x| *x == b) {
                                Some(i) => i,
                                None => {
                                    out.push(b);
                                    out.len() - 1
                                }
                            };
                            if !set.contains(&i) {
                                set.push(i);
                            }
                        }
                        alt_sets.push(set);
                    }
                    sets = sets
                        .iter()
                        .flat_map(|s| {
                            alt_sets.iter().map(move |a| {
                                let mut x = s.clone();
                                for i in a {
                                    if !x.contains(i) {
                                        x.push(*i);
                                    }
                                }
                                x
                            })
                        })
                        .collect();
                    if sets.len() > GROUPING_SETS_MAX {
                        return Err(Error::ProgramLimitExceeded {
                            message: format!(
                                "too many grouping sets present (maximum {GROUPING_SETS_MAX})"
                            ),
                        });
                    }
                }
                if has_sets {
                    if out.len() > 31 {
                        return Err(Error::ProgramLimitExceeded {
                            message: "grouping sets are limited to 31 distinct expressions".into(),
                        });
                    }
                    grouping_sets = Some(sets);
                }
                out
            }
            ast::GroupByExpr::All(_) => {
                return Err(Error::Unsupported {
                    message: "GROUP BY ALL is not supported".into(),
                })
            }
        };
        let having = match &s.having {
            Some(h) => {
                let b = self.bind_expr(h, &scope, AggContext::Allowed)?;
                let b = self.coerce_unknown(b, SqlType::Boolean)?;
                if b.ty() != SqlType::Boolean {
                    return Err(Error::DatatypeMismatch {
                        message: format!(
                            "argument of HAVING must be type boolean, not type {}",
                            crate::types::display_name(b.ty())
                        ),
                        position: self.position(h.span()),
                    });
                }
                if contains_window(&b) {
                    return Err(Error::Windowing {
                        message: "window functions are not allowed in HAVING".into(),
                        position: self.position(h.span()),
                    });
                }
                Some(b)
            }
            None => None,
        };

        // ORDER BY keys: an output column (by position or alias) or an input expression.
        enum OrderRef {
            Output(usize),
            Input(Expr),
        }
        let mut order_refs = Vec::with_capacity(order_by.len());
        for ob in order_by {
            let r = match self.output_reference(&ob.expr, &output_names)? {
                Some(i) => OrderRef::Output(i),
                None => OrderRef::Input(self.bind_expr(&ob.expr, &scope, AggContext::Allowed)?),
            };
            order_refs.push(r);
        }

        // QUALIFY: a filter over the window functions' results.
        let mut qualify = match &s.qualify {
            Some(q) => Some(self.bind_qualify(q, &scope, &s.projection)?),
            None => None,
        };

        let aggregated = !group_exprs.is_empty()
            || grouping_sets.is_some()
            || having.is_some()
            || qualify.as_ref().is_some_and(contains_aggregate)
            || items.iter().any(|(e, _)| contains_aggregate(e))
            || self.pending.iter().any(|p| !p.outer_aggs.is_empty())
            || order_refs
                .iter()
                .any(|r| matches!(r, OrderRef::Input(e) if contains_aggregate(e)));

        // Subqueries used only inside aggregate arguments run over the input rows, so they
        // join the input before it is aggregated.
        let base = scope.columns.len();
        let only_in_aggregates = items
            .iter()
            .all(|(e, _)| !reads_outside_aggregates(e, base))
            && having
                .as_ref()
                .is_none_or(|h| !reads_outside_aggregates(h, base))
            && qualify.is_none()
            && order_refs
                .iter()
                .all(|r| !matches!(r, OrderRef::Input(e) if reads_outside_aggregates(e, base)));
        // Any other subquery joins the aggregate's output, below: it may read the groups.
        if !self.pending.is_empty() && (!aggregated || only_in_aggregates) {
            plan = self.attach_subqueries(plan, &scope, &[])?;
        }
        let user_grouped = !group_exprs.is_empty() || grouping_sets.is_some() || having.is_some();
        if nd > 0 && grouping_sets.is_some() {
            return Err(Error::Unsupported {
                message: "grouping sets in a correlated subquery are not supported yet".into(),
            });
        }
        let mut group_exprs = group_exprs;
        if aggregated && nd > 0 {
            let domain_groups: Vec<Expr> = (0..nd)
                .map(|j| Expr::Column {
                    index: domain_offset + j,
                    ty: scope.columns[domain_offset + j].ty,
                })
                .collect();
            group_exprs.splice(0..0, domain_groups);
        }
        let mut select_exprs: Vec<Expr> = items.into_iter().map(|(e, _)| e).collect();
        if aggregated {
            let mut aggs: Vec<AggCall> = Vec::new();
            // With grouping sets the aggregate's output also has the grouping id (a bit per
            // grouping expression left out of the row's set) and the set's number.
            let gid = grouping_sets.as_ref().map(|_| group_exprs.len());
            let ngroups = group_exprs.len() + if gid.is_some() { 2 } else { 0 };
            let mut rewrite = |e: &Expr| -> Result<Expr> {
                rewrite_for_aggregate(e, &group_exprs, &mut aggs, ngroups, gid, &scope)
            };
            select_exprs = select_exprs
                .iter()
                .map(&mut rewrite)
                .collect::<Result<_>>()?;
            let mut having = having.as_ref().map(&mut rewrite).transpose()?;
            qualify = qualify.as_ref().map(&mut rewrite).transpose()?;
            for r in order_refs.iter_mut() {
                if let OrderRef::Input(e) = r {
                    *e = rewrite(e)?;
                }
            }
            if !self.pending.is_empty() {
                // Subqueries join the aggregate's output, correlated on its groups; their
                // columns follow the groups and aggregates.
                self.rebase_subqueries_on_groups(&group_exprs, &scope, &mut rewrite)?;
                let width = ngroups + aggs.len();
                let remap = |e: &Expr| {
                    e.map_columns(&|i| {
                        if i >= SUBQUERY_MARK {
                            width + (i - SUBQUERY_MARK)
                        } else {
                            i
                        }
                    })
                };
                select_exprs = select_exprs.iter().map(remap).collect();
                having = having.as_ref().map(remap);
                qualify = qualify.as_ref().map(remap);
                for r in order_refs.iter_mut() {
                    if let OrderRef::Input(e) = r {
                        *e = remap(e);
                    }
                }
                self.map_pending_columns(&remap);
            }
            if nd > 0 && !user_grouped {
                // The select list over an empty input, for outer rows the subquery has no
                // rows for: COUNT is 0, other aggregates NULL; domain columns stay columns.
                let empty = select_exprs
                    .iter()
                    .take(output_names.len())
                    .map(|e| {
                        e.transform(&mut |x| match x {
                            Expr::Column { index, ty } if *index >= ngroups => {
                                let agg = aggs.get(*index - ngroups)?;
                                Some(match agg.func {
                                    AggFunc::Count | AggFunc::CountStar => {
                                        Expr::literal(Datum::Int(0), *ty)
                                    }
                                    _ => Expr::literal(Datum::Null, *ty),
                                })
                            }
                            _ => None,
                        })
                    })
                    .map(|e: Expr| {
                        // Only domain columns may remain (a subquery's value cannot).
                        if e.columns().iter().any(|i| *i >= nd) || contains_window(&e) {
                            Expr::literal(Datum::Null, e.ty())
                        } else {
                            e
                        }
                    })
                    .collect();
                // The one row an outer row always gets is skipped by an OFFSET or LIMIT 0:
                // then the subquery has no rows at all.
                let keeps_row = lifted_limit
                    .is_none_or(|(offset, limit)| offset == 0 && limit.is_none_or(|n| n > 0));
                if keeps_row {
                    self.empty_values = Some(empty);
                }
            }
            plan = match &grouping_sets {
                None => Plan::Aggregate {
                    input: Box::new(plan),
                    groups: group_exprs.clone(),
                    aggs,
                },
                Some(sets) => grouping_sets_plan(plan, &group_exprs, sets, aggs),
            };
            if !self.pending.is_empty() {
                let types = plan.types();
                let output = Scope {
                    columns: types
                        .iter()
                        .map(|ty| ScopeColumn {
                            relation: None,
                            name: format!("{HIDDEN_PREFIX}aggregate"),
                            ty: *ty,
                            origin: None,
                        })
                        .collect(),
                    ..Default::default()
                };
                plan = self.attach_subqueries_to(plan, output.columns.len(), &scope, &[])?;
            }
            if let Some(h) = having {
                plan = Plan::Filter {
                    input: Box::new(plan),
                    predicate: h,
                };
            }
        }

        // Window functions, computed over the (grouped) input; a decorrelated subquery's
        // windows are also partitioned by its domain columns, one partition per outer row.
        if nd > 0 {
            let domain: Vec<Expr> = (0..nd)
                .map(|j| {
                    let index = if aggregated { j } else { domain_offset + j };
                    Expr::Column {
                        index,
                        ty: scope.columns[domain_offset + j].ty,
                    }
                })
                .collect();
            let add_domain = |e: &Expr| {
                e.transform(&mut |x| match x {
                    Expr::Window(w) => {
                        let mut w = w.as_ref().clone();
                        w.partition_by.splice(0..0, domain.iter().cloned());
                        Some(Expr::Window(Box::new(w)))
                    }
                    _ => None,
                })
            };
            for e in select_exprs.iter_mut() {
                *e = add_domain(e);
            }
            for r in order_refs.iter_mut() {
                if let OrderRef::Input(e) = r {
                    *e = add_domain(e);
                }
            }
            qualify = qualify.as_ref().map(add_domain);
        }
        {
            let mut exprs: Vec<&mut Expr> = select_exprs.iter_mut().collect();
            for r in order_refs.iter_mut() {
                if let OrderRef::Input(e) = r {
                    exprs.push(e);
                }
            }
            if let Some(q) = qualify.as_mut() {
                exprs.push(q);
            }
            plan = plan_windows(plan, &mut exprs);
        }
        if let Some(q) = qualify {
            plan = Plan::Filter {
                input: Box::new(plan),
                predicate: q,
            };
        }

        // The select list's set-returning calls run over the rows that reach it, before
        // DISTINCT, ORDER BY and LIMIT, as in PostgreSQL.
        if !set_calls.is_empty() {
            if aggregated || select_exprs.iter().any(contains_window) || nd > 0 {
                return Err(Error::Unsupported {
                    message: "set-returning functions in the select list of a grouped, windowed or correlated query are not supported yet".into(),
                });
            }
            let width = plan.types().len();
            let placed = |e: &Expr| {
                e.map_columns(&|i| {
                    if (SELECT_MARK..DOMAIN_BASE).contains(&i) {
                        width + (i - SELECT_MARK)
                    } else {
                        i
                    }
                })
            };
            select_exprs = select_exprs.iter().map(placed).collect();
            plan = Plan::SetFunctions {
                input: Box::new(plan),
                calls: set_calls,
                ordinality: false,
            };
        }

        // Project the visible columns plus hidden ORDER BY columns, sort, drop the hidden.
        let visible = select_exprs.len();
        let distinct = match &s.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => {
                return Err(Error::Unsupported {
                    message: "DISTINCT ON is not supported yet".into(),
                })
            }
        };
        let mut keys = Vec::new();
        let mut project = select_exprs;
        for (r, ob) in order_refs.into_iter().zip(order_by) {
            let idx = match r {
                OrderRef::Output(i) => i,
                OrderRef::Input(e) => match project.iter().position(|p| *p == e) {
                    Some(i) => i,
                    None => {
                        if distinct {
                            return Err(Error::InvalidColumnReference {
                                message: "for SELECT DISTINCT, ORDER BY expressions must appear in select list".into(),
                                position: self.position(ob.expr.span()),
                            });
                        }
                        project.push(e);
                        project.len() - 1
                    }
                },
            };
            let ty = project[idx].ty();
            keys.push(sort_key(Expr::Column { index: idx, ty }, &ob.options));
        }
        let types: Vec<SqlType> = project.iter().map(|e| e.ty()).collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: project,
        };
        if distinct {
            let groups = types
                .iter()
                .enumerate()
                .map(|(i, ty)| Expr::Column { index: i, ty: *ty })
                .collect();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                groups,
                aggs: vec![],
            };
        }
        if let Some((offset, limit)) = lifted_limit {
            // LIMIT per outer row: number each domain value's rows in ORDER BY order and keep
            // those after the first `offset`, at most `limit` of them. The domain columns
            // are the last of the visible ones.
            let rank = types.len();
            plan = Plan::Window {
                input: Box::new(plan),
                calls: vec![WindowCall {
                    func: WindowFunc::RowNumber,
                    args: vec![],
                    partition_by: (visible - nd..visible)
                        .map(|i| Expr::Column {
                            index: i,
                            ty: types[i],
                        })
                        .collect(),
                    order_by: keys,
                    frame: WindowFrame::default_frame(),
                    ty: SqlType::BigInt,
                    agg_order: Vec::new(),
                    separator: None,
                }],
            };
            let rank = Expr::Column {
                index: rank,
                ty: SqlType::BigInt,
            };
            let bound = |op, n: u64| Expr::Binary {
                op,
                left: Box::new(rank.clone()),
                right: Box::new(Expr::literal(
                    Datum::Int(i64::try_from(n).unwrap_or(i64::MAX)),
                    SqlType::BigInt,
                )),
                ty: SqlType::Boolean,
            };
            let mut predicate = bound(BinaryOp::Gt, offset);
            if let Some(limit) = limit {
                predicate = Expr::Binary {
                    op: BinaryOp::And,
                    left: Box::new(predicate),
                    right: Box::new(bound(BinaryOp::LtEq, offset.saturating_add(limit))),
                    ty: SqlType::Boolean,
                };
            }
            plan = Plan::Filter {
                input: Box::new(plan),
                predicate,
            };
        } else if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        if types.len() > visible || lifted_limit.is_some() {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..visible)
                    .map(|i| Expr::Column {
                        index: i,
                        ty: types[i],
                    })
                    .collect(),
            };
        }
        Ok(BoundQuery {
            plan,
            columns: output_names,
        })
    }

    /// Binds the select list's items against `scope`, expanding `*` and `t.*`; also returns
    /// the items that are records, with their fields.
    #[allow(clippy::type_complexity)]
    fn bind_select_items(
        &mut self,
        s: &ast::Select,
        scope: &Scope,
    ) -> Result<(Vec<(Expr, String)>, Vec<(usize, Record)>)> {
        let mut items: Vec<(Expr, String)> = Vec::new();
        let mut records = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                    let name = match item {
                        ast::SelectItem::ExprWithAlias { alias, .. } => normalize_ident(alias),
                        _ => column_name(e),
                    };
                    if let Some(r) = self.bind_record(e, scope, AggContext::Allowed)? {
                        items.push((self.record_text(&r)?, name));
                        records.push((items.len() - 1, r));
                        continue;
                    }
                    let b = self.bind_expr(e, scope, AggContext::Allowed)?;
                    items.push((b, name));
                }
                ast::SelectItem::Wildcard(_) => {
                    if scope.columns.is_empty() {
                        return Err(Error::Syntax {
                            message: "SELECT * with no tables specified is not valid".into(),
                            position: None,
                        });
                    }
                    for item in scope.star_items(0, scope.columns.len()) {
                        let (name, e) = scope.star_item(item);
                        items.push((e, name));
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let name = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            n.0.last()
                                .and_then(|p| p.as_ident())
                                .map(normalize_ident)
                                .unwrap_or_default()
                        }
                        _ => {
                            return Err(Error::Unsupported {
                                message: "this wildcard form is not supported".into(),
                            })
                        }
                    };
                    let before = items.len();
                    // A join alias (`USING (...) AS j`) reaches the merged columns only.
                    for m in &scope.merged {
                        if m.relation.as_deref() == Some(name.as_str()) {
                            items.push((m.expr.clone(), m.name.clone()));
                        }
                    }
                    for (i, c) in scope.columns.iter().enumerate() {
                        if c.relation.as_deref() == Some(name.as_str())
                            && !c.name.starts_with(HIDDEN_PREFIX)
                        {
                            items.push((Expr::Column { index: i, ty: c.ty }, c.name.clone()));
                        }
                    }
                    if items.len() == before {
                        return Err(Error::MissingFromEntry {
                            name,
                            position: None,
                        });
                    }
                }
                other => {
                    return Err(Error::Unsupported {
                        message: format!("select item not supported: {other}"),
                    })
                }
            }
        }
        Ok((items, records))
    }

    /// One GROUP BY expression: an ordinal or alias of the select list, or an expression
    /// over the input.
    fn bind_group_item(
        &mut self,
        g: &ast::Expr,
        scope: &Scope,
        output_names: &[ResultColumn],
        items: &[(Expr, String)],
    ) -> Result<Expr> {
        Ok(match g {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                let i = self
                    .output_reference(g, output_names)?
                    .ok_or_else(|| Error::Internal("group ordinal".into()))?;
                let e = items[i].0.clone();
                if contains_aggregate(&e) {
                    return Err(Error::Grouping {
                        message: "aggregate functions are not allowed in GROUP BY".into(),
                        position: self.position(g.span()),
                    });
                }
                if contains_window(&e) {
                    return Err(Error::Windowing {
                        message: "window functions are not allowed in GROUP BY".into(),
                        position: self.position(g.span()),
                    });
                }
                e
            }
            _ => match self.bind_expr(g, scope, AggContext::Forbidden("GROUP BY")) {
                Ok(e) => e,
                Err(err @ Error::UndefinedColumn { .. }) => {
                    // PostgreSQL also accepts an output column alias here.
                    match self.output_reference(g, output_names)? {
                        Some(i)
                            if !contains_aggregate(&items[i].0)
                                && !contains_window(&items[i].0) =>
                        {
                            items[i].0.clone()
                        }
                        _ => return Err(err),
                    }
                }
                Err(e) => return Err(e),
            },
        })
    }

    /// Binds FROM (with inner joins) and WHERE into one plan whose columns follow the FROM
    /// order. Single-table predicates go into scans; equality predicates between tables
    /// become hash-join keys, joining tables in an order that avoids cross products.
    fn bind_from(
        &mut self,
        from: &[ast::TableWithJoins],
        selection: Option<&ast::Expr>,
        domain: Option<Domain>,
    ) -> Result<(Plan, Scope)> {
        let correlating = domain.is_some();
        let mut items = FromItems::default();
        for twj in from {
            self.bind_join_chain(twj, &mut items, correlating)?;
        }
        // Duplicate aliases are an error, as in PostgreSQL.
        let mut seen: Vec<&str> = Vec::new();
        for r in &items.relations {
            let mut names: Vec<&str> = r
                .scope
                .columns
                .iter()
                .filter_map(|c| c.relation.as_deref())
                .collect();
            names.dedup();
            for name in names {
                if seen.contains(&name) {
                    return Err(Error::DuplicateAlias {
                        name: name.to_string(),
                    });
                }
                seen.push(name);
            }
        }
        if let Some(domain) = domain {
            // The hidden domain of a decorrelated subquery joins last; outer references
            // resolve to its columns.
            let offset = items.scope.columns.len();
            if let Some(frame) = self.outer.last_mut() {
                frame.domain_offset = Some(offset);
            }
            let relation = Relation {
                scope: domain.scope(),
                plan: domain.plan,
                rows: 1000,
            };
            items.scope = items.scope.concat(&relation.scope);
            items.relations.push(relation);
            items.laterals.push(None);
            for (calls, _) in items.laterals.iter_mut().flatten() {
                crate::planner::set_functions::place_domain(calls, offset);
            }
        }
        if let Some(w) = selection {
            items.conditions.push(Condition::Written(w));
        }
        let FromItems {
            relations,
            laterals,
            scope,
            conditions,
        } = items;
        let conjuncts = self.bind_conditions(conditions, &scope, "WHERE")?;
        // Conjuncts reading a subquery's value apply once the subqueries are joined.
        let width = scope.columns.len();
        let (mut late, mut early): (Vec<Expr>, Vec<Expr>) = conjuncts
            .into_iter()
            .partition(|c| c.columns().iter().any(|i| *i >= width));
        // An uncorrelated `x IN (SELECT ...)` the WHERE clause requires joins as one more
        // relation: its distinct values, on `x = value`. Its column `width + k` leaves the
        // late conjuncts and later subqueries' columns move down one.
        let mut relations = relations;
        if !relations.is_empty() && laterals.iter().all(|l| l.is_none()) {
            let mut semi = self.semi_joinable(&late, width);
            semi.sort_unstable();
            for k in semi.into_iter().rev() {
                let Some((values, x, value)) = self.take_uncorrelated_in(k, &scope)? else {
                    continue;
                };
                let at = width + k;
                late.retain(|c| !matches!(c, Expr::Column { index, .. } if *index == at));
                late = late
                    .into_iter()
                    .map(|c| c.map_columns(&|i| if i > at { i - 1 } else { i }))
                    .collect();
                let offset: usize = relations.iter().map(|r| r.scope.columns.len()).sum();
                let types: Vec<SqlType> = value.iter().map(|v| v.ty()).collect();
                for (x, value) in x.into_iter().zip(value) {
                    early.push(Expr::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(x),
                        right: Box::new(value.map_columns(&|i| i + offset)),
                        ty: SqlType::Boolean,
                    });
                }
                relations.push(Relation {
                    scope: Binder::in_values_scope(&types),
                    plan: values,
                    rows: 1000,
                });
            }
        }
        let from_width: usize = relations.iter().map(|r| r.scope.columns.len()).sum();
        let mut plan = if relations.is_empty() {
            let plan = Plan::Values {
                rows: vec![vec![]],
                types: vec![],
            };
            apply_filter(plan, early)
        } else if laterals.iter().any(|l| l.is_some()) {
            self.join_with_laterals(relations, laterals, early)?
        } else {
            join_relations(relations, early, self.store.map(|s| s.statistics()))
        };
        if from_width > width {
            plan = leading_columns(plan, width);
        }
        if !self.pending.is_empty() {
            let semi = self.semi_joinable(&late, width);
            plan = self.attach_subqueries(plan, &scope, &semi)?;
            plan = apply_filter(plan, late);
            plan = leading_columns(plan, width);
        } else {
            plan = apply_filter(plan, late);
        }
        Ok((plan, scope))
    }

    /// Binds one FROM item with its joins into `items`. Inner and cross joins add their
    /// items and conditions to the FROM clause's, to be ordered with the others; a chain
    /// with an outer join is built in syntax order (`bind_outer_joins`).
    fn bind_join_chain<'q>(
        &mut self,
        twj: &'q ast::TableWithJoins,
        items: &mut FromItems<'q>,
        correlating: bool,
    ) -> Result<()> {
        let has_outer = twj.joins.iter().any(|j| {
            matches!(
                j.join_operator,
                ast::JoinOperator::Left(_)
                    | ast::JoinOperator::LeftOuter(_)
                    | ast::JoinOperator::Right(_)
                    | ast::JoinOperator::RightOuter(_)
                    | ast::JoinOperator::FullOuter(_)
            )
        });
        if has_outer {
            return self.bind_outer_joins(twj, items, correlating);
        }
        let chain_start = items.scope.columns.len();
        self.push_from_item(&twj.relation, items, correlating)?;
        for j in &twj.joins {
            let constraint = match &j.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => c,
                ast::JoinOperator::CrossJoin(_) => &ast::JoinConstraint::None,
                _ => {
                    return Err(Error::Unsupported {
                        message: "this join type is not supported yet".into(),
                    });
                }
            };
            let right_start = items.scope.columns.len();
            self.push_from_item(&j.relation, items, correlating)?;
            match constraint {
                ast::JoinConstraint::On(e) => items.conditions.push(Condition::Written(e)),
                ast::JoinConstraint::None => {}
                c => {
                    let pairs = self.merge_using(
                        &mut items.scope,
                        chain_start,
                        right_start,
                        c,
                        JoinType::Inner,
                    )?;
                    items.conditions.extend(
                        pairs
                            .into_iter()
                            .map(|(l, r)| Condition::Bound(equals(l, r))),
                    );
                }
            }
        }
        Ok(())
    }

    /// Binds one FROM item after those in `items` and adds it to them.
    fn push_from_item(
        &mut self,
        t: &ast::TableFactor,
        items: &mut FromItems<'_>,
        correlating: bool,
    ) -> Result<()> {
        let (r, l) = self.bind_from_item(t, &items.scope, correlating)?;
        items.scope = items.scope.concat(&r.scope);
        items.relations.push(r);
        items.laterals.push(l);
        Ok(())
    }

    /// JOIN USING or NATURAL JOIN between the columns `lo..mid` (the left side, as far as
    /// `*` lists them) and `mid..` (the right side) of `scope`: each named column is found
    /// once on each side, the two are brought to their common type, and a merged column
    /// takes their place: the left's value (INNER, LEFT), the right's (RIGHT) or the first
    /// non-NULL (FULL). Returns the pairs the join must find equal.
    fn merge_using(
        &mut self,
        scope: &mut Scope,
        lo: usize,
        mid: usize,
        constraint: &ast::JoinConstraint,
        join_type: JoinType,
    ) -> Result<Vec<(Expr, Expr)>> {
        let hi = scope.columns.len();
        let left = scope.star_items(lo, mid);
        let right = scope.star_items(mid, hi);
        let name_of = |scope: &Scope, item: &StarItem| match item {
            StarItem::Column(i) => scope.columns[*i].name.clone(),
            StarItem::Merged(k) => scope.merged[*k].name.clone(),
        };
        let using_names = |list: &[ast::ObjectName]| -> Result<Vec<String>> {
            list.iter()
                .map(|n| match n.0.as_slice() {
                    [part] => part
                        .as_ident()
                        .map(normalize_ident)
                        .ok_or_else(|| Error::Internal("USING column is not an identifier".into())),
                    _ => Err(Error::Syntax {
                        message: format!("syntax error at or near \"{n}\""),
                        position: self.position(n.span()),
                    }),
                })
                .collect()
        };
        let (names, alias) = match constraint {
            ast::JoinConstraint::Using(list) => (using_names(list)?, None),
            ast::JoinConstraint::UsingAlias(list, alias) => {
                (using_names(list)?, Some(normalize_ident(alias)))
            }
            ast::JoinConstraint::Natural => {
                // The columns both sides have, in the left side's order.
                let right_names: Vec<String> = right.iter().map(|i| name_of(scope, i)).collect();
                let mut names: Vec<String> = Vec::new();
                for item in &left {
                    let n = name_of(scope, item);
                    if right_names.contains(&n) && !names.contains(&n) {
                        names.push(n);
                    }
                }
                (names, None)
            }
            ast::JoinConstraint::On(_) | ast::JoinConstraint::None => {
                return Err(Error::Internal("not a USING join".into()))
            }
        };
        let find = |scope: &Scope, items: &[StarItem], name: &str, side: &'static str| {
            let mut found = items.iter().filter(|i| name_of(scope, i) == name);
            match (found.next(), found.next()) {
                (Some(i), None) => Ok(*i),
                (None, _) => Err(Error::UndefinedUsingColumn {
                    name: name.to_string(),
                    side,
                }),
                (Some(_), Some(_)) => Err(Error::AmbiguousUsingColumn {
                    name: name.to_string(),
                    side,
                }),
            }
        };
        let mut pairs = Vec::with_capacity(names.len());
        let mut merged = Vec::with_capacity(names.len());
        let mut hidden = Vec::new();
        for (k, name) in names.iter().enumerate() {
            if names[..k].contains(name) {
                return Err(Error::DuplicateUsingColumn { name: name.clone() });
            }
            let l = find(scope, &left, name, "left")?;
            let r = find(scope, &right, name, "right")?;
            let le = scope.star_item(l).1;
            let re = scope.star_item(r).1;
            let sides = self.unify(vec![le, re], "JOIN/USING", Span::empty())?;
            let (le, re) = match <[Expr; 2]>::try_from(sides) {
                Ok([a, b]) => (a, b),
                Err(_) => return Err(Error::Internal("USING column pair".into())),
            };
            let ty = le.ty();
            let expr = match join_type {
                JoinType::Right => re.clone(),
                JoinType::Full => Expr::Case {
                    whens: vec![(
                        Expr::IsNull {
                            expr: Box::new(le.clone()),
                            negated: true,
                        },
                        le.clone(),
                    )],
                    otherwise: Some(Box::new(re.clone())),
                    ty,
                },
                _ => le.clone(),
            };
            merged.push(MergedColumn {
                relation: alias.clone(),
                name: name.clone(),
                expr,
                visible: true,
                star_at: lo,
            });
            hidden.push(l);
            hidden.push(r);
            pairs.push((le, re));
        }
        for item in hidden {
            match item {
                StarItem::Column(i) => scope.qualified_only.push(i),
                StarItem::Merged(k) => scope.merged[k].visible = false,
            }
        }
        scope.merged.splice(0..0, merged);
        Ok(pairs)
    }

    /// Binds one FROM item; `before` is the scope of the items bound before it, whose
    /// columns a function call's arguments may read (LATERAL, implicit for functions as in
    /// PostgreSQL).
    fn bind_from_item(
        &mut self,
        t: &ast::TableFactor,
        before: &Scope,
        correlating: bool,
    ) -> Result<(Relation, Option<Lateral>)> {
        if let Some(unnest) = self.lateral_values(t, before)? {
            return self
                .bind_from_item(&unnest, before, correlating)
                .map_err(super::subquery::values_error);
        }
        if let Some(item) = self.bind_function_item(t, before, correlating)? {
            return Ok((
                Relation {
                    plan: item.plan,
                    scope: item.scope,
                    rows: 1000,
                },
                item.lateral,
            ));
        }
        if let ast::TableFactor::NestedJoin {
            table_with_joins,
            alias,
        } = t
        {
            let r = self.bind_nested_join(table_with_joins, alias.as_ref(), correlating)?;
            return Ok((r, None));
        }
        Ok((self.bind_table_factor(t)?, None))
    }

    /// A parenthesised join, `(a JOIN b ...) [AS alias]`, bound as one relation. Without an
    /// alias its tables keep their names (and its USING joins their merged columns); an
    /// alias hides them: the join's columns, as `*` lists them, belong to the alias.
    fn bind_nested_join(
        &mut self,
        twj: &ast::TableWithJoins,
        alias: Option<&ast::TableAlias>,
        correlating: bool,
    ) -> Result<Relation> {
        let mut items = FromItems::default();
        self.bind_join_chain(twj, &mut items, correlating)?;
        let FromItems {
            relations,
            laterals,
            scope,
            conditions,
        } = items;
        let conjuncts = self.bind_conditions(conditions, &scope, "JOIN/ON")?;
        self.no_subqueries_here("JOIN/ON")?;
        let rows = relations.iter().map(|r| r.rows).max().unwrap_or(0);
        let plan = if laterals.iter().any(|l| l.is_some()) {
            self.join_with_laterals(relations, laterals, conjuncts)?
        } else {
            join_relations(relations, conjuncts, self.store.map(|s| s.statistics()))
        };
        let Some(alias) = alias else {
            return Ok(Relation { plan, scope, rows });
        };
        let relation = normalize_ident(&alias.name);
        let renames = alias_columns(Some(alias));
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        for (i, item) in scope
            .star_items(0, scope.columns.len())
            .into_iter()
            .enumerate()
        {
            let (name, e) = scope.star_item(item);
            columns.push(ScopeColumn {
                relation: Some(relation.clone()),
                name: renames.get(i).cloned().unwrap_or(name),
                ty: e.ty(),
                origin: scope.origin_of(&e),
            });
            exprs.push(e);
        }
        Ok(Relation {
            plan: Plan::Project {
                input: Box::new(plan),
                exprs,
            },
            scope: Scope {
                columns,
                ..Default::default()
            },
            rows,
        })
    }

    /// Joins FROM items some of which are lateral function calls: the others are joined
    /// (with the conjuncts that read only them), each lateral item's calls then run over that
    /// join in FROM order, the columns are put back in FROM order and the remaining
    /// conjuncts filter the result.
    fn join_with_laterals(
        &mut self,
        relations: Vec<Relation>,
        laterals: Vec<Option<Lateral>>,
        conjuncts: Vec<Expr>,
    ) -> Result<Plan> {
        // Where each FROM column lands in the join of the non-lateral items.
        let total: usize = relations.iter().map(|r| r.scope.columns.len()).sum();
        let mut position: Vec<Option<usize>> = vec![None; total];
        let mut base = Vec::new();
        let mut pending = Vec::new();
        let mut start = 0;
        let mut base_width = 0;
        for (r, l) in relations.into_iter().zip(laterals) {
            let w = r.scope.columns.len();
            match l {
                None => {
                    for (k, slot) in position[start..start + w].iter_mut().enumerate() {
                        *slot = Some(base_width + k);
                    }
                    base_width += w;
                    base.push(r);
                }
                Some(l) => pending.push((start, w, l)),
            }
            start += w;
        }
        let (early, late): (Vec<Expr>, Vec<Expr>) = conjuncts
            .into_iter()
            .partition(|c| c.columns().iter().all(|i| position[*i].is_some()));
        let moved = |e: &Expr, position: &[Option<usize>]| {
            e.map_columns(&|i| position.get(i).copied().flatten().unwrap_or(i))
        };
        let early: Vec<Expr> = early.iter().map(|c| moved(c, &position)).collect();
        let mut plan = if base.is_empty() {
            apply_filter(
                Plan::Values {
                    rows: vec![vec![]],
                    types: vec![],
                },
                early,
            )
        } else {
            join_relations(base, early, self.store.map(|s| s.statistics()))
        };
        let mut width = base_width;
        for (start, w, (calls, ordinality)) in pending {
            let mut placed = Vec::with_capacity(calls.len());
            for mut c in calls {
                if c.args
                    .iter()
                    .any(|a| a.columns().iter().any(|i| position[*i].is_none()))
                {
                    return Err(Error::Internal(
                        "a FROM function reads a later FROM item".into(),
                    ));
                }
                c.args = c.args.iter().map(|a| moved(a, &position)).collect();
                placed.push(c);
            }
            plan = Plan::SetFunctions {
                input: Box::new(plan),
                calls: placed,
                ordinality,
            };
            for (k, slot) in position[start..start + w].iter_mut().enumerate() {
                *slot = Some(width + k);
            }
            width += w;
        }
        let types = plan.types();
        let exprs = position
            .iter()
            .map(|p| {
                let i = p.ok_or_else(|| Error::Internal("unplaced FROM column".into()))?;
                Ok(Expr::Column {
                    index: i,
                    ty: types[i],
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(apply_filter(
            Plan::Project {
                input: Box::new(plan),
                exprs,
            },
            late,
        ))
    }

    /// Binds one FROM item that contains outer joins into a tree in syntax order: the inner
    /// joins between two outer joins are ordered greedily, and each outer join joins the tree
    /// built so far with its right side. Inner joins after the last outer join are left to
    /// the caller (their ON conditions join the WHERE conjuncts).
    fn bind_outer_joins<'q>(
        &mut self,
        twj: &'q ast::TableWithJoins,
        items: &mut FromItems<'q>,
        correlating: bool,
    ) -> Result<()> {
        let not_lateral = |l: Option<Lateral>| match l {
            None => Ok(()),
            Some(_) => Err(Error::Unsupported {
                message: "a function in FROM that reads other FROM items is not supported \
                          in an outer join yet"
                    .into(),
            }),
        };
        // The chain's columns start here; its group of relations always starts with the
        // chain's first item (or the tree built from it).
        let start = items.scope.columns.len();
        let (first, l) = self.bind_from_item(&twj.relation, &items.scope, correlating)?;
        not_lateral(l)?;
        items.scope = items.scope.concat(&first.scope);
        let mut group: Vec<Relation> = vec![first];
        let mut group_conditions: Vec<Condition<'q>> = Vec::new();
        for j in &twj.joins {
            let (join_type, constraint) = match &j.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinType::Inner, c),
                ast::JoinOperator::CrossJoin(_) => (JoinType::Inner, &ast::JoinConstraint::None),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinType::Left, c),
                ast::JoinOperator::Right(c) | ast::JoinOperator::RightOuter(c) => {
                    (JoinType::Right, c)
                }
                ast::JoinOperator::FullOuter(c) => (JoinType::Full, c),
                _ => {
                    return Err(Error::Unsupported {
                        message: "this join type is not supported yet".into(),
                    })
                }
            };
            let right_start = items.scope.columns.len();
            let (rel, l) = self.bind_from_item(&j.relation, &items.scope, correlating)?;
            not_lateral(l)?;
            items.scope = items.scope.concat(&rel.scope);
            let on = match constraint {
                ast::JoinConstraint::On(e) => Some(e),
                _ => None,
            };
            let using = !matches!(
                constraint,
                ast::JoinConstraint::On(_) | ast::JoinConstraint::None
            );
            if join_type == JoinType::Inner {
                group.push(rel);
                group_conditions.extend(on.map(Condition::Written));
                if using {
                    let pairs = self.merge_using(
                        &mut items.scope,
                        start,
                        right_start,
                        constraint,
                        join_type,
                    )?;
                    group_conditions.extend(
                        pairs
                            .into_iter()
                            .map(|(l, r)| Condition::Bound(equals(l, r))),
                    );
                }
                continue;
            }
            // The left side's own conditions bind before USING hides its columns.
            let left = self.join_group(
                std::mem::take(&mut group),
                std::mem::take(&mut group_conditions),
                &items.scope,
                start,
                right_start,
            )?;
            let pairs = if using {
                self.merge_using(&mut items.scope, start, right_start, constraint, join_type)?
            } else {
                Vec::new()
            };
            group.push(self.outer_join(left, rel, join_type, on, pairs, &items.scope, start)?);
        }
        items.relations.extend(group);
        items.laterals.resize_with(items.relations.len(), || None);
        items.conditions.extend(group_conditions);
        Ok(())
    }

    /// Binds the conditions that join a FROM clause's items (the written ones as `what`
    /// conditions against `scope`) into one list of conjuncts.
    fn bind_conditions(
        &mut self,
        conditions: Vec<Condition<'_>>,
        scope: &Scope,
        what: &'static str,
    ) -> Result<Vec<Expr>> {
        let mut conjuncts = Vec::new();
        for c in conditions {
            match c {
                Condition::Written(p) => self.bind_condition(p, scope, what, &mut conjuncts)?,
                Condition::Bound(e) => e.split_conjunction(&mut conjuncts),
            }
        }
        Ok(conjuncts)
    }

    /// Binds a join condition (ON or WHERE) against `scope` into its conjuncts.
    fn bind_condition(
        &mut self,
        p: &ast::Expr,
        scope: &Scope,
        what: &'static str,
        out: &mut Vec<Expr>,
    ) -> Result<()> {
        let b = self.bind_expr(p, scope, AggContext::Forbidden(what))?;
        let b = self.coerce_unknown(b, SqlType::Boolean)?;
        if b.ty() != SqlType::Boolean {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "argument of {what} must be type boolean, not type {}",
                    crate::types::display_name(b.ty())
                ),
                position: self.position(p.span()),
            });
        }
        b.split_conjunction(out);
        Ok(())
    }

    /// Inner-joins a group of relations, the columns `lo..hi` of `scope`, with their
    /// conditions into one relation.
    fn join_group(
        &mut self,
        group: Vec<Relation>,
        conditions: Vec<Condition<'_>>,
        scope: &Scope,
        lo: usize,
        hi: usize,
    ) -> Result<Relation> {
        if group.len() == 1 && conditions.is_empty() {
            if let Some(r) = group.into_iter().next() {
                return Ok(r);
            }
            return Err(Error::Internal("empty join group".into()));
        }
        let scope = scope.slice(lo, hi);
        let rows = group.iter().map(|r| r.rows).max().unwrap_or(0);
        let mut conjuncts = Vec::new();
        for c in conditions {
            match c {
                Condition::Written(p) => {
                    self.bind_condition(p, &scope, "JOIN/ON", &mut conjuncts)?;
                }
                Condition::Bound(e) => e.map_columns(&|i| i - lo).split_conjunction(&mut conjuncts),
            }
        }
        self.no_subqueries_here("JOIN/ON")?;
        Ok(Relation {
            plan: join_relations(group, conjuncts, self.store.map(|s| s.statistics())),
            scope,
            rows,
        })
    }

    /// LEFT, RIGHT or FULL join of two relations, the columns `lo..` of `scope`. Equalities
    /// between the two sides of the ON condition become hash keys; conditions on the
    /// nullable side alone filter that input; everything else is the join's filter. `using`
    /// are JOIN USING's pairs, over `scope`.
    #[allow(clippy::too_many_arguments)]
    fn outer_join(
        &mut self,
        left: Relation,
        right: Relation,
        join_type: JoinType,
        on: Option<&ast::Expr>,
        using: Vec<(Expr, Expr)>,
        scope: &Scope,
        lo: usize,
    ) -> Result<Relation> {
        let scope = scope.slice(lo, scope.columns.len());
        let lw = left.scope.columns.len();
        let mut conjuncts = Vec::new();
        if let Some(p) = on {
            self.bind_condition(p, &scope, "JOIN/ON", &mut conjuncts)?;
        }
        // Subqueries of the ON condition that read only the right side's columns join the
        // right input, whose columns they then follow: the condition reads them where they
        // were bound, after the scope's columns.
        let mut right = right;
        let width = scope.columns.len();
        if !self.pending.is_empty() && self.rebase_subqueries_on_right(lw) {
            let rw = width - lw;
            right.plan = self.attach_subqueries_to(right.plan, rw, &scope, &[])?;
        }
        self.no_subqueries_here("JOIN/ON")?;
        let side = |e: &Expr| -> Option<bool> {
            let cols = e.columns();
            if cols.is_empty() {
                None
            } else if cols.iter().all(|c| *c < lw) {
                Some(true)
            } else if cols.iter().all(|c| *c >= lw) {
                Some(false)
            } else {
                None
            }
        };
        let mut keys = Vec::new();
        for (l, r) in using {
            keys.push((l.map_columns(&|i| i - lo), r.map_columns(&|i| i - lo - lw)));
        }
        let mut filters = Vec::new();
        for c in conjuncts {
            if let Expr::Binary {
                op: BinaryOp::Eq,
                left: a,
                right: b,
                ..
            } = &c
            {
                match (side(a), side(b)) {
                    (Some(true), Some(false)) => {
                        keys.push((a.as_ref().clone(), b.map_columns(&|i| i - lw)));
                        continue;
                    }
                    (Some(false), Some(true)) => {
                        keys.push((b.as_ref().clone(), a.map_columns(&|i| i - lw)));
                        continue;
                    }
                    _ => {}
                }
            }
            filters.push(c);
        }
        // A LEFT join's conditions on its right side alone only decide which right rows may
        // match, so they filter the right input before the join (a RIGHT join's on its left
        // side, the left input): the join then neither copies the rows they drop nor the
        // columns only they read, and a scan below tests them block by block. Only conditions
        // that cannot raise an error move, as evaluating them on rows without a matching key
        // must not fail the query.
        let (left_plan, right_plan) = (left.plan, right.plan);
        let (mut onto_left, mut onto_right, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        for c in filters {
            match (join_type, side(&c)) {
                (JoinType::Left, Some(false)) if c.is_safe_to_repeat() => {
                    onto_right.push(c.map_columns(&|i| i - lw));
                }
                (JoinType::Right, Some(true)) if c.is_safe_to_repeat() => onto_left.push(c),
                _ => kept.push(c),
            }
        }
        let filters = kept;
        let left_plan = restrict(left_plan, onto_left);
        let right_plan = restrict(right_plan, onto_right);
        let mut plan = Plan::Join {
            left: Box::new(left_plan),
            right: Box::new(right_plan),
            join_type,
            keys,
            filter: Expr::conjunction(filters),
            null_equal: false,
        };
        if plan.types().len() > width {
            plan = leading_columns(plan, width);
        }
        Ok(Relation {
            plan,
            scope,
            rows: left.rows.max(right.rows),
        })
    }

    fn bind_table_factor(&mut self, t: &ast::TableFactor) -> Result<Relation> {
        match t {
            ast::TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return Err(Error::Unsupported {
                        message: "table functions are not supported yet".into(),
                    });
                }
                if let [part] = name.0.as_slice() {
                    let cte_name = part
                        .as_ident()
                        .map(normalize_ident)
                        .unwrap_or_else(|| part.to_string());
                    if let Some(i) = self.ctes.iter().rposition(|c| c.name == cte_name) {
                        return self.bind_cte_reference(i, alias.as_ref(), name.span());
                    }
                }
                if self.late_binding && name.0.len() < 2 {
                    return Err(crate::views::unqualified_in_late_binding_view(name));
                }
                if let Some((plan, scope)) = crate::catalog::relation(
                    self.catalog,
                    self.store,
                    name,
                    alias.as_ref(),
                    self.load_errors,
                    self.queue,
                    self.session,
                )? {
                    return Ok(Relation {
                        plan,
                        scope,
                        rows: 100,
                    });
                }
                // As PostgreSQL, a relation named in a schema that does not exist is a missing
                // relation (42P01), named as written.
                let written = || {
                    name.0
                        .iter()
                        .map(|p| p.as_ident().map(normalize_ident).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(".")
                };
                let (schema, table_name) = match self.table_name(name) {
                    Err(Error::UndefinedSchema { position, .. }) => {
                        return Err(Error::UndefinedTable {
                            name: written(),
                            position,
                        })
                    }
                    other => other?,
                };
                if let Some(ext) = self.catalog.external.table(&schema, &table_name) {
                    return self.bind_external(ext, alias.as_ref());
                }
                let catalog = self.catalog;
                if let Some(view) = catalog.objects.view(&schema, &table_name) {
                    let q = self.bind_view_query(view)?;
                    let relation = alias
                        .as_ref()
                        .map(|a| normalize_ident(&a.name))
                        .unwrap_or_else(|| view.name.clone());
                    let mut r = query_relation(q, Some(relation), &alias_columns(alias.as_ref()));
                    // As in PostgreSQL, a view's columns come from the view, not from what
                    // its query reads.
                    for (i, c) in r.scope.columns.iter_mut().enumerate() {
                        c.origin = (i < view.columns.len())
                            .then(|| crate::ColumnOrigin::of_table(view.id, i))
                            .flatten();
                    }
                    return Ok(r);
                }
                let meta = self.catalog.table(&schema, &table_name).ok_or_else(|| {
                    Error::UndefinedTable {
                        name: written(),
                        position: self.position(name.span()),
                    }
                })?;
                self.record_access(meta.id, false);
                let relation = alias
                    .as_ref()
                    .map(|a| normalize_ident(&a.name))
                    .unwrap_or_else(|| table_name.clone());
                let renames: Vec<String> = alias
                    .as_ref()
                    .map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect())
                    .unwrap_or_default();
                let scope = Scope {
                    columns: meta
                        .def
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| ScopeColumn {
                            relation: Some(relation.clone()),
                            name: renames.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                            ty: c.ty,
                            origin: crate::ColumnOrigin::of_table(meta.id, i),
                        })
                        .collect(),
                    ..Default::default()
                };
                let rows = meta.segments.iter().map(|s| s.rows).sum();
                Ok(Relation {
                    plan: Plan::Scan {
                        table: Box::new(meta.clone()),
                        projection: (0..meta.def.columns.len()).collect(),
                        filter: None,
                        external: None,
                    },
                    scope,
                    rows,
                })
            }
            ast::TableFactor::Derived {
                subquery, alias, ..
            } => {
                self.expose_records = true;
                let q = self.bind_query(subquery);
                self.expose_records = false;
                let q = q?;
                let relation = alias.as_ref().map(|a| normalize_ident(&a.name));
                Ok(query_relation(q, relation, &alias_columns(alias.as_ref())))
            }
            other => Err(Error::Unsupported {
                message: format!("FROM item not supported yet: {other}"),
            }),
        }
    }

    /// Binds a FROM item naming an external table: its partitions and files are listed now,
    /// once for the statement, and its scan reads them.
    fn bind_external(
        &mut self,
        ext: &basalt_storage::ExternalTable,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Relation> {
        let files = self.files.clone().ok_or_else(|| {
            Error::Internal("external tables need the engine's file store".into())
        })?;
        let source = crate::external::source::bind(ext, files)?;
        let def = crate::external::source::table_def(ext);
        let relation = alias
            .map(|a| normalize_ident(&a.name))
            .unwrap_or_else(|| ext.name.clone());
        let renames: Vec<String> = alias
            .map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect())
            .unwrap_or_default();
        let scope = Scope {
            columns: def
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| ScopeColumn {
                    relation: Some(relation.clone()),
                    name: renames.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                    ty: c.ty,
                    origin: None,
                })
                .collect(),
            ..Default::default()
        };
        // Without statistics, a file counts as a segment's worth of rows.
        let rows = (source.file_count() as u64).saturating_mul(EXTERNAL_FILE_ROWS_GUESS);
        let width = def.columns.len();
        let meta = basalt_storage::TableMeta {
            id: 0,
            def,
            segments: Vec::new(),
            change_version: 0,
        };
        Ok(Relation {
            plan: Plan::Scan {
                table: Box::new(meta),
                projection: (0..width).collect(),
                filter: None,
                external: Some(std::sync::Arc::new(source)),
            },
            scope,
            rows,
        })
    }

    /// Binds a reference to the WITH query `self.ctes[index]`: its body sees only the WITH
    /// queries defined before it.
    fn bind_cte_reference(
        &mut self,
        index: usize,
        alias: Option<&ast::TableAlias>,
        span: Span,
    ) -> Result<Relation> {
        let position = self.position(span);
        if let Some(work) = &mut self.ctes[index].work_table {
            work.references.push(position);
        }
        let def = self.ctes[index].clone();
        let bound = match &def.work_table {
            Some(work) => Ok(BoundQuery {
                plan: Plan::WorkTable {
                    id: work.id,
                    types: work.columns.iter().map(|c| c.ty).collect(),
                },
                columns: work.columns.clone(),
            }),
            None if def.recursive => self.bind_recursive_query(index, &def),
            None => match &def.bound {
                Some(bound) => Ok(bound.clone()),
                None => {
                    self.expose_records = true;
                    let q = self.bind_cte_query(index, &def);
                    self.expose_records = false;
                    match q {
                        Ok(q) if def.materialize => {
                            let q = BoundQuery {
                                plan: Plan::shared(q.plan),
                                columns: q.columns,
                            };
                            self.ctes[index].bound = Some(q.clone());
                            Ok(q)
                        }
                        q => q,
                    }
                }
            },
        };
        let q = bound?;
        if def.columns.len() > q.columns.len() {
            return Err(Error::InvalidColumnReference {
                message: format!(
                    "WITH query \"{}\" has {} columns available but {} columns specified",
                    def.name,
                    q.columns.len(),
                    def.columns.len()
                ),
                position: None,
            });
        }
        let relation = alias
            .map(|a| normalize_ident(&a.name))
            .unwrap_or_else(|| def.name.clone());
        // The reference's own column aliases win over the WITH query's column list.
        let renames = alias_columns(alias);
        let names: Vec<String> = (0..renames.len().max(def.columns.len()))
            .filter_map(|i| renames.get(i).or_else(|| def.columns.get(i)).cloned())
            .collect();
        Ok(query_relation(q, Some(relation), &names))
    }

    /// Binds the query of the WITH query `self.ctes[index]` (`def`): it sees only the WITH
    /// queries defined before it.
    pub(crate) fn bind_cte_query(&mut self, index: usize, def: &CteDef) -> Result<BoundQuery> {
        let later = self.ctes.split_off(index);
        let bound = self.bind_query(&def.query);
        self.ctes.extend(later);
        bound
    }

    /// The session's search path (`public` alone for a binder without a session).
    pub fn search_path(&self) -> std::borrow::Cow<'_, crate::schemas::SearchPath> {
        match self.session {
            Some(s) => std::borrow::Cow::Borrowed(&s.path),
            None => std::borrow::Cow::Owned(crate::schemas::SearchPath::public_only()),
        }
    }

    /// The parts of a relation name: (schema if written, name), normalized; a database name
    /// in front is ignored.
    fn name_parts(&self, name: &ast::ObjectName) -> Result<(Option<String>, String)> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| {
                p.as_ident()
                    .map(normalize_ident)
                    .unwrap_or_else(|| p.to_string())
            })
            .collect();
        match parts.as_slice() {
            [n] => Ok((None, n.clone())),
            [s, n] | [_, s, n] => Ok((Some(s.clone()), n.clone())),
            _ => Err(Error::Syntax {
                message: format!("improper relation name (too many dotted names): {name}"),
                position: self.position(name.span()),
            }),
        }
    }

    /// The schema a qualified name names, checked to exist (3F000 otherwise); `pg_temp` is
    /// the session's temporary schema.
    fn named_schema(&self, schema: &str, span: Span) -> Result<String> {
        let path = self.search_path();
        let schema = path.qualifier(schema);
        if !crate::schemas::exists(self.catalog, schema, &path.temp) {
            return Err(Error::UndefinedSchema {
                name: schema.to_owned(),
                position: self.position(span),
            });
        }
        Ok(schema.to_owned())
    }

    /// Splits a relation name into (schema, name) as a reference to an existing relation:
    /// a qualified name's schema must exist; an unqualified name is looked up through the
    /// search path (its first schema, or none, when no schema holds it).
    pub fn table_name(&self, name: &ast::ObjectName) -> Result<(String, String)> {
        match self.name_parts(name)? {
            (Some(s), n) => Ok((self.named_schema(&s, name.span())?, n)),
            (None, n) => Ok((self.resolve_unqualified(&n), n)),
        }
    }

    /// The schema of the first relation named `name` on the search path.
    pub(crate) fn resolve_unqualified(&self, name: &str) -> String {
        let c = self.catalog;
        if name == crate::planner::dml::TARGET_TABLE {
            if let Some(t) = c.tables.iter().find(|t| t.def.name == name) {
                return t.def.schema.clone();
            }
        }
        let path = self.search_path();
        path.schemas
            .iter()
            .find(|s| {
                c.table(s, name).is_some()
                    || c.objects.view(s, name).is_some()
                    || c.objects.index(s, name).is_some()
                    || c.external.table(s, name).is_some()
            })
            .or_else(|| path.schemas.first())
            .cloned()
            // No schema on the path: a name that holds nothing, so the lookup fails.
            .unwrap_or_default()
    }

    /// Splits the name of a relation to create into (schema, name): a qualified name's
    /// schema must exist and hold tables; an unqualified name goes to the first existing
    /// schema of the search path (3F000 when there is none), or to the temporary schema when
    /// `temporary`.
    pub fn creation_name(
        &self,
        name: &ast::ObjectName,
        temporary: bool,
    ) -> Result<(String, String)> {
        let (schema, n) = self.name_parts(name)?;
        let path = self.search_path();
        let schema = match schema {
            Some(s) => self.named_schema(&s, name.span())?,
            None if temporary => path.temp.clone(),
            None => match path.creation_schema() {
                Some(s) => s.to_owned(),
                None => {
                    return Err(Error::NoSchemaSelected {
                        position: self.position(name.span()),
                    })
                }
            },
        };
        if temporary && schema != path.temp {
            return Err(Error::InvalidTableDefinition {
                message: "cannot create temporary relation in non-temporary schema".into(),
                position: self.position(name.span()),
            });
        }
        if schema.is_empty() {
            return Err(Error::Unsupported {
                message: "temporary tables need a session".into(),
            });
        }
        if matches!(schema.as_str(), "pg_catalog" | "information_schema") {
            return Err(Error::InsufficientPrivilege {
                message: format!("permission denied to create \"{schema}.{n}\""),
            });
        }
        Ok((schema, n))
    }
}

/// Rows an external table's file is taken to hold when ordering joins.
const EXTERNAL_FILE_ROWS_GUESS: u64 = 100_000;

/// The column aliases of `AS name (a, b, ...)`.
fn alias_columns(alias: Option<&ast::TableAlias>) -> Vec<String> {
    alias
        .map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect())
        .unwrap_or_default()
}

/// A query in FROM (a derived table or a WITH query) as a relation named `relation`, its
/// columns renamed by `names` where given.
fn query_relation(q: BoundQuery, relation: Option<String>, names: &[String]) -> Relation {
    // A record column's hidden field columns follow its renaming.
    let renamed = |i: usize, name: &str| -> String {
        match crate::planner::records::field_column_parts(name) {
            Some((column, field)) => match q.columns.iter().position(|c| c.name == column) {
                Some(k) if k < names.len() => {
                    crate::planner::records::field_column_name(&names[k], field)
                }
                _ => name.to_string(),
            },
            None => names.get(i).cloned().unwrap_or_else(|| name.to_string()),
        }
    };
    let scope = Scope {
        columns: q
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ScopeColumn {
                relation: relation.clone(),
                name: renamed(i, &c.name),
                ty: c.ty,
                origin: c.origin,
            })
            .collect(),
        ..Default::default()
    };
    Relation {
        plan: q.plan,
        scope,
        rows: 1000,
    }
}

/// True if column `i` of a set operation's operand is an untyped literal (see
/// [`Binder::set_operand`]).
fn untyped_column(plan: &Plan, i: usize) -> bool {
    matches!(plan, Plan::Project { exprs, .. } if matches!(exprs.get(i), Some(Expr::Literal { unknown: true, .. })))
}

/// True if `e` reads a column at or past `base` (a subquery's result) outside the arguments
/// of its aggregates.
fn reads_outside_aggregates(e: &Expr, base: usize) -> bool {
    match e {
        Expr::Column { index, .. } => *index >= base,
        Expr::Literal { .. } => false,
        Expr::Aggregate(_) => false,
        Expr::Binary { left, right, .. } => {
            reads_outside_aggregates(left, base) || reads_outside_aggregates(right, base)
        }
        Expr::Not(x) | Expr::Negate(x) => reads_outside_aggregates(x, base),
        Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => reads_outside_aggregates(expr, base),
        Expr::Case {
            whens, otherwise, ..
        } => {
            whens.iter().any(|(w, t)| {
                reads_outside_aggregates(w, base) || reads_outside_aggregates(t, base)
            }) || otherwise
                .as_ref()
                .is_some_and(|o| reads_outside_aggregates(o, base))
        }
        Expr::Function { args, .. } => args.iter().any(|a| reads_outside_aggregates(a, base)),
        Expr::Window(w) => w.exprs().any(|x| reads_outside_aggregates(x, base)),
    }
}

pub(crate) fn sort_key(expr: Expr, options: &ast::OrderByOptions) -> SortKey {
    let descending = matches!(options.sort, Some(ast::OrderBySort::Desc));
    // PostgreSQL: NULLs sort as larger than any value by default.
    let nulls_first = options.nulls_first.unwrap_or(descending);
    SortKey {
        expr,
        descending,
        nulls_first,
    }
}

/// The grouping sets of a `ROLLUP (...)` or `CUBE (...)` written inside GROUPING SETS
/// (sqlparser reads it there as a function call), or `None` for any other item.
fn nested_sets(e: &ast::Expr) -> Result<Option<Vec<Vec<&ast::Expr>>>> {
    let ast::Expr::Function(f) = e else {
        return Ok(None);
    };
    let name = f.name.to_string().to_ascii_lowercase();
    if !matches!(name.as_str(), "rollup" | "cube") || f.over.is_some() {
        return Ok(None);
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return Ok(None);
    };
    // Each argument is one element: an expression or a parenthesized list of them.
    let mut elements: Vec<Vec<&ast::Expr>> = Vec::new();
    for a in &list.args {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a else {
            return Ok(None);
        };
        elements.push(match x {
            ast::Expr::Tuple(items) => items.iter().collect(),
            other => vec![other],
        });
    }
    let k = elements.len();
    if name == "rollup" {
        return Ok(Some(
            (0..=k)
                .rev()
                .map(|n| elements[..n].iter().flatten().copied().collect())
                .collect(),
        ));
    }
    if k > 12 {
        return Err(Error::TooManyColumns {
            message: "CUBE is limited to 12 elements".into(),
        });
    }
    Ok(Some(
        (0..(1usize << k))
            .rev()
            .map(|mask| {
                (0..k)
                    .filter(|b| mask & (1 << (k - 1 - b)) != 0)
                    .flat_map(|b| elements[b].iter().copied())
                    .collect()
            })
            .collect(),
    ))
}

/// Most grouping sets one GROUP BY may produce.
const GROUPING_SETS_MAX: usize = 4096;

/// One aggregate per grouping set over the shared input, each laid out as every grouping
/// expression (NULL where the set leaves it out), the grouping id, the set's number and the
/// aggregates, and all of them UNION ALL-ed.
fn grouping_sets_plan(
    input: Plan,
    groups: &[Expr],
    sets: &[Vec<usize>],
    aggs: Vec<AggCall>,
) -> Plan {
    let input = Plan::shared(input);
    let mut arms = Vec::with_capacity(sets.len());
    for (k, set) in sets.iter().enumerate() {
        let aggregate = Plan::Aggregate {
            input: Box::new(input.clone()),
            groups: set.iter().map(|i| groups[*i].clone()).collect(),
            aggs: aggs.clone(),
        };
        let mut exprs: Vec<Expr> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| match set.iter().position(|j| *j == i) {
                Some(p) => Expr::Column {
                    index: p,
                    ty: g.ty(),
                },
                None => Expr::literal(Datum::Null, g.ty()),
            })
            .collect();
        let gid: i64 = (0..groups.len())
            .filter(|i| !set.contains(i))
            .map(|i| 1i64 << i)
            .sum();
        exprs.push(Expr::literal(Datum::Int(gid), SqlType::Integer));
        exprs.push(Expr::literal(Datum::Int(k as i64), SqlType::Integer));
        exprs.extend(aggs.iter().enumerate().map(|(a, call)| Expr::Column {
            index: set.len() + a,
            ty: call.ty,
        }));
        arms.push(Plan::Project {
            input: Box::new(aggregate),
            exprs,
        });
    }
    let mut arms = arms.into_iter();
    let first = arms.next().unwrap_or(Plan::Values {
        rows: vec![],
        types: vec![],
    });
    arms.fold(first, |left, right| Plan::SetOp {
        left: Box::new(left),
        right: Box::new(right),
        kind: SetOpKind::Union,
        all: true,
    })
}

/// GROUPING(args) over an aggregate's output: bit `m-1-j` is set when argument j is left out
/// of the row's grouping set; 0 without grouping sets.
fn grouping_value(args: &[Expr], groups: &[Expr], gid: Option<usize>) -> Result<Expr> {
    let int = |v: i64| Expr::literal(Datum::Int(v), SqlType::Integer);
    let bin = |op: BinaryOp, l: Expr, r: Expr| Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
        ty: SqlType::Integer,
    };
    let m = args.len();
    let mut total: Option<Expr> = None;
    for (j, a) in args.iter().enumerate() {
        let Some(i) = groups.iter().position(|g| g == a) else {
            return Err(Error::Grouping {
                message: "arguments to GROUPING must be grouping expressions of the associated query level".into(),
                position: None,
            });
        };
        let Some(col) = gid else { continue };
        let bit = bin(
            BinaryOp::Mod,
            bin(
                BinaryOp::Div,
                Expr::Column {
                    index: col,
                    ty: SqlType::Integer,
                },
                int(1i64 << i),
            ),
            int(2),
        );
        let term = bin(BinaryOp::Mul, bit, int(1i64 << (m - 1 - j)));
        total = Some(match total {
            None => term,
            Some(t) => bin(BinaryOp::Add, t, term),
        });
    }
    Ok(total.unwrap_or_else(|| int(0)))
}

/// True if the expression contains an aggregate call (or GROUPING).
pub fn contains_aggregate(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| {
        if matches!(
            x,
            Expr::Aggregate(_)
                | Expr::Function {
                    func: ScalarFunc::Grouping,
                    ..
                }
        ) {
            found = true;
        }
    });
    found
}

/// Rewrites an expression over the aggregate's input into one over its output: group
/// expressions and aggregate calls become output columns; any other column reference is an
/// error (it is neither grouped nor aggregated).
fn rewrite_for_aggregate(
    e: &Expr,
    groups: &[Expr],
    aggs: &mut Vec<AggCall>,
    ngroups: usize,
    gid: Option<usize>,
    scope: &Scope,
) -> Result<Expr> {
    let mut err: Option<Error> = None;
    let out = e.transform(&mut |x| {
        if let Some(i) = groups.iter().position(|g| g == x) {
            return Some(Expr::Column {
                index: i,
                ty: x.ty(),
            });
        }
        match x {
            Expr::Function {
                func: ScalarFunc::Grouping,
                args,
                ..
            } => match grouping_value(args, groups, gid) {
                Ok(v) => Some(v),
                Err(e) => {
                    err.get_or_insert(e);
                    Some(x.clone())
                }
            },
            Expr::Aggregate(call) => {
                let k = match aggs.iter().position(|a| a == call.as_ref()) {
                    Some(k) => k,
                    None => {
                        aggs.push(call.as_ref().clone());
                        aggs.len() - 1
                    }
                };
                Some(Expr::Column {
                    index: ngroups + k,
                    ty: call.ty,
                })
            }
            Expr::Column { index, ty } if *index >= scope.columns.len() => {
                // An uncorrelated subquery's value, joined after the aggregate.
                Some(Expr::Column {
                    index: SUBQUERY_MARK + (*index - scope.columns.len()),
                    ty: *ty,
                })
            }
            Expr::Column { index, .. } => {
                if err.is_none() {
                    let name = scope
                        .columns
                        .get(*index)
                        .map(|c| match &c.relation {
                            Some(r) => format!("{r}.{}", c.name),
                            None => c.name.clone(),
                        })
                        .unwrap_or_default();
                    err = Some(Error::Grouping {
                        message: format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                        position: None,
                    });
                }
                Some(x.clone())
            }
            _ => None,
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// While an aggregated query is rewritten, its uncorrelated subqueries' values are columns
/// from this index on; they are renumbered once the aggregate's width is known.
const SUBQUERY_MARK: usize = usize::MAX / 2;

/// `plan`'s first `width` columns.
fn leading_columns(plan: Plan, width: usize) -> Plan {
    let types = plan.types();
    Plan::Project {
        input: Box::new(plan),
        exprs: types
            .into_iter()
            .take(width)
            .enumerate()
            .map(|(index, ty)| Expr::Column { index, ty })
            .collect(),
    }
}

/// `plan` keeping only the rows that pass every one of `conjuncts`: a scan takes them as its
/// filter (tested block by block), another plan gets a filter above it.
fn restrict(plan: Plan, conjuncts: Vec<Expr>) -> Plan {
    match (plan, Expr::conjunction(conjuncts)) {
        (p, None) => p,
        (
            Plan::Scan {
                table,
                projection,
                filter,
                external,
            },
            Some(f),
        ) => Plan::Scan {
            table,
            projection,
            filter: Expr::conjunction(filter.into_iter().chain([f]).collect()),
            external,
        },
        (p, Some(f)) => Plan::Filter {
            input: Box::new(p),
            predicate: f,
        },
    }
}

fn apply_filter(plan: Plan, conjuncts: Vec<Expr>) -> Plan {
    match Expr::conjunction(conjuncts) {
        Some(predicate) => Plan::Filter {
            input: Box::new(plan),
            predicate,
        },
        None => plan,
    }
}

/// Joins relations greedily: filters that touch one relation are pushed into it; then,
/// starting from the first relation, each step joins the smallest relation connected to what
/// is joined so far by an equality predicate (a cross product only when none is). The result's
/// columns are restored to FROM order.
fn join_relations(
    relations: Vec<Relation>,
    conjuncts: Vec<Expr>,
    stats: Option<&basalt_storage::Statistics>,
) -> Plan {
    // Column range of each relation in FROM order.
    let mut offsets = Vec::with_capacity(relations.len());
    let mut acc = 0;
    for r in &relations {
        offsets.push(acc);
        acc += r.scope.columns.len();
    }
    let total = acc;
    let owner = |col: usize| -> usize { offsets.iter().rposition(|o| *o <= col).unwrap_or(0) };
    let rels_of = |e: &Expr| -> Vec<usize> {
        let mut v: Vec<usize> = e.columns().into_iter().map(owner).collect();
        v.sort_unstable();
        v.dedup();
        v
    };

    // Push single-relation predicates down.
    let mut plans: Vec<Option<(Plan, u64)>> = Vec::new();
    let mut pending: Vec<Expr> = Vec::new();
    let mut local: Vec<Vec<Expr>> = vec![Vec::new(); relations.len()];
    for c in conjuncts {
        let rs = rels_of(&c);
        if rs.len() == 1 {
            let r = rs[0];
            let base = offsets[r];
            local[r].push(c.map_columns(&|i| i - base));
        } else {
            pending.push(c);
        }
    }
    // Equalities between columns chain: `a = b AND b = c` implies `a = c`, which lets `a`'s
    // relation join `c`'s directly (TPC-H Q5's customer and nation through supplier).
    let implied = implied_equalities(&pending, &owner);
    pending.extend(implied);
    // A disjunction over several relations implies, for each relation that every branch
    // restricts, the disjunction of those restrictions: push that down too (the original
    // still filters the join).
    for c in &pending {
        for (r, derived) in implied_relation_filters(c, &rels_of) {
            let base = offsets[r];
            local[r].push(derived.map_columns(&|i| i - base));
        }
    }
    // Estimated rows of each relation after its own predicates, and distinct counts of its
    // columns, for ordering the joins.
    let ndvs: Vec<Vec<ColumnEstimate>> = relations
        .iter()
        .map(|r| estimate::columns(&r.plan, r.scope.columns.len(), r.rows, stats))
        .collect();
    let est: Vec<f64> = relations
        .iter()
        .zip(&local)
        .zip(&ndvs)
        .map(|((r, preds), cols)| {
            let sel: f64 = preds
                .iter()
                .map(|p| estimate::selectivity(p, cols))
                .product();
            (r.rows as f64 * sel).max(1.0)
        })
        .collect();
    for (r, preds) in relations.into_iter().zip(local) {
        plans.push(Some((restrict(r.plan, preds), r.rows)));
    }

    // The order to join the relations in: the first, then each one joined to all before it.
    let order = {
        let ndv_of = |col: usize, cap: f64| -> f64 {
            let r = owner(col);
            ndvs[r]
                .get(col - offsets[r])
                .map_or(est[r], |c| c.ndv)
                .min(cap)
                .max(1.0)
        };
        // Estimated rows of joining relation `r` to the relations `joined`, which give
        // `joined_rows`: |J| * |R| / the larger distinct count of the keys of the equality
        // predicates between them; `None` when no equality connects them.
        let join_rows = |joined: &[usize], joined_rows: f64, r: usize| -> Option<f64> {
            let mut divisor: Option<f64> = None;
            for c in &pending {
                if !is_equi_between(c, &rels_of, joined, r) {
                    continue;
                }
                let Expr::Binary { left, right, .. } = c else {
                    continue;
                };
                let side = |e: &Expr| -> f64 {
                    match e {
                        Expr::Column { index, .. } if owner(*index) == r => ndv_of(*index, est[r]),
                        Expr::Column { index, .. } => ndv_of(*index, joined_rows),
                        _ => 1.0,
                    }
                };
                let d = side(left).max(side(right));
                divisor = Some(divisor.map_or(d, |x: f64| x.max(d)));
            }
            divisor.map(|d| (joined_rows * est[r] / d).max(1.0))
        };
        join_order(est.len(), &est, &join_rows)
    };

    // position[col] = where FROM-order column `col` is in the current joined plan.
    let mut position: Vec<Option<usize>> = vec![None; total];
    let start = order.first().copied().unwrap_or(0);
    let mut joined: Vec<usize> = vec![start];
    let (mut plan, _) = plans.get_mut(start).and_then(|p| p.take()).unwrap_or((
        Plan::Values {
            rows: vec![],
            types: vec![],
        },
        0,
    ));
    let mut width = 0;
    let start_base = offsets.get(start).copied().unwrap_or(0);
    let start_end = offsets.get(start + 1).copied().unwrap_or(total);
    for (k, p) in position
        .iter_mut()
        .enumerate()
        .take(start_end)
        .skip(start_base)
    {
        *p = Some(k - start_base);
        width += 1;
    }
    for &r in order.iter().skip(1) {
        let Some((right, _)) = plans.get_mut(r).and_then(|p| p.take()) else {
            break;
        };
        let base = offsets[r];
        let rwidth = if r + 1 < offsets.len() {
            offsets[r + 1] - base
        } else {
            total - base
        };
        // Keys: equalities between the joined set and r; filters: anything now covered.
        let mut keys = Vec::new();
        let mut filters = Vec::new();
        let mut rest = Vec::new();
        let mut now: Vec<usize> = joined.clone();
        now.push(r);
        let pos_left = position.clone();
        let map_left = |e: &Expr| e.map_columns(&|i| pos_left[i].unwrap_or(0));
        let map_right = |e: &Expr| e.map_columns(&|i| i - base);
        for c in pending.drain(..) {
            let rs = rels_of(&c);
            if !rs.iter().all(|x| now.contains(x)) {
                rest.push(c);
                continue;
            }
            if let Expr::Binary {
                op: BinaryOp::Eq,
                left,
                right: rhs,
                ..
            } = &c
            {
                let lr = rels_of(left);
                let rr = rels_of(rhs);
                let in_joined = |v: &[usize]| !v.is_empty() && v.iter().all(|x| joined.contains(x));
                if in_joined(&lr) && rr == [r] {
                    keys.push((map_left(left), map_right(rhs)));
                    continue;
                }
                if in_joined(&rr) && lr == [r] {
                    keys.push((map_left(rhs), map_right(left)));
                    continue;
                }
            }
            filters.push(c);
        }
        pending = rest;
        for k in 0..rwidth {
            position[base + k] = Some(width + k);
        }
        width += rwidth;
        let pos_all = position.clone();
        let filter = Expr::conjunction(
            filters
                .iter()
                .map(|f| f.map_columns(&|i| pos_all[i].unwrap_or(0)))
                .collect(),
        );
        plan = Plan::Join {
            left: Box::new(plan),
            right: Box::new(right),
            join_type: JoinType::Inner,
            keys,
            filter,
            null_equal: false,
        };
        joined.push(r);
    }
    // Anything left (e.g. constant predicates).
    let pos_all = position.clone();
    let leftover: Vec<Expr> = pending
        .iter()
        .map(|f| f.map_columns(&|i| pos_all[i].unwrap_or(0)))
        .collect();
    plan = apply_filter(plan, leftover);
    // Restore FROM order if joins reordered columns.
    let identity = position.iter().enumerate().all(|(i, p)| *p == Some(i));
    if !identity {
        let types = plan.types();
        let exprs = position
            .iter()
            .map(|p| {
                let i = p.unwrap_or(0);
                Expr::Column {
                    index: i,
                    ty: types.get(i).copied().unwrap_or(SqlType::Text),
                }
            })
            .collect();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
    }
    plan
}

/// For a disjunction `(a1 AND b1) OR (a2 AND b2) OR ...` whose branches each hold conjuncts
/// over relation `r` alone (`a1`, `a2`, ...): `r` and `a1 OR a2 OR ...`, which every row the
/// disjunction keeps satisfies. TPC-H Q7's pair of nations and Q19's three brands become
/// filters on the scans instead of on a join's output. Only conjuncts that cannot raise an
/// error or change between evaluations are taken, since the derived filter also runs on rows
/// the join would have dropped.
fn implied_relation_filters(
    c: &Expr,
    rels_of: &impl Fn(&Expr) -> Vec<usize>,
) -> Vec<(usize, Expr)> {
    let mut branches = Vec::new();
    c.operands_of(BinaryOp::Or, &mut branches);
    if branches.len() < 2 {
        return Vec::new();
    }
    let parts: Vec<Vec<&Expr>> = branches
        .iter()
        .map(|b| {
            let mut v = Vec::new();
            b.operands_of(BinaryOp::And, &mut v);
            v
        })
        .collect();
    let mut out = Vec::new();
    let relations = rels_of(c);
    if relations.len() < 2 {
        return out;
    }
    for r in relations {
        let mut derived: Option<Expr> = None;
        for branch in &parts {
            let own: Vec<Expr> = branch
                .iter()
                .filter(|p| rels_of(p) == [r] && p.is_safe_to_repeat())
                .map(|p| (*p).clone())
                .collect();
            let Some(own) = Expr::conjunction(own) else {
                derived = None;
                break;
            };
            derived = Some(match derived {
                None => own,
                Some(prev) => Expr::Binary {
                    op: BinaryOp::Or,
                    left: Box::new(prev),
                    right: Box::new(own),
                    ty: SqlType::Boolean,
                },
            });
        }
        if let Some(d) = derived {
            out.push((r, d));
        }
    }
    out
}

/// The equalities between columns of different relations that the column equalities in
/// `conjuncts` imply and do not state: within each set of columns of one type that equalities
/// connect, every pair from different relations (`owner`). NULL never equals anything, so
/// every row the stated equalities keep satisfies the implied ones.
fn implied_equalities(conjuncts: &[Expr], owner: &impl Fn(usize) -> usize) -> Vec<Expr> {
    let pairs: Vec<(usize, usize, SqlType)> = conjuncts
        .iter()
        .filter_map(|c| match c {
            Expr::Binary {
                op: BinaryOp::Eq,
                left,
                right,
                ..
            } => match (left.as_ref(), right.as_ref()) {
                (Expr::Column { index: a, ty: ta }, Expr::Column { index: b, ty: tb })
                    if ta == tb && a != b =>
                {
                    Some((*a.min(b), *a.max(b), *ta))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    // Sets of connected columns, merged pair by pair.
    let mut classes: Vec<(Vec<usize>, SqlType)> = Vec::new();
    for (a, b, ty) in &pairs {
        let found: Vec<usize> = classes
            .iter()
            .enumerate()
            .filter(|(_, (cols, t))| t == ty && (cols.contains(a) || cols.contains(b)))
            .map(|(i, _)| i)
            .collect();
        let mut merged = vec![*a, *b];
        for i in found.iter().rev() {
            merged.extend(classes.swap_remove(*i).0);
        }
        merged.sort_unstable();
        merged.dedup();
        classes.push((merged, *ty));
    }
    let mut implied = Vec::new();
    for (cols, ty) in classes {
        for (i, a) in cols.iter().enumerate() {
            for b in &cols[i + 1..] {
                let stated = pairs.iter().any(|(x, y, _)| (x, y) == (a, b));
                if stated || owner(*a) == owner(*b) {
                    continue;
                }
                implied.push(Expr::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(Expr::Column { index: *a, ty }),
                    right: Box::new(Expr::Column { index: *b, ty }),
                    ty: SqlType::Boolean,
                });
            }
        }
    }
    implied
}

/// Relations joined as many as this are ordered by dynamic programming; more, greedily.
const JOIN_ORDER_EXHAUSTIVE_MAX: usize = 12;

/// The order in which to join `n` relations (estimated rows `est`) into a left-deep tree: the
/// order whose intermediate results are estimated to hold the fewest rows in total, where
/// `join_rows(joined, rows, r)` estimates the rows of joining relation `r` to the relations
/// `joined` (estimated to give `rows`), `None` when no equality connects them. A relation is
/// joined without an equality (a cross product) only when no other can be. Up to
/// [`JOIN_ORDER_EXHAUSTIVE_MAX`] relations every left-deep order is considered (over subsets);
/// beyond, each step takes the join estimated smallest, starting from the smallest relation.
fn join_order(
    n: usize,
    est: &[f64],
    join_rows: &impl Fn(&[usize], f64, usize) -> Option<f64>,
) -> Vec<usize> {
    let members = |set: usize| -> Vec<usize> { (0..n).filter(|i| set & (1 << i) != 0).collect() };
    // The relations that can join `joined` next, with the rows each join gives.
    let next = |joined: &[usize], rows: f64, in_set: &dyn Fn(usize) -> bool| {
        let connected: Vec<(usize, f64)> = (0..n)
            .filter(|r| !in_set(*r))
            .filter_map(|r| Some((r, join_rows(joined, rows, r)?)))
            .collect();
        if !connected.is_empty() {
            return connected;
        }
        (0..n)
            .filter(|r| !in_set(*r))
            .map(|r| (r, rows * est.get(r).copied().unwrap_or(1.0)))
            .collect()
    };
    if n == 0 {
        return Vec::new();
    }
    if n > JOIN_ORDER_EXHAUSTIVE_MAX {
        let start = (0..n)
            .min_by(|a, b| est[*a].total_cmp(&est[*b]))
            .unwrap_or(0);
        let mut order = vec![start];
        let mut rows = est.get(start).copied().unwrap_or(1.0);
        while order.len() < n {
            let joined = order.clone();
            let candidates = next(&joined, rows, &|r| joined.contains(&r));
            let Some((r, out)) = candidates.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
                break;
            };
            order.push(r);
            rows = out;
        }
        return order;
    }
    // best[set] = (total intermediate rows, rows of the set joined, order), for the subsets
    // reachable from single relations.
    let mut best: Vec<Option<(f64, f64, Vec<usize>)>> = vec![None; 1 << n];
    // The first relation counts too: it runs first and its keys filter the next one's scan.
    for (r, rows) in est.iter().enumerate().take(n) {
        best[1 << r] = Some((*rows, *rows, vec![r]));
    }
    for set in 1..(1usize << n) {
        let Some((cost, rows, order)) = best[set].clone() else {
            continue;
        };
        let joined = members(set);
        for (r, out) in next(&joined, rows, &|r| set & (1 << r) != 0) {
            let bigger = set | (1 << r);
            let total = cost + out;
            if best[bigger].as_ref().is_none_or(|(c, ..)| total < *c) {
                let mut order = order.clone();
                order.push(r);
                best[bigger] = Some((total, out, order));
            }
        }
    }
    best[(1 << n) - 1]
        .take()
        .map(|(_, _, order)| order)
        .unwrap_or_else(|| (0..n).collect())
}

fn is_equi_between(
    c: &Expr,
    rels_of: &impl Fn(&Expr) -> Vec<usize>,
    joined: &[usize],
    r: usize,
) -> bool {
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
        ..
    } = c
    else {
        return false;
    };
    let lr = rels_of(left);
    let rr = rels_of(right);
    let in_joined = |v: &[usize]| !v.is_empty() && v.iter().all(|x| joined.contains(x));
    (in_joined(&lr) && rr == [r]) || (in_joined(&rr) && lr == [r])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(a: usize, b: usize, ty: SqlType) -> Expr {
        Expr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(Expr::Column { index: a, ty }),
            right: Box::new(Expr::Column { index: b, ty }),
            ty: SqlType::Boolean,
        }
    }

    #[test]
    fn chained_equalities_imply_the_missing_ones() {
        // Three relations of two columns each: columns 0-1, 2-3, 4-5.
        let owner = |c: usize| c / 2;
        let int = SqlType::Integer;
        // 1 = 3 and 3 = 5 imply 1 = 5; 0 = 2 stands alone; 2 = 4 is stated and compares
        // another type to column 0's, so 0 = 4 is not implied.
        let stated = [
            eq(1, 3, int),
            eq(3, 5, int),
            eq(0, 2, int),
            eq(2, 4, SqlType::BigInt),
        ];
        assert_eq!(implied_equalities(&stated, &owner), [eq(1, 5, int)]);
        // Nothing to add when every pair is stated, or within one relation.
        assert!(
            implied_equalities(&[eq(1, 3, int), eq(3, 5, int), eq(1, 5, int)], &owner).is_empty()
        );
        assert!(implied_equalities(&[eq(0, 2, int), eq(1, 2, int)], &owner).is_empty());
    }

    #[test]
    fn joins_are_ordered_by_their_intermediate_rows() {
        // A star with a chain: big (0) joins mid (1), mid joins small (2); 3 joins nothing.
        // Joining small, then mid, then big keeps every intermediate result small; the
        // unconnected relation comes last, as a cross product.
        let est = [1_000_000.0, 1_000.0, 10.0, 5.0];
        let join_rows = |joined: &[usize], rows: f64, r: usize| -> Option<f64> {
            let connected = |a: usize, b: usize| (a == 0 && b == 1) || (a == 1 && b == 2);
            joined
                .iter()
                .any(|j| connected(*j, r) || connected(r, *j))
                .then(|| (rows * est[r] / est[r].max(rows)).max(1.0))
        };
        let order = join_order(4, &est, &join_rows);
        assert_eq!(order.len(), 4);
        assert_eq!(&order[..3], [2, 1, 0]);
        assert_eq!(order[3], 3);
        // Beyond the exhaustive limit the greedy order still joins every relation once.
        let est: Vec<f64> = (0..JOIN_ORDER_EXHAUSTIVE_MAX + 2)
            .map(|i| (i + 1) as f64)
            .collect();
        let chain = |joined: &[usize], rows: f64, r: usize| -> Option<f64> {
            joined.iter().any(|j| j.abs_diff(r) == 1).then_some(rows)
        };
        let mut order = join_order(est.len(), &est, &chain);
        assert_eq!(order[0], 0);
        order.sort_unstable();
        assert_eq!(order, (0..est.len()).collect::<Vec<_>>());
    }
}

//! Subqueries in expressions, decorrelated into joins: a subquery is never run once per outer
//! row.
//!
//! While an expression is bound, a subquery is bound once to learn its type and which columns
//! of the enclosing query it references (its correlation columns), and stands in the
//! expression as a column appended to the enclosing query's input. Before that input is
//! filtered or projected, each such subquery is joined to it:
//!
//! 1. The *domain* is the distinct values of the correlation columns over the outer input.
//! 2. The subquery is bound again with the domain as an extra, hidden FROM item; its outer
//!    references read the domain's columns, its correlation predicates (any comparison)
//!    become join conditions, its grouping is prefixed by the domain columns and its select
//!    list carries them at the end. Its LIMIT / OFFSET apply per domain value: its rows are
//!    numbered within each domain value in ORDER BY order (`row_number() OVER (PARTITION BY
//!    domain ORDER BY ...)`) and those from OFFSET + 1 to OFFSET + LIMIT kept. The result is
//!    the subquery's rows for every domain value.
//! 3. That result is LEFT joined back to the outer input on the correlation columns (IS NOT
//!    DISTINCT FROM) and one expression over the joined columns gives the subquery's value:
//!    - scalar: the value, or the select list over an empty input (COUNT gives 0) when an
//!      aggregate subquery had no rows for this outer row; more than one row for one domain
//!      value is an error;
//!    - EXISTS: whether a row joined;
//!    - `x IN (...)`: a join on the correlation columns and `x` with the subquery's distinct
//!      non-NULL values, plus a join with per-domain counts of rows and non-NULL values, for
//!      SQL's three-valued answer (NULL when nothing matched but `x` or a value was NULL).
//!
//! An uncorrelated subquery has no domain: it is joined with no keys (one row at most).

use basalt_storage::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{Binder, Scope, ScopeColumn};
use crate::planner::expr::{AggCall, AggFunc, BinaryOp, Expr};
use crate::planner::plan::{JoinType, Plan};
use crate::types::Datum;

/// Names of the hidden domain columns start with this character, which no SQL identifier can
/// contain, so that names never resolve to them.
pub const HIDDEN_PREFIX: char = '\0';

/// What a subquery expression asks.
#[derive(Clone, Debug)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: its one value.
    Scalar,
    /// `EXISTS (SELECT ...)`.
    Exists,
    /// `x IN (SELECT ...)`, holding `x` bound over the outer scope.
    In(Box<Expr>),
}

/// A subquery found in an expression, waiting to be joined to the outer input.
#[derive(Clone, Debug)]
pub struct PendingSubquery {
    query: ast::Query,
    kind: SubqueryKind,
    /// Outer scope columns the subquery references, in domain order.
    correlated: Vec<usize>,
    /// For IN: the comparison's two sides after coercion: `x` over the outer scope and the
    /// subquery's value over its column 0.
    in_sides: Option<(Expr, Expr)>,
}

/// One enclosing query's scope, seen from a subquery being bound.
#[derive(Clone, Debug)]
pub struct OuterFrame {
    pub scope: Scope,
    /// Outer columns referenced so far (first binding) or the domain's columns (second).
    pub used: Vec<usize>,
    /// Where the domain's columns start in the subquery's FROM scope (second binding).
    pub domain_offset: Option<usize>,
}

/// The distinct correlation values of the outer input, handed to the subquery's FROM.
#[derive(Clone, Debug)]
pub struct Domain {
    pub plan: Plan,
    pub types: Vec<SqlType>,
}

impl Domain {
    /// The domain's hidden FROM scope.
    pub fn scope(&self) -> Scope {
        Scope {
            columns: self
                .types
                .iter()
                .enumerate()
                .map(|(i, ty)| ScopeColumn {
                    relation: None,
                    name: format!("{HIDDEN_PREFIX}domain{i}"),
                    ty: *ty,
                    origin: None,
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn col(index: usize, ty: SqlType) -> Expr {
    Expr::Column { index, ty }
}

fn is_null(e: Expr, negated: bool) -> Expr {
    Expr::IsNull {
        expr: Box::new(e),
        negated,
    }
}

fn bool_lit(v: Option<bool>) -> Expr {
    Expr::literal(
        v.map(Datum::Boolean).unwrap_or(Datum::Null),
        SqlType::Boolean,
    )
}

fn columns_of(types: &[SqlType], range: std::ops::Range<usize>) -> Vec<Expr> {
    range.map(|i| col(i, types[i])).collect()
}

/// DISTINCT over all columns of `plan`.
fn distinct(plan: Plan) -> Plan {
    let types = plan.types();
    Plan::Aggregate {
        input: Box::new(plan),
        groups: columns_of(&types, 0..types.len()),
        aggs: vec![],
    }
}

/// The domain columns of a lifted subquery once moved in front of its value: columns 0..nd,
/// typed as they were after the `nsel` select-list columns.
fn lifted_keys_at(ltypes: &[SqlType], nsel: usize, nd: usize) -> Vec<Expr> {
    (0..nd).map(|i| col(i, ltypes[nsel + i])).collect()
}

/// True if the query's only row limit is `LIMIT n` with a constant n of at least one.
fn keeps_first_row(q: &ast::Query) -> bool {
    let Some(ast::LimitClause::LimitOffset {
        limit: Some(ast::Expr::Value(v)),
        offset: None,
        limit_by,
    }) = &q.limit_clause
    else {
        return false;
    };
    q.fetch.is_none()
        && limit_by.is_empty()
        && matches!(&v.value, ast::Value::Number(n, _) if n.parse::<u64>().is_ok_and(|n| n > 0))
}

impl Binder<'_> {
    /// An outer reference seen while a subquery is bound: recorded on the first binding,
    /// read from the domain on the second.
    pub(crate) fn outer_reference(&mut self, index: usize, ty: SqlType) -> Result<Expr> {
        let Some(frame) = self.outer.last_mut() else {
            return Err(Error::Internal("outer reference without a frame".into()));
        };
        match frame.domain_offset {
            None => {
                if !frame.used.contains(&index) {
                    frame.used.push(index);
                }
                // A stand-in of the right type; this binding only learns the shape.
                Ok(Expr::literal(Datum::Null, ty))
            }
            Some(offset) => match frame.used.iter().position(|u| *u == index) {
                Some(k) => Ok(col(offset + k, ty)),
                None => Err(Error::Internal("outer reference outside the domain".into())),
            },
        }
    }

    /// Binds `query` as a subquery of the query whose scope is `scope`, returning the column
    /// that will hold its value once `attach_subqueries` has joined it.
    pub(crate) fn bind_subquery(
        &mut self,
        query: &ast::Query,
        kind: SubqueryKind,
        scope: &Scope,
        span: Span,
    ) -> Result<Expr> {
        self.outer.push(OuterFrame {
            scope: scope.clone(),
            used: vec![],
            domain_offset: None,
        });
        let saved_domain = self.domain.take();
        self.entering_subquery = true;
        let bound = self.bind_query(query);
        self.entering_subquery = false;
        self.domain = saved_domain;
        let frame = self.outer.pop();
        let bound = bound?;
        let correlated = frame.map(|f| f.used).unwrap_or_default();
        let position = self.position(span);
        let one_column = |too_many: &str| -> Result<SqlType> {
            match bound.columns.as_slice() {
                [c] => Ok(c.ty),
                _ => Err(Error::Syntax {
                    message: too_many.into(),
                    position,
                }),
            }
        };
        let (ty, in_sides) = match &kind {
            SubqueryKind::Scalar => (one_column("subquery must return only one column")?, None),
            SubqueryKind::Exists => (SqlType::Boolean, None),
            SubqueryKind::In(x) => {
                let sub_ty = one_column("subquery has too many columns")?;
                let x = self.coerce_unknown(x.as_ref().clone(), sub_ty)?;
                let sides = match self.binary(BinaryOp::Eq, x, col(0, sub_ty), span)? {
                    Expr::Binary { left, right, .. } => (*left, *right),
                    _ => return Err(Error::Internal("IN comparison".into())),
                };
                (SqlType::Boolean, Some(sides))
            }
        };
        let index = scope.columns.len() + self.pending.len();
        self.pending.push(PendingSubquery {
            query: query.clone(),
            kind,
            correlated,
            in_sides,
        });
        Ok(col(index, ty))
    }

    /// True if no pending subquery references the enclosing query's columns (an IN's
    /// left-hand side counts as a reference).
    pub(crate) fn pending_uncorrelated(&self) -> bool {
        self.pending
            .iter()
            .all(|p| p.correlated.is_empty() && !matches!(p.kind, SubqueryKind::In(_)))
    }

    /// Fails if a clause that cannot hold subqueries bound one.
    pub(crate) fn no_subqueries_here(&mut self, what: &str) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.clear();
        Err(Error::Unsupported {
            message: format!("subqueries in {what} are not supported yet"),
        })
    }

    /// Binds a subquery a second time against the domain of its correlation columns: its
    /// output is its select list followed by the domain columns.
    fn bind_lifted(
        &mut self,
        p: &PendingSubquery,
        outer: &Plan,
        outer_scope: &Scope,
    ) -> Result<(Plan, Vec<SqlType>, Option<Vec<Expr>>)> {
        let nd = p.correlated.len();
        let domain = if nd == 0 {
            None
        } else {
            let types: Vec<SqlType> = p
                .correlated
                .iter()
                .map(|c| outer_scope.columns.get(*c).map(|x| x.ty))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Internal("correlation column".into()))?;
            let exprs = p
                .correlated
                .iter()
                .zip(&types)
                .map(|(c, t)| col(*c, *t))
                .collect();
            Some(Domain {
                plan: distinct(Plan::Project {
                    input: Box::new(outer.clone()),
                    exprs,
                }),
                types,
            })
        };
        if nd > 0 && !matches!(p.query.body.as_ref(), ast::SetExpr::Select(_)) {
            return Err(Error::Unsupported {
                message: "correlated subqueries must be a plain SELECT".into(),
            });
        }
        // EXISTS asks only whether a row exists: a LIMIT of one row or more without an
        // OFFSET changes nothing, so it is dropped rather than applied per domain value.
        let unlimited;
        let query = if matches!(p.kind, SubqueryKind::Exists) && keeps_first_row(&p.query) {
            unlimited = ast::Query {
                limit_clause: None,
                ..p.query.clone()
            };
            &unlimited
        } else {
            &p.query
        };
        self.outer.push(OuterFrame {
            scope: outer_scope.clone(),
            used: p.correlated.clone(),
            domain_offset: None,
        });
        let saved_domain = std::mem::replace(&mut self.domain, domain);
        self.empty_values = None;
        self.entering_subquery = true;
        let bound = self.bind_query(query);
        self.entering_subquery = false;
        let unconsumed = self.domain.is_some();
        self.domain = saved_domain;
        self.outer.pop();
        let empty = self.empty_values.take();
        let bound = bound?;
        if unconsumed {
            return Err(Error::Internal("subquery domain not used".into()));
        }
        let types = bound.plan.types();
        Ok((bound.plan, types, empty))
    }

    /// Which pending IN and EXISTS subqueries a WHERE clause requires to be true: those whose
    /// column is itself one of the conjuncts. Each can be a semi join, which drops the outer
    /// rows it rejects before the other subqueries see them (a NULL result rejects the row
    /// just as false does).
    pub(crate) fn semi_joinable(&self, conjuncts: &[Expr], base: usize) -> Vec<usize> {
        // An IN whose left side reads another subquery's value keeps the columns in order.
        if self.pending.iter().any(|p| {
            p.in_sides
                .as_ref()
                .is_some_and(|(x, _)| x.columns().iter().any(|c| *c >= base))
        }) {
            return Vec::new();
        }
        (0..self.pending.len())
            .filter(|k| {
                matches!(
                    self.pending[*k].kind,
                    SubqueryKind::In(_) | SubqueryKind::Exists
                ) && conjuncts
                    .iter()
                    .any(|c| matches!(c, Expr::Column { index, .. } if *index == base + k))
            })
            .collect()
    }

    /// Takes pending subquery `k` out if it is an uncorrelated `x IN (SELECT ...)` that
    /// [`Binder::semi_joinable`] listed: returns its distinct non-NULL values (one column)
    /// and the comparison's two sides, `x` over `outer_scope` and the value over column 0.
    /// Joined on them, the values keep exactly the rows the IN accepts, so they can join
    /// among the FROM clause's relations, where the cheapest order applies them (TPC-H
    /// Q18's 57 orders before its 6 million line items). The caller renumbers the columns of
    /// the subqueries after `k`.
    pub(crate) fn take_uncorrelated_in(
        &mut self,
        k: usize,
        outer_scope: &Scope,
    ) -> Result<Option<(Plan, Expr, Expr)>> {
        let Some(p) = self.pending.get(k) else {
            return Ok(None);
        };
        let (SubqueryKind::In(_), true, Some((x, y))) =
            (&p.kind, p.correlated.is_empty(), p.in_sides.clone())
        else {
            return Ok(None);
        };
        let p = self.pending.remove(k);
        let no_outer = Plan::Values {
            rows: vec![],
            types: vec![],
        };
        let (lifted, _, _) = self.bind_lifted(&p, &no_outer, outer_scope)?;
        let yty = y.ty();
        let values = distinct(Plan::Filter {
            input: Box::new(Plan::Project {
                input: Box::new(lifted),
                exprs: vec![y],
            }),
            predicate: is_null(col(0, yty), true),
        });
        Ok(Some((values, x, col(0, yty))))
    }

    /// The hidden FROM scope of an uncorrelated IN subquery's values (see
    /// [`Binder::take_uncorrelated_in`]).
    pub(crate) fn in_values_scope(ty: SqlType) -> Scope {
        Scope {
            columns: vec![ScopeColumn {
                relation: None,
                name: format!("{HIDDEN_PREFIX}in_values"),
                ty,
                origin: None,
            }],
            ..Default::default()
        }
    }

    /// Joins every pending subquery to `plan` (whose first columns are `outer_scope`),
    /// appending one column per subquery in the order their columns were handed out. The
    /// subqueries listed in `semi` (see [`Binder::semi_joinable`]) are joined first, as semi
    /// joins whose column is always true.
    pub(crate) fn attach_subqueries(
        &mut self,
        mut plan: Plan,
        outer_scope: &Scope,
        semi: &[usize],
    ) -> Result<Plan> {
        let pending = std::mem::take(&mut self.pending);
        let base = outer_scope.columns.len();
        let mut order: Vec<usize> = semi.to_vec();
        order.extend((0..pending.len()).filter(|k| !semi.contains(k)));
        // Where each subquery's column ends up before the final reordering.
        let mut position = vec![0; pending.len()];
        for (step, &k) in order.iter().enumerate() {
            let p = &pending[k];
            let as_semi = semi.contains(&k);
            position[k] = base + step;
            let width = base + step;
            let nd = p.correlated.len();
            if nd > 0 {
                // The outer input is both the domain's source and the join's left side: run it
                // once.
                plan = Plan::shared(plan);
            }
            let (lifted, ltypes, empty) = self.bind_lifted(p, &plan, outer_scope)?;
            if ltypes.len() < nd + 1 {
                return Err(Error::Internal("subquery output".into()));
            }
            // Outer-side keys: the correlation columns.
            let outer_keys: Vec<Expr> = p
                .correlated
                .iter()
                .map(|c| col(*c, outer_scope.columns[*c].ty))
                .collect();
            let nsel = ltypes.len() - nd;
            let lifted_keys = columns_of(&ltypes, nsel..nsel + nd);
            let join_as = |join_type: JoinType, left: Plan, right: Plan, left_keys: Vec<Expr>| {
                let rtypes = right.types();
                let keys = left_keys
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (l, col(i, rtypes[i])))
                    .collect();
                Plan::Join {
                    left: Box::new(left),
                    right: Box::new(right),
                    join_type,
                    keys,
                    filter: None,
                    null_equal: true,
                }
            };
            let join = |left: Plan, right: Plan, left_keys: Vec<Expr>| {
                join_as(JoinType::Left, left, right, left_keys)
            };
            let (joined, value) = match &p.kind {
                SubqueryKind::Scalar => {
                    let vty = ltypes[0];
                    // (domain..., value), checked for one row per domain value, then a marker.
                    let mut check = lifted_keys.clone();
                    check.push(col(0, vty));
                    let checked = Plan::SingleRow {
                        input: Box::new(Plan::Project {
                            input: Box::new(lifted),
                            exprs: check,
                        }),
                        key_columns: nd,
                    };
                    let mut exprs = columns_of(&checked.types(), 0..nd + 1);
                    exprs.push(bool_lit(Some(true)));
                    let right = Plan::Project {
                        input: Box::new(checked),
                        exprs,
                    };
                    let joined = join(plan, right, outer_keys);
                    let v = col(width + nd, vty);
                    let marker = col(width + nd + 1, SqlType::Boolean);
                    let value = match empty {
                        Some(empty) if nd > 0 => {
                            let corr = &p.correlated;
                            let otherwise = empty
                                .into_iter()
                                .next()
                                .unwrap_or(Expr::literal(Datum::Null, vty))
                                .map_columns(&|j| corr.get(j).copied().unwrap_or(j));
                            Expr::Case {
                                whens: vec![(is_null(marker, false), otherwise)],
                                otherwise: Some(Box::new(v)),
                                ty: vty,
                            }
                        }
                        _ => v,
                    };
                    (joined, value)
                }
                SubqueryKind::Exists if empty.is_some() => {
                    // An aggregate without GROUP BY or HAVING returns one row for every outer
                    // row, even over no input rows.
                    (plan, bool_lit(Some(true)))
                }
                SubqueryKind::Exists if as_semi => {
                    // Inner join with the distinct correlation values that have a row (or
                    // with one row at all, uncorrelated).
                    let right = if nd == 0 {
                        Plan::Project {
                            input: Box::new(Plan::Limit {
                                input: Box::new(lifted),
                                offset: 0,
                                limit: Some(1),
                            }),
                            exprs: vec![bool_lit(Some(true))],
                        }
                    } else {
                        let mut exprs = lifted_keys.clone();
                        exprs.push(bool_lit(Some(true)));
                        distinct(Plan::Project {
                            input: Box::new(lifted),
                            exprs,
                        })
                    };
                    (
                        join_as(JoinType::Inner, plan, right, outer_keys),
                        bool_lit(Some(true)),
                    )
                }
                SubqueryKind::Exists => {
                    let right = if nd == 0 {
                        Plan::Project {
                            input: Box::new(Plan::Limit {
                                input: Box::new(lifted),
                                offset: 0,
                                limit: Some(1),
                            }),
                            exprs: vec![bool_lit(Some(true))],
                        }
                    } else {
                        let mut exprs = lifted_keys.clone();
                        exprs.push(bool_lit(Some(true)));
                        distinct(Plan::Project {
                            input: Box::new(lifted),
                            exprs,
                        })
                    };
                    let joined = join(plan, right, outer_keys);
                    (joined, is_null(col(width + nd, SqlType::Boolean), true))
                }
                SubqueryKind::In(_) => {
                    let Some((x, y)) = p.in_sides.clone() else {
                        return Err(Error::Internal("IN without comparison".into()));
                    };
                    let yty = y.ty();
                    let mut exprs = lifted_keys.clone();
                    exprs.push(y);
                    if as_semi {
                        // Inner join with the distinct non-NULL values (per correlation
                        // value) on (correlation columns, x).
                        let values = Plan::Project {
                            input: Box::new(lifted),
                            exprs,
                        };
                        let matches = distinct(Plan::Filter {
                            input: Box::new(values),
                            predicate: is_null(col(nd, yty), true),
                        });
                        let mut keys = outer_keys.clone();
                        keys.push(x);
                        let joined = join_as(JoinType::Inner, plan, matches, keys);
                        let jtypes = joined.types();
                        plan = Plan::Project {
                            input: Box::new(joined),
                            exprs: {
                                let mut e = columns_of(&jtypes, 0..width);
                                e.push(bool_lit(Some(true)));
                                e
                            },
                        };
                        continue;
                    }
                    // Read twice below (matches and counts): run it once.
                    let values = Plan::shared(Plan::Project {
                        input: Box::new(lifted),
                        exprs,
                    });
                    // Distinct non-NULL values per domain value, joined on (domain, x).
                    let matches = Plan::Project {
                        input: Box::new(distinct(Plan::Filter {
                            input: Box::new(values.clone()),
                            predicate: is_null(col(nd, yty), true),
                        })),
                        exprs: {
                            let mut e = lifted_keys_at(&ltypes, nsel, nd);
                            e.push(col(nd, yty));
                            e.push(bool_lit(Some(true)));
                            e
                        },
                    };
                    let mut keys = outer_keys.clone();
                    keys.push(x.clone());
                    let joined = join(plan, matches, keys);
                    let marker = col(width + nd + 1, SqlType::Boolean);
                    // Rows and non-NULL values per domain value.
                    let counts = Plan::Aggregate {
                        input: Box::new(values),
                        groups: lifted_keys_at(&ltypes, nsel, nd),
                        aggs: vec![
                            AggCall::new(AggFunc::CountStar, None, false, SqlType::BigInt),
                            AggCall::new(
                                AggFunc::Count,
                                Some(col(nd, yty)),
                                false,
                                SqlType::BigInt,
                            ),
                        ],
                    };
                    let joined = join(joined, counts, outer_keys);
                    let w1 = width + nd + 2;
                    let n = col(w1 + nd, SqlType::BigInt);
                    let ny = col(w1 + nd + 1, SqlType::BigInt);
                    let zero = Expr::literal(Datum::Int(0), SqlType::BigInt);
                    let cmp = |op, a: Expr, b: Expr| Expr::Binary {
                        op,
                        left: Box::new(a),
                        right: Box::new(b),
                        ty: SqlType::Boolean,
                    };
                    let value = Expr::Case {
                        whens: vec![
                            (is_null(marker, true), bool_lit(Some(true))),
                            (is_null(n.clone(), false), bool_lit(Some(false))),
                            (cmp(BinaryOp::Eq, n.clone(), zero), bool_lit(Some(false))),
                            (is_null(x, false), bool_lit(None)),
                            (cmp(BinaryOp::Lt, ny, n), bool_lit(None)),
                        ],
                        otherwise: Some(Box::new(bool_lit(Some(false)))),
                        ty: SqlType::Boolean,
                    };
                    (joined, value)
                }
            };
            let jtypes = joined.types();
            let mut exprs = columns_of(&jtypes, 0..width);
            exprs.push(value);
            plan = Plan::Project {
                input: Box::new(joined),
                exprs,
            };
        }
        if !semi.is_empty() {
            // Back to one column per subquery in the order they were handed out.
            let types = plan.types();
            let mut exprs = columns_of(&types, 0..base);
            exprs.extend(position.iter().map(|p| col(*p, types[*p])));
            plan = Plan::Project {
                input: Box::new(plan),
                exprs,
            };
        }
        Ok(plan)
    }
}

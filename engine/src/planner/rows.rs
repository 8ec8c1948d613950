//! Row constructors in comparisons: `(a, b) = (c, d)` (and `ROW(a, b)`), `<>`, the ordering
//! operators, `IS [NOT] DISTINCT FROM`, and `(a, b) IN ((1, 2), (3, 4))`.
//!
//! Basalt has no row type in its plans: a row comparison is bound as the scalar comparisons
//! of its fields, combined with SQL's three-valued AND and OR as PostgreSQL defines row
//! comparison. `=` is true when every pair is equal, false when one pair is unequal and NULL
//! otherwise; `<>` is its negation; `<`, `<=`, `>` and `>=` compare the pairs from left to
//! right, the first unequal or NULL pair deciding (NULL for a NULL pair). `IS DISTINCT FROM`
//! is true when one pair is distinct, NULLs comparing equal to each other.
//!
//! A row on the left of `IN (SELECT ...)` is the subquery module's business
//! ([`crate::planner::subquery`]).

use basalt_storage::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{comparison, fold, AggContext, Binder, Scope};
use crate::planner::expr::{BinaryOp, Expr};
use crate::types::Datum;

/// The fields of a row constructor: `(a, b)` or `ROW(a, ...)`.
pub(crate) fn row_fields(e: &ast::Expr) -> Option<Vec<&ast::Expr>> {
    match e {
        ast::Expr::Nested(inner) => row_fields(inner),
        ast::Expr::Tuple(items) => Some(items.iter().collect()),
        ast::Expr::Function(f)
            if f.over.is_none()
                && f.filter.is_none()
                && f.within_group.is_empty()
                && f.name.0.len() == 1
                && f.name.0[0].as_ident().is_some_and(|i| {
                    i.quote_style.is_none() && i.value.eq_ignore_ascii_case("row")
                }) =>
        {
            let ast::FunctionArguments::List(list) = &f.args else {
                return match &f.args {
                    ast::FunctionArguments::None => None,
                    _ => Some(Vec::new()),
                };
            };
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return None;
            }
            list.args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

fn is_null(e: Expr, negated: bool) -> Expr {
    Expr::IsNull {
        expr: Box::new(e),
        negated,
    }
}

fn bool_lit(v: bool) -> Expr {
    Expr::literal(Datum::Boolean(v), SqlType::Boolean)
}

impl Binder<'_> {
    /// The 42601 error of rows with different numbers of fields.
    fn unequal_rows(&self, span: Span) -> Error {
        Error::Syntax {
            message: "unequal number of entries in row expressions".into(),
            position: self.position(span),
        }
    }

    /// Binds the fields of the rows `left` and `right` pairwise.
    fn bind_row_pairs(
        &mut self,
        left: &[&ast::Expr],
        right: &[&ast::Expr],
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Vec<(Expr, Expr)>> {
        if left.len() != right.len() {
            return Err(self.unequal_rows(span));
        }
        if left.is_empty() {
            return Err(Error::Unsupported {
                message: "cannot compare rows of zero length".into(),
            });
        }
        let mut pairs = Vec::with_capacity(left.len());
        for (l, r) in left.iter().zip(right) {
            // Each comparison built from a pair coerces it as the scalar operator does.
            pairs.push((
                self.bind_expr(l, scope, agg)?,
                self.bind_expr(r, scope, agg)?,
            ));
        }
        Ok(pairs)
    }

    /// `left op right` where both sides are row constructors, or None if either is not one.
    pub(crate) fn bind_row_comparison(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Option<Expr>> {
        let (Some(lf), Some(rf)) = (row_fields(left), row_fields(right)) else {
            return Ok(None);
        };
        let Some(op) = comparison(op) else {
            return Err(Error::UndefinedFunction {
                message: format!("operator does not exist: record {op} record"),
                position: self.position(span),
            });
        };
        let pairs = self.bind_row_pairs(&lf, &rf, scope, agg, span)?;
        self.row_compare(op, pairs, span).map(Some)
    }

    /// The row comparison `op` over bound field pairs.
    pub(crate) fn row_compare(
        &self,
        op: BinaryOp,
        pairs: Vec<(Expr, Expr)>,
        span: Span,
    ) -> Result<Expr> {
        match op {
            BinaryOp::Eq | BinaryOp::NotEq => {
                let join = if op == BinaryOp::Eq {
                    BinaryOp::And
                } else {
                    BinaryOp::Or
                };
                let mut acc: Option<Expr> = None;
                for (l, r) in pairs {
                    let c = self.binary(op, l, r, span)?;
                    acc = Some(match acc {
                        None => c,
                        Some(prev) => self.binary(join, prev, c, span)?,
                    });
                }
                acc.ok_or_else(|| Error::Internal("empty row comparison".into()))
            }
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => {
                // From the last pair back: a_i <' b_i OR (a_i = b_i AND rest), where <' is
                // the strict form of `op` for every pair but the last.
                let strict = match op {
                    BinaryOp::LtEq => BinaryOp::Lt,
                    BinaryOp::GtEq => BinaryOp::Gt,
                    other => other,
                };
                let mut acc: Option<Expr> = None;
                for (l, r) in pairs.into_iter().rev() {
                    acc = Some(match acc {
                        None => self.binary(op, l, r, span)?,
                        Some(rest) => {
                            let first = self.binary(strict, l.clone(), r.clone(), span)?;
                            let eq = self.binary(BinaryOp::Eq, l, r, span)?;
                            let tie = self.binary(BinaryOp::And, eq, rest, span)?;
                            self.binary(BinaryOp::Or, first, tie, span)?
                        }
                    });
                }
                acc.ok_or_else(|| Error::Internal("empty row comparison".into()))
            }
            _ => Err(Error::Internal("row comparison operator".into())),
        }
    }

    /// `left IS [NOT] DISTINCT FROM right`, of two values or of two rows.
    pub(crate) fn bind_distinct_from(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        negated: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        let pairs = match (row_fields(left), row_fields(right)) {
            (Some(lf), Some(rf)) => self.bind_row_pairs(&lf, &rf, scope, agg, span)?,
            _ => vec![(
                self.bind_expr(left, scope, agg)?,
                self.bind_expr(right, scope, agg)?,
            )],
        };
        let mut any: Option<Expr> = None;
        for (l, r) in pairs {
            // Never NULL: CASE WHEN l IS NULL THEN r IS NOT NULL WHEN r IS NULL THEN true
            // ELSE l <> r END.
            let ne = self.binary(BinaryOp::NotEq, l.clone(), r.clone(), span)?;
            let d = Expr::Case {
                whens: vec![
                    (is_null(l, false), is_null(r.clone(), true)),
                    (is_null(r, false), bool_lit(true)),
                ],
                otherwise: Some(Box::new(ne)),
                ty: SqlType::Boolean,
            };
            any = Some(match any {
                None => d,
                Some(prev) => self.binary(BinaryOp::Or, prev, d, span)?,
            });
        }
        let any = any.ok_or_else(|| Error::Internal("empty IS DISTINCT FROM".into()))?;
        Ok(if negated {
            fold(Expr::Not(Box::new(any)))
        } else {
            fold(any)
        })
    }

    /// `(a, b) [NOT] IN ((1, 2), ...)`: the OR of the row equalities, or None if `left` is
    /// not a row constructor.
    pub(crate) fn bind_row_in_list(
        &mut self,
        left: &ast::Expr,
        list: &[ast::Expr],
        negated: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Option<Expr>> {
        let Some(lf) = row_fields(left) else {
            return Ok(None);
        };
        let mut any: Option<Expr> = None;
        for item in list {
            let Some(rf) = row_fields(item) else {
                return Err(self.unequal_rows(span));
            };
            let pairs = self.bind_row_pairs(&lf, &rf, scope, agg, span)?;
            let eq = self.row_compare(BinaryOp::Eq, pairs, span)?;
            any = Some(match any {
                None => eq,
                Some(prev) => self.binary(BinaryOp::Or, prev, eq, span)?,
            });
        }
        let any = any.ok_or_else(|| Error::Internal("empty IN list".into()))?;
        Ok(Some(if negated {
            fold(Expr::Not(Box::new(any)))
        } else {
            any
        }))
    }
}

impl Binder<'_> {
    /// The left side of `IN (SELECT ...)`: a row constructor's fields, or one value.
    pub(crate) fn bind_row_or_value(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Vec<Expr>> {
        match row_fields(e) {
            Some(fields) => fields
                .into_iter()
                .map(|f| self.bind_expr(f, scope, agg))
                .collect(),
            None => Ok(vec![self.bind_expr(e, scope, agg)?]),
        }
    }
}

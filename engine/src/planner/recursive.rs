//! Binding WITH RECURSIVE queries: `anchor UNION [ALL] recursive-term`, where the recursive
//! term reads the query's own name, which means the rows the previous round added (the working
//! table; see [`Plan::RecursiveUnion`]).
//!
//! The working table's column types start as the anchor's. Where the recursive term yields a
//! wider type (`n + 1` over a narrower decimal, text appended to a varchar), the working table
//! takes the common type and the recursive term is bound again; a query whose types do not
//! settle that way is an error, as in PostgreSQL.

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{Binder, CteDef, WorkTableRef};
use crate::planner::expr::Expr;
use crate::planner::plan::Plan;
use crate::planner::select::BoundQuery;
use crate::ResultColumn;

/// How many times the recursive term is bound again for wider working-table types.
const MAX_WIDENINGS: usize = 3;

impl Binder<'_> {
    /// Binds the WITH query `self.ctes[index]` (`def`), defined under WITH RECURSIVE. A query
    /// that does not read itself binds as any other WITH query.
    pub(crate) fn bind_recursive_query(
        &mut self,
        index: usize,
        def: &CteDef,
    ) -> Result<BoundQuery> {
        let q = &def.query;
        let ast::SetExpr::SetOperation {
            op: ast::SetOperator::Union,
            set_quantifier,
            left,
            right,
        } = q.body.as_ref()
        else {
            return self.bind_cte_query(index, def);
        };
        // The anchor sees the WITH queries before this one, not itself.
        let later = self.ctes.split_off(index);
        let anchor = self.bind_with_inner_ctes(q, |b| b.bind_set_expr(left));
        self.ctes.extend(later);
        let anchor = anchor?;
        if def.columns.len() > anchor.columns.len() {
            return Err(Error::InvalidColumnReference {
                message: format!(
                    "WITH query \"{}\" has {} columns available but {} columns specified",
                    def.name,
                    anchor.columns.len(),
                    def.columns.len()
                ),
                position: None,
            });
        }
        let id = Plan::fresh_id();
        let mut columns: Vec<ResultColumn> = anchor
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ResultColumn {
                name: def
                    .columns
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| c.name.clone()),
                ty: c.ty,
                origin: None,
            })
            .collect();
        let mut widenings = 0;
        let recursive = loop {
            let (term, references) = self.bind_recursive_term(index, id, &columns, q, right);
            if references.is_empty() {
                // Not recursive after all: an ordinary UNION.
                return self.bind_cte_query(index, def);
            }
            self.check_recursive_shape(def, q, &references)?;
            let term = term?;
            if term.columns.len() != columns.len() {
                return Err(Error::Syntax {
                    message: "each UNION query must have the same number of columns".into(),
                    position: self.position(right.span()),
                });
            }
            let mut widened = false;
            for (i, (work, out)) in columns.iter_mut().zip(&term.columns).enumerate() {
                if work.ty == out.ty {
                    continue;
                }
                match crate::types::common_type(work.ty, out.ty) {
                    Some(common) if common == work.ty => {}
                    Some(common) if widenings < MAX_WIDENINGS => {
                        work.ty = common;
                        widened = true;
                    }
                    None => {
                        return Err(Error::DatatypeMismatch {
                            message: format!(
                                "UNION types {} and {} cannot be matched",
                                crate::types::display_name(work.ty),
                                crate::types::display_name(out.ty)
                            ),
                            position: self.position(right.span()),
                        })
                    }
                    Some(_) => {
                        return Err(Error::DatatypeMismatch {
                            message: format!(
                                "recursive query \"{}\" column {} has type {} in non-recursive \
                                 term but type {} overall",
                                def.name,
                                i + 1,
                                crate::types::display_name(anchor.columns[i].ty),
                                crate::types::display_name(out.ty)
                            ),
                            position: self.position(left.span()),
                        })
                    }
                }
            }
            if !widened {
                break term;
            }
            widenings += 1;
        };
        let types: Vec<SqlType> = columns.iter().map(|c| c.ty).collect();
        let all = match set_quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => {
                return Err(Error::Unsupported {
                    message: format!("UNION {other} is not supported"),
                })
            }
        };
        Ok(BoundQuery {
            plan: Plan::RecursiveUnion {
                id,
                anchor: Box::new(self.convert_columns(anchor, &types)?),
                recursive: Box::new(self.convert_columns(recursive, &types)?),
                all,
            },
            columns,
        })
    }

    /// Binds the recursive term with the query's own name reading the working table `id` of
    /// `columns`; returns it with the positions where it read the name.
    fn bind_recursive_term(
        &mut self,
        index: usize,
        id: usize,
        columns: &[ResultColumn],
        q: &ast::Query,
        term: &ast::SetExpr,
    ) -> (Result<BoundQuery>, Vec<Option<u32>>) {
        let later = self.ctes.split_off(index + 1);
        self.ctes[index].work_table = Some(WorkTableRef {
            id,
            columns: columns.to_vec(),
            references: Vec::new(),
        });
        let bound = self.bind_with_inner_ctes(q, |b| b.bind_set_expr(term));
        let references = self.ctes[index]
            .work_table
            .take()
            .map(|w| w.references)
            .unwrap_or_default();
        self.ctes.extend(later);
        (bound, references)
    }

    /// PostgreSQL's limits on where a recursive query may read itself.
    fn check_recursive_shape(
        &self,
        def: &CteDef,
        q: &ast::Query,
        references: &[Option<u32>],
    ) -> Result<()> {
        if let Some(second) = references.get(1) {
            return Err(Error::InvalidRecursion {
                message: format!(
                    "recursive reference to query \"{}\" must not appear more than once",
                    def.name
                ),
                position: *second,
            });
        }
        if q.order_by.is_some() {
            return Err(Error::Unsupported {
                message: "ORDER BY in a recursive query is not implemented".into(),
            });
        }
        if q.limit_clause.is_some() {
            return Err(Error::Unsupported {
                message: "OFFSET and LIMIT in a recursive query are not implemented".into(),
            });
        }
        Ok(())
    }

    /// Binds `f` with the WITH queries of `q` itself (`WITH RECURSIVE t AS (WITH u AS ...
    /// SELECT ... UNION ...)`) in scope.
    fn bind_with_inner_ctes(
        &mut self,
        q: &ast::Query,
        f: impl FnOnce(&mut Self) -> Result<BoundQuery>,
    ) -> Result<BoundQuery> {
        let mark = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.push(CteDef::new(cte, q, with.recursive));
            }
        }
        let bound = f(self);
        self.ctes.truncate(mark);
        bound
    }

    /// `q`'s plan with its columns cast to `types` where they differ.
    pub(crate) fn convert_columns(&self, q: BoundQuery, types: &[SqlType]) -> Result<Plan> {
        if q.columns.iter().zip(types).all(|(c, t)| c.ty == *t) {
            return Ok(q.plan);
        }
        let exprs = q
            .columns
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (c, t))| {
                self.cast(
                    Expr::Column { index: i, ty: c.ty },
                    *t,
                    false,
                    Span::empty(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan::Project {
            input: Box::new(q.plan),
            exprs,
        })
    }
}

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
//!      SQL's three-valued answer (NULL when nothing matched but `x` or a value was NULL);
//!    - `(a, b) op (SELECT x, y ...)`: the row comparison with the joined row (at most one
//!      per domain value, NULL fields when there is none);
//!    - `(a, b) op ANY / ALL (SELECT x, y ...)`: the distinct (domain, row) values of the
//!      outer input joined with the subquery's rows of their domain value and grouped back,
//!      recording whether some comparison decided the answer and whether one was NULL.
//!
//! An uncorrelated subquery has no domain: it is joined with no keys (one row at most).
//!
//! An aggregate inside a subquery whose arguments read only the enclosing query's columns,
//! `HAVING EXISTS (SELECT ... WHERE y > sum(t.b))` with `t` outer, is an aggregate of the
//! enclosing query, as in PostgreSQL: it is bound over the enclosing scope, the enclosing
//! query computes it with its other aggregates, and the subquery is correlated on its value,
//! which reaches it through the domain as a column would (see [`OUTER_AGGREGATE_MARK`]).

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{AggContext, Binder, Scope, ScopeColumn};
use crate::planner::expr::{AggCall, AggFunc, BinaryOp, Expr};
use crate::planner::plan::{JoinType, Plan, SetOpKind};
use crate::types::Datum;

/// A subquery's correlation on an outer aggregate is numbered this plus the aggregate's index
/// among [`OuterFrame::aggs`], past any scope column.
pub const OUTER_AGGREGATE_MARK: usize = usize::MAX / 2;

/// Names of the hidden domain columns start with this character, which no SQL identifier can
/// contain, so that names never resolve to them.
pub const HIDDEN_PREFIX: char = '\0';

/// An uncorrelated IN subquery taken into FROM: its distinct rows without a NULL, the
/// left side's fields over the outer scope and the values over the rows' columns.
pub(crate) type InValues = (Plan, Vec<Expr>, Vec<Expr>);

/// What a subquery expression asks.
#[derive(Clone, Debug)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: its one value.
    Scalar,
    /// `EXISTS (SELECT ...)`.
    Exists,
    /// `x IN (SELECT ...)`, holding `x` bound over the outer scope: one value, or the fields
    /// of a row `(a, b) IN (SELECT ...)`.
    In(Vec<Expr>),
    /// `(a, b) op (SELECT x, y ...)` for a comparison `op`: the row comparison of the fields
    /// (bound over the outer scope) with the subquery's one row, NULL when it has none.
    Row(BinaryOp, Vec<Expr>),
    /// `(a, b) op ANY (SELECT x, y ...)` (`all` false) or `op ALL` (`all` true), other than
    /// `= ANY` and `<> ALL` (which are IN and NOT IN): the row comparison with every row of
    /// the subquery, ORed (ANY) or ANDed (ALL) with SQL's three-valued logic.
    Quantified {
        op: BinaryOp,
        all: bool,
        fields: Vec<Expr>,
    },
}

impl SubqueryKind {
    /// The left side's fields of a comparison with the subquery's rows.
    fn fields(&self) -> Option<&[Expr]> {
        match self {
            SubqueryKind::In(x) | SubqueryKind::Row(_, x) => Some(x),
            SubqueryKind::Quantified { fields, .. } => Some(fields),
            SubqueryKind::Scalar | SubqueryKind::Exists => None,
        }
    }
}

/// A subquery found in an expression, waiting to be joined to the outer input.
#[derive(Clone, Debug)]
pub struct PendingSubquery {
    query: ast::Query,
    kind: SubqueryKind,
    /// Outer scope columns the subquery references, in domain order.
    correlated: Vec<usize>,
    /// For IN and row comparisons: the comparisons' two sides after coercion, one pair per
    /// field: `x` over the outer scope and the subquery's values over its columns.
    in_sides: Option<(Vec<Expr>, Vec<Expr>)>,
    /// Where the outer input holds the correlation values, when not at the scope columns
    /// `correlated` names (a subquery joined to an aggregate's output reads its groups).
    keys: Option<Vec<usize>>,
    /// The enclosing query's aggregates the subquery names, bound over its scope; the
    /// correlation `OUTER_AGGREGATE_MARK + k` is the value of `outer_aggs[k]`.
    pub(crate) outer_aggs: Vec<Expr>,
}

impl PendingSubquery {
    /// The outer input's columns that hold the correlation values, in domain order.
    fn key_columns(&self) -> &[usize] {
        self.keys.as_deref().unwrap_or(&self.correlated)
    }

    /// The type of the correlation `c`: an outer scope column's, or an outer aggregate's.
    fn correlated_type(&self, c: usize, outer_scope: &Scope) -> Result<SqlType> {
        let ty = match c.checked_sub(OUTER_AGGREGATE_MARK) {
            Some(k) => self.outer_aggs.get(k).map(|a| a.ty()),
            None => outer_scope.columns.get(c).map(|x| x.ty),
        };
        ty.ok_or_else(|| Error::Internal("correlation column".into()))
    }
}

/// One enclosing query's scope, seen from a subquery being bound.
#[derive(Clone, Debug)]
pub struct OuterFrame {
    pub scope: Scope,
    /// Outer columns referenced so far (first binding) or the domain's columns (second).
    pub used: Vec<usize>,
    /// Where the domain's columns start in the subquery's FROM scope (second binding).
    pub domain_offset: Option<usize>,
    /// Aggregates of the enclosing query named in the subquery (see
    /// [`OUTER_AGGREGATE_MARK`]), bound over `scope`.
    pub aggs: Vec<Expr>,
    /// Whether the enclosing query may compute them where the subquery stands.
    pub agg: AggContext,
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
        hidden_scope("domain", &self.types)
    }
}

/// A FROM scope of columns typed `types` that no name resolves to, named `prefix` and their
/// number after [`HIDDEN_PREFIX`].
fn hidden_scope(prefix: &str, types: &[SqlType]) -> Scope {
    Scope {
        columns: types
            .iter()
            .enumerate()
            .map(|(i, ty)| ScopeColumn {
                relation: None,
                name: format!("{HIDDEN_PREFIX}{prefix}{i}"),
                ty: *ty,
                origin: None,
            })
            .collect(),
        ..Default::default()
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

/// True where none of the columns `at..at + types.len()`, typed `types`, is NULL.
fn no_nulls(types: &[SqlType], at: usize) -> Expr {
    all_of(
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| is_null(col(at + i, *ty), true))
            .collect(),
    )
}

/// The AND of `conds` (true for none).
fn all_of(conds: Vec<Expr>) -> Expr {
    combine(BinaryOp::And, conds).unwrap_or_else(|| bool_lit(Some(true)))
}

/// `conds` joined with `op` (AND or OR), or None for none.
fn combine(op: BinaryOp, conds: Vec<Expr>) -> Option<Expr> {
    conds.into_iter().reduce(|a, b| Expr::Binary {
        op,
        left: Box::new(a),
        right: Box::new(b),
        ty: SqlType::Boolean,
    })
}

/// For `(x1, ..., xn) IN (SELECT y1, ..., yn ...)` with n > 1: the distinct rows
/// (correlation values, x) of `outer` (whose correlation values and row are `outer_keys` and
/// `x`) that no field of some subquery row is unequal to, followed by a true marker. `values`
/// is the subquery's rows (its `nd` domain columns, then the y fields). Only a row holding a
/// NULL, or compared with one that does, can be such a row without being equal, so the
/// nested comparison reads only those, on either side.
fn possible_row_matches(
    outer: Plan,
    outer_keys: &[Expr],
    x: &[Expr],
    values: Plan,
    nd: usize,
) -> Plan {
    let nf = x.len();
    let mut exprs = outer_keys.to_vec();
    exprs.extend(x.iter().cloned());
    let rows = Plan::shared(distinct(Plan::Project {
        input: Box::new(outer),
        exprs,
    }));
    let rtypes = rows.types();
    let vtypes = values.types();
    let xtypes = &rtypes[nd..nd + nf];
    let ytypes = &vtypes[nd..nd + nf];
    let with_null = |types: &[SqlType]| {
        combine(
            BinaryOp::Or,
            types
                .iter()
                .enumerate()
                .map(|(i, ty)| is_null(col(nd + i, *ty), false))
                .collect(),
        )
        .unwrap_or_else(|| bool_lit(Some(false)))
    };
    // Over (rows, values): every field pair equal or NULL on a side.
    let w = nd + nf;
    let no_unequal = all_of(
        (0..nf)
            .map(|i| {
                let xi = col(nd + i, xtypes[i]);
                let yi = col(w + nd + i, ytypes[i]);
                combine(
                    BinaryOp::Or,
                    vec![
                        Expr::Binary {
                            op: BinaryOp::Eq,
                            left: Box::new(xi.clone()),
                            right: Box::new(yi.clone()),
                            ty: SqlType::Boolean,
                        },
                        is_null(xi, false),
                        is_null(yi, false),
                    ],
                )
                .unwrap_or_else(|| bool_lit(Some(true)))
            })
            .collect(),
    );
    let pair = |left: Plan, right: Plan| {
        let joined = Plan::Join {
            left: Box::new(left),
            right: Box::new(right),
            join_type: JoinType::Inner,
            keys: (0..nd)
                .map(|i| (col(i, rtypes[i]), col(i, vtypes[i])))
                .collect(),
            filter: Some(no_unequal.clone()),
            null_equal: true,
        };
        Plan::Project {
            input: Box::new(joined),
            exprs: columns_of(&rtypes, 0..w),
        }
    };
    // Rows with a NULL against every subquery row; rows without against those with one.
    let from_null_rows = pair(
        Plan::Filter {
            input: Box::new(rows.clone()),
            predicate: with_null(xtypes),
        },
        values.clone(),
    );
    let against_null_values = pair(
        Plan::Filter {
            input: Box::new(rows),
            predicate: Expr::Not(Box::new(with_null(xtypes))),
        },
        Plan::Filter {
            input: Box::new(values),
            predicate: with_null(ytypes),
        },
    );
    let union = Plan::SetOp {
        left: Box::new(from_null_rows),
        right: Box::new(against_null_values),
        kind: SetOpKind::Union,
        all: false,
    };
    let mut exprs = columns_of(&rtypes, 0..w);
    exprs.push(bool_lit(Some(true)));
    Plan::Project {
        input: Box::new(union),
        exprs,
    }
}

/// `e` (over a subquery's output columns) with column `i` replaced by `fields[i]`.
fn substitute(e: &Expr, fields: &[Expr]) -> Expr {
    e.transform(&mut |x| match x {
        Expr::Column { index, .. } => fields.get(*index).cloned(),
        _ => None,
    })
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

    /// A reference from the query being bound to column `index` of the query `level`
    /// frames out, further than the directly enclosing one: each query in between is made
    /// correlated on it, so that it reaches the inner query as one of its domain columns
    /// (a NULL stand-in while those queries are bound to learn their shape).
    pub(crate) fn grand_outer_reference(
        &mut self,
        mut level: usize,
        mut index: usize,
        ty: SqlType,
    ) -> Result<Expr> {
        let depth = self.outer.len();
        while level + 1 < depth {
            let frame = &mut self.outer[level];
            match frame.domain_offset {
                None => {
                    if !frame.used.contains(&index) {
                        frame.used.push(index);
                    }
                    return Ok(Expr::literal(Datum::Null, ty));
                }
                Some(offset) => {
                    let Some(k) = frame.used.iter().position(|u| *u == index) else {
                        return Err(Error::Internal("outer reference outside the domain".into()));
                    };
                    index = offset + k;
                    level += 1;
                }
            }
        }
        self.outer_reference(index, ty)
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
            aggs: vec![],
            agg: self.enclosing_agg,
        });
        let saved_domain = self.domain.take();
        self.entering_subquery = true;
        let bound = self.bind_query(query);
        self.entering_subquery = false;
        self.domain = saved_domain;
        let frame = self.outer.pop();
        let bound = bound?;
        let (correlated, outer_aggs) = frame.map(|f| (f.used, f.aggs)).unwrap_or_default();
        // A row's errors point at the operator, a scalar subquery's at the subquery.
        let position = match kind {
            SubqueryKind::Scalar | SubqueryKind::Exists => self.position(span),
            _ => self.operator_position(query).or(self.position(span)),
        };
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
            SubqueryKind::In(_) | SubqueryKind::Row(..) | SubqueryKind::Quantified { .. } => {
                let x = kind.fields().unwrap_or_default();
                if bound.columns.len() != x.len() {
                    return Err(Error::Syntax {
                        message: if bound.columns.len() > x.len() {
                            "subquery has too many columns".into()
                        } else {
                            "subquery has too few columns".into()
                        },
                        position,
                    });
                }
                // Each pair is coerced as its comparison coerces it.
                let op = match &kind {
                    SubqueryKind::Row(op, _) | SubqueryKind::Quantified { op, .. } => *op,
                    _ => BinaryOp::Eq,
                };
                let mut sides = (Vec::new(), Vec::new());
                for (i, (x, c)) in x.iter().zip(&bound.columns).enumerate() {
                    let x = self.coerce_unknown(x.clone(), c.ty)?;
                    match self.binary(op, x, col(i, c.ty), span)? {
                        Expr::Binary { left, right, .. } => {
                            sides.0.push(*left);
                            sides.1.push(*right);
                        }
                        _ => return Err(Error::Internal("IN comparison".into())),
                    }
                }
                (SqlType::Boolean, Some(sides))
            }
        };
        let index = scope.columns.len() + self.pending.len();
        self.pending.push(PendingSubquery {
            query: query.clone(),
            kind,
            correlated,
            in_sides,
            keys: None,
            outer_aggs,
        });
        Ok(col(index, ty))
    }

    /// An aggregate call `f` (arguments `args`) met while a subquery is bound, if it is an
    /// aggregate of the enclosing query: its arguments name columns, and every one of them
    /// is the enclosing query's, none the subquery's own (`scope`). Returns the reference
    /// that reads its value, or None for an aggregate of the subquery itself. Where the
    /// enclosing query cannot compute aggregates (its WHERE, say), PostgreSQL's error.
    pub(crate) fn outer_aggregate(
        &mut self,
        f: &ast::Function,
        args: &[ast::Expr],
        scope: &Scope,
        position: Option<u32>,
    ) -> Result<Option<Expr>> {
        let Some(frame) = self.outer.last() else {
            return Ok(None);
        };
        let mut names: Vec<Vec<ast::Ident>> = Vec::new();
        let mut nested_query = false;
        for a in args {
            let _ = ast::visit_expressions(a, |e| {
                match e {
                    ast::Expr::Identifier(id) => names.push(vec![id.clone()]),
                    ast::Expr::CompoundIdentifier(ids) => names.push(ids.clone()),
                    ast::Expr::Subquery(_)
                    | ast::Expr::Exists { .. }
                    | ast::Expr::In {
                        target: ast::InTarget::Subquery(_),
                        ..
                    } => nested_query = true,
                    _ => {}
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
        if names.is_empty() || nested_query || f.over.is_some() {
            return Ok(None);
        }
        let outer_only = names.iter().all(|ids| {
            self.resolve_local(ids, scope).is_err() && self.resolve_local(ids, &frame.scope).is_ok()
        });
        if !outer_only {
            return Ok(None);
        }
        frame.agg.check(position)?;
        // Bound as the enclosing query binds it, over its scope.
        let Some(frame) = self.outer.pop() else {
            return Ok(None);
        };
        let call = ast::Expr::Function(f.clone());
        let saved = std::mem::take(&mut self.pending);
        let bound = self.bind_expr(&call, &frame.scope, AggContext::Allowed);
        let stray = std::mem::replace(&mut self.pending, saved);
        self.outer.push(frame);
        let bound = bound?;
        if !stray.is_empty() || !matches!(bound, Expr::Aggregate(_)) {
            return Err(Error::Unsupported {
                message: "this aggregate of an enclosing query is not supported yet".into(),
            });
        }
        let ty = bound.ty();
        let Some(frame) = self.outer.last_mut() else {
            return Err(Error::Internal("outer aggregate without a frame".into()));
        };
        let k = match frame.aggs.iter().position(|a| *a == bound) {
            Some(k) => k,
            None if frame.domain_offset.is_none() => {
                frame.aggs.push(bound);
                frame.aggs.len() - 1
            }
            None => return Err(Error::Internal("outer aggregate outside the domain".into())),
        };
        self.outer_reference(OUTER_AGGREGATE_MARK + k, ty).map(Some)
    }

    /// Where the operator before the subquery `query` starts in the statement: `=`, `<` ...
    /// (before `ANY` or `ALL` too), or `IN`, which PostgreSQL's errors about the comparison of
    /// a row with a subquery point at.
    fn operator_position(&self, query: &ast::Query) -> Option<u32> {
        let start = usize::try_from(self.position(query.span())?).ok()?;
        let chars: Vec<char> = self.sql.chars().collect();
        let mut i = start.checked_sub(1)?.min(chars.len());
        let skip_back = |i: &mut usize, f: &dyn Fn(char) -> bool| {
            while *i > 0 && f(chars[*i - 1]) {
                *i -= 1;
            }
        };
        skip_back(&mut i, &|c| c.is_whitespace() || c == '(');
        let word_end = i;
        skip_back(&mut i, &|c| c.is_ascii_alphabetic());
        let word = chars[i..word_end]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        match word.as_str() {
            "in" => return u32::try_from(i + 1).ok(),
            "any" | "all" | "some" => skip_back(&mut i, &|c| c.is_whitespace()),
            "" => {}
            _ => return None,
        }
        let op_end = i;
        skip_back(&mut i, &|c| matches!(c, '<' | '>' | '=' | '!'));
        if i == op_end {
            return None;
        }
        u32::try_from(i + 1).ok()
    }

    /// A VALUES list in FROM whose rows read columns of an enclosing query, or under LATERAL
    /// of the FROM items before it (`before`), as `unnest(ARRAY[the first column's values],
    /// ARRAY[the second's], ...)` with the VALUES' column names: a set-returning function in
    /// FROM reads other items and, through the decorrelation domain, the enclosing query, so
    /// the list is never evaluated once per outer row. None for any other FROM item, and for
    /// a VALUES list that holds a subquery (bound as it is).
    pub(crate) fn lateral_values(
        &self,
        t: &ast::TableFactor,
        before: &Scope,
    ) -> Result<Option<ast::TableFactor>> {
        let Some((width, t)) = self.lateral_values_shape(t, before) else {
            return Ok(None);
        };
        let ast::TableFactor::Derived {
            subquery, alias, ..
        } = t
        else {
            return Ok(None);
        };
        let ast::SetExpr::Values(values) = subquery.body.as_ref() else {
            return Ok(None);
        };
        // PostgreSQL binds the rows in turn, each checked against the first one's length.
        if let Some(row) = values.rows.iter().find(|r| r.content.len() != width) {
            return Err(Error::Syntax {
                message: "VALUES lists must all be the same length".into(),
                position: self.position(
                    row.content
                        .first()
                        .map(|e| e.span())
                        .unwrap_or(Span::empty()),
                ),
            });
        }
        let mut columns: Vec<ast::TableAliasColumnDef> = alias
            .as_ref()
            .map(|a| a.columns.clone())
            .unwrap_or_default();
        for i in columns.len()..width {
            columns.push(ast::TableAliasColumnDef::from_name(format!(
                "column{}",
                i + 1
            )));
        }
        let alias = ast::TableAlias {
            explicit: true,
            name: alias
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_else(|| ast::Ident::with_quote('"', "*VALUES*")),
            columns,
            at: None,
        };
        let array_exprs = (0..width)
            .map(|i| {
                ast::Expr::Array(ast::Array {
                    elem: values.rows.iter().map(|r| r.content[i].clone()).collect(),
                    named: true,
                })
            })
            .collect();
        Ok(Some(ast::TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            with_offset: false,
            with_offset_alias: None,
            with_ordinality: false,
        }))
    }

    /// For [`Binder::lateral_values`]: the width of `t`'s first row, if `t` is a VALUES list
    /// that reads columns it may read, holds no subquery and has nothing but its rows.
    fn lateral_values_shape<'t>(
        &self,
        t: &'t ast::TableFactor,
        before: &Scope,
    ) -> Option<(usize, &'t ast::TableFactor)> {
        let ast::TableFactor::Derived {
            lateral,
            subquery,
            sample: None,
            ..
        } = t
        else {
            return None;
        };
        let ast::SetExpr::Values(values) = subquery.body.as_ref() else {
            return None;
        };
        let plain = subquery.with.is_none()
            && subquery.order_by.is_none()
            && subquery.limit_clause.is_none()
            && subquery.fetch.is_none();
        let width = values.rows.first().map(|r| r.content.len())?;
        if !plain || width == 0 {
            return None;
        }
        let mut names: Vec<Vec<ast::Ident>> = Vec::new();
        let mut nested_query = false;
        for e in values.rows.iter().flat_map(|r| r.content.iter()) {
            let _ = ast::visit_expressions(e, |e| {
                match e {
                    ast::Expr::Identifier(id) => names.push(vec![id.clone()]),
                    ast::Expr::CompoundIdentifier(ids) => names.push(ids.clone()),
                    ast::Expr::Subquery(_)
                    | ast::Expr::Exists { .. }
                    | ast::Expr::In {
                        target: ast::InTarget::Subquery(_),
                        ..
                    } => nested_query = true,
                    _ => {}
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
        // Without LATERAL the FROM items before it are out of its sight.
        let reads_before = || {
            names
                .iter()
                .any(|ids| self.resolve_local(ids, before).is_ok())
        };
        if names.is_empty() || nested_query || (!lateral && reads_before()) {
            return None;
        }
        Some((width, t))
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
                .map(|c| p.correlated_type(*c, outer_scope))
                .collect::<Result<_>>()?;
            let exprs = p
                .key_columns()
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
            aggs: p.outer_aggs.clone(),
            agg: AggContext::Allowed,
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
                .is_some_and(|(x, _)| x.iter().any(|x| x.columns().iter().any(|c| *c >= base)))
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
    /// [`Binder::semi_joinable`] listed: returns its distinct rows without a NULL (one column
    /// per field of `x`) and the comparisons' two sides, `x` over `outer_scope` and the
    /// values over the rows' columns.
    /// Joined on them, the values keep exactly the rows the IN accepts, so they can join
    /// among the FROM clause's relations, where the cheapest order applies them (TPC-H
    /// Q18's 57 orders before its 6 million line items). The caller renumbers the columns of
    /// the subqueries after `k`.
    pub(crate) fn take_uncorrelated_in(
        &mut self,
        k: usize,
        outer_scope: &Scope,
    ) -> Result<Option<InValues>> {
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
        let ytypes: Vec<SqlType> = y.iter().map(|y| y.ty()).collect();
        let values = distinct(Plan::Filter {
            input: Box::new(Plan::Project {
                input: Box::new(lifted),
                exprs: y,
            }),
            predicate: no_nulls(&ytypes, 0),
        });
        Ok(Some((values, x, columns_of(&ytypes, 0..ytypes.len()))))
    }

    /// The hidden FROM scope of an uncorrelated IN subquery's values (see
    /// [`Binder::take_uncorrelated_in`]).
    pub(crate) fn in_values_scope(types: &[SqlType]) -> Scope {
        hidden_scope("in_values", types)
    }

    /// Joins every pending subquery to `plan` (whose first columns are `outer_scope`),
    /// appending one column per subquery in the order their columns were handed out. The
    /// subqueries listed in `semi` (see [`Binder::semi_joinable`]) are joined first, as semi
    /// joins whose column is always true.
    pub(crate) fn attach_subqueries(
        &mut self,
        plan: Plan,
        outer_scope: &Scope,
        semi: &[usize],
    ) -> Result<Plan> {
        self.attach_subqueries_to(plan, outer_scope.columns.len(), outer_scope, semi)
    }

    /// Before an aggregated query's select list, HAVING and ORDER BY are rewritten over the
    /// aggregate's output, points its pending subqueries at that output: each correlation
    /// column must be one of `groups` (the aggregate's first columns), as PostgreSQL requires
    /// of an outer reference from such a clause, and an IN's left side is rewritten with
    /// `rewrite`. `scope` names the query's input columns.
    pub(crate) fn rebase_subqueries_on_groups(
        &mut self,
        groups: &[Expr],
        scope: &Scope,
        rewrite: &mut dyn FnMut(&Expr) -> Result<Expr>,
    ) -> Result<()> {
        for k in 0..self.pending.len() {
            let mut keys = Vec::with_capacity(self.pending[k].correlated.len());
            for &c in &self.pending[k].correlated.clone() {
                if let Some(a) = c.checked_sub(OUTER_AGGREGATE_MARK) {
                    // The enclosing query's own aggregate: a column of its output.
                    let agg = self.pending[k]
                        .outer_aggs
                        .get(a)
                        .cloned()
                        .ok_or_else(|| Error::Internal("outer aggregate".into()))?;
                    match rewrite(&agg)? {
                        Expr::Column { index, .. } => keys.push(index),
                        _ => return Err(Error::Internal("outer aggregate column".into())),
                    }
                    continue;
                }
                let ty = scope.columns.get(c).map(|x| x.ty);
                let found = ty.and_then(|ty| groups.iter().position(|g| *g == col(c, ty)));
                let Some(i) = found else {
                    let name = scope
                        .columns
                        .get(c)
                        .map(|c| match &c.relation {
                            Some(r) => format!("{r}.{}", c.name),
                            None => c.name.clone(),
                        })
                        .unwrap_or_default();
                    self.pending.clear();
                    return Err(Error::Grouping {
                        message: format!(
                            "subquery uses ungrouped column \"{name}\" from outer query"
                        ),
                        position: None,
                    });
                };
                keys.push(i);
            }
            let p = &mut self.pending[k];
            p.keys = Some(keys);
            if let Some((x, y)) = p.in_sides.take() {
                let x = x.iter().map(&mut *rewrite).collect::<Result<_>>()?;
                p.in_sides = Some((x, y));
            }
        }
        Ok(())
    }

    /// Points the pending subqueries of an outer join's ON condition at the join's right
    /// input, whose columns start at `lw` in the condition's scope: possible when each reads
    /// only right-side columns (or none). Returns false, changing nothing, otherwise.
    pub(crate) fn rebase_subqueries_on_right(&mut self, lw: usize) -> bool {
        let right_only = self.pending.iter().all(|p| {
            p.correlated.iter().all(|c| *c >= lw)
                && p.in_sides
                    .as_ref()
                    .is_none_or(|(x, _)| x.iter().all(|x| x.columns().iter().all(|c| *c >= lw)))
        });
        if !right_only {
            return false;
        }
        for p in &mut self.pending {
            p.keys = Some(p.correlated.iter().map(|c| c - lw).collect());
            if let Some((x, y)) = p.in_sides.take() {
                let x = x.iter().map(|x| x.map_columns(&|i| i - lw)).collect();
                p.in_sides = Some((x, y));
            }
        }
        true
    }

    /// Renumbers the columns of the pending IN subqueries' left sides with `f`.
    pub(crate) fn map_pending_columns(&mut self, f: &dyn Fn(&Expr) -> Expr) {
        for p in &mut self.pending {
            if let Some((x, y)) = p.in_sides.take() {
                p.in_sides = Some((x.iter().map(f).collect(), y));
            }
        }
    }

    /// [`Binder::attach_subqueries`] over a plan `base` columns wide whose correlation
    /// columns are where the subqueries' keys say; `outer_scope` names the columns the
    /// subqueries were bound against.
    pub(crate) fn attach_subqueries_to(
        &mut self,
        mut plan: Plan,
        base: usize,
        outer_scope: &Scope,
        semi: &[usize],
    ) -> Result<Plan> {
        let pending = std::mem::take(&mut self.pending);
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
            let row_in = !as_semi
                && match &p.kind {
                    SubqueryKind::In(x) => x.len() > 1,
                    SubqueryKind::Quantified { .. } => true,
                    _ => false,
                };
            if nd > 0 || row_in {
                // The outer input is both the domain's (or a row IN's possible matches')
                // source and the join's left side: run it once.
                plan = Plan::shared(plan);
            }
            let (lifted, ltypes, empty) = self.bind_lifted(p, &plan, outer_scope)?;
            if ltypes.len() < nd + 1 {
                return Err(Error::Internal("subquery output".into()));
            }
            // Outer-side keys: the correlation columns.
            if p.keys.is_none() && !p.outer_aggs.is_empty() {
                return Err(Error::Internal(
                    "outer aggregate outside an aggregate".into(),
                ));
            }
            let outer_keys: Vec<Expr> = p
                .key_columns()
                .iter()
                .zip(&p.correlated)
                .map(|(k, c)| Ok(col(*k, p.correlated_type(*c, outer_scope)?)))
                .collect::<Result<_>>()?;
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
                            let corr = p.key_columns();
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
                SubqueryKind::Row(op, _) => {
                    let Some((x, y)) = p.in_sides.clone() else {
                        return Err(Error::Internal("row comparison without sides".into()));
                    };
                    let nf = x.len();
                    // (domain..., row), checked for one row per domain value, then a marker.
                    let mut check = lifted_keys.clone();
                    check.extend(columns_of(&ltypes, 0..nf));
                    let checked = Plan::SingleRow {
                        input: Box::new(Plan::Project {
                            input: Box::new(lifted),
                            exprs: check,
                        }),
                        key_columns: nd,
                    };
                    let mut exprs = columns_of(&checked.types(), 0..nd + nf);
                    exprs.push(bool_lit(Some(true)));
                    let right = Plan::Project {
                        input: Box::new(checked),
                        exprs,
                    };
                    let joined = join(plan, right, outer_keys);
                    let marker = col(width + nd + nf, SqlType::Boolean);
                    // The row's fields; an aggregate subquery without rows for this outer
                    // row gives its select list over no input.
                    let fields: Vec<Expr> = (0..nf)
                        .map(|i| {
                            let v = col(width + nd + i, ltypes[i]);
                            match &empty {
                                Some(empty) if nd > 0 => {
                                    let corr = p.key_columns();
                                    let otherwise = empty
                                        .get(i)
                                        .cloned()
                                        .unwrap_or(Expr::literal(Datum::Null, ltypes[i]))
                                        .map_columns(&|j| corr.get(j).copied().unwrap_or(j));
                                    Expr::Case {
                                        whens: vec![(is_null(marker.clone(), false), otherwise)],
                                        otherwise: Some(Box::new(v)),
                                        ty: ltypes[i],
                                    }
                                }
                                _ => v,
                            }
                        })
                        .collect();
                    let pairs = x
                        .into_iter()
                        .zip(y.iter().map(|y| substitute(y, &fields)))
                        .collect();
                    let value = self.row_compare(*op, pairs, Span::empty())?;
                    (joined, value)
                }
                SubqueryKind::Quantified { op, all, .. } => {
                    let Some((x, y)) = p.in_sides.clone() else {
                        return Err(Error::Internal("quantified row without sides".into()));
                    };
                    let nf = x.len();
                    let mut exprs = lifted_keys.clone();
                    exprs.extend(y);
                    let values = Plan::Project {
                        input: Box::new(lifted),
                        exprs,
                    };
                    let vtypes = values.types();
                    // The distinct (correlation values, row) of the outer input, each paired
                    // with every subquery row of its domain value.
                    let mut exprs = outer_keys.clone();
                    exprs.extend(x.iter().cloned());
                    let rows = distinct(Plan::Project {
                        input: Box::new(plan.clone()),
                        exprs,
                    });
                    let rtypes = rows.types();
                    let w = nd + nf;
                    let paired = Plan::Join {
                        left: Box::new(rows),
                        right: Box::new(values),
                        join_type: JoinType::Inner,
                        keys: (0..nd)
                            .map(|i| (col(i, rtypes[i]), col(i, vtypes[i])))
                            .collect(),
                        filter: None,
                        null_equal: true,
                    };
                    let pairs = (0..nf)
                        .map(|i| (col(nd + i, rtypes[nd + i]), col(w + nd + i, vtypes[nd + i])))
                        .collect();
                    let cmp = self.row_compare(*op, pairs, Span::empty())?;
                    // Per (correlation values, row): whether a comparison decided the answer
                    // (true for ANY, false for ALL) and whether one was NULL.
                    let decides = if *all {
                        Expr::Not(Box::new(cmp.clone()))
                    } else {
                        cmp.clone()
                    };
                    let mut exprs = columns_of(&rtypes, 0..w);
                    exprs.push(Expr::Case {
                        whens: vec![(decides, bool_lit(Some(true)))],
                        otherwise: Some(Box::new(bool_lit(Some(false)))),
                        ty: SqlType::Boolean,
                    });
                    exprs.push(is_null(cmp, false));
                    let flags = Plan::Project {
                        input: Box::new(paired),
                        exprs,
                    };
                    let flag = |i: usize| {
                        AggCall::new(
                            AggFunc::BoolOr,
                            Some(col(w + i, SqlType::Boolean)),
                            false,
                            SqlType::Boolean,
                        )
                    };
                    let per_row = Plan::Aggregate {
                        input: Box::new(flags),
                        groups: columns_of(&rtypes, 0..w),
                        aggs: vec![flag(0), flag(1)],
                    };
                    let mut keys = outer_keys.clone();
                    keys.extend(x.iter().cloned());
                    let joined = join(plan, per_row, keys);
                    let decided = col(width + w, SqlType::Boolean);
                    let unknown = col(width + w + 1, SqlType::Boolean);
                    // No subquery row for this outer row: false for ANY, true for ALL, or
                    // the comparison with an aggregate's row over no input.
                    let none = match &empty {
                        Some(empty) if nd > 0 => {
                            let corr = p.key_columns();
                            let row: Vec<Expr> = empty
                                .iter()
                                .map(|e| e.map_columns(&|j| corr.get(j).copied().unwrap_or(j)))
                                .collect();
                            let pairs = x
                                .iter()
                                .cloned()
                                .zip(
                                    p.in_sides
                                        .iter()
                                        .flat_map(|(_, y)| y.iter())
                                        .map(|y| substitute(y, &row)),
                                )
                                .collect();
                            self.row_compare(*op, pairs, Span::empty())?
                        }
                        _ => bool_lit(Some(*all)),
                    };
                    let value = Expr::Case {
                        whens: vec![
                            (is_null(decided.clone(), false), none),
                            (decided, bool_lit(Some(!*all))),
                            (unknown, bool_lit(None)),
                        ],
                        otherwise: Some(Box::new(bool_lit(Some(*all)))),
                        ty: SqlType::Boolean,
                    };
                    (joined, value)
                }
                SubqueryKind::In(_) => {
                    let Some((x, y)) = p.in_sides.clone() else {
                        return Err(Error::Internal("IN without comparison".into()));
                    };
                    let nf = x.len();
                    let ytypes: Vec<SqlType> = y.iter().map(|y| y.ty()).collect();
                    let mut exprs = lifted_keys.clone();
                    exprs.extend(y);
                    if as_semi {
                        // Inner join with the distinct rows without a NULL (per correlation
                        // value) on (correlation columns, x).
                        let values = Plan::Project {
                            input: Box::new(lifted),
                            exprs,
                        };
                        let matches = distinct(Plan::Filter {
                            input: Box::new(values),
                            predicate: no_nulls(&ytypes, nd),
                        });
                        let mut keys = outer_keys.clone();
                        keys.extend(x);
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
                    // Read more than once below (matches, counts, possible matches): run it
                    // once.
                    let values = Plan::shared(Plan::Project {
                        input: Box::new(lifted),
                        exprs,
                    });
                    let vtypes = values.types();
                    let ys = columns_of(&vtypes, nd..nd + nf);
                    // Distinct rows without a NULL per domain value, joined on (domain, x).
                    let matches = Plan::Project {
                        input: Box::new(distinct(Plan::Filter {
                            input: Box::new(values.clone()),
                            predicate: no_nulls(&ytypes, nd),
                        })),
                        exprs: {
                            let mut e = lifted_keys_at(&ltypes, nsel, nd);
                            e.extend(ys.iter().cloned());
                            e.push(bool_lit(Some(true)));
                            e
                        },
                    };
                    let mut keys = outer_keys.clone();
                    keys.extend(x.iter().cloned());
                    let outer = plan.clone();
                    let mut joined = join(plan, matches, keys);
                    let marker = col(width + nd + nf, SqlType::Boolean);
                    // Rows and non-NULL values per domain value.
                    let mut aggs = vec![AggCall::new(
                        AggFunc::CountStar,
                        None,
                        false,
                        SqlType::BigInt,
                    )];
                    if nf == 1 {
                        aggs.push(AggCall::new(
                            AggFunc::Count,
                            Some(ys[0].clone()),
                            false,
                            SqlType::BigInt,
                        ));
                    }
                    let counts = Plan::Aggregate {
                        input: Box::new(values.clone()),
                        groups: lifted_keys_at(&ltypes, nsel, nd),
                        aggs,
                    };
                    joined = join(joined, counts, outer_keys.clone());
                    let w1 = width + nd + nf + 1;
                    let n = col(w1 + nd, SqlType::BigInt);
                    let zero = Expr::literal(Datum::Int(0), SqlType::BigInt);
                    let cmp = |op, a: Expr, b: Expr| Expr::Binary {
                        op,
                        left: Box::new(a),
                        right: Box::new(b),
                        ty: SqlType::Boolean,
                    };
                    let mut whens = vec![
                        (is_null(marker, true), bool_lit(Some(true))),
                        (is_null(n.clone(), false), bool_lit(Some(false))),
                        (cmp(BinaryOp::Eq, n.clone(), zero), bool_lit(Some(false))),
                    ];
                    if nf == 1 {
                        let ny = col(w1 + nd + 1, SqlType::BigInt);
                        whens.push((is_null(x[0].clone(), false), bool_lit(None)));
                        whens.push((cmp(BinaryOp::Lt, ny, n), bool_lit(None)));
                    } else {
                        // A row is NULL when no row equals it but one has no unequal
                        // field: each field pair equal or NULL on a side.
                        let w2 = w1 + nd + 1;
                        let possible = possible_row_matches(outer, &outer_keys, &x, values, nd);
                        joined = join(joined, possible, {
                            let mut k = outer_keys;
                            k.extend(x);
                            k
                        });
                        let maybe = col(w2 + nd + nf, SqlType::Boolean);
                        whens.push((is_null(maybe, true), bool_lit(None)));
                    }
                    let value = Expr::Case {
                        whens,
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

    /// `x op ANY (SELECT s ...)` and `x op ALL (SELECT s ...)` for an ordering `op`, as a
    /// CASE over three scalar subqueries (each decorrelated as any other): the subquery's
    /// row count, its extreme value (the smallest for `>` ANY, the largest for `>` ALL, and
    /// so on) and its count of non-NULL values, giving SQL's three-valued answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bind_quantified(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        query: &ast::Query,
        all: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        if let Some(fields) = crate::planner::rows::row_fields(left) {
            let Some(cmp) = crate::planner::bind::comparison(op) else {
                return Err(Error::DatatypeMismatch {
                    message: format!("row comparison operator {op} must yield type boolean"),
                    position: self.operator_position(query).or(self.position(span)),
                });
            };
            let fields = fields
                .into_iter()
                .map(|f| self.bind_expr(f, scope, agg))
                .collect::<Result<Vec<_>>>()?;
            self.enclosing_agg = agg;
            let kind = SubqueryKind::Quantified {
                op: cmp,
                all,
                fields,
            };
            return self.bind_subquery(query, kind, scope, span);
        }
        if matches!(op, B::Eq | B::NotEq) {
            return self.bind_quantified_equality(left, query, all, scope, agg, span);
        }
        let (symbol, greater) = match op {
            B::Gt => (">", true),
            B::GtEq => (">=", true),
            B::Lt => ("<", false),
            B::LtEq => ("<=", false),
            other => {
                return Err(Error::Unsupported {
                    message: format!(
                        "operator {other} with {} and a subquery is not supported yet",
                        if all { "ALL" } else { "ANY" }
                    ),
                })
            }
        };
        // ANY compares with the value easiest to beat, ALL with the hardest.
        let extreme = if greater != all { "min" } else { "max" };
        let rows = aggregate_query(query, "count(*)", self.position(span))?;
        let extreme = aggregate_query(query, &format!("{extreme}(0)"), self.position(span))?;
        let values = aggregate_query(query, "count(0)", self.position(span))?;
        let x = "\"?quantified\"";
        let text = if all {
            format!(
                "CASE WHEN (SELECT 0) = 0 THEN true WHEN {x} IS NULL THEN NULL \
                 WHEN NOT ({x} {symbol} (SELECT 1)) THEN false \
                 WHEN (SELECT 2) < (SELECT 0) THEN NULL ELSE true END"
            )
        } else {
            format!(
                "CASE WHEN (SELECT 0) = 0 THEN false WHEN {x} {symbol} (SELECT 1) THEN true \
                 WHEN {x} IS NULL OR (SELECT 2) < (SELECT 0) THEN NULL ELSE false END"
            )
        };
        let case = fill_template(&text, left, &[rows, extreme, values])?;
        self.bind_expr(&case, scope, agg)
    }
}

impl Binder<'_> {
    /// `x = ALL (SELECT s ...)` and `x <> ANY (SELECT s ...)` (`x = ANY` and `x <> ALL` are
    /// IN and NOT IN): as [`Binder::bind_quantified`], over the subquery's row count, its
    /// smallest and largest values and its count of non-NULL values. Every non-NULL value
    /// equals `x` exactly when the smallest and the largest do.
    fn bind_quantified_equality(
        &mut self,
        left: &ast::Expr,
        query: &ast::Query,
        all: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        let position = self.position(span);
        let rows = aggregate_query(query, "count(*)", position)?;
        let min = aggregate_query(query, "min(0)", position)?;
        let values = aggregate_query(query, "count(0)", position)?;
        let max = aggregate_query(query, "max(0)", position)?;
        let x = "\"?quantified\"";
        // Whether some non-NULL value differs from x, for a non-NULL x.
        let differs =
            format!("(SELECT 1) IS NOT NULL AND NOT ({x} = (SELECT 1) AND {x} = (SELECT 3))");
        let (empty, found) = if all {
            ("true", "false")
        } else {
            ("false", "true")
        };
        let text = format!(
            "CASE WHEN (SELECT 0) = 0 THEN {empty} WHEN {x} IS NULL THEN NULL \
             WHEN {differs} THEN {found} WHEN (SELECT 2) < (SELECT 0) THEN NULL \
             ELSE NOT {found} END"
        );
        let case = fill_template(&text, left, &[rows, min, values, max])?;
        self.bind_expr(&case, scope, agg)
    }
}

/// An error of a VALUES list bound as [`Binder::lateral_values`]' arrays, in the words of the
/// VALUES list: its columns' types that cannot be matched.
pub(crate) fn values_error(e: Error) -> Error {
    match e {
        Error::DatatypeMismatch { message, position } => Error::DatatypeMismatch {
            message: match message.strip_prefix("ARRAY types ") {
                Some(rest) => format!("VALUES types {rest}"),
                None => message,
            },
            position,
        },
        other => other,
    }
}

/// Parses one of the planner's own SQL expression templates.
fn parse_template(text: &str) -> Result<ast::Expr> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::Internal(format!("expression template: {e}")))
}

/// `n` for a template's `(SELECT n)` placeholder.
fn template_slot(q: &ast::Query) -> Option<usize> {
    let ast::SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    match (s.from.is_empty(), s.projection.as_slice()) {
        (true, [ast::SelectItem::UnnamedExpr(ast::Expr::Value(v))]) => match &v.value {
            ast::Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// True if `e` calls an aggregate or window function.
fn calls_aggregate(e: &ast::Expr) -> bool {
    let mut found = false;
    let _ = ast::visit_expressions(e, |x| {
        if let ast::Expr::Function(f) = x {
            let name = f.name.to_string().to_ascii_lowercase();
            if f.over.is_some()
                || matches!(
                    name.as_str(),
                    "count"
                        | "sum"
                        | "avg"
                        | "min"
                        | "max"
                        | "array_agg"
                        | "string_agg"
                        | "listagg"
                        | "bool_and"
                        | "bool_or"
                        | "every"
                        | "stddev"
                        | "stddev_samp"
                        | "stddev_pop"
                        | "variance"
                        | "var_samp"
                        | "var_pop"
                        | "median"
                        | "percentile_cont"
                        | "percentile_disc"
                )
            {
                found = true;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// `query` with its one column replaced by the aggregate `call` of it (`count(*)`, or a
/// template whose argument `0` stands for the column): the query itself when it is a plain
/// SELECT, otherwise a query over it as a derived table.
fn aggregate_query(query: &ast::Query, call: &str, position: Option<u32>) -> Result<ast::Query> {
    let too_many = || Error::Syntax {
        message: "subquery has too many columns".into(),
        position,
    };
    let mut call = parse_template(call)?;
    let fill = |call: &mut ast::Expr, arg: ast::Expr| {
        if let ast::Expr::Function(f) = call {
            if let ast::FunctionArguments::List(list) = &mut f.args {
                if let Some(a @ ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(_))) =
                    list.args.first_mut()
                {
                    *a = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg));
                }
            }
        }
    };
    if let ast::SetExpr::Select(s) = query.body.as_ref() {
        let item = match s.projection.as_slice() {
            [ast::SelectItem::UnnamedExpr(e)]
            | [ast::SelectItem::ExprWithAlias { expr: e, .. }] => Some(e),
            [_, _, ..] => return Err(too_many()),
            _ => None,
        };
        let plain = s.distinct.is_none()
            && s.having.is_none()
            && matches!(&s.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty())
            && query.limit_clause.is_none()
            && query.fetch.is_none()
            && query.with.is_none();
        if let (Some(e), true) = (item, plain) {
            if !calls_aggregate(e) {
                fill(&mut call, e.clone());
                let mut select = s.as_ref().clone();
                select.projection = vec![ast::SelectItem::UnnamedExpr(call)];
                return Ok(ast::Query {
                    body: Box::new(ast::SetExpr::Select(Box::new(select))),
                    order_by: None,
                    ..query.clone()
                });
            }
        }
    }
    // Any other query: the aggregate over it as a derived table.
    fill(
        &mut call,
        ast::Expr::Identifier(ast::Ident::with_quote('"', "?value")),
    );
    let text = format!("SELECT {call} FROM (SELECT 1) AS \"?quantified\"(\"?value\")");
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut outer = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| Error::Internal(format!("query template: {e}")))?;
    if let ast::SetExpr::Select(s) = outer.body.as_mut() {
        if let Some(ast::TableFactor::Derived { subquery, .. }) =
            s.from.first_mut().map(|t| &mut t.relation)
        {
            **subquery = query.clone();
        }
    }
    Ok(*outer)
}

/// The expression `text` with `"?quantified"` replaced by `left` and each `(SELECT k)` by
/// `parts[k]`.
fn fill_template(text: &str, left: &ast::Expr, parts: &[ast::Query]) -> Result<ast::Expr> {
    let mut case = parse_template(text)?;
    let _ = ast::visit_expressions_mut(&mut case, |e| {
        match e {
            ast::Expr::Identifier(id) if id.value == "?quantified" => *e = left.clone(),
            ast::Expr::Subquery(q) => {
                if let Some(part) = template_slot(q).and_then(|k| parts.get(k)) {
                    *e = ast::Expr::Subquery(Box::new(part.clone()));
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Ok(case)
}

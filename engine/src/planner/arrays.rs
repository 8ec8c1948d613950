//! Binding of arrays: `ARRAY[...]`, `ARRAY(subquery)`, subscripts, `= ANY (array)` and
//! `ALL`, the array functions, and the aggregates that collect values (`array_agg`,
//! `string_agg`, Redshift's `listagg`).
//!
//! Arrays are values of expressions and catalog columns, one-dimensional and 1-based, as
//! PostgreSQL's; no table column holds one (Redshift has no array columns either).

use basalt_storage::types::ArrayElement;
use basalt_storage::SqlType;
use sqlparser::ast;
use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::kernels::array::ArrayFunc;
use crate::kernels::func::RowFunc;
use crate::planner::bind::{comparison, fold, AggContext, Binder, Scope};
use crate::planner::expr::{AggCall, AggFunc, BinaryOp, Expr, ScalarFunc};
use crate::planner::plan::SortKey;
use crate::planner::select::sort_key;
use crate::planner::subquery::SubqueryKind;
use crate::types::{display_name, Datum};

impl Binder<'_> {
    /// The array type of `element`'s type, or PostgreSQL's error for types without one.
    fn array_type(&self, element: SqlType, span: Span) -> Result<SqlType> {
        element.array_of().ok_or_else(|| Error::UndefinedType {
            name: format!("{}[]", display_name(element)),
            position: self.position(span),
        })
    }

    /// `ARRAY[a, b, ...]`: the elements take their common type.
    pub(crate) fn bind_array_constructor(
        &mut self,
        elems: &[ast::Expr],
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        if elems.is_empty() {
            return Err(Error::IndeterminateDatatype {
                message: "cannot determine type of empty array".into(),
                position: self.position(span),
            });
        }
        let bound = elems
            .iter()
            .map(|e| self.bind_expr(e, scope, agg))
            .collect::<Result<Vec<_>>>()?;
        let bound = self.unify(bound, "ARRAY", span)?;
        let element = bound.first().map_or(SqlType::Text, |e| e.ty());
        let ty = self.array_type(element, span)?;
        Ok(fold(Expr::Function {
            func: ScalarFunc::Array(ArrayFunc::Make),
            args: bound,
            ty,
        }))
    }

    /// `CAST(ARRAY[] AS t[])`: the one way an empty array constructor has a type.
    pub(crate) fn empty_array(&self, to: SqlType) -> Expr {
        Expr::literal(Datum::Array(Vec::new()), to)
    }

    /// `ARRAY(subquery)`: the subquery's one column collected into an array, in the
    /// subquery's order; an empty array when it returns no rows.
    ///
    /// A subquery of the plain form `SELECT e FROM ... [WHERE ...] [ORDER BY ...]` becomes
    /// `SELECT array_agg(e ORDER BY ...) FROM ... WHERE ...`, so that a correlated subquery is
    /// decorrelated as any aggregate subquery is. Any other form is collected over a derived
    /// table.
    pub(crate) fn bind_array_subquery(
        &mut self,
        q: &ast::Query,
        scope: &Scope,
        span: Span,
    ) -> Result<Expr> {
        // An aggregate in the select list makes the plain form fail ("cannot be nested"):
        // such a subquery is collected over a derived table instead.
        let plain = plain_select_to_array_agg(q)
            .map(|p| self.bind_subquery(&p, SubqueryKind::Scalar, scope, span));
        let collected = match plain {
            Some(Ok(e)) => e,
            Some(Err(first)) => {
                let derived = over_derived_table(q)?;
                self.bind_subquery(&derived, SubqueryKind::Scalar, scope, span)
                    .map_err(|_| first)?
            }
            None => {
                let derived = over_derived_table(q)?;
                self.bind_subquery(&derived, SubqueryKind::Scalar, scope, span)?
            }
        };
        let ty = collected.ty();
        let empty = self.empty_array(ty);
        self.scalar_function(
            "coalesce",
            vec![collected, empty],
            self.position(span),
            span,
        )
    }

    /// `array_agg`, `string_agg` and `listagg`, with their ORDER BY (inside the call, or
    /// `WITHIN GROUP` for listagg).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bind_collecting_aggregate(
        &mut self,
        name: &str,
        f: &ast::Function,
        args: &[ast::Expr],
        distinct: bool,
        scope: &Scope,
        agg: AggContext,
        position: Option<u32>,
    ) -> Result<Expr> {
        agg.check(position)?;
        let span = f.span();
        let mut order: Vec<&ast::OrderByExpr> = match &f.args {
            ast::FunctionArguments::List(list) => list
                .clauses
                .iter()
                .filter_map(|c| match c {
                    ast::FunctionArgumentClause::OrderBy(o) => Some(o),
                    _ => None,
                })
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
        if !f.within_group.is_empty() {
            if name != "listagg" {
                return Err(Error::WrongObjectType {
                    message: format!(
                        "{name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP"
                    ),
                    position,
                });
            }
            order.extend(f.within_group.iter());
        }
        let (x, sep) = match (name, args) {
            ("array_agg", [x]) => (x, None),
            ("string_agg", [x, s]) | ("listagg", [x, s]) => (x, Some(s)),
            ("listagg", [x]) => (x, None),
            _ => {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function {name} with {} arguments does not exist",
                        args.len()
                    ),
                    position,
                })
            }
        };
        let x = self.bind_expr(x, scope, AggContext::Nested)?;
        let mut order_by = Vec::with_capacity(order.len());
        for o in order {
            let e = self.bind_expr(&o.expr, scope, AggContext::Nested)?;
            let e = self.coerce_unknown(e, SqlType::Text)?;
            order_by.push(sort_key(e, &o.options));
        }
        self.collecting_call(name, x, sep, order_by, distinct, scope, position, span)
    }

    /// The call of `array_agg`, `string_agg` or `listagg` over the bound argument `x` and
    /// ordering `order_by`, with the separator `sep` (a constant): an `Expr::Aggregate`, within
    /// LISTAGG's length check for `listagg`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn collecting_call(
        &mut self,
        name: &str,
        x: Expr,
        sep: Option<&ast::Expr>,
        order_by: Vec<SortKey>,
        distinct: bool,
        scope: &Scope,
        position: Option<u32>,
        span: Span,
    ) -> Result<Expr> {
        let separator = match sep {
            None => None,
            Some(s) => {
                // Bound in the query's scope so that a column names itself in the error.
                let s = self.bind_expr(
                    s,
                    scope,
                    AggContext::Forbidden("the separator of an aggregate"),
                )?;
                let s = self.coerce_unknown(s, SqlType::Text)?;
                match s {
                    Expr::Literal {
                        value: Datum::Text(s),
                        ..
                    } => Some(s),
                    // PostgreSQL's string_agg with a NULL separator joins without one.
                    Expr::Literal {
                        value: Datum::Null, ..
                    } => None,
                    _ => {
                        return Err(Error::Unsupported {
                            message: format!("the separator of {name} must be a constant string"),
                        })
                    }
                }
            }
        };
        let (func, x, ty) = if name == "array_agg" {
            let x = self.coerce_unknown(x, SqlType::Text)?;
            let ty = self.array_type(x.ty(), span)?;
            (AggFunc::ArrayAgg, x, ty)
        } else {
            let x = self.coerce_unknown(x, SqlType::Text)?;
            if name == "string_agg" && !x.ty().is_string() {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function string_agg({}, text) does not exist",
                        display_name(x.ty())
                    ),
                    position,
                });
            }
            // Redshift's LISTAGG takes any value and aggregates its text form.
            let x = self.cast(x, SqlType::Text, true, span)?;
            (AggFunc::StringAgg, x, SqlType::Text)
        };
        if distinct && order_by.iter().any(|k| k.expr != x) {
            return Err(Error::InvalidColumnReference {
                message: "in an aggregate with DISTINCT, ORDER BY expressions must appear in \
                          argument list"
                    .into(),
                position,
            });
        }
        // Redshift's LISTAGG skips empty strings as it skips NULLs (after DISTINCT's check,
        // which compares the ORDER BY keys with the argument as written).
        let x = if name == "listagg" {
            let empty = Expr::literal(Datum::Text(String::new()), SqlType::Text);
            let is_empty = self.binary(BinaryOp::Eq, x.clone(), empty, span)?;
            Expr::Case {
                whens: vec![(is_empty, Expr::literal(Datum::Null, SqlType::Text))],
                otherwise: Some(Box::new(x)),
                ty: SqlType::Text,
            }
        } else {
            x
        };
        let call = Expr::Aggregate(Box::new(AggCall {
            func,
            arg: Some(x),
            distinct,
            ty,
            order_by,
            separator,
        }));
        if name != "listagg" {
            return Ok(call);
        }
        // Redshift's LISTAGG returns a VARCHAR(65535): a longer result is an error.
        Ok(Expr::Function {
            func: ScalarFunc::Row(RowFunc::ListaggLimit),
            args: vec![call],
            ty: SqlType::Text,
        })
    }

    /// `value op ANY (array)` (or `SOME`) and `value op ALL (array)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bind_array_comparison(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
        scope: &Scope,
        agg: AggContext,
        span: Span,
    ) -> Result<Expr> {
        let Some(op) = comparison(op) else {
            return Err(Error::Unsupported {
                message: format!("operator {op} with ANY or ALL is not supported"),
            });
        };
        let l = self.bind_expr(left, scope, agg)?;
        let r = self.bind_expr(right, scope, agg)?;
        // An untyped literal on the right is an array of the left side's type.
        let r = match (&r, l.ty()) {
            (Expr::Literal { unknown: true, .. }, lt) => {
                let at = self.array_type(lt, span)?;
                self.cast(r, at, true, span)?
            }
            _ => r,
        };
        let SqlType::Array { element } = r.ty() else {
            return Err(Error::UndefinedFunction {
                message: "op ANY/ALL (array) requires array on right side".into(),
                position: self.position(span),
            });
        };
        let l = self.coerce_unknown(l, element.sql_type())?;
        // Compare in the common type of the value and the elements.
        let common = crate::types::common_type(l.ty(), element.sql_type()).ok_or_else(|| {
            Error::UndefinedFunction {
                message: format!(
                    "operator does not exist: {} {} {}",
                    display_name(l.ty()),
                    op_symbol(op),
                    display_name(element.sql_type())
                ),
                position: self.position(span),
            }
        })?;
        let l = self.cast(l, common, false, span)?;
        let r = match ArrayElement::of(common) {
            Some(e) if e != element => self.cast(r, SqlType::Array { element: e }, false, span)?,
            _ => r,
        };
        Ok(fold(Expr::Function {
            func: ScalarFunc::Array(ArrayFunc::Compare { op, all }),
            args: vec![l, r],
            ty: SqlType::Boolean,
        }))
    }

    /// `array[i]`: the element at 1-based position `i` (0-based for the vectors,
    /// `int2vector` and `oidvector`), NULL outside the array.
    pub(crate) fn bind_subscript(&mut self, array: Expr, index: Expr, span: Span) -> Result<Expr> {
        let SqlType::Array { element } = array.ty() else {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "cannot subscript type {} because it is not an array",
                    display_name(array.ty())
                ),
                position: self.position(span),
            });
        };
        let index = self.coerce_unknown(index, SqlType::Integer)?;
        if !matches!(
            index.ty(),
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
        ) {
            return Err(Error::DatatypeMismatch {
                message: "array subscript must have type integer".into(),
                position: self.position(span),
            });
        }
        let mut index = self.cast(index, SqlType::BigInt, false, span)?;
        if element.is_vector() {
            let one = Expr::literal(crate::types::Datum::Int(1), SqlType::BigInt);
            index = self.binary(crate::planner::expr::BinaryOp::Add, index, one, span)?;
        }
        Ok(fold(Expr::Function {
            func: ScalarFunc::Array(ArrayFunc::Element),
            args: vec![array, index],
            ty: element.sql_type(),
        }))
    }

    /// The array functions; `Ok(Err(args))` when `name` is none of them.
    pub(crate) fn array_function(
        &self,
        name: &str,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let is_array = |e: &Expr| matches!(e.ty(), SqlType::Array { .. });
        let int = |b: &Self, e: Expr| -> Result<Expr> {
            let e = b.coerce_unknown(e, SqlType::Integer)?;
            b.cast(e, SqlType::BigInt, false, span)
        };
        let text = |b: &Self, e: Expr| -> Result<Expr> {
            let e = b.coerce_unknown(e, SqlType::Text)?;
            b.cast(e, SqlType::Text, true, span)
        };
        let (func, args, ty) = match (name, args.as_slice()) {
            ("array_to_string", [a, _] | [a, _, _]) if is_array(a) => {
                let mut it = args.into_iter();
                let a = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let rest = it.map(|e| text(self, e)).collect::<Result<Vec<_>>>()?;
                let args = std::iter::once(a).chain(rest).collect();
                (ArrayFunc::ToString, args, SqlType::Text)
            }
            ("array_length" | "array_upper" | "array_lower", [a, _]) if is_array(a) => {
                let mut it = args.into_iter();
                let a = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let d = int(
                    self,
                    it.next().ok_or_else(|| Error::Internal("arity".into()))?,
                )?;
                let f = match name {
                    "array_length" => ArrayFunc::Length,
                    "array_upper" => ArrayFunc::Upper,
                    _ => ArrayFunc::Lower,
                };
                let vector = matches!(a.ty(), SqlType::Array { element } if element.is_vector());
                let bound = fold(Expr::Function {
                    func: ScalarFunc::Array(f),
                    args: vec![a, d],
                    ty: SqlType::Integer,
                });
                if vector && f != ArrayFunc::Length {
                    // A vector's subscripts start at 0.
                    let one = Expr::literal(crate::types::Datum::Int(1), SqlType::Integer);
                    return self
                        .binary(crate::planner::expr::BinaryOp::Sub, bound, one, span)
                        .map(Ok);
                }
                return Ok(Ok(bound));
            }
            ("cardinality", [a]) if is_array(a) => (ArrayFunc::Cardinality, args, SqlType::Integer),
            ("array_ndims", [a]) if is_array(a) => (ArrayFunc::Ndims, args, SqlType::Integer),
            ("string_to_array", [_, _] | [_, _, _]) => {
                let args = args
                    .into_iter()
                    .map(|e| text(self, e))
                    .collect::<Result<Vec<_>>>()?;
                let ty = SqlType::Array {
                    element: ArrayElement::Text,
                };
                (ArrayFunc::FromString, args, ty)
            }
            ("array_cat", [a, b]) if is_array(a) || is_array(b) => {
                return self.array_concat(args, span).map(Ok);
            }
            ("array_append", [a, _]) if is_array(a) => {
                let SqlType::Array { element } = a.ty() else {
                    return Ok(Err(args));
                };
                let mut it = args.into_iter();
                let a = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let x = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let x = self.coerce_unknown(x, element.sql_type())?;
                let x = self.cast(x, element.sql_type(), false, span)?;
                let ty = a.ty();
                (ArrayFunc::Append, vec![a, x], ty)
            }
            ("array_prepend", [_, b]) if is_array(b) => {
                let SqlType::Array { element } = b.ty() else {
                    return Ok(Err(args));
                };
                let mut it = args.into_iter();
                let x = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let b = it.next().ok_or_else(|| Error::Internal("arity".into()))?;
                let x = self.coerce_unknown(x, element.sql_type())?;
                let x = self.cast(x, element.sql_type(), false, span)?;
                let ty = b.ty();
                (ArrayFunc::Prepend, vec![x, b], ty)
            }
            _ => return Ok(Err(args)),
        };
        Ok(Ok(fold(Expr::Function {
            func: ScalarFunc::Array(func),
            args,
            ty,
        })))
    }

    /// `a || b` where either side is an array: concatenation, or appending / prepending an
    /// element.
    pub(crate) fn array_concat(&self, args: Vec<Expr>, span: Span) -> Result<Expr> {
        let mut it = args.into_iter();
        let (Some(a), Some(b)) = (it.next(), it.next()) else {
            return Err(Error::Internal("array concatenation arity".into()));
        };
        let (func, a, b, ty) = match (a.ty(), b.ty()) {
            (SqlType::Array { element: ea }, SqlType::Array { element: eb }) => {
                let common = crate::types::common_type(ea.sql_type(), eb.sql_type())
                    .and_then(SqlType::array_of)
                    .ok_or_else(|| Error::UndefinedFunction {
                        message: format!(
                            "operator does not exist: {} || {}",
                            display_name(a.ty()),
                            display_name(b.ty())
                        ),
                        position: self.position(span),
                    })?;
                let a = self.cast(a, common, false, span)?;
                let b = self.cast(b, common, false, span)?;
                (ArrayFunc::Concat, a, b, common)
            }
            (SqlType::Array { element }, _) => {
                let b = self.coerce_unknown(b, a.ty())?;
                if let SqlType::Array { .. } = b.ty() {
                    let b = self.cast(b, a.ty(), false, span)?;
                    let ty = a.ty();
                    (ArrayFunc::Concat, a, b, ty)
                } else {
                    let b = self.cast(b, element.sql_type(), false, span)?;
                    let ty = a.ty();
                    (ArrayFunc::Append, a, b, ty)
                }
            }
            (_, SqlType::Array { element }) => {
                let a = self.coerce_unknown(a, b.ty())?;
                if let SqlType::Array { .. } = a.ty() {
                    let a = self.cast(a, b.ty(), false, span)?;
                    let ty = b.ty();
                    (ArrayFunc::Concat, a, b, ty)
                } else {
                    let a = self.cast(a, element.sql_type(), false, span)?;
                    let ty = b.ty();
                    (ArrayFunc::Prepend, a, b, ty)
                }
            }
            _ => return Err(Error::Internal("array concatenation of non-arrays".into())),
        };
        Ok(fold(Expr::Function {
            func: ScalarFunc::Array(func),
            args: vec![a, b],
            ty,
        }))
    }
}

fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        _ => "?",
    }
}

/// `SELECT e FROM ... [WHERE ...] [ORDER BY ...]` as `SELECT array_agg(e ORDER BY ...) FROM
/// ... [WHERE ...]`; `None` for any other form (GROUP BY, DISTINCT, LIMIT, set operations, more
/// than one column ...).
fn plain_select_to_array_agg(q: &ast::Query) -> Option<ast::Query> {
    if q.with.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return None;
    }
    let ast::SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let plain = select.distinct.is_none()
        && select.having.is_none()
        && select.qualify.is_none()
        && matches!(&select.group_by, ast::GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
        && select.projection.len() == 1;
    if !plain {
        return None;
    }
    let (value, alias) = match &select.projection[0] {
        ast::SelectItem::UnnamedExpr(e) => (e.clone(), None),
        ast::SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.clone())),
        _ => return None,
    };
    // ORDER BY may name the output column by position or alias: both mean `value`.
    let mut order = Vec::new();
    if let Some(ob) = &q.order_by {
        let ast::OrderByKind::Expressions(exprs) = &ob.kind else {
            return None;
        };
        for o in exprs {
            let expr = match &o.expr {
                ast::Expr::Value(v) if v.value == ast::Value::Number("1".into(), false) => {
                    value.clone()
                }
                ast::Expr::Value(_) => return None,
                ast::Expr::Identifier(id)
                    if alias
                        .as_ref()
                        .is_some_and(|a| a.value.eq_ignore_ascii_case(&id.value)) =>
                {
                    value.clone()
                }
                e => e.clone(),
            };
            order.push(ast::OrderByExpr {
                expr,
                options: o.options.clone(),
                with_fill: None,
            });
        }
    }
    let call = ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new("array_agg")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(value))],
            clauses: if order.is_empty() {
                vec![]
            } else {
                vec![ast::FunctionArgumentClause::OrderBy(order)]
            },
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    });
    let mut select = select.clone();
    select.projection = vec![ast::SelectItem::UnnamedExpr(call)];
    let mut out = q.clone();
    out.body = Box::new(ast::SetExpr::Select(select));
    out.order_by = None;
    Some(out)
}

/// `SELECT array_agg(array_value) FROM (q) AS array_source(array_value)`.
fn over_derived_table(q: &ast::Query) -> Result<ast::Query> {
    let template = "SELECT array_agg(array_value) FROM (SELECT 1) AS array_source(array_value)";
    let parsed =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, template)
            .map_err(|e| Error::Internal(format!("array subquery template: {e}")))?;
    let Some(ast::Statement::Query(mut outer)) = parsed.into_iter().next() else {
        return Err(Error::Internal("array subquery template".into()));
    };
    if let ast::SetExpr::Select(select) = outer.body.as_mut() {
        if let Some(ast::TableFactor::Derived { subquery, .. }) =
            select.from.first_mut().map(|t| &mut t.relation)
        {
            **subquery = q.clone();
            return Ok(*outer);
        }
    }
    Err(Error::Internal("array subquery template".into()))
}

//! Binding window function calls (`f(...) OVER (...)`, named windows) and planning them: the
//! calls of a query are computed by `Plan::Window` operators stacked over the query's input
//! (after grouping and HAVING), one per distinct window, and every call becomes a reference to
//! its operator's output column.

use basalt_storage::SqlType;
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::{Location, Span};

use crate::error::{Error, Result};
use crate::kernels::func::RowFunc;
use crate::planner::bind::{normalize_ident, AggContext, Binder, Scope};
use crate::planner::expr::{
    AggCall, AggFunc, BinaryOp, Expr, FrameBound, FrameExclude, FrameUnits, RangeBound, ScalarFunc,
    WindowCall, WindowFrame, WindowFunc,
};
use crate::planner::plan::{Plan, SortKey};
use crate::planner::select::sort_key;
use crate::types::{display_name, Datum};

/// Window functions that exist only with OVER.
pub fn is_window_only(name: &str) -> bool {
    matches!(
        name,
        "row_number"
            | "rank"
            | "dense_rank"
            | "percent_rank"
            | "cume_dist"
            | "ntile"
            | "lag"
            | "lead"
            | "first_value"
            | "last_value"
            | "nth_value"
            | "ratio_to_report"
    )
}

/// True if the expression contains a window function call.
pub fn contains_window(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| {
        if matches!(x, Expr::Window(_)) {
            found = true;
        }
    });
    found
}

/// Adds a window operator for each distinct window among the calls in `exprs` (in order of
/// first appearance) over `plan`, and rewrites the calls into references to their columns.
pub fn plan_windows(mut plan: Plan, exprs: &mut [&mut Expr]) -> Plan {
    let mut calls: Vec<WindowCall> = Vec::new();
    for e in exprs.iter() {
        e.visit(&mut |x| {
            if let Expr::Window(w) = x {
                if !calls.contains(w) {
                    calls.push(w.as_ref().clone());
                }
            }
        });
    }
    if calls.is_empty() {
        return plan;
    }
    // One operator per window; each appends its calls' columns after its input's.
    let mut groups: Vec<Vec<WindowCall>> = Vec::new();
    for c in calls {
        match groups.iter_mut().find(|g| g[0].same_window(&c)) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    let mut columns: Vec<(WindowCall, usize)> = Vec::new();
    for g in groups {
        let base = plan.types().len();
        for (k, c) in g.iter().enumerate() {
            columns.push((c.clone(), base + k));
        }
        plan = Plan::Window {
            input: Box::new(plan),
            calls: g,
        };
    }
    for e in exprs.iter_mut() {
        **e = e.transform(&mut |x| match x {
            Expr::Window(w) => columns
                .iter()
                .find(|(c, _)| c == w.as_ref())
                .map(|(c, index)| Expr::Column {
                    index: *index,
                    ty: c.ty,
                }),
            _ => None,
        });
    }
    plan
}

impl Binder<'_> {
    /// Binds `name(args) OVER window`. Window functions are allowed where aggregates are
    /// (the select list and ORDER BY; HAVING is checked by the caller), and not inside an
    /// aggregate's argument or another window call.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn bind_window_function(
        &mut self,
        name: &str,
        f: &ast::Function,
        args: &[ast::Expr],
        distinct: bool,
        star: bool,
        scope: &Scope,
        agg: AggContext,
    ) -> Result<Expr> {
        let position = self.position(f.span());
        match agg {
            AggContext::Allowed => {}
            AggContext::Forbidden(clause) => {
                return Err(Error::Windowing {
                    message: format!("window functions are not allowed in {clause}"),
                    position,
                })
            }
            AggContext::Nested => {
                return Err(Error::Grouping {
                    message: "aggregate function calls cannot contain window function calls".into(),
                    position,
                })
            }
        }
        if let Some(message) = self.in_window {
            return Err(Error::Windowing {
                message: message.into(),
                position,
            });
        }
        let func = match name {
            "row_number" => WindowFunc::RowNumber,
            "rank" => WindowFunc::Rank,
            "dense_rank" => WindowFunc::DenseRank,
            "percent_rank" => WindowFunc::PercentRank,
            "cume_dist" => WindowFunc::CumeDist,
            "ntile" => WindowFunc::Ntile,
            "lag" => WindowFunc::Lag,
            "lead" => WindowFunc::Lead,
            "first_value" => WindowFunc::FirstValue,
            "last_value" => WindowFunc::LastValue,
            "nth_value" => WindowFunc::NthValue,
            "ratio_to_report" => WindowFunc::RatioToReport,
            "count" if star => WindowFunc::Agg(AggFunc::CountStar),
            "count" => WindowFunc::Agg(AggFunc::Count),
            "sum" => WindowFunc::Agg(AggFunc::Sum),
            "avg" => WindowFunc::Agg(AggFunc::Avg),
            "min" => WindowFunc::Agg(AggFunc::Min),
            "max" => WindowFunc::Agg(AggFunc::Max),
            "stddev" | "stddev_samp" => WindowFunc::Agg(AggFunc::StddevSamp),
            "stddev_pop" => WindowFunc::Agg(AggFunc::StddevPop),
            "variance" | "var_samp" => WindowFunc::Agg(AggFunc::VarSamp),
            "var_pop" => WindowFunc::Agg(AggFunc::VarPop),
            "bool_and" | "every" => WindowFunc::Agg(AggFunc::BoolAnd),
            "bool_or" => WindowFunc::Agg(AggFunc::BoolOr),
            "median" => WindowFunc::Agg(AggFunc::Median),
            // The fraction and direction are filled in when the call is bound.
            "percentile_cont" => WindowFunc::Agg(AggFunc::PercentileCont {
                fraction: 0,
                descending: false,
            }),
            "percentile_disc" => WindowFunc::Agg(AggFunc::PercentileDisc {
                fraction: 0,
                descending: false,
            }),
            "array_agg" => WindowFunc::Agg(AggFunc::ArrayAgg),
            "string_agg" | "listagg" => WindowFunc::Agg(AggFunc::StringAgg),
            _ => {
                return Err(Error::WrongObjectType {
                    message: format!(
                    "OVER specified, but {name} is not a window function nor an aggregate function"
                ),
                    position,
                })
            }
        };
        if distinct {
            return Err(match func {
                WindowFunc::Agg(_) => Error::Unsupported {
                    message: "DISTINCT is not implemented for window functions".into(),
                },
                _ => Error::WrongObjectType {
                    message: format!("DISTINCT specified, but {name} is not an aggregate function"),
                    position,
                },
            });
        }
        let aggregate = matches!(func, WindowFunc::Agg(_));
        let inner_order = match &f.args {
            ast::FunctionArguments::List(list) => list
                .clauses
                .iter()
                .any(|c| matches!(c, ast::FunctionArgumentClause::OrderBy(_))),
            _ => false,
        };
        if aggregate && inner_order {
            return Err(Error::Unsupported {
                message: "aggregate ORDER BY is not implemented for window functions".into(),
            });
        }
        // Redshift's ordered-set window functions: PERCENTILE_* WITHIN GROUP, and LISTAGG.
        // Anything else is looked for, as PostgreSQL does, over its arguments' and the
        // ordering's types.
        let within = matches!(name, "percentile_cont" | "percentile_disc" | "listagg");
        if !within && !f.within_group.is_empty() {
            let mut types = Vec::new();
            for e in args.iter().chain(f.within_group.iter().map(|o| &o.expr)) {
                let b = self.bind_expr(e, scope, AggContext::Allowed)?;
                types.push(display_name(b.ty()));
            }
            return Err(Error::UndefinedFunction {
                message: format!("function {name}({}) does not exist", types.join(", ")),
                position,
            });
        }
        if !aggregate && f.filter.is_some() {
            return Err(Error::Unsupported {
                message: "FILTER is not implemented for non-aggregate window functions".into(),
            });
        }
        // `agg(x) FILTER (WHERE p) OVER ...` is `agg(CASE WHEN p THEN x END) OVER ...` for the
        // aggregates that skip NULLs, as without OVER.
        let filtered;
        let (func, args) = match &f.filter {
            None => (func, args),
            Some(p) => {
                if !matches!(
                    func,
                    WindowFunc::Agg(
                        AggFunc::CountStar
                            | AggFunc::Count
                            | AggFunc::Sum
                            | AggFunc::Avg
                            | AggFunc::Min
                            | AggFunc::Max
                            | AggFunc::VarSamp
                            | AggFunc::VarPop
                            | AggFunc::StddevSamp
                            | AggFunc::StddevPop
                            | AggFunc::BoolAnd
                            | AggFunc::BoolOr
                    )
                ) && name != "string_agg"
                {
                    return Err(Error::Unsupported {
                        message: format!("FILTER is not supported with {name} OVER"),
                    });
                }
                self.check_filter(p, scope)?;
                let mut a = args.to_vec();
                let func = if star {
                    a = vec![ast::Expr::value(ast::Value::Number("1".into(), false))];
                    WindowFunc::Agg(AggFunc::Count)
                } else {
                    func
                };
                if let Some(first) = a.first_mut() {
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
                filtered = a;
                (func, filtered.as_slice())
            }
        };
        if f.null_treatment.is_some() {
            return Err(Error::Unsupported {
                message: format!("IGNORE NULLS and RESPECT NULLS are not supported with {name}"),
            });
        }
        let Some(over) = &f.over else {
            return Err(Error::Internal("window function without OVER".into()));
        };
        let (spec, written_after) = self.resolve_window(over, f.name.span().end)?;
        // As in Redshift, these take their whole partition: PARTITION BY only.
        if matches!(
            name,
            "median" | "percentile_cont" | "percentile_disc" | "listagg"
        ) && (!spec.order_by.is_empty() || spec.window_frame.is_some())
        {
            return Err(Error::Unsupported {
                message: format!(
                    "OVER with ORDER BY or a frame is not supported for {name}: its window takes \
                     PARTITION BY only"
                ),
            });
        }
        // A view's query is bound from its stored text, not the statement's, and holds no
        // EXCLUDE clause (CREATE VIEW refuses one).
        let exclude = match spec.window_frame {
            Some(_) if self.view_owners.is_empty() => {
                crate::parse::frame_exclude::exclusion_after(self.sql, written_after)
            }
            _ => FrameExclude::NoOthers,
        };
        let saved = self.in_window;
        let r = self.bind_window_call(
            func,
            name,
            args,
            &f.within_group,
            &spec,
            exclude,
            scope,
            position,
            f.span(),
        );
        self.in_window = saved;
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_window_call(
        &mut self,
        mut func: WindowFunc,
        name: &str,
        args: &[ast::Expr],
        within: &[ast::OrderByExpr],
        spec: &ast::WindowSpec,
        exclude: FrameExclude,
        scope: &Scope,
        position: Option<u32>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Expr> {
        self.in_window = Some("window function calls cannot be nested");
        let mut bound = args
            .iter()
            .map(|a| self.bind_expr(a, scope, AggContext::Allowed))
            .collect::<Result<Vec<_>>>()?;
        let no_fn = |args: &[Expr]| Error::UndefinedFunction {
            message: format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| display_name(a.ty()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            position,
        };
        let int_arg = |b: &Binder<'_>, e: Expr, all: &[Expr]| -> Result<Expr> {
            let e = b.coerce_unknown(e, SqlType::Integer)?;
            if !matches!(e.ty(), SqlType::SmallInt | SqlType::Integer) {
                return Err(no_fn(all));
            }
            b.cast(e, SqlType::Integer, false, span)
        };
        let mut agg_order = Vec::new();
        let mut separator = None;
        let mut listagg_limit = false;
        let ty = match func {
            WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank => {
                if !bound.is_empty() {
                    return Err(no_fn(&bound));
                }
                SqlType::BigInt
            }
            WindowFunc::PercentRank | WindowFunc::CumeDist => {
                if !bound.is_empty() {
                    return Err(no_fn(&bound));
                }
                SqlType::Double
            }
            WindowFunc::Ntile => {
                if bound.len() != 1 {
                    return Err(no_fn(&bound));
                }
                let all = bound.clone();
                bound = vec![int_arg(self, bound.remove(0), &all)?];
                SqlType::Integer
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                if bound.is_empty() || bound.len() > 3 {
                    return Err(no_fn(&bound));
                }
                let all = bound.clone();
                let mut it = bound.into_iter();
                let value = it.next().ok_or_else(|| no_fn(&all))?;
                let offset = it.next();
                let default = it.next();
                let mut out = match default {
                    Some(d) => self
                        .unify(vec![value, d], name, span)
                        .map_err(|_| no_fn(&all))?,
                    None => vec![self.coerce_unknown(value, SqlType::Text)?],
                };
                if let Some(o) = offset {
                    let o = int_arg(self, o, &all)?;
                    out.insert(1, o);
                }
                bound = out;
                bound[0].ty()
            }
            WindowFunc::FirstValue | WindowFunc::LastValue => {
                if bound.len() != 1 {
                    return Err(no_fn(&bound));
                }
                bound[0] = self.coerce_unknown(bound[0].clone(), SqlType::Text)?;
                bound[0].ty()
            }
            WindowFunc::NthValue => {
                if bound.len() != 2 {
                    return Err(no_fn(&bound));
                }
                let all = bound.clone();
                bound[0] = self.coerce_unknown(bound[0].clone(), SqlType::Text)?;
                bound[1] = int_arg(self, bound[1].clone(), &all)?;
                bound[0].ty()
            }
            WindowFunc::RatioToReport => {
                if bound.len() != 1 {
                    return Err(no_fn(&bound));
                }
                let a = self.coerce_unknown(bound[0].clone(), SqlType::Double)?;
                if !a.ty().is_numeric() {
                    return Err(no_fn(&bound));
                }
                bound[0] = self.cast(a, SqlType::Double, false, span)?;
                if !spec.order_by.is_empty() || spec.window_frame.is_some() {
                    return Err(Error::Windowing {
                        message: "ratio_to_report does not take ORDER BY or a frame in its window"
                            .into(),
                        position,
                    });
                }
                SqlType::Double
            }
            WindowFunc::Agg(agg) => {
                let (call, checked) =
                    self.window_aggregate(agg, name, args, bound, within, scope, position, span)?;
                func = WindowFunc::Agg(call.func);
                bound = call.arg.into_iter().collect();
                agg_order = call.order_by;
                separator = call.separator;
                listagg_limit = checked;
                call.ty
            }
        };
        self.in_window = Some("window functions are not allowed in window definitions");
        let mut partition_by = Vec::with_capacity(spec.partition_by.len());
        for p in &spec.partition_by {
            let e = self.bind_expr(p, scope, AggContext::Allowed)?;
            partition_by.push(self.coerce_unknown(e, SqlType::Text)?);
        }
        let mut order_by: Vec<SortKey> = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            let e = self.bind_expr(&o.expr, scope, AggContext::Allowed)?;
            let e = self.coerce_unknown(e, SqlType::Text)?;
            order_by.push(sort_key(e, &o.options));
        }
        let frame = self.bind_frame(spec.window_frame.as_ref(), &order_by, exclude)?;
        let call = Expr::Window(Box::new(WindowCall {
            func,
            args: bound,
            partition_by,
            order_by,
            frame,
            ty,
            agg_order,
            separator,
        }));
        if !listagg_limit {
            return Ok(call);
        }
        // Redshift's LISTAGG returns a VARCHAR(65535), as its aggregate form does.
        Ok(Expr::Function {
            func: ScalarFunc::Row(RowFunc::ListaggLimit),
            args: vec![call],
            ty: SqlType::Text,
        })
    }

    /// The aggregate `agg` (as named by `name`) of a window call, from the call's arguments
    /// (`bound` as bound in the window's scope) and its WITHIN GROUP ordering, typed as the
    /// aggregate is without OVER. Also says whether the result takes LISTAGG's length check.
    #[allow(clippy::too_many_arguments)]
    fn window_aggregate(
        &mut self,
        agg: AggFunc,
        name: &str,
        args: &[ast::Expr],
        mut bound: Vec<Expr>,
        within: &[ast::OrderByExpr],
        scope: &Scope,
        position: Option<u32>,
        span: Span,
    ) -> Result<(AggCall, bool)> {
        let no_fn = |args: &[Expr]| Error::UndefinedFunction {
            message: format!(
                "function {name}({}) does not exist",
                args.iter()
                    .map(|a| display_name(a.ty()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            position,
        };
        match agg {
            AggFunc::Median => {
                if bound.len() != 1 {
                    return Err(Error::UndefinedFunction {
                        message: format!(
                            "function median with {} arguments does not exist",
                            bound.len()
                        ),
                        position,
                    });
                }
                Ok((self.median_call(bound.remove(0), position)?, false))
            }
            AggFunc::PercentileCont { .. } | AggFunc::PercentileDisc { .. } => {
                let ([fraction], [order]) = (args, within) else {
                    return Err(Error::UndefinedFunction {
                        message: format!(
                            "function {name} needs one fraction and WITHIN GROUP (ORDER BY one \
                             expression)"
                        ),
                        position,
                    });
                };
                let x = self.bind_expr(&order.expr, scope, AggContext::Allowed)?;
                Ok((
                    self.percentile_call(name, fraction, x, order, position, span)?,
                    false,
                ))
            }
            AggFunc::ArrayAgg | AggFunc::StringAgg => {
                let sep = match (name, args) {
                    ("array_agg", [_]) | ("listagg", [_]) => None,
                    ("string_agg", [_, s]) | ("listagg", [_, s]) => Some(s),
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
                let mut order_by = Vec::with_capacity(within.len());
                for o in within {
                    let e = self.bind_expr(&o.expr, scope, AggContext::Allowed)?;
                    let e = self.coerce_unknown(e, SqlType::Text)?;
                    order_by.push(sort_key(e, &o.options));
                }
                let x = bound.remove(0);
                match self.collecting_call(name, x, sep, order_by, false, scope, position, span)? {
                    Expr::Aggregate(call) => Ok((*call, false)),
                    Expr::Function { mut args, .. } => match args.pop() {
                        Some(Expr::Aggregate(call)) => Ok((*call, true)),
                        _ => Err(Error::Internal("listagg binding".into())),
                    },
                    _ => Err(Error::Internal("aggregate binding".into())),
                }
            }
            _ => {
                let arg = match (agg, bound.len()) {
                    (AggFunc::CountStar, 0) => None,
                    (AggFunc::CountStar, _) => return Err(no_fn(&bound)),
                    (_, 1) => Some(bound.remove(0)),
                    _ => return Err(no_fn(&bound)),
                };
                match self.aggregate(agg, arg, false, name, position)? {
                    Expr::Aggregate(call) => Ok((*call, false)),
                    _ => Err(Error::Internal("aggregate binding".into())),
                }
            }
        }
    }

    /// The window `over` names or spells, with a named window's clauses copied in as
    /// PostgreSQL allows (its PARTITION BY, its ORDER BY unless the reference adds one).
    /// With the window, where its frame was written: the text after `written_after` (the
    /// end of the call's name), or after the name of the WINDOW clause entry that gives it.
    fn resolve_window(
        &self,
        over: &ast::WindowType,
        written_after: Location,
    ) -> Result<(ast::WindowSpec, Location)> {
        match over {
            ast::WindowType::NamedWindow(id) => self.named_window(id, 0),
            ast::WindowType::WindowSpec(spec) => {
                let Some(base_name) = &spec.window_name else {
                    return Ok((spec.clone(), written_after));
                };
                let (base, _) = self.named_window(base_name, 0)?;
                let shown = normalize_ident(base_name);
                let position = self.position(base_name.span);
                if !spec.partition_by.is_empty() {
                    return Err(Error::Windowing {
                        message: format!(
                            "cannot override PARTITION BY clause of window \"{shown}\""
                        ),
                        position,
                    });
                }
                if !spec.order_by.is_empty() && !base.order_by.is_empty() {
                    return Err(Error::Windowing {
                        message: format!("cannot override ORDER BY clause of window \"{shown}\""),
                        position,
                    });
                }
                if base.window_frame.is_some() {
                    return Err(Error::Windowing {
                        message: format!(
                            "cannot copy window \"{shown}\" because it has a frame clause"
                        ),
                        position,
                    });
                }
                Ok((
                    ast::WindowSpec {
                        window_name: None,
                        partition_by: base.partition_by,
                        order_by: if spec.order_by.is_empty() {
                            base.order_by
                        } else {
                            spec.order_by.clone()
                        },
                        window_frame: spec.window_frame.clone(),
                    },
                    written_after,
                ))
            }
        }
    }

    /// The definition of a window named in the query's WINDOW clause.
    fn named_window(&self, id: &ast::Ident, depth: usize) -> Result<(ast::WindowSpec, Location)> {
        let name = normalize_ident(id);
        let found = self
            .named_windows
            .iter()
            .rev()
            .find(|(n, _, _)| *n == name)
            .map(|(_, w, at)| (w.clone(), *at));
        match found {
            // A window defined as another (BigQuery's form); bounded against cycles.
            Some((ast::NamedWindowExpr::NamedWindow(other), _)) if depth < 16 => {
                self.named_window(&other, depth + 1)
            }
            Some((ast::NamedWindowExpr::WindowSpec(spec), at)) => match &spec.window_name {
                Some(_) => self.resolve_window(&ast::WindowType::WindowSpec(spec), at),
                None => Ok((spec, at)),
            },
            _ => Err(Error::UndefinedWindow {
                name,
                position: self.position(id.span),
            }),
        }
    }

    fn bind_frame(
        &mut self,
        frame: Option<&ast::WindowFrame>,
        order_by: &[SortKey],
        exclude: FrameExclude,
    ) -> Result<WindowFrame> {
        let Some(frame) = frame else {
            return Ok(WindowFrame::default_frame());
        };
        let units = match frame.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        if units == FrameUnits::Groups && order_by.is_empty() {
            return Err(Error::Windowing {
                message: "GROUPS mode requires an ORDER BY clause".into(),
                position: None,
            });
        }
        let position = None;
        let windowing = |message: &str| Error::Windowing {
            message: message.into(),
            position,
        };
        let (start, range_start) =
            self.bind_bound(&frame.start_bound, units, order_by, "starting")?;
        let (end, range_end) = match &frame.end_bound {
            Some(b) => self.bind_bound(b, units, order_by, "ending")?,
            None => (FrameBound::CurrentRow, None),
        };
        match (&start, &end) {
            (FrameBound::UnboundedFollowing, _) => {
                return Err(windowing("frame start cannot be UNBOUNDED FOLLOWING"))
            }
            (_, FrameBound::UnboundedPreceding) => {
                return Err(windowing("frame end cannot be UNBOUNDED PRECEDING"))
            }
            (FrameBound::CurrentRow, FrameBound::Preceding(_)) => {
                return Err(windowing(
                    "frame starting from current row cannot have preceding rows",
                ))
            }
            (FrameBound::Following(_), FrameBound::Preceding(_) | FrameBound::CurrentRow) => {
                return Err(windowing(
                    "frame starting from following row cannot have preceding rows",
                ))
            }
            _ => {}
        }
        Ok(WindowFrame {
            units,
            start,
            end,
            range_start,
            range_end,
            exclude,
        })
    }

    fn bind_bound(
        &mut self,
        bound: &ast::WindowFrameBound,
        units: FrameUnits,
        order_by: &[SortKey],
        which: &str,
    ) -> Result<(FrameBound, Option<RangeBound>)> {
        let (offset, preceding) = match bound {
            ast::WindowFrameBound::CurrentRow => return Ok((FrameBound::CurrentRow, None)),
            ast::WindowFrameBound::Preceding(None) => {
                return Ok((FrameBound::UnboundedPreceding, None))
            }
            ast::WindowFrameBound::Following(None) => {
                return Ok((FrameBound::UnboundedFollowing, None))
            }
            ast::WindowFrameBound::Preceding(Some(e)) => (e, true),
            ast::WindowFrameBound::Following(Some(e)) => (e, false),
        };
        if units == FrameUnits::Range {
            let [key] = order_by else {
                return Err(Error::Windowing {
                    message:
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column"
                            .into(),
                    position: self.position(offset.span()),
                });
            };
            return self.bind_range_offset(offset, key, preceding, which);
        }
        let e = self.bind_expr(
            offset,
            &Scope::default(),
            AggContext::Forbidden("window definition"),
        )?;
        let e = self.coerce_unknown(e, SqlType::BigInt)?;
        // A fractional count rounds to a whole one, as in PostgreSQL.
        if !e.ty().is_numeric() {
            let unit = if units == FrameUnits::Rows {
                "ROWS"
            } else {
                "GROUPS"
            };
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "argument of {unit} must be type bigint, not type {}",
                    display_name(e.ty())
                ),
                position: self.position(offset.span()),
            });
        }
        let e = self.cast(e, SqlType::BigInt, true, offset.span())?;
        let n = match e {
            Expr::Literal {
                value: Datum::Int(n),
                ..
            } => n,
            Expr::Literal {
                value: Datum::Null, ..
            } => {
                return Err(Error::NullFrameOffset {
                    message: format!("frame {which} offset must not be null"),
                })
            }
            _ => {
                return Err(Error::Unsupported {
                    message: "a window frame offset must be a constant".into(),
                })
            }
        };
        if n < 0 {
            return Err(Error::InvalidFrameOffset {
                message: format!("frame {which} offset must not be negative"),
            });
        }
        Ok((
            if preceding {
                FrameBound::Preceding(Datum::Int(n))
            } else {
                FrameBound::Following(Datum::Int(n))
            },
            None,
        ))
    }

    /// A RANGE offset over the ORDER BY key `key`: the offset's type must suit the key's, as
    /// PostgreSQL's `in_range` functions have them (integers with integers, NUMERIC with
    /// NUMERIC, floats with DOUBLE PRECISION, dates and timestamps with INTERVAL), and it must
    /// be a constant that is neither NULL nor negative.
    fn bind_range_offset(
        &mut self,
        offset: &ast::Expr,
        key: &SortKey,
        preceding: bool,
        which: &str,
    ) -> Result<(FrameBound, Option<RangeBound>)> {
        let span = offset.span();
        let e = match quoted_offset(self.sql, offset) {
            Some(text) => Expr::Literal {
                value: Datum::Text(text),
                ty: SqlType::Text,
                unknown: true,
                param: None,
            },
            None => self.bind_expr(
                offset,
                &Scope::default(),
                AggContext::Forbidden("window definition"),
            )?,
        };
        let key_ty = key.expr.ty();
        // An untyped offset takes the type the key's offsets have.
        let e = match key_ty {
            SqlType::Date
            | SqlType::Time
            | SqlType::Timestamp
            | SqlType::Timestamptz
            | SqlType::Interval => self.coerce_unknown(e, SqlType::Interval)?,
            _ => self.coerce_unknown(e, key_ty)?,
        };
        let integer =
            |t: SqlType| matches!(t, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt);
        // The type the key and its bound compare in.
        let wide = match (key_ty, e.ty()) {
            (k, o) if integer(k) && integer(o) => Some(crate::types::numeric(0)),
            (SqlType::Decimal { .. }, o) if integer(o) || matches!(o, SqlType::Decimal { .. }) => {
                Some(key_ty)
            }
            (SqlType::Real | SqlType::Double, o) if o.is_numeric() => Some(SqlType::Double),
            (
                SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp
                | SqlType::Timestamptz
                | SqlType::Interval,
                SqlType::Interval,
            ) => Some(key_ty),
            _ => None,
        };
        let Some(wide) = wide else {
            let offsets_exist = key_ty.is_numeric()
                || matches!(
                    key_ty,
                    SqlType::Date
                        | SqlType::Time
                        | SqlType::Timestamp
                        | SqlType::Timestamptz
                        | SqlType::Interval
                );
            if !offsets_exist {
                return Err(Error::Unsupported {
                    message: format!(
                        "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                        display_name(key_ty)
                    ),
                });
            }
            return Err(Error::Unsupported {
                message: format!(
                    "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                    display_name(key_ty),
                    display_name(e.ty())
                ),
            });
        };
        let value = match &e {
            Expr::Literal { value, .. } => value.clone(),
            _ => {
                return Err(Error::Unsupported {
                    message: "a window frame offset must be a constant".into(),
                })
            }
        };
        if matches!(value, Datum::Null) {
            return Err(Error::NullFrameOffset {
                message: format!("frame {which} offset must not be null"),
            });
        }
        let negative = match &value {
            // TIME's offsets use the interval's time of day only (PostgreSQL's
            // in_range_time_interval).
            Datum::Interval(v) if key_ty == SqlType::Time => v.micros < 0,
            Datum::Int(v) => *v < 0,
            Datum::Decimal(v, _) => *v < 0,
            Datum::Float(v) => *v < 0.0,
            Datum::Interval(v) => v.span() < 0,
            _ => false,
        };
        if negative {
            return Err(Error::InvalidFrameOffset {
                message: "invalid preceding or following size in window function".into(),
            });
        }
        if let (SqlType::Time, Datum::Interval(v)) = (key_ty, &value) {
            return self.time_range_offset(key, v.micros, preceding, value.clone(), span);
        }
        // The offset's own type where it is exact (an INTERVAL, a NUMERIC or an integer
        // next to a NUMERIC key), the comparison type otherwise.
        let offset_ty = match (key_ty, e.ty()) {
            (_, SqlType::Interval) => SqlType::Interval,
            (SqlType::Decimal { .. }, o) if integer(o) => crate::types::numeric(0),
            (SqlType::Decimal { .. }, o) => o,
            _ => wide,
        };
        let off = self.cast(e, offset_ty, false, span)?;
        let column = Expr::Column {
            index: 0,
            ty: key_ty,
        };
        let base = if wide == key_ty {
            column.clone()
        } else {
            self.cast(column.clone(), wide, false, span)?
        };
        self.offset_bound(column, base, off, key.descending, preceding, value, span)
    }

    /// The frame bound `value PRECEDING | FOLLOWING` as the bound `base ∓ offset` (PRECEDING
    /// moves against the ORDER BY direction, FOLLOWING with it), against which the key,
    /// read as `key`, compares in the bound's type.
    #[allow(clippy::too_many_arguments)]
    fn offset_bound(
        &mut self,
        key: Expr,
        base: Expr,
        offset: Expr,
        descending: bool,
        preceding: bool,
        value: Datum,
        span: Span,
    ) -> Result<(FrameBound, Option<RangeBound>)> {
        let op = if preceding != descending {
            BinaryOp::Sub
        } else {
            BinaryOp::Add
        };
        let bound = self.binary(op, base, offset, span)?;
        let key = if bound.ty() == key.ty() {
            key
        } else {
            self.cast(key, bound.ty(), false, span)?
        };
        let frame = if preceding {
            FrameBound::Preceding(value)
        } else {
            FrameBound::Following(value)
        };
        Ok((frame, Some(RangeBound { key, bound })))
    }
}

impl Binder<'_> {
    /// A RANGE offset over a TIME key: as PostgreSQL's in_range_time_interval, the bound is
    /// the key moved by the offset's time of day (its months and days ignored), without
    /// wrapping around midnight, so a frame never reaches past 00:00 or 24:00. Key and bound
    /// compare as seconds since midnight, `extract(epoch from key)`, exact to the
    /// microsecond.
    fn time_range_offset(
        &mut self,
        key: &SortKey,
        micros: i64,
        preceding: bool,
        value: Datum,
        span: Span,
    ) -> Result<(FrameBound, Option<RangeBound>)> {
        let column = Expr::Column {
            index: 0,
            ty: SqlType::Time,
        };
        let seconds = self.extract("epoch", column, span)?;
        let offset = Expr::literal(
            Datum::Decimal(i128::from(micros), 6),
            crate::types::numeric(6),
        );
        self.offset_bound(
            seconds.clone(),
            seconds,
            offset,
            key.descending,
            preceding,
            value,
            span,
        )
    }
}

/// A frame offset written as a bare quoted constant (`'1 day' PRECEDING`), which sqlparser
/// reads as an INTERVAL just as `INTERVAL '1 day'`: in PostgreSQL it is an untyped literal
/// that takes the ORDER BY key's offset type. `sql` is the statement's text.
fn quoted_offset(sql: &str, offset: &ast::Expr) -> Option<String> {
    let ast::Expr::Interval(iv) = offset else {
        return None;
    };
    // Told apart from `INTERVAL '...'` by the word before the quote.
    let at = crate::planner::bind::span_position(sql, iv.value.span())?;
    let before: String = sql.chars().take((at as usize).saturating_sub(1)).collect();
    let word: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if word.eq_ignore_ascii_case("lavretni") {
        return None;
    }
    if iv.leading_field.is_some()
        || iv.last_field.is_some()
        || iv.leading_precision.is_some()
        || iv.fractional_seconds_precision.is_some()
    {
        return None;
    }
    match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

impl Binder<'_> {
    /// Binds QUALIFY (Redshift, Snowflake): a boolean over the input, aggregates and window
    /// calls, which may also name the select list's aliases (a FROM column of the same name
    /// wins, as in GROUP BY).
    pub(crate) fn bind_qualify(
        &mut self,
        q: &ast::Expr,
        scope: &Scope,
        projection: &[ast::SelectItem],
    ) -> Result<Expr> {
        let aliases: Vec<(String, &ast::Expr)> = projection
            .iter()
            .filter_map(|i| match i {
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    Some((normalize_ident(alias), expr))
                }
                _ => None,
            })
            .collect();
        let q = substitute_aliases(q, &aliases, scope);
        let b = self.bind_expr(&q, scope, AggContext::Allowed)?;
        let b = self.coerce_unknown(b, SqlType::Boolean)?;
        if b.ty() != SqlType::Boolean {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "argument of QUALIFY must be type boolean, not type {}",
                    display_name(b.ty())
                ),
                position: self.position(q.span()),
            });
        }
        Ok(b)
    }
}

/// `e` with every bare name that is not an input column but is a select-list alias replaced
/// by the aliased expression.
fn substitute_aliases(e: &ast::Expr, aliases: &[(String, &ast::Expr)], scope: &Scope) -> ast::Expr {
    let sub = |x: &ast::Expr| Box::new(substitute_aliases(x, aliases, scope));
    match e {
        ast::Expr::Identifier(id) => {
            let name = normalize_ident(id);
            if scope.has_name(&name) {
                return e.clone();
            }
            match aliases.iter().find(|(a, _)| *a == name) {
                Some((_, x)) => ast::Expr::Nested(Box::new((*x).clone())),
                None => e.clone(),
            }
        }
        ast::Expr::BinaryOp { left, op, right } => ast::Expr::BinaryOp {
            left: sub(left),
            op: op.clone(),
            right: sub(right),
        },
        ast::Expr::UnaryOp { op, expr } => ast::Expr::UnaryOp {
            op: *op,
            expr: sub(expr),
        },
        ast::Expr::Nested(x) => ast::Expr::Nested(sub(x)),
        ast::Expr::IsNull(x) => ast::Expr::IsNull(sub(x)),
        ast::Expr::IsNotNull(x) => ast::Expr::IsNotNull(sub(x)),
        ast::Expr::Between {
            expr,
            negated,
            low,
            high,
        } => ast::Expr::Between {
            expr: sub(expr),
            negated: *negated,
            low: sub(low),
            high: sub(high),
        },
        other => other.clone(),
    }
}

//! Bound expressions: names resolved to column positions, every node typed.

use basalt_storage::SqlType;

use crate::kernels::datetime::DateField;
use crate::kernels::func::RowFunc;
use crate::planner::plan::SortKey;
use crate::types::Datum;

/// A binary operator after binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Concat,
    /// The bitwise operators of the integer types: `&`, `|`, `#` (exclusive or), `<<` and
    /// `>>` (shifts by an `integer` count).
    BitAnd,
    BitOr,
    BitXor,
    ShiftLeft,
    ShiftRight,
}

impl BinaryOp {
    /// True for `&`, `|`, `#`, `<<` and `>>`.
    pub fn is_bitwise(self) -> bool {
        matches!(
            self,
            BinaryOp::BitAnd
                | BinaryOp::BitOr
                | BinaryOp::BitXor
                | BinaryOp::ShiftLeft
                | BinaryOp::ShiftRight
        )
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    /// The operator as SQL spells it, for error messages.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Concat => "||",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "#",
            BinaryOp::ShiftLeft => "<<",
            BinaryOp::ShiftRight => ">>",
        }
    }
}

/// Scalar functions the executor evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarFunc {
    Abs,
    Length,
    Upper,
    Lower,
    Round,
    Version,
    /// `values LIKE pattern`; the pattern is in backslash-escape form.
    Like,
    /// `values ILIKE pattern`.
    ILike,
    /// `substring(text, start [, count])`.
    Substring,
    /// `EXTRACT(field FROM value)`, NUMERIC.
    Extract(DateField),
    /// A row-wise text, regular-expression or floating-point function.
    Row(RowFunc),
    /// ceil, floor, trunc, round or sign of a NUMERIC, exactly, to the result type's scale;
    /// the count (from a negative digits argument, `round(x, -2)`) is how many integer digits
    /// are zeroed on top, rounding to a multiple of 10^count.
    DecimalRound(RoundMode, u8),
    /// gcd, lcm, div, factorial or NUMERIC width_bucket (`kernels::exact`).
    Exact(crate::kernels::exact::ExactFunc),
    /// The largest / smallest non-NULL argument.
    Greatest,
    Least,
    /// A pseudo-random double in [0, 1), different for every row.
    Random,
    /// `clock_timestamp()`: the time when the row is computed (TIMESTAMPTZ).
    ClockTimestamp,
    /// `pg_sleep(seconds)`: waits, interruptibly, in the session registered under the key
    /// (see `crate::interrupt`); returns an empty text, as PostgreSQL's void prints.
    Sleep(u64),
    /// A date or timestamp function or operator (`kernels::dates`).
    Date(crate::kernels::dates::DateFunc),
    /// An INTERVAL or TIME function or operator (`kernels::interval`).
    Interval(crate::kernels::interval::IntervalFunc),
    /// AT TIME ZONE or CONVERT_TIMEZONE (`kernels::zones`).
    Zone(crate::kernels::zones::ZoneFunc),
    /// An array constructor, comparison or function (`kernels::array`).
    Array(crate::kernels::array::ArrayFunc),
    /// `~x`, the bitwise complement of an integer.
    BitNot,
    /// `GROUPING(args)`; only present while binding, replaced by arithmetic on the grouping
    /// id when the aggregate is planned.
    Grouping,
}

/// How [`ScalarFunc::DecimalRound`] rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoundMode {
    Ceil,
    Floor,
    Trunc,
    /// Half away from zero, as PostgreSQL's round(numeric).
    Round,
    Sign,
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// Sample and population variance and standard deviation.
    VarSamp,
    VarPop,
    StddevSamp,
    StddevPop,
    BoolAnd,
    BoolOr,
    /// `percentile_cont(f) WITHIN GROUP (ORDER BY x)`: `f` as f64 bits; `descending` is the
    /// ORDER BY's direction. The argument is DOUBLE PRECISION, as in PostgreSQL.
    PercentileCont {
        fraction: u64,
        descending: bool,
    },
    /// `percentile_disc(f) WITHIN GROUP (ORDER BY x)`: the first value whose position in the
    /// order reaches the fraction `f` (f64 bits).
    PercentileDisc {
        fraction: u64,
        descending: bool,
    },
    /// Redshift's `median(x)`: percentile_cont(0.5) in the argument's own kind of number (an
    /// exact NUMERIC one digit finer for integers and NUMERIC).
    Median,
    /// `array_agg(x [ORDER BY ...])`: the values, NULLs included, in order.
    ArrayAgg,
    /// `string_agg(x, sep [ORDER BY ...])`, and Redshift's `listagg(x [, sep]) [WITHIN GROUP
    /// (ORDER BY ...)]`: the non-NULL values joined by the call's separator.
    StringAgg,
    /// Redshift's `APPROXIMATE COUNT(DISTINCT x)`: the distinct non-NULL values estimated by a
    /// HyperLogLog sketch per group (`basalt_storage::hll`), exact up to 1,024 values.
    ApproxCountDistinct,
}

/// One aggregate call: its function, argument and result type.
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub distinct: bool,
    pub ty: SqlType,
    /// The order an order-sensitive aggregate (`array_agg`, `string_agg`) takes its values in;
    /// empty for input order.
    pub order_by: Vec<crate::planner::plan::SortKey>,
    /// `string_agg`'s separator.
    pub separator: Option<String>,
}

impl AggCall {
    /// A call without ORDER BY or separator.
    pub fn new(func: AggFunc, arg: Option<Expr>, distinct: bool, ty: SqlType) -> AggCall {
        AggCall {
            func,
            arg,
            distinct,
            ty,
            order_by: Vec::new(),
            separator: None,
        }
    }

    /// Every expression the call evaluates: its argument, then its ORDER BY keys.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.arg.iter().chain(self.order_by.iter().map(|k| &k.expr))
    }
}

/// Window functions: the ranking and value functions, and the aggregates used with OVER.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `ntile(buckets)`.
    Ntile,
    /// `lag(value [, offset [, default]])`.
    Lag,
    /// `lead(value [, offset [, default]])`.
    Lead,
    FirstValue,
    LastValue,
    /// `nth_value(value, n)`.
    NthValue,
    /// Redshift's `ratio_to_report(value)`: the value over its partition's sum.
    RatioToReport,
    /// An aggregate over the window frame.
    Agg(AggFunc),
}

impl WindowFunc {
    /// The function's name, for EXPLAIN and messages.
    pub fn name(self) -> &'static str {
        match self {
            WindowFunc::RowNumber => "row_number",
            WindowFunc::Rank => "rank",
            WindowFunc::DenseRank => "dense_rank",
            WindowFunc::PercentRank => "percent_rank",
            WindowFunc::CumeDist => "cume_dist",
            WindowFunc::Ntile => "ntile",
            WindowFunc::Lag => "lag",
            WindowFunc::Lead => "lead",
            WindowFunc::FirstValue => "first_value",
            WindowFunc::LastValue => "last_value",
            WindowFunc::NthValue => "nth_value",
            WindowFunc::RatioToReport => "ratio_to_report",
            WindowFunc::Agg(AggFunc::CountStar | AggFunc::Count | AggFunc::ApproxCountDistinct) => {
                "count"
            }
            WindowFunc::Agg(AggFunc::Sum) => "sum",
            WindowFunc::Agg(AggFunc::Avg) => "avg",
            WindowFunc::Agg(AggFunc::Min) => "min",
            WindowFunc::Agg(AggFunc::Max) => "max",
            WindowFunc::Agg(AggFunc::VarSamp) => "var_samp",
            WindowFunc::Agg(AggFunc::VarPop) => "var_pop",
            WindowFunc::Agg(AggFunc::StddevSamp) => "stddev_samp",
            WindowFunc::Agg(AggFunc::StddevPop) => "stddev_pop",
            WindowFunc::Agg(AggFunc::BoolAnd) => "bool_and",
            WindowFunc::Agg(AggFunc::BoolOr) => "bool_or",
            WindowFunc::Agg(AggFunc::PercentileCont { .. }) => "percentile_cont",
            WindowFunc::Agg(AggFunc::PercentileDisc { .. }) => "percentile_disc",
            WindowFunc::Agg(AggFunc::Median) => "median",
            WindowFunc::Agg(AggFunc::ArrayAgg) => "array_agg",
            WindowFunc::Agg(AggFunc::StringAgg) => "string_agg",
        }
    }
}

/// How a window frame's bounds count: in rows, in values of the ORDER BY key (peers), or in
/// peer groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameUnits {
    Rows,
    Range,
    Groups,
}

/// A RANGE bound with an offset: both expressions read the window's one ORDER BY key as
/// column 0. The frame of a row whose key is not NULL reaches the rows whose `key` lies
/// between the row's `bound` and the row itself, in the ORDER BY direction; `bound` is the
/// key plus or minus the offset, computed in a type wide enough not to overflow, and `key`
/// is the key converted to that type.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeBound {
    pub key: Expr,
    pub bound: Expr,
}

/// One end of a window frame. Offsets are non-negative constants, checked by the binder:
/// a row count for ROWS, a value of the ORDER BY key's type for RANGE.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(Datum),
    CurrentRow,
    Following(Datum),
    UnboundedFollowing,
}

/// A window frame: which rows of the partition an aggregate or value function sees.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowFrame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
    /// For RANGE offsets: how the start and the end bound are found.
    pub range_start: Option<RangeBound>,
    pub range_end: Option<RangeBound>,
    /// The rows around the current one that the frame leaves out (`EXCLUDE ...`).
    pub exclude: FrameExclude,
}

/// A frame's `EXCLUDE` clause (PostgreSQL 11): which of the current row and its peers are
/// taken out of the frame, wherever its bounds put them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FrameExclude {
    /// `EXCLUDE NO OTHERS`, the default: nothing is left out.
    #[default]
    NoOthers,
    /// `EXCLUDE CURRENT ROW`.
    CurrentRow,
    /// `EXCLUDE GROUP`: the current row and its peers.
    Group,
    /// `EXCLUDE TIES`: the current row's peers, but not the row itself.
    Ties,
}

impl WindowFrame {
    /// PostgreSQL's default frame: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (the
    /// whole partition when there is no ORDER BY, since every row is then a peer).
    pub fn default_frame() -> WindowFrame {
        WindowFrame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            range_start: None,
            range_end: None,
            exclude: FrameExclude::NoOthers,
        }
    }
}

/// One window function call: its function, arguments, window and result type. The
/// expressions are over the window operator's input.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    pub func: WindowFunc,
    pub args: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub frame: WindowFrame,
    pub ty: SqlType,
    /// The order an aggregate takes its frame's values in, when the call gives one (LISTAGG's
    /// `WITHIN GROUP (ORDER BY ...)`); empty for the window's order.
    pub agg_order: Vec<SortKey>,
    /// STRING_AGG's and LISTAGG's separator.
    pub separator: Option<String>,
}

impl WindowCall {
    /// Calls the expressions inside the call (arguments, partition and order keys).
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.args
            .iter()
            .chain(self.partition_by.iter())
            .chain(self.order_by.iter().map(|k| &k.expr))
            .chain(self.agg_order.iter().map(|k| &k.expr))
    }

    /// Rebuilds the call with every inner expression passed through `f`.
    pub fn map_exprs(&self, f: &mut impl FnMut(&Expr) -> Expr) -> WindowCall {
        WindowCall {
            func: self.func,
            args: self.args.iter().map(&mut *f).collect(),
            partition_by: self.partition_by.iter().map(&mut *f).collect(),
            order_by: self
                .order_by
                .iter()
                .map(|k| SortKey {
                    expr: f(&k.expr),
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                })
                .collect(),
            frame: self.frame.clone(),
            ty: self.ty,
            agg_order: self
                .agg_order
                .iter()
                .map(|k| SortKey {
                    expr: f(&k.expr),
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                })
                .collect(),
            separator: self.separator.clone(),
        }
    }

    /// True if `other` can be computed by the same window operator (same partitioning and
    /// ordering).
    pub fn same_window(&self, other: &WindowCall) -> bool {
        self.partition_by == other.partition_by && self.order_by == other.order_by
    }
}

/// A bound, typed expression over the columns of its input.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The input's column `index`.
    Column {
        index: usize,
        ty: SqlType,
    },
    /// A constant. `unknown` marks an untyped string or NULL literal whose type comes from
    /// context, as PostgreSQL's `unknown` pseudo-type. `param` is `n` for the value of `$n`.
    Literal {
        value: Datum,
        ty: SqlType,
        unknown: bool,
        param: Option<usize>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        ty: SqlType,
    },
    Not(Box<Expr>),
    Negate(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Cast {
        expr: Box<Expr>,
        to: SqlType,
        /// Explicit casts truncate strings to CHAR(n)/VARCHAR(n); assignments error instead.
        explicit: bool,
    },
    /// Searched CASE; branches are evaluated only on the rows that reach them.
    Case {
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
        ty: SqlType,
    },
    Function {
        func: ScalarFunc,
        args: Vec<Expr>,
        ty: SqlType,
    },
    /// An aggregate call; only present while binding, replaced by a column of the aggregate
    /// operator's output before the plan is built.
    Aggregate(Box<AggCall>),
    /// A window function call; only present while binding, replaced by a column of the
    /// window operator's output before the plan is built.
    Window(Box<WindowCall>),
}

impl Expr {
    pub fn ty(&self) -> SqlType {
        match self {
            Expr::Column { ty, .. }
            | Expr::Literal { ty, .. }
            | Expr::Binary { ty, .. }
            | Expr::Case { ty, .. }
            | Expr::Function { ty, .. } => *ty,
            Expr::Not(_) | Expr::IsNull { .. } => SqlType::Boolean,
            Expr::Negate(e) => e.ty(),
            Expr::Cast { to, .. } => *to,
            Expr::Aggregate(a) => a.ty,
            Expr::Window(w) => w.ty,
        }
    }

    pub fn literal(value: Datum, ty: SqlType) -> Expr {
        Expr::Literal {
            value,
            ty,
            unknown: false,
            param: None,
        }
    }

    /// True if the expression reads no column (it can be folded to a constant).
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.visit(&mut |e| {
            if matches!(
                e,
                Expr::Column { .. }
                    | Expr::Aggregate(_)
                    | Expr::Window(_)
                    | Expr::Function {
                        func: ScalarFunc::Random
                            | ScalarFunc::ClockTimestamp
                            | ScalarFunc::Sleep(_)
                            | ScalarFunc::Grouping,
                        ..
                    }
            ) {
                constant = false;
            }
        });
        constant
    }

    /// Calls `f` on this node and every node below it.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column { .. } | Expr::Literal { .. } => {}
            Expr::Binary { left, right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            Expr::Not(e) | Expr::Negate(e) => e.visit(f),
            Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => expr.visit(f),
            Expr::Case {
                whens, otherwise, ..
            } => {
                for (w, t) in whens {
                    w.visit(f);
                    t.visit(f);
                }
                if let Some(o) = otherwise {
                    o.visit(f);
                }
            }
            Expr::Function { args, .. } => args.iter().for_each(|a| a.visit(f)),
            Expr::Aggregate(a) => a.exprs().for_each(|e| e.visit(f)),
            Expr::Window(w) => w.exprs().for_each(|e| e.visit(f)),
        }
    }

    /// True for a predicate built only from columns, constants, comparisons, AND / OR / NOT,
    /// IS NULL, LIKE, implicit casts and casts of strings to TEXT: evaluating it on more rows
    /// than the query asks for
    /// cannot raise an error or change its result.
    pub fn is_safe_to_repeat(&self) -> bool {
        let mut safe = true;
        self.visit(&mut |n| {
            let ok = match n {
                Expr::Column { .. } | Expr::Literal { .. } | Expr::Not(_) | Expr::IsNull { .. } => {
                    true
                }
                Expr::Binary { op, .. } => {
                    op.is_comparison()
                        || matches!(op, BinaryOp::And | BinaryOp::Or)
                        || n.is_constant()
                }
                // A string to TEXT cannot fail (LIKE's operands on VARCHAR columns).
                Expr::Cast { expr, to, explicit } => {
                    !explicit || n.is_constant() || (expr.ty().is_string() && *to == SqlType::Text)
                }
                Expr::Function {
                    func: ScalarFunc::Like | ScalarFunc::ILike,
                    ..
                } => true,
                _ => n.is_constant(),
            };
            safe &= ok;
        });
        safe
    }

    /// The set of input columns this expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut cols = Vec::new();
        self.visit(&mut |e| {
            if let Expr::Column { index, .. } = e {
                if !cols.contains(index) {
                    cols.push(*index);
                }
            }
        });
        cols
    }

    /// Rebuilds the expression with every column index passed through `f`.
    pub fn map_columns(&self, f: &impl Fn(usize) -> usize) -> Expr {
        self.transform(&mut |e| match e {
            Expr::Column { index, ty } => Some(Expr::Column {
                index: f(*index),
                ty: *ty,
            }),
            _ => None,
        })
    }

    /// Rebuilds the expression bottom-up, replacing a node wherever `f` returns `Some`
    /// (children of a replaced node are not visited).
    pub fn transform(&self, f: &mut impl FnMut(&Expr) -> Option<Expr>) -> Expr {
        if let Some(e) = f(self) {
            return e;
        }
        match self {
            Expr::Column { .. } | Expr::Literal { .. } => self.clone(),
            Expr::Binary {
                op,
                left,
                right,
                ty,
            } => Expr::Binary {
                op: *op,
                left: Box::new(left.transform(f)),
                right: Box::new(right.transform(f)),
                ty: *ty,
            },
            Expr::Not(e) => Expr::Not(Box::new(e.transform(f))),
            Expr::Negate(e) => Expr::Negate(Box::new(e.transform(f))),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: Box::new(expr.transform(f)),
                negated: *negated,
            },
            Expr::Cast { expr, to, explicit } => Expr::Cast {
                expr: Box::new(expr.transform(f)),
                to: *to,
                explicit: *explicit,
            },
            Expr::Case {
                whens,
                otherwise,
                ty,
            } => Expr::Case {
                whens: whens
                    .iter()
                    .map(|(w, t)| (w.transform(f), t.transform(f)))
                    .collect(),
                otherwise: otherwise.as_ref().map(|o| Box::new(o.transform(f))),
                ty: *ty,
            },
            Expr::Function { func, args, ty } => Expr::Function {
                func: *func,
                args: args.iter().map(|a| a.transform(f)).collect(),
                ty: *ty,
            },
            Expr::Aggregate(a) => Expr::Aggregate(Box::new(AggCall {
                func: a.func,
                arg: a.arg.as_ref().map(|x| x.transform(f)),
                distinct: a.distinct,
                ty: a.ty,
                order_by: a
                    .order_by
                    .iter()
                    .map(|k| crate::planner::plan::SortKey {
                        expr: k.expr.transform(f),
                        descending: k.descending,
                        nulls_first: k.nulls_first,
                    })
                    .collect(),
                separator: a.separator.clone(),
            })),
            Expr::Window(w) => Expr::Window(Box::new(w.map_exprs(&mut |e| e.transform(f)))),
        }
    }

    /// Pushes the operands of a chain of `op` (`a AND b AND c` for `BinaryOp::And`) into
    /// `out`, left to right; anything else is one operand.
    pub fn operands_of<'e>(&'e self, op: BinaryOp, out: &mut Vec<&'e Expr>) {
        match self {
            Expr::Binary {
                op: o, left, right, ..
            } if *o == op => {
                left.operands_of(op, out);
                right.operands_of(op, out);
            }
            other => out.push(other),
        }
    }

    /// Splits a conjunction into its AND-ed parts.
    pub fn split_conjunction(self, out: &mut Vec<Expr>) {
        match self {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
                ..
            } => {
                left.split_conjunction(out);
                right.split_conjunction(out);
            }
            Expr::Binary {
                op: BinaryOp::Or, ..
            } => self.factor_disjunction(out),
            other => out.push(other),
        }
    }

    /// Pushes the parts of an OR into `out`, first taking out the conjuncts every disjunct
    /// shares: `(a AND b) OR (a AND c)` becomes `a` and `b OR c`, so a join condition repeated
    /// in every branch (TPC-H Q19) becomes a join key. Distributivity and absorption hold in
    /// SQL's three-valued logic, so the result is unchanged.
    fn factor_disjunction(self, out: &mut Vec<Expr>) {
        fn disjuncts(e: Expr, out: &mut Vec<Expr>) {
            match e {
                Expr::Binary {
                    op: BinaryOp::Or,
                    left,
                    right,
                    ..
                } => {
                    disjuncts(*left, out);
                    disjuncts(*right, out);
                }
                other => out.push(other),
            }
        }
        let mut branches = Vec::new();
        disjuncts(self.clone(), &mut branches);
        let lists: Vec<Vec<Expr>> = branches
            .into_iter()
            .map(|b| {
                let mut parts = Vec::new();
                b.split_conjunction(&mut parts);
                parts
            })
            .collect();
        let Some((first, rest)) = lists.split_first() else {
            out.push(self);
            return;
        };
        let mut common: Vec<Expr> = Vec::new();
        for c in first {
            if !common.contains(c) && rest.iter().all(|l| l.contains(c)) {
                common.push(c.clone());
            }
        }
        if common.is_empty() {
            out.push(self);
            return;
        }
        let mut remainders = Vec::with_capacity(lists.len());
        for l in lists {
            let left: Vec<Expr> = l.into_iter().filter(|c| !common.contains(c)).collect();
            match Expr::conjunction(left) {
                Some(r) => remainders.push(r),
                // A branch that is only the common part makes the OR of the rest true.
                None => {
                    out.extend(common);
                    return;
                }
            }
        }
        out.extend(common);
        if let Some(or) = remainders.into_iter().reduce(|a, b| Expr::Binary {
            op: BinaryOp::Or,
            left: Box::new(a),
            right: Box::new(b),
            ty: SqlType::Boolean,
        }) {
            out.push(or);
        }
    }

    /// AND-s expressions together (`None` for an empty list).
    pub fn conjunction(parts: Vec<Expr>) -> Option<Expr> {
        parts.into_iter().reduce(|a, b| Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(a),
            right: Box::new(b),
            ty: SqlType::Boolean,
        })
    }
}

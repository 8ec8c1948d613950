//! Binding of the built-in scalar functions beyond the core few in `bind`: string and
//! regular-expression functions, math, and the conditional functions of PostgreSQL and Redshift.

use basalt_storage::SqlType;
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::kernels::exact::ExactFunc;
use crate::kernels::func::{RowFunc, RowOutput};
use crate::planner::bind::{fold, Binder};
use crate::planner::expr::{BinaryOp, Expr, RoundMode, ScalarFunc};
use crate::types::{numeric, numeric_rank, Datum, NUMERIC_DIVISION_SCALE};

/// The type a row-wise function argument is converted to.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Float,
}

impl Binder<'_> {
    /// Binds the function `name` over `args`. `Ok(Err(args))` hands the arguments back when no
    /// such function (or no such signature) exists, for the caller's "does not exist" error.
    pub(crate) fn builtin_function(
        &self,
        name: &str,
        args: Vec<Expr>,
        position: Option<u32>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        use Kind::*;
        let args = match self.date_function(name, args, span)? {
            Ok(e) => return Ok(Ok(e)),
            Err(args) => args,
        };
        let args = match self.array_function(name, args, span)? {
            Ok(e) => return Ok(Ok(e)),
            Err(args) => args,
        };
        if name == "json_build_object" {
            return self.json_build_object(args, span).map(Ok);
        }
        let n = args.len();
        let row = |f: RowFunc, kinds: &[Kind]| (f, kinds.to_vec());
        let text_fn = match (name, n) {
            ("octet_length", 1) => Some(row(RowFunc::OctetLength, &[Text])),
            ("strpos", 2) => Some(row(RowFunc::StrPos, &[Text, Text])),
            ("charindex", 2) | ("position", 2) => {
                // charindex(sub, s) and position(sub IN s) put the needle first.
                let mut args = args;
                args.swap(0, 1);
                return self.row_function(RowFunc::StrPos, &[Text, Text], args, span);
            }
            ("initcap", 1) => Some(row(RowFunc::Initcap, &[Text])),
            ("btrim", 1 | 2) => Some(row(RowFunc::Btrim, &[Text, Text])),
            ("ltrim", 1 | 2) => Some(row(RowFunc::Ltrim, &[Text, Text])),
            ("rtrim", 1 | 2) => Some(row(RowFunc::Rtrim, &[Text, Text])),
            ("lpad", 2 | 3) => Some(row(RowFunc::Lpad, &[Text, Int, Text])),
            ("rpad", 2 | 3) => Some(row(RowFunc::Rpad, &[Text, Int, Text])),
            ("left", 2) => Some(row(RowFunc::Left, &[Text, Int])),
            ("right", 2) => Some(row(RowFunc::Right, &[Text, Int])),
            ("replace", 3) => Some(row(RowFunc::Replace, &[Text, Text, Text])),
            ("translate", 3) => Some(row(RowFunc::Translate, &[Text, Text, Text])),
            ("split_part", 3) => Some(row(RowFunc::SplitPart, &[Text, Text, Int])),
            ("repeat", 2) => Some(row(RowFunc::Repeat, &[Text, Int])),
            ("reverse", 1) => Some(row(RowFunc::Reverse, &[Text])),
            ("md5", 1) => Some(row(RowFunc::Md5, &[Text])),
            ("chr", 1) => Some(row(RowFunc::Chr, &[Int])),
            ("pg_size_pretty", 1) => Some(row(RowFunc::SizePretty, &[Int])),
            ("ascii", 1) => Some(row(RowFunc::Ascii, &[Text])),
            ("regexp_count", 2) => Some(row(RowFunc::RegexpCount, &[Text, Text])),
            ("regexp_instr", 2) => Some(row(RowFunc::RegexpInstr, &[Text, Text])),
            ("regexp_substr", 2) => Some(row(RowFunc::RegexpSubstr, &[Text, Text])),
            ("regexp_replace", 3 | 4) => {
                Some(row(RowFunc::RegexpReplace, &[Text, Text, Text, Text]))
            }
            ("concat", n) if n >= 1 => Some((RowFunc::Concat, vec![Text; n])),
            ("similar_to_escape", 1 | 2) => Some(row(RowFunc::SimilarEscape, &[Text, Text])),
            _ => None,
        };
        if let Some((f, kinds)) = text_fn {
            return self.row_function(f, &kinds, args, span);
        }
        match (name, n) {
            ("sqrt" | "cbrt" | "exp" | "ln" | "log" | "dlog10" | "dexp" | "dlog1", 1) => {
                let f = match name {
                    "sqrt" => RowFunc::Sqrt,
                    "cbrt" => RowFunc::Cbrt,
                    "exp" | "dexp" => RowFunc::Exp,
                    "ln" | "dlog1" => RowFunc::Ln,
                    _ => RowFunc::Log10,
                };
                self.float_function(f, args, name != "cbrt", span)
            }
            ("power" | "pow", 2) => self.float_function(RowFunc::Power, args, true, span),
            (name, n)
                if crate::kernels::func::Trig::named(name).is_some_and(|t| t.arity() == n) =>
            {
                let t = crate::kernels::func::Trig::named(name)
                    .ok_or_else(|| Error::Internal("trigonometric function".into()))?;
                self.float_function(RowFunc::Trig(t), args, false, span)
            }
            ("log", 2) => {
                // log(b, x) = ln(x) / ln(b).
                let mut it = args.into_iter();
                let (b, x) = match (it.next(), it.next()) {
                    (Some(b), Some(x)) => (b, x),
                    _ => return Err(Error::Internal("log arity".into())),
                };
                let ln_x = match self.float_function(RowFunc::Ln, vec![x], false, span)? {
                    Ok(e) => e,
                    Err(a) => return Ok(Err(a)),
                };
                let ln_b = match self.float_function(RowFunc::Ln, vec![b], false, span)? {
                    Ok(e) => e,
                    Err(a) => return Ok(Err(a)),
                };
                let q = self.binary(BinaryOp::Div, ln_x, ln_b, span)?;
                Ok(Ok(self.cast(
                    q,
                    numeric(NUMERIC_DIVISION_SCALE),
                    true,
                    span,
                )?))
            }
            ("ceil" | "ceiling" | "floor" | "sign", 1) | ("trunc", 1 | 2) => {
                self.rounding(name, args, span)
            }
            ("to_char", 2) => self.to_char_number(args, span),
            ("mod", 2) => {
                let numeric_or_untyped = |a: &Expr| {
                    numeric_rank(a.ty()).is_some()
                        || matches!(a, Expr::Literal { unknown: true, .. })
                };
                if !args.iter().all(numeric_or_untyped) {
                    return Ok(Err(args));
                }
                let mut it = args.into_iter();
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => Ok(Ok(self.binary(BinaryOp::Mod, a, b, span)?)),
                    _ => Err(Error::Internal("mod arity".into())),
                }
            }
            ("pi", 0) => Ok(Ok(Expr::literal(
                Datum::Float(std::f64::consts::PI),
                SqlType::Double,
            ))),
            ("pg_sleep", 1) => {
                let mut it = args.into_iter();
                let Some(seconds) = it.next() else {
                    return Err(Error::Internal("pg_sleep arity".into()));
                };
                if numeric_rank(seconds.ty()).is_none()
                    && !matches!(seconds, Expr::Literal { unknown: true, .. })
                {
                    return Ok(Err(vec![seconds]));
                }
                let seconds = self.coerce_unknown(seconds, SqlType::Double)?;
                let seconds = self.cast(seconds, SqlType::Double, false, span)?;
                Ok(Ok(Expr::Function {
                    func: ScalarFunc::Sleep(self.interrupt_key),
                    args: vec![seconds],
                    ty: SqlType::Text,
                }))
            }
            ("random", 0) => Ok(Ok(Expr::Function {
                func: ScalarFunc::Random,
                args: vec![],
                ty: SqlType::Double,
            })),
            ("nvl", 2) => self
                .scalar_function("coalesce", args, position, span)
                .map(Ok),
            ("nvl2", 3) => {
                let mut it = args.into_iter();
                let (a, b, c) = match (it.next(), it.next(), it.next()) {
                    (Some(a), Some(b), Some(c)) => (a, b, c),
                    _ => return Err(Error::Internal("nvl2 arity".into())),
                };
                let mut bc = self.unify(vec![b, c], "NVL2", span)?.into_iter();
                let (b, c) = match (bc.next(), bc.next()) {
                    (Some(b), Some(c)) => (b, c),
                    _ => return Err(Error::Internal("nvl2 arity".into())),
                };
                let ty = b.ty();
                Ok(Ok(fold(Expr::Case {
                    whens: vec![(
                        Expr::IsNull {
                            expr: Box::new(a),
                            negated: true,
                        },
                        b,
                    )],
                    otherwise: Some(Box::new(c)),
                    ty,
                })))
            }
            ("gcd", 2) => self.exact_function(ExactFunc::Gcd, args, span),
            ("lcm", 2) => self.exact_function(ExactFunc::Lcm, args, span),
            ("div", 2) => self.exact_function(ExactFunc::Div, args, span),
            ("factorial", 1) => self.exact_function(ExactFunc::Factorial, args, span),
            ("width_bucket", 4) => self.width_bucket(args, span),
            ("bit_length", 1) => {
                // The bits of the text's UTF-8 bytes; CHAR(n) loses its padding as text.
                let mut it = args.into_iter();
                let Some(a) = it.next() else {
                    return Err(Error::Internal("bit_length arity".into()));
                };
                if !a.ty().is_string() && !matches!(a, Expr::Literal { unknown: true, .. }) {
                    return Ok(Err(vec![a]));
                }
                let a = self.coerce_unknown(a, SqlType::Text)?;
                let a = self.cast(a, SqlType::Text, true, span)?;
                let bytes =
                    match self.row_function(RowFunc::OctetLength, &[Kind::Text], vec![a], span)? {
                        Ok(e) => e,
                        Err(a) => return Ok(Err(a)),
                    };
                let eight = Expr::literal(Datum::Int(8), SqlType::Integer);
                Ok(Ok(self.binary(BinaryOp::Mul, bytes, eight, span)?))
            }
            ("format", n) if n >= 1 => self.format(args, span),
            ("decode", n) if n >= 3 => self.decode(args, span).map(Ok),
            ("greatest" | "least", n) if n >= 1 => {
                let what = if name == "greatest" {
                    "GREATEST"
                } else {
                    "LEAST"
                };
                let args = self.unify(args, what, span)?;
                let ty = args[0].ty();
                Ok(Ok(fold(Expr::Function {
                    func: if name == "greatest" {
                        ScalarFunc::Greatest
                    } else {
                        ScalarFunc::Least
                    },
                    args,
                    ty,
                })))
            }
            _ => Ok(Err(args)),
        }
    }

    /// `s ~ pattern` and its case-insensitive and negated forms.
    pub(crate) fn regex_match(
        &self,
        l: Expr,
        r: Expr,
        case_insensitive: bool,
        negated: bool,
        symbol: &str,
        span: Span,
    ) -> Result<Expr> {
        let shown = |e: &Expr| match e {
            Expr::Literal { unknown: true, .. } => "unknown".to_string(),
            e => crate::types::display_name(e.ty()),
        };
        let names = (shown(&l), shown(&r));
        let f = RowFunc::RegexMatch { case_insensitive };
        match self.row_function(f, &[Kind::Text, Kind::Text], vec![l, r], span)? {
            Ok(m) => Ok(fold(if negated { Expr::Not(Box::new(m)) } else { m })),
            Err(_) => Err(Error::UndefinedFunction {
                message: format!("operator does not exist: {} {symbol} {}", names.0, names.1),
                position: self.position(span),
            }),
        }
    }

    /// `json_build_object(key, value, ...)`: a JSON object of the pairs, written as
    /// PostgreSQL writes it (`{"a" : 1, "b" : "x"}`). Basalt has no json type, so the object
    /// is text. Values are strings, numbers, Booleans, dates or NULL (`null`); keys are any
    /// scalar, as text.
    fn json_build_object(&self, args: Vec<Expr>, span: Span) -> Result<Expr> {
        let text = |s: &str| Expr::literal(Datum::Text(s.to_owned()), SqlType::Text);
        if !args.len().is_multiple_of(2) {
            return Err(Error::InvalidParameter {
                message: "argument list must have even number of elements".into(),
            });
        }
        let quote = |e: Expr| -> Result<Expr> {
            let e = self.coerce_unknown(e, SqlType::Text)?;
            let e = self.cast(e, SqlType::Text, true, span)?;
            match self.row_function(RowFunc::JsonQuote, &[Kind::Text], vec![e], span)? {
                Ok(q) => Ok(q),
                Err(_) => Err(Error::Internal("json quoting".into())),
            }
        };
        let is_null = |e: &Expr| Expr::IsNull {
            expr: Box::new(e.clone()),
            negated: false,
        };
        let mut parts = vec![text("{")];
        for (i, pair) in args.chunks(2).enumerate() {
            let [key, value] = pair else {
                return Err(Error::Internal("json_build_object pairs".into()));
            };
            if matches!(
                key,
                Expr::Literal {
                    value: Datum::Null,
                    ..
                }
            ) {
                return Err(Error::InvalidParameter {
                    message: format!("argument {} cannot be null", 2 * i + 1),
                });
            }
            let rendered = match value.ty() {
                _ if matches!(value, Expr::Literal { unknown: true, .. }) => quote(value.clone())?,
                SqlType::Boolean => Expr::Case {
                    whens: vec![(value.clone(), text("true"))],
                    otherwise: Some(Box::new(text("false"))),
                    ty: SqlType::Text,
                },
                t if numeric_rank(t).is_some() => {
                    self.cast(value.clone(), SqlType::Text, true, span)?
                }
                t if t.is_string() || t == SqlType::Date => quote(value.clone())?,
                t => {
                    return Err(Error::Unsupported {
                        message: format!(
                            "json_build_object of a {} value is not supported",
                            crate::types::display_name(t)
                        ),
                    })
                }
            };
            let rendered = Expr::Case {
                whens: vec![(is_null(value), text("null"))],
                otherwise: Some(Box::new(rendered)),
                ty: SqlType::Text,
            };
            if i > 0 {
                parts.push(text(", "));
            }
            parts.push(quote(key.clone())?);
            parts.push(text(" : "));
            parts.push(rendered);
        }
        parts.push(text("}"));
        let kinds = vec![Kind::Text; parts.len()];
        match self.row_function(RowFunc::Concat, &kinds, parts, span)? {
            Ok(e) => Ok(e),
            Err(_) => Err(Error::Internal("json_build_object concatenation".into())),
        }
    }

    /// A row-wise function whose arguments are converted to `kinds` (strings: any string type,
    /// CHAR(n) losing its padding as in PostgreSQL's implicit cast to text).
    fn row_function(
        &self,
        f: RowFunc,
        kinds: &[Kind],
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let fits = args.iter().zip(kinds).all(|(a, k)| match a {
            Expr::Literal { unknown: true, .. } => true,
            a => match k {
                Kind::Text => a.ty().is_string() || f == RowFunc::Concat,
                Kind::Int => matches!(
                    a.ty(),
                    SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
                ),
                Kind::Float => numeric_rank(a.ty()).is_some(),
            },
        });
        if !fits {
            return Ok(Err(args));
        }
        let mut bound = Vec::with_capacity(args.len());
        for (a, k) in args.into_iter().zip(kinds) {
            let (ty, explicit) = match k {
                Kind::Text => (SqlType::Text, true),
                Kind::Int => (SqlType::BigInt, false),
                Kind::Float => (SqlType::Double, false),
            };
            // An untyped literal for an integer argument is read as PostgreSQL's functions
            // declare it, an integer.
            let a = match k {
                Kind::Int => self.coerce_unknown(a, SqlType::Integer)?,
                _ => self.coerce_unknown(a, ty)?,
            };
            // octet_length counts CHAR(n)'s padding, as PostgreSQL's bpcharoctetlen does, and
            // concat appends its arguments as PostgreSQL prints them: CHAR(n) padded, Booleans
            // as t and f.
            if (f == RowFunc::OctetLength || f == RowFunc::Concat)
                && matches!(a.ty(), SqlType::Char { .. })
            {
                bound.push(a);
                continue;
            }
            if f == RowFunc::Concat && a.ty() == SqlType::Boolean {
                bound.push(boolean_output(a));
                continue;
            }
            bound.push(self.cast(a, ty, explicit, span)?);
        }
        let ty = match f.output() {
            RowOutput::Text => SqlType::Text,
            RowOutput::Int => SqlType::Integer,
            RowOutput::Bool => SqlType::Boolean,
            RowOutput::Double => SqlType::Double,
        };
        Ok(Ok(fold(Expr::Function {
            func: ScalarFunc::Row(f),
            args: bound,
            ty,
        })))
    }

    /// A floating-point math function. With `numeric_result`, NUMERIC arguments give a NUMERIC
    /// result (computed in double precision, at Basalt's division scale).
    fn float_function(
        &self,
        f: RowFunc,
        args: Vec<Expr>,
        numeric_result: bool,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        // PostgreSQL picks the NUMERIC variant when an argument is NUMERIC and none is a float.
        let any_numeric = args
            .iter()
            .any(|a| matches!(a.ty(), SqlType::Decimal { .. }))
            && !args
                .iter()
                .any(|a| matches!(a.ty(), SqlType::Real | SqlType::Double));
        let kinds = vec![Kind::Float; args.len()];
        let e = match self.row_function(f, &kinds, args, span)? {
            Ok(e) => e,
            Err(a) => return Ok(Err(a)),
        };
        if numeric_result && any_numeric {
            return Ok(Ok(self.cast(
                e,
                numeric(NUMERIC_DIVISION_SCALE),
                true,
                span,
            )?));
        }
        Ok(Ok(e))
    }

    /// gcd, lcm, div and factorial, exact: gcd and lcm of integers give INTEGER (BIGINT if
    /// either is BIGINT), of NUMERIC the larger scale; div gives NUMERIC with scale 0 and
    /// factorial takes a BIGINT to NUMERIC, as in PostgreSQL. There are no floating-point
    /// forms.
    fn exact_function(
        &self,
        f: ExactFunc,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let unknown = |e: &Expr| matches!(e, Expr::Literal { unknown: true, .. });
        let integer =
            |t: SqlType| matches!(t, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt);
        let fits = args.iter().all(|a| {
            unknown(a)
                || integer(a.ty())
                || (f != ExactFunc::Factorial && matches!(a.ty(), SqlType::Decimal { .. }))
        });
        if !fits {
            return Ok(Err(args));
        }
        let scale = args
            .iter()
            .filter_map(|a| match a.ty() {
                SqlType::Decimal { scale, .. } if !unknown(a) => Some(scale),
                _ => None,
            })
            .max();
        let bigint = args
            .iter()
            .any(|a| !unknown(a) && a.ty() == SqlType::BigInt);
        // (what unknown literals read as, what every argument is cast to, the result type)
        let (literal_ty, arg_ty, ty) = match (f, scale) {
            (ExactFunc::Factorial, _) => (SqlType::BigInt, SqlType::BigInt, numeric(0)),
            (ExactFunc::Div, s) => {
                let s = s.unwrap_or(0);
                (numeric(s), numeric(s), numeric(0))
            }
            (_, Some(s)) => (numeric(s), numeric(s), numeric(s)),
            (_, None) if bigint => (SqlType::BigInt, SqlType::BigInt, SqlType::BigInt),
            (_, None) => (SqlType::Integer, SqlType::BigInt, SqlType::Integer),
        };
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            let a = self.coerce_unknown(a, literal_ty)?;
            bound.push(self.cast(a, arg_ty, false, span)?);
        }
        Ok(Ok(fold(Expr::Function {
            func: ScalarFunc::Exact(f),
            args: bound,
            ty,
        })))
    }

    /// `width_bucket(operand, bound1, bound2, count)`: exact over NUMERIC when a bound or the
    /// operand is NUMERIC (and none is a float), in double precision otherwise.
    fn width_bucket(
        &self,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let unknown = |e: &Expr| matches!(e, Expr::Literal { unknown: true, .. });
        let count_ok = args.get(3).is_some_and(|c| {
            unknown(c)
                || matches!(
                    c.ty(),
                    SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
                )
        });
        let values = &args[..3.min(args.len())];
        if !count_ok
            || values
                .iter()
                .any(|a| !unknown(a) && numeric_rank(a.ty()).is_none())
        {
            return Ok(Err(args));
        }
        let float = values
            .iter()
            .any(|a| matches!(a.ty(), SqlType::Real | SqlType::Double) && !unknown(a));
        let scale = values
            .iter()
            .filter_map(|a| match a.ty() {
                SqlType::Decimal { scale, .. } if !unknown(a) => Some(scale),
                _ => None,
            })
            .max();
        let Some(scale) = scale.filter(|_| !float) else {
            let kinds = [Kind::Float, Kind::Float, Kind::Float, Kind::Int];
            return self.row_function(RowFunc::WidthBucket, &kinds, args, span);
        };
        let mut bound = Vec::with_capacity(4);
        for (k, a) in args.into_iter().enumerate() {
            let ty = if k == 3 {
                SqlType::BigInt
            } else {
                numeric(scale)
            };
            let a = self.coerce_unknown(a, ty)?;
            bound.push(self.cast(a, ty, false, span)?);
        }
        Ok(Ok(fold(Expr::Function {
            func: ScalarFunc::Exact(ExactFunc::WidthBucket),
            args: bound,
            ty: SqlType::Integer,
        })))
    }

    /// `format(fmt, args...)`: the arguments as text, Booleans as PostgreSQL prints them
    /// (`t`, `f`) rather than as their cast to text reads.
    fn format(&self, args: Vec<Expr>, span: Span) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let fmt_ok = args.first().is_some_and(|f| {
            f.ty().is_string() || matches!(f, Expr::Literal { unknown: true, .. })
        });
        if !fmt_ok {
            return Ok(Err(args));
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            let a = self.coerce_unknown(a, SqlType::Text)?;
            let a = if a.ty() == SqlType::Boolean {
                boolean_output(a)
            } else {
                self.cast(a, SqlType::Text, true, span)?
            };
            bound.push(a);
        }
        Ok(Ok(fold(Expr::Function {
            func: ScalarFunc::Row(RowFunc::Format),
            args: bound,
            ty: SqlType::Text,
        })))
    }

    /// `to_char(number, format)`: integers and NUMERIC by their exact text, floats as double
    /// precision (dates and intervals are `date_function`'s).
    fn to_char_number(
        &self,
        mut args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let ty = match args.first() {
            Some(a) => a.ty(),
            None => return Ok(Err(args)),
        };
        if numeric_rank(ty).is_none() {
            return Ok(Err(args));
        }
        if matches!(ty, SqlType::Real | SqlType::Double) {
            return self.row_function(
                RowFunc::ToCharNumber,
                &[Kind::Float, Kind::Text],
                args,
                span,
            );
        }
        let (Some(format), Some(value)) = (args.pop(), args.pop()) else {
            return Err(Error::Internal("to_char arity".into()));
        };
        let value = self.cast(value, SqlType::Text, true, span)?;
        self.row_function(
            RowFunc::ToCharNumber,
            &[Kind::Text, Kind::Text],
            vec![value, format],
            span,
        )
    }

    /// ceil, floor, trunc and sign: exact on NUMERIC, double precision otherwise.
    fn rounding(
        &self,
        name: &str,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let mode = match name {
            "ceil" | "ceiling" => RoundMode::Ceil,
            "floor" => RoundMode::Floor,
            "trunc" => RoundMode::Trunc,
            _ => RoundMode::Sign,
        };
        let mut it = args.into_iter();
        let Some(a) = it.next() else {
            return Ok(Err(vec![]));
        };
        let digits = it.next();
        let a = self.coerce_unknown(a, SqlType::Double)?;
        if numeric_rank(a.ty()).is_none() {
            return Ok(Err(std::iter::once(a).chain(digits).collect()));
        }
        // trunc(integer, digits) is trunc(numeric, integer), as PostgreSQL casts it.
        let a = match a.ty() {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt if digits.is_some() => {
                self.cast(a, numeric(0), false, span)?
            }
            _ => a,
        };
        if let SqlType::Decimal { .. } = a.ty() {
            let (target, tens) = match digits {
                None => (0, 0),
                Some(d) => match self.coerce_unknown(d, SqlType::Integer)? {
                    Expr::Literal {
                        value: Datum::Int(v),
                        ..
                    } => decimal_digits(v),
                    _ => {
                        return Err(Error::Unsupported {
                            message: "trunc() digits must be a constant".into(),
                        })
                    }
                },
            };
            return Ok(Ok(fold(Expr::Function {
                func: ScalarFunc::DecimalRound(mode, tens),
                args: vec![a],
                ty: numeric(target),
            })));
        }
        if digits.is_some() {
            // trunc(double precision, int) does not exist in PostgreSQL either.
            return Ok(Err(std::iter::once(a).chain(digits).collect()));
        }
        let f = match mode {
            RoundMode::Ceil => RowFunc::Ceil,
            RoundMode::Floor => RowFunc::Floor,
            RoundMode::Trunc => RowFunc::Trunc,
            RoundMode::Sign => RowFunc::Sign,
            RoundMode::Round => return Err(Error::Internal("round bound as trunc".into())),
        };
        self.row_function(f, &[Kind::Float], vec![a], span)
    }

    /// Redshift's DECODE(expr, search, result [, search, result]... [, default]): the first
    /// result whose search value equals expr, NULL matching NULL.
    fn decode(&self, args: Vec<Expr>, span: Span) -> Result<Expr> {
        let mut it = args.into_iter();
        let Some(subject) = it.next() else {
            return Err(Error::Internal("decode arity".into()));
        };
        let rest: Vec<Expr> = it.collect();
        let (pairs, default) = if rest.len() % 2 == 1 {
            let mut r = rest;
            let d = r.pop();
            (r, d)
        } else {
            (rest, None)
        };
        let mut searches = Vec::new();
        let mut results = Vec::new();
        for (i, e) in pairs.into_iter().enumerate() {
            if i % 2 == 0 {
                searches.push(e);
            } else {
                results.push(e);
            }
        }
        let mut all_results = results;
        let has_default = default.is_some();
        all_results.extend(default);
        let mut unified = self.unify(all_results, "CASE", span)?;
        let default = if has_default { unified.pop() } else { None };
        let ty = unified
            .first()
            .or(default.as_ref())
            .map(|e| e.ty())
            .unwrap_or(SqlType::Text);
        let mut whens = Vec::new();
        for (s, r) in searches.into_iter().zip(unified) {
            let cond = if matches!(
                s,
                Expr::Literal {
                    value: Datum::Null,
                    ..
                }
            ) {
                Expr::IsNull {
                    expr: Box::new(subject.clone()),
                    negated: false,
                }
            } else {
                let eq = self.binary(BinaryOp::Eq, subject.clone(), s.clone(), span)?;
                let both_null = self.binary(
                    BinaryOp::And,
                    Expr::IsNull {
                        expr: Box::new(subject.clone()),
                        negated: false,
                    },
                    Expr::IsNull {
                        expr: Box::new(s),
                        negated: false,
                    },
                    span,
                )?;
                self.binary(BinaryOp::Or, eq, both_null, span)?
            };
            whens.push((cond, r));
        }
        Ok(fold(Expr::Case {
            whens,
            otherwise: default.map(Box::new),
            ty,
        }))
    }
}

/// The result scale and the count of integer digits zeroed for round(numeric, digits) and
/// trunc(numeric, digits): `digits` decimals kept (at most 38), or, when negative, a multiple
/// of 10^-digits (past 38 digits every value rounds to 0).
pub(crate) fn decimal_digits(digits: i64) -> (i8, u8) {
    let most = i64::from(crate::types::NUMERIC_PRECISION);
    if digits < 0 {
        (0, digits.unsigned_abs().min(most as u64) as u8)
    } else {
        (digits.min(most) as i8, 0)
    }
}

/// A Boolean as PostgreSQL's output function prints it (`t`, `f`, NULL), which format() and
/// concat() append, rather than its cast to text (`true`, `false`).
fn boolean_output(a: Expr) -> Expr {
    let text = |s: &str| Expr::literal(Datum::Text(s.to_owned()), SqlType::Text);
    Expr::Case {
        whens: vec![(a.clone(), text("t")), (Expr::Not(Box::new(a)), text("f"))],
        otherwise: None,
        ty: SqlType::Text,
    }
}

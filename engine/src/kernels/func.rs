//! Row-at-a-time scalar functions over text and numbers: the string functions of PostgreSQL and
//! Redshift, POSIX regular expressions, and the floating-point math functions.
//!
//! Arguments arrive as TEXT (Utf8), BIGINT (Int64) or DOUBLE PRECISION (Float64) arrays; the
//! binder casts them. Every function here is strict (NULL in, NULL out) except `concat`.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, StringArray};
use regex::{Regex, RegexBuilder};

use crate::error::{Error, Result};

/// A row-wise function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowFunc {
    OctetLength,
    /// `strpos(s, sub)`: 1-based character position of `sub` in `s`, 0 when absent.
    StrPos,
    Initcap,
    Btrim,
    Ltrim,
    Rtrim,
    Lpad,
    Rpad,
    Left,
    Right,
    Replace,
    Translate,
    SplitPart,
    Repeat,
    Reverse,
    Md5,
    /// A string as a JSON string literal: quoted, with JSON's escapes.
    JsonQuote,
    Concat,
    Chr,
    Ascii,
    /// `pg_size_pretty(bytes)`: a byte count in bytes, kB, MB, GB, TB or PB, as psql shows
    /// sizes.
    SizePretty,
    /// `s ~ pattern`, optionally case-insensitive.
    RegexMatch {
        case_insensitive: bool,
    },
    RegexpCount,
    RegexpInstr,
    RegexpSubstr,
    /// `regexp_replace(s, pattern, replacement [, flags])`.
    RegexpReplace,
    Sqrt,
    Cbrt,
    /// A trigonometric or hyperbolic function of double precision, or `degrees` / `radians`.
    Trig(Trig),
    Exp,
    Ln,
    Log10,
    Power,
    Ceil,
    Floor,
    Trunc,
    Sign,
}

/// The trigonometric and hyperbolic functions, on radians, and `degrees` / `radians`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trig {
    Sin,
    Cos,
    Tan,
    Cot,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Degrees,
    Radians,
}

impl Trig {
    /// The function of the name PostgreSQL gives it, if it is one.
    pub fn named(name: &str) -> Option<Trig> {
        use Trig::*;
        Some(match name {
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "cot" => Cot,
            "asin" => Asin,
            "acos" => Acos,
            "atan" => Atan,
            "atan2" => Atan2,
            "sinh" => Sinh,
            "cosh" => Cosh,
            "tanh" => Tanh,
            "asinh" => Asinh,
            "acosh" => Acosh,
            "atanh" => Atanh,
            "degrees" => Degrees,
            "radians" => Radians,
            _ => return None,
        })
    }

    pub fn arity(self) -> usize {
        if self == Trig::Atan2 {
            2
        } else {
            1
        }
    }

    /// The value at `x` (for atan2, `x` and `y` are its first and second arguments, so the
    /// angle of the point (y, x)), with PostgreSQL's errors: an argument outside the
    /// function's domain is "input is out of range".
    pub fn apply(self, x: f64, y: Option<f64>) -> Result<f64> {
        use Trig::*;
        let out_of_range = || Error::NumericOutOfRange {
            message: "input is out of range".into(),
        };
        if x.is_nan() || y.is_some_and(f64::is_nan) {
            return Ok(f64::NAN);
        }
        let r = match self {
            Sin | Cos | Tan | Cot if x.is_infinite() => return Err(out_of_range()),
            Sin => x.sin(),
            Cos => x.cos(),
            Tan => x.tan(),
            Cot => 1.0 / x.tan(),
            Asin | Acos if !(-1.0..=1.0).contains(&x) => return Err(out_of_range()),
            Asin => x.asin(),
            Acos => x.acos(),
            Atan => x.atan(),
            Atan2 => x.atan2(y.unwrap_or(f64::NAN)),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Tanh => x.tanh(),
            Asinh => x.asinh(),
            Acosh if x < 1.0 => return Err(out_of_range()),
            Acosh => x.acosh(),
            Atanh if !(-1.0..=1.0).contains(&x) => return Err(out_of_range()),
            Atanh => x.atanh(),
            Degrees => x.to_degrees(),
            Radians => x.to_radians(),
        };
        Ok(r)
    }
}

/// What a row-wise function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOutput {
    Text,
    Int,
    Bool,
    Double,
}

impl RowFunc {
    pub fn output(self) -> RowOutput {
        use RowFunc::*;
        match self {
            OctetLength | StrPos | Ascii | RegexpCount | RegexpInstr => RowOutput::Int,
            RegexMatch { .. } => RowOutput::Bool,
            Sqrt | Cbrt | Trig(_) | Exp | Ln | Log10 | Power | Ceil | Floor | Trunc | Sign => {
                RowOutput::Double
            }
            _ => RowOutput::Text,
        }
    }
}

enum Val<'a> {
    S(&'a str),
    I(i64),
    F(f64),
}

impl Val<'_> {
    fn s(&self) -> &str {
        match self {
            Val::S(s) => s,
            _ => "",
        }
    }
    fn i(&self) -> i64 {
        match self {
            Val::I(i) => *i,
            Val::F(f) => *f as i64,
            Val::S(_) => 0,
        }
    }
    fn f(&self) -> f64 {
        match self {
            Val::F(f) => *f,
            Val::I(i) => *i as f64,
            Val::S(_) => 0.0,
        }
    }
}

enum Out {
    Null,
    S(String),
    I(i64),
    B(bool),
    F(f64),
}

/// Compiled patterns, reused while the pattern and flags stay the same.
#[derive(Default)]
struct RegexCache {
    last: Option<(String, bool, Regex)>,
}

impl RegexCache {
    fn get(&mut self, pattern: &str, case_insensitive: bool) -> Result<&Regex> {
        let hit = matches!(&self.last, Some((p, ci, _)) if p == pattern && *ci == case_insensitive);
        if !hit {
            let re = RegexBuilder::new(pattern)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|e| Error::InvalidRegularExpression {
                    message: format!("invalid regular expression: {}", first_line(&e.to_string())),
                })?;
            self.last = Some((pattern.to_string(), case_insensitive, re));
        }
        match &self.last {
            Some((_, _, re)) => Ok(re),
            None => Err(Error::Internal("regex cache".into())),
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| s.lines().next().unwrap_or("").to_string())
}

/// PostgreSQL's `pg_size_pretty(bigint)`: below 10 kB in bytes; above, in the largest unit
/// (kB, MB, GB, TB, PB) that keeps the number under 20,480 before rounding, rounded half away
/// from zero on the dropped bit.
fn size_pretty(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    const LIMIT2: i64 = LIMIT * 2 - 1;
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    // One extra bit is kept for the rounding.
    let mut size = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT2 {
            return format!("{} {unit}", half_rounded(size));
        }
        size >>= 10;
    }
    format!("{} PB", half_rounded(size))
}

/// Evaluates `func` over `n` rows of `args`.
pub fn evaluate(func: RowFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let mut cache = RegexCache::default();
    let mut vals: Vec<Val> = Vec::with_capacity(args.len());
    let mut texts: Vec<Option<String>> = Vec::new();
    let mut ints: Vec<Option<i64>> = Vec::new();
    let mut bools: Vec<Option<bool>> = Vec::new();
    let mut floats: Vec<Option<f64>> = Vec::new();
    let output = func.output();
    for row in 0..n {
        vals.clear();
        let mut null = false;
        for a in args {
            if a.is_null(row) {
                null = true;
                continue;
            }
            vals.push(match a.data_type() {
                arrow_schema::DataType::Utf8 => Val::S(a.as_string::<i32>().value(row)),
                arrow_schema::DataType::Int64 => Val::I(a.as_primitive::<Int64Type>().value(row)),
                arrow_schema::DataType::Float64 => {
                    Val::F(a.as_primitive::<Float64Type>().value(row))
                }
                other => {
                    return Err(Error::Internal(format!(
                        "{func:?} argument of type {other}"
                    )))
                }
            });
        }
        let out = if null && func != RowFunc::Concat {
            Out::Null
        } else {
            apply(func, &vals, &mut cache)?
        };
        match (output, out) {
            (RowOutput::Text, Out::S(s)) => texts.push(Some(s)),
            (RowOutput::Int, Out::I(i)) => ints.push(Some(i)),
            (RowOutput::Bool, Out::B(b)) => bools.push(Some(b)),
            (RowOutput::Double, Out::F(f)) => floats.push(Some(f)),
            (RowOutput::Text, Out::Null) => texts.push(None),
            (RowOutput::Int, Out::Null) => ints.push(None),
            (RowOutput::Bool, Out::Null) => bools.push(None),
            (RowOutput::Double, Out::Null) => floats.push(None),
            _ => return Err(Error::Internal(format!("{func:?} produced the wrong type"))),
        }
    }
    Ok(match output {
        RowOutput::Text => Arc::new(StringArray::from(texts)),
        RowOutput::Int => {
            let v: Vec<Option<i32>> = ints
                .into_iter()
                .map(|v| v.map(|i| i32::try_from(i).unwrap_or(i32::MAX)))
                .collect();
            Arc::new(Int32Array::from(v))
        }
        RowOutput::Bool => Arc::new(arrow_array::BooleanArray::from(bools)),
        RowOutput::Double => Arc::new(Float64Array::from(floats)),
    })
}

fn apply(func: RowFunc, v: &[Val], cache: &mut RegexCache) -> Result<Out> {
    use RowFunc::*;
    let arg = |i: usize| {
        v.get(i)
            .ok_or_else(|| Error::Internal(format!("{func:?} arity")))
    };
    Ok(match func {
        OctetLength => Out::I(arg(0)?.s().len() as i64),
        StrPos => Out::I(strpos(arg(0)?.s(), arg(1)?.s())),
        Initcap => Out::S(initcap(arg(0)?.s())),
        Btrim | Ltrim | Rtrim => {
            let s = arg(0)?.s();
            let set: Vec<char> = match v.get(1) {
                Some(c) => c.s().chars().collect(),
                None => vec![' '],
            };
            let t = match func {
                Btrim => s.trim_matches(|c| set.contains(&c)),
                Ltrim => s.trim_start_matches(|c| set.contains(&c)),
                _ => s.trim_end_matches(|c| set.contains(&c)),
            };
            Out::S(t.to_string())
        }
        Lpad | Rpad => {
            let s = arg(0)?.s();
            let len = arg(1)?.i();
            let fill = v.get(2).map(|f| f.s()).unwrap_or(" ");
            Out::S(pad(s, len, fill, func == Lpad)?)
        }
        Left | Right => {
            let s = arg(0)?.s();
            let n = arg(1)?.i();
            let count = s.chars().count() as i64;
            let keep = if n >= 0 {
                n.min(count)
            } else {
                (count + n).max(0)
            };
            Out::S(if func == Left {
                s.chars().take(keep as usize).collect()
            } else {
                s.chars().skip((count - keep) as usize).collect()
            })
        }
        Replace => {
            let (s, from, to) = (arg(0)?.s(), arg(1)?.s(), arg(2)?.s());
            Out::S(if from.is_empty() {
                s.to_string()
            } else {
                s.replace(from, to)
            })
        }
        Translate => {
            let (s, from, to) = (arg(0)?.s(), arg(1)?.s(), arg(2)?.s());
            let from: Vec<char> = from.chars().collect();
            let to: Vec<char> = to.chars().collect();
            Out::S(
                s.chars()
                    .filter_map(|c| match from.iter().position(|f| *f == c) {
                        Some(i) => to.get(i).copied(),
                        None => Some(c),
                    })
                    .collect(),
            )
        }
        SplitPart => Out::S(split_part(arg(0)?.s(), arg(1)?.s(), arg(2)?.i())?),
        Repeat => {
            let n = arg(1)?.i().max(0) as usize;
            let s = arg(0)?.s();
            if s.len().saturating_mul(n) > 1 << 30 {
                return Err(Error::ProgramLimitExceeded {
                    message: "requested length too large".into(),
                });
            }
            Out::S(s.repeat(n))
        }
        Reverse => Out::S(arg(0)?.s().chars().rev().collect()),
        Md5 => {
            use md5::Digest;
            let digest = md5::Md5::digest(arg(0)?.s().as_bytes());
            Out::S(digest.iter().map(|b| format!("{b:02x}")).collect())
        }
        JsonQuote => Out::S(json_quote(arg(0)?.s())),
        Concat => Out::S(v.iter().map(|x| x.s()).collect()),
        Chr => {
            let code = arg(0)?.i();
            let c = u32::try_from(code)
                .ok()
                .filter(|c| *c != 0)
                .and_then(char::from_u32)
                .ok_or_else(|| Error::ProgramLimitExceeded {
                    message: format!("requested character not valid for encoding: {code}"),
                })?;
            Out::S(c.to_string())
        }
        Ascii => Out::I(arg(0)?.s().chars().next().map(|c| c as i64).unwrap_or(0)),
        SizePretty => Out::S(size_pretty(arg(0)?.i())),
        RegexMatch { case_insensitive } => Out::B(
            cache
                .get(arg(1)?.s(), case_insensitive)?
                .is_match(arg(0)?.s()),
        ),
        RegexpCount => Out::I(
            cache
                .get(arg(1)?.s(), false)?
                .find_iter(arg(0)?.s())
                .count() as i64,
        ),
        RegexpInstr => {
            let s = arg(0)?.s();
            Out::I(match cache.get(arg(1)?.s(), false)?.find(s) {
                Some(m) => s[..m.start()].chars().count() as i64 + 1,
                None => 0,
            })
        }
        RegexpSubstr => {
            let s = arg(0)?.s();
            match cache.get(arg(1)?.s(), false)?.find(s) {
                Some(m) => Out::S(m.as_str().to_string()),
                None => Out::Null,
            }
        }
        RegexpReplace => {
            let s = arg(0)?.s();
            let flags = v.get(3).map(|f| f.s()).unwrap_or("");
            let mut global = false;
            let mut ci = false;
            for f in flags.chars() {
                match f {
                    'g' => global = true,
                    'i' => ci = true,
                    'c' => ci = false,
                    other => {
                        return Err(Error::InvalidParameter {
                            message: format!("invalid regular expression option: \"{other}\""),
                        })
                    }
                }
            }
            let rep = replacement(arg(2)?.s());
            let re = cache.get(arg(1)?.s(), ci)?;
            Out::S(if global {
                re.replace_all(s, rep.as_str()).into_owned()
            } else {
                re.replace(s, rep.as_str()).into_owned()
            })
        }
        Sqrt => {
            let x = arg(0)?.f();
            if x < 0.0 {
                return Err(Error::InvalidPowerArgument {
                    message: "cannot take square root of a negative number".into(),
                });
            }
            Out::F(x.sqrt())
        }
        Cbrt => Out::F(arg(0)?.f().cbrt()),
        Trig(t) => {
            let y = match t {
                self::Trig::Atan2 => Some(arg(1)?.f()),
                _ => None,
            };
            Out::F(t.apply(arg(0)?.f(), y)?)
        }
        Exp => {
            let r = arg(0)?.f().exp();
            if r.is_infinite() {
                return Err(Error::NumericOutOfRange {
                    message: "value out of range: overflow".into(),
                });
            }
            Out::F(r)
        }
        Ln | Log10 => {
            let x = arg(0)?.f();
            if x == 0.0 {
                return Err(Error::InvalidLogArgument {
                    message: "cannot take logarithm of zero".into(),
                });
            }
            if x < 0.0 {
                return Err(Error::InvalidLogArgument {
                    message: "cannot take logarithm of a negative number".into(),
                });
            }
            Out::F(if func == Ln { x.ln() } else { x.log10() })
        }
        Power => {
            let (x, y) = (arg(0)?.f(), arg(1)?.f());
            if x == 0.0 && y < 0.0 {
                return Err(Error::InvalidPowerArgument {
                    message: "zero raised to a negative power is undefined".into(),
                });
            }
            if x < 0.0 && y.fract() != 0.0 {
                return Err(Error::InvalidPowerArgument {
                    message:
                        "a negative number raised to a non-integer power yields a complex result"
                            .into(),
                });
            }
            let r = x.powf(y);
            if r.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(Error::NumericOutOfRange {
                    message: "value out of range: overflow".into(),
                });
            }
            Out::F(r)
        }
        Ceil => Out::F(arg(0)?.f().ceil()),
        Floor => Out::F(arg(0)?.f().floor()),
        Trunc => Out::F(arg(0)?.f().trunc()),
        Sign => {
            let x = arg(0)?.f();
            Out::F(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            })
        }
    })
}

fn strpos(s: &str, sub: &str) -> i64 {
    match s.find(sub) {
        Some(byte) => s[..byte].chars().count() as i64 + 1,
        None => 0,
    }
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String> {
    if len <= 0 {
        return Ok(String::new());
    }
    if len > 1 << 28 {
        return Err(Error::ProgramLimitExceeded {
            message: "requested length too large".into(),
        });
    }
    let len = len as usize;
    let chars = s.chars().count();
    if chars >= len || fill.is_empty() {
        return Ok(s.chars().take(len).collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars).collect();
    Ok(if left {
        padding + s
    } else {
        s.to_string() + &padding
    })
}

fn split_part(s: &str, delim: &str, n: i64) -> Result<String> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            message: "field position must not be zero".into(),
        });
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 {
            s.to_string()
        } else {
            String::new()
        });
    }
    let parts: Vec<&str> = s.split(delim).collect();
    let idx = if n > 0 {
        (n - 1) as usize
    } else {
        match parts.len().checked_sub(n.unsigned_abs() as usize) {
            Some(i) => i,
            None => return Ok(String::new()),
        }
    };
    Ok(parts.get(idx).map(|p| p.to_string()).unwrap_or_default())
}

/// Turns PostgreSQL's replacement syntax (`\1`, `\&`) into the regex crate's (`${1}`, `${0}`).
fn replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len());
    let mut it = rep.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('&') => out.push_str("${0}"),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a JSON string literal, escaped as PostgreSQL's `escape_json` does: the two-character
/// escapes for quote, backslash and the common control characters, `\u00XX` for the others.
pub(crate) fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(func: RowFunc, args: Vec<ArrayRef>) -> Vec<Option<String>> {
        let n = args.first().map(|a| a.len()).unwrap_or(1);
        let out = evaluate(func, &args, n).unwrap();
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(String::from))
            .collect()
    }
    fn s(v: &str) -> ArrayRef {
        Arc::new(StringArray::from(vec![v]))
    }
    fn i(v: i64) -> ArrayRef {
        Arc::new(arrow_array::Int64Array::from(vec![v]))
    }

    #[test]
    fn string_functions_follow_postgresql() {
        assert_eq!(
            text(RowFunc::Lpad, vec![s("hi"), i(5), s("xy")]),
            [Some("xyxhi".into())]
        );
        assert_eq!(
            text(RowFunc::Rpad, vec![s("hello"), i(3)]),
            [Some("hel".into())]
        );
        assert_eq!(
            text(RowFunc::Left, vec![s("hello"), i(-2)]),
            [Some("hel".into())]
        );
        assert_eq!(
            text(RowFunc::Right, vec![s("hello"), i(-2)]),
            [Some("llo".into())]
        );
        // PostgreSQL 15's answers, at the unit boundaries and the extremes.
        for (bytes, pretty) in [
            (0, "0 bytes"),
            (10_239, "10239 bytes"),
            (10_240, "10 kB"),
            (-10_240, "-10 kB"),
            (10_752, "11 kB"),
            (20_971_007, "20 MB"),
            (1_073_741_824, "1024 MB"),
            (1_099_511_627_776, "1024 GB"),
            (i64::MAX, "8192 PB"),
            (-123_456_789, "-118 MB"),
        ] {
            assert_eq!(
                text(RowFunc::SizePretty, vec![i(bytes)]),
                [Some(pretty.into())],
                "{bytes}"
            );
        }
        assert_eq!(
            text(RowFunc::Initcap, vec![s("hi THERE o'neil")]),
            [Some("Hi There O'Neil".into())]
        );
        assert_eq!(
            text(RowFunc::SplitPart, vec![s("a,b,c"), s(","), i(-1)]),
            [Some("c".into())]
        );
        assert_eq!(
            text(RowFunc::SplitPart, vec![s("a,b,c"), s(","), i(5)]),
            [Some("".into())]
        );
        assert_eq!(
            text(RowFunc::Translate, vec![s("12345"), s("143"), s("ax")]),
            [Some("a2x5".into())]
        );
        assert_eq!(
            text(
                RowFunc::RegexpReplace,
                vec![s("foobarbaz"), s("b(..)"), s("X\\1Y"), s("g")]
            ),
            [Some("fooXarYXazY".into())]
        );
        assert_eq!(
            text(RowFunc::Md5, vec![s("abc")]),
            [Some("900150983cd24fb0d6963f7d28e17f72".into())]
        );
        assert!(evaluate(RowFunc::SplitPart, &[s("a"), s(","), i(0)], 1).is_err());
        assert!(evaluate(
            RowFunc::RegexMatch {
                case_insensitive: false
            },
            &[s("a"), s("(")],
            1
        )
        .is_err());
    }
}

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
    /// `to_char(number, format)`: a number (its exact text, or a double precision value)
    /// laid out by a numeric template pattern (`9`, `0`, `.`/`D`, `,`/`G`, `S`, `MI`, `PL`,
    /// `SG`, `PR`, `FM`, `RN`, `TH`, `V`, `L`, `B`, `EEEE`).
    ToCharNumber,
    /// Redshift's limit on a LISTAGG result: the value itself, or 54000 past
    /// [`LISTAGG_BYTES_MAX`].
    ListaggLimit,
    /// `similar_to_escape(pattern [, escape])`: a SQL regular expression (SIMILAR TO's
    /// pattern) as the POSIX one that `~` matches with.
    SimilarEscape,
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
    /// `width_bucket(operand, bound1, bound2, count)` over double precision.
    WidthBucket,
    /// `format(fmt, args...)`: `%s`, `%I`, `%L` and `%%`, with argument positions and
    /// widths; the arguments are text.
    Format,
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
    /// The same in degrees: exact at the angles whose values are 0, ±1/2, ±1 or infinite.
    Sind,
    Cosd,
    Tand,
    Cotd,
    Asind,
    Acosd,
    Atand,
    Atan2d,
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
            "sind" => Sind,
            "cosd" => Cosd,
            "tand" => Tand,
            "cotd" => Cotd,
            "asind" => Asind,
            "acosd" => Acosd,
            "atand" => Atand,
            "atan2d" => Atan2d,
            _ => return None,
        })
    }

    pub fn arity(self) -> usize {
        if matches!(self, Trig::Atan2 | Trig::Atan2d) {
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
            Sin | Cos | Tan | Cot | Sind | Cosd | Tand | Cotd if x.is_infinite() => {
                return Err(out_of_range())
            }
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
            Sind => degrees::sind(x),
            Cosd => degrees::cosd(x),
            Tand => degrees::tand(x, false),
            Cotd => degrees::tand(x, true),
            Asind | Acosd if !(-1.0..=1.0).contains(&x) => return Err(out_of_range()),
            Asind if x >= 0.0 => degrees::asind_q1(x),
            Asind => -degrees::asind_q1(-x),
            Acosd if x >= 0.0 => degrees::acosd_q1(x),
            Acosd => 90.0 + degrees::asind_q1(-x),
            Atand => x.atan() / degrees::atan_1() * 45.0,
            Atan2d => x.atan2(y.unwrap_or(f64::NAN)) / degrees::atan_1() * 45.0,
        };
        if r.is_infinite() && matches!(self, Sind | Cosd | Asind | Acosd) {
            return Err(Error::NumericOutOfRange {
                message: "value out of range: overflow".into(),
            });
        }
        Ok(r)
    }
}

/// PostgreSQL's trigonometry in degrees (`float.c`): the argument is reduced to the first
/// quadrant, where sine is computed below 30 degrees and cosine below 60, each scaled by its
/// value at 30 or 60 degrees so that the special angles come out exact.
mod degrees {
    const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

    fn sin_30() -> f64 {
        (30.0 * RADIANS_PER_DEGREE).sin()
    }

    fn one_minus_cos_60() -> f64 {
        1.0 - (60.0 * RADIANS_PER_DEGREE).cos()
    }

    /// atan(1), the 45 degrees that atand and atan2d scale by.
    pub fn atan_1() -> f64 {
        1.0f64.atan()
    }

    fn sind_0_to_30(x: f64) -> f64 {
        (x * RADIANS_PER_DEGREE).sin() / sin_30() / 2.0
    }

    fn cosd_0_to_60(x: f64) -> f64 {
        let one_minus_cos_x = 1.0 - (x * RADIANS_PER_DEGREE).cos();
        1.0 - (one_minus_cos_x / one_minus_cos_60()) / 2.0
    }

    fn sind_q1(x: f64) -> f64 {
        if x <= 30.0 {
            sind_0_to_30(x)
        } else {
            cosd_0_to_60(90.0 - x)
        }
    }

    fn cosd_q1(x: f64) -> f64 {
        if x <= 60.0 {
            cosd_0_to_60(x)
        } else {
            sind_0_to_30(90.0 - x)
        }
    }

    pub fn sind(x: f64) -> f64 {
        let mut x = x % 360.0;
        let mut sign = 1.0;
        if x < 0.0 {
            x = -x;
            sign = -sign;
        }
        if x > 180.0 {
            x = 360.0 - x;
            sign = -sign;
        }
        if x > 90.0 {
            x = 180.0 - x;
        }
        sign * sind_q1(x)
    }

    pub fn cosd(x: f64) -> f64 {
        let mut x = (x % 360.0).abs();
        let mut sign = 1.0;
        if x > 180.0 {
            x = 360.0 - x;
        }
        if x > 90.0 {
            x = 180.0 - x;
            sign = -sign;
        }
        sign * cosd_q1(x)
    }

    /// tand, or cotd when `cot`; never minus zero.
    pub fn tand(x: f64, cot: bool) -> f64 {
        let mut x = x % 360.0;
        let mut sign = 1.0;
        if x < 0.0 {
            x = -x;
            sign = -sign;
        }
        if x > 180.0 {
            x = 360.0 - x;
            sign = -sign;
        }
        if x > 90.0 {
            x = 180.0 - x;
            sign = -sign;
        }
        let r = if cot {
            let cot_45 = cosd_q1(45.0) / sind_q1(45.0);
            sign * ((cosd_q1(x) / sind_q1(x)) / cot_45)
        } else {
            let tan_45 = sind_q1(45.0) / cosd_q1(45.0);
            sign * ((sind_q1(x) / cosd_q1(x)) / tan_45)
        };
        if r == 0.0 {
            0.0
        } else {
            r
        }
    }

    pub fn asind_q1(x: f64) -> f64 {
        if x <= 0.5 {
            x.asin() / 0.5f64.asin() * 30.0
        } else {
            90.0 - x.acos() / 0.5f64.acos() * 60.0
        }
    }

    pub fn acosd_q1(x: f64) -> f64 {
        if x <= 0.5 {
            90.0 - x.asin() / 0.5f64.asin() * 30.0
        } else {
            x.acos() / 0.5f64.acos() * 60.0
        }
    }
}

/// The longest LISTAGG result, in bytes: Redshift's VARCHAR(65535).
pub const LISTAGG_BYTES_MAX: usize = 65_535;

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
            OctetLength | StrPos | Ascii | RegexpCount | RegexpInstr | WidthBucket => {
                RowOutput::Int
            }
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
    /// NULL, seen only by the functions that are not strict.
    N,
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
            Val::S(_) | Val::N => 0,
        }
    }
    fn f(&self) -> f64 {
        match self {
            Val::F(f) => *f,
            Val::I(i) => *i as f64,
            Val::S(_) | Val::N => 0.0,
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

/// One element of a numeric template pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NumPart {
    /// `9`, or `0` (`true`) which prints a zero where the number has no digit.
    Digit(bool),
    Point,
    Comma,
    /// `S`: the sign, `-` or `+`.
    Sign,
    /// `MI`: `-` for a negative number, a blank otherwise.
    Minus,
    /// `PL`: `+` for a number that is not negative, a blank otherwise.
    Plus,
    /// `SG`: `-` or `+`.
    SignAlways,
    /// `PR`: a negative number in angle brackets.
    Brackets,
    /// `RN` (`rn`: lower case, `true`): the value in Roman numerals.
    Roman(bool),
    /// `TH` (`th`: lower case, `true`): the integer's ordinal suffix.
    Ordinal(bool),
    /// `L`: the currency symbol, a blank in the C locale.
    Currency,
    Literal(char),
}

/// A numeric template pattern, checked as PostgreSQL's NUMDesc_prepare checks one.
struct NumFormat {
    parts: Vec<NumPart>,
    fill_mode: bool,
    /// The `9`s after `V`: the value is shifted left by as many digits.
    multi: usize,
    /// `EEEE`: scientific notation.
    scientific: bool,
    /// Digit positions before and after the decimal point.
    pre: usize,
    post: usize,
}

/// A malformed numeric template pattern: PostgreSQL's 42601.
fn template_error(message: &str) -> Error {
    Error::Syntax {
        message: message.into(),
        position: None,
    }
}

impl NumFormat {
    fn parse(pattern: &str) -> Result<NumFormat> {
        let chars: Vec<char> = pattern.chars().collect();
        // A keyword is written all in upper or all in lower case.
        let keyword = |i: usize, word: &str| -> Option<bool> {
            let at: String = chars[i..].iter().take(word.len()).collect();
            if at == word {
                Some(false)
            } else if at == word.to_ascii_lowercase() {
                Some(true)
            } else {
                None
            }
        };
        let mut f = NumFormat {
            parts: Vec::new(),
            fill_mode: false,
            multi: 0,
            scientific: false,
            pre: 0,
            post: 0,
        };
        let (mut decimal, mut shift, mut lsign, mut plus, mut minus) =
            (false, false, false, false, false);
        let (mut bracket, mut roman, mut blank, mut zero) = (false, false, false, false);
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '"' {
                // A quoted string is copied as it is.
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    f.parts.push(NumPart::Literal(chars[j]));
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            let long = ["EEEE", "FM", "MI", "PL", "PR", "RN", "SG", "SP", "TH"]
                .into_iter()
                .find_map(|w| keyword(i, w).map(|lower| (w, lower)));
            let (word, lower) = match long {
                Some(found) => found,
                None => match chars[i] {
                    '9' => ("9", false),
                    '0' => ("0", false),
                    '.' => (".", false),
                    ',' => (",", false),
                    c if "BDGLSV".contains(c.to_ascii_uppercase()) && c.is_ascii_alphabetic() => {
                        match c.to_ascii_uppercase() {
                            'B' => ("B", false),
                            'D' => ("D", false),
                            'G' => ("G", false),
                            'L' => ("L", false),
                            'S' => ("S", false),
                            _ => ("V", false),
                        }
                    }
                    c => {
                        f.parts.push(NumPart::Literal(c));
                        i += 1;
                        continue;
                    }
                },
            };
            i += word.len();
            if f.scientific && word != "EEEE" {
                return Err(template_error("\"EEEE\" must be the last pattern used"));
            }
            let part = match word {
                "9" | "0" => {
                    if bracket {
                        return Err(template_error(&format!(
                            "\"{word}\" must be ahead of \"PR\""
                        )));
                    }
                    let is_zero = word == "0";
                    if shift && !is_zero {
                        f.multi += 1;
                    } else if decimal {
                        f.post += 1;
                    } else {
                        f.pre += 1;
                    }
                    zero |= is_zero && !decimal;
                    Some(NumPart::Digit(is_zero))
                }
                "B" => {
                    blank |= f.pre == 0 && f.post == 0 && !zero;
                    None
                }
                "." | "D" => {
                    if decimal {
                        return Err(template_error("multiple decimal points"));
                    }
                    if shift {
                        return Err(template_error(
                            "cannot use \"V\" and decimal point together",
                        ));
                    }
                    decimal = true;
                    Some(NumPart::Point)
                }
                "," | "G" => Some(NumPart::Comma),
                "FM" => {
                    f.fill_mode = true;
                    None
                }
                "S" => {
                    if lsign {
                        return Err(template_error("cannot use \"S\" twice"));
                    }
                    if plus || minus || bracket {
                        return Err(template_error(
                            "cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together",
                        ));
                    }
                    lsign = true;
                    Some(NumPart::Sign)
                }
                "MI" | "PL" | "SG" => {
                    if lsign {
                        return Err(template_error(&format!(
                            "cannot use \"S\" and \"{word}\" together"
                        )));
                    }
                    plus |= word != "MI";
                    minus |= word != "PL";
                    Some(match word {
                        "MI" => NumPart::Minus,
                        "PL" => NumPart::Plus,
                        _ => NumPart::SignAlways,
                    })
                }
                "PR" => {
                    if lsign || plus || minus {
                        return Err(template_error(
                            "cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together",
                        ));
                    }
                    bracket = true;
                    Some(NumPart::Brackets)
                }
                "RN" => {
                    roman = true;
                    Some(NumPart::Roman(lower))
                }
                "TH" => Some(NumPart::Ordinal(lower)),
                "L" => Some(NumPart::Currency),
                "V" => {
                    if decimal {
                        return Err(template_error(
                            "cannot use \"V\" and decimal point together",
                        ));
                    }
                    shift = true;
                    None
                }
                "EEEE" => {
                    if f.scientific {
                        return Err(template_error("cannot use \"EEEE\" twice"));
                    }
                    if blank || f.fill_mode || lsign || bracket || minus || plus || roman || shift {
                        return Err(Error::Syntax {
                            message: "\"EEEE\" is incompatible with other formats".into(),
                            position: None,
                        });
                    }
                    f.scientific = true;
                    None
                }
                // SP is a keyword PostgreSQL prints nothing for.
                _ => None,
            };
            f.parts.extend(part);
        }
        Ok(f)
    }
}

/// PostgreSQL's to_char for numbers: the value rounded half away from zero to the pattern's
/// fraction digits, digits right-aligned on the pattern's integer positions (blank where it
/// has none, zero from the first `0` on), the sign just before the first digit unless `S`,
/// `MI`, `SG` or `PR` place it (`PL` adds a `+` of its own), `#` in every digit position when
/// the integer part does not fit, and `FM` dropping the blanks and the trailing zeros of `9`
/// fraction positions. `V` shifts the value left by the `9`s after it, `TH` appends the
/// integer's ordinal suffix, `L` is the C locale's blank currency symbol, `RN` writes Roman
/// numerals (1 to 3999, `#`s otherwise) and `EEEE` scientific notation. An infinite double
/// does not fit any pattern.
fn to_char_number(value: &Val, pattern: &str) -> Result<String> {
    let format = NumFormat::parse(pattern)?;
    if format.scientific {
        return Ok(to_char_scientific(value, &format));
    }
    if format.parts.iter().any(|p| matches!(p, NumPart::Roman(_))) {
        return to_char_roman(value, &format);
    }
    let parts = &format.parts;
    let fill_mode = format.fill_mode;
    // `V`: the value shifted left by `multi` digits.
    let multi = format.multi;
    let shifted_text = match value {
        _ if multi == 0 => None,
        Val::I(i) => Some(format!("{i}{}", "0".repeat(multi))),
        Val::S(s) => Some(shift_decimal(s, multi)),
        _ => None,
    };
    let shifted = match (value, &shifted_text) {
        (_, Some(text)) => Val::S(text),
        (Val::F(f), None) => Val::F(f * 10f64.powi(i32::try_from(multi).unwrap_or(i32::MAX))),
        (Val::I(i), None) => Val::I(*i),
        (Val::S(s), None) => Val::S(s),
        (Val::N, None) => Val::N,
    };
    let value = &shifted;
    let point = parts.iter().position(|p| *p == NumPart::Point);
    let is_digit = |p: &NumPart| matches!(p, NumPart::Digit(_));
    let int_positions = parts[..point.unwrap_or(parts.len())]
        .iter()
        .filter(|p| is_digit(p))
        .count();
    let frac_positions = match point {
        Some(at) => parts[at..].iter().filter(|p| is_digit(p)).count(),
        None => 0,
    };
    let (negative, int_digits, frac_digits) = match value {
        // An infinite double overflows every pattern, as in PostgreSQL.
        Val::F(f) if f.is_infinite() => (
            *f < 0.0,
            "9".repeat(int_positions + 1),
            "0".repeat(frac_positions),
        ),
        _ => number_digits(value, frac_positions)?,
    };
    // A number below one shows no integer digit where the pattern has a decimal point.
    let int_digits = match (int_digits.is_empty(), point) {
        (true, None) => "0".to_string(),
        _ => int_digits,
    };
    let overflow = int_digits.len() > int_positions;
    let floating_sign = !parts.iter().any(|p| {
        matches!(
            p,
            NumPart::Minus | NumPart::SignAlways | NumPart::Brackets | NumPart::Sign
        )
    });
    let blank = if fill_mode { "" } else { " " };
    let sign_text = |explicit_plus: bool| match (negative, explicit_plus) {
        (true, _) => "-",
        (false, true) => "+",
        (false, false) => blank,
    };
    // The ordinal suffix of the integer, for a whole non-negative number that fits.
    let suffix = match (
        negative || overflow || point.is_some(),
        int_digits.as_bytes(),
    ) {
        (false, [.., b'1', _]) => "th",
        (false, [.., b'1']) => "st",
        (false, [.., b'2']) => "nd",
        (false, [.., b'3']) => "rd",
        (false, _) => "th",
        (true, _) => "",
    };
    // FM drops trailing fraction zeros back to the last `0` position.
    let mut frac_keep = frac_positions;
    if fill_mode && !overflow {
        let frac_kinds: Vec<bool> = match point {
            Some(at) => parts[at..]
                .iter()
                .filter_map(|p| match p {
                    NumPart::Digit(zero) => Some(*zero),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        };
        while frac_keep > 0
            && !frac_kinds[frac_keep - 1]
            && frac_digits.as_bytes()[frac_keep - 1] == b'0'
        {
            frac_keep -= 1;
        }
    }
    // FM never leaves a number without a digit: zero shows as `0.`.
    let int_digits = if fill_mode && int_digits.is_empty() && frac_keep == 0 {
        "0".to_string()
    } else {
        int_digits
    };
    let first_zero = parts[..point.unwrap_or(parts.len())]
        .iter()
        .filter(|p| is_digit(p))
        .position(|p| *p == NumPart::Digit(true));
    let mut out = String::new();
    let (mut int_at, mut frac_at, mut started) = (0usize, 0usize, false);
    let leading_sign = parts
        .iter()
        .take_while(|p| !is_digit(p))
        .any(|p| *p == NumPart::Sign);
    let start = |out: &mut String, started: &mut bool| {
        if !*started {
            *started = true;
            if floating_sign {
                out.push_str(sign_text(false));
            } else if leading_sign {
                out.push_str(sign_text(true));
            } else if parts.contains(&NumPart::Brackets) {
                out.push_str(if negative { "<" } else { blank });
            }
        }
    };
    for (k, part) in parts.iter().enumerate() {
        let in_fraction = point.is_some_and(|at| k > at);
        match *part {
            NumPart::Digit(_) if in_fraction => {
                if frac_at < frac_keep {
                    out.push(if overflow {
                        '#'
                    } else {
                        char::from(frac_digits.as_bytes()[frac_at])
                    });
                }
                frac_at += 1;
            }
            NumPart::Digit(_) => {
                let from_right = int_positions - 1 - int_at;
                int_at += 1;
                let digit = if overflow {
                    Some('#')
                } else if from_right < int_digits.len() {
                    Some(char::from(
                        int_digits.as_bytes()[int_digits.len() - 1 - from_right],
                    ))
                } else if first_zero.is_some_and(|z| int_at > z) {
                    Some('0')
                } else {
                    None
                };
                match digit {
                    Some(d) => {
                        start(&mut out, &mut started);
                        out.push(d);
                    }
                    None => out.push_str(blank),
                }
            }
            NumPart::Point => {
                start(&mut out, &mut started);
                if frac_positions > 0 {
                    out.push('.');
                }
            }
            NumPart::Comma => out.push_str(if started { "," } else { blank }),
            NumPart::Sign if started || !leading_sign => out.push_str(sign_text(true)),
            NumPart::Sign => {}
            NumPart::Minus => out.push_str(if negative { "-" } else { blank }),
            NumPart::Plus => out.push_str(if negative { blank } else { "+" }),
            NumPart::SignAlways => out.push(if negative { '-' } else { '+' }),
            NumPart::Brackets => {
                start(&mut out, &mut started);
                out.push_str(if negative { ">" } else { blank });
            }
            NumPart::Ordinal(lower) if lower => out.push_str(suffix),
            NumPart::Ordinal(_) => out.push_str(&suffix.to_ascii_uppercase()),
            NumPart::Currency => out.push(' '),
            NumPart::Roman(_) => {}
            NumPart::Literal(c) => out.push(c),
        }
    }
    Ok(out)
}

/// The decimal text `text` multiplied by 10^n: its point moved `n` digits to the right.
fn shift_decimal(text: &str, n: usize) -> String {
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let mut frac: String = frac_part.to_string();
    while frac.len() < n {
        frac.push('0');
    }
    let (moved, rest) = frac.split_at(n);
    if rest.is_empty() {
        format!("{sign}{int_part}{moved}")
    } else {
        format!("{sign}{int_part}{moved}.{rest}")
    }
}

/// to_char with `EEEE`: the value in scientific notation with the pattern's fraction digits
/// (a blank where a negative number has its sign), or `#`s for a non-finite double.
/// Nothing else of the pattern is printed.
fn to_char_scientific(value: &Val, format: &NumFormat) -> String {
    let post = format.post;
    let (negative, mantissa, exponent) = match value {
        Val::F(f) if !f.is_finite() => {
            let mut out = String::from(" ");
            out.push_str(&"#".repeat(format.pre));
            out.push('.');
            out.push_str(&"#".repeat(post + 4));
            return out;
        }
        Val::F(f) => {
            let text = format!("{:.*e}", post, f.abs());
            let (m, e) = text.split_once('e').unwrap_or((text.as_str(), "0"));
            (
                f.is_sign_negative(),
                m.to_string(),
                e.parse::<i64>().unwrap_or(0),
            )
        }
        Val::I(i) => decimal_scientific(&i.to_string(), post),
        other => decimal_scientific(other.s(), post),
    };
    format!(
        "{}{mantissa}e{exponent:+03}",
        if negative { "-" } else { " " }
    )
}

/// A decimal text's sign, mantissa (one digit, then `post` after a point, rounded half away
/// from zero) and exponent, as PostgreSQL's numeric_out_sci gives them.
fn decimal_scientific(text: &str, post: usize) -> (bool, String, i64) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .filter(u8::is_ascii_digit)
        .collect();
    let point = i64::try_from(int_part.len()).unwrap_or(0);
    let Some(first) = digits.iter().position(|d| *d != b'0') else {
        let mut m = String::from("0");
        if post > 0 {
            m.push('.');
            m.push_str(&"0".repeat(post));
        }
        return (false, m, 0);
    };
    let exponent = point - i64::try_from(first).unwrap_or(0) - 1;
    let significant = &digits[first..];
    let mut kept: Vec<u8> = (0..=post)
        .map(|k| significant.get(k).copied().unwrap_or(b'0'))
        .collect();
    if significant.get(post + 1).is_some_and(|d| *d >= b'5') {
        // Round up: carry through the nines. Past the first digit the mantissa becomes 10
        // and the exponent stays (9.996 is 10.00e+00), as in PostgreSQL.
        let mut k = kept.len();
        loop {
            if k == 0 {
                kept.insert(0, b'1');
                break;
            }
            k -= 1;
            if kept[k] == b'9' {
                kept[k] = b'0';
            } else {
                kept[k] += 1;
                break;
            }
        }
    }
    let int_len = kept.len() - post;
    let mut m: String = kept[..int_len].iter().map(|d| char::from(*d)).collect();
    if post > 0 {
        m.push('.');
        m.extend(kept[int_len..].iter().map(|d| char::from(*d)));
    }
    (negative, m, exponent)
}

/// to_char with `RN`: the value rounded to an integer in Roman numerals, right-aligned in 15
/// characters (FM: not padded), `#`s outside 1 to 3999; an exact value past the integer
/// range is PostgreSQL's 22003. The pattern's literal text is copied, its other keywords
/// print blanks (`,`, `MI`, `PL`, `L`) or nothing, and `SG` ends the text, as PostgreSQL's
/// does (it writes a NUL there).
fn to_char_roman(value: &Val, format: &NumFormat) -> Result<String> {
    let n: Option<i64> = match value {
        // A double is rounded half to even, and one past the integer range is out of range.
        Val::F(f) => {
            let r = f.round_ties_even();
            (r.is_finite() && r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX))
                .then_some(r as i64)
        }
        other => {
            let (negative, int_digits, _) = number_digits(other, 0)?;
            let magnitude = if int_digits.is_empty() {
                Some(0)
            } else {
                int_digits.parse::<i64>().ok()
            };
            let n = magnitude
                .map(|m| if negative { -m } else { m })
                .filter(|n| i32::try_from(*n).is_ok());
            match n {
                Some(n) => Some(n),
                None => {
                    return Err(Error::NumericOutOfRange {
                        message: "integer out of range".into(),
                    })
                }
            }
        }
    };
    let roman = match n {
        Some(n @ 1..=3999) => roman_numeral(n),
        _ => "#".repeat(15),
    };
    let mut out = String::new();
    for part in &format.parts {
        match *part {
            NumPart::Roman(lower) => {
                let text = if lower {
                    roman.to_ascii_lowercase()
                } else {
                    roman.clone()
                };
                if format.fill_mode {
                    out.push_str(&text);
                } else {
                    out.push_str(&format!("{text:>15}"));
                }
            }
            NumPart::Comma | NumPart::Minus | NumPart::Plus if !format.fill_mode => out.push(' '),
            NumPart::Currency => out.push(' '),
            NumPart::SignAlways => break,
            NumPart::Literal(c) => out.push(c),
            _ => {}
        }
    }
    Ok(out)
}

/// `n` (1 to 3999) in upper-case Roman numerals.
fn roman_numeral(mut n: i64) -> String {
    const NUMERALS: [(i64, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, numeral) in NUMERALS {
        while n >= value {
            out.push_str(numeral);
            n -= value;
        }
    }
    out
}

/// A number's sign, integer digits (none for zero) and `frac` fraction digits, rounded half
/// away from zero.
fn number_digits(value: &Val, frac: usize) -> Result<(bool, String, String)> {
    let text = match value {
        Val::F(f) if !f.is_finite() => {
            return Err(Error::InvalidParameter {
                message: "cannot format a non-finite number".into(),
            })
        }
        Val::F(f) => format!("{f:.frac$}"),
        Val::I(i) => i.to_string(),
        other => other.s().to_string(),
    };
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.as_str()),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(Error::Internal(format!("to_char of the number {text}")));
    }
    let mut digits: Vec<u8> = int_part.bytes().collect();
    let frac_bytes = frac_part.as_bytes();
    for j in 0..frac {
        digits.push(frac_bytes.get(j).copied().unwrap_or(b'0'));
    }
    if frac_bytes.get(frac).is_some_and(|b| *b >= b'5') {
        // Round up: carry through the nines.
        let mut k = digits.len();
        loop {
            if k == 0 {
                digits.insert(0, b'1');
                break;
            }
            k -= 1;
            if digits[k] == b'9' {
                digits[k] = b'0';
            } else {
                digits[k] += 1;
                break;
            }
        }
    }
    let split = digits.len() - frac;
    let int_digits: String = String::from_utf8_lossy(&digits[..split])
        .trim_start_matches('0')
        .to_string();
    let frac_digits = String::from_utf8_lossy(&digits[split..]).to_string();
    let zero = int_digits.is_empty() && frac_digits.bytes().all(|b| b == b'0');
    Ok((negative && !zero, int_digits, frac_digits))
}

/// A SIMILAR TO pattern as a POSIX regular expression, as PostgreSQL's similar_escape
/// translates it: anchored to the whole string, `%` and `_` as `.*` and `.`, groups
/// non-capturing, `.`, `^`, `$` and `\\` literal, and the escape character (backslash unless
/// `escape` says otherwise; none when it is empty) quoting the character after it.
fn similar_escape(pattern: &str, escape: Option<&str>) -> Result<String> {
    let escape = match escape {
        None => Some('\\'),
        Some(e) => {
            let mut chars = e.chars();
            match (chars.next(), chars.next()) {
                (None, _) => None,
                (Some(c), None) => Some(c),
                _ => {
                    return Err(Error::InvalidEscapeSequence {
                        message: "invalid escape string".into(),
                    })
                }
            }
        }
    };
    let mut out = String::with_capacity(pattern.len() + 8);
    out.push_str("^(?:");
    let (mut after_escape, mut in_class, mut quotes) = (false, false, 0);
    for c in pattern.chars() {
        if after_escape {
            after_escape = false;
            if c == '"' && !in_class {
                // Escape-double-quotes split the pattern into the parts SUBSTRING returns
                // the middle of.
                out.push_str(match quotes {
                    0 => "){1,1}?(",
                    1 => "){1,1}(?:",
                    _ => {
                        return Err(Error::InvalidEscapeSequence {
                            message: "SQL regular expression may not contain more than two \
                                      escape-double-quote separators"
                                .into(),
                        })
                    }
                });
                quotes += 1;
            } else {
                out.push('\\');
                out.push(c);
            }
        } else if Some(c) == escape {
            after_escape = true;
        } else if in_class {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
            in_class = c != ']';
        } else {
            match c {
                '[' => {
                    out.push(c);
                    in_class = true;
                }
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '(' => out.push_str("(?:"),
                '\\' | '.' | '^' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out.push_str(")$");
    Ok(out)
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
                vals.push(Val::N);
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
        let out = if null && !matches!(func, RowFunc::Concat | RowFunc::Format) {
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
        ToCharNumber => Out::S(to_char_number(arg(0)?, arg(1)?.s())?),
        ListaggLimit => {
            let s = arg(0)?.s();
            if s.len() > LISTAGG_BYTES_MAX {
                return Err(Error::ProgramLimitExceeded {
                    message: "Result size exceeds LISTAGG limit".into(),
                });
            }
            Out::S(s.to_owned())
        }
        SimilarEscape => Out::S(similar_escape(arg(0)?.s(), v.get(1).map(|e| e.s()))?),
        Format => match arg(0)? {
            Val::N => Out::Null,
            f => Out::S(format(f.s(), &v[1..])?),
        },
        WidthBucket => Out::I(width_bucket(
            arg(0)?.f(),
            arg(1)?.f(),
            arg(2)?.f(),
            arg(3)?.i(),
        )?),
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
                self::Trig::Atan2 | self::Trig::Atan2d => Some(arg(1)?.f()),
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

/// PostgreSQL 15's `width_bucket(float8, float8, float8, int)`.
fn width_bucket(x: f64, b1: f64, b2: f64, count: i64) -> Result<i64> {
    let invalid = |message: &str| Error::InvalidWidthBucketArgument {
        message: message.into(),
    };
    if count <= 0 {
        return Err(invalid("count must be greater than zero"));
    }
    let count = i32::try_from(count).map_err(|_| Error::NumericOutOfRange {
        message: "integer out of range".into(),
    })?;
    if x.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(invalid(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(invalid("lower and upper bounds must be finite"));
    }
    let over = || {
        count
            .checked_add(1)
            .map(i64::from)
            .ok_or(Error::NumericOutOfRange {
                message: "integer out of range".into(),
            })
    };
    let c = f64::from(count);
    if b1 < b2 {
        if x < b1 {
            Ok(0)
        } else if x >= b2 {
            over()
        } else {
            Ok((c * (x - b1) / (b2 - b1) + 1.0) as i64)
        }
    } else if b1 > b2 {
        if x > b1 {
            Ok(0)
        } else if x <= b2 {
            over()
        } else {
            Ok((c * (b1 - x) / (b1 - b2) + 1.0) as i64)
        }
    } else {
        Err(invalid("lower bound cannot equal upper bound"))
    }
}

/// An identifier as PostgreSQL's `quote_ident` writes it: bare when it is lower-case ASCII
/// letters, digits and underscores, not starting with a digit, and not a keyword that would
/// need quoting; double-quoted (inner quotes doubled) otherwise.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && crate::kernels::keywords::keyword(name)
            .is_none_or(|k| k.category == crate::kernels::keywords::Category::Unreserved);
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A string as PostgreSQL's `quote_literal` writes it: single-quoted with quotes doubled, and
/// with backslashes doubled under an `E` prefix when it has any.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn format_error(message: &str) -> Error {
    Error::InvalidParameter {
        message: message.into(),
    }
}

/// Reads a decimal number at `*i`; PostgreSQL's "number is out of range" past `i32::MAX`.
fn format_number(chars: &[char], i: &mut usize) -> Result<i64> {
    let mut n: i64 = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        n = n * 10 + i64::from(d);
        if n > i64::from(i32::MAX) {
            return Err(Error::NumericOutOfRange {
                message: "number is out of range".into(),
            });
        }
        *i += 1;
    }
    Ok(n)
}

/// PostgreSQL's `format()`: `fmt` with each `%[position$][-][width]type` replaced by an
/// argument (`args`, NULL as [`Val::N`]). `type` is `s` (the text; NULL is empty), `I` (an
/// identifier, quoted as needed; NULL is an error) or `L` (a literal; NULL is `NULL`); `%%`
/// is a percent sign. The width is a number, `*` (the next argument) or `*n$`; a negative
/// width or `-` pads on the right.
fn format(fmt: &str, args: &[Val]) -> Result<String> {
    let unterminated = || format_error("unterminated format() type specifier");
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    let mut next = 0usize;
    let mut i = 0usize;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        match chars.get(i) {
            None => return Err(unterminated()),
            Some('%') => {
                out.push('%');
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        // [position$][-...][width | * | *n$]
        let mut position: Option<i64> = None;
        let mut left = false;
        let mut width: i64 = 0;
        let mut width_arg: Option<Option<i64>> = None;
        let mut width_done = false;
        if chars.get(i).is_some_and(char::is_ascii_digit) {
            let n = format_number(&chars, &mut i)?;
            if i >= chars.len() {
                return Err(unterminated());
            }
            if chars[i] == '$' {
                i += 1;
                if n == 0 {
                    return Err(format_error(
                        "format specifies argument 0, but arguments are numbered from 1",
                    ));
                }
                position = Some(n);
            } else {
                width = n;
                width_done = true;
            }
        }
        if !width_done {
            while chars.get(i) == Some(&'-') {
                left = true;
                i += 1;
            }
            if chars.get(i) == Some(&'*') {
                i += 1;
                if chars.get(i).is_some_and(char::is_ascii_digit) {
                    let n = format_number(&chars, &mut i)?;
                    if chars.get(i) != Some(&'$') {
                        return Err(if i >= chars.len() {
                            unterminated()
                        } else {
                            format_error("width argument position must be ended by \"$\"")
                        });
                    }
                    i += 1;
                    if n == 0 {
                        return Err(format_error(
                            "format specifies argument 0, but arguments are numbered from 1",
                        ));
                    }
                    width_arg = Some(Some(n));
                } else {
                    width_arg = Some(None);
                }
            } else if chars.get(i).is_some_and(char::is_ascii_digit) {
                width = format_number(&chars, &mut i)?;
            }
        }
        let Some(&kind) = chars.get(i) else {
            return Err(unterminated());
        };
        i += 1;
        if !matches!(kind, 's' | 'I' | 'L') {
            return Err(format_error(&format!(
                "unrecognized format() type specifier \"{kind}\""
            )));
        }
        let too_few = || format_error("too few arguments for format()");
        if let Some(at) = width_arg {
            let k = match at {
                Some(n) => usize::try_from(n - 1).map_err(|_| too_few())?,
                None => next,
            };
            let w = args.get(k).ok_or_else(too_few)?;
            width = match w {
                Val::N => 0,
                Val::S(s) => s.trim().parse::<i32>().map(i64::from).map_err(|_| {
                    Error::InvalidTextRepresentation {
                        message: format!("invalid input syntax for type integer: \"{s}\""),
                    }
                })?,
                other => other.i(),
            };
            next = k + 1;
        }
        let k = match position {
            Some(n) => usize::try_from(n - 1).map_err(|_| too_few())?,
            None => next,
        };
        let value = args.get(k).ok_or_else(too_few)?;
        next = k + 1;
        let text = match (kind, value) {
            ('s', Val::N) => String::new(),
            ('L', Val::N) => "NULL".to_owned(),
            ('I', Val::N) => {
                return Err(Error::NullValueNotAllowed {
                    message: "null values cannot be formatted as an SQL identifier".into(),
                })
            }
            ('I', v) => quote_ident(v.s()),
            ('L', v) => quote_literal(v.s()),
            (_, v) => v.s().to_owned(),
        };
        if width < 0 {
            left = true;
            width = -width;
        }
        let pad = usize::try_from(width)
            .unwrap_or(0)
            .saturating_sub(text.chars().count());
        if pad > 1 << 30 {
            return Err(Error::ProgramLimitExceeded {
                message: "requested length too large".into(),
            });
        }
        if !left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(&text);
        if left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    Ok(out)
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
    fn numbers_are_laid_out_as_postgresql_to_char() {
        // Values and patterns whose results PostgreSQL 15 gives as written: blanks and the
        // sign before the first digit, zeros from the first 0, rounding, overflow, FM, S,
        // MI, PR.
        let f = |v: &str, p: &str| to_char_number(&Val::S(v), p).unwrap();
        assert_eq!(f("125", "999"), " 125");
        assert_eq!(f("-125.8", "999D99"), "-125.80");
        assert_eq!(f("0.5", "0.99"), " 0.50");
        assert_eq!(f("0.5", "9.99"), "  .50");
        assert_eq!(f("1234567", "9,999,999"), " 1,234,567");
        assert_eq!(f("12", "9999"), "   12");
        assert_eq!(f("12", "0999"), " 0012");
        assert_eq!(f("-12", "FM9999"), "-12");
        assert_eq!(f("12345", "999"), " ###");
        assert_eq!(f("1.005", "9.99"), " 1.01");
        assert_eq!(f("-12", "S999"), " -12");
        assert_eq!(f("12", "S999"), " +12");
        assert_eq!(f("-12", "999MI"), " 12-");
        assert_eq!(f("12", "999MI"), " 12 ");
        assert_eq!(f("-12", "999PR"), " <12>");
        assert_eq!(f("12.5", "FM999.99"), "12.5");
        assert_eq!(f("0", "999"), "   0");
        assert_eq!(f("-0.5", "9.9"), " -.5");
        assert_eq!(f("-1234.567", "9,999.99"), "-1,234.57");
        assert_eq!(f("12", "FM0999.90"), "0012.00");
        assert_eq!(f("9.96", "9.9"), " #.#");
        assert_eq!(f("-12345", "999"), "-###");
        assert_eq!(f("-12", "999S"), " 12-");
        assert_eq!(f("-12", "MI999"), "- 12");
        assert_eq!(f("12", "FM99.99"), "12.");
        assert_eq!(f("12", "\"n=\"99"), "n= 12");
        assert_eq!(f("-0.001", "9.99"), "  .00");
        assert_eq!(f("0", "FM9.99"), "0.");
        assert_eq!(f("0.05", "FM9.99"), ".05");
        assert_eq!(f("-0.5", "FM9.99"), "-.5");
        assert_eq!(to_char_number(&Val::F(1.5), "9.99").unwrap(), " 1.50");
        assert!(to_char_number(&Val::S("1"), "9.9.9").is_err());
    }

    #[test]
    fn numbers_take_postgresql_to_char_sign_roman_ordinal_shift_and_scientific_patterns() {
        // Values and patterns whose results PostgreSQL 15 gives as written: PL and SG, RN
        // (rounded, 1 to 3999), TH, V, L, B and EEEE (a NUMERIC keeps the exponent it had
        // before rounding).
        let f = |v: &str, p: &str| to_char_number(&Val::S(v), p).unwrap();
        assert_eq!(f("1", "9999PL"), "    1+");
        assert_eq!(f("-1", "PL9999"), "    -1");
        assert_eq!(f("-12.5", "99.9SG"), "12.5-");
        assert_eq!(f("1994", "RN"), "        MCMXCIV");
        assert_eq!(f("12.5", "FMrn"), "xiii");
        assert_eq!(f("4000", "FMRN"), "###############");
        assert_eq!(f("5", "\"n=\"RN"), "n=              V");
        assert_eq!(f("112", "FM999th"), "112th");
        assert_eq!(f("22", "FM99TH"), "22ND");
        assert_eq!(f("-1", "9th"), "-1");
        assert_eq!(f("12.345", "99V999"), " 12345");
        assert_eq!(f("1", "L9"), "  1");
        assert_eq!(f("1", "9B9"), "  1");
        assert_eq!(f("9.996", "9.99EEEE"), " 10.00e+00");
        assert_eq!(f("-0.000125", "9.99EEEE"), "-1.25e-04");
        assert_eq!(f("0", "9EEEE"), " 0e+00");
        let g = |v: f64, p: &str| to_char_number(&Val::F(v), p).unwrap();
        assert_eq!(g(1234.5, "9.999EEEE"), " 1.234e+03");
        assert_eq!(g(f64::INFINITY, "9.9EEEE"), " #.#####");
        assert_eq!(g(2.5, "FMRN"), "II");
        assert_eq!(g(1e10, "FMRN"), "###############");
        assert_eq!(g(12.5, "99V9"), " 125");
        assert_eq!(g(f64::INFINITY, "S999"), "+###");
        assert_eq!(g(f64::NEG_INFINITY, "9.99"), "-#.##");
        // Past the integer range, RN of an exact value is out of range.
        assert!(to_char_number(&Val::S("10000000000"), "RN").is_err());
        for bad in [
            "9MIPR",
            "PR9",
            "S9S",
            "S9PL",
            "PL9S",
            "9.9V9",
            "9V9.9",
            "9EEEEEEEE",
        ] {
            assert!(to_char_number(&Val::S("1"), bad).is_err(), "{bad}");
        }
        for bad in ["FM9.9EEEE", "S9.9EEEE", "9V9EEEE", "B9EEEE", "9.9EEEEPR"] {
            assert!(to_char_number(&Val::S("1"), bad).is_err(), "{bad}");
        }
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

    // format(): an unnumbered specifier continues after the last argument used; widths pad
    // on the left, or on the right with `-` or a negative width.
    #[test]
    fn format_positions_and_widths() {
        let f = |fmt: &str, args: &[Val]| format(fmt, args).ok();
        let (a, b) = (Val::S("a"), Val::S("b"));
        assert_eq!(f("%2$s %1$s %s", &[a, b]).as_deref(), Some("b a b"));
        assert_eq!(
            f(
                "|%3s|%-3s|%*s|",
                &[Val::S("x"), Val::S("y"), Val::I(-2), Val::S("z")]
            )
            .as_deref(),
            Some("|  x|y  |z |")
        );
        assert_eq!(f("%L %s", &[Val::N, Val::N]).as_deref(), Some("NULL "));
        assert!(f("%s %s", &[Val::S("one")]).is_none());
        assert!(f("%I", &[Val::N]).is_none());
        assert!(f("%", &[]).is_none());
    }

    // Keywords other than unreserved ones (reserved `select`, type-or-function `left`,
    // column-name `int`) and capitals are quoted; an unreserved keyword (`abort`) is not.
    #[test]
    fn quote_ident_quotes_keywords() {
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("left"), "\"left\"");
        assert_eq!(quote_ident("int"), "\"int\"");
        assert_eq!(quote_ident("abort"), "abort");
        assert_eq!(quote_ident("abc_1"), "abc_1");
        assert_eq!(quote_ident("A\"b"), "\"A\"\"b\"");
        assert_eq!(quote_literal("it's \\"), "E'it''s \\\\'");
    }

    // The trigonometric functions in degrees are exact at the special angles.
    #[test]
    fn degrees_are_exact_at_special_angles() {
        let t = |f: Trig, x: f64| f.apply(x, None).ok();
        assert_eq!(t(Trig::Sind, 30.0), Some(0.5));
        assert_eq!(t(Trig::Sind, 210.0), Some(-0.5));
        assert_eq!(t(Trig::Cosd, 60.0), Some(0.5));
        assert_eq!(t(Trig::Cosd, 90.0), Some(0.0));
        assert_eq!(t(Trig::Tand, 45.0), Some(1.0));
        assert_eq!(t(Trig::Tand, 180.0), Some(0.0));
        assert_eq!(t(Trig::Cotd, 45.0), Some(1.0));
        assert_eq!(t(Trig::Asind, 0.5), Some(30.0));
        assert_eq!(t(Trig::Acosd, -0.5), Some(120.0));
        assert_eq!(t(Trig::Atand, 1.0), Some(45.0));
        assert_eq!(Trig::Atan2d.apply(-1.0, Some(-1.0)).ok(), Some(-135.0));
        assert!(t(Trig::Sind, f64::INFINITY).is_none());
    }
}

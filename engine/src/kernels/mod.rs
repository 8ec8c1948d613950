//! Kernels: whole-array operations the operators are built from.
//!
//! - `cast`: conversions between SQL types (PostgreSQL's rules and messages).
//! - `array`: array construction, ANY / ALL, subscripts and the array functions.
//! - `arith`: arithmetic with overflow and division-by-zero checks, exact NUMERIC.
//! - `bitwise`: `&`, `|`, `#`, `~`, `<<` and `>>` on the integer types.
//! - `eval`: evaluates bound expressions over a batch.
//! - `keywords`: PostgreSQL's SQL keywords and their categories (`pg_get_keywords`,
//!   `quote_ident`).
//! - `func`: row-wise string, regular-expression and math functions, and `format()`.
//! - `exact`: gcd, lcm, div, factorial and width_bucket over integers and NUMERIC.
//! - `string`: LIKE, SUBSTRING and the other string functions.
//! - `datetime`: EXTRACT and the date fields.
//! - `dates`: date arithmetic, date_trunc, DATEADD, DATEDIFF, to_char and the other date
//!   functions.
//! - `interval`: INTERVAL and TIME arithmetic, justify_*, age, and the order of intervals.
//! - `zones`: AT TIME ZONE and CONVERT_TIMEZONE over the IANA zone database.

pub mod arith;
pub mod array;
pub mod bitwise;
pub mod cast;
pub mod dates;
pub mod datetime;
pub mod eval;
pub mod exact;
pub mod func;
pub mod interval;
pub mod keywords;
pub mod string;
pub mod zones;

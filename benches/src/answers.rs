//! Query results as text, stored answers, and the comparison rules between two engines' results.
//!
//! A result is a header of column names and kinds and rows of text values (`None` for NULL).
//! Two results agree when they have the same number of columns and rows, in the same order when
//! the query orders its rows (as multisets otherwise), and every pair of values agrees:
//! - integers and decimals exactly, after normalizing their scale (`1.50` equals `1.5`);
//! - when either side is a floating-point number, within a relative 1e-9;
//! - strings exactly, after trimming the blank padding of CHAR values.
//!
//! The stored form is `|`-delimited text: a header line `name:kind|...` and one line per row,
//! `\N` for NULL.

use std::fmt;

use basalt_engine::{pgtext, QueryResult, SqlType};

/// How values of a column compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer or decimal: compared exactly.
    Exact,
    /// A floating-point number: compared within a relative 1e-9.
    Float,
    /// Anything else (strings, dates): compared as text, trailing blanks trimmed.
    Text,
}

impl Kind {
    pub fn of_sql_type(ty: SqlType) -> Kind {
        match ty {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt | SqlType::Decimal { .. } => {
                Kind::Exact
            }
            SqlType::Real | SqlType::Double => Kind::Float,
            _ => Kind::Text,
        }
    }

    /// The kind of a column of DuckDB, DataFusion or PostgreSQL type `name` (as DuckDB's and
    /// DataFusion's Python APIs spell types, and PostgreSQL's `pg_type.typname`: `int8`,
    /// `numeric`, `float8`, `bpchar`).
    pub fn of_type_name(name: &str) -> Kind {
        let n = name.to_ascii_uppercase();
        if n.starts_with("DECIMAL")
            || n.contains("INT")
            || n.starts_with("NUMERIC")
            || n.starts_with("UINT")
        {
            Kind::Exact
        } else if n.starts_with("DOUBLE") || n.starts_with("FLOAT") || n == "REAL" {
            Kind::Float
        } else {
            Kind::Text
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::Float => "float",
            Kind::Text => "text",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "exact" => Some(Kind::Exact),
            "float" => Some(Kind::Float),
            "text" => Some(Kind::Text),
            _ => None,
        }
    }
}

/// A query result as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub columns: Vec<(String, Kind)>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Answer {
    /// Renders an engine result as PostgreSQL renders its values.
    pub fn from_query(q: &QueryResult) -> Answer {
        let columns = q
            .columns
            .iter()
            .map(|c| (c.name.clone(), Kind::of_sql_type(c.ty)))
            .collect();
        let mut rows = Vec::with_capacity(q.num_rows());
        for b in &q.batches {
            for r in 0..b.num_rows() {
                rows.push(
                    q.columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            pgtext::format_value(b.column(i).as_ref(), r, c.ty, pgtext::Zone::UTC)
                        })
                        .collect(),
                );
            }
        }
        Answer { columns, rows }
    }

    /// The stored text form; fails when a value holds the delimiter or a line break.
    pub fn to_text(&self) -> Result<String, String> {
        let mut out = String::new();
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|(n, k)| format!("{n}:{}", k.name()))
            .collect();
        out.push_str(&header.join("|"));
        out.push('\n');
        for row in &self.rows {
            let mut cells = Vec::with_capacity(row.len());
            for v in row {
                match v {
                    None => cells.push("\\N"),
                    Some(v) if v.contains(['|', '\n', '\r']) || v == "\\N" => {
                        return Err(format!("value {v:?} cannot be stored"))
                    }
                    Some(v) => cells.push(v.as_str()),
                }
            }
            out.push_str(&cells.join("|"));
            out.push('\n');
        }
        Ok(out)
    }

    /// Parses the stored text form.
    pub fn parse(text: &str) -> Result<Answer, String> {
        let mut lines = text.lines();
        let header = lines.next().ok_or("empty answer file")?;
        let mut columns = Vec::new();
        for h in header.split('|') {
            let (name, kind) = h
                .rsplit_once(':')
                .ok_or_else(|| format!("header field {h:?} is not name:kind"))?;
            let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
            columns.push((name.to_string(), kind));
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row: Vec<Option<String>> = if columns.len() == 1 && line.is_empty() {
                vec![Some(String::new())]
            } else {
                line.split('|')
                    .map(|v| (v != "\\N").then(|| v.to_string()))
                    .collect()
            };
            if row.len() != columns.len() {
                return Err(format!(
                    "line {}: {} values for {} columns",
                    i + 2,
                    row.len(),
                    columns.len()
                ));
            }
            rows.push(row);
        }
        Ok(Answer { columns, rows })
    }
}

/// Why two results differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decimal literal as (digits without trailing fractional zeros, scale), e.g. `-1.50` as
/// (-15, 1).
fn exact(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let frac = frac.trim_end_matches('0');
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    Some((if neg { -v } else { v }, frac.len() as u32))
}

fn float(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// Whether two values agree, given the kinds of their columns.
pub fn values_agree(a: Option<&str>, ka: Kind, b: Option<&str>, kb: Kind) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return a.is_none() && b.is_none();
    };
    match (ka, kb) {
        (Kind::Exact, Kind::Exact) => match (exact(a), exact(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (Kind::Float, Kind::Float | Kind::Exact) | (Kind::Exact, Kind::Float) => {
            match (float(a), float(b)) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        _ => a.trim_end_matches(' ') == b.trim_end_matches(' '),
    }
}

/// A row's sort key for comparing results as multisets: exact numbers normalized, strings
/// trimmed.
fn row_key(row: &[Option<String>], kinds: &[Kind]) -> Vec<Option<String>> {
    row.iter()
        .zip(kinds)
        .map(|(v, k)| {
            v.as_ref().map(|v| match (k, exact(v)) {
                (Kind::Exact, Some((d, s))) => format!("{d}e-{s}"),
                _ => v.trim_end_matches(' ').to_string(),
            })
        })
        .collect()
}

/// Compares `actual` with `expected`; `ordered` when the query orders its rows.
pub fn compare(actual: &Answer, expected: &Answer, ordered: bool) -> Result<(), Mismatch> {
    if actual.columns.len() != expected.columns.len() {
        return Err(Mismatch(format!(
            "{} columns, expected {}",
            actual.columns.len(),
            expected.columns.len()
        )));
    }
    if actual.rows.len() != expected.rows.len() {
        return Err(Mismatch(format!(
            "{} rows, expected {}",
            actual.rows.len(),
            expected.rows.len()
        )));
    }
    let ka: Vec<Kind> = actual.columns.iter().map(|c| c.1).collect();
    let kb: Vec<Kind> = expected.columns.iter().map(|c| c.1).collect();
    let mut a: Vec<&Vec<Option<String>>> = actual.rows.iter().collect();
    let mut b: Vec<&Vec<Option<String>>> = expected.rows.iter().collect();
    if !ordered {
        a.sort_by_cached_key(|r| row_key(r, &ka));
        b.sort_by_cached_key(|r| row_key(r, &kb));
    }
    for (i, (ra, rb)) in a.iter().zip(&b).enumerate() {
        for c in 0..ka.len() {
            if !values_agree(ra[c].as_deref(), ka[c], rb[c].as_deref(), kb[c]) {
                let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
                return Err(Mismatch(format!(
                    "row {} column {} ({}): got {}, expected {}",
                    i + 1,
                    c + 1,
                    expected.columns[c].0,
                    show(&ra[c]),
                    show(&rb[c])
                )));
            }
        }
    }
    Ok(())
}

/// How a query listed in `known-failing.txt` fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known {
    /// It errors or answers wrongly; the test runs it and expects that.
    Fails(String),
    /// It runs too long to be part of the test (`qNN: skip: reason`); the test does not run it,
    /// and `tpch --write-answers` reports whether it passes.
    Skip(String),
}

/// The queries the engine cannot answer yet, with the reason: `benches/tpch/answers/known-failing.txt`,
/// one `qNN: reason` (or `qNN: skip: reason`) per line, `#` starting a comment. The TPC-H test
/// fails when a query outside the list fails and when a listed query passes, so the list can
/// only shrink.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KnownFailing(pub std::collections::BTreeMap<usize, Known>);

impl KnownFailing {
    pub fn parse(text: &str) -> Result<KnownFailing, String> {
        let mut map = std::collections::BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (q, reason) = line.split_once(':').unwrap_or((line, ""));
            let n = q
                .trim()
                .strip_prefix('q')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=22).contains(n))
                .ok_or_else(|| format!("line {}: {q:?} is not a query from q01 to q22", i + 1))?;
            let reason = reason.trim();
            let entry = match reason.strip_prefix("skip:") {
                Some(r) => Known::Skip(r.trim().to_string()),
                None => Known::Fails(reason.to_string()),
            };
            if map.insert(n, entry).is_some() {
                return Err(format!("line {}: q{n:02} is listed twice", i + 1));
            }
        }
        Ok(KnownFailing(map))
    }

    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# TPC-H queries Basalt cannot answer yet at SF 0.01, with the reason; see\n\
             # benches/tests/tpch.rs. `qNN: skip: reason` marks a query too slow to run in the test.\n\
             # Remove a line when its query passes.\n",
        );
        for (q, known) in &self.0 {
            // One line per query: only the reason's first line is kept.
            let (prefix, reason) = match known {
                Known::Fails(r) => ("", r),
                Known::Skip(r) => ("skip: ", r),
            };
            let reason = reason.lines().next().unwrap_or("");
            out.push_str(&format!("q{q:02}: {prefix}{reason}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(kinds: &[Kind], rows: &[&[&str]]) -> Answer {
        Answer {
            columns: kinds
                .iter()
                .enumerate()
                .map(|(i, k)| (format!("c{i}"), *k))
                .collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
                .collect(),
        }
    }

    #[test]
    fn decimals_compare_exactly_after_scale() {
        assert!(values_agree(
            Some("1.50"),
            Kind::Exact,
            Some("1.5"),
            Kind::Exact
        ));
        assert!(values_agree(
            Some("-0.00"),
            Kind::Exact,
            Some("0"),
            Kind::Exact
        ));
        assert!(values_agree(
            Some("12"),
            Kind::Exact,
            Some("12.000"),
            Kind::Exact
        ));
        assert!(!values_agree(
            Some("1.51"),
            Kind::Exact,
            Some("1.5"),
            Kind::Exact
        ));
        assert!(!values_agree(
            Some("100.0000000001"),
            Kind::Exact,
            Some("100"),
            Kind::Exact
        ));
    }

    #[test]
    fn floats_compare_within_relative_tolerance() {
        assert!(values_agree(
            Some("25.5220058532573370"),
            Kind::Exact,
            Some("25.522005853257337"),
            Kind::Float
        ));
        assert!(values_agree(
            Some("1e+20"),
            Kind::Float,
            Some("100000000000000000000"),
            Kind::Exact
        ));
        assert!(!values_agree(
            Some("25.5221"),
            Kind::Exact,
            Some("25.522"),
            Kind::Float
        ));
        assert!(!values_agree(
            Some("x"),
            Kind::Float,
            Some("1"),
            Kind::Float
        ));
    }

    #[test]
    fn strings_ignore_char_padding_and_nulls_match_only_nulls() {
        assert!(values_agree(
            Some("AIR   "),
            Kind::Text,
            Some("AIR"),
            Kind::Text
        ));
        assert!(!values_agree(
            Some(" AIR"),
            Kind::Text,
            Some("AIR"),
            Kind::Text
        ));
        assert!(values_agree(None, Kind::Text, None, Kind::Exact));
        assert!(!values_agree(None, Kind::Text, Some(""), Kind::Text));
    }

    // The type names the peers report: DuckDB's, DataFusion's and PostgreSQL's.
    #[test]
    fn type_names_map_to_kinds() {
        for exact in [
            "DECIMAL(38,2)",
            "BIGINT",
            "int64",
            "int8",
            "int4",
            "numeric",
        ] {
            assert_eq!(Kind::of_type_name(exact), Kind::Exact, "{exact}");
        }
        for float in ["DOUBLE", "double", "float8", "float4", "REAL"] {
            assert_eq!(Kind::of_type_name(float), Kind::Float, "{float}");
        }
        for text in ["VARCHAR", "bpchar", "varchar", "date", "text"] {
            assert_eq!(Kind::of_type_name(text), Kind::Text, "{text}");
        }
    }

    #[test]
    fn order_matters_only_when_ordered() {
        let a = answer(&[Kind::Text, Kind::Exact], &[&["a", "1"], &["b", "2.0"]]);
        let b = answer(&[Kind::Text, Kind::Exact], &[&["b", "2"], &["a", "1.00"]]);
        assert!(compare(&a, &b, false).is_ok());
        assert!(compare(&a, &b, true).is_err());
        let short = answer(&[Kind::Text, Kind::Exact], &[&["a", "1"]]);
        assert_eq!(
            compare(&short, &b, false),
            Err(Mismatch("1 rows, expected 2".into()))
        );
    }

    #[test]
    fn known_failing_round_trips() {
        let text = "# comment\nq02: expression not supported yet: LIKE\n\nq19: skip: slow\n";
        let k = KnownFailing::parse(text).unwrap();
        assert_eq!(
            k.0.get(&2),
            Some(&Known::Fails("expression not supported yet: LIKE".into()))
        );
        assert_eq!(k.0.get(&19), Some(&Known::Skip("slow".into())));
        assert_eq!(KnownFailing::parse(&k.to_text()).unwrap(), k);
        assert!(KnownFailing::parse("q23: no such query").is_err());
        assert!(KnownFailing::parse("q01: a\nq1: b").is_err());
    }

    #[test]
    fn text_form_round_trips() {
        let mut a = answer(&[Kind::Text, Kind::Float], &[&["x y", "0.5"], &["", "1"]]);
        a.rows[1][1] = None;
        let text = a.to_text().unwrap();
        assert_eq!(text, "c0:text|c1:float\nx y|0.5\n|\\N\n");
        assert_eq!(Answer::parse(&text).unwrap(), a);
        let bad = answer(&[Kind::Text], &[&["a|b"]]);
        assert!(bad.to_text().is_err());
    }
}

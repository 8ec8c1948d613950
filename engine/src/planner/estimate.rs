//! Cardinality estimates for join ordering and EXPLAIN: per-column distinct counts, null
//! fractions and value ranges, from ANALYZE's statistics when the table has them and from the
//! segments' zone maps otherwise, and the fraction of rows a predicate keeps.
//!
//! Estimates only order joins and choose build sides; no result depends on them.

use basalt_storage::statistics::ColumnStats;
use basalt_storage::{Statistics, TableMeta, ZoneMap, ZoneValue};

use super::expr::{BinaryOp, Expr};
use super::plan::Plan;
use crate::types::Datum;

/// What the planner believes about one output column of a relation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ColumnEstimate {
    /// Distinct non-null values, at least 1.
    pub ndv: f64,
    /// Fraction of rows that are NULL.
    pub null_frac: f64,
    /// The smallest and largest value, for numeric, date and timestamp columns.
    pub range: Option<(f64, f64)>,
    /// Whether the figures come from ANALYZE.
    pub analyzed: bool,
}

/// Estimates of each output column of `plan` (with `width` columns and about `rows` rows):
/// for a table scan, each projected column's statistics if the table was analyzed, otherwise
/// its zone maps (integer and date columns: at most the width of their range; booleans: 2);
/// for anything else, or without either, every row distinct.
pub(crate) fn columns(
    plan: &Plan,
    width: usize,
    rows: u64,
    stats: Option<&Statistics>,
) -> Vec<ColumnEstimate> {
    let rows = (rows as f64).max(1.0);
    let unknown = ColumnEstimate {
        ndv: rows,
        null_frac: 0.0,
        range: None,
        analyzed: false,
    };
    let Plan::Scan {
        table,
        projection,
        external: None,
        ..
    } = plan
    else {
        return vec![unknown; width];
    };
    let table_stats = stats.and_then(|s| s.get(table.id));
    projection
        .iter()
        .map(|&c| {
            let analyzed = table
                .def
                .columns
                .get(c)
                .and_then(|def| table_stats.as_deref().and_then(|s| s.column(def)));
            match analyzed {
                Some(s) => from_stats(s, rows),
                None => from_zone_maps(table, c, rows),
            }
        })
        .collect()
}

fn from_stats(s: &ColumnStats, rows: f64) -> ColumnEstimate {
    ColumnEstimate {
        ndv: (s.distinct as f64).min(rows).max(1.0),
        null_frac: s.null_frac(),
        range: numeric_range(&s.zone),
        analyzed: true,
    }
}

fn from_zone_maps(table: &TableMeta, c: usize, rows: f64) -> ColumnEstimate {
    let mut zone: Option<ZoneMap> = None;
    for seg in &table.segments {
        if let Some(z) = seg.zone_map(&table.def, c) {
            match &mut zone {
                Some(acc) => acc.merge(z),
                None => zone = Some(z.clone()),
            }
        }
    }
    let width = match zone.as_ref().map(|z| (&z.min, &z.max)) {
        Some((Some(ZoneValue::Int(lo)), Some(ZoneValue::Int(hi)))) => {
            Some(hi.saturating_sub(*lo).saturating_add(1) as f64)
        }
        Some((Some(ZoneValue::Boolean(_)), Some(ZoneValue::Boolean(_)))) => Some(2.0),
        _ => None,
    };
    ColumnEstimate {
        ndv: width.map_or(rows, |n| n.min(rows)).max(1.0),
        null_frac: 0.0,
        range: None,
        analyzed: false,
    }
}

/// The range of a zone map's numeric bounds (decimals unscaled: only ratios are used).
fn numeric_range(zone: &ZoneMap) -> Option<(f64, f64)> {
    let value = |v: &ZoneValue| match v {
        ZoneValue::Int(i) => Some(*i as f64),
        ZoneValue::Decimal(d) => Some(*d as f64),
        ZoneValue::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    };
    let lo = value(zone.min.as_ref()?)?;
    let hi = value(zone.max.as_ref()?)?;
    (lo <= hi).then_some((lo, hi))
}

/// A constant's value on the scale of [`numeric_range`] for a column of the same type.
fn constant_value(e: &Expr) -> Option<f64> {
    let Expr::Literal { value, .. } = e else {
        return None;
    };
    match value {
        Datum::Int(i) => Some(*i as f64),
        Datum::Decimal(d, _) => Some(*d as f64),
        Datum::Float(f) if f.is_finite() => Some(*f),
        Datum::Date(d) => Some(f64::from(*d)),
        Datum::Timestamp(t) => Some(*t as f64),
        _ => None,
    }
}

/// The fraction of rows a predicate over one relation keeps, roughly: an equality with a
/// constant keeps one distinct value's share of the non-null rows; a range comparison with a
/// constant the share of the column's analyzed range it covers (a third without one); AND
/// and OR combine their parts' shares as if independent; anything else a fixed guess.
pub(crate) fn selectivity(p: &Expr, cols: &[ColumnEstimate]) -> f64 {
    match p {
        Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
            ..
        } => match (left.as_ref(), right.as_ref()) {
            (Expr::Column { index, .. }, other) | (other, Expr::Column { index, .. })
                if other.is_constant() =>
            {
                match cols.get(*index) {
                    Some(c) => {
                        // Without statistics a string column counts every row distinct: floor
                        // the estimate so such an equality is not taken to keep a single row.
                        let floor = if c.analyzed { 0.0 } else { 0.05 };
                        ((1.0 - c.null_frac) / c.ndv.max(1.0)).max(floor)
                    }
                    None => 0.1,
                }
            }
            _ => 0.1,
        },
        Expr::Binary { op, .. } if op.is_comparison() => {
            range_share(p, cols).map_or(0.33, |(_, share)| share)
        }
        Expr::Binary {
            op: BinaryOp::And, ..
        } => selectivity_all(p, cols),
        // Branches taken as independent: an IN list of n values keeps about n values' share.
        Expr::Binary {
            op: BinaryOp::Or,
            left,
            right,
            ..
        } => {
            let (a, b) = (selectivity(left, cols), selectivity(right, cols));
            (a + b - a * b).min(1.0)
        }
        _ => 0.5,
    }
}

/// For `column <op> constant` (or reversed) with a range comparison and an analyzed range:
/// the share of the column's non-null rows between its minimum and maximum that pass,
/// assuming values spread evenly.
fn range_share(p: &Expr, cols: &[ColumnEstimate]) -> Option<(usize, f64)> {
    let Expr::Binary {
        op, left, right, ..
    } = p
    else {
        return None;
    };
    let below_op = match op {
        BinaryOp::Lt | BinaryOp::LtEq => true,
        BinaryOp::Gt | BinaryOp::GtEq => false,
        _ => return None,
    };
    let (index, constant, below) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column { index, .. }, c) => (*index, c, below_op),
        (c, Expr::Column { index, .. }) => (*index, c, !below_op),
        _ => return None,
    };
    let column = cols.get(index)?;
    let (lo, hi) = column.range?;
    let v = constant_value(constant)?;
    let share = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else if v >= lo {
        1.0
    } else {
        0.0
    };
    let share = if below { share } else { 1.0 - share };
    // Never quite zero: statistics may be stale.
    Some((index, (share * (1.0 - column.null_frac)).max(0.0001)))
}

/// Two bounds of one analyzed column's range (BETWEEN): the share of the interval between.
fn interval_share(a: &Expr, b: &Expr, cols: &[ColumnEstimate]) -> Option<f64> {
    match (range_share(a, cols), range_share(b, cols)) {
        (Some((i, x)), Some((j, y))) if i == j => Some((x + y - 1.0).max(0.0001)),
        _ => None,
    }
}

/// The estimated rows of a table scan with `filter`, as EXPLAIN prints them.
pub(crate) fn scan_rows(plan: &Plan, stats: Option<&Statistics>) -> Option<u64> {
    let Plan::Scan {
        table,
        projection,
        filter,
        external: None,
    } = plan
    else {
        return None;
    };
    let rows = table.live_rows();
    let cols = columns(plan, projection.len(), rows, stats);
    let share = filter.as_ref().map_or(1.0, |f| selectivity_all(f, &cols));
    Some(
        ((rows as f64) * share)
            .round()
            .max(if rows > 0 { 1.0 } else { 0.0 }) as u64,
    )
}

/// The product of the selectivities of a predicate's conjuncts.
fn selectivity_all(p: &Expr, cols: &[ColumnEstimate]) -> f64 {
    match p {
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => interval_share(left, right, cols)
            .unwrap_or_else(|| selectivity_all(left, cols) * selectivity_all(right, cols)),
        other => selectivity(other, cols),
    }
}

/// Appends each table scan's estimated rows to its line of EXPLAIN's output (`lines`, as
/// [`Plan::explain`] rendered `plan`: each node, then its inputs left to right).
pub(crate) fn annotate_explain(plan: &Plan, lines: &mut [String], stats: Option<&Statistics>) {
    let mut estimates = Vec::new();
    scan_estimates(plan, stats, &mut estimates);
    let mut estimates = estimates.into_iter();
    for line in lines.iter_mut() {
        if line.contains("Seq Scan on ") {
            if let Some(rows) = estimates.next() {
                line.push_str(&format!(" (rows={rows})"));
            }
        }
    }
}

fn scan_estimates(plan: &Plan, stats: Option<&Statistics>, out: &mut Vec<u64>) {
    if let Some(rows) = scan_rows(plan, stats) {
        out.push(rows);
    }
    for input in plan.inputs() {
        scan_estimates(input, stats, out);
    }
}

//! Zone-map ranges from a scan's filter.
//!
//! A conjunct of a scan's filter that compares one of its columns with a constant
//! (`=`, `<`, `<=`, `>`, `>=`, and so `BETWEEN`, which binds to two of them) rules out every
//! row whose value lies outside a range, and every NULL. The scan hands these ranges to
//! storage, which skips segments and blocks whose zone maps show no value inside them. The
//! filter itself still runs on the rows read, so a range only needs to be implied by the
//! filter, never to be exact: whenever in doubt (another type on each side, CHAR's padding
//! rules, a cast that is not exact), no range is derived.

use basalt_storage::{ColumnRange, SqlType, ZoneValue};

use crate::planner::expr::{BinaryOp, Expr};
use crate::planner::plan::Plan;
use crate::types::Datum;

/// Adds a line under each `Seq Scan` line of `lines` (as [`Plan::explain`] rendered `plan`)
/// whose filter implies zone-map ranges: the columns they bound and how many of the table's
/// segments their zone maps (in the manifest) let through, out of how many. Blocks inside
/// the segments are pruned too, when the scan runs.
pub fn annotate_explain(plan: &Plan, lines: &mut Vec<String>) {
    let mut notes = Vec::new();
    scan_notes(plan, &mut notes);
    let mut notes = notes.into_iter();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines.drain(..) {
        let is_scan = line.contains("Seq Scan on ") || line.contains("External Scan on ");
        let indent = line.len() - line.trim_start().len();
        out.push(line);
        if !is_scan {
            continue;
        }
        if let Some(Some(note)) = notes.next() {
            out.push(format!("{}      {note}", " ".repeat(indent)));
        }
    }
    *lines = out;
}

/// One note per scan, in the order `Plan::explain` renders the nodes (`Plan::preorder`).
fn scan_notes(plan: &Plan, out: &mut Vec<Option<String>>) {
    let mut nodes = Vec::new();
    plan.preorder(&mut nodes);
    for node in nodes {
        match node {
            Plan::Scan {
                external: Some(source),
                projection,
                filter,
                ..
            } => out.push(Some(crate::external::scan::explain_note(
                source,
                projection,
                filter.as_ref(),
            ))),
            Plan::Scan {
                table,
                projection,
                filter,
                external: None,
            } => {
                let types: Vec<SqlType> = projection
                    .iter()
                    .filter_map(|c| table.def.columns.get(*c).map(|c| c.ty))
                    .collect();
                let ranges = filter
                    .as_ref()
                    .map(|f| column_ranges(f, projection, &types))
                    .unwrap_or_default();
                if ranges.is_empty() {
                    out.push(None);
                    continue;
                }
                let mut names: Vec<&str> = ranges
                    .iter()
                    .filter_map(|r| table.def.columns.get(r.column).map(|c| c.name.as_str()))
                    .collect();
                names.dedup();
                let total = table.segments.len();
                let kept = table
                    .segments
                    .iter()
                    .filter(|s| {
                        ranges.iter().all(|r| {
                            s.zone_map(&table.def, r.column)
                                .is_none_or(|z| r.may_match(z))
                        })
                    })
                    .count();
                out.push(Some(format!(
                    "Zone maps: ranges on {}; {kept} of {total} segments may match",
                    names.join(", ")
                )));
            }
            _ => {}
        }
    }
}

/// The ranges `filter` (over the scan's projected columns) implies, on table columns:
/// `projection[i]` is the table column of the scan's column `i`, `types[i]` its type.
pub fn column_ranges(filter: &Expr, projection: &[usize], types: &[SqlType]) -> Vec<ColumnRange> {
    let mut conjuncts = Vec::new();
    filter.operands_of(BinaryOp::And, &mut conjuncts);
    conjuncts
        .into_iter()
        .filter_map(|c| range_of(c, projection, types))
        .collect()
}

/// The range of one conjunct `column op constant` (either way round), if it is one.
fn range_of(e: &Expr, projection: &[usize], types: &[SqlType]) -> Option<ColumnRange> {
    let Expr::Binary {
        op, left, right, ..
    } = e
    else {
        return None;
    };
    let (op, column, constant) = match (column_of(left), column_of(right)) {
        (Some(c), None) => (*op, c, right.as_ref()),
        (None, Some(c)) => (flip(*op)?, c, left.as_ref()),
        _ => return None,
    };
    let (index, compared_as) = column;
    let column_ty = *types.get(index)?;
    let Expr::Literal { value, ty, .. } = constant else {
        return None;
    };
    if *ty != compared_as {
        return None;
    }
    let bound = zone_value(value, column_ty, compared_as)?;
    let table_column = *projection.get(index)?;
    let (lower, upper) = match op {
        BinaryOp::Eq => (Some((bound.clone(), true)), Some((bound, true))),
        BinaryOp::Lt => (None, Some((bound, false))),
        BinaryOp::LtEq => (None, Some((bound, true))),
        BinaryOp::Gt => (Some((bound, false)), None),
        BinaryOp::GtEq => (Some((bound, true)), None),
        _ => return None,
    };
    Some(ColumnRange {
        column: table_column,
        lower,
        upper,
    })
}

/// `column op constant` read the other way round.
fn flip(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Eq => BinaryOp::Eq,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        _ => return None,
    })
}

/// A scan column, possibly widened by an exact integer cast: its index and the type it is
/// compared as.
fn column_of(e: &Expr) -> Option<(usize, SqlType)> {
    match e {
        Expr::Column { index, ty } => Some((*index, *ty)),
        Expr::Cast { expr, to, .. } => match (expr.as_ref(), to) {
            (
                Expr::Column {
                    index,
                    ty: SqlType::SmallInt | SqlType::Integer | SqlType::BigInt,
                },
                SqlType::SmallInt | SqlType::Integer | SqlType::BigInt,
            ) => Some((*index, *to)),
            _ => None,
        },
        _ => None,
    }
}

/// The constant as a bound in the zone maps of a column of type `column`, when compared as
/// `compared_as`.
fn zone_value(value: &Datum, column: SqlType, compared_as: SqlType) -> Option<ZoneValue> {
    use SqlType as T;
    let int = |t: SqlType| matches!(t, T::SmallInt | T::Integer | T::BigInt);
    match (value, column) {
        (Datum::Int(v), c) if int(c) && int(compared_as) => Some(ZoneValue::Int(*v)),
        (Datum::Date(d), T::Date) if compared_as == T::Date => Some(ZoneValue::Int(i64::from(*d))),
        (Datum::Timestamp(t), T::Timestamp) if compared_as == T::Timestamp => {
            Some(ZoneValue::Int(*t))
        }
        (Datum::Decimal(v, s), T::Decimal { scale, .. })
            if *s == scale && compared_as == column =>
        {
            Some(ZoneValue::Decimal(*v))
        }
        // REAL compares in single precision: the bound is the constant as a REAL.
        (Datum::Float(f), T::Real) if compared_as == T::Real => {
            Some(ZoneValue::Float(f64::from(*f as f32)))
        }
        (Datum::Float(f), T::Double) if compared_as == T::Double => Some(ZoneValue::Float(*f)),
        (Datum::Text(s), T::Varchar { .. } | T::Text) if compared_as == column => {
            Some(ZoneValue::Bytes(s.as_bytes().to_vec()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(index: usize, ty: SqlType) -> Expr {
        Expr::Column { index, ty }
    }

    fn lit(value: Datum, ty: SqlType) -> Expr {
        Expr::literal(value, ty)
    }

    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
            ty: SqlType::Boolean,
        }
    }

    #[test]
    fn comparisons_with_constants_become_ranges_on_table_columns() {
        // Input: `5 < a AND b <= 'k' AND a <> 3`, over a scan of
        // table columns [2, 0] (a INTEGER, b TEXT).
        let a = || col(0, SqlType::Integer);
        let b = || col(1, SqlType::Text);
        let f = bin(
            BinaryOp::And,
            bin(
                BinaryOp::And,
                bin(BinaryOp::Lt, lit(Datum::Int(5), SqlType::Integer), a()),
                bin(
                    BinaryOp::LtEq,
                    b(),
                    lit(Datum::Text("k".into()), SqlType::Text),
                ),
            ),
            bin(BinaryOp::NotEq, a(), lit(Datum::Int(3), SqlType::Integer)),
        );
        let ranges = column_ranges(&f, &[2, 0], &[SqlType::Integer, SqlType::Text]);
        assert_eq!(
            ranges,
            vec![
                ColumnRange {
                    column: 2,
                    lower: Some((ZoneValue::Int(5), false)),
                    upper: None,
                },
                ColumnRange {
                    column: 0,
                    lower: None,
                    upper: Some((ZoneValue::Bytes(b"k".to_vec()), true)),
                },
            ]
        );
    }

    #[test]
    fn mismatched_types_and_disjunctions_give_no_range() {
        // Input: a DOUBLE column compared as NUMERIC, a CHAR column, an OR, and a decimal
        // constant of another scale.
        let none = |f: Expr, ty: SqlType| assert!(column_ranges(&f, &[0], &[ty]).is_empty());
        none(
            bin(
                BinaryOp::Eq,
                col(0, SqlType::Char { length: 3 }),
                lit(Datum::Text("a".into()), SqlType::Char { length: 3 }),
            ),
            SqlType::Char { length: 3 },
        );
        let dec = SqlType::Decimal {
            precision: 10,
            scale: 2,
        };
        none(
            bin(BinaryOp::Gt, col(0, dec), lit(Datum::Decimal(5, 1), dec)),
            dec,
        );
        none(
            bin(
                BinaryOp::Or,
                bin(
                    BinaryOp::Gt,
                    col(0, SqlType::Integer),
                    lit(Datum::Int(1), SqlType::Integer),
                ),
                bin(
                    BinaryOp::Lt,
                    col(0, SqlType::Integer),
                    lit(Datum::Int(0), SqlType::Integer),
                ),
            ),
            SqlType::Integer,
        );
        none(
            bin(
                BinaryOp::Gt,
                Expr::Cast {
                    expr: Box::new(col(0, SqlType::Double)),
                    to: dec,
                    explicit: false,
                },
                lit(Datum::Decimal(5, 2), dec),
            ),
            SqlType::Double,
        );
    }
}

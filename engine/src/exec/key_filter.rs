//! Join key filters. A hash join whose keys can only match values its build side holds runs
//! that side first, collects the distinct values of each key, and hands each set to the scan
//! below the probe side that produces the probe key (through filters, projections, grouping
//! keys and the preserved side of joins). The scan then skips the segments and blocks whose
//! zone maps lie outside the set's range and decodes its other columns only for the rows whose
//! key is in the set: the rows the join would have dropped are never materialized, aggregated
//! or probed.
//!
//! A filter only ever removes rows the join removes anyway: an inner join drops probe rows
//! without a match, and a LEFT join drops right rows without one. Keys compared with `=` never
//! match NULL; keys joined with IS NOT DISTINCT FROM keep NULL rows when the build side has a
//! NULL key.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::BooleanBuffer;
use arrow_schema::DataType;
use basalt_storage::{ColumnRange, SqlType, ZoneValue};

use super::hash::{BuildIntHasher, BytesHasher};
use crate::error::{Error, Result};
use crate::kernels::eval::evaluate;
use crate::planner::expr::Expr;
use crate::planner::plan::{JoinType, Plan};

/// The most build rows whose keys are collected into a filter.
const BUILD_ROWS_MAX: usize = 4 << 20;

/// A filter is built only for a scan whose table has at least this many times the build
/// side's rows: below that, testing each row costs about what the join's probe does.
const TABLE_ROWS_PER_KEY_MIN: u64 = 4;

/// Integer keys spanning at most this many values (and at most `BITMAP_SPAN_PER_KEY` per
/// distinct key) are looked up in a bitmap; others in a hash set.
const BITMAP_SPAN_MAX: i64 = 1 << 28;
const BITMAP_SPAN_PER_KEY: i64 = 64;

/// The distinct non-NULL values of one join key on the build side.
#[derive(Debug)]
pub(crate) struct KeySet {
    values: KeyValues,
    /// Whether rows whose key is NULL pass (IS NOT DISTINCT FROM with a NULL build key).
    keep_null: bool,
}

#[derive(Debug)]
enum KeyValues {
    /// SMALLINT, INTEGER, BIGINT and DATE keys, as i64; `min > max` when there is none.
    Ints {
        min: i64,
        max: i64,
        lookup: IntLookup,
    },
    /// VARCHAR and TEXT keys, by their bytes.
    Bytes(HashSet<Box<[u8]>, BytesHasher>),
    /// No build row: no key matches.
    Empty,
}

#[derive(Debug)]
enum IntLookup {
    /// Bit `v - min` is set for each value `v`.
    Bitmap(Vec<u64>),
    Hash(HashSet<i64, BuildIntHasher>),
}

/// Whether keys of type `ty` can be collected into a [`KeySet`].
fn supported(ty: SqlType) -> bool {
    matches!(
        ty,
        SqlType::SmallInt
            | SqlType::Integer
            | SqlType::BigInt
            | SqlType::Date
            | SqlType::Varchar { .. }
            | SqlType::Text
    )
}

/// Calls `f` with each non-NULL value of an integer-like array, as i64.
fn for_each_int(array: &dyn Array, mut f: impl FnMut(usize, i64)) -> Option<()> {
    macro_rules! each {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            for (i, v) in a.values().iter().enumerate() {
                if a.is_valid(i) {
                    f(i, i64::from(*v));
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Int16 => each!(Int16Type),
        DataType::Int32 => each!(Int32Type),
        DataType::Int64 => each!(Int64Type),
        DataType::Date32 => each!(Date32Type),
        _ => return None,
    }
    Some(())
}

/// Calls `f` with each non-NULL value of a string array, as bytes.
fn for_each_bytes(array: &dyn Array, mut f: impl FnMut(usize, &[u8])) -> Option<()> {
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            for i in 0..a.len() {
                if a.is_valid(i) {
                    f(i, a.value(i).as_bytes());
                }
            }
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            for i in 0..a.len() {
                if a.is_valid(i) {
                    f(i, a.value(i).as_bytes());
                }
            }
        }
        _ => return None,
    }
    Some(())
}

impl KeySet {
    /// The set of the values in `arrays` (all of one key type); `None` for a type this
    /// filter does not handle.
    fn build(arrays: &[ArrayRef], null_equal: bool) -> Option<KeySet> {
        let keep_null = null_equal && arrays.iter().any(|a| a.null_count() > 0);
        let first = arrays.first()?;
        let values = match first.data_type() {
            DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Date32 => {
                let mut distinct: HashSet<i64, BuildIntHasher> = HashSet::default();
                for a in arrays {
                    for_each_int(a.as_ref(), |_, v| {
                        distinct.insert(v);
                    })?;
                }
                let (min, max) = distinct
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
                let span = max.checked_sub(min).and_then(|s| s.checked_add(1));
                let count = distinct.len() as i64;
                let lookup = match span {
                    Some(span)
                        if span <= BITMAP_SPAN_MAX
                            && span <= count.saturating_mul(BITMAP_SPAN_PER_KEY).max(1 << 16) =>
                    {
                        let mut bits = vec![0u64; (span as usize).div_ceil(64)];
                        for v in &distinct {
                            let at = (v - min) as usize;
                            bits[at / 64] |= 1 << (at % 64);
                        }
                        IntLookup::Bitmap(bits)
                    }
                    _ => IntLookup::Hash(distinct),
                };
                KeyValues::Ints { min, max, lookup }
            }
            DataType::Utf8 | DataType::LargeUtf8 => {
                let mut distinct: HashSet<Box<[u8]>, BytesHasher> = HashSet::default();
                for a in arrays {
                    for_each_bytes(a.as_ref(), |_, v| {
                        if !distinct.contains(v) {
                            distinct.insert(v.into());
                        }
                    })?;
                }
                KeyValues::Bytes(distinct)
            }
            _ => return None,
        };
        Some(KeySet { values, keep_null })
    }

    /// Which values of `array` (a column of the key's type) are in the set.
    pub(crate) fn mask(&self, array: &dyn Array) -> Result<BooleanBuffer> {
        let mut passes = vec![false; array.len()];
        if self.keep_null {
            for (i, p) in passes.iter_mut().enumerate() {
                *p = array.is_null(i);
            }
        }
        let handled = match &self.values {
            KeyValues::Ints { min, max, lookup } => for_each_int(array, |i, v| {
                if v < *min || v > *max {
                    return;
                }
                passes[i] = match lookup {
                    IntLookup::Bitmap(bits) => {
                        let at = (v - min) as usize;
                        bits.get(at / 64).is_some_and(|w| w & (1 << (at % 64)) != 0)
                    }
                    IntLookup::Hash(set) => set.contains(&v),
                };
            }),
            KeyValues::Bytes(set) => for_each_bytes(array, |i, v| passes[i] = set.contains(v)),
            KeyValues::Empty => Some(()),
        };
        match handled {
            Some(()) => Ok(BooleanBuffer::from(passes)),
            None => Err(Error::Internal(format!(
                "a join key filter was applied to a column of type {}",
                array.data_type()
            ))),
        }
    }

    /// The zone-map range every row the set passes lies in, for the table's column `column`;
    /// `None` when NULLs pass or the keys are not integers.
    pub(crate) fn range(&self, column: usize) -> Option<ColumnRange> {
        match &self.values {
            KeyValues::Ints { min, max, .. } if !self.keep_null && min <= max => {
                Some(ColumnRange {
                    column,
                    lower: Some((ZoneValue::Int(*min), true)),
                    upper: Some((ZoneValue::Int(*max), true)),
                })
            }
            _ => None,
        }
    }
}

/// A set of key values for one column of a scan's output.
#[derive(Clone, Debug)]
pub(crate) struct KeyFilter {
    /// The column's position in the scan's output (its projection).
    pub(crate) column: usize,
    pub(crate) set: Arc<KeySet>,
}

/// The key filters the joins of a running statement handed to its scans, by scan node.
#[derive(Default)]
pub struct KeyFilters {
    /// Scan node address → (join node address, key index) → filter. A join that runs again
    /// (in a recursive query's rounds) replaces its own filters.
    by_scan: Mutex<HashMap<usize, ScanFilters>>,
}

/// One scan's filters, by (join node address, key index).
type ScanFilters = HashMap<(usize, usize), KeyFilter>;

fn node(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

impl KeyFilters {
    /// The filters handed to the scan `scan`.
    pub(crate) fn for_scan(&self, scan: &Plan) -> Vec<KeyFilter> {
        let by_scan = self.by_scan.lock().unwrap_or_else(PoisonError::into_inner);
        by_scan
            .get(&node(scan))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn publish(&self, scan: &Plan, join: &Plan, key: usize, filter: KeyFilter) {
        let mut by_scan = self.by_scan.lock().unwrap_or_else(PoisonError::into_inner);
        by_scan
            .entry(node(scan))
            .or_default()
            .insert((node(join), key), filter);
    }
}

/// Where a filter on key `key` of a join can go: the scan and its output column.
pub(crate) struct Target<'p> {
    key: usize,
    scan: &'p Plan,
    column: usize,
}

/// The scans under `join`'s right input that a filter on its right keys can reach: for an
/// inner or LEFT hash join, each right key that is a column of the same type as its left key
/// and that a scan produces unchanged.
pub(crate) fn targets(join: &Plan) -> Vec<Target<'_>> {
    let Plan::Join {
        right,
        join_type: JoinType::Inner | JoinType::Left,
        keys,
        ..
    } = join
    else {
        return Vec::new();
    };
    keys.iter()
        .enumerate()
        .filter_map(|(key, (l, r))| match r {
            Expr::Column { index, ty } if l.ty() == *ty && supported(*ty) => {
                let (scan, column) = source(right, *index)?;
                Some(Target { key, scan, column })
            }
            _ => None,
        })
        .collect()
}

/// The scan that produces output column `column` of `plan` unchanged, with every row of
/// `plan` coming from a row of the scan with the same value there, and whose rows can be
/// filtered on that column without changing `plan`'s other rows: through filters, sorts,
/// projections of the column, grouping keys, and the preserved side of joins.
fn source(plan: &Plan, column: usize) -> Option<(&Plan, usize)> {
    match plan {
        Plan::Scan {
            table,
            projection,
            external: None,
            ..
        } => {
            let c = *projection.get(column)?;
            // A DELETE's or UPDATE's row-id column is not stored.
            let stored = table
                .def
                .columns
                .get(c)
                .is_some_and(|c| c.name != crate::planner::dml::ROW_ID_COLUMN);
            stored.then_some((plan, column))
        }
        Plan::Filter { input, .. } | Plan::Sort { input, .. } => source(input, column),
        Plan::Project { input, exprs } => match exprs.get(column)? {
            Expr::Column { index, .. } => source(input, *index),
            _ => None,
        },
        Plan::Aggregate { input, groups, .. } => match groups.get(column)? {
            Expr::Column { index, .. } => source(input, *index),
            _ => None,
        },
        Plan::Join {
            left,
            right,
            join_type,
            ..
        } => {
            let width = left.types().len();
            match (column < width, join_type) {
                (true, JoinType::Inner | JoinType::Left) => source(left, column),
                (false, JoinType::Inner | JoinType::Right) => source(right, column - width),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Hands the scans in `targets` the sets of `join`'s keys over its build side `left` (the
/// left input's batches), where the left side is small enough and the scan's table large
/// enough for the filter to pay.
pub(crate) fn publish(
    filters: &KeyFilters,
    join: &Plan,
    left: &[RecordBatch],
    targets: &[Target<'_>],
) -> Result<()> {
    let Plan::Join {
        keys, null_equal, ..
    } = join
    else {
        return Ok(());
    };
    let rows: usize = left.iter().map(|b| b.num_rows()).sum();
    if rows > BUILD_ROWS_MAX {
        return Ok(());
    }
    for t in targets {
        let Plan::Scan { table, .. } = t.scan else {
            continue;
        };
        if table.rows() < (rows as u64).saturating_mul(TABLE_ROWS_PER_KEY_MIN) {
            continue;
        }
        let Some((expr, _)) = keys.get(t.key) else {
            continue;
        };
        let arrays = left
            .iter()
            .map(|b| evaluate(expr, b))
            .collect::<Result<Vec<_>>>()?;
        let set = if arrays.is_empty() {
            // No build row: nothing matches.
            KeySet {
                values: KeyValues::Empty,
                keep_null: false,
            }
        } else {
            match KeySet::build(&arrays, *null_equal) {
                Some(set) => set,
                None => continue,
            }
        };
        let filter = KeyFilter {
            column: t.column,
            set: Arc::new(set),
        };
        filters.publish(t.scan, join, t.key, filter);
    }
    Ok(())
}

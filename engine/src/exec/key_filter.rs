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

/// A set holding this share of the integers in the probe column's range is not handed down.
const DENSE_SHARE: f64 = 0.9;

/// Integer keys spanning at most this many values (and at most `BITMAP_SPAN_PER_KEY` per
/// distinct key, or 2^20 in all) are looked up in a bitmap; others in a hash set. A hash set
/// entry takes about as many bytes as 256 bits, and a bitmap probe costs a fraction of one.
const BITMAP_SPAN_MAX: i64 = 1 << 28;
const BITMAP_SPAN_PER_KEY: i64 = 256;

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
        /// How many distinct values.
        count: usize,
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

/// `test` of each value of an integer-like array as i64, NULL slots included (the caller
/// masks them); `None` for another type.
fn int_mask(array: &dyn Array, test: impl Fn(i64) -> bool) -> Option<BooleanBuffer> {
    macro_rules! each {
        ($t:ty) => {{
            let values = array.as_primitive::<$t>().values();
            BooleanBuffer::collect_bool(values.len(), |i| test(i64::from(values[i])))
        }};
    }
    Some(match array.data_type() {
        DataType::Int16 => each!(Int16Type),
        DataType::Int32 => each!(Int32Type),
        DataType::Int64 => each!(Int64Type),
        DataType::Date32 => each!(Date32Type),
        _ => return None,
    })
}

/// `test` of each value of a string array as bytes, NULL slots included (the caller masks
/// them); `None` for another type.
fn bytes_mask(array: &dyn Array, test: impl Fn(&[u8]) -> bool) -> Option<BooleanBuffer> {
    Some(match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            BooleanBuffer::collect_bool(a.len(), |i| test(a.value(i).as_bytes()))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            BooleanBuffer::collect_bool(a.len(), |i| test(a.value(i).as_bytes()))
        }
        _ => return None,
    })
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
                let distinct_count = distinct.len();
                let count = distinct_count as i64;
                let lookup = match span {
                    Some(span)
                        if span <= BITMAP_SPAN_MAX
                            && span <= count.saturating_mul(BITMAP_SPAN_PER_KEY).max(1 << 20) =>
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
                KeyValues::Ints {
                    min,
                    max,
                    count: distinct_count,
                    lookup,
                }
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
        let values = match &self.values {
            KeyValues::Ints {
                min, max, lookup, ..
            } => {
                let (min, max) = (*min, *max);
                match lookup {
                    IntLookup::Bitmap(bits) => {
                        // One unsigned comparison tests both ends of the range.
                        let span = max.wrapping_sub(min) as u64;
                        int_mask(array, |v| {
                            let at = v.wrapping_sub(min) as u64;
                            at <= span
                                && bits
                                    .get((at / 64) as usize)
                                    .is_some_and(|w| w & (1 << (at % 64)) != 0)
                        })
                    }
                    IntLookup::Hash(set) => {
                        int_mask(array, |v| v >= min && v <= max && set.contains(&v))
                    }
                }
            }
            KeyValues::Bytes(set) => bytes_mask(array, |v| set.contains(v)),
            KeyValues::Empty => Some(BooleanBuffer::new_unset(array.len())),
        };
        let Some(values) = values else {
            return Err(Error::Internal(format!(
                "a join key filter was applied to a column of type {}",
                array.data_type()
            )));
        };
        // The values under NULL slots are arbitrary: a NULL passes only under `keep_null`.
        Ok(match array.nulls() {
            None => values,
            Some(valid) if self.keep_null => &(&values & valid.inner()) | &!valid.inner(),
            Some(valid) => &values & valid.inner(),
        })
    }

    /// Whether the set holds nearly every integer in `low..=high` (the probe column's range):
    /// then testing rows against it would cost without dropping any.
    fn covers(&self, low: i64, high: i64) -> bool {
        match &self.values {
            KeyValues::Ints { count, .. } => {
                let span = (high as f64) - (low as f64) + 1.0;
                span > 0.0 && *count as f64 >= DENSE_SHARE * span
            }
            _ => false,
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
    /// The column's index in the scan's table.
    column_in_table: usize,
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
                let Plan::Scan { projection, .. } = scan else {
                    return None;
                };
                Some(Target {
                    key,
                    scan,
                    column,
                    column_in_table: *projection.get(column)?,
                })
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

/// The smallest and largest value of the integer column `column` of `table`, from its
/// segments' zone maps; `None` when unknown (a segment written before the column was added
/// or dropped, a column that is not an integer).
fn int_range(table: &basalt_storage::TableMeta, column: usize) -> Option<(i64, i64)> {
    let mut range: Option<(i64, i64)> = None;
    for seg in &table.segments {
        if seg.columns.is_some() {
            return None;
        }
        let zone = seg.zone_maps.get(column)?;
        let (Some(ZoneValue::Int(low)), Some(ZoneValue::Int(high))) = (&zone.min, &zone.max) else {
            if zone.null_count == zone.row_count {
                continue;
            }
            return None;
        };
        range = Some(match range {
            Some((l, h)) => (l.min(*low), h.max(*high)),
            None => (*low, *high),
        });
    }
    range
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
        if let Some((low, high)) = int_range(table, t.column_in_table) {
            if set.covers(low, high) {
                continue;
            }
        }
        let filter = KeyFilter {
            column: t.column,
            set: Arc::new(set),
        };
        filters.publish(t.scan, join, t.key, filter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int32Array, Int64Array, StringArray};

    use super::*;

    fn passes(set: &KeySet, array: &dyn Array) -> Vec<bool> {
        set.mask(array).unwrap().iter().collect()
    }

    #[test]
    fn sets_pass_exactly_their_values() {
        // Dense integers (a bitmap), sparse ones (a hash set), NULLs on either side.
        let dense: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None, Some(5), Some(3)]));
        let set = KeySet::build(&[dense], false).unwrap();
        assert!(matches!(
            set.values,
            KeyValues::Ints {
                lookup: IntLookup::Bitmap(_),
                count: 2,
                ..
            }
        ));
        let probe = Int64Array::from(vec![Some(2), Some(3), None, Some(4), Some(5), Some(6)]);
        assert_eq!(
            passes(&set, &probe),
            [false, true, false, false, true, false]
        );
        let range = set.range(7).unwrap();
        assert_eq!(range.lower, Some((ZoneValue::Int(3), true)));
        assert_eq!(range.upper, Some((ZoneValue::Int(5), true)));
        assert!(set.covers(3, 4) && !set.covers(0, 100));

        let sparse: ArrayRef = Arc::new(Int32Array::from(vec![i32::MIN, 0, i32::MAX]));
        let set = KeySet::build(&[sparse], true).unwrap();
        assert!(matches!(
            set.values,
            KeyValues::Ints {
                lookup: IntLookup::Hash(_),
                ..
            }
        ));
        // No NULL on the build side: NULLs do not pass even for IS NOT DISTINCT FROM.
        let probe = Int32Array::from(vec![Some(i32::MAX), None, Some(1), Some(i32::MIN)]);
        assert_eq!(passes(&set, &probe), [true, false, false, true]);

        // IS NOT DISTINCT FROM with a NULL build key: NULLs pass, and no zone-map range.
        let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let set = KeySet::build(&[with_null], true).unwrap();
        let probe = StringArray::from(vec![Some("a"), None, Some("b")]);
        assert_eq!(passes(&set, &probe), [true, true, false]);
        assert!(set.range(0).is_none());
        // With `=`, a NULL build key matches nothing.
        let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        let set = KeySet::build(&[with_null], false).unwrap();
        assert_eq!(passes(&set, &probe), [true, false, false]);

        // A set of one type tested on another is an error, not a wrong answer.
        assert!(set.mask(&Int64Array::from(vec![1])).is_err());
    }
}

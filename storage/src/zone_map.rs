//! Zone maps: the minimum, maximum, null count and row count of a run of values.
//!
//! Every block records one in its segment's footer, and every segment records one per column
//! (its blocks' zone maps merged) in the manifest, so a scan can skip segments and blocks whose
//! range cannot match a predicate before it decodes anything.
//!
//! Orders: integers, dates, timestamps and decimals compare numerically; floats compare in
//! PostgreSQL's order (`-0` equals `+0`, every NaN equals every other NaN and sorts above
//! `+Infinity`); booleans as `false < true`; strings bytewise (which for UTF-8 is code-point
//! order, as in the C collation).

use std::cmp::Ordering;

use arrow_array::Array;
use serde::{Deserialize, Serialize};

use crate::bytes::{ByteReader, PutLe};
use crate::segment::physical::{packed_interval, PhysicalType, Piece, Values};

/// Longest string zone-map bound, in bytes. Longer minimums are cut to a prefix (a lower bound)
/// and longer maximums to a prefix whose last byte is incremented (an upper bound).
pub const ZONE_STRING_BYTES_MAX: usize = 64;

/// A zone-map bound.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "ZoneValueRepr", try_from = "ZoneValueRepr")]
pub enum ZoneValue {
    Boolean(bool),
    /// SMALLINT, INTEGER, BIGINT, DATE (days since 1970-01-01) and TIMESTAMP (microseconds since
    /// 1970-01-01 00:00:00).
    Int(i64),
    /// DECIMAL: the unscaled value.
    Decimal(i128),
    /// REAL (widened exactly) and DOUBLE PRECISION.
    Float(f64),
    /// CHAR, VARCHAR and TEXT. An inexact bound (see [`ZoneMap::max_exact`]) need not be UTF-8.
    Bytes(Vec<u8>),
}

impl PartialEq for ZoneValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Bitwise, so that a NaN bound equals itself and round trips compare equal.
            (ZoneValue::Float(a), ZoneValue::Float(b)) => a.to_bits() == b.to_bits(),
            (ZoneValue::Boolean(a), ZoneValue::Boolean(b)) => a == b,
            (ZoneValue::Int(a), ZoneValue::Int(b)) => a == b,
            (ZoneValue::Decimal(a), ZoneValue::Decimal(b)) => a == b,
            (ZoneValue::Bytes(a), ZoneValue::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl ZoneValue {
    /// Compares two values of the same kind in zone-map order; `None` for different kinds.
    pub fn compare(&self, other: &ZoneValue) -> Option<Ordering> {
        match (self, other) {
            (ZoneValue::Boolean(a), ZoneValue::Boolean(b)) => Some(a.cmp(b)),
            (ZoneValue::Int(a), ZoneValue::Int(b)) => Some(a.cmp(b)),
            (ZoneValue::Decimal(a), ZoneValue::Decimal(b)) => Some(a.cmp(b)),
            (ZoneValue::Float(a), ZoneValue::Float(b)) => Some(float_order(*a, *b)),
            (ZoneValue::Bytes(a), ZoneValue::Bytes(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// PostgreSQL's float order: NaN above everything else and equal to itself, `-0 = +0`.
pub fn float_order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The JSON form of a [`ZoneValue`] in the manifest: floats as their IEEE bits (JSON has no NaN
/// or infinity), decimals as decimal strings (JSON readers lose precision past 2^53) and string
/// bounds as lowercase hex (they may not be UTF-8).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ZoneValueRepr {
    Boolean(bool),
    Int(i64),
    Decimal(String),
    FloatBits(u64),
    BytesHex(String),
}

impl From<ZoneValue> for ZoneValueRepr {
    fn from(v: ZoneValue) -> Self {
        match v {
            ZoneValue::Boolean(b) => ZoneValueRepr::Boolean(b),
            ZoneValue::Int(i) => ZoneValueRepr::Int(i),
            ZoneValue::Decimal(d) => ZoneValueRepr::Decimal(d.to_string()),
            ZoneValue::Float(f) => ZoneValueRepr::FloatBits(f.to_bits()),
            ZoneValue::Bytes(b) => {
                ZoneValueRepr::BytesHex(b.iter().map(|x| format!("{x:02x}")).collect())
            }
        }
    }
}

impl TryFrom<ZoneValueRepr> for ZoneValue {
    type Error = String;
    fn try_from(v: ZoneValueRepr) -> Result<Self, String> {
        Ok(match v {
            ZoneValueRepr::Boolean(b) => ZoneValue::Boolean(b),
            ZoneValueRepr::Int(i) => ZoneValue::Int(i),
            ZoneValueRepr::Decimal(d) => ZoneValue::Decimal(
                d.parse()
                    .map_err(|_| format!("bad decimal zone-map bound {d:?}"))?,
            ),
            ZoneValueRepr::FloatBits(b) => ZoneValue::Float(f64::from_bits(b)),
            ZoneValueRepr::BytesHex(h) => ZoneValue::Bytes(decode_hex(&h)?),
        })
    }
}

fn decode_hex(h: &str) -> Result<Vec<u8>, String> {
    let digits = h.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd-length hex zone-map bound {h:?}"));
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("bad hex zone-map bound {h:?}"))
        })
        .collect()
}

/// A range of values of one column that a scan's filter needs: rows whose value in `column`
/// is NULL or outside the range cannot pass the filter, so a segment or block whose zone map
/// shows no such value is skipped without decoding.
///
/// A bound is `(value, inclusive)`. Bounds of another kind than the column's zone maps never
/// skip anything. For floating-point columns a zone map whose bound is NaN never lets the
/// opposite bound skip, since NaN orders above everything.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnRange {
    /// An index into the table's columns.
    pub column: usize,
    pub lower: Option<(ZoneValue, bool)>,
    pub upper: Option<(ZoneValue, bool)>,
}

impl ColumnRange {
    /// Whether values summarized by `zone` may fall in this range. False only when provably
    /// none does: every value is NULL, or the zone lies wholly below or above the range.
    pub fn may_match(&self, zone: &ZoneMap) -> bool {
        let (Some(min), Some(max)) = (&zone.min, &zone.max) else {
            // No non-NULL value; NULL never passes a comparison.
            return zone.row_count > zone.null_count;
        };
        // -0 and +0 are equal in zone-map order but not in every comparison kernel's, so float
        // bounds are widened to inclusive.
        let widen =
            |bound: &ZoneValue, inclusive: bool| inclusive || matches!(bound, ZoneValue::Float(_));
        if let Some((lower, inclusive)) = &self.lower {
            let inclusive = widen(lower, *inclusive);
            let nan = matches!(max, ZoneValue::Float(f) if f.is_nan());
            match max.compare(lower) {
                Some(Ordering::Less) if !nan => return false,
                Some(Ordering::Equal) if !inclusive && !nan => return false,
                _ => {}
            }
        }
        if let Some((upper, inclusive)) = &self.upper {
            let inclusive = widen(upper, *inclusive);
            let nan = matches!(min, ZoneValue::Float(f) if f.is_nan());
            match min.compare(upper) {
                Some(Ordering::Greater) if !nan => return false,
                Some(Ordering::Equal) if !inclusive && !nan => return false,
                _ => {}
            }
        }
        true
    }
}

/// The range and counts of a run of values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneMap {
    pub row_count: u64,
    pub null_count: u64,
    /// The smallest non-null value, or a lower bound of it when `min_exact` is false.
    /// `None` when every value is NULL (or there are none); then `max` is `None` too.
    pub min: Option<ZoneValue>,
    /// The largest non-null value, or an upper bound of it when `max_exact` is false.
    pub max: Option<ZoneValue>,
    /// False when `min` is a truncated string prefix rather than a value that occurs.
    pub min_exact: bool,
    /// False when `max` is a bound above every value rather than a value that occurs.
    pub max_exact: bool,
}

impl ZoneMap {
    /// The zone map of no values.
    pub fn empty() -> ZoneMap {
        ZoneMap {
            row_count: 0,
            null_count: 0,
            min: None,
            max: None,
            min_exact: true,
            max_exact: true,
        }
    }

    /// Widens `self` to cover `other` as well.
    pub fn merge(&mut self, other: &ZoneMap) {
        self.row_count += other.row_count;
        self.null_count += other.null_count;
        merge_bound(
            &mut self.min,
            &mut self.min_exact,
            &other.min,
            other.min_exact,
            Ordering::Less,
        );
        merge_bound(
            &mut self.max,
            &mut self.max_exact,
            &other.max,
            other.max_exact,
            Ordering::Greater,
        );
    }

    /// The zone map of a block's values, given as pieces of Arrow arrays.
    pub(crate) fn of_pieces(pieces: &[Piece<'_>]) -> ZoneMap {
        let mut zone = ZoneMap::empty();
        for piece in pieces {
            zone.merge(&ZoneMap::of_piece(piece));
        }
        zone
    }

    fn of_piece(piece: &Piece<'_>) -> ZoneMap {
        let row_count = piece.len() as u64;
        let null_count = piece.null_count() as u64;
        let (min, max, min_exact, max_exact) = match piece.values {
            Values::Boolean(a) => {
                let range = min_max(piece, a.len(), |i| a.value(i), |x, y| !x & y);
                let (min, max) =
                    split(range.map(|(lo, hi)| (ZoneValue::Boolean(lo), ZoneValue::Boolean(hi))));
                (min, max, true, true)
            }
            Values::Int16(v) => {
                exact(min_max(piece, v.len(), |i| i64::from(v[i]), |x, y| x < y).map(ints))
            }
            Values::Int32(v) => {
                exact(min_max(piece, v.len(), |i| i64::from(v[i]), |x, y| x < y).map(ints))
            }
            Values::Int64(v) => exact(min_max(piece, v.len(), |i| v[i], |x, y| x < y).map(ints)),
            Values::Float32(v) => {
                exact(min_max(piece, v.len(), |i| f64::from(v[i]), float_less).map(floats))
            }
            Values::Float64(v) => exact(min_max(piece, v.len(), |i| v[i], float_less).map(floats)),
            Values::Int128(v) => exact(
                min_max(piece, v.len(), |i| v[i], |x, y| x < y)
                    .map(|(lo, hi)| (ZoneValue::Decimal(lo), ZoneValue::Decimal(hi))),
            ),
            // Bounds of the packed INT128 values (see `docs/segment-format.md`): exact in that
            // order, which is not SQL's interval order, so no predicate prunes on them.
            Values::Interval(v) => exact(
                min_max(piece, v.len(), |i| packed_interval(v[i]), |x, y| x < y)
                    .map(|(lo, hi)| (ZoneValue::Decimal(lo), ZoneValue::Decimal(hi))),
            ),
            Values::Utf8(a) => {
                match min_max(piece, a.len(), |i| a.value(i).as_bytes(), |x, y| x < y) {
                    None => (None, None, true, true),
                    Some((lo, hi)) => {
                        let (lo, lo_exact) = lower_bound(lo);
                        let (hi, hi_exact) = upper_bound(hi);
                        (
                            Some(ZoneValue::Bytes(lo)),
                            Some(ZoneValue::Bytes(hi)),
                            lo_exact,
                            hi_exact,
                        )
                    }
                }
            }
        };
        ZoneMap {
            row_count,
            null_count,
            min,
            max,
            min_exact,
            max_exact,
        }
    }

    /// Appends the bounds in the footer's typed form: a flags byte, then min and max encoded as
    /// values of `ty` (see `docs/segment-format.md`). Counts are stored by the caller.
    pub(crate) fn write_bounds(&self, ty: PhysicalType, out: &mut Vec<u8>) {
        let (Some(min), Some(max)) = (&self.min, &self.max) else {
            out.put_u8(0);
            return;
        };
        let mut flags = ZONE_HAS_BOUNDS;
        if self.min_exact {
            flags |= ZONE_MIN_EXACT;
        }
        if self.max_exact {
            flags |= ZONE_MAX_EXACT;
        }
        out.put_u8(flags);
        write_value(ty, min, out);
        write_value(ty, max, out);
    }

    /// Reads what [`ZoneMap::write_bounds`] wrote.
    pub(crate) fn read_bounds(
        ty: PhysicalType,
        row_count: u64,
        null_count: u64,
        r: &mut ByteReader<'_>,
    ) -> Result<ZoneMap, String> {
        let flags = r.u8()?;
        if flags & !(ZONE_HAS_BOUNDS | ZONE_MIN_EXACT | ZONE_MAX_EXACT) != 0 {
            return Err(format!("unknown zone-map flags {flags:#04x}"));
        }
        let mut zone = ZoneMap {
            row_count,
            null_count,
            ..ZoneMap::empty()
        };
        if flags & ZONE_HAS_BOUNDS == 0 {
            if flags != 0 {
                return Err(format!("zone-map flags {flags:#04x} without bounds"));
            }
            if null_count != row_count {
                return Err(format!(
                    "zone map has no bounds but {} of {row_count} values are not NULL",
                    row_count - null_count.min(row_count)
                ));
            }
            return Ok(zone);
        }
        if null_count >= row_count {
            return Err(format!(
                "zone map has bounds but all {row_count} values are NULL"
            ));
        }
        zone.min = Some(read_value(ty, r)?);
        zone.max = Some(read_value(ty, r)?);
        zone.min_exact = flags & ZONE_MIN_EXACT != 0;
        zone.max_exact = flags & ZONE_MAX_EXACT != 0;
        Ok(zone)
    }
}

const ZONE_HAS_BOUNDS: u8 = 1 << 0;
const ZONE_MIN_EXACT: u8 = 1 << 1;
const ZONE_MAX_EXACT: u8 = 1 << 2;

fn merge_bound(
    bound: &mut Option<ZoneValue>,
    exact: &mut bool,
    other: &Option<ZoneValue>,
    other_exact: bool,
    wanted: Ordering,
) {
    let Some(other) = other else { return };
    match bound.as_ref().and_then(|b| other.compare(b)) {
        None if bound.is_some() => {
            // Bounds of different kinds cannot come from one column: keep ours.
            debug_assert!(false, "merging zone maps of different types");
        }
        None => {
            *bound = Some(other.clone());
            *exact = other_exact;
        }
        Some(Ordering::Equal) => *exact |= other_exact,
        Some(order) if order == wanted => {
            *bound = Some(other.clone());
            *exact = other_exact;
        }
        Some(_) => {}
    }
}

/// The smallest and largest valid value of a piece, by `less`.
fn min_max<T: Copy>(
    piece: &Piece<'_>,
    len: usize,
    value: impl Fn(usize) -> T,
    less: impl Fn(T, T) -> bool,
) -> Option<(T, T)> {
    let mut acc: Option<(T, T)> = None;
    for i in 0..len {
        if !piece.is_valid(i) {
            continue;
        }
        let v = value(i);
        acc = Some(match acc {
            None => (v, v),
            Some((lo, hi)) => (
                if less(v, lo) { v } else { lo },
                if less(hi, v) { v } else { hi },
            ),
        });
    }
    acc
}

fn float_less(a: f64, b: f64) -> bool {
    float_order(a, b) == Ordering::Less
}

fn ints((lo, hi): (i64, i64)) -> (ZoneValue, ZoneValue) {
    (ZoneValue::Int(lo), ZoneValue::Int(hi))
}

fn floats((lo, hi): (f64, f64)) -> (ZoneValue, ZoneValue) {
    (ZoneValue::Float(lo), ZoneValue::Float(hi))
}

fn split<T>(pair: Option<(T, T)>) -> (Option<T>, Option<T>) {
    match pair {
        Some((lo, hi)) => (Some(lo), Some(hi)),
        None => (None, None),
    }
}

fn exact(
    pair: Option<(ZoneValue, ZoneValue)>,
) -> (Option<ZoneValue>, Option<ZoneValue>, bool, bool) {
    let (lo, hi) = split(pair);
    (lo, hi, true, true)
}

/// A string minimum cut to at most [`ZONE_STRING_BYTES_MAX`] bytes, and whether it is uncut.
fn lower_bound(s: &[u8]) -> (Vec<u8>, bool) {
    match s.get(..ZONE_STRING_BYTES_MAX) {
        Some(prefix) if prefix.len() < s.len() => (prefix.to_vec(), false),
        _ => (s.to_vec(), true),
    }
}

/// A string maximum cut to at most [`ZONE_STRING_BYTES_MAX`] bytes: the prefix with its last byte
/// incremented is greater than every string that starts with the prefix. UTF-8 never contains
/// 0xFF, so the increment cannot overflow; for other bytes the value is kept whole.
fn upper_bound(s: &[u8]) -> (Vec<u8>, bool) {
    let Some(prefix) = s.get(..ZONE_STRING_BYTES_MAX).filter(|p| p.len() < s.len()) else {
        return (s.to_vec(), true);
    };
    let mut bound = prefix.to_vec();
    while let Some(last) = bound.pop() {
        if let Some(next) = last.checked_add(1) {
            bound.push(next);
            return (bound, false);
        }
    }
    (s.to_vec(), true)
}

fn write_value(ty: PhysicalType, v: &ZoneValue, out: &mut Vec<u8>) {
    // The writer only pairs values with the type they were computed from; a mismatch is a bug,
    // caught by the round-trip tests, and writes a zero of the right width so the layout holds.
    match (ty, v) {
        (PhysicalType::Boolean, ZoneValue::Boolean(b)) => out.put_u8(u8::from(*b)),
        (PhysicalType::Int16, ZoneValue::Int(i)) => {
            out.extend_from_slice(&i16::try_from(*i).unwrap_or_default().to_le_bytes())
        }
        (PhysicalType::Int32, ZoneValue::Int(i)) => {
            out.extend_from_slice(&i32::try_from(*i).unwrap_or_default().to_le_bytes())
        }
        (PhysicalType::Int64, ZoneValue::Int(i)) => out.extend_from_slice(&i.to_le_bytes()),
        // Narrowing a widened f32 is exact.
        (PhysicalType::Float32, ZoneValue::Float(f)) => {
            out.extend_from_slice(&(*f as f32).to_le_bytes())
        }
        (PhysicalType::Float64, ZoneValue::Float(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (PhysicalType::Int128, ZoneValue::Decimal(d)) => out.extend_from_slice(&d.to_le_bytes()),
        (PhysicalType::Utf8, ZoneValue::Bytes(b)) => {
            out.put_u32(u32::try_from(b.len()).unwrap_or_default());
            out.extend_from_slice(b);
        }
        (ty, v) => {
            debug_assert!(false, "zone value {v:?} for physical type {ty:?}");
            match ty.width() {
                Some(w) => out.extend(std::iter::repeat_n(0, w)),
                None if ty == PhysicalType::Boolean => out.put_u8(0),
                None => out.put_u32(0),
            }
        }
    }
}

fn read_value(ty: PhysicalType, r: &mut ByteReader<'_>) -> Result<ZoneValue, String> {
    Ok(match ty {
        PhysicalType::Boolean => match r.u8()? {
            0 => ZoneValue::Boolean(false),
            1 => ZoneValue::Boolean(true),
            b => return Err(format!("boolean zone-map bound {b}")),
        },
        PhysicalType::Int16 => ZoneValue::Int(i16::from_le_bytes(r.array()?).into()),
        PhysicalType::Int32 => ZoneValue::Int(i32::from_le_bytes(r.array()?).into()),
        PhysicalType::Int64 => ZoneValue::Int(i64::from_le_bytes(r.array()?)),
        PhysicalType::Float32 => ZoneValue::Float(f32::from_le_bytes(r.array()?).into()),
        PhysicalType::Float64 => ZoneValue::Float(f64::from_le_bytes(r.array()?)),
        PhysicalType::Int128 => ZoneValue::Decimal(i128::from_le_bytes(r.array()?)),
        PhysicalType::Utf8 => {
            let len = r.u32()?;
            ZoneValue::Bytes(r.take(len as usize)?.to_vec())
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int32Array, StringArray};

    use super::*;
    use crate::types::SqlType;

    fn zone(ty: SqlType, array: ArrayRef) -> ZoneMap {
        let piece = Piece::new(ty, array.as_ref()).unwrap();
        ZoneMap::of_pieces(&[piece])
    }

    #[test]
    fn integer_zone_map_skips_nulls() {
        // Input: INTEGER values 5, NULL, -7, 12, NULL.
        let z = zone(
            SqlType::Integer,
            Arc::new(Int32Array::from(vec![
                Some(5),
                None,
                Some(-7),
                Some(12),
                None,
            ])),
        );
        assert_eq!(z.row_count, 5);
        assert_eq!(z.null_count, 2);
        assert_eq!(z.min, Some(ZoneValue::Int(-7)));
        assert_eq!(z.max, Some(ZoneValue::Int(12)));
        assert!(z.min_exact && z.max_exact);
    }

    #[test]
    fn float_zone_map_sorts_nan_last_and_infinities_inside() {
        // Input: DOUBLE values -Inf, NaN, 0.0, -0.0, +Inf.
        let z = zone(
            SqlType::Double,
            Arc::new(Float64Array::from(vec![
                f64::NEG_INFINITY,
                f64::NAN,
                0.0,
                -0.0,
                f64::INFINITY,
            ])),
        );
        assert_eq!(z.min, Some(ZoneValue::Float(f64::NEG_INFINITY)));
        match z.max {
            Some(ZoneValue::Float(f)) => assert!(f.is_nan()),
            other => panic!("max {other:?}"),
        }
    }

    #[test]
    fn all_null_column_has_no_bounds() {
        // Input: three NULL TEXT values.
        let z = zone(
            SqlType::Text,
            Arc::new(StringArray::from(vec![None::<&str>; 3])),
        );
        assert_eq!(z.null_count, 3);
        assert_eq!(z.min, None);
        assert_eq!(z.max, None);
    }

    #[test]
    fn long_strings_get_truncated_bounds_that_still_bracket_the_values() {
        // Input: two 100-byte strings, "a"*100 and "b"*99 + "c", plus the empty string.
        let lo = "a".repeat(100);
        let hi = format!("{}c", "b".repeat(99));
        let z = zone(
            SqlType::Text,
            Arc::new(StringArray::from(vec![lo.as_str(), hi.as_str(), ""])),
        );
        assert_eq!(z.min, Some(ZoneValue::Bytes(Vec::new())));
        assert!(z.min_exact);
        let Some(ZoneValue::Bytes(max)) = &z.max else {
            panic!("max {:?}", z.max)
        };
        assert_eq!(max.len(), ZONE_STRING_BYTES_MAX);
        assert!(!z.max_exact);
        assert!(max.as_slice() > hi.as_bytes());

        // Input: the 100-byte minimum alone is cut to a 64-byte prefix.
        let z = zone(
            SqlType::Text,
            Arc::new(StringArray::from(vec![lo.as_str()])),
        );
        assert_eq!(z.min, Some(ZoneValue::Bytes(lo.as_bytes()[..64].to_vec())));
        assert!(!z.min_exact);
    }

    #[test]
    fn merge_keeps_the_wider_range_and_exactness_on_ties() {
        // Input: zone maps [1, 5] with 1 null of 4 rows and [-3, 5] with 0 nulls of 2 rows.
        let mut a = ZoneMap {
            row_count: 4,
            null_count: 1,
            min: Some(ZoneValue::Int(1)),
            max: Some(ZoneValue::Int(5)),
            min_exact: true,
            max_exact: false,
        };
        let b = ZoneMap {
            row_count: 2,
            null_count: 0,
            min: Some(ZoneValue::Int(-3)),
            max: Some(ZoneValue::Int(5)),
            min_exact: true,
            max_exact: true,
        };
        a.merge(&b);
        assert_eq!((a.row_count, a.null_count), (6, 1));
        assert_eq!(a.min, Some(ZoneValue::Int(-3)));
        assert_eq!(a.max, Some(ZoneValue::Int(5)));
        assert!(a.max_exact);
        a.merge(&ZoneMap::empty());
        assert_eq!(a.row_count, 6);
    }

    #[test]
    fn bounds_round_trip_through_footer_and_json_forms() {
        // Input: one zone map per physical type with both bounds set.
        let cases = [
            (
                PhysicalType::Boolean,
                ZoneValue::Boolean(false),
                ZoneValue::Boolean(true),
            ),
            (
                PhysicalType::Int16,
                ZoneValue::Int(i16::MIN.into()),
                ZoneValue::Int(i16::MAX.into()),
            ),
            (
                PhysicalType::Int32,
                ZoneValue::Int(i32::MIN.into()),
                ZoneValue::Int(i32::MAX.into()),
            ),
            (
                PhysicalType::Int64,
                ZoneValue::Int(i64::MIN),
                ZoneValue::Int(i64::MAX),
            ),
            (
                PhysicalType::Float32,
                ZoneValue::Float(-1.5),
                ZoneValue::Float(f64::NAN),
            ),
            (
                PhysicalType::Float64,
                ZoneValue::Float(f64::NEG_INFINITY),
                ZoneValue::Float(f64::MAX),
            ),
            (
                PhysicalType::Int128,
                ZoneValue::Decimal(-(10i128.pow(38) - 1)),
                ZoneValue::Decimal(10i128.pow(38) - 1),
            ),
            (
                PhysicalType::Utf8,
                ZoneValue::Bytes(b"".to_vec()),
                ZoneValue::Bytes(vec![0x61, 0xfe]),
            ),
        ];
        assert_eq!(cases.len(), PhysicalType::ALL.len());
        for (ty, min, max) in cases {
            let z = ZoneMap {
                row_count: 10,
                null_count: 3,
                min: Some(min),
                max: Some(max),
                min_exact: true,
                max_exact: ty != PhysicalType::Utf8,
            };
            let mut buf = Vec::new();
            z.write_bounds(ty, &mut buf);
            let mut r = ByteReader::new(&buf);
            let back = ZoneMap::read_bounds(ty, 10, 3, &mut r).unwrap();
            assert_eq!(r.remaining(), 0);
            assert_eq!(back, z, "{ty:?}");

            let json = serde_json::to_string(&z).unwrap();
            let back: ZoneMap = serde_json::from_str(&json).unwrap();
            assert_eq!(back, z, "{ty:?} via {json}");
        }
    }

    #[test]
    fn read_bounds_rejects_inconsistent_flags() {
        // Input: flags with unknown bits, bounds on an all-NULL block, no bounds on a non-NULL one.
        assert!(
            ZoneMap::read_bounds(PhysicalType::Int32, 1, 0, &mut ByteReader::new(&[0x80])).is_err()
        );
        let mut bounded = vec![ZONE_HAS_BOUNDS];
        bounded.extend_from_slice(&[0; 8]);
        assert!(
            ZoneMap::read_bounds(PhysicalType::Int32, 2, 2, &mut ByteReader::new(&bounded))
                .is_err()
        );
        assert!(
            ZoneMap::read_bounds(PhysicalType::Int32, 2, 1, &mut ByteReader::new(&[0])).is_err()
        );
        assert!(ZoneMap::read_bounds(
            PhysicalType::Int32,
            2,
            1,
            &mut ByteReader::new(&[ZONE_HAS_BOUNDS])
        )
        .is_err());
    }
}

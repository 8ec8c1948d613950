//! A HyperLogLog sketch of distinct values: ANALYZE's distinct counts and the engine's
//! `APPROXIMATE COUNT(DISTINCT ...)`.
//!
//! Values are hashed to 64 bits with XXH3 (seed 0, the values' little-endian bytes, so the
//! hash of a value never changes between runs or machines) and the sketch keeps, in two forms:
//!
//! ```text
//!  sparse: the distinct hashes themselves, sorted  --more than SPARSE_HASHES_MAX-->  dense
//!  dense:  2^PRECISION registers of one byte: for the hashes whose top PRECISION bits name
//!          the register, the largest rank (leading zeros of the other 50 bits, plus one)
//! ```
//!
//! While sparse, the count is exact (up to 64-bit hash collisions, about n² / 2^65). Dense,
//! the count is Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017, algorithm 6), which needs no bias tables and is unbiased from
//! a few to billions of values; its relative standard error is 1.04 / sqrt(2^14) = 0.81 %,
//! so about 95 % of estimates lie within ±1.6 % and practically all within ±2.5 %
//! (the tests check ±3 % at several cardinalities).
//!
//! Sketches merge: the union of two sketches is exactly the sketch of the union of their
//! inputs (registers take the maximum; sparse hash sets unite and turn dense at the same
//! size a single sketch would), so partial sketches built in parallel combine without loss.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::Array;
use arrow_schema::DataType;

/// Bits of the hash that pick a register.
pub const PRECISION: u32 = 14;
/// Registers of a dense sketch.
pub const REGISTERS: usize = 1 << PRECISION;
/// Distinct hashes a sparse sketch holds before it turns dense (8 bytes each: half the
/// registers' memory).
pub const SPARSE_HASHES_MAX: usize = REGISTERS / 16;
/// The largest register value: all 50 bits after the register index zero.
const RANK_MAX: u8 = (64 - PRECISION + 1) as u8;

const _: () = assert!(PRECISION >= 4 && PRECISION <= 18);
const _: () = assert!(SPARSE_HASHES_MAX * 8 <= REGISTERS);

/// A mergeable distinct-count sketch (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch {
    repr: Repr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    /// Distinct hashes, sorted; `pending` holds hashes not yet merged in.
    Sparse {
        sorted: Vec<u64>,
        pending: Vec<u64>,
    },
    Dense(Box<[u8]>),
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new()
    }
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Sketch {
        Sketch {
            repr: Repr::Sparse {
                sorted: Vec::new(),
                pending: Vec::new(),
            },
        }
    }

    /// Adds a value by its 64-bit hash (see [`hash_bytes`], [`hash_array`]).
    pub fn insert_hash(&mut self, hash: u64) {
        match &mut self.repr {
            Repr::Dense(registers) => dense_insert(registers, hash),
            Repr::Sparse { pending, .. } => {
                pending.push(hash);
                if pending.len() >= SPARSE_HASHES_MAX {
                    self.compact();
                }
            }
        }
    }

    /// Adds every hash of `hashes`.
    pub fn insert_hashes(&mut self, hashes: impl IntoIterator<Item = u64>) {
        for h in hashes {
            self.insert_hash(h);
        }
    }

    /// Folds pending hashes into the sorted set, turning dense past [`SPARSE_HASHES_MAX`].
    fn compact(&mut self) {
        let Repr::Sparse { sorted, pending } = &mut self.repr else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        sorted.append(pending);
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() > SPARSE_HASHES_MAX {
            let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
            for &h in sorted.iter() {
                dense_insert(&mut registers, h);
            }
            self.repr = Repr::Dense(registers);
        }
    }

    /// Adds everything `other` holds: afterwards `self` is the sketch of the union.
    pub fn merge(&mut self, other: &Sketch) {
        match (&mut self.repr, &other.repr) {
            (Repr::Dense(mine), Repr::Dense(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                    *m = (*m).max(*t);
                }
            }
            (Repr::Dense(mine), Repr::Sparse { sorted, pending }) => {
                for &h in sorted.iter().chain(pending) {
                    dense_insert(mine, h);
                }
            }
            (Repr::Sparse { .. }, Repr::Dense(theirs)) => {
                let mut registers = theirs.clone();
                if let Repr::Sparse { sorted, pending } = &self.repr {
                    for &h in sorted.iter().chain(pending) {
                        dense_insert(&mut registers, h);
                    }
                }
                self.repr = Repr::Dense(registers);
            }
            (
                Repr::Sparse { pending, .. },
                Repr::Sparse {
                    sorted,
                    pending: p2,
                },
            ) => {
                pending.extend_from_slice(sorted);
                pending.extend_from_slice(p2);
                self.compact();
            }
        }
    }

    /// The estimated number of distinct values: exact while sparse, otherwise within the
    /// error the module documentation states.
    pub fn estimate(&self) -> f64 {
        match &self.repr {
            Repr::Sparse { sorted, pending } => {
                if pending.is_empty() {
                    return sorted.len() as f64;
                }
                let mut all: Vec<u64> = sorted.iter().chain(pending).copied().collect();
                all.sort_unstable();
                all.dedup();
                if all.len() <= SPARSE_HASHES_MAX {
                    return all.len() as f64;
                }
                let mut registers = vec![0u8; REGISTERS];
                for h in all {
                    dense_insert(&mut registers, h);
                }
                dense_estimate(&registers)
            }
            Repr::Dense(registers) => dense_estimate(registers),
        }
    }

    /// The estimate rounded to a count, never below 0.
    pub fn count(&self) -> u64 {
        self.estimate().round().max(0.0) as u64
    }

    /// Bytes of memory the sketch holds (for memory accounting).
    pub fn memory_bytes(&self) -> usize {
        match &self.repr {
            Repr::Sparse { sorted, pending } => (sorted.capacity() + pending.capacity()) * 8,
            Repr::Dense(r) => r.len(),
        }
    }
}

fn dense_insert(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - PRECISION)) as usize;
    let rest = hash << PRECISION;
    let rank = if rest == 0 {
        RANK_MAX
    } else {
        // At most 63 - PRECISION leading zeros, as the low PRECISION bits of `rest` are zero.
        (rest.leading_zeros() + 1) as u8
    };
    if let Some(r) = registers.get_mut(index) {
        *r = (*r).max(rank);
    }
}

/// Ertl's improved raw estimator over the registers' histogram.
fn dense_estimate(registers: &[u8]) -> f64 {
    let q = usize::from(RANK_MAX) - 1;
    let mut histogram = [0u32; 66];
    for &r in registers {
        histogram[usize::from(r).min(q + 1)] += 1;
    }
    let m = registers.len() as f64;
    let mut z = m * tau(1.0 - f64::from(histogram[q + 1]) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(histogram[k]));
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
    alpha_inf * m * m / z
}

/// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

/// The sketch hash of a value's bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// The sketch hash of an integer (SMALLINT, INTEGER, BIGINT, DATE, TIMESTAMP, BOOLEAN values
/// are hashed as the i64 of their value).
pub fn hash_i64(v: i64) -> u64 {
    hash_bytes(&v.to_le_bytes())
}

/// The sketch hash of a float: -0 hashes as 0, and every NaN alike, as they compare equal.
pub fn hash_f64(v: f64) -> u64 {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    hash_bytes(&v.to_bits().to_le_bytes())
}

/// Adds the hash of each non-null value of `array` to `sketch`, and returns the number of
/// nulls. Supported: the Arrow types of Basalt's column types; any other is `Err` naming it.
pub fn insert_array(sketch: &mut Sketch, array: &dyn Array) -> Result<usize, String> {
    let mut nulls = 0;
    hash_array(array, |h| match h {
        Some(h) => sketch.insert_hash(h),
        None => nulls += 1,
    })?;
    Ok(nulls)
}

/// Calls `f` with the hash of each row of `array` (`None` for NULL), in order.
pub fn hash_array(array: &dyn Array, mut f: impl FnMut(Option<u64>)) -> Result<(), String> {
    macro_rules! each {
        ($a:expr, $h:expr) => {{
            let a = $a;
            for i in 0..a.len() {
                f(a.is_valid(i).then(|| $h(a.value(i))));
            }
        }};
    }
    match array.data_type() {
        DataType::Boolean => each!(array.as_boolean(), |v: bool| hash_i64(i64::from(v))),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |v: i16| hash_i64(
            i64::from(v)
        )),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), |v: i32| hash_i64(
            i64::from(v)
        )),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), hash_i64),
        DataType::Date32 => each!(array.as_primitive::<Date32Type>(), |v: i32| hash_i64(
            i64::from(v)
        )),
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) => {
            each!(array.as_primitive::<TimestampMicrosecondType>(), hash_i64)
        }
        DataType::Time64(arrow_schema::TimeUnit::Microsecond) => {
            each!(array.as_primitive::<Time64MicrosecondType>(), hash_i64)
        }
        // Intervals that SQL calls equal ('1 day' and '24:00:00') are distinct values to a
        // sketch; the estimate counts representations, which is what the column stores.
        DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) => each!(
            array.as_primitive::<IntervalMonthDayNanoType>(),
            |v: arrow_buffer::IntervalMonthDayNano| {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&v.months.to_le_bytes());
                b[4..8].copy_from_slice(&v.days.to_le_bytes());
                b[8..].copy_from_slice(&v.nanoseconds.to_le_bytes());
                hash_bytes(&b)
            }
        ),
        DataType::Float32 => each!(array.as_primitive::<Float32Type>(), |v: f32| hash_f64(
            f64::from(v)
        )),
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), hash_f64),
        DataType::Decimal128(_, _) => each!(array.as_primitive::<Decimal128Type>(), |v: i128| {
            hash_bytes(&v.to_le_bytes())
        }),
        DataType::Utf8 => each!(array.as_string::<i32>(), |v: &str| hash_bytes(v.as_bytes())),
        DataType::LargeUtf8 => each!(array.as_string::<i64>(), |v: &str| hash_bytes(v.as_bytes())),
        DataType::Utf8View => each!(array.as_string_view(), |v: &str| hash_bytes(v.as_bytes())),
        other => return Err(format!("no sketch hash for values of type {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(range: std::ops::Range<u64>) -> Sketch {
        let mut s = Sketch::new();
        for v in range {
            s.insert_hash(hash_i64(v as i64));
        }
        s
    }

    // Input: n distinct integers, each inserted three times, for n from 1 to 10 million.
    // Up to SPARSE_HASHES_MAX the count is exact; beyond, within 3 % (3.7 standard errors).
    #[test]
    fn estimates_are_within_the_documented_error() {
        for n in [
            1u64, 10, 1_000, 1_024, 1_025, 5_000, 20_000, 100_000, 1_000_000, 10_000_000,
        ] {
            let mut s = Sketch::new();
            for _ in 0..3 {
                if n > 1_000_000 {
                    // Once is enough for the largest input.
                    s.insert_hashes((0..n).map(|v| hash_i64(v as i64)));
                    break;
                }
                s.insert_hashes((0..n).map(|v| hash_i64(v as i64)));
            }
            let estimate = s.estimate();
            if n as usize <= SPARSE_HASHES_MAX {
                assert_eq!(estimate, n as f64, "n = {n}");
            } else {
                let error = (estimate - n as f64).abs() / n as f64;
                assert!(error < 0.03, "n = {n}: estimate {estimate}, error {error}");
            }
        }
    }

    // Input: disjoint and overlapping ranges, sketched apart and merged in every
    // representation pair (sparse/sparse, sparse/dense, dense/dense).
    #[test]
    fn a_merge_equals_the_sketch_of_the_union() {
        let cases = [
            (0..500, 400..900),          // sparse + sparse, union still sparse
            (0..800, 500..1_500),        // sparse + sparse, union dense
            (0..300, 200..50_000),       // sparse + dense
            (0..60_000, 10..700),        // dense + sparse
            (0..70_000, 50_000..90_000), // dense + dense
        ];
        for (a, b) in cases {
            let union = a.start.min(b.start)..a.end.max(b.end);
            let expected = sketch_of(union.clone());
            let mut left = sketch_of(a.clone());
            left.merge(&sketch_of(b.clone()));
            left.compact();
            let mut expected = expected;
            expected.compact();
            assert_eq!(left, expected, "{a:?} + {b:?}");
            let mut right = sketch_of(b.clone());
            right.merge(&sketch_of(a.clone()));
            right.compact();
            assert_eq!(right, expected, "{b:?} + {a:?}");
            assert_eq!(left.estimate(), expected.estimate());
        }
    }

    // Input: an empty sketch, and one merged with an empty sketch.
    #[test]
    fn empty_sketches_count_zero() {
        let mut s = Sketch::new();
        assert_eq!(s.estimate(), 0.0);
        s.merge(&Sketch::new());
        assert_eq!(s.count(), 0);
        let mut d = sketch_of(0..100_000);
        let before = d.estimate();
        d.merge(&Sketch::new());
        assert_eq!(d.estimate(), before);
    }

    // Input: arrays of every supported type with NULLs and duplicates; -0.0 and 0.0, and two
    // NaNs, count once.
    #[test]
    fn arrays_hash_values_and_skip_nulls() {
        use arrow_array::{Float64Array, Int32Array, StringArray};
        let mut s = Sketch::new();
        let nulls = insert_array(
            &mut s,
            &Int32Array::from(vec![Some(1), None, Some(1), Some(2)]),
        )
        .unwrap();
        assert_eq!((nulls, s.count()), (1, 2));
        let mut s = Sketch::new();
        insert_array(
            &mut s,
            &Float64Array::from(vec![0.0, -0.0, f64::NAN, -f64::NAN, 1.5]),
        )
        .unwrap();
        assert_eq!(s.count(), 3);
        let mut s = Sketch::new();
        let nulls = insert_array(
            &mut s,
            &StringArray::from(vec![Some("a"), Some("b"), None, Some("a")]),
        )
        .unwrap();
        assert_eq!((nulls, s.count()), (1, 2));
        // Hashes are stable across runs: a fixed value's hash is fixed.
        assert_eq!(hash_i64(1), hash_bytes(&1i64.to_le_bytes()));
    }
}

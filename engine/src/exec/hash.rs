//! Hashing for hash joins and hash aggregation: a multiplicative hash for single integer keys,
//! aHash for keys in arrow-row form (SipHash's resistance to chosen keys buys nothing for
//! keys that come from the query's own data and costs a third of a grouping's time).

use arrow_array::{Array, ArrayRef};
use basalt_storage::SqlType;

/// The hasher of keys in arrow-row form.
pub(crate) type BytesHasher = ahash::RandomState;

/// A multiplicative hash for integer keys (SipHash's DoS resistance buys nothing here).
#[derive(Clone, Copy, Default)]
pub(crate) struct BuildIntHasher;

impl std::hash::BuildHasher for BuildIntHasher {
    type Hasher = IntHasher;
    fn build_hasher(&self) -> IntHasher {
        IntHasher(0)
    }
}

pub(crate) struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u128(&mut self, v: u128) {
        let h =
            ((v as u64) ^ ((v >> 64) as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
    fn write_i64(&mut self, v: i64) {
        let h = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

/// The values of an integer-like key column as i64 (`None` for other types).
pub(crate) fn int_keys(a: &ArrayRef) -> Option<Vec<i64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Int16Type, Int32Type, Int64Type};
    use arrow_schema::DataType;
    Some(match a.data_type() {
        DataType::Int16 => a
            .as_primitive::<Int16Type>()
            .values()
            .iter()
            .map(|v| i64::from(*v))
            .collect(),
        DataType::Int32 => a
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|v| i64::from(*v))
            .collect(),
        DataType::Int64 => a.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Date32 => a
            .as_primitive::<Date32Type>()
            .values()
            .iter()
            .map(|v| i64::from(*v))
            .collect(),
        _ => return None,
    })
}

pub(crate) fn is_int_key(t: SqlType) -> bool {
    matches!(
        t,
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt | SqlType::Date
    )
}

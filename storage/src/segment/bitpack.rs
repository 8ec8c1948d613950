//! Bit-packing of unsigned integers of a fixed bit width (0..=128), LSB first: value `i` occupies
//! bits `i * width .. (i + 1) * width` of the packed bytes, bit `b` being bit `b % 8` of byte
//! `b / 8`. The last byte's unused high bits are 0. Dictionary codes and frame-of-reference
//! offsets use it.

/// Widest value the packer takes, in bits.
pub(crate) const WIDTH_BITS_MAX: u32 = 128;

/// Bits needed to represent `v` (0 for 0).
pub(crate) fn bits_needed(v: u128) -> u32 {
    WIDTH_BITS_MAX - v.leading_zeros()
}

/// Bytes of `count` packed values of `width` bits, or `None` on overflow.
pub(crate) fn packed_bytes(count: usize, width: u32) -> Option<usize> {
    count
        .checked_mul(width as usize)
        .map(|bits| bits.div_ceil(8))
}

fn mask(width: u32) -> u128 {
    if width >= WIDTH_BITS_MAX {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Appends values of one width to a byte vector.
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    /// Pending bits, fewer than 8 between calls.
    acc: u128,
    pending: u32,
}

impl<'a> BitWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> BitWriter<'a> {
        BitWriter {
            out,
            acc: 0,
            pending: 0,
        }
    }

    /// Appends the low `width` bits of `v`.
    pub(crate) fn push(&mut self, v: u128, width: u32) {
        debug_assert!(width <= WIDTH_BITS_MAX);
        debug_assert!(v & !mask(width) == 0, "{v} does not fit {width} bits");
        let mut v = v & mask(width);
        let mut left = width;
        while left > 0 {
            // At most 7 pending bits plus 64 new ones fit the 128-bit accumulator.
            let take = left.min(64);
            self.acc |= (v & mask(take)) << self.pending;
            self.pending += take;
            while self.pending >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.pending -= 8;
            }
            v = if take >= WIDTH_BITS_MAX { 0 } else { v >> take };
            left -= take;
        }
    }

    /// Writes the last partial byte.
    pub(crate) fn finish(self) {
        if self.pending > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Values per group of the width-specialized unpackers: 64 values of `w` bits are exactly `w`
/// little-endian 64-bit words, so inside a group every value's word and shift are constants.
pub(crate) const GROUP_VALUES: usize = 64;

/// Unpacks the 64 values of `W` bits (`0..=64`) packed in the first `8 * W` bytes of `packed`
/// into `out`. Monomorphized per width: with `W` a constant the loop unrolls into loads, shifts
/// and masks by constants, with no per-value branch.
#[inline(always)]
fn unpack_group<const W: usize>(packed: &[u8], out: &mut [u64; GROUP_VALUES]) {
    if W == 0 {
        *out = [0; GROUP_VALUES];
        return;
    }
    let Some(packed) = packed.get(..8 * W) else {
        // The caller passes whole groups; nothing to unpack from a short one.
        return;
    };
    let word = |j: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&packed[8 * j..8 * j + 8]);
        u64::from_le_bytes(w)
    };
    let mask = if W == 64 { u64::MAX } else { (1u64 << W) - 1 };
    for (i, o) in out.iter_mut().enumerate() {
        let bit = i * W;
        let (j, shift) = (bit / 64, bit % 64);
        let mut v = word(j) >> shift;
        if shift + W > 64 {
            v |= word(j + 1) << (64 - shift);
        }
        *o = v & mask;
    }
}

type GroupUnpacker = fn(&[u8], &mut [u64; GROUP_VALUES]);

macro_rules! group_unpackers {
    ($($w:literal)*) => {
        [$(unpack_group::<$w> as GroupUnpacker,)*]
    };
}

/// The group unpacker of each width, indexed by the width.
static GROUP_UNPACKERS: [GroupUnpacker; 65] = group_unpackers!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
    33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62
    63 64
);

/// Widest value [`unpack_extend`] takes, in bits.
pub(crate) const UNPACK_WIDTH_MAX: u32 = 64;

/// Appends `f(v)` to `out` for each of the `count` values `v` of `width` bits (`0..=64`)
/// packed in `bytes`, in order. `bytes` must hold exactly [`packed_bytes`]`(count, width)`
/// bytes.
///
/// Whole groups of [`GROUP_VALUES`] values go through the unpacker specialized for `width`
/// into a small buffer, which `f` then maps into `out` through `Vec::extend` over a slice: no
/// per-value capacity check or branch, so a stateful `f` (a running sum) compiles to a tight
/// loop. The last `count % 64` values are read one by one.
#[inline]
pub(crate) fn unpack_extend<T>(
    bytes: &[u8],
    width: u32,
    count: usize,
    out: &mut Vec<T>,
    mut f: impl FnMut(u64) -> T,
) -> Result<(), String> {
    if width > UNPACK_WIDTH_MAX || packed_bytes(count, width) != Some(bytes.len()) {
        return Err(format!(
            "{} packed bytes for {count} values of {width} bits",
            bytes.len()
        ));
    }
    out.reserve(count);
    if width == 0 {
        out.extend((0..count).map(|_| f(0)));
        return Ok(());
    }
    let unpack = GROUP_UNPACKERS[width as usize];
    let groups = count / GROUP_VALUES;
    let mut buffer = [0u64; GROUP_VALUES];
    for group in bytes.chunks_exact(8 * width as usize).take(groups) {
        unpack(group, &mut buffer);
        out.extend(buffer.iter().map(|v| f(*v)));
    }
    let mut rest = BitReader {
        bytes,
        bit: groups * GROUP_VALUES * width as usize,
    };
    for _ in groups * GROUP_VALUES..count {
        out.push(f(rest.read(width)? as u64));
    }
    Ok(())
}

/// Appends `f(v)` to `out` for each of the `count` values `v` of `width` bits (`1..=56`)
/// packed in `bytes`, in order, with one unaligned 8-byte load per value while 8 bytes remain,
/// byte by byte after. `bytes` must hold exactly [`packed_bytes`]`(count, width)` bytes.
///
/// For a per-value `f` that is itself a load (a dictionary lookup) this measures faster than
/// [`unpack_extend`]'s groups, whose buffered values `f` cannot fuse with their unpacking.
#[inline]
pub(crate) fn unpack_extend_windowed<T>(
    bytes: &[u8],
    width: u32,
    count: usize,
    out: &mut Vec<T>,
    mut f: impl FnMut(u64) -> T,
) -> Result<(), String> {
    if !(1..=56).contains(&width) || packed_bytes(count, width) != Some(bytes.len()) {
        return Err(format!(
            "{} packed bytes for {count} values of {width} bits",
            bytes.len()
        ));
    }
    let w = width as usize;
    let mask = (1u64 << width) - 1;
    // Values whose 8-byte window lies inside `bytes`.
    let fast = if bytes.len() >= 8 {
        ((bytes.len() - 8) * 8 / w + 1).min(count)
    } else {
        0
    };
    out.reserve(count);
    // The windows of the first `fast` values end at or before `bytes.len()`.
    let windows = bytes
        .get(..(fast.saturating_sub(1) * w) / 8 + 8)
        .unwrap_or_default();
    out.extend((0..fast).map(|i| {
        let bit = i * w;
        let at = bit / 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(&windows[at..at + 8]);
        f((u64::from_le_bytes(word) >> (bit % 8)) & mask)
    }));
    let mut rest = BitReader {
        bytes,
        bit: fast * w,
    };
    for _ in fast..count {
        out.push(f(rest.read(width)? as u64));
    }
    Ok(())
}

/// Reads values of one width from packed bytes; reading past the end is an error.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, bit: 0 }
    }

    /// The next `width` bits (`width <= 128`) as an unsigned integer.
    pub(crate) fn read(&mut self, width: u32) -> Result<u128, String> {
        if width == 0 {
            return Ok(0);
        }
        let byte = self.bit / 8;
        let shift = (self.bit % 8) as u32;
        // Fast path: one unaligned 8-byte load holds the value.
        if width <= 56 {
            if let Some(chunk) = self.bytes.get(byte..byte + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let v = (u64::from_le_bytes(word) >> shift) & ((1u64 << width) - 1);
                self.bit += width as usize;
                return Ok(u128::from(v));
            }
        }
        let mut v: u128 = 0;
        let mut got = 0;
        while got < width {
            let at = self.bit / 8;
            let shift = (self.bit % 8) as u32;
            let b = *self
                .bytes
                .get(at)
                .ok_or_else(|| format!("packed values end at byte {}", self.bytes.len()))?;
            let take = (8 - shift).min(width - got);
            let part = u128::from(b >> shift) & mask(take);
            v |= part << got;
            got += take;
            self.bit += take as usize;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every width from 0 to 64 and counts around the group's and the 8-byte window's edges:
    // the unpacker returns what the writer packed, and a wrong byte count is an error.
    #[test]
    fn unpack_extend_matches_the_writer() {
        for width in 0..=UNPACK_WIDTH_MAX {
            for count in [
                0usize, 1, 2, 7, 8, 9, 63, 64, 65, 127, 128, 129, 1000, 32_768,
            ] {
                let values: Vec<u64> = (0..count as u64)
                    .map(|i| match i % 5 {
                        // The widest value, all bits set, and the smallest.
                        0 => mask(width) as u64,
                        1 => 0,
                        _ => i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask(width) as u64,
                    })
                    .collect();
                let mut packed = Vec::new();
                let mut w = BitWriter::new(&mut packed);
                for v in &values {
                    w.push(u128::from(*v), width);
                }
                w.finish();
                let mut got = Vec::new();
                unpack_extend(&packed, width, count, &mut got, |v| v).unwrap();
                assert_eq!(got, values, "width {width} count {count}");
                if (1..=56).contains(&width) {
                    got.clear();
                    unpack_extend_windowed(&packed, width, count, &mut got, |v| v).unwrap();
                    assert_eq!(got, values, "windowed, width {width} count {count}");
                }
                packed.push(0);
                assert!(unpack_extend(&packed, width, count, &mut got, |v| v).is_err());
                assert!(unpack_extend_windowed(&packed, width, count, &mut got, |v| v).is_err());
            }
        }
        let mut got: Vec<u64> = Vec::new();
        assert!(unpack_extend(&[0; 9], UNPACK_WIDTH_MAX + 1, 1, &mut got, |v| v).is_err());
    }

    #[test]
    fn every_width_round_trips() {
        // Input: 37 values per width 0..=128, each the width's mask xor a counter.
        for width in 0..=WIDTH_BITS_MAX {
            let values: Vec<u128> = (0..37u128)
                .map(|i| (mask(width) ^ i) & mask(width))
                .collect();
            let mut out = Vec::new();
            let mut w = BitWriter::new(&mut out);
            for v in &values {
                w.push(*v, width);
            }
            w.finish();
            assert_eq!(Some(out.len()), packed_bytes(values.len(), width));
            let mut r = BitReader::new(&out);
            for v in &values {
                assert_eq!(r.read(width).unwrap(), *v, "width {width}");
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        // Input: one byte, read as two 5-bit values.
        let mut r = BitReader::new(&[0xFF]);
        assert_eq!(r.read(5).unwrap(), 31);
        assert!(r.read(5).is_err());
    }
}

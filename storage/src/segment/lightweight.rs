//! The lightweight encodings: DICTIONARY, RUN_LENGTH and FRAME_OF_REFERENCE (with its delta
//! mode). Each analyzes and encodes a [`Flat`] view of a block, and decodes by filling the
//! column builder directly or by decoding a small PLAIN payload (dictionary entries, run values)
//! and gathering from it. Layouts are in `docs/segment-format.md`, section "Blocks".

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use arrow_array::Array;

use crate::bytes::{ByteReader, PutLe};
use crate::segment::bitpack::{
    bits_needed, packed_bytes, unpack_extend, unpack_extend_windowed, BitReader, BitWriter,
    UNPACK_WIDTH_MAX, WIDTH_BITS_MAX,
};
use crate::segment::column::{ColumnBuilder, ColumnValues};
use crate::segment::encoding::Codec as _;
use crate::segment::encoding::Plain;
use crate::segment::physical::{packed_interval, Piece, Values};
use crate::segment::BLOCK_STRING_BYTES_MAX;
use crate::types::SqlType;

/// A block's values in one vector, for analysis and the lightweight encoders. A NULL slot holds
/// the previous row's value (or the first non-NULL value), so NULLs neither break runs nor add
/// dictionary entries nor widen a frame; the validity bitmap says which slots are NULL.
#[derive(Debug)]
pub(crate) enum Flat<'a> {
    Boolean(Vec<bool>),
    /// Fixed-width values widened to 128 bits: integers sign-extended, floats as their IEEE 754
    /// bit patterns zero-extended. The low `width` bytes, little-endian, are the PLAIN value.
    Fixed {
        values: Vec<i128>,
        width: usize,
        integer: bool,
    },
    Utf8(Vec<&'a str>),
}

/// Fills NULL slots (`None`) as [`Flat`] describes.
fn fill_nulls<T: Copy + Default>(values: Vec<Option<T>>) -> Vec<T> {
    let first = values.iter().flatten().next().copied().unwrap_or_default();
    let mut last = first;
    values
        .into_iter()
        .map(|v| {
            if let Some(v) = v {
                last = v;
            }
            last
        })
        .collect()
}

impl<'a> Flat<'a> {
    pub(crate) fn of(pieces: &[Piece<'a>]) -> Flat<'a> {
        let rows: usize = pieces.iter().map(Piece::len).sum();
        let first = pieces.first().map(|p| p.values);
        match first {
            Some(Values::Boolean(_)) => {
                let mut out = Vec::with_capacity(rows);
                for piece in pieces {
                    if let Values::Boolean(a) = piece.values {
                        out.extend((0..a.len()).map(|i| piece.is_valid(i).then(|| a.value(i))));
                    }
                }
                Flat::Boolean(fill_nulls(out))
            }
            Some(Values::Utf8(_)) => {
                let mut out = Vec::with_capacity(rows);
                for piece in pieces {
                    if let Values::Utf8(a) = piece.values {
                        out.extend((0..a.len()).map(|i| piece.is_valid(i).then(|| a.value(i))));
                    }
                }
                Flat::Utf8(fill_nulls(out))
            }
            _ => {
                let mut out: Vec<Option<i128>> = Vec::with_capacity(rows);
                let (mut width, mut integer) = (0, true);
                for piece in pieces {
                    let valid = |i: usize| piece.is_valid(i);
                    macro_rules! widen {
                        ($v:expr, $w:expr, $int:expr, $f:expr) => {{
                            width = $w;
                            integer = $int;
                            out.extend(
                                $v.iter().enumerate().map(|(i, x)| valid(i).then(|| $f(*x))),
                            );
                        }};
                    }
                    match piece.values {
                        Values::Int16(v) => widen!(v, 2, true, i128::from),
                        Values::Int32(v) => widen!(v, 4, true, i128::from),
                        Values::Int64(v) => widen!(v, 8, true, i128::from),
                        Values::Int128(v) => widen!(v, 16, true, |x: i128| x),
                        Values::Interval(v) => widen!(v, 16, true, packed_interval),
                        Values::Float32(v) => {
                            widen!(v, 4, false, |x: f32| i128::from(x.to_bits()))
                        }
                        Values::Float64(v) => {
                            widen!(v, 8, false, |x: f64| i128::from(x.to_bits()))
                        }
                        Values::Boolean(_) | Values::Utf8(_) => {
                            debug_assert!(false, "mixed physical types in one block");
                        }
                    }
                }
                Flat::Fixed {
                    values: fill_nulls(out),
                    width,
                    integer,
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Flat::Boolean(v) => v.len(),
            Flat::Fixed { values, .. } => values.len(),
            Flat::Utf8(v) => v.len(),
        }
    }
}

/// A subset of a block's values (dictionary entries, run values) to write as PLAIN.
enum Subset<'b, 'a> {
    Boolean(Vec<bool>),
    Fixed(Vec<i128>, usize),
    Utf8(Vec<&'b &'a str>),
}

impl Subset<'_, '_> {
    fn put_plain(&self, out: &mut Vec<u8>) {
        match self {
            Subset::Boolean(v) => {
                let at = out.len();
                out.resize(at + v.len().div_ceil(8), 0);
                for (i, b) in v.iter().enumerate() {
                    if *b {
                        out[at + i / 8] |= 1 << (i % 8);
                    }
                }
            }
            Subset::Fixed(v, width) => {
                for x in v {
                    out.extend_from_slice(&x.to_le_bytes()[..*width]);
                }
            }
            Subset::Utf8(v) => {
                let mut offset = 0u32;
                out.put_u32(0);
                for s in v {
                    // Strings come from one block, whose bytes the writer caps far below 4 GiB.
                    offset = offset.saturating_add(u32::try_from(s.len()).unwrap_or(u32::MAX));
                    out.put_u32(offset);
                }
                for s in v {
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
}

/// The hasher of dictionary planning: aHash with fixed keys. SipHash's resistance to chosen
/// keys buys nothing for a block's own values and cost most of the planning's time.
type Hasher = ahash::RandomState;

fn hasher() -> Hasher {
    ahash::RandomState::with_seeds(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
}

/// Distinct values of `values` in order of first appearance and each row's code, or `None`
/// once there are more than `entries_max`.
fn dictionary_of<T: Copy + Eq + Hash>(
    values: &[T],
    entries_max: usize,
) -> Option<(Vec<T>, Vec<u32>)> {
    let mut index: HashMap<T, u32, Hasher> = HashMap::with_hasher(hasher());
    let mut entries = Vec::new();
    let mut codes = Vec::with_capacity(values.len());
    let mut last: Option<(T, u32)> = None;
    for v in values {
        // Runs of one value (sorted or clustered columns) skip the table.
        if let Some((l, code)) = last {
            if l == *v {
                codes.push(code);
                continue;
            }
        }
        let next = entries.len() as u32;
        let code = *index.entry(*v).or_insert(next);
        if code == next {
            if entries.len() == entries_max {
                return None;
            }
            entries.push(*v);
        }
        codes.push(code);
        last = Some((*v, code));
    }
    Some((entries, codes))
}

/// The number of distinct values of `values` and the PLAIN bytes of them (`bytes` of one
/// value), or `None` once there are more than `entries_max`: what DICTIONARY's analysis
/// needs, without the row codes.
///
/// It gives up (`None`) as well as soon as `enough(count, bytes)` holds for the distinct
/// values seen so far.
fn distinct_within<T: Copy + Eq + Hash>(
    values: &[T],
    entries_max: usize,
    bytes: impl Fn(T) -> u64,
    enough: impl Fn(usize, u64) -> bool,
) -> Option<(usize, u64)> {
    let mut seen: HashSet<T, Hasher> = HashSet::with_hasher(hasher());
    let mut total = 0u64;
    let mut last: Option<T> = None;
    for v in values {
        if last == Some(*v) {
            continue;
        }
        last = Some(*v);
        if seen.insert(*v) {
            if seen.len() > entries_max {
                return None;
            }
            total += bytes(*v);
            if enough(seen.len(), total) {
                return None;
            }
        }
    }
    Some((seen.len(), total))
}

/// Dictionary entries and codes of a block.
struct DictionaryPlan<'b, 'a> {
    entries: Subset<'b, 'a>,
    codes: Vec<u32>,
    count: usize,
}

fn dictionary_plan<'b, 'a>(
    flat: &'b Flat<'a>,
    entries_max: usize,
) -> Option<DictionaryPlan<'b, 'a>> {
    match flat {
        Flat::Boolean(_) => None,
        Flat::Fixed { values, width, .. } => {
            let (entries, codes) = dictionary_of(values, entries_max)?;
            Some(DictionaryPlan {
                count: entries.len(),
                entries: Subset::Fixed(entries, *width),
                codes,
            })
        }
        Flat::Utf8(values) => {
            let refs: Vec<&'b &'a str> = values.iter().collect();
            let (entries, codes) = dictionary_of(&refs, entries_max)?;
            Some(DictionaryPlan {
                count: entries.len(),
                entries: Subset::Utf8(entries),
                codes,
            })
        }
    }
}

/// DICTIONARY: `u32 entry_count`, `u8 code_width`, the row codes bit-packed, then the entries as
/// a PLAIN payload of `entry_count` values.
#[derive(Debug)]
pub(crate) struct Dictionary;

impl Dictionary {
    pub(crate) const ID: u8 = 1;

    /// The payload size, or `None` when the block has too many distinct values to pay, or a
    /// single one (a run, which RUN_LENGTH stores without codes).
    pub(crate) fn analyze(flat: &Flat<'_>) -> Option<u64> {
        Self::analyze_below(flat, u64::MAX)
    }

    /// [`Dictionary::analyze`] when only a payload smaller than `bound` bytes matters: `None`
    /// as soon as the distinct values seen so far make it `bound` or more (the payload only
    /// grows with each new value), which spares most of the hashing of a block with many
    /// distinct values that another encoding stores smaller.
    pub(crate) fn analyze_below(flat: &Flat<'_>, bound: u64) -> Option<u64> {
        let rows = flat.len();
        let entries_max = (rows / 2).max(1);
        let size = |count: usize, plain: u64| -> Option<u64> {
            let width = bits_needed(count.saturating_sub(1) as u128);
            Some(5 + packed_bytes(rows, width)? as u64 + plain)
        };
        let over = |count: usize, plain: u64| size(count, plain).is_none_or(|s| s >= bound);
        let (count, plain) = match flat {
            Flat::Boolean(_) => return None,
            Flat::Fixed { values, width, .. } => {
                distinct_within(values, entries_max, |_| *width as u64, over)?
            }
            Flat::Utf8(values) => {
                let utf8_plain = |count: usize, bytes: u64| bytes + 4 * (count as u64 + 1);
                let (count, bytes) = distinct_within(
                    values,
                    entries_max,
                    |s| s.len() as u64,
                    |count, bytes| over(count, utf8_plain(count, bytes)),
                )?;
                (count, utf8_plain(count, bytes))
            }
        };
        if count <= 1 {
            return None;
        }
        size(count, plain).filter(|s| *s < bound)
    }

    /// Appends the payload; `false` (with nothing written) for booleans, which it cannot encode.
    pub(crate) fn encode(flat: &Flat<'_>, out: &mut Vec<u8>) -> bool {
        let Some(plan) = dictionary_plan(flat, usize::MAX) else {
            return false;
        };
        let width = bits_needed(plan.count.saturating_sub(1) as u128);
        out.put_u32(plan.count as u32);
        out.put_u8(width as u8);
        let mut w = BitWriter::new(out);
        for code in &plan.codes {
            w.push(u128::from(*code), width);
        }
        w.finish();
        plan.entries.put_plain(out);
        true
    }

    /// The payload's entries, decoded into a builder of type `ty`, its code width and its
    /// packed codes.
    fn parts(
        payload: &[u8],
        rows: usize,
        ty: SqlType,
    ) -> Result<(ColumnBuilder, u32, &[u8]), String> {
        let mut r = ByteReader::new(payload);
        let count = r.u32()? as usize;
        let width = u32::from(r.u8()?);
        if count > rows || (count == 0) != (rows == 0) {
            return Err(format!("DICTIONARY of {count} entries for {rows} rows"));
        }
        let expected = bits_needed(count.saturating_sub(1) as u128);
        if width != expected {
            return Err(format!(
                "DICTIONARY codes of {width} bits for {count} entries (expected {expected})"
            ));
        }
        let packed_len = packed_bytes(rows, width).ok_or("DICTIONARY codes overflow")?;
        let packed = r
            .take(packed_len)
            .map_err(|e| format!("DICTIONARY codes: {e}"))?;
        let entries = r.take(r.remaining())?;
        let mut dictionary = ColumnBuilder::new(ty, count);
        Plain::decode(entries, count, &mut dictionary)
            .map_err(|e| format!("DICTIONARY entries: {e}"))?;
        Ok((dictionary, width, packed))
    }

    /// The payload's entries, as a builder of type `ty` holding them (without validity), and
    /// the code of each of the `rows` rows, every one checked to name an entry.
    pub(crate) fn codes(
        payload: &[u8],
        rows: usize,
        ty: SqlType,
    ) -> Result<(ColumnBuilder, Vec<u32>), String> {
        let (dictionary, width, packed) = Self::parts(payload, rows, ty)?;
        let count = dictionary.values_len();
        if width == 0 {
            return Ok((dictionary, vec![0; rows]));
        }
        let mut codes: Vec<u32> = Vec::with_capacity(rows);
        unpack_extend_windowed(packed, width, rows, &mut codes, |c| c as u32)?;
        if let Some(row) = codes.iter().position(|c| *c as usize >= count) {
            return Err(format!(
                "DICTIONARY code {} at row {row} of {count} entries",
                codes[row]
            ));
        }
        Ok((dictionary, codes))
    }

    pub(crate) fn decode(
        payload: &[u8],
        rows: usize,
        out: &mut ColumnBuilder,
    ) -> Result<(), String> {
        let (dictionary, width, packed) = Self::parts(payload, rows, out.ty())?;
        let count = dictionary.values_len();
        if width == 0 {
            // One entry: every row is it.
            return gather(&dictionary.values, &mut out.values, &vec![0; rows]);
        }
        match (&dictionary.values, &mut out.values) {
            (ColumnValues::Int16(d), ColumnValues::Int16(o)) => lookup(d, packed, width, rows, o),
            (ColumnValues::Int32(d), ColumnValues::Int32(o)) => lookup(d, packed, width, rows, o),
            (ColumnValues::Int64(d), ColumnValues::Int64(o)) => lookup(d, packed, width, rows, o),
            (ColumnValues::Float32(d), ColumnValues::Float32(o)) => {
                lookup(d, packed, width, rows, o)
            }
            (ColumnValues::Float64(d), ColumnValues::Float64(o)) => {
                lookup(d, packed, width, rows, o)
            }
            (ColumnValues::Int128(d), ColumnValues::Int128(o)) => lookup(d, packed, width, rows, o),
            (values, out) => {
                let mut indices: Vec<u32> = Vec::with_capacity(rows);
                unpack_extend_windowed(packed, width, rows, &mut indices, |c| c as u32)?;
                if let Some(row) = indices.iter().position(|c| *c as usize >= count) {
                    return Err(format!(
                        "DICTIONARY code {} at row {row} of {count} entries",
                        indices[row]
                    ));
                }
                gather(values, out, &indices)
            }
        }
    }
}

/// Appends `dictionary[code]` to `out` for each of the `rows` codes of `width` bits (1 to 32,
/// as a dictionary of at most 2^32 entries needs) packed in `packed`. The dictionary is padded
/// to 2^`width` entries, so each code indexes it without a branch; a code past the real
/// entries is reported once the block is decoded.
fn lookup<T: Copy + Default>(
    dictionary: &[T],
    packed: &[u8],
    width: u32,
    rows: usize,
    out: &mut Vec<T>,
) -> Result<(), String> {
    if !(1..=32).contains(&width) {
        return Err(format!("DICTIONARY codes of {width} bits"));
    }
    let count = dictionary.len() as u64;
    let mut table = dictionary.to_vec();
    table.resize(1usize << width, T::default());
    let start = out.len();
    let mut widest = 0u64;
    unpack_extend_windowed(packed, width, rows, out, |c| {
        widest = widest.max(c);
        table[c as usize]
    })?;
    if widest >= count {
        let mut codes = Vec::with_capacity(rows);
        unpack_extend_windowed(packed, width, rows, &mut codes, |c| c)?;
        let row = codes.iter().position(|c| *c >= count).unwrap_or(0);
        out.truncate(start);
        return Err(format!(
            "DICTIONARY code {} at row {row} of {count} entries",
            codes.get(row).copied().unwrap_or(widest)
        ));
    }
    Ok(())
}

/// Runs of equal values: `(value, length)`.
fn runs_of<T: Copy + PartialEq>(values: &[T]) -> (Vec<T>, Vec<u32>) {
    let (mut run_values, mut lengths) = (Vec::new(), Vec::new());
    for v in values {
        match (run_values.last(), lengths.last_mut()) {
            (Some(last), Some(n)) if last == v => *n += 1,
            _ => {
                run_values.push(*v);
                lengths.push(1u32);
            }
        }
    }
    (run_values, lengths)
}

fn run_plan<'b, 'a>(flat: &'b Flat<'a>) -> (Subset<'b, 'a>, Vec<u32>) {
    match flat {
        Flat::Boolean(v) => {
            let (values, lengths) = runs_of(v);
            (Subset::Boolean(values), lengths)
        }
        Flat::Fixed { values, width, .. } => {
            let (values, lengths) = runs_of(values);
            (Subset::Fixed(values, *width), lengths)
        }
        Flat::Utf8(v) => {
            let refs: Vec<&'b &'a str> = v.iter().collect();
            let (values, lengths) = runs_of(&refs);
            (Subset::Utf8(values), lengths)
        }
    }
}

/// RUN_LENGTH: `u32 run_count`, `run_count` `u32` run lengths (each at least 1, summing to the
/// block's rows), then the run values as a PLAIN payload of `run_count` values.
#[derive(Debug)]
pub(crate) struct RunLength;

impl RunLength {
    pub(crate) const ID: u8 = 2;

    /// The payload size; `None` when runs average under two rows, where it cannot pay.
    pub(crate) fn analyze(flat: &Flat<'_>) -> Option<u64> {
        // The runs counted, not collected: most blocks have too many to pay, and this
        // runs for every block a load writes.
        fn starts<T: PartialEq>(values: &[T]) -> impl Iterator<Item = &T> {
            values
                .iter()
                .enumerate()
                .filter(|(i, v)| *i == 0 || values[i - 1] != **v)
                .map(|(_, v)| v)
        }
        let (runs, plain) = match flat {
            Flat::Boolean(v) => {
                let n = starts(v).count() as u64;
                (n, n.div_ceil(8))
            }
            Flat::Fixed { values, width, .. } => {
                let n = starts(values).count() as u64;
                (n, n * *width as u64)
            }
            Flat::Utf8(v) => {
                let (n, bytes) =
                    starts(v).fold((0u64, 0u64), |(n, b), s| (n + 1, b + s.len() as u64));
                (n, 4 * (n + 1) + bytes)
            }
        };
        if runs * 2 > flat.len().max(1) as u64 {
            return None;
        }
        Some(4 + 4 * runs + plain)
    }

    pub(crate) fn encode(flat: &Flat<'_>, out: &mut Vec<u8>) {
        let (values, lengths) = run_plan(flat);
        out.put_u32(lengths.len() as u32);
        for n in &lengths {
            out.put_u32(*n);
        }
        values.put_plain(out);
    }

    pub(crate) fn decode(
        payload: &[u8],
        rows: usize,
        out: &mut ColumnBuilder,
    ) -> Result<(), String> {
        let mut r = ByteReader::new(payload);
        let count = r.u32()? as usize;
        if count > rows || (count == 0) != (rows == 0) {
            return Err(format!("RUN_LENGTH of {count} runs for {rows} rows"));
        }
        let mut indices: Vec<u32> = Vec::with_capacity(rows);
        for run in 0..count {
            let n = r.u32().map_err(|e| format!("RUN_LENGTH lengths: {e}"))? as usize;
            if n == 0 || n > rows - indices.len() {
                return Err(format!(
                    "RUN_LENGTH run {run} of {n} rows after {} of {rows}",
                    indices.len()
                ));
            }
            indices.extend(std::iter::repeat_n(run as u32, n));
        }
        if indices.len() != rows {
            return Err(format!(
                "RUN_LENGTH runs cover {} of {rows} rows",
                indices.len()
            ));
        }
        let values = r.take(r.remaining())?;
        let mut run_values = ColumnBuilder::new(out.ty(), count);
        Plain::decode(values, count, &mut run_values)
            .map_err(|e| format!("RUN_LENGTH values: {e}"))?;
        gather(&run_values.values, &mut out.values, &indices)
    }
}

/// Frame-of-reference modes (the payload's first byte).
const MODE_FRAME: u8 = 0;
const MODE_DELTA: u8 = 1;

/// `(base, width)` of a frame of reference over `values`: the minimum and the bits of the
/// widest offset from it. Offsets are computed modulo 2^128, which is exact for any span of
/// 128-bit values.
fn frame_of(values: impl Iterator<Item = i128>) -> (i128, u32) {
    // One pass for both ends: this runs over every integer block a load writes.
    let (min, max) = values
        .fold(None, |ends: Option<(i128, i128)>, v| {
            Some(match ends {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            })
        })
        .unwrap_or((0, 0));
    (min, bits_needed(max.wrapping_sub(min) as u128))
}

/// FRAME_OF_REFERENCE: `u8 mode`, then for mode 0 (frame) `i128 base`, `u8 width` and each
/// row's `value - base` bit-packed; for mode 1 (delta) `i128 first`, `i128 delta_base`,
/// `u8 width` and for rows after the first `value - previous - delta_base` bit-packed. Integer
/// physical types only (SMALLINT, INTEGER, DATE, BIGINT, TIMESTAMP, DECIMAL).
#[derive(Debug)]
pub(crate) struct FrameOfReference;

impl FrameOfReference {
    pub(crate) const ID: u8 = 3;

    fn deltas(values: &[i128]) -> impl Iterator<Item = i128> + '_ {
        values.windows(2).map(|w| w[1].wrapping_sub(w[0]))
    }

    /// `(mode, size)` of the smaller mode, or `None` for non-integers.
    fn plan(flat: &Flat<'_>) -> Option<(u8, u64)> {
        let Flat::Fixed {
            values,
            integer: true,
            ..
        } = flat
        else {
            return None;
        };
        let (_, width) = frame_of(values.iter().copied());
        let frame = 18 + packed_bytes(values.len(), width)? as u64;
        let (_, dwidth) = frame_of(Self::deltas(values));
        let delta = 34 + packed_bytes(values.len().saturating_sub(1), dwidth)? as u64;
        Some(if delta < frame {
            (MODE_DELTA, delta)
        } else {
            (MODE_FRAME, frame)
        })
    }

    pub(crate) fn analyze(flat: &Flat<'_>) -> Option<u64> {
        Self::plan(flat).map(|(_, size)| size)
    }

    /// Appends the payload in the smaller mode; `false` (with nothing written) for non-integers.
    pub(crate) fn encode(flat: &Flat<'_>, out: &mut Vec<u8>) -> bool {
        match Self::plan(flat) {
            Some((mode, _)) => Self::encode_mode(flat, mode, out),
            None => false,
        }
    }

    /// Appends the payload in delta mode (`delta`) or else frame mode, whichever is larger;
    /// `false` (with nothing written) for non-integers. For measuring one mode at a time.
    pub(crate) fn encode_in_mode(flat: &Flat<'_>, delta: bool, out: &mut Vec<u8>) -> bool {
        let mode = if delta { MODE_DELTA } else { MODE_FRAME };
        Self::plan(flat).is_some() && Self::encode_mode(flat, mode, out)
    }

    fn encode_mode(flat: &Flat<'_>, mode: u8, out: &mut Vec<u8>) -> bool {
        let Flat::Fixed { values, .. } = flat else {
            return false;
        };
        out.put_u8(mode);
        if mode == MODE_DELTA {
            let (base, width) = frame_of(Self::deltas(values));
            out.extend_from_slice(&values.first().copied().unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&base.to_le_bytes());
            out.put_u8(width as u8);
            let mut w = BitWriter::new(out);
            for d in Self::deltas(values) {
                w.push(d.wrapping_sub(base) as u128, width);
            }
            w.finish();
        } else {
            let (base, width) = frame_of(values.iter().copied());
            out.extend_from_slice(&base.to_le_bytes());
            out.put_u8(width as u8);
            let mut w = BitWriter::new(out);
            for v in values {
                w.push(v.wrapping_sub(base) as u128, width);
            }
            w.finish();
        }
        true
    }

    pub(crate) fn decode(
        payload: &[u8],
        rows: usize,
        out: &mut ColumnBuilder,
    ) -> Result<(), String> {
        let mut r = ByteReader::new(payload);
        let mode = r.u8()?;
        let first = i128::from_le_bytes(r.array::<16>()?);
        let (delta_base, packed_count) = match mode {
            MODE_FRAME => (None, rows),
            MODE_DELTA => (
                Some(i128::from_le_bytes(r.array::<16>()?)),
                rows.saturating_sub(1),
            ),
            _ => return Err(format!("FRAME_OF_REFERENCE mode {mode}")),
        };
        let width = u32::from(r.u8()?);
        if width > WIDTH_BITS_MAX {
            return Err(format!("FRAME_OF_REFERENCE width of {width} bits"));
        }
        let packed_len = packed_bytes(packed_count, width).ok_or("FRAME_OF_REFERENCE overflow")?;
        let packed = r
            .take(packed_len)
            .map_err(|e| format!("FRAME_OF_REFERENCE offsets: {e}"))?;
        let mut bits = BitReader::new(packed);
        if r.remaining() != 0 {
            return Err(format!(
                "{} bytes after the FRAME_OF_REFERENCE offsets",
                r.remaining()
            ));
        }
        if width <= UNPACK_WIDTH_MAX {
            let done = match delta_base {
                None => decode_frame(packed, width, rows, first, &mut out.values)?,
                Some(base) => decode_delta(packed, width, rows, first, base, &mut out.values)?,
            };
            if done {
                return Ok(());
            }
        }
        // The exact path: any width, every value computed in 128 bits and checked against the
        // column's type (a value outside it is corruption).
        let mut previous = first;
        let mut row = 0usize;
        let mut next = || -> Result<i128, String> {
            let v = match delta_base {
                None => first.wrapping_add(bits.read(width)? as i128),
                Some(_) if row == 0 => first,
                Some(base) => previous
                    .wrapping_add(base)
                    .wrapping_add(bits.read(width)? as i128),
            };
            previous = v;
            row += 1;
            Ok(v)
        };
        fn fill<T: TryFrom<i128>>(
            out: &mut Vec<T>,
            rows: usize,
            next: &mut impl FnMut() -> Result<i128, String>,
        ) -> Result<(), String> {
            out.reserve(rows);
            for _ in 0..rows {
                let v = next()?;
                out.push(
                    T::try_from(v)
                        .map_err(|_| format!("FRAME_OF_REFERENCE value {v} out of range"))?,
                );
            }
            Ok(())
        }
        match &mut out.values {
            ColumnValues::Int16(v) => fill(v, rows, &mut next),
            ColumnValues::Int32(v) => fill(v, rows, &mut next),
            ColumnValues::Int64(v) => fill(v, rows, &mut next),
            ColumnValues::Int128(v) => fill(v, rows, &mut next),
            _ => Err("FRAME_OF_REFERENCE block in a non-integer column".to_string()),
        }
    }
}

/// Frame mode with offsets of at most [`UNPACK_WIDTH_MAX`] bits, when the whole frame (`base`
/// to `base + 2^width - 1`) fits the column's type: every value does, so the range is checked
/// once for the block, and each offset of 1 to 56 bits is read with one 8-byte load (the group
/// unpacker takes 0 and 57 to 64 bits). `false` (with nothing
/// appended) when the frame does not fit, for the exact path to find the value that does not.
fn decode_frame(
    packed: &[u8],
    width: u32,
    rows: usize,
    base: i128,
    out: &mut ColumnValues,
) -> Result<bool, String> {
    let top = base.checked_add((1i128 << width) - 1);
    macro_rules! frame {
        ($v:expr, $t:ty) => {
            if let (Ok(base), Some(Ok(_))) = (<$t>::try_from(base), top.map(<$t>::try_from)) {
                // The sum fits the type, so the wrapping addition is exact.
                let value = |o: u64| base.wrapping_add(o as $t);
                if (1..=56).contains(&width) {
                    unpack_extend_windowed(packed, width, rows, $v, value)?;
                } else {
                    unpack_extend(packed, width, rows, $v, value)?;
                }
                return Ok(true);
            }
        };
    }
    match out {
        ColumnValues::Int16(v) => frame!(v, i16),
        ColumnValues::Int32(v) => frame!(v, i32),
        ColumnValues::Int64(v) => frame!(v, i64),
        ColumnValues::Int128(v) => frame!(v, i128),
        _ => {}
    }
    Ok(false)
}

/// Whether every value of a delta-mode block lies in `lo..=hi`. Value `i` is `first` plus `i`
/// differences, each in `delta_base ..= delta_base + 2^width - 1`, so it lies between
/// `first + i·delta_base` and `first + i·(delta_base + 2^width - 1)`; both bounds are linear in
/// `i`, so over all rows they are extreme at the first row or the last.
fn delta_within(
    first: i128,
    delta_base: i128,
    width: u32,
    rows: usize,
    lo: i128,
    hi: i128,
) -> bool {
    let Some(top) = (width < 127)
        .then(|| delta_base.checked_add((1i128 << width) - 1))
        .flatten()
    else {
        return false;
    };
    let steps = rows.saturating_sub(1) as i128;
    let last = |step: i128| steps.checked_mul(step).and_then(|d| first.checked_add(d));
    match (last(delta_base), last(top)) {
        (Some(low), Some(high)) => [first, low, high].iter().all(|v| (lo..=hi).contains(v)),
        _ => false,
    }
}

/// Delta mode with differences of at most [`UNPACK_WIDTH_MAX`] bits: the offsets go through the
/// group unpacker and a running sum in a tight loop. The format's arithmetic is modulo 2^128;
/// for 16-, 32- and 64-bit columns the sum runs in 64 bits, modulo 2^64, which gives the same
/// values whenever they all fit the column's type, which [`delta_within`] checks once for the
/// block. `false` (with nothing appended) when they may not, for the exact path.
fn decode_delta(
    packed: &[u8],
    width: u32,
    rows: usize,
    first: i128,
    delta_base: i128,
    out: &mut ColumnValues,
) -> Result<bool, String> {
    if rows == 0 {
        // Nothing to append; a block in a column of another type is left to the exact path.
        return Ok(matches!(
            out,
            ColumnValues::Int16(_)
                | ColumnValues::Int32(_)
                | ColumnValues::Int64(_)
                | ColumnValues::Int128(_)
        ));
    }
    // Truncation keeps both modulo 2^64, all the 64-bit sum needs.
    let (first64, step64) = (first as i64, delta_base as i64);
    macro_rules! delta {
        ($v:expr, $t:ty) => {{
            if !delta_within(
                first,
                delta_base,
                width,
                rows,
                <$t>::MIN.into(),
                <$t>::MAX.into(),
            ) {
                return Ok(false);
            }
            $v.reserve(rows);
            $v.push(first64 as $t);
            let mut value = first64;
            unpack_extend(packed, width, rows - 1, $v, |o| {
                value = value.wrapping_add(step64).wrapping_add(o as i64);
                value as $t
            })?;
        }};
    }
    match out {
        ColumnValues::Int16(v) => delta!(v, i16),
        ColumnValues::Int32(v) => delta!(v, i32),
        ColumnValues::Int64(v) => delta!(v, i64),
        ColumnValues::Int128(v) => {
            // 128-bit columns take every value the format's arithmetic gives.
            v.reserve(rows);
            v.push(first);
            let mut value = first;
            unpack_extend(packed, width, rows - 1, v, |o| {
                value = value.wrapping_add(delta_base).wrapping_add(i128::from(o));
                value
            })?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Strings up to this many bytes are copied byte by byte when gathered.
const SHORT_STRING_BYTES: usize = 8;

/// Appends `src[i]` for each index to `out` (both of the same physical type). Expanded string
/// bytes are capped at the larger of [`BLOCK_STRING_BYTES_MAX`] and the source's bytes, which
/// is all a writer ever produces, so a corrupt block cannot make the reader allocate without
/// bound.
fn gather(src: &ColumnValues, out: &mut ColumnValues, indices: &[u32]) -> Result<(), String> {
    fn take<T: Copy>(src: &[T], out: &mut Vec<T>, indices: &[u32]) -> Result<(), String> {
        out.reserve(indices.len());
        for i in indices {
            out.push(
                *src.get(*i as usize)
                    .ok_or_else(|| format!("index {i} of {} values", src.len()))?,
            );
        }
        Ok(())
    }
    match (src, out) {
        (ColumnValues::Boolean(s), ColumnValues::Boolean(o)) => {
            let bits = s.as_slice();
            for i in indices {
                let i = *i as usize;
                if i >= s.len() {
                    return Err(format!("index {i} of {} values", s.len()));
                }
                let byte = bits.get(i / 8).ok_or("boolean values too short")?;
                o.append(byte & (1 << (i % 8)) != 0);
            }
            Ok(())
        }
        (ColumnValues::Int16(s), ColumnValues::Int16(o)) => take(s, o, indices),
        (ColumnValues::Int32(s), ColumnValues::Int32(o)) => take(s, o, indices),
        (ColumnValues::Int64(s), ColumnValues::Int64(o)) => take(s, o, indices),
        (ColumnValues::Float32(s), ColumnValues::Float32(o)) => take(s, o, indices),
        (ColumnValues::Float64(s), ColumnValues::Float64(o)) => take(s, o, indices),
        (ColumnValues::Int128(s), ColumnValues::Int128(o)) => take(s, o, indices),
        (
            ColumnValues::Utf8 {
                offsets: so,
                bytes: sb,
            },
            ColumnValues::Utf8 {
                offsets: oo,
                bytes: ob,
            },
        ) => {
            let limit = (BLOCK_STRING_BYTES_MAX as usize).max(sb.len());
            let mut added = 0usize;
            for i in indices {
                let i = *i as usize;
                let (Some(lo), Some(hi)) = (so.get(i), so.get(i + 1)) else {
                    return Err(format!(
                        "index {i} of {} values",
                        so.len().saturating_sub(1)
                    ));
                };
                let value = usize::try_from(*lo)
                    .ok()
                    .zip(usize::try_from(*hi).ok())
                    .and_then(|(lo, hi)| sb.get(lo..hi))
                    .ok_or("string offsets out of range")?;
                added += value.len();
                if added > limit {
                    return Err(format!("strings expand past {limit} bytes"));
                }
                if value.len() <= SHORT_STRING_BYTES {
                    // Byte by byte: a copy of a variable, tiny length would be a call.
                    for b in value {
                        ob.push(*b);
                    }
                } else {
                    ob.extend_from_slice(value);
                }
                oo.push(
                    i32::try_from(ob.len())
                        .map_err(|_| "column holds more than 2 GiB of string data".to_string())?,
                );
            }
            Ok(())
        }
        _ => Err("values of another physical type".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
        Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, StringArray,
        Time64MicrosecondArray, TimestampMicrosecondArray,
    };
    use arrow_buffer::IntervalMonthDayNano;

    use super::*;
    use crate::column_encoding::ColumnEncoding;
    use crate::segment::block::{decode_block, encode_block, BLOCK_HEADER_BYTES};
    use crate::segment::encoding::Encoding;
    use crate::types::SqlType;

    const TYPES: [SqlType; 16] = [
        SqlType::Boolean,
        SqlType::Time,
        SqlType::Timestamptz,
        SqlType::Interval,
        SqlType::SmallInt,
        SqlType::Integer,
        SqlType::BigInt,
        SqlType::Date,
        SqlType::Timestamp,
        SqlType::Decimal {
            precision: 38,
            scale: 0,
        },
        SqlType::Decimal {
            precision: 12,
            scale: 2,
        },
        SqlType::Real,
        SqlType::Double,
        SqlType::Char { length: 8 },
        SqlType::Varchar { length: 64 },
        SqlType::Text,
    ];

    /// A deterministic xorshift generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// A column of type `ty` whose row `i` derives from `seeds[i]` (`None` is NULL).
    fn array_of(ty: SqlType, seeds: &[Option<i128>]) -> ArrayRef {
        let map = |f: &dyn Fn(i128) -> i128| -> Vec<Option<i128>> {
            seeds.iter().map(|s| s.map(f)).collect()
        };
        match ty {
            SqlType::Boolean => Arc::new(BooleanArray::from_iter(
                seeds.iter().map(|s| s.map(|v| v & 1 == 1)),
            )),
            SqlType::SmallInt => Arc::new(Int16Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as i16)),
            )),
            SqlType::Integer => Arc::new(Int32Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as i32)),
            )),
            SqlType::Date => Arc::new(Date32Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as i32)),
            )),
            SqlType::BigInt => Arc::new(Int64Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as i64)),
            )),
            SqlType::Timestamp => Arc::new(TimestampMicrosecondArray::from_iter(
                seeds.iter().map(|s| s.map(|v| v as i64)),
            )),
            SqlType::Timestamptz => Arc::new(
                TimestampMicrosecondArray::from_iter(seeds.iter().map(|s| s.map(|v| v as i64)))
                    .with_timezone(crate::types::TIMESTAMPTZ_ZONE),
            ),
            SqlType::Time => Arc::new(Time64MicrosecondArray::from_iter(seeds.iter().map(|s| {
                s.map(|v| v.rem_euclid(i128::from(crate::types::TIME_MICROS_MAX) + 1) as i64)
            }))),
            // Months, days and microseconds all vary, and share the seed's sign.
            SqlType::Interval => Arc::new(IntervalMonthDayNanoArray::from_iter(seeds.iter().map(
                |s| {
                    s.map(|v| {
                        IntervalMonthDayNano::new((v % 37) as i32, (v % 400) as i32, {
                            (v as i64 % 1_000_000_000_000) * 1000
                        })
                    })
                },
            ))),
            SqlType::Decimal { precision, scale } => {
                let bound = 10i128.pow(u32::from(precision));
                Arc::new(
                    Decimal128Array::from_iter(map(&|v| v % bound))
                        .with_precision_and_scale(precision, scale)
                        .unwrap(),
                )
            }
            SqlType::Real => Arc::new(Float32Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as f32 / 4.0)),
            )),
            SqlType::Double => Arc::new(Float64Array::from_iter(
                seeds.iter().map(|s| s.map(|v| v as f64 / 8.0)),
            )),
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => Arc::new(
                StringArray::from_iter(seeds.iter().map(|s| s.map(|v| format!("v{v}-é")))),
            ),
            SqlType::Array { .. } => unreachable!("no column is an array"),
        }
    }

    /// The extreme values of `ty`, with a NULL among them.
    fn extremes(ty: SqlType) -> ArrayRef {
        match ty {
            SqlType::Boolean => Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            SqlType::SmallInt => Arc::new(Int16Array::from(vec![
                Some(i16::MIN),
                None,
                Some(i16::MAX),
                Some(0),
                Some(-1),
            ])),
            SqlType::Integer => Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                None,
                Some(i32::MAX),
                Some(-1),
            ])),
            SqlType::Date => Arc::new(Date32Array::from(vec![
                Some(i32::MIN),
                None,
                Some(i32::MAX),
                Some(-1),
            ])),
            SqlType::BigInt => Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                None,
                Some(i64::MAX),
                Some(i64::MIN),
                Some(0),
            ])),
            SqlType::Timestamp => Arc::new(TimestampMicrosecondArray::from(vec![
                Some(i64::MAX),
                Some(i64::MIN),
                None,
            ])),
            SqlType::Timestamptz => Arc::new(
                TimestampMicrosecondArray::from(vec![Some(i64::MAX), Some(i64::MIN), None])
                    .with_timezone(crate::types::TIMESTAMPTZ_ZONE),
            ),
            SqlType::Time => Arc::new(Time64MicrosecondArray::from(vec![
                Some(crate::types::TIME_MICROS_MAX),
                None,
                Some(0),
                Some(1),
            ])),
            SqlType::Interval => {
                let micros_max = i64::MAX / 1000;
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    Some(IntervalMonthDayNano::new(
                        i32::MAX,
                        i32::MAX,
                        micros_max * 1000,
                    )),
                    Some(IntervalMonthDayNano::new(
                        i32::MIN,
                        i32::MIN,
                        -micros_max * 1000,
                    )),
                    None,
                    Some(IntervalMonthDayNano::new(0, 0, 0)),
                    Some(IntervalMonthDayNano::new(-1, 1, -1000)),
                    Some(IntervalMonthDayNano::new(
                        i32::MIN,
                        i32::MAX,
                        micros_max * 1000,
                    )),
                    Some(IntervalMonthDayNano::new(
                        i32::MAX,
                        i32::MIN,
                        -micros_max * 1000,
                    )),
                ]))
            }
            SqlType::Decimal { precision, scale } => {
                let max = 10i128.pow(u32::from(precision)) - 1;
                Arc::new(
                    Decimal128Array::from(vec![Some(max), Some(-max), None, Some(0), Some(max)])
                        .with_precision_and_scale(precision, scale)
                        .unwrap(),
                )
            }
            SqlType::Real => Arc::new(Float32Array::from(vec![
                Some(f32::NAN),
                Some(f32::INFINITY),
                Some(f32::NEG_INFINITY),
                Some(-0.0),
                Some(0.0),
                None,
                Some(f32::MIN_POSITIVE),
                Some(f32::MAX),
                Some(f32::MIN),
            ])),
            SqlType::Double => Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(-0.0),
                Some(0.0),
                None,
                Some(f64::MIN_POSITIVE),
                Some(f64::MAX),
                Some(f64::MIN),
            ])),
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
                let long = "ж".repeat(70_000);
                Arc::new(StringArray::from(vec![
                    Some(long.as_str()),
                    Some(""),
                    None,
                    Some("日本語 🎉"),
                    Some(long.as_str()),
                    Some(""),
                ]))
            }
            SqlType::Array { .. } => unreachable!("no column is an array"),
        }
    }

    /// Decodes `payload` as `encoding` for `array`'s rows and validity.
    fn decode_as(
        ty: SqlType,
        encoding: Encoding,
        payload: &[u8],
        array: &ArrayRef,
    ) -> Result<ArrayRef, String> {
        let rows = array.len();
        let mut builder = ColumnBuilder::new(ty, rows);
        encoding.decode(payload, rows, &mut builder)?;
        let bitmap = array.nulls().map(|n| n.validity().to_vec());
        let bitmap = bitmap.filter(|_| array.null_count() > 0);
        builder.push_validity(rows, bitmap.as_deref(), array.null_count());
        builder.finish()
    }

    /// Whether `encoding` can encode columns of `ty`.
    fn applies(encoding: Encoding, ty: SqlType) -> bool {
        match encoding {
            Encoding::Plain | Encoding::RunLength => true,
            Encoding::Dictionary => ty != SqlType::Boolean,
            Encoding::FrameOfReference => matches!(
                ty,
                SqlType::SmallInt
                    | SqlType::Integer
                    | SqlType::BigInt
                    | SqlType::Date
                    | SqlType::Timestamp
                    | SqlType::Timestamptz
                    | SqlType::Time
                    | SqlType::Interval
                    | SqlType::Decimal { .. }
            ),
        }
    }

    /// Round-trips `array` through every applicable encoding directly, and through whole blocks
    /// under every accepted column preference; returns the payloads by encoding.
    fn round_trip_all(ty: SqlType, array: &ArrayRef) -> Vec<(Encoding, Vec<u8>)> {
        let pieces = [Piece::new(ty, array.as_ref()).unwrap()];
        let flat = Flat::of(&pieces);
        // The chooser picks the first of the smallest analyzed sizes, however far it
        // analyzes DICTIONARY; bounded analysis agrees with the full one below the bound.
        let sizes: Vec<(Encoding, u64)> = Encoding::ALL
            .into_iter()
            .filter_map(|e| e.analyze(&pieces, &flat).map(|size| (e, size)))
            .collect();
        let smallest = sizes.iter().min_by_key(|(_, size)| *size).map(|(e, _)| *e);
        assert_eq!(
            Encoding::choose(&pieces, &flat, &Encoding::ALL),
            smallest.unwrap_or(Encoding::Plain),
            "{ty}"
        );
        let full = Dictionary::analyze(&flat);
        for (_, bound) in &sizes {
            for bound in [bound.saturating_sub(1), *bound, bound + 1] {
                assert_eq!(
                    Dictionary::analyze_below(&flat, bound),
                    full.filter(|size| *size < bound),
                    "{ty} below {bound}"
                );
            }
        }
        let mut payloads = Vec::new();
        for encoding in Encoding::ALL {
            let mut payload = Vec::new();
            let used = encoding.encode(&pieces, &flat, &mut payload);
            assert_eq!(used == encoding, applies(encoding, ty), "{encoding:?} {ty}");
            if used != encoding {
                continue;
            }
            if let Some(size) = encoding.analyze(&pieces, &flat) {
                assert_eq!(size, payload.len() as u64, "{encoding:?} {ty}");
            }
            let back = decode_as(ty, encoding, &payload, array).unwrap();
            assert_eq!(back.to_data(), array.to_data(), "{encoding:?} {ty}");
            payloads.push((encoding, payload));
        }
        if array.is_empty() {
            return payloads;
        }
        for preference in ColumnEncoding::ALL {
            if preference.check_stored(ty).is_err() {
                continue;
            }
            let mut block = Vec::new();
            let written = encode_block(&pieces, preference, &mut block).unwrap();
            let mut builder = ColumnBuilder::new(ty, array.len());
            decode_block(&block, written.rows, written.nulls, &mut builder).unwrap();
            let back = builder.finish().unwrap();
            assert_eq!(back.to_data(), array.to_data(), "{preference:?} {ty}");
        }
        payloads
    }

    #[test]
    fn dictionary_planning_skips_runs_and_stops_past_the_limit() {
        // Input: runs of 1, 2, 1 again and 3; limits of 3 and 2 entries.
        let v = [1i128, 1, 2, 2, 1, 3, 3, 3];
        assert_eq!(distinct_within(&v, 3, |_| 8, |_, _| false), Some((3, 24)));
        assert_eq!(distinct_within(&v, 2, |_| 8, |_, _| false), None);
        let (entries, codes) = dictionary_of(&v, 3).unwrap();
        assert_eq!(entries, vec![1, 2, 3]);
        assert_eq!(codes, vec![0, 0, 1, 1, 0, 2, 2, 2]);
        assert!(dictionary_of(&v, 2).is_none());
        let s = ["b", "a", "b", "b"];
        assert_eq!(
            distinct_within(&s, 2, |x| x.len() as u64, |_, _| false),
            Some((2, 2))
        );
    }

    #[test]
    fn every_type_round_trips_through_every_encoding() {
        // Input: per type, an empty column, one value, all NULLs, a constant run with NULLs,
        // a narrow range, and the type's extreme values (i64::MIN..MAX spans, 38-digit
        // decimals, NaN, ±Inf, -0.0, 70,000-character and non-ASCII strings).
        for ty in TYPES {
            let cases: Vec<ArrayRef> = vec![
                array_of(ty, &[]),
                array_of(ty, &[Some(42)]),
                array_of(ty, &[None; 100]),
                array_of(ty, &[Some(7), Some(7), None, Some(7), None]),
                array_of(
                    ty,
                    &(0..1000).map(|i| Some(1000 + i % 37)).collect::<Vec<_>>(),
                ),
                extremes(ty),
            ];
            for array in &cases {
                round_trip_all(ty, array);
            }
        }
    }

    #[test]
    fn random_blocks_round_trip() {
        // Input: 150 pseudo-random blocks per type (xorshift, fixed seed) of 1..3000 rows:
        // constant, low-cardinality, narrow-range, sorted or full-range values, with no, some
        // or only NULLs.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for ty in TYPES {
            for _ in 0..150 {
                let rows = 1 + rng.below(3000) as usize;
                let shape = rng.below(5);
                let null_per_mille = [0, 0, 100, 1000][rng.below(4) as usize];
                let cardinality = 1 + rng.below(20);
                let start = rng.next() as i64;
                let mut seeds = Vec::with_capacity(rows);
                for i in 0..rows {
                    let v = match shape {
                        0 => i128::from(start),
                        1 => (rng.below(cardinality) as i128) * 1_000_003,
                        2 => i128::from(start / 2) + rng.below(1000) as i128,
                        3 => i128::from(start / 4) + (i as i128) * 3 + rng.below(3) as i128,
                        _ => (i128::from(rng.next()) << 64) | i128::from(rng.next()),
                    };
                    let null = rng.below(1000) < null_per_mille;
                    seeds.push((!null).then_some(v));
                }
                round_trip_all(ty, &array_of(ty, &seeds));
            }
        }
    }

    /// Encodes `array` as FRAME_OF_REFERENCE in the mode `delta` names, decodes it and checks
    /// the round trip; returns the payload.
    fn round_trip_mode(ty: SqlType, array: &ArrayRef, delta: bool) -> Vec<u8> {
        let pieces = [Piece::new(ty, array.as_ref()).unwrap()];
        let flat = Flat::of(&pieces);
        let mut payload = Vec::new();
        assert!(FrameOfReference::encode_in_mode(&flat, delta, &mut payload));
        assert_eq!(payload[0], if delta { MODE_DELTA } else { MODE_FRAME });
        let back = decode_as(ty, Encoding::FrameOfReference, &payload, array).unwrap();
        assert_eq!(back.to_data(), array.to_data(), "{ty} delta {delta}");
        payload
    }

    #[test]
    fn both_frame_of_reference_modes_round_trip_at_every_width() {
        // Input: per integer type, in both modes, blocks of 1 to 32,768 rows (around the
        // unpacker's 64-value groups) of: an arithmetic sequence (differences of 0 bits),
        // sorted values with a wobble, descending values, runs, NULLs, random values of each
        // difference width from 1 to 66 bits, and the type's extremes alternating (whose
        // differences leave the type, and for 64- and 128-bit types take 65 to 128 bits).
        let ints = [
            SqlType::SmallInt,
            SqlType::Integer,
            SqlType::Date,
            SqlType::BigInt,
            SqlType::Timestamp,
            SqlType::Timestamptz,
            SqlType::Time,
            SqlType::Decimal {
                precision: 38,
                scale: 0,
            },
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for ty in ints {
            let (lo, hi): (i128, i128) = match ty.arrow_type() {
                arrow_schema::DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
                arrow_schema::DataType::Int32 | arrow_schema::DataType::Date32 => {
                    (i32::MIN.into(), i32::MAX.into())
                }
                arrow_schema::DataType::Decimal128(..) => (i128::MIN, i128::MAX),
                _ => (i64::MIN.into(), i64::MAX.into()),
            };
            for rows in [1usize, 2, 63, 64, 65, 129, 1000, 32_768] {
                let mut shapes: Vec<Vec<Option<i128>>> = vec![
                    (0..rows).map(|i| Some(7 * i as i128 - 3)).collect(),
                    (0..rows)
                        .map(|i| Some(1000 + 4 * i as i128 + (i % 3) as i128))
                        .collect(),
                    (0..rows).map(|i| Some(-(i as i128) * 5)).collect(),
                    (0..rows).map(|i| Some((i / 64) as i128)).collect(),
                    (0..rows)
                        .map(|i| (i % 7 != 3).then_some(2 * i as i128))
                        .collect(),
                    (0..rows)
                        .map(|i| Some(if i % 2 == 0 { lo } else { hi }))
                        .collect(),
                    (0..rows)
                        .map(|i| Some(if i % 3 == 0 { hi } else { lo + i as i128 }))
                        .collect(),
                ];
                for bits in 1..=66u32 {
                    let mut value = 0i128;
                    shapes.push(
                        (0..rows)
                            .map(|_| {
                                let step = (rng.next() as i128 | (rng.next() as i128) << 64)
                                    & ((1i128 << bits) - 1);
                                value = value.wrapping_add(step - (1i128 << (bits - 1)));
                                Some(value)
                            })
                            .collect(),
                    );
                }
                for seeds in &shapes {
                    let array = array_of(ty, seeds);
                    round_trip_mode(ty, &array, true);
                    round_trip_mode(ty, &array, false);
                }
            }
        }
    }

    /// A delta-mode payload: `first`, `delta_base`, `width` and the packed `offsets`.
    fn delta_payload(first: i128, delta_base: i128, width: u32, offsets: &[u128]) -> Vec<u8> {
        let mut payload = vec![MODE_DELTA];
        payload.extend_from_slice(&first.to_le_bytes());
        payload.extend_from_slice(&delta_base.to_le_bytes());
        payload.push(width as u8);
        let mut w = BitWriter::new(&mut payload);
        for o in offsets {
            w.push(*o, width);
        }
        w.finish();
        payload
    }

    #[test]
    fn delta_values_outside_the_type_are_errors() {
        // Input: delta blocks of 200 rows (past the unpacker's groups) whose running sum
        // leaves SMALLINT, INTEGER or BIGINT by one at the last row, and the same sums ending
        // exactly at the type's bounds, which decode; and two-row blocks whose one difference
        // leaves the type.
        let cases: [(SqlType, i128, i128); 3] = [
            (SqlType::SmallInt, i16::MIN.into(), i16::MAX.into()),
            (SqlType::Integer, i32::MIN.into(), i32::MAX.into()),
            (SqlType::BigInt, i64::MIN.into(), i64::MAX.into()),
        ];
        let rows = 200usize;
        for (ty, lo, hi) in cases {
            let nulls = array_of(ty, &vec![None; rows]);
            let decode = |payload: &[u8]| {
                decode_as(ty, Encoding::FrameOfReference, payload, &nulls).map(|a| a.len())
            };
            // Up by 1 each row (differences of 0 bits above a base of 1, or of 1 bit above 0
            // with the last offset 1), ending at `hi` and then one past it.
            let steps = (rows - 1) as i128;
            assert_eq!(decode(&delta_payload(hi - steps, 1, 0, &[])), Ok(rows));
            assert!(decode(&delta_payload(hi - steps + 1, 1, 0, &[])).is_err());
            let mut offsets = vec![0u128; rows - 1];
            assert_eq!(decode(&delta_payload(hi, 0, 1, &offsets)), Ok(rows));
            offsets[rows - 2] = 1;
            assert!(decode(&delta_payload(hi, 0, 1, &offsets)).is_err());
            // Down to `lo`, and one below it.
            assert_eq!(decode(&delta_payload(lo + steps, -1, 0, &[])), Ok(rows));
            assert!(decode(&delta_payload(lo + steps - 1, -1, 0, &[])).is_err());
            // A difference of half the type's range, and of all of it, which modulo the type's
            // width brings the sum back to the first value: both second values are out of
            // range.
            let half = (hi - lo + 1) / 2;
            let offsets = vec![0u128; 1];
            assert!(decode_as(
                ty,
                Encoding::FrameOfReference,
                &delta_payload(0, half, 0, &offsets),
                &array_of(ty, &[None, None]),
            )
            .is_err());
            assert!(decode_as(
                ty,
                Encoding::FrameOfReference,
                &delta_payload(lo, 2 * half, 0, &offsets),
                &array_of(ty, &[None, None]),
            )
            .is_err());
        }
    }

    #[test]
    fn chooser_picks_the_encoding_the_data_suits() {
        // Input: 10,000 rows each of a 5-value string column (DICTIONARY), a constant BIGINT
        // column (RUN_LENGTH) and INTEGERs spread over 1..=50 (FRAME_OF_REFERENCE).
        let cases: [(SqlType, Vec<Option<i128>>, Encoding); 3] = [
            (
                SqlType::Text,
                (0..10_000).map(|i| Some((i * 7919) % 5)).collect(),
                Encoding::Dictionary,
            ),
            (
                SqlType::BigInt,
                vec![Some(123_456_789); 10_000],
                Encoding::RunLength,
            ),
            (
                SqlType::Integer,
                (0..10_000).map(|i| Some(1 + (i * 7919) % 50)).collect(),
                Encoding::FrameOfReference,
            ),
        ];
        for (ty, seeds, expected) in cases {
            let array = array_of(ty, &seeds);
            let pieces = [Piece::new(ty, array.as_ref()).unwrap()];
            let flat = Flat::of(&pieces);
            assert_eq!(
                Encoding::choose(&pieces, &flat, &Encoding::ALL),
                expected,
                "{ty}"
            );
        }
    }

    /// Checks that no single-byte change to `payload` panics or decodes to a column of another
    /// length, that changes to the bytes in `structure` (counts, widths, modes) are errors, and
    /// that every truncation is an error. A changed value byte may decode to other values: only
    /// the block checksum can tell, as for PLAIN.
    fn flips_are_caught(
        ty: SqlType,
        encoding: Encoding,
        payload: &[u8],
        array: &ArrayRef,
        structure: &[usize],
    ) {
        for i in 0..payload.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut bad = payload.to_vec();
                bad[i] ^= mask;
                match decode_as(ty, encoding, &bad, array) {
                    Ok(back) => {
                        assert!(
                            !structure.contains(&i),
                            "{encoding:?} {ty} byte {i} ^ {mask:#x}"
                        );
                        assert_eq!(back.len(), array.len());
                        assert_eq!(back.data_type(), array.data_type());
                    }
                    Err(e) => assert!(!e.is_empty()),
                }
            }
        }
        for len in 0..payload.len() {
            assert!(
                decode_as(ty, encoding, &payload[..len], array).is_err(),
                "{encoding:?} {ty} truncated to {len}"
            );
        }
    }

    #[test]
    fn corrupt_payloads_are_errors_or_well_formed() {
        // Input: per type, a 60-row column of 4 distinct values in runs with NULLs, and the
        // type's extremes; every payload byte flipped three ways, and every truncation.
        for ty in TYPES {
            let seeds: Vec<Option<i128>> = (0..60)
                .map(|i| (i % 11 != 0).then_some(((i / 5) % 4) as i128 * 1000))
                .collect();
            for array in [array_of(ty, &seeds), extremes(ty)] {
                if array.len() > 10 || ty.arrow_type() != arrow_schema::DataType::Utf8 {
                    for (encoding, payload) in round_trip_all(ty, &array) {
                        let structure: Vec<usize> = match encoding {
                            Encoding::Plain => continue,
                            Encoding::Dictionary => (0..5).collect(),
                            Encoding::RunLength => vec![2, 3],
                            // A changed width that packs into the same bytes is undetectable.
                            Encoding::FrameOfReference => vec![0],
                        };
                        flips_are_caught(ty, encoding, &payload, &array, &structure);
                    }
                }
            }
        }
    }

    #[test]
    fn corrupt_blocks_with_recomputed_checksums_never_panic() {
        // Input: RUN_LENGTH, DICTIONARY and FRAME_OF_REFERENCE blocks, each byte after the
        // header's counts flipped and the block checksum recomputed: an error, or a column of
        // the block's length and type.
        let cases = [
            (SqlType::Integer, ColumnEncoding::Runlength),
            (SqlType::Text, ColumnEncoding::Bytedict),
            (SqlType::BigInt, ColumnEncoding::Delta),
            (SqlType::Double, ColumnEncoding::Bytedict),
        ];
        for (ty, preference) in cases {
            let seeds: Vec<Option<i128>> = (0..40)
                .map(|i| (i % 9 != 0).then_some(i128::from(i / 6)))
                .collect();
            let array = array_of(ty, &seeds);
            let pieces = [Piece::new(ty, array.as_ref()).unwrap()];
            let mut block = Vec::new();
            let written = encode_block(&pieces, preference, &mut block).unwrap();
            assert_ne!(block[0], Encoding::Plain.id(), "{preference:?}");
            for i in 0..block.len() {
                if (4..BLOCK_HEADER_BYTES).contains(&i) {
                    continue;
                }
                let mut bad = block.clone();
                bad[i] ^= 0x24;
                let crc = crc32c::crc32c_append(
                    crc32c::crc32c(&bad[..BLOCK_HEADER_BYTES - 4]),
                    &bad[BLOCK_HEADER_BYTES..],
                );
                bad[BLOCK_HEADER_BYTES - 4..BLOCK_HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
                let mut builder = ColumnBuilder::new(ty, 40);
                if decode_block(&bad, written.rows, written.nulls, &mut builder).is_ok() {
                    if let Ok(back) = builder.finish() {
                        assert_eq!(back.len(), array.len(), "{preference:?} byte {i}");
                        assert_eq!(back.data_type(), array.data_type());
                    }
                }
            }
        }
    }
}

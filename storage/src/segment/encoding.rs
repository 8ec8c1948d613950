//! Encodings: how a block's values are laid out before compression.
//!
//! An encoding is a [`Codec`] with three phases, as in DuckDB's compression functions:
//! `analyze` scores the encoding on a block's values (the payload size it would produce, or
//! `None` when it cannot encode them), `encode` writes the payload, and `decode` appends a
//! payload's values to a [`ColumnBuilder`]. The writer picks the smallest analyzed encoding per
//! block and records its id in the block header, so one column may mix encodings.
//!
//! PLAIN lives here; DICTIONARY, RUN_LENGTH and FRAME_OF_REFERENCE (with a delta mode) live in
//! `lightweight`, which analyzes and encodes a [`Flat`] view of the block built once per block.
//! Adding an encoding is a new [`Encoding`] variant, its codec and a line in [`Encoding::ALL`].

use arrow_array::Array;

use crate::segment::column::{ColumnBuilder, ColumnValues, LeValue};
use crate::segment::lightweight::{Dictionary, Flat, FrameOfReference, RunLength};
use crate::segment::physical::{packed_intervals, Piece, Values};

/// A block encoding. The id is persisted in the block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Plain,
    Dictionary,
    RunLength,
    FrameOfReference,
}

impl Encoding {
    /// Every encoding, in the order the chooser prefers among equal sizes.
    pub(crate) const ALL: [Encoding; 4] = [
        Encoding::Plain,
        Encoding::FrameOfReference,
        Encoding::RunLength,
        Encoding::Dictionary,
    ];

    pub(crate) fn id(self) -> u8 {
        match self {
            Encoding::Plain => Plain::ID,
            Encoding::Dictionary => Dictionary::ID,
            Encoding::RunLength => RunLength::ID,
            Encoding::FrameOfReference => FrameOfReference::ID,
        }
    }

    pub(crate) fn from_id(id: u8) -> Option<Encoding> {
        match id {
            Plain::ID => Some(Encoding::Plain),
            Dictionary::ID => Some(Encoding::Dictionary),
            RunLength::ID => Some(Encoding::RunLength),
            FrameOfReference::ID => Some(Encoding::FrameOfReference),
            _ => None,
        }
    }

    /// The payload size this encoding would produce, or `None` when it cannot encode the block
    /// or cannot pay.
    pub(crate) fn analyze(self, pieces: &[Piece<'_>], flat: &Flat<'_>) -> Option<u64> {
        match self {
            Encoding::Plain => Plain::analyze(pieces),
            Encoding::Dictionary => Dictionary::analyze(flat),
            Encoding::RunLength => RunLength::analyze(flat),
            Encoding::FrameOfReference => FrameOfReference::analyze(flat),
        }
    }

    /// The encoding among `allowed` with the smallest payload for `pieces`; PLAIN when none
    /// of them can encode the block.
    pub(crate) fn choose(pieces: &[Piece<'_>], flat: &Flat<'_>, allowed: &[Encoding]) -> Encoding {
        // In the order of preference, an encoding replaces the best so far only when smaller;
        // DICTIONARY (the last, and the dearest to analyze) is analyzed only as far as it
        // could still be smaller.
        let mut best: Option<(Encoding, u64)> = None;
        for e in Encoding::ALL.into_iter().filter(|e| allowed.contains(e)) {
            let bound = best.map_or(u64::MAX, |(_, size)| size);
            let size = match e {
                Encoding::Dictionary => Dictionary::analyze_below(flat, bound),
                _ => e.analyze(pieces, flat),
            };
            if let Some(size) = size.filter(|s| *s < bound || best.is_none()) {
                best = Some((e, size));
            }
        }
        best.map_or(Encoding::Plain, |(encoding, _)| encoding)
    }

    /// Appends the payload of `pieces` (whose [`Flat`] view is `flat`) and returns the encoding
    /// used: `self`, or PLAIN when `self` cannot encode these values.
    pub(crate) fn encode(
        self,
        pieces: &[Piece<'_>],
        flat: &Flat<'_>,
        out: &mut Vec<u8>,
    ) -> Encoding {
        let done = match self {
            Encoding::Plain => false,
            Encoding::Dictionary => Dictionary::encode(flat, out),
            Encoding::RunLength => {
                RunLength::encode(flat, out);
                true
            }
            Encoding::FrameOfReference => FrameOfReference::encode(flat, out),
        };
        if done {
            self
        } else {
            Plain::encode(pieces, out);
            Encoding::Plain
        }
    }

    pub(crate) fn decode(
        self,
        payload: &[u8],
        rows: usize,
        out: &mut ColumnBuilder,
    ) -> Result<(), String> {
        match self {
            Encoding::Plain => Plain::decode(payload, rows, out),
            Encoding::Dictionary => Dictionary::decode(payload, rows, out),
            Encoding::RunLength => RunLength::decode(payload, rows, out),
            Encoding::FrameOfReference => FrameOfReference::decode(payload, rows, out),
        }
    }
}

/// The phases of one encoding.
pub(crate) trait Codec {
    /// The id persisted in block headers.
    const ID: u8;
    /// The payload size in bytes this encoding would produce for `pieces`, or `None` when it
    /// cannot encode them.
    fn analyze(pieces: &[Piece<'_>]) -> Option<u64>;
    /// Appends the payload for `pieces` to `out`.
    fn encode(pieces: &[Piece<'_>], out: &mut Vec<u8>);
    /// Appends the `rows` values held in `payload` to `out`. Any inconsistency between the
    /// payload and `rows` is an error describing it, never a panic.
    fn decode(payload: &[u8], rows: usize, out: &mut ColumnBuilder) -> Result<(), String>;
}

/// PLAIN: fixed-width values little-endian one after another; booleans bit-packed LSB first;
/// strings as `rows + 1` u32 offsets (the first 0) followed by the UTF-8 bytes. NULL slots hold
/// zero, `false` or the empty string.
#[derive(Debug)]
pub(crate) struct Plain;

impl Codec for Plain {
    const ID: u8 = 0;

    fn analyze(pieces: &[Piece<'_>]) -> Option<u64> {
        let rows: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        let size = match pieces.first().map(|p| p.values) {
            None => 0,
            Some(Values::Boolean(_)) => rows.div_ceil(8),
            Some(Values::Utf8(_)) => {
                let bytes: u64 = pieces
                    .iter()
                    .map(|p| match p.values {
                        Values::Utf8(a) => string_bytes(a, 0, a.len()),
                        _ => 0,
                    })
                    .sum();
                4 * (rows + 1) + bytes
            }
            Some(Values::Int16(_)) => 2 * rows,
            Some(Values::Int32(_) | Values::Float32(_)) => 4 * rows,
            Some(Values::Int64(_) | Values::Float64(_)) => 8 * rows,
            Some(Values::Int128(_) | Values::Interval(_)) => 16 * rows,
        };
        Some(size)
    }

    fn encode(pieces: &[Piece<'_>], out: &mut Vec<u8>) {
        match pieces.first().map(|p| p.values) {
            None => {}
            Some(Values::Boolean(_)) => encode_booleans(pieces, out),
            Some(Values::Utf8(_)) => encode_strings(pieces, out),
            Some(_) => {
                for piece in pieces {
                    match piece.values {
                        Values::Int16(v) => encode_fixed(piece, v, out),
                        Values::Int32(v) => encode_fixed(piece, v, out),
                        Values::Int64(v) => encode_fixed(piece, v, out),
                        Values::Float32(v) => encode_fixed(piece, v, out),
                        Values::Float64(v) => encode_fixed(piece, v, out),
                        Values::Int128(v) => encode_fixed(piece, v, out),
                        Values::Interval(v) => encode_fixed(piece, &packed_intervals(v), out),
                        Values::Boolean(_) | Values::Utf8(_) => {
                            debug_assert!(false, "mixed physical types in one block");
                        }
                    }
                }
            }
        }
    }

    fn decode(payload: &[u8], rows: usize, out: &mut ColumnBuilder) -> Result<(), String> {
        match &mut out.values {
            ColumnValues::Boolean(b) => {
                let expected = rows.div_ceil(8);
                if payload.len() != expected {
                    return Err(format!(
                        "PLAIN boolean payload of {} bytes for {rows} rows (expected {expected})",
                        payload.len()
                    ));
                }
                b.append_packed_range(0..rows, payload);
                Ok(())
            }
            ColumnValues::Int16(v) => decode_fixed(payload, rows, v),
            ColumnValues::Int32(v) => decode_fixed(payload, rows, v),
            ColumnValues::Int64(v) => decode_fixed(payload, rows, v),
            ColumnValues::Float32(v) => decode_fixed(payload, rows, v),
            ColumnValues::Float64(v) => decode_fixed(payload, rows, v),
            ColumnValues::Int128(v) => decode_fixed(payload, rows, v),
            ColumnValues::Utf8 { offsets, bytes } => decode_strings(payload, rows, offsets, bytes),
        }
    }
}

/// Bytes of string values `start..start + len` of `a`.
pub(crate) fn string_bytes(a: &arrow_array::StringArray, start: usize, len: usize) -> u64 {
    let offsets = a.value_offsets();
    match (offsets.get(start), offsets.get(start + len)) {
        (Some(lo), Some(hi)) => (i64::from(*hi) - i64::from(*lo)).max(0) as u64,
        _ => 0,
    }
}

fn encode_fixed<T: LeValue>(piece: &Piece<'_>, values: &[T], out: &mut Vec<u8>) {
    out.reserve(values.len() * T::WIDTH);
    if piece.nulls.is_none() {
        for v in values {
            v.put_le(out);
        }
    } else {
        for (i, v) in values.iter().enumerate() {
            let v = if piece.is_valid(i) { *v } else { T::default() };
            v.put_le(out);
        }
    }
}

fn encode_booleans(pieces: &[Piece<'_>], out: &mut Vec<u8>) {
    let rows: usize = pieces.iter().map(Piece::len).sum();
    let mut bits = arrow_buffer::BooleanBufferBuilder::new(rows);
    for piece in pieces {
        let Values::Boolean(a) = piece.values else {
            debug_assert!(false, "mixed physical types in one block");
            continue;
        };
        match piece.nulls {
            None => bits.append_buffer(a.values()),
            Some(_) => {
                for i in 0..a.len() {
                    bits.append(piece.is_valid(i) && a.value(i));
                }
            }
        }
    }
    let bytes = rows.div_ceil(8);
    out.extend_from_slice(&bits.as_slice()[..bytes]);
}

fn encode_strings(pieces: &[Piece<'_>], out: &mut Vec<u8>) {
    let rows: usize = pieces.iter().map(Piece::len).sum();
    let offsets_at = out.len();
    out.resize(offsets_at + 4 * (rows + 1), 0);
    let mut offset: u32 = 0;
    let mut row = 0;
    let put_offset = |out: &mut Vec<u8>, row: usize, offset: u32| {
        let at = offsets_at + 4 * row;
        out[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    };
    for piece in pieces {
        let Values::Utf8(a) = piece.values else {
            debug_assert!(false, "mixed physical types in one block");
            continue;
        };
        for i in 0..a.len() {
            if piece.is_valid(i) {
                let s = a.value(i).as_bytes();
                out.extend_from_slice(s);
                // The writer caps a block's string bytes far below 4 GiB, and Arrow's i32
                // offsets cap one value at 2 GiB, so the running offset fits a u32.
                offset = offset.saturating_add(u32::try_from(s.len()).unwrap_or(u32::MAX));
            }
            row += 1;
            put_offset(out, row, offset);
        }
    }
    debug_assert_eq!(row, rows);
    debug_assert_eq!(out.len(), offsets_at + 4 * (rows + 1) + offset as usize);
}

fn decode_fixed<T: LeValue>(payload: &[u8], rows: usize, out: &mut Vec<T>) -> Result<(), String> {
    let expected = rows
        .checked_mul(T::WIDTH)
        .ok_or_else(|| format!("{rows} rows overflow"))?;
    if payload.len() != expected {
        return Err(format!(
            "PLAIN payload of {} bytes for {rows} rows of {} bytes",
            payload.len(),
            T::WIDTH
        ));
    }
    out.extend(payload.chunks_exact(T::WIDTH).map(T::from_le_chunk));
    Ok(())
}

fn decode_strings(
    payload: &[u8],
    rows: usize,
    offsets: &mut Vec<i32>,
    bytes: &mut Vec<u8>,
) -> Result<(), String> {
    let offsets_len = rows
        .checked_add(1)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| format!("{rows} rows overflow"))?;
    let (raw_offsets, data) = payload.split_at_checked(offsets_len).ok_or_else(|| {
        format!(
            "PLAIN string payload of {} bytes cannot hold {rows} offsets",
            payload.len()
        )
    })?;
    let base = bytes.len();
    let mut previous = 0u32;
    for (i, chunk) in raw_offsets.chunks_exact(4).enumerate() {
        let offset = u32::from_le_chunk(chunk);
        if i == 0 && offset != 0 {
            return Err(format!("first string offset is {offset}, not 0"));
        }
        if offset < previous || offset as usize > data.len() {
            return Err(format!(
                "string offset {i} is {offset} after {previous} (data is {} bytes)",
                data.len()
            ));
        }
        previous = offset;
        if i > 0 {
            let absolute = i32::try_from(base + offset as usize)
                .map_err(|_| "column holds more than 2 GiB of string data".to_string())?;
            offsets.push(absolute);
        }
    }
    if previous as usize != data.len() {
        return Err(format!(
            "last string offset is {previous} but the data is {} bytes",
            data.len()
        ));
    }
    bytes.extend_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, StringArray};

    use super::*;
    use crate::types::SqlType;

    #[test]
    fn plain_strings_round_trip_across_pieces_with_nulls() {
        // Input: two string arrays ["a", NULL, ""] and ["héllo"], encoded as one block.
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("")]));
        let b: ArrayRef = Arc::new(StringArray::from(vec!["héllo"]));
        let pieces = [
            Piece::new(SqlType::Text, a.as_ref()).unwrap(),
            Piece::new(SqlType::Text, b.as_ref()).unwrap(),
        ];
        let mut payload = Vec::new();
        Plain::encode(&pieces, &mut payload);
        assert_eq!(Plain::analyze(&pieces), Some(payload.len() as u64));
        assert_eq!(payload.len(), 4 * 5 + 7);

        let mut builder = ColumnBuilder::new(SqlType::Text, 4);
        Plain::decode(&payload, 4, &mut builder).unwrap();
        builder.push_validity(4, None, 0);
        let array = builder.finish().unwrap();
        let strings = array.as_any().downcast_ref::<StringArray>().unwrap();
        let values: Vec<&str> = (0..4).map(|i| strings.value(i)).collect();
        assert_eq!(values, ["a", "", "", "héllo"]);
    }

    #[test]
    fn plain_string_decoder_rejects_bad_offsets() {
        // Input: payloads for 2 rows whose offsets are non-zero first, decreasing, past the
        // data, short of the data, or missing.
        let cases: [&[u32]; 4] = [&[1, 1, 1], &[0, 2, 1], &[0, 1, 9], &[0, 1, 1]];
        for offsets in cases {
            let mut payload: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
            payload.extend_from_slice(b"ab");
            let mut builder = ColumnBuilder::new(SqlType::Text, 2);
            assert!(
                Plain::decode(&payload, 2, &mut builder).is_err(),
                "{offsets:?}"
            );
        }
        let mut builder = ColumnBuilder::new(SqlType::Text, 2);
        assert!(Plain::decode(&[0, 0, 0, 0], 2, &mut builder).is_err());
    }

    #[test]
    fn plain_fixed_decoder_rejects_wrong_lengths() {
        // Input: 7 bytes for 2 INTEGER rows, and 1 byte for 9 BOOLEAN rows.
        let mut ints = ColumnBuilder::new(SqlType::Integer, 2);
        assert!(Plain::decode(&[0; 7], 2, &mut ints).is_err());
        let mut bools = ColumnBuilder::new(SqlType::Boolean, 9);
        assert!(Plain::decode(&[0; 1], 9, &mut bools).is_err());
    }
}

//! One column encoded as blocks in memory, exactly as the segment writer lays them out, without
//! a file around them: for benchmarks and for measuring what an encoding preference saves.

use arrow_array::{Array, ArrayRef};

use crate::column_encoding::ColumnEncoding;
use crate::error::{Error, Result};
use crate::segment::block::{decode_block, encode_block, encode_block_forced, WrittenBlock};
use crate::segment::column::ColumnBuilder;
use crate::segment::compression::Compression;
use crate::segment::encoding::Encoding;
use crate::segment::physical::Piece;
use crate::segment::writer::{span_string_bytes, split_rows};
use crate::segment::{BLOCK_ROWS_MAX, BLOCK_STRING_BYTES_MAX, WRITER_BLOCK_ROWS_MAX};
use crate::types::SqlType;

/// A column's blocks (header, validity bitmap, payload and checksum each).
#[derive(Debug)]
pub struct EncodedColumn {
    ty: SqlType,
    bytes: Vec<u8>,
    /// `(offset, length, rows, nulls)` per block.
    blocks: Vec<(usize, usize, u32, u32)>,
}

/// One block encoding, to force on every block of a column (see
/// [`EncodedColumn::encode_forced`]); FRAME_OF_REFERENCE's two modes are named apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockEncoding {
    Plain,
    Dictionary,
    RunLength,
    /// FRAME_OF_REFERENCE in delta mode: differences from the previous value, bit-packed.
    Delta,
    /// FRAME_OF_REFERENCE in frame mode: offsets from the block's minimum, bit-packed.
    FrameOfReference,
}

impl BlockEncoding {
    /// Every block encoding.
    pub const ALL: [BlockEncoding; 5] = [
        BlockEncoding::Plain,
        BlockEncoding::Dictionary,
        BlockEncoding::RunLength,
        BlockEncoding::Delta,
        BlockEncoding::FrameOfReference,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BlockEncoding::Plain => "plain",
            BlockEncoding::Dictionary => "dictionary",
            BlockEncoding::RunLength => "run_length",
            BlockEncoding::Delta => "delta",
            BlockEncoding::FrameOfReference => "frame_of_reference",
        }
    }
}

/// One payload compression, to force on every block of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockCompression {
    None,
    Lz4,
    Zstd,
}

impl BlockCompression {
    /// Every compression.
    pub const ALL: [BlockCompression; 3] = [
        BlockCompression::None,
        BlockCompression::Lz4,
        BlockCompression::Zstd,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BlockCompression::None => "none",
            BlockCompression::Lz4 => "lz4",
            BlockCompression::Zstd => "zstd",
        }
    }
}

/// Block encoding ids as documented in `docs/segment-format.md`.
const ENCODING_NAMES: [&str; 4] = ["PLAIN", "DICTIONARY", "RUN_LENGTH", "FRAME_OF_REFERENCE"];
/// Compression ids as documented in `docs/segment-format.md`.
const COMPRESSION_NAMES: [&str; 3] = ["NONE", "LZ4", "ZSTD"];

impl EncodedColumn {
    /// Encodes `array`, a column of type `ty`, block by block under `preference`, in blocks of
    /// [`WRITER_BLOCK_ROWS_MAX`] rows as the segment writer cuts them.
    pub fn encode(
        ty: SqlType,
        array: &dyn Array,
        preference: ColumnEncoding,
    ) -> Result<EncodedColumn> {
        Self::encode_in_blocks(ty, array, preference, WRITER_BLOCK_ROWS_MAX)
    }

    /// [`EncodedColumn::encode`] in blocks of at most `block_rows_max` rows (1 ..=
    /// [`BLOCK_ROWS_MAX`]), to measure what the block size costs.
    pub fn encode_in_blocks(
        ty: SqlType,
        array: &dyn Array,
        preference: ColumnEncoding,
        block_rows_max: u32,
    ) -> Result<EncodedColumn> {
        Self::encode_with(ty, array, block_rows_max, |pieces, bytes| {
            encode_block(pieces, preference, bytes)
        })
    }

    /// Encodes `array`, a column of type `ty`, in the writer's blocks with exactly `encoding`
    /// and `compression` on every block, whatever they save: for measuring one encoding at a
    /// time. An error when the encoding cannot encode the values (a dictionary of booleans,
    /// a frame of reference over strings).
    pub fn encode_forced(
        ty: SqlType,
        array: &dyn Array,
        encoding: BlockEncoding,
        compression: BlockCompression,
    ) -> Result<EncodedColumn> {
        let (encoding, delta) = match encoding {
            BlockEncoding::Plain => (Encoding::Plain, false),
            BlockEncoding::Dictionary => (Encoding::Dictionary, false),
            BlockEncoding::RunLength => (Encoding::RunLength, false),
            BlockEncoding::Delta => (Encoding::FrameOfReference, true),
            BlockEncoding::FrameOfReference => (Encoding::FrameOfReference, false),
        };
        let compression = match compression {
            BlockCompression::None => Compression::None,
            BlockCompression::Lz4 => Compression::Lz4,
            BlockCompression::Zstd => Compression::Zstd,
        };
        Self::encode_with(ty, array, WRITER_BLOCK_ROWS_MAX, |pieces, bytes| {
            encode_block_forced(pieces, encoding, delta, compression, bytes)
        })
    }

    fn encode_with(
        ty: SqlType,
        array: &dyn Array,
        block_rows_max: u32,
        mut encode: impl FnMut(&[Piece<'_>], &mut Vec<u8>) -> std::result::Result<WrittenBlock, String>,
    ) -> Result<EncodedColumn> {
        if block_rows_max == 0 || block_rows_max > BLOCK_ROWS_MAX {
            return Err(Error::Internal(format!(
                "blocks of {block_rows_max} rows, outside 1..={BLOCK_ROWS_MAX}"
            )));
        }
        let chunks = split_rows(
            &[array.len()],
            block_rows_max as usize,
            BLOCK_STRING_BYTES_MAX,
            |_, first, n| span_string_bytes(array, first, n),
        );
        let mut bytes = Vec::new();
        let mut blocks = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let slices: Vec<ArrayRef> = chunk
                .iter()
                .map(|(_, first, n)| array.slice(*first, *n))
                .collect();
            let pieces = slices
                .iter()
                .map(|a| Piece::new(ty, a.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            let at = bytes.len();
            let written = encode(&pieces, &mut bytes).map_err(Error::Internal)?;
            blocks.push((at, bytes.len() - at, written.rows, written.nulls));
        }
        Ok(EncodedColumn { ty, bytes, blocks })
    }

    /// Bytes of all blocks.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The `(encoding, compression)` names of each block.
    pub fn block_encodings(&self) -> Vec<(&'static str, &'static str)> {
        self.blocks
            .iter()
            .map(|(at, ..)| {
                let name = |names: &[&'static str], id: Option<&u8>| {
                    id.and_then(|id| names.get(usize::from(*id)))
                        .copied()
                        .unwrap_or("?")
                };
                (
                    name(&ENCODING_NAMES, self.bytes.get(*at)),
                    name(&COMPRESSION_NAMES, self.bytes.get(at + 1)),
                )
            })
            .collect()
    }

    /// Checks and decodes every block back into one Arrow array.
    pub fn decode(&self) -> Result<ArrayRef> {
        let rows: usize = self.blocks.iter().map(|b| b.2 as usize).sum();
        let mut builder = ColumnBuilder::new(self.ty, rows);
        for (i, (at, len, rows, nulls)) in self.blocks.iter().enumerate() {
            let corrupt = |detail: String| Error::Corrupt {
                file: "<memory>".into(),
                detail: format!("block {i}: {detail}"),
            };
            let block = self
                .bytes
                .get(*at..at + len)
                .ok_or_else(|| corrupt("out of range".into()))?;
            decode_block(block, *rows, *nulls, &mut builder).map_err(corrupt)?;
        }
        builder
            .finish()
            .map_err(|e| Error::Internal(format!("decoded column: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;

    use super::*;

    #[test]
    fn a_column_of_several_blocks_round_trips() {
        // Input: 150,000 sorted BIGINTs under AUTO and under RAW, in the writer's blocks
        // (five) and in the format's largest (three).
        let array: ArrayRef = Arc::new(Int64Array::from_iter_values(0..150_000));
        for preference in [ColumnEncoding::Auto, ColumnEncoding::Raw] {
            let encoded =
                EncodedColumn::encode(SqlType::BigInt, array.as_ref(), preference).unwrap();
            assert_eq!(
                encoded.block_encodings().len(),
                150_000usize.div_ceil(WRITER_BLOCK_ROWS_MAX as usize)
            );
            assert_eq!(encoded.decode().unwrap().to_data(), array.to_data());
            let large = EncodedColumn::encode_in_blocks(
                SqlType::BigInt,
                array.as_ref(),
                preference,
                BLOCK_ROWS_MAX,
            )
            .unwrap();
            assert_eq!(large.block_encodings().len(), 3);
            assert_eq!(large.decode().unwrap().to_data(), array.to_data());
        }
        for rows in [0, BLOCK_ROWS_MAX + 1] {
            assert!(EncodedColumn::encode_in_blocks(
                SqlType::BigInt,
                array.as_ref(),
                ColumnEncoding::Auto,
                rows
            )
            .is_err());
        }
        let auto =
            EncodedColumn::encode(SqlType::BigInt, array.as_ref(), ColumnEncoding::Auto).unwrap();
        assert_eq!(auto.block_encodings()[0].0, "FRAME_OF_REFERENCE");
    }

    #[test]
    fn forced_encodings_are_used_on_every_block_and_round_trip() {
        // Input: 70,000 sorted BIGINTs (three writer blocks) under every encoding and
        // compression; then strings, which no frame of reference encodes, and booleans, which
        // no dictionary does.
        let array: ArrayRef = Arc::new(Int64Array::from_iter_values((0..70_000).map(|i| i / 3)));
        for encoding in BlockEncoding::ALL {
            for compression in BlockCompression::ALL {
                let encoded = EncodedColumn::encode_forced(
                    SqlType::BigInt,
                    array.as_ref(),
                    encoding,
                    compression,
                )
                .unwrap();
                let expected = match encoding {
                    BlockEncoding::Plain => "PLAIN",
                    BlockEncoding::Dictionary => "DICTIONARY",
                    BlockEncoding::RunLength => "RUN_LENGTH",
                    BlockEncoding::Delta | BlockEncoding::FrameOfReference => "FRAME_OF_REFERENCE",
                };
                let names = encoded.block_encodings();
                assert_eq!(names.len(), 3);
                for (e, c) in names {
                    assert_eq!(e, expected);
                    assert_eq!(c, compression.name().to_uppercase());
                }
                assert_eq!(encoded.decode().unwrap().to_data(), array.to_data());
            }
        }
        let text: ArrayRef = Arc::new(arrow_array::StringArray::from(vec!["a", "b"]));
        assert!(EncodedColumn::encode_forced(
            SqlType::Text,
            text.as_ref(),
            BlockEncoding::Delta,
            BlockCompression::None
        )
        .is_err());
        let flags: ArrayRef = Arc::new(arrow_array::BooleanArray::from(vec![true, false]));
        assert!(EncodedColumn::encode_forced(
            SqlType::Boolean,
            flags.as_ref(),
            BlockEncoding::Dictionary,
            BlockCompression::None
        )
        .is_err());
    }
}

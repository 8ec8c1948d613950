//! One column encoded as blocks in memory, exactly as the segment writer lays them out, without
//! a file around them: for benchmarks and for measuring what an encoding preference saves.

use arrow_array::{Array, ArrayRef};

use crate::column_encoding::ColumnEncoding;
use crate::error::{Error, Result};
use crate::segment::block::{decode_block, encode_block};
use crate::segment::column::ColumnBuilder;
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
            let written = encode_block(&pieces, preference, &mut bytes).map_err(Error::Internal)?;
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
}

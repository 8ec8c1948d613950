//! One block: up to [`BLOCK_ROWS_MAX`] values of one column, with a header, an optional
//! validity bitmap and an encoded, optionally compressed payload, all under one CRC-32C.
//!
//! ```text
//! +--------------------------- block header (24 bytes) ---------------------------+
//! | encoding u8 | compression u8 | reserved u16 = 0 | rows u32 | nulls u32          |
//! | payload_len u32 (encoded) | stored_len u32 (after compression) | crc32c u32     |
//! +----------------------------------------------------------------------------------+
//! | validity bitmap: ceil(rows / 8) bytes, LSB first, 1 = not NULL (only if nulls > 0) |
//! +----------------------------------------------------------------------------------+
//! | payload: stored_len bytes                                                          |
//! +----------------------------------------------------------------------------------+
//! ```
//! The CRC-32C covers header bytes 0..20, the bitmap and the stored payload.

use crate::bytes::{ByteReader, PutLe};
use crate::column_encoding::ColumnEncoding;
use crate::segment::column::ColumnBuilder;
use crate::segment::compression::Compression;
use crate::segment::encoding::Encoding;
use crate::segment::lightweight::{Dictionary, Flat};
use crate::segment::physical::Piece;
use crate::segment::reader::ColumnPiece;
use crate::segment::BLOCK_ROWS_MAX;
use crate::types::SqlType;
use crate::zone_map::ZoneMap;

/// Bytes in a block header.
pub(crate) const BLOCK_HEADER_BYTES: usize = 24;
/// Header bytes the checksum covers (all but the checksum itself).
const BLOCK_HEADER_CHECKED_BYTES: usize = 20;

/// What the footer records about a block the writer produced.
#[derive(Debug)]
pub(crate) struct WrittenBlock {
    pub(crate) rows: u32,
    pub(crate) nulls: u32,
    pub(crate) length: u64,
    pub(crate) zone_map: ZoneMap,
}

/// Encodes `pieces` (one column's values for this block, at most [`BLOCK_ROWS_MAX`] rows) as a
/// block appended to `out`, with the encodings and compression `preference` allows.
pub(crate) fn encode_block(
    pieces: &[Piece<'_>],
    preference: ColumnEncoding,
    out: &mut Vec<u8>,
) -> Result<WrittenBlock, String> {
    let rows: usize = pieces.iter().map(Piece::len).sum();
    let nulls: usize = pieces.iter().map(Piece::null_count).sum();
    if rows == 0 || rows > BLOCK_ROWS_MAX as usize {
        return Err(format!("a block of {rows} rows"));
    }
    let zone_map = ZoneMap::of_pieces(pieces);
    debug_assert_eq!(zone_map.row_count, rows as u64);
    debug_assert_eq!(zone_map.null_count, nulls as u64);

    let allowed = preference.encodings();
    let mut payload = Vec::new();
    let encoding = if allowed == [Encoding::Plain] {
        Encoding::Plain.encode(pieces, &Flat::Utf8(Vec::new()), &mut payload)
    } else {
        let flat = Flat::of(pieces);
        Encoding::choose(pieces, &flat, allowed).encode(pieces, &flat, &mut payload)
    };
    let (compression, compressed) = Compression::compress(&payload, preference.compression());
    write_block(
        pieces,
        encoding,
        &payload,
        compression,
        compressed,
        zone_map,
        out,
    )
}

/// Encodes `pieces` as a block appended to `out` with exactly `encoding` (FRAME_OF_REFERENCE
/// in the mode `delta` names) and exactly `compression`, whatever the sizes: for measuring one
/// encoding at a time. An error when the encoding cannot encode these values.
pub(crate) fn encode_block_forced(
    pieces: &[Piece<'_>],
    encoding: Encoding,
    delta: bool,
    compression: Compression,
    out: &mut Vec<u8>,
) -> Result<WrittenBlock, String> {
    let rows: usize = pieces.iter().map(Piece::len).sum();
    if rows == 0 || rows > BLOCK_ROWS_MAX as usize {
        return Err(format!("a block of {rows} rows"));
    }
    let zone_map = ZoneMap::of_pieces(pieces);
    // PLAIN reads the pieces themselves, as `encode_block` does.
    let flat = match encoding {
        Encoding::Plain => Flat::Utf8(Vec::new()),
        _ => Flat::of(pieces),
    };
    let mut payload = Vec::new();
    let done = match encoding {
        Encoding::FrameOfReference => {
            crate::segment::lightweight::FrameOfReference::encode_in_mode(
                &flat,
                delta,
                &mut payload,
            )
        }
        _ => encoding.encode(pieces, &flat, &mut payload) == encoding,
    };
    if !done {
        return Err(format!("{encoding:?} cannot encode these values"));
    }
    let compressed = Compression::compress_with(&payload, compression)?;
    write_block(
        pieces,
        encoding,
        &payload,
        compression,
        compressed,
        zone_map,
        out,
    )
}

/// Appends the block of `pieces` whose payload `encoding` produced (stored as `compressed`
/// when that is `Some`) to `out`.
fn write_block(
    pieces: &[Piece<'_>],
    encoding: Encoding,
    payload: &[u8],
    compression: Compression,
    compressed: Option<Vec<u8>>,
    zone_map: ZoneMap,
    out: &mut Vec<u8>,
) -> Result<WrittenBlock, String> {
    let rows: usize = pieces.iter().map(Piece::len).sum();
    let nulls: usize = pieces.iter().map(Piece::null_count).sum();
    let validity = if nulls > 0 {
        let mut bits = arrow_buffer::BooleanBufferBuilder::new(rows);
        for piece in pieces {
            match piece.nulls {
                Some(n) => bits.append_buffer(n.inner()),
                None => bits.append_n(piece.len(), true),
            }
        }
        let mut bytes = bits.as_slice().to_vec();
        bytes.truncate(rows.div_ceil(8));
        bytes
    } else {
        Vec::new()
    };
    let stored = compressed.as_deref().unwrap_or(payload);

    let too_big = |what: &str, n: usize| format!("block {what} of {n} bytes exceeds 4 GiB");
    let payload_len =
        u32::try_from(payload.len()).map_err(|_| too_big("payload", payload.len()))?;
    let stored_len = u32::try_from(stored.len()).map_err(|_| too_big("payload", stored.len()))?;

    let start = out.len();
    out.put_u8(encoding.id());
    out.put_u8(compression.id());
    out.put_u16(0);
    out.put_u32(rows as u32);
    out.put_u32(nulls as u32);
    out.put_u32(payload_len);
    out.put_u32(stored_len);
    let crc = crc32c::crc32c(&out[start..]);
    let crc = crc32c::crc32c_append(crc, &validity);
    let crc = crc32c::crc32c_append(crc, stored);
    out.put_u32(crc);
    out.extend_from_slice(&validity);
    out.extend_from_slice(stored);
    let length = (out.len() - start) as u64;
    debug_assert_eq!(
        length,
        (BLOCK_HEADER_BYTES + validity.len() + stored.len()) as u64
    );
    Ok(WrittenBlock {
        rows: rows as u32,
        nulls: nulls as u32,
        length,
        zone_map,
    })
}

/// A checked block: its encoding, validity bitmap and (decompressed) payload.
struct OpenBlock<'b> {
    encoding: Encoding,
    rows: usize,
    nulls: usize,
    validity: Option<&'b [u8]>,
    payload: std::borrow::Cow<'b, [u8]>,
}

/// Checks and decodes the block in `bytes` (exactly the block, as the footer delimits it),
/// which the footer says holds `rows` values of which `nulls` are NULL, appending them to `out`.
pub(crate) fn decode_block(
    bytes: &[u8],
    rows: u32,
    nulls: u32,
    out: &mut ColumnBuilder,
) -> Result<(), String> {
    decode_block_checked(bytes, rows, nulls, Checksum::Verify, out)
}

/// Whether decoding a block verifies its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checksum {
    Verify,
    /// The same bytes of an immutable file were verified before.
    Verified,
}

/// [`decode_block`], verifying the checksum only when `checksum` says so.
pub(crate) fn decode_block_checked(
    bytes: &[u8],
    rows: u32,
    nulls: u32,
    checksum: Checksum,
    out: &mut ColumnBuilder,
) -> Result<(), String> {
    let block = open_block(bytes, rows, nulls, checksum)?;
    decode_values(&block, out)
}

/// Appends the values of `block` to `out`.
fn decode_values(block: &OpenBlock<'_>, out: &mut ColumnBuilder) -> Result<(), String> {
    let before = out.values_len();
    block.encoding.decode(&block.payload, block.rows, out)?;
    if out.values_len() - before != block.rows {
        return Err(format!(
            "payload decoded to {} values, expected {}",
            out.values_len() - before,
            block.rows
        ));
    }
    out.push_validity(block.rows, block.validity, block.nulls);
    Ok(())
}

/// Checks and decodes the block in `bytes` as [`decode_block`] does, into a piece of type
/// `ty`: a DICTIONARY block (of any type but BOOLEAN) as its entries and the code of each
/// row, with one more entry, NULL, that the NULL rows name; any other block as its values.
pub(crate) fn decode_block_piece(
    bytes: &[u8],
    rows: u32,
    nulls: u32,
    ty: SqlType,
    checksum: Checksum,
) -> Result<ColumnPiece, String> {
    let block = open_block(bytes, rows, nulls, checksum)?;
    if block.encoding != Encoding::Dictionary || ty == SqlType::Boolean {
        let mut out = ColumnBuilder::new(ty, block.rows);
        decode_values(&block, &mut out)?;
        return Ok(ColumnPiece::Values(out.finish()?));
    }
    let (mut entries, mut codes) = Dictionary::codes(&block.payload, block.rows, ty)?;
    let count = entries.values_len();
    entries.push_validity(count, None, 0);
    let mut entries = entries.finish()?;
    if let Some(bitmap) = block.validity {
        let null = u32::try_from(count).map_err(|_| format!("DICTIONARY of {count} entries"))?;
        for (row, code) in codes.iter_mut().enumerate() {
            if bitmap
                .get(row / 8)
                .is_some_and(|b| b & (1 << (row % 8)) == 0)
            {
                *code = null;
            }
        }
        let nulls = arrow_array::new_null_array(entries.data_type(), 1);
        entries = arrow_select::concat::concat(&[entries.as_ref(), nulls.as_ref()])
            .map_err(|e| format!("DICTIONARY entries: {e}"))?;
    }
    Ok(ColumnPiece::Coded {
        entries,
        codes: codes.into(),
    })
}

/// Checks the block in `bytes` (header, checksum unless `checksum` says it was verified
/// before, counts against the footer's `rows` and `nulls`, validity bitmap) and decompresses
/// its payload.
fn open_block(
    bytes: &[u8],
    rows: u32,
    nulls: u32,
    checksum: Checksum,
) -> Result<OpenBlock<'_>, String> {
    let mut r = ByteReader::new(bytes);
    let header = r
        .take(BLOCK_HEADER_BYTES)
        .map_err(|e| format!("block header: {e}"))?;
    let mut h = ByteReader::new(header);
    let encoding_id = h.u8()?;
    let compression_id = h.u8()?;
    let reserved = h.u16()?;
    let header_rows = h.u32()?;
    let header_nulls = h.u32()?;
    let payload_len = h.u32()?;
    let stored_len = h.u32()?;
    let stored_crc = h.u32()?;

    let checked = header.get(..BLOCK_HEADER_CHECKED_BYTES).unwrap_or_default();
    let body = bytes.get(BLOCK_HEADER_BYTES..).unwrap_or_default();
    let crc = match checksum {
        Checksum::Verify => crc32c::crc32c_append(crc32c::crc32c(checked), body),
        Checksum::Verified => stored_crc,
    };
    if crc != stored_crc {
        return Err(format!(
            "checksum mismatch (stored {stored_crc:#010x}, computed {crc:#010x})"
        ));
    }

    let encoding = Encoding::from_id(encoding_id)
        .ok_or_else(|| format!("unknown encoding id {encoding_id}"))?;
    let compression = Compression::from_id(compression_id)
        .ok_or_else(|| format!("unknown compression id {compression_id}"))?;
    if reserved != 0 {
        return Err(format!("reserved header field is {reserved:#06x}, not 0"));
    }
    if header_rows != rows || header_nulls != nulls {
        return Err(format!(
            "header says {header_rows} rows with {header_nulls} NULLs, footer says {rows} with {nulls}"
        ));
    }
    if rows == 0 || rows > BLOCK_ROWS_MAX || nulls > rows {
        return Err(format!("{rows} rows with {nulls} NULLs"));
    }
    if compression == Compression::None && payload_len != stored_len {
        return Err(format!(
            "uncompressed payload of {payload_len} bytes stored in {stored_len}"
        ));
    }

    let rows = rows as usize;
    let validity = if nulls > 0 {
        let bitmap = r
            .take(rows.div_ceil(8))
            .map_err(|e| format!("validity bitmap: {e}"))?;
        let set = count_set_bits(bitmap, rows);
        if rows - set != nulls as usize {
            return Err(format!(
                "validity bitmap holds {} NULLs, header says {nulls}",
                rows - set
            ));
        }
        Some(bitmap)
    } else {
        None
    };
    let stored = r
        .take(stored_len as usize)
        .map_err(|e| format!("payload: {e}"))?;
    if r.remaining() != 0 {
        return Err(format!("{} bytes after the payload", r.remaining()));
    }
    let payload = match compression {
        Compression::None => std::borrow::Cow::Borrowed(stored),
        Compression::Lz4 | Compression::Zstd => {
            std::borrow::Cow::Owned(compression.decompress(stored, payload_len as usize)?)
        }
    };
    Ok(OpenBlock {
        encoding,
        rows,
        nulls: nulls as usize,
        validity,
        payload,
    })
}

/// Set bits among the first `bits` bits of `bytes` (LSB first); `bytes` holds at least
/// `ceil(bits / 8)` bytes.
fn count_set_bits(bytes: &[u8], bits: usize) -> usize {
    let full = bits / 8;
    let mut n: usize = bytes
        .iter()
        .take(full)
        .map(|b| b.count_ones() as usize)
        .sum();
    let rest = bits % 8;
    if rest > 0 {
        if let Some(last) = bytes.get(full) {
            n += (last & ((1u8 << rest) - 1)).count_ones() as usize;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int64Array};

    use super::*;
    use crate::types::SqlType;

    fn block_of(array: &ArrayRef) -> (Vec<u8>, WrittenBlock) {
        let piece = Piece::new(SqlType::BigInt, array.as_ref()).unwrap();
        let mut out = Vec::new();
        let written = encode_block(&[piece], ColumnEncoding::Lzo, &mut out).unwrap();
        (out, written)
    }

    #[test]
    fn compressible_block_round_trips_through_lz4() {
        // Input: 10,000 BIGINT values 0..10,000 with every 7th NULL.
        let array: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..10_000i64).map(|i| (i % 7 != 0).then_some(i)),
        ));
        let (bytes, written) = block_of(&array);
        assert_eq!(bytes[1], Compression::Lz4.id());
        assert_eq!(written.length, bytes.len() as u64);
        let mut builder = ColumnBuilder::new(SqlType::BigInt, 10_000);
        decode_block(&bytes, written.rows, written.nulls, &mut builder).unwrap();
        let back = builder.finish().unwrap();
        assert_eq!(back.to_data(), array.to_data());
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        // Input: a 3-row BIGINT block with one NULL; each byte flipped in turn.
        let array: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(9)]));
        let (bytes, written) = block_of(&array);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let mut builder = ColumnBuilder::new(SqlType::BigInt, 3);
            assert!(
                decode_block(&bad, written.rows, written.nulls, &mut builder).is_err(),
                "byte {i}"
            );
        }
        for len in 0..bytes.len() {
            let mut builder = ColumnBuilder::new(SqlType::BigInt, 3);
            assert!(
                decode_block(&bytes[..len], written.rows, written.nulls, &mut builder).is_err()
            );
        }
    }

    #[test]
    fn count_set_bits_ignores_padding() {
        // Input: 0xFF 0xFF with only the first 9 bits counted.
        assert_eq!(count_set_bits(&[0xFF, 0xFF], 9), 9);
        assert_eq!(count_set_bits(&[0b0000_0101], 3), 2);
        assert_eq!(count_set_bits(&[], 0), 0);
    }
}

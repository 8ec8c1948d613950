//! Segment files: immutable columnar files, one per (table, segment).
//!
//! The byte layout is specified in `docs/segment-format.md`; this module implements it.
//!
//! - `physical`: physical types and typed views of Arrow arrays.
//! - `encoding`: block encodings, each an analyze / encode / decode codec, and the chooser.
//! - `lightweight`: DICTIONARY, RUN_LENGTH and FRAME_OF_REFERENCE.
//! - `bitpack`: fixed-width bit-packing for dictionary codes and frame offsets.
//! - `compression`: payload compression (LZ4 when it pays, ZSTD when it pays more or is asked).
//! - `block`: one block's header, bitmap, payload and checksum.
//! - [`column_codec`]: one column encoded as blocks in memory, for benchmarks and size reports.
//! - `column`: accumulating decoded blocks into Arrow arrays.
//! - `writer`: splitting rows into blocks and writing a whole segment file.
//! - `reader`: mapping a segment file, checking it and decoding projected columns.

pub(crate) mod bitpack;
pub(crate) mod block;
pub(crate) mod column;
pub mod column_codec;
pub(crate) mod compression;
pub(crate) mod encoding;
pub(crate) mod lightweight;
pub(crate) mod physical;
pub(crate) mod reader;
pub(crate) mod writer;

pub use column_codec::{BlockCompression, BlockEncoding, EncodedColumn};
pub use reader::{BlockMeta, ColumnPiece, SegmentReader};

/// First and last 8 bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"BASALTSG";
/// The segment format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes in the file header: magic, version, reserved.
pub(crate) const HEADER_BYTES: usize = 16;
/// Bytes in the file trailer: footer length, footer checksum, magic.
pub(crate) const TRAILER_BYTES: usize = 16;

/// Most rows in one block: the format's limit, which readers check (segment files written by
/// earlier builds have blocks of this many rows) and which bounds a WAL record's blocks.
pub const BLOCK_ROWS_MAX: u32 = 65_536;
/// Most rows in one block this build writes into a segment file. A block is the unit a scan
/// skips by its zone map, so its rows set how finely a range on the sort key can be read:
/// a one-week range of TPC-H lineitem at scale factor 1 (about 17,500 rows of 6 million) lies
/// in at most 2 of 184 blocks (1.1%) at this size, where at [`BLOCK_ROWS_MAX`] it took 2 of 92
/// (2.2%) whenever it crossed a block boundary. Halving it again would cost more per-block
/// overhead (headers, footer entries, dictionaries, frames) than it saves.
pub const WRITER_BLOCK_ROWS_MAX: u32 = 32_768;
/// Most rows in one segment file: four blocks of [`BLOCK_ROWS_MAX`] rows, eight as this build
/// writes them.
pub const SEGMENT_ROWS_MAX: u32 = 4 * BLOCK_ROWS_MAX;
/// Most string bytes in one block of a string column (a single longer value gets a block of
/// its own). Keeps a block's payload, and the u32 offsets inside it, far below 4 GiB.
pub const BLOCK_STRING_BYTES_MAX: u64 = 16 << 20;
/// Most string bytes in one column of one segment (a single longer value gets a segment of its
/// own). A segment is read into one Arrow `Utf8` array, whose offsets are `i32`.
pub const SEGMENT_STRING_BYTES_MAX: u64 = 1 << 30;

const _: () = assert!(BLOCK_ROWS_MAX.is_power_of_two());
const _: () = assert!(WRITER_BLOCK_ROWS_MAX.is_power_of_two());
const _: () = assert!(WRITER_BLOCK_ROWS_MAX <= BLOCK_ROWS_MAX);
const _: () = assert!(SEGMENT_ROWS_MAX.is_multiple_of(BLOCK_ROWS_MAX));
const _: () = assert!(SEGMENT_ROWS_MAX.is_multiple_of(WRITER_BLOCK_ROWS_MAX));
const _: () = assert!(BLOCK_STRING_BYTES_MAX <= SEGMENT_STRING_BYTES_MAX);
const _: () = assert!(SEGMENT_STRING_BYTES_MAX <= i32::MAX as u64);
// A block's string payload is (rows + 1) u32 offsets plus at most one Arrow value (< 2 GiB) or
// BLOCK_STRING_BYTES_MAX bytes, and must fit the header's u32 lengths.
const _: () = assert!(4 * (BLOCK_ROWS_MAX as u64 + 1) + i32::MAX as u64 <= u32::MAX as u64);

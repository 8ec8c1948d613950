//! Compression of an encoded block payload. The id is persisted in the block header.

/// A payload compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    /// Stored as encoded.
    None,
    /// The LZ4 block format (no frame), as `lz4_flex::block` writes it.
    Lz4,
    /// One Zstandard frame, as `zstd::bulk` writes it.
    Zstd,
}

/// Which compressions the writer may use for a column's blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompressionPolicy {
    /// Store payloads as encoded.
    None,
    /// LZ4 when it saves enough; never ZSTD.
    Lz4,
    /// ZSTD when it saves anything.
    Zstd,
    /// LZ4 when it saves enough, ZSTD instead when it saves at least a quarter more than LZ4.
    Auto,
}

/// The ZSTD level the writer uses: fast to write, and decompression speed hardly depends on it.
const ZSTD_LEVEL: i32 = 3;
/// Under [`CompressionPolicy::Auto`], ZSTD output replaces LZ4 output only when it is at most
/// this many quarters of it: ZSTD decompresses several times slower than LZ4.
const ZSTD_OVER_LZ4_QUARTERS_MAX: usize = 3;

/// LZ4 output is kept only when it is at most this many eighths of the encoded payload: every
/// read pays for decompression, which a smaller saving does not repay.
const LZ4_KEEP_EIGHTHS_MAX: usize = 7;

thread_local! {
    /// Each thread's ZSTD compressor, kept from block to block: a fresh one allocates and
    /// clears its tables for every block a load writes. The output is the same either way.
    static ZSTD: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// `payload` as one ZSTD frame at [`ZSTD_LEVEL`].
fn zstd_compress(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    ZSTD.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?);
        }
        match cell.as_mut() {
            Some(c) => c.compress(payload),
            None => zstd::bulk::compress(payload, ZSTD_LEVEL),
        }
    })
}

impl Compression {
    pub(crate) fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
            Compression::Zstd => 2,
        }
    }

    pub(crate) fn from_id(id: u8) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Lz4),
            2 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Compresses `payload` as `policy` allows, returning the compression used and the bytes
    /// to store (`None` means store `payload` itself).
    pub(crate) fn compress(
        payload: &[u8],
        policy: CompressionPolicy,
    ) -> (Compression, Option<Vec<u8>>) {
        if payload.is_empty() || policy == CompressionPolicy::None {
            return (Compression::None, None);
        }
        let zstd = || zstd_compress(payload).ok();
        if policy == CompressionPolicy::Zstd {
            return match zstd() {
                Some(z) if z.len() < payload.len() => (Compression::Zstd, Some(z)),
                _ => (Compression::None, None),
            };
        }
        let lz4 = lz4_flex::block::compress(payload);
        let lz4_pays = lz4.len() * 8 <= payload.len() * LZ4_KEEP_EIGHTHS_MAX;
        if policy == CompressionPolicy::Auto {
            // ZSTD is tried only where LZ4 already pays: data LZ4 cannot shrink by an eighth is
            // rarely worth ZSTD's slower reads.
            if let Some(z) = zstd().filter(|_| lz4_pays) {
                if z.len() * 4 <= lz4.len() * ZSTD_OVER_LZ4_QUARTERS_MAX {
                    return (Compression::Zstd, Some(z));
                }
            }
        }
        if lz4_pays {
            (Compression::Lz4, Some(lz4))
        } else {
            (Compression::None, None)
        }
    }

    /// Compresses `payload` with exactly this compression, whatever it saves: `None` for
    /// [`Compression::None`] (store `payload` itself). For measuring one compression at a time.
    pub(crate) fn compress_with(
        payload: &[u8],
        compression: Compression,
    ) -> Result<Option<Vec<u8>>, String> {
        match compression {
            Compression::None => Ok(None),
            Compression::Lz4 => Ok(Some(lz4_flex::block::compress(payload))),
            Compression::Zstd => zstd_compress(payload)
                .map(Some)
                .map_err(|e| format!("ZSTD compression: {e}")),
        }
    }

    /// Decompresses `stored` into exactly `uncompressed_len` bytes.
    pub(crate) fn decompress(
        self,
        stored: &[u8],
        uncompressed_len: usize,
    ) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; uncompressed_len];
        let n = match self {
            Compression::None => {
                out.clear();
                out.extend_from_slice(stored);
                stored.len()
            }
            Compression::Lz4 => lz4_flex::block::decompress_into(stored, &mut out)
                .map_err(|e| format!("LZ4 payload does not decompress: {e}"))?,
            Compression::Zstd => zstd::bulk::decompress_to_buffer(stored, &mut out[..])
                .map_err(|e| format!("ZSTD payload does not decompress: {e}"))?,
        };
        if n != uncompressed_len {
            return Err(format!(
                "{self:?} payload decompresses to {n} bytes, header says {uncompressed_len}"
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_is_used_only_when_it_saves_enough() {
        // Input: 4 KiB of zeros (compressible) and 256 distinct bytes (not compressible).
        let zeros = vec![0u8; 4096];
        let (c, stored) = Compression::compress(&zeros, CompressionPolicy::Lz4);
        assert_eq!(c, Compression::Lz4);
        let stored = stored.unwrap();
        assert!(stored.len() < zeros.len() / 8);
        assert_eq!(
            Compression::Lz4.decompress(&stored, zeros.len()).unwrap(),
            zeros
        );
        assert!(Compression::Lz4
            .decompress(&stored, zeros.len() + 1)
            .is_err());

        let distinct: Vec<u8> = (0..=255).collect();
        assert_eq!(
            Compression::compress(&distinct, CompressionPolicy::Auto),
            (Compression::None, None)
        );
    }

    #[test]
    fn zstd_round_trips_and_rejects_wrong_lengths() {
        // Input: 64 KiB of a repeating 13-byte pattern, compressed with ZSTD on request, and a
        // corrupted copy.
        let payload: Vec<u8> = (0..65_536u32).map(|i| (i % 13) as u8 * 7).collect();
        let (c, stored) = Compression::compress(&payload, CompressionPolicy::Zstd);
        assert_eq!(c, Compression::Zstd);
        let stored = stored.unwrap();
        assert_eq!(
            Compression::Zstd
                .decompress(&stored, payload.len())
                .unwrap(),
            payload
        );
        assert!(Compression::Zstd
            .decompress(&stored, payload.len() - 1)
            .is_err());
        assert!(Compression::Zstd
            .decompress(&stored, payload.len() + 1)
            .is_err());
        for i in 0..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x55;
            if let Ok(back) = Compression::Zstd.decompress(&bad, payload.len()) {
                assert_eq!(back.len(), payload.len());
            }
        }
        assert_eq!(
            Compression::compress(&payload, CompressionPolicy::None),
            (Compression::None, None)
        );
    }

    // Input: payloads of different sizes and contents compressed one after another by the
    // thread's kept compressor: each frame is byte for byte a fresh compressor's.
    #[test]
    fn the_kept_zstd_compressor_writes_what_a_fresh_one_writes() {
        let payloads: Vec<Vec<u8>> = vec![
            (0..200_000u32).map(|i| (i % 251) as u8).collect(),
            b"short".to_vec(),
            (0..70_000u32).map(|i| (i * 7 % 13) as u8).collect(),
            Vec::new(),
        ];
        for p in payloads.iter().chain(&payloads) {
            assert_eq!(
                zstd_compress(p).unwrap(),
                zstd::bulk::compress(p, ZSTD_LEVEL).unwrap()
            );
        }
    }
}

//! Compression of an encoded block payload. The id is persisted in the block header.

/// A payload compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    /// Stored as encoded.
    None,
    /// The LZ4 block format (no frame), as `lz4_flex::block` writes it.
    Lz4,
}

/// LZ4 output is kept only when it is at most this many eighths of the encoded payload: every
/// read pays for decompression, which a smaller saving does not repay.
const LZ4_KEEP_EIGHTHS_MAX: usize = 7;

impl Compression {
    pub(crate) fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
        }
    }

    pub(crate) fn from_id(id: u8) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Lz4),
            _ => None,
        }
    }

    /// Compresses `payload` with LZ4 when that saves enough, returning the compression used and
    /// the bytes to store (`None` means store `payload` itself).
    pub(crate) fn compress(payload: &[u8]) -> (Compression, Option<Vec<u8>>) {
        if payload.is_empty() {
            return (Compression::None, None);
        }
        let compressed = lz4_flex::block::compress(payload);
        if compressed.len() * 8 <= payload.len() * LZ4_KEEP_EIGHTHS_MAX {
            (Compression::Lz4, Some(compressed))
        } else {
            (Compression::None, None)
        }
    }

    /// Decompresses `stored` into exactly `uncompressed_len` bytes.
    pub(crate) fn decompress(stored: &[u8], uncompressed_len: usize) -> Result<Vec<u8>, String> {
        let mut out = vec![0u8; uncompressed_len];
        let n = lz4_flex::block::decompress_into(stored, &mut out)
            .map_err(|e| format!("LZ4 payload does not decompress: {e}"))?;
        if n != uncompressed_len {
            return Err(format!(
                "LZ4 payload decompresses to {n} bytes, header says {uncompressed_len}"
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
        let (c, stored) = Compression::compress(&zeros);
        assert_eq!(c, Compression::Lz4);
        let stored = stored.unwrap();
        assert!(stored.len() < zeros.len() / 8);
        assert_eq!(
            Compression::decompress(&stored, zeros.len()).unwrap(),
            zeros
        );
        assert!(Compression::decompress(&stored, zeros.len() + 1).is_err());

        let distinct: Vec<u8> = (0..=255).collect();
        assert_eq!(Compression::compress(&distinct), (Compression::None, None));
    }
}

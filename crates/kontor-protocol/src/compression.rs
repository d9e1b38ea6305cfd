//! zlib (RFC 1950) compression of order data and signatures, as EBICS requires before
//! encryption.
//!
//! Decompression always takes a size limit: a few kilobytes of zlib can expand to gigabytes,
//! and bank data is external input. [`Inflater`] decompresses incrementally into any
//! `std::io::Write` the caller supplies, with constant memory.

use std::io::Write;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

const CHUNK: usize = 64 * 1024;

/// Errors of decompression. Compression of in-memory data cannot fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressionError {
    #[error("decompressed data exceeds the limit of {limit} bytes")]
    LimitExceeded { limit: u64 },
    #[error("corrupt zlib data: {0}")]
    Corrupt(String),
    #[error("zlib data ends before the end of its stream")]
    Truncated,
    #[error("data follows the end of the zlib stream")]
    TrailingData,
    #[error("writing decompressed data failed: {0}")]
    Sink(#[source] std::io::Error),
}

/// zlib-compresses `data` at the default level (6).
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut compressor = Compress::new(Compression::default(), true);
    // Incompressible data grows by a few bytes per 16 KiB block plus header and trailer.
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
    let mut input = data;
    loop {
        if out.len() == out.capacity() {
            out.reserve(CHUNK);
        }
        let before_in = compressor.total_in();
        // `compress_vec` only fails on a corrupted internal state, which `Compress` rules out;
        // if it ever did, the remaining loop cannot make progress and ends below.
        let status = compressor.compress_vec(input, &mut out, FlushCompress::Finish);
        let consumed = (compressor.total_in() - before_in) as usize;
        input = &input[consumed.min(input.len())..];
        match status {
            Ok(Status::StreamEnd) | Err(_) => return out,
            Ok(Status::Ok | Status::BufError) => {}
        }
    }
}

/// Decompresses a complete zlib stream; fails past `limit` output bytes, on corrupt or
/// truncated input and on data after the end of the stream.
pub fn decompress(data: &[u8], limit: u64) -> Result<Vec<u8>, CompressionError> {
    let mut out = Vec::with_capacity(
        data.len()
            .saturating_mul(4)
            .min(usize::try_from(limit).unwrap_or(usize::MAX)),
    );
    let mut inflater = Inflater::new(limit);
    inflater.write(data, &mut out)?;
    inflater.finish()?;
    Ok(out)
}

/// Incremental zlib decompression into a caller-supplied sink.
pub struct Inflater {
    state: Decompress,
    limit: u64,
    finished: bool,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("total_in", &self.state.total_in())
            .field("total_out", &self.state.total_out())
            .field("finished", &self.finished)
            .finish()
    }
}

impl Inflater {
    /// A decompressor that refuses to produce more than `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            state: Decompress::new(true),
            limit,
            finished: false,
            buffer: vec![0; CHUNK],
        }
    }

    /// Decompresses `input` (any piece of the stream) and writes the output to `sink`.
    pub fn write<W: Write + ?Sized>(
        &mut self,
        mut input: &[u8],
        sink: &mut W,
    ) -> Result<(), CompressionError> {
        loop {
            if self.finished {
                return if input.is_empty() {
                    Ok(())
                } else {
                    Err(CompressionError::TrailingData)
                };
            }
            let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
            let status = self
                .state
                .decompress(input, &mut self.buffer, FlushDecompress::None)
                .map_err(|e| CompressionError::Corrupt(e.to_string()))?;
            let consumed = (self.state.total_in() - before_in) as usize;
            let produced = (self.state.total_out() - before_out) as usize;
            input = &input[consumed.min(input.len())..];
            if produced > 0 {
                if self.state.total_out() > self.limit {
                    return Err(CompressionError::LimitExceeded { limit: self.limit });
                }
                sink.write_all(&self.buffer[..produced])
                    .map_err(CompressionError::Sink)?;
            }
            if status == Status::StreamEnd {
                self.finished = true;
                continue;
            }
            if input.is_empty() && produced < self.buffer.len() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                return Err(CompressionError::Corrupt(
                    "decompressor made no progress".to_owned(),
                ));
            }
        }
    }

    /// Checks that the stream ended (its checksum was verified on the way); returns the
    /// number of decompressed bytes.
    pub fn finish(self) -> Result<u64, CompressionError> {
        if self.finished {
            Ok(self.state.total_out())
        } else {
            Err(CompressionError::Truncated)
        }
    }

    /// Decompressed bytes produced so far.
    pub fn total_out(&self) -> u64 {
        self.state.total_out()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_empty_and_small_data() {
        for data in [&b""[..], b"x", b"hello hello hello hello"] {
            let compressed = compress(data);
            assert_eq!(compressed[0] & 0x0F, 8, "zlib header with deflate method");
            assert_eq!(decompress(&compressed, 1 << 20).ok().as_deref(), Some(data));
        }
    }

    #[test]
    fn output_beyond_the_limit_is_refused() {
        let bomb = compress(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 * 1024);
        assert!(matches!(
            decompress(&bomb, 1 << 20),
            Err(CompressionError::LimitExceeded { limit }) if limit == 1 << 20
        ));
        assert!(decompress(&bomb, 10 << 20).is_ok());
    }

    #[test]
    fn truncated_corrupt_and_trailing_input_is_rejected() {
        let compressed = compress(b"some order data, some order data");
        assert!(matches!(
            decompress(&compressed[..compressed.len() - 1], 1024),
            Err(CompressionError::Truncated)
        ));
        let mut trailing = compressed.clone();
        trailing.push(0);
        assert!(matches!(
            decompress(&trailing, 1024),
            Err(CompressionError::TrailingData)
        ));
        let mut corrupt = compressed.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xFF; // breaks the Adler-32 trailer
        assert!(matches!(
            decompress(&corrupt, 1024),
            Err(CompressionError::Corrupt(_))
        ));
        assert!(matches!(
            decompress(b"not zlib", 1024),
            Err(CompressionError::Corrupt(_))
        ));
    }

    #[test]
    fn incremental_decompression_matches_one_shot() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let compressed = compress(&data);
        for piece in [1usize, 7, 4096, compressed.len()] {
            let mut inflater = Inflater::new(u64::MAX);
            let mut out = Vec::new();
            for chunk in compressed.chunks(piece) {
                assert!(inflater.write(chunk, &mut out).is_ok());
            }
            assert_eq!(inflater.finish().ok(), Some(data.len() as u64));
            assert_eq!(out, data);
        }
    }
}

//! zlib (RFC 1950) compression of order data and signatures, as EBICS requires before
//! encryption.
//!
//! Decompression always takes a size limit: a few kilobytes of zlib can expand to gigabytes,
//! and bank data is external input. [`Inflater`] decompresses incrementally into any
//! `std::io::Write` the caller supplies, with constant memory.

use std::io::Write;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

mod chunked;

pub use chunked::{deflate_reader, CHUNKED_FROM, CHUNK_SIZE, MAX_THREADS};

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

/// zlib-compresses `data` at the default level (6); the same bytes as a [`Deflater`] fed
/// with `data` in any pieces.
pub fn compress(data: &[u8]) -> Vec<u8> {
    // Incompressible data grows by a few bytes per 16 KiB block plus header and trailer.
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
    let mut deflater = Deflater::new();
    deflater.write(data, &mut out);
    deflater.finish(&mut out);
    out
}

/// Input pieces the compressor is fed with, whatever pieces the caller has.
const DEFLATE_PIECE: usize = 256 * 1024;

/// Incremental zlib compression at the default level (6): feed input in pieces of any size,
/// compressed output is appended to a caller-owned buffer.
///
/// The output does not depend on how the input is split: the compressor always sees it in
/// pieces of 256 KiB. (zlib-rs, like zlib-ng, chooses matches differently when it is fed
/// small pieces, so without this the bytes of an upload would depend on how its file was
/// read.) Whole pieces of the caller's input go to the compressor directly; only the rest
/// is held until the next call.
///
/// Pieces that look incompressible (order-0 entropy near 8 bits per byte: encrypted, already
/// compressed or random data) are stored rather than searched for matches: at level 6 zlib
/// spends ~20 times longer on such data to gain nothing (measured with `kontor-bench`). The
/// choice depends only on the piece's bytes, so the output stays independent of the split.
pub struct Deflater {
    pieces: PieceCompressor,
    staged: Vec<u8>,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("total_in", &self.total_in())
            .field("total_out", &self.pieces.state.total_out())
            .finish()
    }
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflater {
    /// The piece size at which [`Deflater::write`] copies nothing: callers that read input
    /// should read pieces of exactly this size.
    pub const PIECE: usize = DEFLATE_PIECE;

    pub fn new() -> Self {
        Self {
            pieces: PieceCompressor::new(true),
            staged: Vec::new(),
        }
    }

    /// Compresses `input` and appends what the compressor emits to `out`.
    pub fn write(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if !self.staged.is_empty() {
            let take = (DEFLATE_PIECE - self.staged.len()).min(input.len());
            self.staged.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.staged.len() < DEFLATE_PIECE {
                return;
            }
            let staged = std::mem::take(&mut self.staged);
            self.pieces.piece(&staged, out, FlushCompress::None);
            self.staged = staged;
            self.staged.clear();
        }
        while input.len() >= DEFLATE_PIECE {
            self.pieces
                .piece(&input[..DEFLATE_PIECE], out, FlushCompress::None);
            input = &input[DEFLATE_PIECE..];
        }
        if !input.is_empty() {
            self.staged.reserve_exact(DEFLATE_PIECE);
            self.staged.extend_from_slice(input);
        }
    }

    /// Ends the stream (the last piece, final block and Adler-32 trailer), appended to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let staged = std::mem::take(&mut self.staged);
        self.pieces.piece(&staged, out, FlushCompress::Finish);
    }

    /// Plaintext bytes taken so far.
    pub fn total_in(&self) -> u64 {
        self.pieces.state.total_in() + self.staged.len() as u64
    }
}

/// A compressor fed in pieces, each at level 6, or stored when it looks incompressible.
struct PieceCompressor {
    state: Compress,
    storing: bool,
}

impl PieceCompressor {
    /// With the zlib header and trailer (RFC 1950), or raw deflate (RFC 1951) for a chunk of
    /// a stream assembled elsewhere.
    fn new(zlib_header: bool) -> Self {
        Self {
            state: Compress::new(Compression::default(), zlib_header),
            storing: false,
        }
    }

    /// Compresses one piece, at level 0 (stored) when it looks incompressible.
    fn piece(&mut self, piece: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        let storing = looks_incompressible(piece);
        if storing != self.storing {
            let level = if storing {
                Compression::none()
            } else {
                Compression::default()
            };
            // Changing the level ends the current block; zlib needs the block flushed first
            // when it holds data (an empty stored block marks the flush).
            if self.state.set_level(level).is_err() {
                self.run(&[], out, FlushCompress::Sync);
                // Cannot fail after the flush; if it did, the piece is compressed at the old
                // level, which is still valid zlib.
                let _ = self.state.set_level(level);
            }
            self.storing = storing;
        }
        self.run(piece, out, flush);
    }

    fn run(&mut self, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        loop {
            // Room for the worst case of this input (stored blocks) plus a whole pending block
            // (at most ~100 KB at level 6): zlib never runs out of output space mid-flush, so a
            // flush never has to be repeated (a repeated flush can add an empty block, which
            // would make the bytes depend on the buffer's capacity).
            out.reserve(input.len() + input.len() / 1000 + 4 * CHUNK);
            let (before_in, before_out) = (self.state.total_in(), self.state.total_out());
            // As in `compress`: an error only follows a corrupted state, and then no progress
            // is made and the loop ends.
            let status = self.state.compress_vec(input, out, flush);
            let consumed = (self.state.total_in() - before_in) as usize;
            let produced = self.state.total_out() - before_out;
            input = &input[consumed.min(input.len())..];
            match status {
                Ok(Status::StreamEnd) | Err(_) => return,
                Ok(Status::Ok | Status::BufError) => {}
            }
            let room_left = out.len() < out.capacity();
            if input.is_empty() && room_left && matches!(flush, FlushCompress::None) {
                return;
            }
            if consumed == 0 && produced == 0 && room_left {
                return;
            }
        }
    }
}

/// Whether deflate can gain nothing worth its time on `piece`: its order-0 entropy is above
/// 7.95 bits per byte. Small pieces are always compressed.
fn looks_incompressible(piece: &[u8]) -> bool {
    if piece.len() < 4096 {
        return false;
    }
    // Four tables so consecutive equal bytes do not wait on each other's increments.
    let mut counts = [[0u32; 256]; 4];
    let mut quads = piece.chunks_exact(4);
    for quad in &mut quads {
        counts[0][usize::from(quad[0])] += 1;
        counts[1][usize::from(quad[1])] += 1;
        counts[2][usize::from(quad[2])] += 1;
        counts[3][usize::from(quad[3])] += 1;
    }
    for &byte in quads.remainder() {
        counts[0][usize::from(byte)] += 1;
    }
    let total = piece.len() as f64;
    let entropy: f64 = (0..256)
        .map(|b| f64::from(counts[0][b] + counts[1][b] + counts[2][b] + counts[3][b]))
        .filter(|&n| n > 0.0)
        .map(|n| {
            let p = n / total;
            -p * p.log2()
        })
        .sum();
    entropy > 7.95
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
    fn incompressible_pieces_are_stored_and_text_still_compresses() {
        let mut noise = vec![0u8; 3 * DEFLATE_PIECE];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for byte in &mut noise {
            // xorshift: cheap, deterministic, high entropy.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = (x >> 24) as u8;
        }
        assert!(looks_incompressible(&noise[..DEFLATE_PIECE]));
        let text: Vec<u8> = b"<Ntry><Amt Ccy=\"EUR\">12.34</Amt></Ntry>\n"
            .iter()
            .copied()
            .cycle()
            .take(2 * DEFLATE_PIECE)
            .collect();
        assert!(!looks_incompressible(&text[..DEFLATE_PIECE]));

        // Text, noise, text again: each part at its level, one valid stream.
        let mixed = [&text[..], &noise[..], &text[..]].concat();
        let compressed = compress(&mixed);
        assert!(compressed.len() < noise.len() + noise.len() / 100 + text.len() / 10);
        assert_eq!(decompress(&compressed, 1 << 30).ok(), Some(mixed.clone()));
        for piece in [4096, 100_003, 300_001] {
            let mut deflater = Deflater::new();
            let mut pieces = Vec::with_capacity(piece);
            for chunk in mixed.chunks(piece) {
                deflater.write(chunk, &mut pieces);
            }
            deflater.finish(&mut pieces);
            assert!(pieces == compressed, "pieces of {piece}");
        }
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

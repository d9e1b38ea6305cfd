//! Parallel deflate: one zlib stream (RFC 1950) made of chunks compressed independently, so
//! that several threads can compress one upload (issue 15: one thread at level 6 bounded the
//! upload pipeline).
//!
//! Each chunk is raw deflate (RFC 1951) primed with the 32 KiB of input before it as preset
//! dictionary, so matches still reach back across the boundary, and ends with a sync flush
//! (an empty stored block, which leaves the output byte-aligned), so chunks simply
//! concatenate. An empty final block ends the deflate data, and the Adler-32 of the whole
//! input, combined from the chunks' own, ends the zlib stream. Any inflater reads it as one
//! ordinary stream; pigz writes the same form.
//!
//! The bytes depend only on the input: chunks start at fixed multiples of [`CHUNK_SIZE`], and
//! each chunk's bytes depend only on it and its dictionary, not on the number of threads or
//! their timing. Input shorter than [`CHUNKED_FROM`] is one ordinary stream ([`compress`]).
//! Pieces that look incompressible are stored, as in [`super::Deflater`].

use std::collections::VecDeque;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::thread::ScopedJoinHandle;

use flate2::FlushCompress;
use zlib_rs::adler32::{adler32, adler32_combine};

use super::{compress, PieceCompressor, DEFLATE_PIECE};

/// The plaintext of one chunk: 1 MiB, four compressor pieces. Priming with the dictionary
/// and the flush cost ~0.1 % of the output at this size (measured on camt-like XML).
pub const CHUNK_SIZE: usize = 4 * DEFLATE_PIECE;

/// Input of at least this size is deflated in chunks; shorter input gains too little.
pub const CHUNKED_FROM: usize = 2 * CHUNK_SIZE;

/// The most threads one stream uses, whatever the caller offers: each holds a chunk.
pub const MAX_THREADS: usize = 8;

/// How far back a deflate match may reach (RFC 1951, 2.1): the dictionary of a chunk.
const WINDOW: usize = 32 * 1024;

/// Deflate with a 32 KiB window, default level, no preset dictionary (RFC 1950, 2.2): the
/// header zlib itself writes at level 6.
const ZLIB_HEADER: [u8; 2] = [0x78, 0x9C];

/// An empty final block with fixed codes (RFC 1951, 3.2.3 and 3.2.6): BFINAL 1, BTYPE 01 and
/// the 7-bit end-of-block code, padded to whole bytes.
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

/// zlib-compresses everything `reader` yields at level 6, on up to `threads` threads (at most
/// [`MAX_THREADS`]), handing the compressed stream to `emit` in order, one chunk at a time;
/// returns the plaintext length. Memory: a chunk in and out per thread, plus one.
///
/// The output is the same for any `threads`; for input shorter than [`CHUNKED_FROM`] it is
/// that of [`compress`].
pub fn deflate_reader<R: Read>(
    reader: R,
    threads: NonZeroUsize,
    emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    deflate_in_chunks(reader, threads, CHUNK_SIZE, CHUNKED_FROM, emit)
}

fn deflate_in_chunks<R: Read>(
    mut reader: R,
    threads: NonZeroUsize,
    chunk_size: usize,
    chunked_from: usize,
    emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    let mut head = Vec::with_capacity(chunked_from);
    read_up_to(&mut reader, &mut head, chunked_from)?;
    if head.len() < chunked_from {
        emit(&compress(&head))?;
        return Ok(head.len() as u64);
    }
    let mut chunks = Chunks {
        ready: head.chunks(chunk_size).map(<[u8]>::to_vec).collect(),
        reader,
        chunk_size,
        ended: false,
        window: Vec::with_capacity(2 * WINDOW),
    };
    drop(head);
    emit(&ZLIB_HEADER)?;
    let threads = threads.get().min(MAX_THREADS);
    // One chunk more than threads: no core idles while this thread encrypts and sends.
    let in_flight_limit = if threads == 1 { 1 } else { threads + 1 };
    let (adler, total) = std::thread::scope(|scope| -> io::Result<(u32, u64)> {
        let mut in_flight = VecDeque::with_capacity(in_flight_limit);
        let (mut adler, mut total) = (1u32, 0u64);
        loop {
            while in_flight.len() < in_flight_limit {
                let Some((dictionary, chunk)) = chunks.next()? else {
                    break;
                };
                in_flight.push_back(if threads == 1 {
                    Job::Done(deflate_chunk(&dictionary, &chunk))
                } else {
                    Job::Running(scope.spawn(move || deflate_chunk(&dictionary, &chunk)))
                });
            }
            let Some(job) = in_flight.pop_front() else {
                return Ok((adler, total));
            };
            let chunk = job.wait();
            emit(&chunk.bytes)?;
            adler = adler32_combine(adler, chunk.adler, chunk.len as u64);
            total += chunk.len as u64;
        }
    })?;
    let mut trailer = FINAL_EMPTY_BLOCK.to_vec();
    trailer.extend_from_slice(&adler.to_be_bytes());
    emit(&trailer)?;
    Ok(total)
}

/// Reads until `buffer` holds `limit` bytes or the reader ends.
fn read_up_to<R: Read>(reader: &mut R, buffer: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    let wanted = limit.saturating_sub(buffer.len()) as u64;
    reader.take(wanted).read_to_end(buffer)?;
    Ok(())
}

/// The input cut into chunks, each with the input's last 32 KiB before it.
struct Chunks<R> {
    ready: VecDeque<Vec<u8>>,
    reader: R,
    chunk_size: usize,
    ended: bool,
    window: Vec<u8>,
}

impl<R: Read> Chunks<R> {
    /// The next chunk and its dictionary.
    fn next(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let chunk = match self.ready.pop_front() {
            Some(chunk) => chunk,
            None if self.ended => return Ok(None),
            None => {
                let mut chunk = Vec::with_capacity(self.chunk_size);
                read_up_to(&mut self.reader, &mut chunk, self.chunk_size)?;
                self.ended = chunk.len() < self.chunk_size;
                if chunk.is_empty() {
                    return Ok(None);
                }
                chunk
            }
        };
        let dictionary = self.window.clone();
        self.window
            .extend_from_slice(&chunk[chunk.len().saturating_sub(WINDOW)..]);
        let excess = self.window.len().saturating_sub(WINDOW);
        self.window.drain(..excess);
        Ok(Some((dictionary, chunk)))
    }
}

/// A chunk's compressed bytes and what the stream's trailer needs of it.
struct DeflatedChunk {
    bytes: Vec<u8>,
    adler: u32,
    len: usize,
}

enum Job<'scope> {
    Done(DeflatedChunk),
    Running(ScopedJoinHandle<'scope, DeflatedChunk>),
}

impl Job<'_> {
    fn wait(self) -> DeflatedChunk {
        match self {
            Job::Done(chunk) => chunk,
            Job::Running(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }
}

/// Raw deflate of `chunk` after `dictionary`, ending in a sync flush.
fn deflate_chunk(dictionary: &[u8], chunk: &[u8]) -> DeflatedChunk {
    let mut compressor = PieceCompressor::new(false);
    if !dictionary.is_empty() {
        // Cannot fail on a fresh raw stream; without it the chunk would only compress worse.
        let _ = compressor.state.set_dictionary(dictionary);
    }
    let mut bytes = Vec::with_capacity(chunk.len() + chunk.len() / 1000 + 64);
    let mut pieces = chunk.chunks(DEFLATE_PIECE).peekable();
    while let Some(piece) = pieces.next() {
        let flush = if pieces.peek().is_some() {
            FlushCompress::None
        } else {
            FlushCompress::Sync
        };
        compressor.piece(piece, &mut bytes, flush);
    }
    DeflatedChunk {
        bytes,
        adler: adler32(1, chunk),
        len: chunk.len(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::compression::decompress;

    fn chunked(data: &[u8], threads: usize, chunk_size: usize, chunked_from: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let threads = NonZeroUsize::new(threads).expect("threads");
        let total = deflate_in_chunks(data, threads, chunk_size, chunked_from, &mut |bytes| {
            out.extend_from_slice(bytes);
            Ok(())
        })
        .expect("in memory");
        assert_eq!(total, data.len() as u64);
        out
    }

    /// Text with runs of noise, so chunks mix compressed and stored pieces.
    fn mixed(len: usize, seed: u64, noise_every: usize) -> Vec<u8> {
        let text = b"<Ntry><Amt Ccy=\"EUR\">12.34</Amt><AddtlNtryInf>Miete</AddtlNtryInf></Ntry>\n";
        let mut x = seed | 1;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if noise_every > 0 && (i / 5000) % noise_every == 0 {
                    (x >> 24) as u8
                } else {
                    text[(i + (x % 3) as usize) % text.len()]
                }
            })
            .collect()
    }

    #[test]
    fn short_input_is_one_ordinary_stream() {
        let data = mixed(100_000, 1, 0);
        assert_eq!(chunked(&data, 2, CHUNK_SIZE, CHUNKED_FROM), compress(&data));
    }

    #[test]
    fn a_chunked_stream_compresses_about_as_well_as_one_stream() {
        let data = mixed(3 * CHUNK_SIZE + 12_345, 2, 0);
        let one = compress(&data).len() as f64;
        let parallel = chunked(&data, 2, CHUNK_SIZE, CHUNKED_FROM);
        assert!(
            (parallel.len() as f64) < one * 1.01,
            "{} vs {one}",
            parallel.len()
        );
        assert_eq!(decompress(&parallel, 1 << 30).ok(), Some(data));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        #[test]
        fn chunked_streams_inflate_to_their_input_whatever_the_threads(
            len in 0usize..600_000,
            chunk_size in 1000usize..200_000,
            chunks_before in 0usize..4,
            noise_every in 0usize..4,
            seed in any::<u64>(),
        ) {
            let data = mixed(len, seed, noise_every);
            let chunked_from = chunk_size * chunks_before;
            let one = chunked(&data, 1, chunk_size, chunked_from);
            prop_assert_eq!(decompress(&one, 1 << 30).ok(), Some(data.clone()));
            // An inflater of its own (not zlib-rs) reads it as one stream too.
            prop_assert_eq!(
                miniz_oxide::inflate::decompress_to_vec_zlib(&one).ok(),
                Some(data.clone())
            );
            for threads in [2, 3] {
                prop_assert!(chunked(&data, threads, chunk_size, chunked_from) == one);
            }
        }
    }
}

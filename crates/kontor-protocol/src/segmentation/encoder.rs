//! The sending side as a stream: order data read from anywhere goes through compression,
//! E002 encryption and base64 into segments, with memory bounded by one segment plus the
//! compressor's chunks in flight (1 MiB in and out per thread), whatever the size of the file.
//!
//! Plaintext written in pieces ([`SegmentEncoder::write`]) is one deflate stream, whose bytes
//! do not depend on how the input is split; plaintext read to its end
//! ([`SegmentEncoder::read_from_parallel`], which [`super::segment_order_data`] and
//! [`super::stream_order_data`] use) is deflated in chunks on several threads when it is large
//! (see [`compression::deflate_reader`]), with bytes that do not depend on the threads either.
//! CBC encryption runs block by block, and each full segment is the base64 of exactly
//! `size / 4 * 3` ciphertext bytes, so only the last segment can carry `=` padding.
//!
//! Data moves through one buffer: the compressor appends to it, AES encrypts the whole blocks
//! in place, and base64 writes them straight into the segment text. A segment is handed to
//! the sink as soon as it is full and more data is known to follow, so `last` is always right
//! and the sink may take its text (`std::mem::take`) instead of copying it.

use std::io::{self, Read};
use std::num::NonZeroUsize;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::{Segment, SegmentSize};
use crate::compression::{self, Deflater};
use crate::encryption::{CbcEncryptor, TransactionKey};

/// How much plaintext one read takes: the compressor's piece, so nothing is copied twice.
const READ_CHUNK: usize = Deflater::PIECE;

/// What an encoded stream amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedSummary {
    /// The `NumSegments` value: segments handed to the sink.
    pub segments: u32,
    /// Total base64 length over all segments.
    pub encoded_len: usize,
    /// Plaintext bytes taken.
    pub plaintext_len: u64,
}

/// Compress → E002 (with a given transaction key) → base64 → segments, as a stream.
///
/// ```
/// # use kontor_protocol::encryption::TransactionKey;
/// # use kontor_protocol::segmentation::{SegmentEncoder, SegmentSize};
/// let key = TransactionKey::generate(&mut rand::rngs::OsRng);
/// let mut segments = Vec::new();
/// let mut encoder = SegmentEncoder::new(&key, SegmentSize::MAX, |segment| {
///     segments.push((segment.number, segment.last, std::mem::take(&mut segment.data)));
///     Ok(())
/// });
/// encoder.read_from(&b"<Document/>"[..])?;
/// let summary = encoder.finish()?;
/// assert_eq!(summary.segments, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SegmentEncoder<S> {
    deflater: Deflater,
    /// The plaintext length once a reader was compressed to the end of its stream.
    read_to_end: Option<u64>,
    cipher: CbcEncryptor,
    /// Compressed bytes; the first `encrypted` of them are already ciphertext.
    pending: Vec<u8>,
    encrypted: usize,
    segment: Segment,
    /// Ciphertext bytes encoded into the current segment.
    segment_raw: usize,
    size: SegmentSize,
    encoded_len: usize,
    sink: S,
}

impl<S> std::fmt::Debug for SegmentEncoder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentEncoder")
            .field("segment", &self.segment.number)
            .field("plaintext_len", &self.deflater.total_in())
            .finish_non_exhaustive()
    }
}

impl<S: FnMut(&mut Segment) -> io::Result<()>> SegmentEncoder<S> {
    /// An encoder that hands each finished segment to `sink`. The sink may take the segment's
    /// text; the encoder starts the next one in a fresh buffer then.
    pub fn new(key: &TransactionKey, size: SegmentSize, sink: S) -> Self {
        Self {
            deflater: Deflater::new(),
            read_to_end: None,
            cipher: CbcEncryptor::new(key),
            pending: Vec::with_capacity(READ_CHUNK + READ_CHUNK / 1000 + 64 * 1024),
            encrypted: 0,
            segment: Segment {
                number: 1,
                last: false,
                data: String::with_capacity(size.get()),
            },
            segment_raw: 0,
            size,
            encoded_len: 0,
            sink,
        }
    }

    /// Takes the next piece of plaintext.
    pub fn write(&mut self, plaintext: &[u8]) -> io::Result<()> {
        if self.read_to_end.is_some() {
            return Err(io::Error::other(
                "the order data was already read to its end",
            ));
        }
        self.deflater.write(plaintext, &mut self.pending);
        self.encrypt_and_encode()
    }

    /// [`SegmentEncoder::read_from_parallel`] on this thread alone.
    pub fn read_from<R: Read>(&mut self, reader: R) -> io::Result<u64> {
        self.read_from_parallel(reader, NonZeroUsize::MIN)
    }

    /// Takes all plaintext `reader` yields, compressed on up to `threads` threads (the bytes
    /// are the same for any number), and ends the compressed stream; returns its length.
    /// Nothing can be written after it.
    pub fn read_from_parallel<R: Read>(
        &mut self,
        reader: R,
        threads: NonZeroUsize,
    ) -> io::Result<u64> {
        if self.deflater.total_in() > 0 || self.read_to_end.is_some() {
            return self.write_all_from(reader);
        }
        let read = compression::deflate_reader(reader, threads, &mut |compressed| {
            self.pending.extend_from_slice(compressed);
            self.encrypt_and_encode()
        })?;
        self.read_to_end = Some(read);
        Ok(read)
    }

    /// Writes all plaintext `reader` yields into the stream begun by [`SegmentEncoder::write`],
    /// in pieces of 256 KiB.
    fn write_all_from<R: Read>(&mut self, mut reader: R) -> io::Result<u64> {
        let mut buffer = vec![0u8; READ_CHUNK];
        let mut total = 0u64;
        loop {
            // Fill the buffer completely (short reads are normal for pipes and sockets).
            let mut filled = 0;
            while filled < buffer.len() {
                match reader.read(&mut buffer[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            total += filled as u64;
            self.write(&buffer[..filled])?;
            if filled < buffer.len() {
                return Ok(total);
            }
        }
    }

    /// Ends the stream: the compressor's trailer, the E002 padding and the last segment.
    pub fn finish(mut self) -> io::Result<EncodedSummary> {
        let plaintext_len = match self.read_to_end {
            Some(read) => read,
            None => {
                self.deflater.finish(&mut self.pending);
                self.deflater.total_in()
            }
        };
        self.cipher.finish(&mut self.pending, self.encrypted);
        self.encrypted = self.pending.len();
        self.encode(true)?;
        self.segment.last = true;
        self.emit()?;
        Ok(EncodedSummary {
            segments: self.segment.number,
            encoded_len: self.encoded_len,
            plaintext_len,
        })
    }

    fn encrypt_and_encode(&mut self) -> io::Result<()> {
        self.encrypted += self
            .cipher
            .encrypt_blocks(&mut self.pending[self.encrypted..]);
        self.encode(false)
    }

    /// Moves ciphertext into segments; all of it at the end, else whole 3-byte groups.
    fn encode(&mut self, at_end: bool) -> io::Result<()> {
        let per_segment = self.size.raw_bytes();
        let mut start = 0;
        loop {
            let available = self.encrypted - start;
            if available == 0 {
                break;
            }
            if self.segment_raw == per_segment {
                // Full, and more follows: not the last one.
                self.emit()?;
                self.segment.number = self.segment.number.saturating_add(1);
            }
            let room = per_segment - self.segment_raw;
            let take = if available >= room {
                room
            } else if at_end {
                available
            } else {
                available / 3 * 3
            };
            if take == 0 {
                break;
            }
            STANDARD.encode_string(&self.pending[start..start + take], &mut self.segment.data);
            self.segment_raw += take;
            start += take;
        }
        self.pending.drain(..start);
        self.encrypted -= start;
        Ok(())
    }

    fn emit(&mut self) -> io::Result<()> {
        self.encoded_len += self.segment.data.len();
        (self.sink)(&mut self.segment)?;
        self.segment.data.clear();
        if self.segment.data.capacity() < self.size.get() {
            self.segment.data.reserve(self.size.get());
        }
        self.segment_raw = 0;
        Ok(())
    }
}

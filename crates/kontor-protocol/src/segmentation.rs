//! The EBICS order data pipeline: compress → encrypt (E002) → base64 → segments, and back.
//!
//! EBICS transfers order data in segments of at most 1 MB (1,048,576 bytes) of the
//! *compressed, encrypted and base64-encoded* text, numbered from 1; the last one carries
//! `lastSegment="true"` and the total count is announced up front (`NumSegments`).
//! Kontor cuts segments at multiples of 4 characters, so every segment is a complete run of
//! base64 quanta that decodes on its own.
//!
//! The sending side calls [`segment_order_data`] (client uploads, bank emulator downloads), or
//! for files of any size streams them with [`stream_order_data`] / [`SegmentEncoder`], which
//! hands out segments one by one with memory bounded by about one segment.
//! The receiving side either collects all segments and calls [`assemble_order_data`], or
//! feeds them one by one to a [`StreamingAssembler`], which writes the plaintext to a
//! caller-supplied `std::io::Write` with memory bounded by one segment — for statement
//! files of hundreds of megabytes.
//!
//! Received segments are checked strictly: numbers must run 1, 2, 3, … in the order the
//! segments arrive, exactly the last one carries the last flag, and a declared count must
//! match. Base64 text may contain whitespace (XML line wrapping); it is ignored. Segments
//! whose length is not a multiple of 4 are accepted too: the remainder carries over to the
//! next segment.

use std::io::Write;
use std::num::NonZeroUsize;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::{CryptoRng, RngCore};

mod encoder;

pub use encoder::{EncodedSummary, SegmentEncoder};

use crate::compression::{self, CompressionError, Inflater};
use crate::encryption::{self, CbcDecryptor, EncryptionError, TransactionKey};
use crate::keys::{PrivateKey, PublicKey};

/// The EBICS maximum segment size: 1 MB of base64 text.
pub const MAX_SEGMENT_SIZE: usize = 1_048_576;

/// Decoding accepts base64 with or without trailing padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Errors of segmenting and reassembling order data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentationError {
    #[error(
        "segment size must be a multiple of 4 between 4 and {MAX_SEGMENT_SIZE} bytes, got {0}"
    )]
    InvalidSegmentSize(usize),
    #[error("segment {0} is missing")]
    MissingSegment(u32),
    #[error("expected segment {expected}, got segment {found}")]
    UnexpectedSegment { expected: u32, found: u32 },
    #[error("segment {0} was received twice")]
    DuplicateSegment(u32),
    #[error("segment {0} follows the segment marked as last")]
    SegmentAfterLast(u32),
    #[error("{declared} segments were announced, but segment {actual} contradicts that")]
    SegmentCountMismatch { declared: u32, actual: u32 },
    #[error("segment {0} is the last announced segment but is not marked as last")]
    MissingLastFlag(u32),
    #[error("segment {segment} is not valid base64: {reason}")]
    InvalidBase64 { segment: u32, reason: String },
    #[error(transparent)]
    Encryption(#[from] EncryptionError),
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// Reading the order data or handing out a segment failed (streaming upload).
    #[error("streaming order data failed: {0}")]
    Stream(#[source] std::io::Error),
}

/// A segment size in bytes of base64 text: a multiple of 4, at most [`MAX_SEGMENT_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentSize(usize);

impl SegmentSize {
    /// The EBICS maximum, 1,048,576 bytes.
    pub const MAX: SegmentSize = SegmentSize(MAX_SEGMENT_SIZE);

    pub fn new(bytes: usize) -> Result<Self, SegmentationError> {
        if bytes == 0 || !bytes.is_multiple_of(4) || bytes > MAX_SEGMENT_SIZE {
            return Err(SegmentationError::InvalidSegmentSize(bytes));
        }
        Ok(Self(bytes))
    }

    pub fn get(self) -> usize {
        self.0
    }

    /// Ciphertext bytes that encode to exactly one full segment.
    fn raw_bytes(self) -> usize {
        self.0 / 4 * 3
    }
}

impl Default for SegmentSize {
    fn default() -> Self {
        Self::MAX
    }
}

/// One transferred segment: its number (from 1), the last flag and the base64 text.
#[derive(Clone, PartialEq, Eq)]
pub struct Segment {
    pub number: u32,
    pub last: bool,
    pub data: String,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("number", &self.number)
            .field("last", &self.last)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// `NumSegments` for base64 text of `encoded_len` bytes at `size`; at least 1.
pub fn segment_count_with(encoded_len: usize, size: SegmentSize) -> u32 {
    u32::try_from(encoded_len.div_ceil(size.get()).max(1)).unwrap_or(u32::MAX)
}

/// Splits base64 text into numbered segments of at most `size` bytes.
pub fn split_encoded(encoded: &str, size: SegmentSize) -> Result<Vec<Segment>, SegmentationError> {
    let chunks: Vec<&[u8]> = if encoded.is_empty() {
        vec![&[][..]]
    } else {
        encoded.as_bytes().chunks(size.get()).collect()
    };
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let number = segment_number(index);
            let data = String::from_utf8(chunk.to_vec()).map_err(|_| {
                SegmentationError::InvalidBase64 {
                    segment: number,
                    reason: "not ASCII".to_owned(),
                }
            })?;
            Ok(Segment {
                number,
                last: index + 1 == count,
                data,
            })
        })
        .collect()
}

fn segment_number(index: usize) -> u32 {
    u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(1))
}

/// Order data ready to send: the transaction key (reuse it for the signature data of the
/// same upload via [`encode_with_key`]), that key encrypted for the recipient, and the
/// segments.
#[derive(Debug)]
pub struct SegmentedOrderData {
    pub transaction_key: TransactionKey,
    pub encrypted_transaction_key: Vec<u8>,
    pub segments: Vec<Segment>,
    /// Total base64 length over all segments.
    pub encoded_len: usize,
}

impl SegmentedOrderData {
    /// The `NumSegments` value.
    pub fn num_segments(&self) -> u32 {
        u32::try_from(self.segments.len()).unwrap_or(u32::MAX)
    }
}

/// Compresses, encrypts for `recipient`, base64-encodes and segments `order_data`.
/// Compression runs on up to `threads` threads (see [`compression::deflate_reader`]).
pub fn segment_order_data<R: CryptoRng + RngCore>(
    recipient: &PublicKey,
    order_data: &[u8],
    size: SegmentSize,
    threads: NonZeroUsize,
    rng: &mut R,
) -> Result<SegmentedOrderData, SegmentationError> {
    let mut segments = Vec::new();
    let streamed = stream_order_data(recipient, order_data, size, threads, rng, |segment| {
        segments.push(Segment {
            number: segment.number,
            last: segment.last,
            data: std::mem::take(&mut segment.data),
        });
        Ok(())
    })?;
    Ok(SegmentedOrderData {
        transaction_key: streamed.transaction_key,
        encrypted_transaction_key: streamed.encrypted_transaction_key,
        segments,
        encoded_len: streamed.summary.encoded_len,
    })
}

/// What [`stream_order_data`] returns besides the segments it handed out.
#[derive(Debug)]
pub struct StreamedOrderData {
    /// Reuse it for the signature data of the same upload via [`encode_with_key`].
    pub transaction_key: TransactionKey,
    pub encrypted_transaction_key: Vec<u8>,
    pub summary: EncodedSummary,
}

/// Like [`segment_order_data`] for order data of any size: reads `order_data` to its end and
/// hands each segment to `sink` as soon as it is complete (number, last flag, text; the sink
/// may take the text). Compression runs on up to `threads` threads; memory stays at about one
/// segment plus a 1 MiB chunk in and out per thread (see [`compression::deflate_reader`]).
///
/// `NumSegments` is known only at the end (`summary.segments`): a sender that announces it
/// up front spools the segments first.
pub fn stream_order_data<R, S, G>(
    recipient: &PublicKey,
    order_data: R,
    size: SegmentSize,
    threads: NonZeroUsize,
    rng: &mut G,
    sink: S,
) -> Result<StreamedOrderData, SegmentationError>
where
    R: std::io::Read,
    S: FnMut(&mut Segment) -> std::io::Result<()>,
    G: CryptoRng + RngCore,
{
    let transaction_key = TransactionKey::generate(rng);
    let encrypted_transaction_key = transaction_key.encrypt_for(recipient)?;
    let mut encoder = SegmentEncoder::new(&transaction_key, size, sink);
    encoder
        .read_from_parallel(order_data, threads)
        .map_err(SegmentationError::Stream)?;
    let summary = encoder.finish().map_err(SegmentationError::Stream)?;
    Ok(StreamedOrderData {
        transaction_key,
        encrypted_transaction_key,
        summary,
    })
}

/// Compress → encrypt with `key` → base64, in one piece. This is the form of
/// `SignatureData` (the user signature XML) and of order data sent without segmentation.
pub fn encode_with_key(key: &TransactionKey, data: &[u8]) -> String {
    STANDARD.encode(encryption::encrypt_with_key(
        key,
        &compression::compress(data),
    ))
}

/// Reverses [`encode_with_key`]; `limit` bounds the decompressed size.
pub fn decode_with_key(
    key: &TransactionKey,
    encoded: &str,
    limit: u64,
) -> Result<Vec<u8>, SegmentationError> {
    let mut decoder = Base64Chunks::default();
    let mut ciphertext = Vec::with_capacity(encoded.len() / 4 * 3);
    decoder.decode(1, encoded, &mut ciphertext)?;
    decoder.finish(&mut ciphertext)?;
    let compressed = encryption::decrypt_with_key(key, &ciphertext)?;
    Ok(compression::decompress(&compressed, limit)?)
}

/// Checks the segment sequence and returns the base64-decoded ciphertext.
pub fn reassemble(
    segments: &[Segment],
    declared_count: Option<u32>,
) -> Result<Vec<u8>, SegmentationError> {
    let mut sequence = SegmentSequence::new(declared_count);
    for segment in segments {
        sequence.accept(segment.number, segment.last)?;
    }
    sequence.finish()?;

    let mut decoder = Base64Chunks::default();
    let mut ciphertext = Vec::with_capacity(segments.iter().map(|s| s.data.len() / 4 * 3).sum());
    for segment in segments {
        decoder.decode(segment.number, &segment.data, &mut ciphertext)?;
    }
    decoder.finish(&mut ciphertext)?;
    Ok(ciphertext)
}

/// Reassembles, decrypts with the own E002 key and decompresses received order data held
/// in memory. `limit` bounds the decompressed size.
pub fn assemble_order_data(
    own_key: &PrivateKey,
    encrypted_transaction_key: &[u8],
    segments: &[Segment],
    declared_count: Option<u32>,
    limit: u64,
) -> Result<Vec<u8>, SegmentationError> {
    let ciphertext = reassemble(segments, declared_count)?;
    let compressed = encryption::decrypt(own_key, encrypted_transaction_key, &ciphertext)?;
    drop(ciphertext);
    Ok(compression::decompress(&compressed, limit)?)
}

/// Receives segments one at a time, in order, and writes the decrypted, decompressed order
/// data to `sink` as it goes. Memory stays bounded by about one segment.
///
/// Data written to the sink before [`StreamingAssembler::finish`] succeeds is *unverified*:
/// only `finish` checks completeness, padding and the zlib checksum. Write to a temporary
/// place and commit it after `finish`.
pub struct StreamingAssembler<W: Write> {
    sequence: SegmentSequence,
    base64: Base64Chunks,
    decryptor: CbcDecryptor,
    inflater: Inflater,
    ciphertext: Vec<u8>,
    compressed: Vec<u8>,
    sink: W,
}

impl<W: Write> std::fmt::Debug for StreamingAssembler<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingAssembler")
            .field("next_segment", &self.sequence.next)
            .field("plaintext_len", &self.inflater.total_out())
            .finish_non_exhaustive()
    }
}

/// What a successful [`StreamingAssembler::finish`] returns.
#[derive(Debug)]
pub struct AssembledStream<W> {
    pub sink: W,
    pub segments: u32,
    pub plaintext_len: u64,
}

impl<W: Write> StreamingAssembler<W> {
    /// Decrypts the transaction key right away, so a wrong key fails before any segment.
    pub fn new(
        own_key: &PrivateKey,
        encrypted_transaction_key: &[u8],
        declared_count: Option<u32>,
        limit: u64,
        sink: W,
    ) -> Result<Self, SegmentationError> {
        let key = TransactionKey::decrypt_from(own_key, encrypted_transaction_key)?;
        Ok(Self::with_key(&key, declared_count, limit, sink))
    }

    /// Like [`StreamingAssembler::new`] with an already decrypted transaction key.
    pub fn with_key(
        key: &TransactionKey,
        declared_count: Option<u32>,
        limit: u64,
        sink: W,
    ) -> Self {
        Self {
            sequence: SegmentSequence::new(declared_count),
            base64: Base64Chunks::default(),
            decryptor: CbcDecryptor::new(key),
            inflater: Inflater::new(limit),
            ciphertext: Vec::new(),
            compressed: Vec::new(),
            sink,
        }
    }

    /// Accepts the next segment.
    pub fn push(&mut self, segment: &Segment) -> Result<(), SegmentationError> {
        self.push_parts(segment.number, segment.last, &segment.data)
    }

    /// Accepts the next segment given as its parts (e.g. straight from parsed XML).
    pub fn push_parts(
        &mut self,
        number: u32,
        last: bool,
        data: &str,
    ) -> Result<(), SegmentationError> {
        self.sequence.accept(number, last)?;
        self.ciphertext.clear();
        self.base64.decode(number, data, &mut self.ciphertext)?;
        self.process_ciphertext()
    }

    /// Accepts the next segment as the ciphertext its base64 text decodes to, e.g. read back
    /// from a spool that stored segments decoded as they arrived. Do not mix with
    /// [`StreamingAssembler::push_parts`] in one stream: a base64 remainder carried over
    /// from text would be lost.
    pub fn push_ciphertext(
        &mut self,
        number: u32,
        last: bool,
        ciphertext: &[u8],
    ) -> Result<(), SegmentationError> {
        self.sequence.accept(number, last)?;
        self.compressed.clear();
        self.decryptor.update(ciphertext, &mut self.compressed);
        self.inflater.write(&self.compressed, &mut self.sink)?;
        Ok(())
    }

    fn process_ciphertext(&mut self) -> Result<(), SegmentationError> {
        self.compressed.clear();
        self.decryptor
            .update(&self.ciphertext, &mut self.compressed);
        self.inflater.write(&self.compressed, &mut self.sink)?;
        Ok(())
    }

    /// Checks completeness, removes the padding, checks the end of the zlib stream and
    /// flushes the sink.
    pub fn finish(mut self) -> Result<AssembledStream<W>, SegmentationError> {
        let segments = self.sequence.finish()?;
        self.ciphertext.clear();
        self.base64.finish(&mut self.ciphertext)?;
        self.process_ciphertext()?;
        self.compressed.clear();
        self.decryptor.finish(&mut self.compressed)?;
        self.inflater.write(&self.compressed, &mut self.sink)?;
        let plaintext_len = self.inflater.finish()?;
        self.sink
            .flush()
            .map_err(|e| SegmentationError::Compression(CompressionError::Sink(e)))?;
        Ok(AssembledStream {
            sink: self.sink,
            segments,
            plaintext_len,
        })
    }
}

/// The order checks shared by both reassembly paths.
#[derive(Debug)]
struct SegmentSequence {
    declared: Option<u32>,
    next: u32,
    seen_last: bool,
}

impl SegmentSequence {
    fn new(declared: Option<u32>) -> Self {
        Self {
            declared,
            next: 1,
            seen_last: false,
        }
    }

    fn accept(&mut self, number: u32, last: bool) -> Result<(), SegmentationError> {
        if self.seen_last {
            return Err(SegmentationError::SegmentAfterLast(number));
        }
        if number != 0 && number < self.next {
            return Err(SegmentationError::DuplicateSegment(number));
        }
        if number != self.next {
            return Err(SegmentationError::UnexpectedSegment {
                expected: self.next,
                found: number,
            });
        }
        if let Some(declared) = self.declared {
            if number > declared || (last && number != declared) {
                return Err(SegmentationError::SegmentCountMismatch {
                    declared,
                    actual: number,
                });
            }
            if number == declared && !last {
                return Err(SegmentationError::MissingLastFlag(number));
            }
        }
        self.next = self.next.saturating_add(1);
        self.seen_last = last;
        Ok(())
    }

    /// Returns the number of segments received.
    fn finish(&self) -> Result<u32, SegmentationError> {
        if self.seen_last {
            Ok(self.next - 1)
        } else {
            Err(SegmentationError::MissingSegment(self.next))
        }
    }
}

/// Decodes base64 that arrives in pieces, skipping whitespace and carrying incomplete
/// 4-character quanta over to the next piece.
#[derive(Debug, Default)]
struct Base64Chunks {
    carry: Vec<u8>,
    last_segment: u32,
}

impl Base64Chunks {
    fn decode(
        &mut self,
        segment: u32,
        text: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), SegmentationError> {
        self.last_segment = segment;
        let mut chars = std::mem::take(&mut self.carry);
        chars.reserve(text.len());
        chars.extend(text.bytes().filter(|b| !b.is_ascii_whitespace()));
        let complete = chars.len() / 4 * 4;
        LENIENT_BASE64
            .decode_vec(&chars[..complete], out)
            .map_err(|e| SegmentationError::InvalidBase64 {
                segment,
                reason: e.to_string(),
            })?;
        chars.drain(..complete);
        self.carry = chars;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), SegmentationError> {
        if self.carry.is_empty() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.carry);
        LENIENT_BASE64
            .decode_vec(&rest, out)
            .map_err(|e| SegmentationError::InvalidBase64 {
                segment: self.last_segment,
                reason: e.to_string(),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(number: u32, last: bool) -> Segment {
        Segment {
            number,
            last,
            data: String::new(),
        }
    }

    fn check(segments: &[Segment], declared: Option<u32>) -> Result<u32, SegmentationError> {
        let mut sequence = SegmentSequence::new(declared);
        for s in segments {
            sequence.accept(s.number, s.last)?;
        }
        sequence.finish()
    }

    #[test]
    fn in_order_segments_are_accepted() {
        assert_eq!(check(&[seg(1, true)], Some(1)).ok(), Some(1));
        assert_eq!(
            check(&[seg(1, false), seg(2, false), seg(3, true)], None).ok(),
            Some(3)
        );
    }

    /// Each broken sequence with its error, named by its text (one text a variant).
    #[test]
    fn sequence_violations_have_specific_errors() {
        let cases: [(&[Segment], Option<u32>, &str); 8] = [
            (&[], None, "segment 1 is missing"),
            (
                &[seg(1, false), seg(3, true)],
                None,
                "expected segment 2, got segment 3",
            ),
            (
                &[seg(1, false), seg(1, false)],
                None,
                "segment 1 was received twice",
            ),
            (&[seg(0, true)], None, "expected segment 1, got segment 0"),
            (
                &[seg(1, true), seg(2, true)],
                None,
                "segment 2 follows the segment marked as last",
            ),
            (
                &[seg(1, false), seg(2, true)],
                Some(3),
                "3 segments were announced, but segment 2 contradicts that",
            ),
            (
                &[seg(1, false)],
                Some(1),
                "segment 1 is the last announced segment but is not marked as last",
            ),
            (
                &[seg(1, false), seg(2, false)],
                Some(3),
                "segment 3 is missing",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(segments, declared, expected)| {
                let got = check(segments, *declared).map_err(|e| e.to_string());
                let sent: Vec<(u32, bool)> = segments.iter().map(|s| (s.number, s.last)).collect();
                (got.as_ref().err().map(String::as_str) != Some(*expected))
                    .then(|| format!("{sent:?} of {declared:?}: {got:?}, expected {expected}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn decoded_segments_stream_like_their_base64_text() {
        let key = TransactionKey::generate(&mut rand::rngs::OsRng);
        let data: Vec<u8> = (0..20_000u32).flat_map(|n| n.to_le_bytes()).collect();
        let ciphertext = encryption::encrypt_with_key(&key, &compression::compress(&data));
        let chunks: Vec<&[u8]> = ciphertext.chunks(1000).collect();
        let mut assembler =
            StreamingAssembler::with_key(&key, Some(chunks.len() as u32), 1 << 20, Vec::new());
        for (index, chunk) in chunks.iter().enumerate() {
            let number = index as u32 + 1;
            assert!(assembler
                .push_ciphertext(number, index + 1 == chunks.len(), chunk)
                .is_ok());
        }
        let done = assembler.finish().map_err(|e| e.to_string());
        assert_eq!(done.map(|d| d.sink), Ok(data));
    }

    #[test]
    fn base64_pieces_may_split_anywhere_and_contain_whitespace() {
        let data: Vec<u8> = (0..=255u8).collect();
        let encoded = STANDARD.encode(&data);
        for split in 0..encoded.len() {
            let mut decoder = Base64Chunks::default();
            let mut out = Vec::new();
            let (a, b) = encoded.split_at(split);
            let wrapped = format!("{a}\r\n ");
            assert!(decoder.decode(1, &wrapped, &mut out).is_ok());
            assert!(decoder.decode(2, b, &mut out).is_ok());
            assert!(decoder.finish(&mut out).is_ok());
            assert_eq!(out, data);
        }
    }

    #[test]
    fn separately_padded_segments_decode() {
        // Some senders base64-encode each segment on its own, with padding.
        let mut decoder = Base64Chunks::default();
        let mut out = Vec::new();
        assert!(decoder.decode(1, &STANDARD.encode(b"ab"), &mut out).is_ok());
        assert!(decoder
            .decode(2, &STANDARD.encode(b"cde"), &mut out)
            .is_ok());
        assert!(decoder.finish(&mut out).is_ok());
        assert_eq!(out, b"abcde");
    }

    #[test]
    fn segment_size_must_be_a_multiple_of_four_within_the_limit() {
        assert!(SegmentSize::new(4).is_ok());
        assert!(SegmentSize::new(MAX_SEGMENT_SIZE).is_ok());
        for bad in [0, 3, 6, MAX_SEGMENT_SIZE + 4] {
            assert!(SegmentSize::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segment_count_rounds_up_and_is_at_least_one() {
        assert_eq!(segment_count_with(0, SegmentSize::MAX), 1);
        assert_eq!(segment_count_with(1, SegmentSize::MAX), 1);
        assert_eq!(segment_count_with(MAX_SEGMENT_SIZE, SegmentSize::MAX), 1);
        assert_eq!(
            segment_count_with(MAX_SEGMENT_SIZE + 1, SegmentSize::MAX),
            2
        );
        assert_eq!(
            segment_count_with(3 * MAX_SEGMENT_SIZE, SegmentSize::MAX),
            3
        );
    }

    #[test]
    fn split_encoded_marks_only_the_final_segment_last() {
        let size = SegmentSize::new(8).expect("valid size");
        let segments = split_encoded("AAAABBBBCCCCDDDD", size).expect("ascii");
        assert_eq!(segments.len(), 2);
        assert_eq!((segments[0].number, segments[0].last), (1, false));
        assert_eq!((segments[1].number, segments[1].last), (2, true));
        assert_eq!(split_encoded("", size).expect("ascii").len(), 1);
    }
}

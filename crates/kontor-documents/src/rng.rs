//! A tiny, fully specified pseudo-random generator (SplitMix64).
//!
//! Generated ledgers must be byte-identical for a seed forever, across platforms and dependency
//! upgrades; `rand`'s `StdRng` and its distributions explicitly do not promise that. SplitMix64
//! with integer-only sampling does.

pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose stream depends on every part (order-sensitive).
    pub(crate) fn from_parts(parts: &[u64]) -> SplitMix64 {
        let mut state = 0x6B6F_6E74_6F72_2D31; // "kontor-1"
        for part in parts {
            state = finalize(state ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        SplitMix64(state)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        finalize(self.0)
    }

    /// Uniform-enough integer in `0..n` (multiply-high; `n == 0` yields 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Integer in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `len` random characters from `alphabet`.
    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }
}

fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, a stable hash for turning strings (IBANs) into seed parts.
pub(crate) fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: [u64; 4] = [640, 814, 205, 271];
    const PINNED_HASH: u64 = 1_396_309_749_520_837_641;

    #[test]
    fn stream_is_pinned_for_a_seed() {
        // Changing the generator would silently change every generated document.
        let mut rng = SplitMix64::from_parts(&[42]);
        let first: Vec<u64> = (0..4).map(|_| rng.below(1000)).collect();
        assert_eq!(first, PINNED);
        assert_eq!(stable_hash("DE89370400440532013000"), PINNED_HASH);
        assert_ne!(
            SplitMix64::from_parts(&[42, 1]).next_u64(),
            SplitMix64::from_parts(&[1, 42]).next_u64()
        );
    }

    #[test]
    fn range_stays_within_bounds() {
        let mut rng = SplitMix64::from_parts(&[7]);
        for _ in 0..10_000 {
            let v = rng.range(5, 9);
            assert!((5..=9).contains(&v));
        }
        assert_eq!(rng.below(0), 0);
    }
}

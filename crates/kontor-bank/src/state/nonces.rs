//! Replay protection for signed requests: Nonce + Timestamp.
//!
//! A request is accepted only if its timestamp lies within `tolerance` of the bank clock (both
//! directions) and its nonce was not seen before. Nonces only need remembering as long as their
//! timestamp is inside the window: a replay of an older message fails the timestamp check
//! anyway. So memory is bounded by the request rate times twice the tolerance.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::ids::Nonce;
use crate::return_codes::ReturnCode;

/// Why a nonce/timestamp pair was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("nonce {0} was already used")]
    NonceReplayed(Nonce),
    #[error("timestamp {timestamp} is more than {tolerance_secs} s before the bank clock ({now})")]
    TimestampTooOld {
        timestamp: DateTime<Utc>,
        now: DateTime<Utc>,
        tolerance_secs: i64,
    },
    #[error("timestamp {timestamp} is more than {tolerance_secs} s after the bank clock ({now})")]
    TimestampInFuture {
        timestamp: DateTime<Utc>,
        now: DateTime<Utc>,
        tolerance_secs: i64,
    },
}

impl ReplayError {
    /// EBICS answers all of these with EBICS_TX_MESSAGE_REPLAY.
    pub fn return_code(&self) -> ReturnCode {
        ReturnCode::TX_MESSAGE_REPLAY
    }
}

/// Nonces seen within the tolerance window.
#[derive(Debug, Clone)]
pub struct NonceCache {
    tolerance: Duration,
    seen: HashSet<Nonce>,
    by_time: BTreeSet<(DateTime<Utc>, Nonce)>,
}

impl NonceCache {
    /// A cache accepting timestamps within `tolerance` of the bank clock.
    pub fn new(tolerance: Duration) -> Self {
        Self {
            tolerance,
            seen: HashSet::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// Checks a request's nonce and timestamp and, if accepted, remembers the nonce.
    pub fn check_and_record(
        &mut self,
        nonce: Nonce,
        timestamp: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), ReplayError> {
        let tolerance_secs = self.tolerance.num_seconds();
        if timestamp < now - self.tolerance {
            return Err(ReplayError::TimestampTooOld {
                timestamp,
                now,
                tolerance_secs,
            });
        }
        if timestamp > now + self.tolerance {
            return Err(ReplayError::TimestampInFuture {
                timestamp,
                now,
                tolerance_secs,
            });
        }
        self.prune(now);
        if !self.seen.insert(nonce) {
            return Err(ReplayError::NonceReplayed(nonce));
        }
        self.by_time.insert((timestamp, nonce));
        Ok(())
    }

    /// Forgets nonces whose timestamp fell out of the window.
    fn prune(&mut self, now: DateTime<Utc>) {
        let horizon = now - self.tolerance;
        while let Some(&(ts, nonce)) = self.by_time.first() {
            if ts >= horizon {
                break;
            }
            self.by_time.pop_first();
            self.seen.remove(&nonce);
        }
    }

    /// Number of remembered nonces.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(n: u8) -> Nonce {
        Nonce::from_bytes([n; 16])
    }

    fn cache() -> NonceCache {
        NonceCache::new(Duration::seconds(300))
    }

    #[test]
    fn a_fresh_nonce_is_accepted_once() {
        let mut c = cache();
        let now = Utc::now();
        assert_eq!(c.check_and_record(nonce(1), now, now), Ok(()));
        assert_eq!(
            c.check_and_record(nonce(1), now, now),
            Err(ReplayError::NonceReplayed(nonce(1)))
        );
        assert_eq!(c.check_and_record(nonce(2), now, now), Ok(()));
    }

    #[test]
    fn a_replayed_nonce_with_a_new_timestamp_is_still_rejected_inside_the_window() {
        let mut c = cache();
        let now = Utc::now();
        c.check_and_record(nonce(1), now - Duration::seconds(100), now)
            .expect("fresh");
        let later = now + Duration::seconds(60);
        assert!(matches!(
            c.check_and_record(nonce(1), later, later),
            Err(ReplayError::NonceReplayed(_))
        ));
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_rejected() {
        let mut c = cache();
        let now = Utc::now();
        assert!(matches!(
            c.check_and_record(nonce(1), now - Duration::seconds(301), now),
            Err(ReplayError::TimestampTooOld { .. })
        ));
        assert!(matches!(
            c.check_and_record(nonce(2), now + Duration::seconds(301), now),
            Err(ReplayError::TimestampInFuture { .. })
        ));
        assert_eq!(
            c.check_and_record(nonce(3), now - Duration::seconds(300), now),
            Ok(()),
            "boundary is inclusive"
        );
        assert!(c.len() == 1, "rejected requests leave no nonce behind");
    }

    #[test]
    fn replaying_an_old_message_after_the_window_fails_on_its_timestamp() {
        let mut c = cache();
        let t0 = Utc::now();
        c.check_and_record(nonce(1), t0, t0).expect("fresh");
        let much_later = t0 + Duration::seconds(1000);
        c.prune(much_later);
        assert!(c.is_empty(), "old nonces are forgotten");
        assert!(matches!(
            c.check_and_record(nonce(1), t0, much_later),
            Err(ReplayError::TimestampTooOld { .. })
        ));
    }

    #[test]
    fn memory_stays_bounded_by_the_window() {
        let mut c = cache();
        let t0 = Utc::now();
        for i in 0..1000u32 {
            let now = t0 + Duration::seconds(i64::from(i));
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            c.check_and_record(Nonce::from_bytes(bytes), now, now)
                .expect("unique");
        }
        assert!(
            c.len() <= 302,
            "only nonces of the last 300 s are kept, got {}",
            c.len()
        );
    }
}

//! The in-flight body budget: the bytes of REST request bodies held at
//! once, across every request. A body takes its share before it is read
//! (its `Content-Length`) or as it arrives (a chunked body, frame by
//! frame) and keeps it until its call is answered; a body that does not
//! fit is refused at once with UNAVAILABLE and `Retry-After` (503), so
//! many large uploads at once cannot grow memory without bound (one larger
//! than the whole budget gets 413).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::transcode::error::HttpError;
use crate::transcode::interceptor::unavailable_for;

/// The bytes of request bodies the gateway holds at once unless told
/// otherwise: 32 MiB.
pub const DEFAULT_MAX_IN_FLIGHT_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What a refused body is told to wait before retrying.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The shared budget; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    limit: usize,
}

/// A body's share of the budget, given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct BodyShare {
    permit: Option<OwnedSemaphorePermit>,
}

impl BodyBudget {
    /// A budget of `limit` bytes (at most what a semaphore can count).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.min(Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Adds `bytes` to `share`, or refuses the body when they do not fit.
    pub(crate) fn take(&self, share: &mut BodyShare, bytes: usize) -> Result<(), HttpError> {
        if bytes == 0 {
            return Ok(());
        }
        // A body the whole budget cannot hold would never fit: 413.
        let permits = u32::try_from(bytes)
            .ok()
            .filter(|_| bytes <= self.limit)
            .ok_or_else(|| HttpError::payload_too_large(self.limit))?;
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(permits)
            .map_err(|_| self.refused())?;
        match &mut share.permit {
            Some(held) => held.merge(permit),
            None => share.permit = Some(permit),
        }
        Ok(())
    }

    fn refused(&self) -> HttpError {
        let what = format!(
            "the server holds as many request bodies as it can ({} bytes)",
            self.limit
        );
        unavailable_for(&what, RETRY_AFTER).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_share_the_budget_until_their_shares_are_dropped() {
        // (bytes taken by earlier bodies, still held; the next body's bytes,
        // its answer: fits, or the HTTP status refusing it)
        let cases: [(&[usize], usize, Result<(), u16>); 7] = [
            (&[], 100, Ok(())),
            (&[], 101, Err(413)),
            (&[60], 40, Ok(())),
            (&[60], 41, Err(503)),
            (&[60], 101, Err(413)),
            (&[50, 50], 1, Err(503)),
            (&[50, 50], 0, Ok(())),
        ];
        for (held, next, expected) in cases {
            let budget = BodyBudget::new(100);
            let shares: Vec<BodyShare> = held
                .iter()
                .map(|bytes| {
                    let mut share = BodyShare::default();
                    budget.take(&mut share, *bytes).expect("fits");
                    share
                })
                .collect();
            let mut share = BodyShare::default();
            let answer = budget
                .take(&mut share, next)
                .map_err(|error| error.http_status().as_u16());
            assert_eq!(answer, expected, "{next} after {held:?}");
            drop((shares, share));
            let mut again = BodyShare::default();
            assert!(budget.take(&mut again, next.min(100)).is_ok(), "given back");
        }
    }

    #[test]
    fn a_share_grows_frame_by_frame() {
        let budget = BodyBudget::new(100);
        let mut share = BodyShare::default();
        for _ in 0..10 {
            budget.take(&mut share, 10).unwrap();
        }
        assert!(budget.take(&mut BodyShare::default(), 1).is_err());
        drop(share);
        assert!(budget.take(&mut BodyShare::default(), 100).is_ok());
    }
}

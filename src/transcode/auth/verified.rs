//! Tokens already verified, so a client that sends the same token on every
//! call pays for its signature and claims once: the exact token text →
//! who it names and when it is valid. A hit is still checked against the
//! clock (`exp`, `nbf`, with the leeway); a token that fails anything is
//! never kept. Bounded: when full, it starts over. Each reading of the keys
//! has its own (the verifier's `Generation`), so a rotated-out key's tokens
//! fail at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::Principal;

/// How many verified tokens are kept at most.
const CAPACITY: usize = 4096;

/// When a verified token may be used, in seconds since the epoch, the
/// leeway already applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) from: u64,
    pub(crate) until: u64,
}

impl Validity {
    fn covers(self, now: u64) -> bool {
        (self.from..=self.until).contains(&now)
    }
}

/// The verified tokens.
#[derive(Debug, Default)]
pub(crate) struct VerifiedTokens {
    entries: RwLock<HashMap<Arc<str>, (Principal, Validity)>>,
}

impl VerifiedTokens {
    /// Who `token` names, if it was verified and is valid at `now`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Principal> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (principal, validity) = entries.get(token)?;
        validity.covers(now).then(|| principal.clone())
    }

    pub(crate) fn insert(&self, token: &str, principal: Principal, validity: Validity) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.into(), (principal, validity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_token_is_used_only_while_valid_and_the_store_stays_bounded() {
        let tokens = VerifiedTokens::default();
        let ada = Principal::new("ada", []);
        tokens.insert(
            "t",
            ada.clone(),
            Validity {
                from: 100,
                until: 200,
            },
        );
        let cases = [(99, None), (100, Some(&ada)), (200, Some(&ada)), (201, None)];
        for (now, expected) in cases {
            assert_eq!(tokens.get("t", now).as_ref(), expected, "at {now}");
        }
        assert_eq!(tokens.get("other", 150), None);
        for n in 0..CAPACITY + 10 {
            tokens.insert(&n.to_string(), ada.clone(), Validity { from: 0, until: 1 });
        }
        assert!(tokens.entries.read().unwrap().len() <= CAPACITY);
        assert_eq!(tokens.get(&(CAPACITY + 9).to_string(), 0).as_ref(), Some(&ada));
    }
}

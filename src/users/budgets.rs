//! The memory budgets of the users domain: how many bytes a `ListUsers`
//! page may hold, how many bytes of messages a stream buffers ahead of a
//! slow reader, and how long it waits on a reader that takes nothing.

use std::time::Duration;

/// Budgets of a [`UserDirectory`](super::UserDirectory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budgets {
    /// The encoded bytes of a `ListUsers` page's users; a page stops before
    /// the user that would pass it (but always holds one).
    pub(crate) max_page_bytes: usize,
    /// The encoded bytes of messages a stream buffers for its reader.
    pub(crate) stream_send_bytes: usize,
    /// How long a stream waits for its reader to take a message.
    pub(crate) stream_idle_timeout: Duration,
}

/// What a `ListUsersResponse` holds besides its users: the token and the
/// total, with room to spare.
const PAGE_OVERHEAD_BYTES: usize = 1024;

impl Budgets {
    /// These budgets, with pages that fit in a gRPC message of
    /// `max_message_bytes`.
    pub(crate) fn fitting_messages_of(mut self, max_message_bytes: usize) -> Self {
        let room = max_message_bytes.saturating_sub(PAGE_OVERHEAD_BYTES);
        self.max_page_bytes = self.max_page_bytes.min(room);
        self
    }
}

/// How many of a page's rows to answer with: at most `limit`, and no more
/// than fit in `max_bytes` (by their `sizes`, framed as repeated fields),
/// but always the first.
pub(crate) fn rows_that_fit(sizes: impl IntoIterator<Item = usize>, limit: usize, max_bytes: usize) -> usize {
    let mut total: usize = 0;
    let mut kept = 0;
    for size in sizes.into_iter().take(limit) {
        let framed = 1 + prost::length_delimiter_len(size) + size;
        total = total.saturating_add(framed);
        if kept > 0 && total > max_bytes {
            break;
        }
        kept += 1;
    }
    kept
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_page_bytes: 4 * 1024 * 1024,
            stream_send_bytes: 256 * 1024,
            stream_idle_timeout: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_the_rows_that_fit_and_always_its_first() {
        // (row sizes, limit, max bytes, rows kept); a 10-byte row takes 12
        let cases: [(&[usize], usize, usize, usize); 8] = [
            (&[], 5, 100, 0),
            (&[10, 10, 10], 5, 100, 3),
            (&[10, 10, 10], 2, 100, 2),
            (&[10, 10, 10], 5, 24, 2),
            (&[10, 10, 10], 5, 23, 1),
            (&[10, 10, 10], 5, 0, 1),
            (&[500, 10], 5, 100, 1),
            (&[10, 500, 10], 5, 100, 1),
        ];
        for (sizes, limit, max_bytes, kept) in cases {
            assert_eq!(
                rows_that_fit(sizes.iter().copied(), limit, max_bytes),
                kept,
                "{sizes:?} {limit} {max_bytes}"
            );
        }
    }

    #[test]
    fn pages_fit_in_a_grpc_message() {
        // (max page bytes, max message bytes, the page's budget)
        let cases = [
            (4_000_000, 4_194_304, 4_000_000),
            (8_000_000, 4_194_304, 4_193_280),
            (100, 0, 0),
        ];
        for (page, message, expected) in cases {
            let budgets = Budgets {
                max_page_bytes: page,
                ..Budgets::default()
            };
            assert_eq!(
                budgets.fitting_messages_of(message).max_page_bytes,
                expected,
                "{page} {message}"
            );
        }
    }
}

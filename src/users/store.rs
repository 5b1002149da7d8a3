//! The storage seam of the user domain: what the service needs from a
//! database, so another backend (e.g. PostgreSQL) can be added without
//! touching the service.

use super::listing::{Cursor, ListQuery};
use crate::proto::users::v1::User;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// Another user already has this email (compared case-insensitively).
    #[error("a user with this email already exists")]
    DuplicateEmail,
    /// Anything else; the detail is logged, never shown to clients.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// A stored user with its revision, which grows by one on every write and
/// is what compare-and-swap writes check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Versioned {
    /// The user, with its `etag` set.
    pub(crate) user: User,
    pub(crate) revision: i64,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Written<T> {
    Done(T),
    /// No user has this id (any more).
    NotFound,
    /// The user exists but is no longer at the expected revision.
    Conflict,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ListedPage {
    /// Up to `limit` users, each with the cursor that resumes after it.
    pub(crate) rows: Vec<(User, Cursor)>,
    /// How many users match the filter, across all pages.
    pub(crate) total_size: i64,
}

/// Persistent storage for users. Every user returned has its `etag` set.
#[tonic::async_trait]
pub(crate) trait Store: Send + Sync + 'static {
    /// The 32-byte key that page tokens are sealed with (after derivation);
    /// created once per database so tokens survive restarts.
    fn page_token_key(&self) -> [u8; 32];

    /// Stores a new user (id and timestamps already set) at its first
    /// revision; returns it with its etag.
    async fn insert(&self, user: &User) -> Result<User, StoreError>;

    /// Returns the user with this id, if any, with its revision.
    async fn get(&self, id: &str) -> Result<Option<Versioned>, StoreError>;

    /// Returns the user with this email (compared case-insensitively), if any.
    async fn get_by_email(&self, email: &str) -> Result<Option<Versioned>, StoreError>;

    /// Replaces the writable fields and `updated_at` of user `user.id` if
    /// it is still at `revision` (compare-and-swap); returns the stored user
    /// with its new etag.
    async fn update(&self, user: &User, revision: i64) -> Result<Written<User>, StoreError>;

    /// Deletes the user with this id; only if it is still at `revision`
    /// when one is given.
    async fn delete(&self, id: &str, revision: Option<i64>) -> Result<Written<()>, StoreError>;

    /// One page of users matching the query's filter, in its order, after
    /// its cursor, and the count of all users matching the filter.
    async fn list(&self, query: ListQuery) -> Result<ListedPage, StoreError>;

    /// A trivial read that tells whether the store answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Flushes and releases what the store holds; call once at shutdown.
    async fn close(&self) -> Result<(), StoreError>;
}

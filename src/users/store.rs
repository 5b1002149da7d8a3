//! The storage seam of the user domain: what the service needs from a
//! database, so another backend (e.g. PostgreSQL) can be added without
//! touching the service.

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

/// Persistent storage for users.
#[tonic::async_trait]
pub(crate) trait Store: Send + Sync + 'static {
    /// The 32-byte key that signs page tokens; created once per database so
    /// tokens survive restarts.
    fn page_token_key(&self) -> [u8; 32];

    /// Stores a new user; the id and timestamps are already set.
    async fn insert(&self, user: &User) -> Result<(), StoreError>;

    /// Returns the user with this id, if any.
    async fn get(&self, id: &str) -> Result<Option<User>, StoreError>;

    /// Deletes the user with this id; `false` when there was none.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;

    /// Returns up to `limit` users with ids greater than `after_id` (all
    /// users when `None`), ordered by id, which is creation order.
    async fn list_after(&self, after_id: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError>;

    /// Flushes and releases what the store holds; call once at shutdown.
    async fn close(&self) -> Result<(), StoreError>;
}

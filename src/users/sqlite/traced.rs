//! [`Store`] on [`SqliteStore`]: each operation in a `debug` span of its
//! own, a child of the call's span (`store.get_user`, `store.list_users`,
//! … with `db.system = "sqlite"`), so an exported trace shows the store's
//! share of a call. The span covers the wait in the calling task, whichever
//! thread (reader, blocking pool, writer) does the work. When nothing
//! records `debug` spans, a span costs a check of its callsite.

use tracing::Instrument as _;

use super::SqliteStore;
use crate::proto::users::v1::User;
use crate::users::listing::ListQuery;
use crate::users::store::{ListedPage, Store, StoreError, Versioned, Written};

/// The span of one store operation.
macro_rules! store_span {
    ($name:literal) => {
        tracing::debug_span!($name, db.system = "sqlite")
    };
}

#[tonic::async_trait]
impl Store for SqliteStore {
    fn page_token_key(&self) -> [u8; 32] {
        self.inner.page_token_key
    }

    async fn insert(&self, user: &User) -> Result<User, StoreError> {
        self.insert_user(user)
            .instrument(store_span!("store.create_user"))
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<Versioned>, StoreError> {
        self.get_user(id).instrument(store_span!("store.get_user")).await
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<Versioned>, StoreError> {
        self.get_user_by_email(email)
            .instrument(store_span!("store.get_user_by_email"))
            .await
    }

    async fn update(&self, user: &User, revision: i64) -> Result<Written<User>, StoreError> {
        self.update_user(user, revision)
            .instrument(store_span!("store.update_user"))
            .await
    }

    async fn delete(&self, id: &str, revision: Option<i64>) -> Result<Written<()>, StoreError> {
        self.delete_user(id, revision)
            .instrument(store_span!("store.delete_user"))
            .await
    }

    async fn list(&self, query: ListQuery) -> Result<ListedPage, StoreError> {
        self.list_page(query)
            .instrument(store_span!("store.list_users"))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_reader().await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.inner.writer.checkpoint().await
    }
}

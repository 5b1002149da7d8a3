//! The user domain: the `users.v1.UserService` implementation and the
//! storage behind it.
//!
//! - [`service`] — the tonic service ([`UserDirectory`]).
//! - [`validation`] — checks a create request and collects every violation.
//! - [`errors`] — domain errors and their one conversion to `tonic::Status`.
//! - [`mask`] — `UpdateUser` field masks: resolve, imply, apply.
//! - [`filter`] — the AIP-160 `ListUsers` filter language: tokenizer,
//!   parser, typed tree; [`filter_sql`] turns it into parameterized SQL.
//! - [`listing`] — `order_by`, keyset cursors and the list query.
//! - [`page_token`] — encrypted, opaque `ListUsers` page tokens.
//! - [`store`] — the storage trait ([`Store`], [`StoreError`]).
//! - [`sqlite`] — the SQLite implementation ([`SqliteStore`]), with its
//!   schema in [`schema`], row mapping in [`rows`], its writer thread in
//!   [`writer`], its background checkpoints in [`checkpointer`], its read
//!   cache in [`cache`] and tests in `sqlite_tests`.

mod cache;
mod checkpointer;
mod errors;
mod filter;
mod filter_lexer;
mod filter_sql;
mod listing;
mod mask;
mod page_token;
mod rows;
mod schema;
mod service;
mod sqlite;
#[cfg(test)]
mod sqlite_tests;
mod store;
mod streams;
mod validation;
mod writer;

pub(crate) use service::UserDirectory;
pub(crate) use sqlite::SqliteStore;
pub(crate) use store::Store;

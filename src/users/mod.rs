//! The user domain: the `users.v1.UserService` implementation and the
//! storage behind it.
//!
//! - [`directory`] — the domain logic ([`UserDirectory`]): ids,
//!   timestamps, masks, etags, listings; [`streams`] adds the streaming
//!   calls and [`service`] is the tonic `UserService` over both.
//! - [`budgets`] — the bytes a page and a stream may hold, and how long a
//!   stream waits on its reader.
//! - [`send_budget`] — a stream's outgoing messages under its budget.
//! - [`validation`] — checks a create request and collects every violation.
//! - [`caller`] — who calls (the principal in the call's extensions).
//! - [`audit`] — one log line per write: who, what, which user, outcome.
//! - [`errors`] — domain errors and their one conversion to `tonic::Status`.
//! - [`mask`] — `UpdateUser` field masks: resolve, imply, apply.
//! - [`filter`] — the AIP-160 `ListUsers` filter language: tokenizer,
//!   parser, typed tree (the SQLite store turns it into parameterized SQL).
//! - [`field_names`] — lowerCamelCase and snake_case field paths.
//! - [`listing`] — `order_by`, keyset cursors and the list query.
//! - [`page_token`] — encrypted, opaque `ListUsers` page tokens.
//! - [`store`] — the storage trait ([`Store`], [`StoreError`]).
//! - [`sqlite`] — the SQLite implementation ([`SqliteStore`]), with its
//!   schema, row mapping, filter SQL, writer thread, background
//!   checkpoints and read cache, each in a file of its own.

mod audit;
mod budgets;
mod caller;
mod directory;
mod errors;
mod field_names;
mod filter;
mod listing;
mod mask;
mod page_token;
mod send_budget;
mod service;
mod sqlite;
mod store;
mod streams;
mod validation;

pub(crate) use budgets::Budgets;
pub(crate) use directory::UserDirectory;
pub(crate) use sqlite::{SqliteStore, StoreFigures};
pub(crate) use store::Store;

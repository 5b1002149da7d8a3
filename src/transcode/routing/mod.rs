//! Routing: an HTTP method and path to the binding that serves them, or
//! 404, or 405 with the methods for `Allow`, in one walk.
//!
//! - `template` — the `google.api.http` path-template grammar: text →
//!   syntax tree (whose `Display` round-trips) → flattened segments and
//!   variable spans;
//! - `trie` — the immutable route table built from the flattened segments,
//!   generic over its payload.

mod template;
mod trie;

pub(crate) use template::{PathTemplate, Segment, VariableSpan};
pub(crate) use trie::{Lookup, Router, RouterBuilder};

//! Bindings: what the engine reads from the descriptors once, at start.
//! Every `google.api.http` rule (and its `additional_bindings`) of every
//! service becomes a [`Binding`] with its path variables, `body` and
//! `response_body` resolved against the message descriptors, the
//! conventions that apply to it, and this gateway's method options. The
//! validated bindings and their route table form a [`Bindings`], which
//! feeds both the gateway and the OpenAPI document.
//!
//! - `read` — `google.api.http` and `gateway.v1.http_response` → `Binding`;
//! - `fields` — field paths, body selectors and field-shape tests;
//! - `conventions` — update masks (AIP-134) and etags (AIP-154);
//! - `header_template` — `{field}` placeholders of response headers.

pub(crate) mod conventions;
mod fields;
mod header_template;
mod model;
mod read;
mod table;

pub(crate) use fields::{BodySelector, FieldPath, resolve_field_path, singular_message};
pub(crate) use header_template::{HeaderTemplate, TemplatePart};
pub(crate) use model::{Binding, SuccessResponse};
#[cfg(test)]
pub(crate) use read::read_bindings;
pub use table::Bindings;

#[cfg(test)]
mod tests;

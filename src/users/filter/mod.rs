//! The `ListUsers` filter language: a subset of AIP-160, tokenized
//! (`lexer`), parsed by recursive descent and type-checked (`parser`) into a [`Filter`] tree. The tree is
//! backend-neutral (`ast`); `filter_sql` turns it into a parameterized SQL
//! condition.
//!
//! Grammar (AIP-160 precedence: `OR` binds tighter than `AND`; juxtaposed
//! terms are an implicit `AND`):
//!
//! ```text
//! filter      = [ expression ]
//! expression  = sequence { "AND" sequence }
//! sequence    = factor { factor }
//! factor      = term { "OR" term }
//! term        = [ "NOT" | "-" ] simple
//! simple      = "(" expression ")" | restriction
//! restriction = field ( "=" | "!=" | "<" | "<=" | ">" | ">=" | ":" ) value
//! field       = name | email | role | tags | created_at | updated_at
//!             | address.(street|city|state|country|postal_code)   (JSON names too)
//! value       = "double-quoted" | 'single-quoted' | bare-word      (backslash escapes)
//! ```
//!
//! Semantics: on string fields `=`/`!=`/`<`… compare exactly (email
//! case-insensitively); a value ending in an unescaped `*` with `=`/`!=` is a
//! prefix match; `:` is a case-insensitive (ASCII) substring match. On
//! `tags`, only `:` exists: the list contains the element. `role` takes enum
//! names (`USER_ROLE_ADMIN`) with `=`/`!=`; `created_at` and `updated_at`
//! take RFC 3339 timestamps with any comparison.

mod ast;
mod lexer;
mod parser;

pub(crate) use ast::{Filter, TextField, TimeField};
pub(crate) use parser::parse;

#[cfg(test)]
mod tests;

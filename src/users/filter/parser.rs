//! The recursive-descent parser and type checker: tokens → [`Filter`],
//! with each field's name resolved (JSON names too) and each value checked
//! against the field's type.

use super::ast::{CompareOp, Filter, FilterError, TextField, TimeField};
use super::lexer::{Op, Tok, Token, tokenize};
use crate::proto::users::v1::UserRole;
use crate::users::field_names::snake_case_path;

/// How deep parentheses and `NOT`s may nest.
const MAX_DEPTH: usize = 32;
/// The longest filter accepted, in characters.
const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Text(TextField),
    Time(TimeField),
    Role,
    Tags,
}

const FIELDS: [(&str, FieldKind); 11] = [
    ("name", FieldKind::Text(TextField::Name)),
    ("email", FieldKind::Text(TextField::Email)),
    ("role", FieldKind::Role),
    ("tags", FieldKind::Tags),
    ("address.street", FieldKind::Text(TextField::Street)),
    ("address.city", FieldKind::Text(TextField::City)),
    ("address.state", FieldKind::Text(TextField::State)),
    ("address.country", FieldKind::Text(TextField::Country)),
    ("address.postal_code", FieldKind::Text(TextField::PostalCode)),
    ("created_at", FieldKind::Time(TimeField::CreatedAt)),
    ("updated_at", FieldKind::Time(TimeField::UpdatedAt)),
];

/// Parses `text`; `Ok(None)` for an empty (or all-blank) filter.
pub(crate) fn parse(text: &str) -> Result<Option<Filter>, FilterError> {
    let length = text.chars().count();
    if length > MAX_LEN {
        return Err(FilterError {
            position: MAX_LEN + 1,
            message: format!("the filter is longer than {MAX_LEN} characters"),
        });
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: length + 1,
        depth: 0,
    };
    let filter = parser.expression()?;
    if let Some(token) = parser.peek() {
        let found = token.describe();
        let message = if matches!(token.kind, Tok::RParen) {
            "unexpected `)` with no matching `(`".to_owned()
        } else {
            format!("expected `AND`, `OR` or the end of the filter, found {found}")
        };
        return Err(parser.error_at_next(message));
    }
    Ok(Some(filter))
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// The position reported for "ran out of input".
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_kind(&self) -> Option<&Tok> {
        self.peek().map(|token| &token.kind)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn found(&self) -> String {
        self.peek()
            .map(Token::describe)
            .unwrap_or_else(|| "the end of the filter".into())
    }

    fn error_at_next(&self, message: String) -> FilterError {
        FilterError {
            position: self.peek().map_or(self.end, |token| token.position),
            message,
        }
    }

    fn expected(&self, what: &str) -> FilterError {
        self.error_at_next(format!("expected {what}, found {}", self.found()))
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at_next(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// expression = sequence { "AND" sequence }
    fn expression(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.sequence()?];
        while self.peek_kind() == Some(&Tok::And) {
            self.bump();
            parts.push(self.sequence()?);
        }
        Ok(flatten(parts, Filter::And))
    }

    /// sequence = factor { factor } — an implicit AND.
    fn sequence(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.factor()?];
        while matches!(
            self.peek_kind(),
            Some(Tok::LParen | Tok::Not | Tok::Minus | Tok::Value { .. })
        ) {
            parts.push(self.factor()?);
        }
        Ok(flatten(parts, Filter::And))
    }

    /// factor = term { "OR" term }
    fn factor(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.term()?];
        while self.peek_kind() == Some(&Tok::Or) {
            self.bump();
            parts.push(self.term()?);
        }
        Ok(flatten(parts, Filter::Or))
    }

    /// term = [ "NOT" | "-" ] simple
    fn term(&mut self) -> Result<Filter, FilterError> {
        if matches!(self.peek_kind(), Some(Tok::Not | Tok::Minus)) {
            self.bump();
            self.enter()?;
            let inner = self.term()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.simple()
    }

    /// simple = "(" expression ")" | restriction
    fn simple(&mut self) -> Result<Filter, FilterError> {
        match self.peek_kind() {
            Some(Tok::LParen) => {
                let open = self.bump().expect("peeked").position;
                self.enter()?;
                let inner = self.expression()?;
                self.depth -= 1;
                if self.peek_kind() != Some(&Tok::RParen) {
                    return Err(self.error_at_next(format!(
                        "expected `)` to close the `(` at position {open}, found {}",
                        self.found()
                    )));
                }
                self.bump();
                Ok(inner)
            }
            Some(Tok::Value { quoted: false, .. }) => self.restriction(),
            _ => Err(self.expected("a field name or `(`")),
        }
    }

    /// restriction = field op value
    fn restriction(&mut self) -> Result<Filter, FilterError> {
        let field_token = self.bump().expect("peeked");
        let Tok::Value {
            text: name, wildcard, ..
        } = &field_token.kind
        else {
            unreachable!("restriction starts with a bare word");
        };
        let written = if *wildcard {
            format!("{name}*")
        } else {
            name.clone()
        };
        let path = snake_case_path(&written);
        let kind = FIELDS
            .iter()
            .find(|(field, _)| *field == path)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| FilterError {
                position: field_token.position,
                message: format!(
                    "unknown field {written:?} (filterable fields: {})",
                    FIELDS.map(|(name, _)| name).join(", ")
                ),
            })?;
        let op = match self.peek_kind() {
            Some(Tok::Op(op)) => *op,
            _ => {
                return Err(self.expected(&format!(
                    "a comparison (`=`, `!=`, `<`, `<=`, `>`, `>=` or `:`) after `{written}`"
                )));
            }
        };
        let op_token = self.bump().expect("peeked");
        let value_token = match self.peek_kind() {
            Some(Tok::Value { .. }) => self.bump().expect("peeked"),
            // A bare negative word such as -5 is a value here, not a NOT.
            Some(Tok::Minus) => match self.tokens.get(self.next + 1) {
                Some(Token {
                    kind:
                        Tok::Value {
                            text,
                            quoted: false,
                            wildcard,
                        },
                    position,
                }) if *position == self.peek().expect("peeked").position + 1 => {
                    let token = Token {
                        kind: Tok::Value {
                            text: format!("-{text}"),
                            quoted: false,
                            wildcard: *wildcard,
                        },
                        position: position - 1,
                    };
                    self.next += 2;
                    token
                }
                _ => return Err(self.expected(&format!("a value after {}", op_token.describe()))),
            },
            _ => return Err(self.expected(&format!("a value after {}", op_token.describe()))),
        };
        let Tok::Value { text, wildcard, .. } = value_token.kind else {
            unreachable!("checked above");
        };
        let fail = |message: String| FilterError {
            position: op_token.position,
            message,
        };
        let value_fail = |message: String| FilterError {
            position: value_token.position,
            message,
        };
        match (kind, op) {
            (FieldKind::Text(field), Op::Has) => {
                let part = if wildcard { format!("{text}*") } else { text };
                Ok(Filter::Contains { field, part })
            }
            (FieldKind::Text(field), Op::Compare(op)) if wildcard => match op {
                CompareOp::Eq | CompareOp::Ne => Ok(Filter::Prefix {
                    field,
                    negated: op == CompareOp::Ne,
                    prefix: text,
                }),
                _ => Err(value_fail(format!(
                    "a trailing `*` (prefix match) only works with `=` and `!=`, not `{}`; \
                     escape it as `\\*` in a quoted string to mean a literal `*`",
                    op.sql()
                ))),
            },
            (FieldKind::Text(field), Op::Compare(op)) => Ok(Filter::Text {
                field,
                op,
                value: text,
            }),
            (FieldKind::Tags, Op::Has) => {
                let element = if wildcard { format!("{text}*") } else { text };
                Ok(Filter::HasTag(element))
            }
            (FieldKind::Tags, _) => Err(fail(
                "`tags` is a list: test it with `:`, e.g. tags:\"vip\"".into(),
            )),
            (FieldKind::Role, Op::Compare(op @ (CompareOp::Eq | CompareOp::Ne))) => {
                let role = UserRole::from_str_name(&text).ok_or_else(|| {
                    value_fail(format!(
                        "{text:?} is not a role (expected USER_ROLE_UNSPECIFIED, USER_ROLE_ADMIN, \
                         USER_ROLE_EDITOR or USER_ROLE_VIEWER)"
                    ))
                })?;
                Ok(Filter::Role {
                    negated: op == CompareOp::Ne,
                    role: role as i32,
                })
            }
            (FieldKind::Role, _) => Err(fail("`role` can only be compared with `=` or `!=`".into())),
            (FieldKind::Time(field), Op::Compare(op)) => {
                let timestamp: prost_types::Timestamp = text.parse().map_err(|_| {
                    value_fail(format!(
                        "{text:?} is not an RFC 3339 timestamp (e.g. \"2024-01-01T00:00:00Z\")"
                    ))
                })?;
                let nanos = timestamp
                    .seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|n| n.checked_add(i64::from(timestamp.nanos)))
                    .ok_or_else(|| value_fail(format!("{text:?} is out of range")))?;
                Ok(Filter::Time { field, op, nanos })
            }
            (FieldKind::Time(_), Op::Has) => Err(fail(format!(
                "`{path}` is a timestamp: compare it with `=`, `!=`, `<`, `<=`, `>` or `>=`"
            ))),
        }
    }
}

fn flatten(mut parts: Vec<Filter>, join: fn(Vec<Filter>) -> Filter) -> Filter {
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        join(parts)
    }
}

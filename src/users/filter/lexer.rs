//! The tokenizer of the filter language: words, quoted strings with
//! backslash escapes, operators and parentheses, each with its 1-based
//! character position for error messages.

use super::ast::{CompareOp, FilterError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    LParen,
    RParen,
    Op(Op),
    Minus,
    And,
    Or,
    Not,
    /// A bare word or a quoted string; `wildcard` when it ended in an
    /// unescaped `*` (which is not part of `text`).
    Value {
        text: String,
        quoted: bool,
        wildcard: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Compare(CompareOp),
    Has,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    /// 1-based character position of the token's first character.
    pub(super) position: usize,
}

impl Token {
    pub(super) fn describe(&self) -> String {
        match &self.kind {
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Op(Op::Has) => "`:`".into(),
            Tok::Op(Op::Compare(op)) => format!("`{}`", op.sql()),
            Tok::Minus => "`-`".into(),
            Tok::And => "`AND`".into(),
            Tok::Or => "`OR`".into(),
            Tok::Not => "`NOT`".into(),
            Tok::Value {
                text, quoted: true, ..
            } => format!("the string {text:?}"),
            Tok::Value { text, .. } => format!("`{text}`"),
        }
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '=' | '!' | '<' | '>' | ':' | '"' | '\'')
}

pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        let next = chars.get(i + 1).copied();
        let (kind, width) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ':' => (Tok::Op(Op::Has), 1),
            '=' => (Tok::Op(Op::Compare(CompareOp::Eq)), 1),
            '!' if next == Some('=') => (Tok::Op(Op::Compare(CompareOp::Ne)), 2),
            '!' => {
                return Err(FilterError {
                    position,
                    message: "expected `=` after `!`".into(),
                });
            }
            '<' if next == Some('=') => (Tok::Op(Op::Compare(CompareOp::Le)), 2),
            '<' => (Tok::Op(Op::Compare(CompareOp::Lt)), 1),
            '>' if next == Some('=') => (Tok::Op(Op::Compare(CompareOp::Ge)), 2),
            '>' => (Tok::Op(Op::Compare(CompareOp::Gt)), 1),
            '-' => (Tok::Minus, 1),
            '"' | '\'' => {
                let (kind, width) = quoted(&chars[i..], position)?;
                (kind, width)
            }
            _ => {
                let width = chars[i..].iter().take_while(|c| is_word_char(**c)).count();
                let word: String = chars[i..i + width].iter().collect();
                let kind = match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    "NOT" => Tok::Not,
                    _ => match word.strip_suffix('*') {
                        Some(prefix) => Tok::Value {
                            text: prefix.to_owned(),
                            quoted: false,
                            wildcard: true,
                        },
                        None => Tok::Value {
                            text: word,
                            quoted: false,
                            wildcard: false,
                        },
                    },
                };
                (kind, width)
            }
        };
        tokens.push(Token { kind, position });
        i += width;
    }
    Ok(tokens)
}

/// A quoted string starting at `chars[0]`; returns the token and how many
/// characters it used.
fn quoted(chars: &[char], position: usize) -> Result<(Tok, usize), FilterError> {
    let quote = chars[0];
    let mut text = String::new();
    let mut wildcard = false;
    let mut i = 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(FilterError {
                    position,
                    message: format!("the string starting here has no closing {quote}"),
                });
            }
            Some(&c) if c == quote => break,
            Some('\\') => {
                let escaped = chars.get(i + 1).ok_or(FilterError {
                    position: position + i,
                    message: "expected a character after `\\`".into(),
                })?;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => *other,
                });
                wildcard = false;
                i += 2;
            }
            Some('*') if chars.get(i + 1) == Some(&quote) => {
                wildcard = true;
                i += 1;
            }
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
    let kind = Tok::Value {
        text,
        quoted: true,
        wildcard,
    };
    Ok((kind, i + 1))
}

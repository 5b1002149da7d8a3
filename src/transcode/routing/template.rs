//! The `google.api.http` path-template grammar: parse a template into a
//! syntax tree (whose `Display` round-trips), then flatten it into the
//! segment list and variable spans the router and the request weave use.
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! `/v1/{name=shelves/*/books/*}:publish` parses into a literal, a variable
//! over four segments, and the verb `publish`. `**` matches the rest of the
//! path and must therefore be the last segment.

use std::fmt;

/// One segment of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// `*`: exactly one segment.
    Single,
    /// `**`: zero or more segments, to the end of the path.
    Multi,
    /// `{field.path=segments}`; `{field}` is `{field=*}`.
    Variable {
        field_path: Vec<String>,
        segments: Vec<Segment>,
    },
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    pub(crate) segments: Vec<Segment>,
    pub(crate) verb: Option<String>,
}

/// What a flattened template matches at one path position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MatchSegment {
    Literal(String),
    Single,
    Multi,
}

/// A variable of a flattened template: the field it binds and the range of
/// path segments it captures (`end == None` means "to the end of the path").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VariableSpan {
    pub(crate) field_path: Vec<String>,
    pub(crate) start: usize,
    pub(crate) end: Option<usize>,
}

impl VariableSpan {
    /// A variable over more than one segment keeps `%2F` encoded.
    pub(crate) fn is_multi_segment(&self) -> bool {
        self.end.is_none_or(|end| end - self.start != 1)
    }
}

/// A template error: the template, the byte position and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path template {template:?} at position {position}: {message}")]
pub(crate) struct TemplateError {
    pub(crate) template: String,
    pub(crate) position: usize,
    pub(crate) message: String,
}

impl PathTemplate {
    /// Parses a template, checking the grammar and that `**` comes last.
    pub(crate) fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parser = Parser {
            template,
            bytes: template.as_bytes(),
            position: 0,
        };
        let parsed = parser.template()?;
        parsed.check_multi_is_last(template)?;
        Ok(parsed)
    }

    /// The segments the router matches, and the spans the variables capture.
    pub(crate) fn flatten(&self) -> (Vec<MatchSegment>, Vec<VariableSpan>) {
        let mut matchers = Vec::new();
        let mut variables = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Variable { field_path, segments } => {
                    let start = matchers.len();
                    matchers.extend(segments.iter().map(Segment::to_match_segment));
                    let open_ended = matchers.last() == Some(&MatchSegment::Multi);
                    variables.push(VariableSpan {
                        field_path: field_path.clone(),
                        start,
                        end: (!open_ended).then_some(matchers.len()),
                    });
                }
                other => matchers.push(other.to_match_segment()),
            }
        }
        (matchers, variables)
    }

    fn check_multi_is_last(&self, template: &str) -> Result<(), TemplateError> {
        let (matchers, _) = self.flatten();
        let multi_before_end = matchers
            .iter()
            .rev()
            .skip(1)
            .any(|segment| *segment == MatchSegment::Multi);
        if multi_before_end {
            return Err(TemplateError {
                template: template.to_owned(),
                position: template.find("**").unwrap_or(0),
                message: "`**` must be the last segment of the path".to_owned(),
            });
        }
        Ok(())
    }
}

impl Segment {
    fn to_match_segment(&self) -> MatchSegment {
        match self {
            Segment::Literal(text) => MatchSegment::Literal(text.clone()),
            Segment::Single => MatchSegment::Single,
            Segment::Multi => MatchSegment::Multi,
            Segment::Variable { .. } => unreachable!("the grammar does not nest variables"),
        }
    }
}

struct Parser<'a> {
    template: &'a str,
    bytes: &'a [u8],
    position: usize,
}

impl Parser<'_> {
    fn template(&mut self) -> Result<PathTemplate, TemplateError> {
        self.expect(b'/')?;
        let segments = self.segments(false)?;
        let verb = if self.peek() == Some(b':') {
            self.position += 1;
            Some(self.literal()?)
        } else {
            None
        };
        if self.position != self.bytes.len() {
            return Err(self.error("unexpected character"));
        }
        Ok(PathTemplate { segments, verb })
    }

    fn segments(&mut self, in_variable: bool) -> Result<Vec<Segment>, TemplateError> {
        let mut segments = vec![self.segment(in_variable)?];
        while self.peek() == Some(b'/') {
            self.position += 1;
            segments.push(self.segment(in_variable)?);
        }
        Ok(segments)
    }

    fn segment(&mut self, in_variable: bool) -> Result<Segment, TemplateError> {
        match self.peek() {
            Some(b'*') if self.bytes.get(self.position + 1) == Some(&b'*') => {
                self.position += 2;
                Ok(Segment::Multi)
            }
            Some(b'*') => {
                self.position += 1;
                Ok(Segment::Single)
            }
            Some(b'{') if in_variable => Err(self.error("variables cannot be nested")),
            Some(b'{') => self.variable(),
            _ => Ok(Segment::Literal(self.literal()?)),
        }
    }

    fn variable(&mut self) -> Result<Segment, TemplateError> {
        self.expect(b'{')?;
        let mut field_path = vec![self.identifier()?];
        while self.peek() == Some(b'.') {
            self.position += 1;
            field_path.push(self.identifier()?);
        }
        let segments = if self.peek() == Some(b'=') {
            self.position += 1;
            self.segments(true)?
        } else {
            vec![Segment::Single]
        };
        self.expect(b'}')?;
        Ok(Segment::Variable { field_path, segments })
    }

    fn identifier(&mut self) -> Result<String, TemplateError> {
        let start = self.position;
        while let Some(byte) = self.peek() {
            let valid = byte == b'_'
                || byte.is_ascii_alphabetic()
                || (self.position > start && byte.is_ascii_digit());
            if !valid {
                break;
            }
            self.position += 1;
        }
        if self.position == start {
            return Err(self.error("expected a field name"));
        }
        Ok(self.template[start..self.position].to_owned())
    }

    /// A literal is one or more URL path characters other than the grammar's own.
    fn literal(&mut self) -> Result<String, TemplateError> {
        let start = self.position;
        while let Some(byte) = self.peek() {
            let reserved = matches!(byte, b'/' | b'{' | b'}' | b'*' | b'=' | b':' | b'?' | b'#');
            if reserved || byte.is_ascii_whitespace() || byte.is_ascii_control() {
                break;
            }
            self.position += 1;
        }
        if self.position == start {
            return Err(self.error("expected a literal segment"));
        }
        Ok(self.template[start..self.position].to_owned())
    }

    fn expect(&mut self, byte: u8) -> Result<(), TemplateError> {
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn error(&self, expected: &str) -> TemplateError {
        let message = match self.peek() {
            Some(_) => {
                let found = self.template[self.position..].chars().next().unwrap_or('?');
                format!("{expected}, found `{found}`")
            }
            None => format!("{expected}, found the end of the template"),
        };
        TemplateError {
            template: self.template.to_owned(),
            position: self.position,
            message,
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Literal(text) => f.write_str(text),
            Segment::Single => f.write_str("*"),
            Segment::Multi => f.write_str("**"),
            Segment::Variable { field_path, segments } => {
                write!(f, "{{{}", field_path.join("."))?;
                if segments.as_slice() != [Segment::Single] {
                    f.write_str("=")?;
                    write_segments(f, segments)?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_segments(f: &mut fmt::Formatter<'_>, segments: &[Segment]) -> fmt::Result {
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            f.write_str("/")?;
        }
        write!(f, "{segment}")?;
    }
    Ok(())
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("/")?;
        write_segments(f, &self.segments)?;
        if let Some(verb) = &self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_templates_round_trip_through_display() {
        let cases = [
            ("/v1/users", "/v1/users"),
            ("/v1/users/{id}", "/v1/users/{id}"),
            ("/v1/users/{id=*}", "/v1/users/{id}"),
            ("/v1/{name=shelves/*/books/*}", "/v1/{name=shelves/*/books/*}"),
            ("/v1/{name=files/**}", "/v1/{name=files/**}"),
            ("/v1/users:stream", "/v1/users:stream"),
            ("/v1/{user.id}:publish", "/v1/{user.id}:publish"),
            ("/*/**", "/*/**"),
            ("/v1/a-b.c~d_e", "/v1/a-b.c~d_e"),
        ];
        for (template, displayed) in cases {
            let parsed = PathTemplate::parse(template).unwrap_or_else(|error| panic!("{template}: {error}"));
            assert_eq!(parsed.to_string(), displayed, "{template}");
            assert_eq!(PathTemplate::parse(displayed).unwrap(), parsed, "{template}");
        }
    }

    #[test]
    fn invalid_templates_name_the_position() {
        let cases = [
            ("", 0, "expected `/`"),
            ("v1/users", 0, "expected `/`"),
            ("/v1//users", 4, "expected a literal segment"),
            ("/v1/users/", 10, "found the end"),
            ("/v1/{id", 7, "expected `}`"),
            ("/v1/{}", 5, "expected a field name"),
            ("/v1/{1id}", 5, "expected a field name"),
            ("/v1/{a={b}}", 7, "cannot be nested"),
            ("/v1/**/x", 4, "`**` must be the last"),
            ("/v1/{name=**}/x", 10, "`**` must be the last"),
            ("/v1/users:", 10, "expected a literal segment"),
            ("/v1/users:a:b", 11, "unexpected character"),
            ("/v1/us ers", 6, "unexpected character"),
        ];
        for (template, position, message) in cases {
            let error = PathTemplate::parse(template).expect_err(template);
            assert_eq!(error.position, position, "{template}: {error}");
            assert!(error.message.contains(message), "{template}: {error}");
            assert!(error.to_string().contains(&format!("{template:?}")));
        }
    }

    #[test]
    fn flatten_gives_segments_and_spans() {
        use MatchSegment::*;
        /// (field path, start, end, multi-segment)
        type Span = (&'static str, usize, Option<usize>, bool);
        let cases: [(&str, Vec<MatchSegment>, Vec<Span>); 4] = [
            (
                "/v1/users/{id}",
                vec![Literal("v1".into()), Literal("users".into()), Single],
                vec![("id", 2, Some(3), false)],
            ),
            (
                "/v1/{name=shelves/*/books/*}",
                vec![
                    Literal("v1".into()),
                    Literal("shelves".into()),
                    Single,
                    Literal("books".into()),
                    Single,
                ],
                vec![("name", 1, Some(5), true)],
            ),
            (
                "/v1/{name=files/**}",
                vec![Literal("v1".into()), Literal("files".into()), Multi],
                vec![("name", 1, None, true)],
            ),
            (
                "/v1/{a.b}/{c}",
                vec![Literal("v1".into()), Single, Single],
                vec![("a.b", 1, Some(2), false), ("c", 2, Some(3), false)],
            ),
        ];
        for (template, segments, spans) in cases {
            let (flat, variables) = PathTemplate::parse(template).unwrap().flatten();
            assert_eq!(flat, segments, "{template}");
            let got: Vec<_> = variables
                .iter()
                .map(|v| (v.field_path.join("."), v.start, v.end, v.is_multi_segment()))
                .collect();
            let want: Vec<_> = spans
                .into_iter()
                .map(|(path, start, end, multi)| (path.to_owned(), start, end, multi))
                .collect();
            assert_eq!(got, want, "{template}");
        }
    }
}

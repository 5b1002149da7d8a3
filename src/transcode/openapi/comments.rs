//! Proto comments from the descriptor set's source info, as documentation
//! text: the leading comment of an element (its trailing one when it has
//! none), with the one space after `//` removed and surrounding blank lines
//! trimmed. A pool compiled without source info simply has no comments.
//!
//! `// Reads a book by its two-level name.` above `rpc GetBook` gives
//! `Reads a book by its two-level name.`

use prost_reflect::{
    EnumDescriptor, EnumValueDescriptor, FieldDescriptor, MessageDescriptor, MethodDescriptor,
    ServiceDescriptor,
};
use prost_types::FileDescriptorProto;

/// An element of a descriptor pool that may carry a comment.
pub(crate) trait Commented {
    /// The file the element is declared in, and its source-info path.
    fn location(&self) -> (&FileDescriptorProto, &[i32]);

    /// The element's comment, if it has one.
    fn comments(&self) -> Option<String> {
        let (file, path) = self.location();
        comments_at(file, path)
    }
}

impl Commented for ServiceDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_file_descriptor_proto(), self.path())
    }
}

impl Commented for MethodDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_service().parent_file_descriptor_proto(), self.path())
    }
}

impl Commented for MessageDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_file_descriptor_proto(), self.path())
    }
}

impl Commented for FieldDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_message().parent_file_descriptor_proto(), self.path())
    }
}

impl Commented for EnumDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_file_descriptor_proto(), self.path())
    }
}

impl Commented for EnumValueDescriptor {
    fn location(&self) -> (&FileDescriptorProto, &[i32]) {
        (self.parent_enum().parent_file_descriptor_proto(), self.path())
    }
}

fn comments_at(file: &FileDescriptorProto, path: &[i32]) -> Option<String> {
    let location = file
        .source_code_info
        .as_ref()?
        .location
        .iter()
        .find(|location| location.path == path)?;
    let raw = location
        .leading_comments
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .or(location.trailing_comments.as_deref())?;
    let lines: Vec<&str> = raw
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The first sentence of `text` (up to the first `. ` or blank line), for
/// an operation's summary.
pub(crate) fn first_sentence(text: &str) -> String {
    let paragraph = text.split("\n\n").next().unwrap_or(text);
    let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..=end].to_owned(),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::test_pool;

    #[test]
    fn comments_come_from_source_info() {
        let pool = test_pool();
        let service = pool
            .get_service_by_name("gateway.test.Library")
            .expect("the service");
        let get = service
            .methods()
            .find(|method| method.name() == "GetBook")
            .expect("GetBook");
        let book = pool.get_message_by_name("gateway.test.Book").expect("Book");
        let everything = pool
            .get_message_by_name("gateway.test.Everything")
            .expect("Everything");
        let field =
            |message: &MessageDescriptor, name: &str| message.get_field_by_name(name).expect(name).comments();
        let color = pool.get_enum_by_name("gateway.test.Color").expect("Color");
        let red = color.get_value_by_name("COLOR_RED").expect("COLOR_RED");
        // (element, its comment, the expected text)
        let cases = [
            (
                "service",
                service.comments(),
                Some("Books on shelves and files in folders."),
            ),
            (
                "method",
                get.comments(),
                Some("Reads a book by its two-level name."),
            ),
            ("message", book.comments(), Some("A book.")),
            (
                "field over two lines",
                field(&book, "etag"),
                Some(
                    "The version tag: it changes on every write; send it back (or as the\n\
                     `If-Match` header) to change only the version you read.",
                ),
            ),
            (
                "field with a trailing comment only",
                field(&everything, "repeated_nested"),
                Some("Not settable from the query."),
            ),
            (
                "field without a comment",
                field(&everything, "double_value"),
                None,
            ),
            ("enum", color.comments(), Some("A color.")),
            ("enum value", red.comments(), Some("Red.")),
        ];
        for (element, got, expected) in cases {
            assert_eq!(got.as_deref(), expected, "{element}");
        }
    }

    #[test]
    fn summaries_are_first_sentences() {
        let cases = [
            (
                "Reads a book by its two-level name.",
                "Reads a book by its two-level name.",
            ),
            (
                "Takes the body. The archive is\nwritten later.",
                "Takes the body.",
            ),
            ("Lists books a page\nat a time", "Lists books a page at a time"),
            ("First paragraph\n\nSecond. Paragraph", "First paragraph"),
        ];
        for (text, expected) in cases {
            assert_eq!(first_sentence(text), expected, "{text:?}");
        }
    }
}

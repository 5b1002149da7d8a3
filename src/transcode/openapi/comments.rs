//! Proto comments from the descriptor set's source info, as documentation
//! text: the leading comment of an element (its trailing one when it has
//! none), with the one space after `//` removed and surrounding blank lines
//! trimmed. A pool compiled without source info simply has no comments.
//!
//! `// Returns one user by id.` above `rpc GetUser` gives `Returns one user by id.`

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
    use prost_reflect::DescriptorPool;

    fn users_pool() -> DescriptorPool {
        DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
    }

    #[test]
    fn comments_come_from_source_info() {
        let pool = users_pool();
        let service = pool
            .get_service_by_name("users.v1.UserService")
            .expect("the service");
        let get = service
            .methods()
            .find(|method| method.name() == "GetUser")
            .expect("GetUser");
        assert_eq!(get.comments().as_deref(), Some("Returns one user by id."));
        let user = pool.get_message_by_name("users.v1.User").expect("User");
        assert_eq!(user.comments().as_deref(), Some("A user of the directory."));
        let etag = user.get_field_by_name("etag").expect("etag");
        let text = etag.comments().expect("etag has a comment");
        assert!(
            text.starts_with(
                "A version tag that changes on every write; send it back (or as the\n`If-Match`"
            )
        );
        let role = pool.get_enum_by_name("users.v1.UserRole").expect("UserRole");
        let admin = role.get_value_by_name("USER_ROLE_ADMIN").expect("admin");
        assert_eq!(
            admin.comments().as_deref(),
            Some("Manages the directory and every user in it.")
        );
    }

    #[test]
    fn summaries_are_first_sentences() {
        let cases = [
            ("Returns one user by id.", "Returns one user by id."),
            ("Creates a user. The server assigns\nthe id.", "Creates a user."),
            ("Lists users a page\nat a time", "Lists users a page at a time"),
            ("First paragraph\n\nSecond. Paragraph", "First paragraph"),
        ];
        for (text, expected) in cases {
            assert_eq!(first_sentence(text), expected, "{text:?}");
        }
    }
}

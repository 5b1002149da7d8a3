//! Validation of user input: checks a `CreateUserRequest`, collects every
//! violation (named after the proto field) and normalizes what it accepts.

use crate::proto::users::v1::{CreateUserRequest, UserRole};

/// The longest display name, in characters, after trimming.
const MAX_NAME_CHARS: usize = 100;
const MAX_EMAIL_LEN: usize = 254;
const MAX_LOCAL_PART_LEN: usize = 64;
const MAX_DOMAIN_LABEL_LEN: usize = 63;

/// One thing wrong with one request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The field, as named in the proto (e.g. `email`).
    pub(crate) field: String,
    /// What is wrong with it.
    pub(crate) description: String,
}

impl Violation {
    pub(crate) fn new(field: &str, description: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
        }
    }
}

/// Checks a create request; on success returns it normalized (the name
/// trimmed), otherwise every violation found.
pub(crate) fn validate_create(mut request: CreateUserRequest) -> Result<CreateUserRequest, Vec<Violation>> {
    let mut violations = Vec::new();

    let name = request.name.trim();
    let name_chars = name.chars().count();
    if name_chars == 0 {
        violations.push(Violation::new("name", "must not be empty"));
    } else if name_chars > MAX_NAME_CHARS {
        violations.push(Violation::new(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters (got {name_chars})"),
        ));
    }

    if request.email.is_empty() {
        violations.push(Violation::new("email", "must not be empty"));
    } else if let Err(problem) = check_email(&request.email) {
        violations.push(Violation::new(
            "email",
            format!("is not a valid email address ({problem})"),
        ));
    }

    if UserRole::try_from(request.role).is_err() {
        violations.push(Violation::new(
            "role",
            format!(
                "{} is not a known role (expected one of {})",
                request.role,
                known_roles()
            ),
        ));
    }

    if !violations.is_empty() {
        return Err(violations);
    }
    request.name = name.to_owned();
    Ok(request)
}

fn known_roles() -> String {
    [
        UserRole::Unspecified,
        UserRole::Admin,
        UserRole::Editor,
        UserRole::Viewer,
    ]
    .map(|role| role.as_str_name())
    .join(", ")
}

/// A pragmatic address check, not full RFC 5322: `local@domain`, no spaces,
/// a dotted domain of letter/digit/hyphen labels.
fn check_email(email: &str) -> Result<(), &'static str> {
    if email.len() > MAX_EMAIL_LEN {
        return Err("longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains spaces or control characters");
    }
    let (local, domain) = email.split_once('@').ok_or("missing @")?;
    if domain.contains('@') {
        return Err("more than one @");
    }
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.len() > MAX_LOCAL_PART_LEN {
        return Err("local part longer than 64 characters");
    }
    if !domain.contains('.') {
        return Err("domain has no dot");
    }
    for label in domain.split('.') {
        if label.is_empty() || label.len() > MAX_DOMAIN_LABEL_LEN {
            return Err("domain has an empty or overlong label");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("domain may only contain letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with a hyphen");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, email: &str, role: i32) -> CreateUserRequest {
        CreateUserRequest {
            name: name.into(),
            email: email.into(),
            role,
            ..Default::default()
        }
    }

    #[test]
    fn create_requests() {
        let long_name = "n".repeat(101);
        let max_name = "é".repeat(100);
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_email = format!("a@{}.com", "b".repeat(250));
        // (name, email, role, fields expected to be rejected)
        let cases: &[(&str, &str, i32, &[&str])] = &[
            ("Ada", "ada@example.com", 1, &[]),
            ("  Ada  ", "ada@example.com", 0, &[]),
            (&max_name, "a@b.co", 3, &[]),
            ("Ada", "first.last+tag@sub.example-mail.org", 2, &[]),
            ("", "ada@example.com", 1, &["name"]),
            ("   ", "ada@example.com", 1, &["name"]),
            (&long_name, "ada@example.com", 1, &["name"]),
            ("Ada", "", 1, &["email"]),
            ("Ada", "not-an-email", 1, &["email"]),
            ("Ada", "a@@example.com", 1, &["email"]),
            ("Ada", "a@b@example.com", 1, &["email"]),
            ("Ada", "@example.com", 1, &["email"]),
            ("Ada", "ada@localhost", 1, &["email"]),
            ("Ada", "ada@-example.com", 1, &["email"]),
            ("Ada", "ada@example-.com", 1, &["email"]),
            ("Ada", "ada@example..com", 1, &["email"]),
            ("Ada", "ada@exa_mple.com", 1, &["email"]),
            ("Ada", "ada lovelace@example.com", 1, &["email"]),
            ("Ada", " ada@example.com", 1, &["email"]),
            ("Ada", &long_local, 1, &["email"]),
            ("Ada", &long_email, 1, &["email"]),
            ("Ada", "ada@example.com", 4, &["role"]),
            ("Ada", "ada@example.com", -1, &["role"]),
            ("", "nope", 99, &["name", "email", "role"]),
        ];
        for (name, email, role, expected) in cases {
            let result = validate_create(request(name, email, *role));
            let fields: Vec<String> = match &result {
                Ok(_) => Vec::new(),
                Err(violations) => violations.iter().map(|v| v.field.clone()).collect(),
            };
            assert_eq!(fields, *expected, "name={name:?} email={email:?} role={role}");
        }
    }

    #[test]
    fn trims_the_name() {
        let ok = validate_create(request("  Ada Lovelace \t", "ada@example.com", 1)).unwrap();
        assert_eq!(ok.name, "Ada Lovelace");
    }

    #[test]
    fn descriptions_say_what_is_wrong() {
        let violations = validate_create(request("", "x", 7)).unwrap_err();
        assert_eq!(violations[0].description, "must not be empty");
        assert!(
            violations[1]
                .description
                .starts_with("is not a valid email address")
        );
        assert!(violations[2].description.contains("USER_ROLE_ADMIN"));
    }
}

//! The filter tree: what a parsed, type-checked filter says, free of any
//! backend; `filter_sql` turns it into a parameterized SQL condition.

use std::fmt;

/// A parsed, type-checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `field op value` on a string field.
    Text {
        field: TextField,
        op: CompareOp,
        value: String,
    },
    /// `field = "prefix*"` (or `!=`) on a string field.
    Prefix {
        field: TextField,
        negated: bool,
        prefix: String,
    },
    /// `field:"part"` on a string field: a case-insensitive substring.
    Contains {
        field: TextField,
        part: String,
    },
    /// `tags:"element"`.
    HasTag(String),
    /// `role = USER_ROLE_ADMIN` (or `!=`).
    Role {
        negated: bool,
        role: i32,
    },
    /// `created_at >= "2024-01-01T00:00:00Z"`, as nanoseconds.
    Time {
        field: TimeField,
        op: CompareOp,
        nanos: i64,
    },
}

/// The string fields a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    Name,
    /// Compared case-insensitively.
    Email,
    Street,
    City,
    State,
    Country,
    PostalCode,
}

/// The timestamp fields a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeField {
    CreatedAt,
    UpdatedAt,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Why a filter was rejected, and where (1-based character position;
/// one past the end for "ran out of input").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterError {
    pub(crate) position: usize,
    pub(crate) message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at position {}: {}",
            self.position, self.message
        )
    }
}

//! Field names as clients write them: the API's JSON names are
//! lowerCamelCase, the store's columns and mask paths snake_case; filters,
//! `order_by` and update masks accept either.
//!
//! `address.postalCode` and `address.postal_code` both name `address.postal_code`.

/// Converts each segment of a dotted path from lowerCamelCase to
/// snake_case (`address.postalCode` → `address.postal_code`); snake_case
/// input is returned unchanged.
pub(crate) fn snake_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_paths() {
        for (input, expected) in [
            ("name", "name"),
            ("postalCode", "postal_code"),
            ("address.postalCode", "address.postal_code"),
            ("address.postal_code", "address.postal_code"),
            ("createdAt", "created_at"),
        ] {
            assert_eq!(snake_case_path(input), expected);
        }
    }
}

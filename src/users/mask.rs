//! `UpdateUser` field masks (AIP-134): which paths may be written, the mask
//! implied when none is given, and applying a mask to a stored user.

use super::field_names::snake_case_path;
use super::validation::Violation;
use crate::proto::users::v1::{Address, User};

/// A part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressPart {
    Street,
    City,
    State,
    Country,
    PostalCode,
}

/// One writable path of a `User`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaskPath {
    Name,
    Email,
    Role,
    /// The whole address.
    Address,
    AddressPart(AddressPart),
    /// The whole list.
    Tags,
    /// The whole map.
    Metadata,
}

const WRITABLE: [(&str, MaskPath); 11] = [
    ("name", MaskPath::Name),
    ("email", MaskPath::Email),
    ("role", MaskPath::Role),
    ("address", MaskPath::Address),
    ("address.street", MaskPath::AddressPart(AddressPart::Street)),
    ("address.city", MaskPath::AddressPart(AddressPart::City)),
    ("address.state", MaskPath::AddressPart(AddressPart::State)),
    ("address.country", MaskPath::AddressPart(AddressPart::Country)),
    (
        "address.postal_code",
        MaskPath::AddressPart(AddressPart::PostalCode),
    ),
    ("tags", MaskPath::Tags),
    ("metadata", MaskPath::Metadata),
];

const OUTPUT_ONLY: [&str; 4] = ["id", "created_at", "updated_at", "etag"];

/// Every path `*` stands for.
const ALL: [MaskPath; 6] = [
    MaskPath::Name,
    MaskPath::Email,
    MaskPath::Role,
    MaskPath::Address,
    MaskPath::Tags,
    MaskPath::Metadata,
];

/// Resolves `update_mask` paths (proto or JSON names per segment); every
/// problem becomes one violation of field `update_mask`.
pub(crate) fn resolve(paths: &[String]) -> Result<Vec<MaskPath>, Vec<Violation>> {
    let mut resolved = Vec::new();
    let mut violations = Vec::new();
    let violation = |description: String| Violation::new("update_mask", description);
    for written in paths {
        let path = snake_case_path(written.trim());
        if path == "*" {
            if paths.len() > 1 {
                violations.push(violation(
                    "`*` replaces every writable field and must be the only path".into(),
                ));
            }
            resolved.extend(ALL);
            continue;
        }
        if let Some((_, found)) = WRITABLE.iter().find(|(name, _)| *name == path) {
            if !resolved.contains(found) {
                resolved.push(*found);
            }
            continue;
        }
        let head = path.split('.').next().unwrap_or_default();
        let description = if OUTPUT_ONLY.contains(&path.as_str()) || OUTPUT_ONLY.contains(&head) {
            format!("{written:?} is output only and cannot be updated")
        } else if (head == "tags" || head == "metadata") && path.contains('.') {
            format!("{written:?} points inside a list or map; update {head:?} as a whole")
        } else {
            format!(
                "{written:?} is not a field of users.v1.User (writable: name, email, role, address, \
                 address.street, address.city, address.state, address.country, address.postal_code, tags, \
                 metadata, or `*`)"
            )
        };
        violations.push(violation(description));
    }
    if violations.is_empty() {
        Ok(resolved)
    } else {
        Err(violations)
    }
}

/// The mask AIP-134 implies when a request has none: every populated
/// (non-default) field of `user`.
pub(crate) fn implied(user: &User) -> Vec<MaskPath> {
    let mut paths = Vec::new();
    if !user.name.is_empty() {
        paths.push(MaskPath::Name);
    }
    if !user.email.is_empty() {
        paths.push(MaskPath::Email);
    }
    if user.role != 0 {
        paths.push(MaskPath::Role);
    }
    if let Some(address) = &user.address {
        for (value, part) in [
            (&address.street, AddressPart::Street),
            (&address.city, AddressPart::City),
            (&address.state, AddressPart::State),
            (&address.country, AddressPart::Country),
            (&address.postal_code, AddressPart::PostalCode),
        ] {
            if !value.is_empty() {
                paths.push(MaskPath::AddressPart(part));
            }
        }
    }
    if !user.tags.is_empty() {
        paths.push(MaskPath::Tags);
    }
    if !user.metadata.is_empty() {
        paths.push(MaskPath::Metadata);
    }
    paths
}

fn part_mut(address: &mut Address, part: AddressPart) -> &mut String {
    match part {
        AddressPart::Street => &mut address.street,
        AddressPart::City => &mut address.city,
        AddressPart::State => &mut address.state,
        AddressPart::Country => &mut address.country,
        AddressPart::PostalCode => &mut address.postal_code,
    }
}

/// Copies the masked fields of `patch` onto `current`.
pub(crate) fn apply(current: &mut User, patch: &User, paths: &[MaskPath]) {
    for path in paths {
        match path {
            MaskPath::Name => current.name = patch.name.clone(),
            MaskPath::Email => current.email = patch.email.clone(),
            MaskPath::Role => current.role = patch.role,
            MaskPath::Address => current.address = Some(patch.address.clone().unwrap_or_default()),
            MaskPath::AddressPart(part) => {
                let mut from = patch.address.clone().unwrap_or_default();
                let value = std::mem::take(part_mut(&mut from, *part));
                *part_mut(current.address.get_or_insert_with(Address::default), *part) = value;
            }
            MaskPath::Tags => current.tags = patch.tags.clone(),
            MaskPath::Metadata => current.metadata = patch.metadata.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn resolves_paths() {
        use MaskPath::*;
        let (city, postal_code) = (super::AddressPart::City, super::AddressPart::PostalCode);
        let cases: Vec<(&[&str], Vec<MaskPath>)> = vec![
            (&["name"], vec![Name]),
            (&["name", "email", "name"], vec![Name, Email]),
            (
                &["address.postalCode", "address.city"],
                vec![AddressPart(postal_code), AddressPart(city)],
            ),
            (&["address.postal_code"], vec![AddressPart(postal_code)]),
            (
                &["address", "tags", "metadata", "role"],
                vec![Address, Tags, Metadata, Role],
            ),
            (&["*"], ALL.to_vec()),
            (&[], vec![]),
        ];
        for (input, expected) in cases {
            assert_eq!(resolve(&paths(input)), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn lists_every_bad_path() {
        let cases: Vec<(&[&str], Vec<&str>)> = vec![
            (&["nickname"], vec!["\"nickname\" is not a field"]),
            (&["id"], vec!["\"id\" is output only"]),
            (
                &["createdAt", "updated_at", "etag"],
                vec!["output only", "output only", "output only"],
            ),
            (&["tags.x"], vec!["inside a list or map"]),
            (&["metadata.team"], vec!["inside a list or map"]),
            (&["address.zip"], vec!["\"address.zip\" is not a field"]),
            (&["name.first"], vec!["not a field"]),
            (&[""], vec!["\"\" is not a field"]),
            (&["*", "name"], vec!["must be the only path"]),
            (&["name", "id", "bogus"], vec!["output only", "not a field"]),
        ];
        for (input, expected) in cases {
            let violations = resolve(&paths(input)).expect_err(&format!("{input:?}"));
            assert_eq!(violations.len(), expected.len(), "{input:?}: {violations:?}");
            for (violation, words) in violations.iter().zip(expected) {
                assert_eq!(violation.field, "update_mask");
                assert!(violation.description.contains(words), "{input:?}: {violation:?}");
            }
        }
    }

    fn stored() -> User {
        User {
            id: "id".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            role: 1,
            address: Some(Address {
                street: "1 Main".into(),
                city: "London".into(),
                ..Default::default()
            }),
            tags: vec!["a".into()],
            metadata: [("k".into(), "v".into())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn applies_masks() {
        let patch = User {
            name: "Grace".into(),
            address: Some(Address {
                city: "Oslo".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cases: Vec<(Vec<MaskPath>, User)> = vec![
            (
                vec![MaskPath::Name],
                User {
                    name: "Grace".into(),
                    ..stored()
                },
            ),
            (
                vec![MaskPath::AddressPart(AddressPart::City)],
                User {
                    address: Some(Address {
                        street: "1 Main".into(),
                        city: "Oslo".into(),
                        ..Default::default()
                    }),
                    ..stored()
                },
            ),
            (
                vec![MaskPath::Address],
                User {
                    address: patch.address.clone(),
                    ..stored()
                },
            ),
            (
                vec![MaskPath::Tags, MaskPath::Metadata],
                User {
                    tags: vec![],
                    metadata: Default::default(),
                    ..stored()
                },
            ),
            (
                ALL.to_vec(),
                User {
                    id: "id".into(),
                    name: "Grace".into(),
                    address: patch.address.clone(),
                    ..Default::default()
                },
            ),
        ];
        for (mask, expected) in cases {
            let mut user = stored();
            apply(&mut user, &patch, &mask);
            assert_eq!(user, expected, "{mask:?}");
        }
    }

    #[test]
    fn implies_the_populated_fields() {
        assert_eq!(implied(&User::default()), vec![]);
        assert_eq!(
            implied(&User {
                id: "ignored".into(),
                name: "n".into(),
                role: 2,
                address: Some(Address {
                    country: "NO".into(),
                    ..Default::default()
                }),
                metadata: [("k".into(), "v".into())].into(),
                etag: "ignored".into(),
                ..Default::default()
            }),
            vec![
                MaskPath::Name,
                MaskPath::Role,
                MaskPath::AddressPart(AddressPart::Country),
                MaskPath::Metadata
            ]
        );
        assert_eq!(implied(&stored()).len(), 7);
    }
}

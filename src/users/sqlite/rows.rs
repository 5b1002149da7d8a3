//! Mapping between a `User` and the columns of the `users` table: the
//! address in separate columns, tags and metadata as JSON, timestamps as
//! nanoseconds since the Unix epoch, and the etag derived from the row's
//! revision.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost_types::Timestamp;
use rusqlite::Row;

use super::schema::internal;
use crate::proto::users::v1::{Address, User};
use crate::users::store::StoreError;

/// The columns every user query selects, in the order [`UserRow::read`]
/// expects.
pub(super) const COLUMNS: &str = "id, name, email, role, street, city, state, country, \
     postal_code, tags, metadata, created_at_nanos, updated_at_nanos, revision";

/// How many columns [`COLUMNS`] selects; sort keys follow them.
pub(super) const COLUMN_COUNT: usize = 14;

/// A user as stored, before JSON decoding.
pub(super) struct UserRow {
    id: String,
    name: String,
    email: String,
    role: i32,
    address: [String; 5],
    tags: String,
    metadata: String,
    created_at_nanos: i64,
    updated_at_nanos: i64,
    revision: i64,
}

impl UserRow {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            name: row.get(1)?,
            email: row.get(2)?,
            role: row.get(3)?,
            address: [row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?],
            tags: row.get(9)?,
            metadata: row.get(10)?,
            created_at_nanos: row.get(11)?,
            updated_at_nanos: row.get(12)?,
            revision: row.get(13)?,
        })
    }

    pub(super) fn revision(&self) -> i64 {
        self.revision
    }

    pub(super) fn into_user(self) -> Result<User, StoreError> {
        let tags: Vec<String> = serde_json::from_str(&self.tags).map_err(internal)?;
        let metadata: HashMap<String, String> = serde_json::from_str(&self.metadata).map_err(internal)?;
        let [street, city, state, country, postal_code] = self.address;
        let address = Address {
            street,
            city,
            state,
            country,
            postal_code,
        };
        Ok(User {
            etag: etag(&self.id, self.revision),
            id: self.id,
            name: self.name,
            email: self.email,
            role: self.role,
            // Always present, so every user has the same JSON shape.
            address: Some(address),
            tags,
            metadata,
            created_at: Some(from_nanos(self.created_at_nanos)),
            updated_at: Some(from_nanos(self.updated_at_nanos)),
        })
    }
}

/// The values to insert for a user, in `INSERT_COLUMNS` order.
pub(super) struct NewRow {
    pub(super) address: Address,
    pub(super) email_key: String,
    pub(super) tags: String,
    pub(super) metadata: String,
    pub(super) created_at_nanos: i64,
    pub(super) updated_at_nanos: i64,
}

impl NewRow {
    pub(super) fn from_user(user: &User) -> Result<Self, StoreError> {
        Ok(Self {
            address: user.address.clone().unwrap_or_default(),
            email_key: email_key(&user.email),
            tags: serde_json::to_string(&user.tags).map_err(internal)?,
            metadata: serde_json::to_string(&user.metadata).map_err(internal)?,
            created_at_nanos: to_nanos(user.created_at.as_ref())?,
            updated_at_nanos: to_nanos(user.updated_at.as_ref())?,
        })
    }
}

/// The etag of revision `revision` of user `id`: opaque, and different for
/// every write of the row (the revision grows by one on each) and, with
/// overwhelming likelihood, between users. A concurrency token, not a
/// secret: 64 bits of FNV-1a over the id and the revision, base64url (11
/// characters). Fixed here, so etags survive restarts and upgrades.
pub(super) fn etag(id: &str, revision: i64) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = id.bytes().chain([0]).chain(revision.to_le_bytes());
    let hash = bytes.fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    URL_SAFE_NO_PAD.encode(hash.to_be_bytes())
}

/// The case-insensitive form of an email that uniqueness is checked on.
pub(super) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

pub(super) fn to_nanos(ts: Option<&Timestamp>) -> Result<i64, StoreError> {
    let ts = ts.ok_or_else(|| StoreError::Internal("user timestamp is missing".into()))?;
    ts.seconds
        .checked_mul(1_000_000_000)
        .and_then(|nanos| nanos.checked_add(i64::from(ts.nanos)))
        .ok_or_else(|| StoreError::Internal("user timestamp is out of range".into()))
}

pub(super) fn from_nanos(nanos: i64) -> Timestamp {
    Timestamp {
        seconds: nanos.div_euclid(1_000_000_000),
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

//! Opaque `ListUsers` page tokens: the keyset [`Cursor`] of a page's last
//! row (its sort-key values and id), encrypted and authenticated with
//! ChaCha20-Poly1305 under a key derived from the database's page-token
//! key, with a random nonce, and base64url-encoded without padding.
//!
//! The associated data is a hash of the request's `filter` and `order_by`,
//! so a token only decrypts with the filter and order it was issued for;
//! an edited or forged token fails the same way. Nothing in a token is
//! readable, not even the id.
//!
//! Layout: `version (1) | nonce (12) | ciphertext | tag (16)`; the
//! plaintext is, per sort key, `'i' + i64 LE` or `'s' + u32 LE length +
//! UTF-8`, then the id as UTF-8.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use sha2::{Digest, Sha256};

use super::listing::{Cursor, KeyValue};

/// The format version, the first byte of every token.
const VERSION: u8 = 2;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The token could not be decrypted: altered, forged, from another
/// database, or issued for another filter or order.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "page_token is invalid: it was altered, or it was issued for a different filter or order_by \
     (a token is only valid with the filter and order_by of the request that returned it)"
)]
pub(crate) struct InvalidPageToken;

/// Seals and opens page tokens with one key.
#[derive(Clone)]
pub(crate) struct PageTokens {
    cipher: ChaCha20Poly1305,
}

impl PageTokens {
    /// Tokens under a key derived from the database's 32-byte `key`.
    pub(crate) fn new(key: [u8; 32]) -> Self {
        let mut derive = Sha256::new();
        derive.update(b"users.v1 ListUsers page token v2\0");
        derive.update(key);
        let derived: [u8; 32] = derive.finalize().into();
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&derived)),
        }
    }

    /// The token that resumes a listing with this `filter` and `order_by`
    /// after `cursor`.
    pub(crate) fn encode(&self, cursor: &Cursor, filter: &str, order_by: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the system random number generator works");
        let aad = associated_data(filter, order_by);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &serialize(cursor),
                    aad: &aad,
                },
            )
            .expect("encrypting a small payload cannot fail");
        let mut bytes = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        bytes.push(VERSION);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The cursor a token resumes after; fails for anything not sealed by
    /// this key for this `filter` and `order_by`, byte for byte.
    pub(crate) fn decode(
        &self,
        token: &str,
        filter: &str,
        order_by: &str,
    ) -> Result<Cursor, InvalidPageToken> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidPageToken)?;
        if bytes.len() < 1 + NONCE_LEN + TAG_LEN || bytes[0] != VERSION {
            return Err(InvalidPageToken);
        }
        let (nonce, sealed) = bytes[1..].split_at(NONCE_LEN);
        let aad = associated_data(filter, order_by);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| InvalidPageToken)?;
        deserialize(&plain).ok_or(InvalidPageToken)
    }
}

fn associated_data(filter: &str, order_by: &str) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update([VERSION]);
    hash.update((filter.len() as u64).to_le_bytes());
    hash.update(filter.as_bytes());
    hash.update(order_by.as_bytes());
    hash.finalize().to_vec()
}

fn serialize(cursor: &Cursor) -> Vec<u8> {
    let mut out = Vec::with_capacity(cursor.id.len() + 16);
    for key in &cursor.keys {
        match key {
            KeyValue::Int(n) => {
                out.push(b'i');
                out.extend_from_slice(&n.to_le_bytes());
            }
            KeyValue::Text(text) => {
                out.push(b's');
                let len = u32::try_from(text.len()).expect("sort keys are far below 4 GiB");
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out.push(b'#');
    out.extend_from_slice(cursor.id.as_bytes());
    out
}

fn deserialize(mut bytes: &[u8]) -> Option<Cursor> {
    let mut keys = Vec::new();
    loop {
        let (&tag, rest) = bytes.split_first()?;
        bytes = rest;
        match tag {
            b'i' => {
                let (n, rest) = bytes.split_first_chunk::<8>()?;
                keys.push(KeyValue::Int(i64::from_le_bytes(*n)));
                bytes = rest;
            }
            b's' => {
                let (len, rest) = bytes.split_first_chunk::<4>()?;
                let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
                if rest.len() < len {
                    return None;
                }
                let (text, rest) = rest.split_at(len);
                keys.push(KeyValue::Text(String::from_utf8(text.to_vec()).ok()?));
                bytes = rest;
            }
            b'#' => {
                let id = String::from_utf8(bytes.to_vec()).ok()?;
                return Some(Cursor { keys, id });
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190b0c2-7a3e-7c1d-9f2a-4b5c6d7e8f90";

    fn tokens() -> PageTokens {
        PageTokens::new([7; 32])
    }

    fn cursor() -> Cursor {
        Cursor {
            keys: vec![
                KeyValue::Text("Ada Lovelace".into()),
                KeyValue::Int(-42),
                KeyValue::Text(String::new()),
            ],
            id: ID.into(),
        }
    }

    fn tampered(token: &str, index: usize) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
        bytes[index] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn decodes_only_what_it_sealed_for_the_same_request() {
        let (filter, order_by) = ("tags:\"vip\"", "name desc");
        let good = tokens().encode(&cursor(), filter, order_by);
        let other_key = PageTokens::new([8; 32]).encode(&cursor(), filter, order_by);
        let truncated = good[..good.len() - 4].to_owned();
        let last = URL_SAFE_NO_PAD.decode(&good).unwrap().len() - 1;
        // (case, token, filter, order_by, ok?)
        let cases: Vec<(&str, String, &str, &str, bool)> = vec![
            ("round trip", good.clone(), filter, order_by, true),
            ("other filter", good.clone(), "tags:\"vipp\"", order_by, false),
            ("no filter", good.clone(), "", order_by, false),
            ("other order", good.clone(), filter, "name", false),
            (
                "fields shifted between the two",
                good.clone(),
                "tags:\"vip\"name",
                " desc",
                false,
            ),
            ("tampered version", tampered(&good, 0), filter, order_by, false),
            ("tampered nonce", tampered(&good, 3), filter, order_by, false),
            (
                "tampered ciphertext",
                tampered(&good, 1 + NONCE_LEN + 2),
                filter,
                order_by,
                false,
            ),
            ("tampered tag", tampered(&good, last), filter, order_by, false),
            ("truncated", truncated, filter, order_by, false),
            ("appended", format!("{good}AA"), filter, order_by, false),
            ("other key", other_key, filter, order_by, false),
            ("garbage", "not a token!".into(), filter, order_by, false),
            ("padded", format!("{good}="), filter, order_by, false),
            ("empty", String::new(), filter, order_by, false),
            ("zeros", "A".repeat(60), filter, order_by, false),
        ];
        for (name, token, filter, order_by, ok) in cases {
            let expected = if ok { Ok(cursor()) } else { Err(InvalidPageToken) };
            assert_eq!(tokens().decode(&token, filter, order_by), expected, "{name}");
        }
    }

    #[test]
    fn is_url_safe_opaque_and_fresh_each_time() {
        let first = tokens().encode(&cursor(), "", "");
        let second = tokens().encode(&cursor(), "", "");
        assert_ne!(first, second, "random nonces");
        for token in [&first, &second] {
            assert!(
                token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            let bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
            let raw = String::from_utf8_lossy(&bytes);
            assert!(!raw.contains(ID) && !raw.contains("Ada"), "nothing in clear text");
        }
        assert_eq!(tokens().decode(&first, "", ""), Ok(cursor()));
    }

    #[test]
    fn payload_round_trips_and_rejects_malformed_plaintext() {
        for cursor in [
            cursor(),
            Cursor {
                keys: vec![],
                id: "x".into(),
            },
            Cursor {
                keys: vec![KeyValue::Int(i64::MAX), KeyValue::Text("#s#i".into())],
                id: String::new(),
            },
        ] {
            assert_eq!(deserialize(&serialize(&cursor)), Some(cursor));
        }
        for bad in [
            &b""[..],
            b"x",
            b"i123",
            b"s\x05\0\0\0ab#",
            b"s\x01\0\0\0\xff#id",
            b"#\xff",
        ] {
            assert_eq!(deserialize(bad), None, "{bad:?}");
        }
    }
}

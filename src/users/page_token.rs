//! Opaque `ListUsers` page tokens: the cursor (the last id of a page),
//! signed with HMAC-SHA256 and encoded as base64url without padding, so a
//! client can neither read meaning into a token nor forge one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The format version, the first byte of every token.
const VERSION: u8 = 1;
const MAC_LEN: usize = 32;

/// The token could not be decoded or its signature does not match.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("page_token is invalid")]
pub(crate) struct InvalidPageToken;

/// Signs and checks page tokens with one key.
#[derive(Clone)]
pub(crate) struct PageTokens {
    key: [u8; 32],
}

impl PageTokens {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The token that resumes a listing after `last_id`.
    pub(crate) fn encode(&self, last_id: &str) -> String {
        let mut bytes = Vec::with_capacity(1 + last_id.len() + MAC_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(last_id.as_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The id a token resumes after; fails for anything this key did not
    /// sign, byte for byte.
    pub(crate) fn decode(&self, token: &str) -> Result<String, InvalidPageToken> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| InvalidPageToken)?;
        if bytes.len() <= 1 + MAC_LEN {
            return Err(InvalidPageToken);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        self.mac(payload)
            .verify_slice(tag)
            .map_err(|_| InvalidPageToken)?;
        if payload[0] != VERSION {
            return Err(InvalidPageToken);
        }
        String::from_utf8(payload[1..].to_vec()).map_err(|_| InvalidPageToken)
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190b0c2-7a3e-7c1d-9f2a-4b5c6d7e8f90";

    fn tokens() -> PageTokens {
        PageTokens::new([7; 32])
    }

    fn tampered(token: &str, index: usize) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
        bytes[index] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn decodes() {
        let good = tokens().encode(ID);
        let other_key = PageTokens::new([8; 32]).encode(ID);
        let truncated = good[..good.len() - 4].to_owned();
        let cases: Vec<(&str, String, Result<String, InvalidPageToken>)> = vec![
            ("round trip", good.clone(), Ok(ID.to_owned())),
            ("tampered version", tampered(&good, 0), Err(InvalidPageToken)),
            ("tampered cursor", tampered(&good, 5), Err(InvalidPageToken)),
            (
                "tampered mac",
                tampered(&good, 1 + ID.len() + 3),
                Err(InvalidPageToken),
            ),
            ("truncated", truncated, Err(InvalidPageToken)),
            ("appended", format!("{good}AA"), Err(InvalidPageToken)),
            ("other key", other_key, Err(InvalidPageToken)),
            ("garbage", "not a token!".to_owned(), Err(InvalidPageToken)),
            (
                "base64 garbage",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
                Err(InvalidPageToken),
            ),
            ("padded", format!("{good}="), Err(InvalidPageToken)),
            ("empty", String::new(), Err(InvalidPageToken)),
        ];
        for (name, token, expected) in cases {
            assert_eq!(tokens().decode(&token), expected, "{name}");
        }
    }

    #[test]
    fn is_url_safe_and_opaque() {
        let token = tokens().encode(ID);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert!(!token.contains(ID));
    }
}

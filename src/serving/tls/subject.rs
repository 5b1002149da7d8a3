//! A certificate's subject as text, for [`ClientCertificate`]: its
//! attributes in the certificate's order, `CN=billing,O=Example`, values
//! escaped as RFC 4514 does (`\,`), a value that is no string as `#` and
//! its hex bytes.

use std::fmt::Write as _;

use x509_parser::prelude::{FromDer as _, X509Certificate};

use crate::transcode::ClientCertificate;

/// The subject of the DER certificate `der`; `None` if it does not parse.
pub(crate) fn client_certificate(der: &[u8]) -> Option<ClientCertificate> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let registry = x509_parser::objects::oid_registry();
    let mut subject = String::new();
    for (index, rdn) in certificate.subject().iter_rdn().enumerate() {
        if index > 0 {
            subject.push(',');
        }
        for (position, attribute) in rdn.iter().enumerate() {
            if position > 0 {
                subject.push('+');
            }
            match x509_parser::objects::oid2abbrev(attribute.attr_type(), registry) {
                Ok(name) => subject.push_str(name),
                Err(_) => subject.push_str(&attribute.attr_type().to_id_string()),
            }
            subject.push('=');
            match attribute.as_str() {
                Ok(value) => escape(value, &mut subject),
                Err(_) => {
                    subject.push('#');
                    for byte in attribute.as_slice() {
                        let _ = write!(subject, "{byte:02x}");
                    }
                }
            }
        }
    }
    Some(ClientCertificate {
        subject: subject.into(),
    })
}

/// RFC 4514 §2.4: the specials, a leading `#` or space, a trailing space.
fn escape(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (index == 0 && matches!(c, '#' | ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_are_escaped() {
        let cases = [
            ("billing", "billing"),
            ("Example, Inc.", "Example\\, Inc."),
            ("#1", "\\#1"),
            (" a ", "\\ a\\ "),
            ("a=b+c", "a\\=b\\+c"),
        ];
        for (value, escaped) in cases {
            let mut out = String::new();
            escape(value, &mut out);
            assert_eq!(out, escaped, "{value:?}");
        }
    }
}

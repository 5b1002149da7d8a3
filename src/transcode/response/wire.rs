//! Reading the protobuf wire format: the field occurrences of one message
//! (number and raw value, in wire order, borrowing the bytes), and the few
//! lookups the response headers need.
//!
//! `read_fields(&[8, 150, 1])` is `[(1, Raw::Varint(150))]`.

use prost_reflect::{FieldDescriptor, Kind};
use smallvec::SmallVec;

/// Why bytes could not be read or rendered.
#[derive(Debug, thiserror::Error)]
#[error("malformed protobuf message: {0}")]
pub(crate) struct WireError(pub(crate) &'static str);

/// One field value as it sits on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// The bytes of the singular message field `number` of `bytes` (empty when
/// absent: the default message).
pub(crate) fn message_field(bytes: &[u8], number: u32) -> Result<&[u8], WireError> {
    match last_of(&read_fields(bytes)?, number) {
        Some(Raw::Bytes(inner)) => Ok(inner),
        None => Ok(&[]),
        Some(_) => Err(WireError("wrong wire type")),
    }
}

/// The text of the scalar field at `path` (a chain of singular message
/// fields, then a scalar), as a header would carry it: strings as they
/// are, numbers in decimal, enums by name.
pub(crate) fn scalar_text(bytes: &[u8], path: &[FieldDescriptor]) -> Result<String, WireError> {
    let (leaf, parents) = path.split_last().ok_or(WireError("empty field path"))?;
    let mut current = bytes;
    for parent in parents {
        current = message_field(current, parent.number())?;
    }
    let raw = last_of(&read_fields(current)?, leaf.number());
    let text = match (leaf.kind(), raw) {
        (Kind::String, Some(Raw::Bytes(text))) => std::str::from_utf8(text)
            .map_err(|_| WireError("a string is not valid UTF-8"))?
            .to_owned(),
        (Kind::String, None) => String::new(),
        (Kind::Enum(enumeration), raw) => {
            let number = match raw {
                Some(Raw::Varint(v)) => v as i32,
                _ => 0,
            };
            enumeration
                .get_value(number)
                .map_or_else(|| number.to_string(), |value| value.name().to_owned())
        }
        (Kind::Bool, Some(Raw::Varint(v))) => (v != 0).to_string(),
        (Kind::Sint32 | Kind::Sint64, Some(Raw::Varint(v))) => zigzag64(v).to_string(),
        (Kind::Int32 | Kind::Int64, Some(Raw::Varint(v))) => (v as i64).to_string(),
        (_, Some(Raw::Varint(v))) => v.to_string(),
        (_, None) => "0".to_owned(),
        _ => return Err(WireError("not a scalar field")),
    };
    Ok(text)
}

/// The last occurrence of a singular field (protobuf's "last one wins").
pub(crate) fn last_of<'a>(fields: &[(u32, Raw<'a>)], number: u32) -> Option<Raw<'a>> {
    fields
        .iter()
        .rev()
        .find(|(n, _)| *n == number)
        .map(|(_, raw)| *raw)
}

pub(crate) fn zigzag32(value: u32) -> i32 {
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

pub(crate) fn zigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// How many field occurrences are kept on the stack before spilling.
const INLINE_OCCURRENCES: usize = 16;

/// The field occurrences of one message, in wire order; the first few
/// without a heap allocation (and without initialising unused slots).
pub(crate) type Occurrences<'a> = SmallVec<[(u32, Raw<'a>); INLINE_OCCURRENCES]>;

/// Every field occurrence of one message, in wire order.
pub(crate) fn read_fields(bytes: &[u8]) -> Result<Occurrences<'_>, WireError> {
    let mut fields = Occurrences::new();
    read_fields_into(bytes, &mut fields)?;
    Ok(fields)
}

/// [`read_fields`] into the caller's (empty) list: the render hot path,
/// which keeps the list where it is instead of moving it out of a result.
pub(crate) fn read_fields_into<'a>(
    mut bytes: &'a [u8],
    fields: &mut Occurrences<'a>,
) -> Result<(), WireError> {
    while !bytes.is_empty() {
        let key = read_varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError("field number out of range"))?;
        let raw = match key & 7 {
            0 => Raw::Varint(read_varint(&mut bytes)?),
            1 => Raw::Fixed64(u64::from_le_bytes(take::<8>(&mut bytes)?)),
            2 => {
                let length = usize::try_from(read_varint(&mut bytes)?).map_err(|_| WireError("length"))?;
                if length > bytes.len() {
                    return Err(WireError("truncated length-delimited field"));
                }
                let (value, rest) = bytes.split_at(length);
                bytes = rest;
                Raw::Bytes(value)
            }
            5 => Raw::Fixed32(u32::from_le_bytes(take::<4>(&mut bytes)?)),
            _ => return Err(WireError("unsupported wire type")),
        };
        fields.push((number, raw));
    }
    Ok(())
}

pub(crate) fn read_varint(bytes: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(WireError("truncated varint"))?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(WireError("varint longer than 10 bytes"))
}

pub(crate) fn take<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], WireError> {
    if bytes.len() < N {
        return Err(WireError("truncated fixed-width field"));
    }
    let (head, rest) = bytes.split_at(N);
    *bytes = rest;
    Ok(head.try_into().expect("split at N"))
}

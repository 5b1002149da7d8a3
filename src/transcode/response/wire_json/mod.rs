//! Protobuf wire bytes straight to proto3 JSON, with no intermediate
//! message tree: the response hot path.
//!
//! At start, `JsonPlans` turns every message of the descriptor pool into a
//! plan (`plan.rs`); rendering then walks the wire bytes once per message.
//! The output is what `prost-reflect`'s serializer gives with every
//! unpopulated field included: fields in number order, lowerCamelCase
//! names, 64-bit integers as strings, enums by name, well-known types in
//! their JSON forms (`Any`, `Struct`, `Value` and `ListValue` are handed to
//! `prost-reflect`).
//!
//! `User { id: "u1", role: 1, … }` bytes render as
//! `{"id":"u1","name":"","email":"","role":"USER_ROLE_ADMIN",…}`.

mod plan;
mod scalars;

use std::collections::HashMap;

use base64::Engine as _;
use prost_reflect::{DescriptorPool, MessageDescriptor};

use super::wire::{
    Occurrences, Raw, WireError, last_of, read_fields, read_fields_into, read_varint, take, zigzag32,
    zigzag64,
};
use plan::{FieldPlan, MessagePlan, Shape, ValueKind};
use scalars::{
    separate, write_duration, write_field_mask, write_float, write_json_string, write_number, write_quoted,
    write_timestamp, write_utf8_string, write_with_reflection,
};

/// Render plans for every message of a descriptor pool.
pub(crate) struct JsonPlans {
    messages: Vec<MessagePlan>,
    by_name: HashMap<String, usize>,
}

impl JsonPlans {
    pub(crate) fn new(pool: &DescriptorPool) -> Self {
        let (messages, by_name) = plan::build(pool);
        JsonPlans { messages, by_name }
    }

    /// Renders the message `bytes` of type `message` as JSON onto `out`.
    pub(crate) fn write(
        &self,
        message: &MessageDescriptor,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let index = *self
            .by_name
            .get(message.full_name())
            .ok_or(WireError("a message type outside the pool"))?;
        self.write_message(index, bytes, out)
    }

    fn write_message(&self, index: usize, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
        let fields = match &self.messages[index] {
            MessagePlan::Fields(fields) => fields,
            MessagePlan::Timestamp => return write_timestamp(bytes, out),
            MessagePlan::Duration => return write_duration(bytes, out),
            MessagePlan::FieldMask => return write_field_mask(bytes, out),
            MessagePlan::Empty => {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            MessagePlan::Wrapper(kind) => {
                return self.write_singular(kind, last_of(&read_fields(bytes)?, 1), out);
            }
            MessagePlan::Reflect(descriptor) => return write_with_reflection(descriptor, bytes, out),
        };
        let mut occurrences = Occurrences::new();
        read_fields_into(bytes, &mut occurrences)?;
        // Encoders write fields in number order, as the plan lists them:
        // then each field's occurrences are the next run, found in one pass.
        let in_number_order = occurrences.windows(2).all(|pair| pair[0].0 <= pair[1].0);
        let mut next = 0;
        out.push(b'{');
        let mut first = true;
        for field in fields {
            let out_of_order_run: Occurrences;
            let run: &[(u32, Raw<'_>)] = if in_number_order {
                while next < occurrences.len() && occurrences[next].0 < field.number {
                    next += 1;
                }
                let start = next;
                while next < occurrences.len() && occurrences[next].0 == field.number {
                    next += 1;
                }
                &occurrences[start..next]
            } else {
                out_of_order_run = occurrences
                    .iter()
                    .filter(|(number, _)| *number == field.number)
                    .copied()
                    .collect();
                &out_of_order_run
            };
            if run.is_empty() && matches!(field.shape, Shape::Singular { presence: true }) {
                continue;
            }
            separate(&mut first, out);
            out.extend_from_slice(&field.key);
            match &field.shape {
                // Protobuf's "last one wins".
                Shape::Singular { .. } => {
                    self.write_singular(&field.kind, run.last().map(|(_, raw)| *raw), out)?
                }
                Shape::List => self.write_list(field, run, out)?,
                Shape::Map { key, value } => self.write_map(key, value, run, out)?,
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// A value, or the kind's default when absent.
    fn write_singular(
        &self,
        kind: &ValueKind,
        raw: Option<Raw<'_>>,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let raw = raw.unwrap_or(match kind {
            ValueKind::String | ValueKind::Bytes | ValueKind::Message(_) => Raw::Bytes(&[]),
            ValueKind::Fixed32 | ValueKind::Sfixed32 | ValueKind::Float => Raw::Fixed32(0),
            ValueKind::Fixed64 | ValueKind::Sfixed64 | ValueKind::Double => Raw::Fixed64(0),
            _ => Raw::Varint(0),
        });
        self.write_value(kind, raw, out)
    }

    fn write_value(&self, kind: &ValueKind, raw: Raw<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
        match (kind, raw) {
            (ValueKind::Message(index), Raw::Bytes(bytes)) => return self.write_message(*index, bytes, out),
            (ValueKind::String, Raw::Bytes(bytes)) => write_utf8_string(bytes, out)?,
            (ValueKind::Bytes, Raw::Bytes(bytes)) => {
                write_json_string(&base64::engine::general_purpose::STANDARD.encode(bytes), out);
            }
            (ValueKind::Int32, Raw::Varint(v)) => write_number(out, v as i32),
            (ValueKind::Sint32, Raw::Varint(v)) => write_number(out, zigzag32(v as u32)),
            (ValueKind::Uint32, Raw::Varint(v)) => write_number(out, v as u32),
            (ValueKind::Int64, Raw::Varint(v)) => write_quoted(out, v as i64),
            (ValueKind::Sint64, Raw::Varint(v)) => write_quoted(out, zigzag64(v)),
            (ValueKind::Uint64, Raw::Varint(v)) => write_quoted(out, v),
            (ValueKind::Bool, Raw::Varint(v)) => {
                out.extend_from_slice(if v != 0 { b"true" } else { b"false" })
            }
            (ValueKind::Enum(names), Raw::Varint(v)) => match names.get(&(v as i32)) {
                Some(quoted) => out.extend_from_slice(quoted),
                None => write_number(out, v as i32),
            },
            (ValueKind::Fixed32, Raw::Fixed32(v)) => write_number(out, v),
            (ValueKind::Sfixed32, Raw::Fixed32(v)) => write_number(out, v as i32),
            (ValueKind::Float, Raw::Fixed32(v)) => {
                write_float(out, f64::from(f32::from_bits(v)), Some(f32::from_bits(v)));
            }
            (ValueKind::Fixed64, Raw::Fixed64(v)) => write_quoted(out, v),
            (ValueKind::Sfixed64, Raw::Fixed64(v)) => write_quoted(out, v as i64),
            (ValueKind::Double, Raw::Fixed64(v)) => write_float(out, f64::from_bits(v), None),
            _ => return Err(WireError("wrong wire type")),
        }
        Ok(())
    }

    /// A repeated field from `run`, its occurrences.
    fn write_list(
        &self,
        field: &FieldPlan,
        run: &[(u32, Raw<'_>)],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        out.push(b'[');
        let mut first = true;
        for (_, raw) in run {
            match (raw, packed_width(&field.kind)) {
                (Raw::Bytes(packed), Some(width)) => {
                    let mut rest = *packed;
                    while !rest.is_empty() {
                        let element = match width {
                            0 => Raw::Varint(read_varint(&mut rest)?),
                            4 => Raw::Fixed32(u32::from_le_bytes(take::<4>(&mut rest)?)),
                            _ => Raw::Fixed64(u64::from_le_bytes(take::<8>(&mut rest)?)),
                        };
                        separate(&mut first, out);
                        self.write_value(&field.kind, element, out)?;
                    }
                }
                _ => {
                    separate(&mut first, out);
                    self.write_value(&field.kind, *raw, out)?;
                }
            }
        }
        out.push(b']');
        Ok(())
    }

    /// A map field from `run`, its entries.
    fn write_map(
        &self,
        key: &ValueKind,
        value: &ValueKind,
        run: &[(u32, Raw<'_>)],
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        // Object keys are strings: quote the keys whose JSON is not one.
        let key_is_string = matches!(
            key,
            ValueKind::String
                | ValueKind::Int64
                | ValueKind::Uint64
                | ValueKind::Sint64
                | ValueKind::Fixed64
                | ValueKind::Sfixed64
        );
        out.push(b'{');
        let mut first = true;
        for (_, raw) in run {
            let Raw::Bytes(entry) = raw else {
                return Err(WireError("map entry is not length-delimited"));
            };
            let entry = read_fields(entry)?;
            separate(&mut first, out);
            if !key_is_string {
                out.push(b'"');
            }
            self.write_singular(key, last_of(&entry, 1), out)?;
            if !key_is_string {
                out.push(b'"');
            }
            out.push(b':');
            self.write_singular(value, last_of(&entry, 2), out)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// The width of one packed element: 0 for varints, 4 or 8 for fixed; `None`
/// for kinds that are never packed.
fn packed_width(kind: &ValueKind) -> Option<usize> {
    match kind {
        ValueKind::Int32
        | ValueKind::Int64
        | ValueKind::Uint32
        | ValueKind::Uint64
        | ValueKind::Sint32
        | ValueKind::Sint64
        | ValueKind::Bool
        | ValueKind::Enum(_) => Some(0),
        ValueKind::Fixed32 | ValueKind::Sfixed32 | ValueKind::Float => Some(4),
        ValueKind::Fixed64 | ValueKind::Sfixed64 | ValueKind::Double => Some(8),
        ValueKind::String | ValueKind::Bytes | ValueKind::Message(_) => None,
    }
}

#[cfg(test)]
mod tests;

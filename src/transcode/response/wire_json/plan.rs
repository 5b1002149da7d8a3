//! Render plans, built once at start for every message of the pool: the
//! fields in number order, each with its JSON key already quoted, its kind
//! and shape, enum names already quoted, and the well-known types marked.

use std::collections::HashMap;
use std::sync::Arc;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};

use super::scalars::write_json_string;

pub(super) enum MessagePlan {
    Fields(Vec<FieldPlan>),
    Timestamp,
    Duration,
    FieldMask,
    Empty,
    /// A wrapper type: the JSON of its `value` field.
    Wrapper(ValueKind),
    /// `Any`, `Struct`, `Value`, `ListValue`: rendered by prost-reflect.
    Reflect(MessageDescriptor),
}

pub(super) struct FieldPlan {
    pub(super) number: u32,
    /// `"jsonName":`
    pub(super) key: Box<[u8]>,
    pub(super) kind: ValueKind,
    pub(super) shape: Shape,
}

pub(super) enum Shape {
    /// `presence`: left out when absent (messages, oneof members, `optional`).
    Singular {
        presence: bool,
    },
    List,
    Map {
        key: ValueKind,
        value: ValueKind,
    },
}

#[derive(Clone)]
pub(super) enum ValueKind {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(Arc<EnumNames>),
    /// The index of the message's plan.
    Message(usize),
}

/// The quoted JSON names of an enum's values, by number.
pub(super) type EnumNames = HashMap<i32, Box<[u8]>>;

/// The plans of every message in `pool`, and their indices by full name.
pub(super) fn build(pool: &DescriptorPool) -> (Vec<MessagePlan>, HashMap<String, usize>) {
    let by_name: HashMap<String, usize> = pool
        .all_messages()
        .enumerate()
        .map(|(index, message)| (message.full_name().to_owned(), index))
        .collect();
    let mut builder = Builder {
        by_name: &by_name,
        enums: HashMap::new(),
    };
    let plans = pool
        .all_messages()
        .map(|message| builder.message(&message))
        .collect();
    (plans, by_name)
}

struct Builder<'a> {
    by_name: &'a HashMap<String, usize>,
    enums: HashMap<String, Arc<EnumNames>>,
}

impl Builder<'_> {
    fn message(&mut self, message: &MessageDescriptor) -> MessagePlan {
        match message.full_name() {
            "google.protobuf.Timestamp" => MessagePlan::Timestamp,
            "google.protobuf.Duration" => MessagePlan::Duration,
            "google.protobuf.FieldMask" => MessagePlan::FieldMask,
            "google.protobuf.Empty" => MessagePlan::Empty,
            "google.protobuf.Any"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue" => MessagePlan::Reflect(message.clone()),
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                match message.get_field(1) {
                    Some(value) => MessagePlan::Wrapper(self.kind(&value.kind())),
                    None => MessagePlan::Fields(Vec::new()),
                }
            }
            _ => MessagePlan::Fields(message.fields().map(|field| self.field(&field)).collect()),
        }
    }

    fn field(&mut self, field: &FieldDescriptor) -> FieldPlan {
        let mut key = Vec::new();
        write_json_string(field.json_name(), &mut key);
        key.push(b':');
        let kind = field.kind();
        let shape = match &kind {
            Kind::Message(entry) if field.is_map() => Shape::Map {
                key: self.kind(&entry.map_entry_key_field().kind()),
                value: self.kind(&entry.map_entry_value_field().kind()),
            },
            _ if field.is_list() => Shape::List,
            _ => Shape::Singular {
                presence: field.supports_presence(),
            },
        };
        FieldPlan {
            number: field.number(),
            key: key.into_boxed_slice(),
            kind: self.kind(&kind),
            shape,
        }
    }

    fn kind(&mut self, kind: &Kind) -> ValueKind {
        match kind {
            Kind::Double => ValueKind::Double,
            Kind::Float => ValueKind::Float,
            Kind::Int32 => ValueKind::Int32,
            Kind::Int64 => ValueKind::Int64,
            Kind::Uint32 => ValueKind::Uint32,
            Kind::Uint64 => ValueKind::Uint64,
            Kind::Sint32 => ValueKind::Sint32,
            Kind::Sint64 => ValueKind::Sint64,
            Kind::Fixed32 => ValueKind::Fixed32,
            Kind::Fixed64 => ValueKind::Fixed64,
            Kind::Sfixed32 => ValueKind::Sfixed32,
            Kind::Sfixed64 => ValueKind::Sfixed64,
            Kind::Bool => ValueKind::Bool,
            Kind::String => ValueKind::String,
            Kind::Bytes => ValueKind::Bytes,
            Kind::Message(message) => ValueKind::Message(self.by_name[message.full_name()]),
            Kind::Enum(enumeration) => {
                let names = self
                    .enums
                    .entry(enumeration.full_name().to_owned())
                    .or_insert_with(|| {
                        let quoted = enumeration.values().map(|value| {
                            let mut name = Vec::new();
                            write_json_string(value.name(), &mut name);
                            (value.number(), name.into_boxed_slice())
                        });
                        Arc::new(quoted.collect())
                    });
                ValueKind::Enum(names.clone())
            }
        }
    }
}

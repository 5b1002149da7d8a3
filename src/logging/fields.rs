//! How span fields are written in log lines: as `tracing-subscriber`
//! writes them (text or JSON), without the `otel.*` fields, which tell the
//! trace exporter a span's name and kind and would only repeat, on every
//! line of a call, the method that its line names already.
//!
//! ```text
//! INFO request{request_id="order-42"}: gateway::logging::calls: call …
//! ```
//!
//! rather than `request{request_id="order-42" otel.name="users.v1.UserService/GetUser" otel.kind="server"}`.
//!
//! Text fields are written by a visitor of ours ([`PlainText`]): the
//! default one styles each name and value through three nested format
//! calls, which cost more than the rest of a point read's logging (the
//! request span's fields are formatted once per call, when it is made).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput as _};
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::fmt::format::{FormatFields, JsonVisitor, Writer};

/// Span and event fields as text (`name=value`, space-separated).
#[derive(Debug, Default)]
pub(super) struct TextFields;

/// Span and event fields as a JSON object.
#[derive(Debug, Default)]
pub(super) struct JsonFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = WithoutOtel(PlainText::new(writer, true));
        fields.record(&mut visitor);
        visitor.0.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        // The visitor puts a space before each field but the line's first.
        let is_empty = current.fields.is_empty();
        let mut visitor = WithoutOtel(PlainText::new(current.as_writer(), is_empty));
        fields.record(&mut visitor);
        visitor.0.result
    }
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = WithoutOtel(JsonVisitor::new(&mut writer));
        fields.record(&mut visitor);
        visitor.0.finish()
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut added = String::new();
        self.format_fields(Writer::new(&mut added), fields)?;
        let mut added: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&added).map_err(|_| fmt::Error)?;
        if added.is_empty() {
            return Ok(());
        }
        if !current.fields.is_empty() {
            let earlier: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&current.fields).map_err(|_| fmt::Error)?;
            for (name, value) in earlier {
                added.entry(name).or_insert(value);
            }
        }
        current.fields = serde_json::to_string(&added).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

/// Fields as `name=value`, space-separated, the message bare: a string
/// as it is when nothing in it needs quoting, else quoted and escaped as
/// `Debug` writes it; other values as `Debug` writes them.
struct PlainText<'writer> {
    writer: Writer<'writer>,
    /// Whether the next field is the first written (no space before it).
    first: bool,
    result: fmt::Result,
}

impl<'writer> PlainText<'writer> {
    fn new(writer: Writer<'writer>, first: bool) -> Self {
        PlainText {
            writer,
            first,
            result: Ok(()),
        }
    }

    fn write(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'writer>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let separated = if self.first {
            Ok(())
        } else {
            fmt::Write::write_char(&mut self.writer, ' ')
        };
        self.first = false;
        let named = match field.name() {
            "message" => Ok(()),
            name => fmt::Write::write_str(&mut self.writer, name)
                .and_then(|()| fmt::Write::write_char(&mut self.writer, '=')),
        };
        self.result = separated.and(named).and_then(|()| value(&mut self.writer));
    }
}

impl Visit for PlainText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let bare = field.name() == "message"
            || (!value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic() && byte != b'"'));
        self.write(field, |writer| match bare {
            true => fmt::Write::write_str(writer, value),
            false => write!(writer, "{value:?}"),
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, |writer| write!(writer, "{value:?}"));
    }
}

/// Hands `V` every field but the `otel.*` ones.
struct WithoutOtel<V>(V);

impl<V> WithoutOtel<V> {
    fn shown(field: &Field) -> bool {
        !field.name().starts_with("otel.")
    }
}

impl<V: Visit> Visit for WithoutOtel<V> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if Self::shown(field) {
            self.0.record_debug(field, value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if Self::shown(field) {
            self.0.record_str(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if Self::shown(field) {
            self.0.record_i64(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if Self::shown(field) {
            self.0.record_u64(field, value);
        }
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        if Self::shown(field) {
            self.0.record_i128(field, value);
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        if Self::shown(field) {
            self.0.record_u128(field, value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if Self::shown(field) {
            self.0.record_f64(field, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if Self::shown(field) {
            self.0.record_bool(field, value);
        }
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        if Self::shown(field) {
            self.0.record_bytes(field, value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if Self::shown(field) {
            self.0.record_error(field, value);
        }
    }
}

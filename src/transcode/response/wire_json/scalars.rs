//! Writing scalar JSON values: numbers (64-bit ones quoted), floats with
//! proto3's `NaN`/`Infinity` strings, strings, and the well-known types
//! whose JSON is a string (`Timestamp`, `Duration`, `FieldMask`).

use std::io::Write as _;

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use super::super::wire::{Occurrences, Raw, WireError, last_of, read_fields, read_fields_into};

pub(super) fn write_number(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

pub(super) fn write_quoted(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.push(b'"');
    write_number(out, value);
    out.push(b'"');
}

/// Finite floats as JSON numbers (an `f32` printed as an `f32`), the others
/// as the strings proto3 JSON uses.
pub(super) fn write_float(out: &mut Vec<u8>, value: f64, single: Option<f32>) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value == f64::INFINITY {
        out.extend_from_slice(b"\"Infinity\"");
    } else if value == f64::NEG_INFINITY {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        let written = match single {
            Some(single) => serde_json::to_writer(&mut *out, &single),
            None => serde_json::to_writer(&mut *out, &value),
        };
        written.expect("a finite float always serializes");
    }
}

pub(super) fn write_json_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(out, text).expect("a string always serializes");
}

/// A protobuf `string` (UTF-8 bytes) as a JSON string. Printable ASCII
/// without quotes or backslashes, the usual case, is copied as it is.
pub(super) fn write_utf8_string(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    let plain = bytes
        .iter()
        .all(|&byte| (0x20..0x80).contains(&byte) && byte != b'"' && byte != b'\\');
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return Ok(());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| WireError("a string is not valid UTF-8"))?;
    write_json_string(text, out);
    Ok(())
}

pub(super) fn separate(first: &mut bool, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
}

pub(super) fn write_timestamp(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    let mut fields = Occurrences::new();
    read_fields_into(bytes, &mut fields)?;
    let seconds = int_field(&fields, 1) as i64;
    let nanos = int_field(&fields, 2) as i32;
    if !write_rfc3339(seconds, nanos, out) {
        // Outside 0001..=9999 or unnormalized: prost-types' general formatting.
        let timestamp = prost_types::Timestamp { seconds, nanos };
        write!(out, "\"{timestamp}\"").map_err(|_| WireError("timestamp out of range"))?;
    }
    Ok(())
}

/// `"YYYY-MM-DDThh:mm:ss[.fff|.ffffff|.fffffffff]Z"` for years 1..=9999 and
/// normalized nanos; false (nothing written) otherwise.
fn write_rfc3339(seconds: i64, nanos: i32, out: &mut Vec<u8>) -> bool {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN..=MAX).contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
        return false;
    }
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);

    let mut text = [0u8; 32];
    let mut length = 0;
    let mut push_digits = |mut value: i64, width: usize| {
        for position in (0..width).rev() {
            text[length + position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        length += width;
    };
    out.push(b'"');
    push_digits(year, 4);
    push_digits(month, 2);
    push_digits(day, 2);
    push_digits(second_of_day / 3600, 2);
    push_digits(second_of_day / 60 % 60, 2);
    push_digits(second_of_day % 60, 2);
    let nanos = i64::from(nanos);
    let fraction = if nanos == 0 {
        0
    } else if nanos % 1_000_000 == 0 {
        push_digits(nanos / 1_000_000, 3);
        3
    } else if nanos % 1_000 == 0 {
        push_digits(nanos / 1_000, 6);
        6
    } else {
        push_digits(nanos, 9);
        9
    };
    let [y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, i0, i1, s0, s1, ..] = text;
    out.extend_from_slice(&[
        y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1,
    ]);
    if fraction > 0 {
        out.push(b'.');
        out.extend_from_slice(&text[14..14 + fraction]);
    }
    out.extend_from_slice(b"Z\"");
    true
}

pub(super) fn write_duration(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    let fields = read_fields(bytes)?;
    let duration = prost_types::Duration {
        seconds: int_field(&fields, 1) as i64,
        nanos: int_field(&fields, 2) as i32,
    };
    write!(out, "\"{duration}\"").map_err(|_| WireError("duration out of range"))
}

fn int_field(fields: &[(u32, Raw<'_>)], number: u32) -> u64 {
    match last_of(fields, number) {
        Some(Raw::Varint(value)) => value,
        _ => 0,
    }
}

pub(super) fn write_field_mask(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    let fields = read_fields(bytes)?;
    let mut joined = String::new();
    for (_, raw) in fields.iter().filter(|(n, _)| *n == 1) {
        let Raw::Bytes(path) = raw else {
            return Err(WireError("wrong wire type"));
        };
        let path = std::str::from_utf8(path).map_err(|_| WireError("a path is not valid UTF-8"))?;
        if !joined.is_empty() {
            joined.push(',');
        }
        let mut upper = false;
        for character in path.chars() {
            match character {
                '_' => upper = true,
                _ if upper => {
                    joined.extend(character.to_uppercase());
                    upper = false;
                }
                _ => joined.push(character),
            }
        }
    }
    write_json_string(&joined, out);
    Ok(())
}

pub(super) fn write_with_reflection(
    message: &MessageDescriptor,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let decoded =
        DynamicMessage::decode(message.clone(), bytes).map_err(|_| WireError("undecodable message"))?;
    let options = SerializeOptions::new().skip_default_fields(false);
    decoded
        .serialize_with_options(&mut serde_json::Serializer::new(out), &options)
        .map_err(|_| WireError("message not representable as JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_prost_types() {
        let mut seconds: Vec<i64> = vec![
            0,
            -1,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            1_795_316_288,
            -62_135_596_800,
            253_402_300_799,
            -2_208_988_800, // 1900-01-01
            4_107_542_400,  // 2100-03-01
        ];
        // A spread of others, deterministic.
        seconds.extend((0..200).map(|n: i64| -62_135_596_800 + n * 1_578_187_493));
        for second in seconds {
            for nanos in [0, 1, 120_000_000, 123_456_000, 999_999_999] {
                let mut out = Vec::new();
                assert!(write_rfc3339(second, nanos, &mut out), "{second} {nanos}");
                let expected = format!(
                    "\"{}\"",
                    prost_types::Timestamp {
                        seconds: second,
                        nanos
                    }
                );
                assert_eq!(String::from_utf8(out).unwrap(), expected, "{second} {nanos}");
            }
        }
    }

    #[test]
    fn out_of_range_timestamps_are_left_to_the_general_formatter() {
        for (seconds, nanos) in [
            (-62_135_596_801, 0),
            (253_402_300_800, 0),
            (0, -1),
            (0, 1_000_000_000),
        ] {
            assert!(
                !write_rfc3339(seconds, nanos, &mut Vec::new()),
                "{seconds} {nanos}"
            );
        }
    }

    #[test]
    fn strings_render_as_serde_json_does() {
        let cases: [&[u8]; 9] = [
            b"",
            b"plain ascii 123",
            b"a \"quoted\" word",
            b"back\\slash",
            b"tab\tnew\nline",
            b"\x7f delete",
            "caf\u{e9} \u{1f600}".as_bytes(),
            b"\x00 nul",
            b"</script>",
        ];
        for bytes in cases {
            let mut out = Vec::new();
            write_utf8_string(bytes, &mut out).unwrap();
            let expected = serde_json::to_vec(std::str::from_utf8(bytes).unwrap()).unwrap();
            assert_eq!(out, expected, "{bytes:?}");
        }
        for invalid in [&b"\xff"[..], b"ok \xc3"] {
            assert!(
                write_utf8_string(invalid, &mut Vec::new()).is_err(),
                "{invalid:?}"
            );
        }
    }
}

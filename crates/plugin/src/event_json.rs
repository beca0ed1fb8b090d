//! An event's JSON line, written by hand: the bytes serde_json writes for [`Event`], without
//! going through serde for each of the run's thousands of events. The field names are
//! written as they are (they need no escaping), strings are escaped as serde_json escapes
//! them, and floats are left to serde_json's own formatter so that every number reads the
//! same. `events_write_what_serde_json_writes` holds the two to the same bytes.

use crate::event::{Event, EventError, Meta, Metadata};

/// Appends `event` as one JSON object (no newline).
pub(crate) fn write_event(out: &mut Vec<u8>, event: &Event) {
    out.extend_from_slice(b"{\"v\":");
    write_u64(out, u64::from(event.v));
    out.extend_from_slice(b",\"run_id\":");
    write_str(out, &event.run_id);
    out.extend_from_slice(b",\"seq\":");
    write_u64(out, event.seq);
    out.extend_from_slice(b",\"ts\":");
    write_str(out, &event.ts);
    out.extend_from_slice(b",\"type\":");
    write_str(out, &event.kind);
    out.extend_from_slice(b",\"pipeline\":");
    write_optional_str(out, event.pipeline.as_deref());
    out.extend_from_slice(b",\"flowgroup\":");
    write_optional_str(out, event.flowgroup.as_deref());
    out.extend_from_slice(b",\"action\":");
    write_optional_str(out, event.action.as_deref());
    out.extend_from_slice(b",\"metadata\":");
    write_metadata(out, &event.metadata);
    out.extend_from_slice(b",\"error\":");
    match &event.error {
        Some(error) => write_error(out, error),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

fn write_error(out: &mut Vec<u8>, error: &EventError) {
    out.extend_from_slice(b"{\"code\":");
    write_str(out, &error.code);
    out.extend_from_slice(b",\"message\":");
    write_str(out, &error.message);
    out.extend_from_slice(b",\"file\":");
    write_optional_str(out, error.file.as_deref());
    out.extend_from_slice(b",\"line\":");
    write_optional_u64(out, error.line.map(u64::from));
    out.extend_from_slice(b",\"column\":");
    write_optional_u64(out, error.column.map(u64::from));
    out.push(b'}');
}

fn write_metadata(out: &mut Vec<u8>, metadata: &Metadata) {
    out.push(b'{');
    for (at, (key, value)) in metadata.iter().enumerate() {
        if at > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        write_meta(out, value);
    }
    out.push(b'}');
}

fn write_meta(out: &mut Vec<u8>, value: &Meta) {
    match value {
        Meta::Null => out.extend_from_slice(b"null"),
        Meta::Bool(true) => out.extend_from_slice(b"true"),
        Meta::Bool(false) => out.extend_from_slice(b"false"),
        Meta::Int(value) => {
            if *value < 0 {
                out.push(b'-');
            }
            write_u64(out, value.unsigned_abs());
        }
        Meta::UInt(value) => write_u64(out, *value),
        Meta::Float(value) if !value.is_finite() => out.extend_from_slice(b"null"),
        Meta::Float(value) => {
            // serde_json's own float formatting, so that a duration reads the same either way.
            if serde_json::to_writer(&mut *out, value).is_err() {
                out.extend_from_slice(b"null");
            }
        }
        Meta::Text(text) => write_str(out, text),
        Meta::List(items) => {
            out.push(b'[');
            for (at, item) in items.iter().enumerate() {
                if at > 0 {
                    out.push(b',');
                }
                write_meta(out, item);
            }
            out.push(b']');
        }
        Meta::Map(map) => write_metadata(out, map),
    }
}

fn write_optional_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => write_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_optional_u64(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(value) => write_u64(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A JSON string as serde_json writes one: `"` and `\` escaped, the control characters as
/// `\b`, `\f`, `\n`, `\r`, `\t` or `\u00xx`, everything else (DEL and non-ASCII included)
/// as it is.
fn write_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    // Most text needs no escaping: skip it eight bytes at a time, then go byte by byte from
    // the first word that might.
    let clean = clean_prefix(bytes);
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate().skip(clean) {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..at]);
        start = at + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The length of a prefix of `bytes`, a multiple of eight, in which no byte needs escaping.
fn clean_prefix(bytes: &[u8]) -> usize {
    let mut clean = 0;
    for chunk in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        if word_needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        clean += 8;
    }
    clean
}

/// Whether any of the eight bytes in `word` is a control character, a quote or a backslash:
/// the SWAR test for a byte below `n` (`(x - 0x01..01 * n) & !x & 0x80..80`), once for 0x20
/// and once each for a zero byte in `word` XOR the quote and the backslash. Exact as a yes or
/// no, and bytes of 0x80 and above (UTF-8) never count.
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    control | quote | backslash != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Text;

    fn written(event: &Event) -> String {
        let mut out = Vec::new();
        write_event(&mut out, event);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn events_write_what_serde_json_writes() {
        let every_byte: String = (0u8..=0x7f).map(char::from).collect();
        let mut events = vec![Event::new("r", 1, "generation.start")];
        let mut full = Event::new("0193a1b2c3d-4f2a", u64::MAX, "plugin.audit.flushed");
        full.pipeline = Some(Text::from(every_byte.as_str()));
        full.flowgroup = Some("ünïcödé \u{2028} 🦀".into());
        full.action = Some("".into());
        let facts: Vec<(&str, Meta)> = vec![
            ("int", Meta::Int(i64::MIN)),
            ("zero", 0usize.into()),
            ("big", u64::MAX.into()),
            ("small", 1e-7.into()),
            ("large", 1e21.into()),
            ("whole", 100.0.into()),
            ("fraction", 0.1.into()),
            ("nan", f64::NAN.into()),
            ("inf", f64::NEG_INFINITY.into()),
            ("yes", true.into()),
            ("no", false.into()),
            ("none", Meta::Null),
            (
                "list",
                vec![Meta::from("a\"b"), Meta::Int(-3), Meta::List(vec![])].into(),
            ),
            (
                "map",
                serde_json::json!({"k": {"j": [1.5, null]}, "e": {}}).into(),
            ),
            ("esc\"aped\\key\n", "x".into()),
        ];
        for (key, value) in facts {
            full.metadata.insert(key.into(), value);
        }
        full.error = Some(EventError {
            code: "LHP-GEN-001".into(),
            message: "bad \"quote\"\tand tab".into(),
            file: Some("pipelines/a b.yaml".into()),
            line: Some(u32::MAX),
            column: None,
        });
        events.push(full);
        let mut bare_error = Event::new("r", 2, "action.error");
        bare_error.error = Some(EventError {
            code: String::new(),
            message: String::new(),
            file: None,
            line: None,
            column: Some(1),
        });
        events.push(bare_error);
        for event in &events {
            let expected = serde_json::to_string(event).unwrap_or_default();
            assert!(!expected.is_empty());
            assert_eq!(written(event), expected);
        }
    }

    #[test]
    fn every_character_is_escaped_wherever_it_falls_in_a_word() {
        let specials = (0u8..0x80).map(char::from).chain(['é', '🦀', '\u{2028}']);
        for special in specials {
            for at in 0..20 {
                let text: String = (0..24)
                    .map(|i| if i == at { special } else { 'a' })
                    .collect();
                let mut out = Vec::new();
                write_str(&mut out, &text);
                let expected = serde_json::to_string(&text).unwrap_or_default();
                assert_eq!(out, expected.into_bytes(), "{special:?} at {at}");
            }
        }
    }

    #[test]
    fn the_word_test_agrees_with_the_byte_test_for_every_pair_of_bytes() {
        let needs = |byte: u8| byte < 0x20 || byte == b'"' || byte == b'\\';
        for first in 0..8 {
            for second in first + 1..8 {
                for a in 0..=255u8 {
                    for b in 0..=255u8 {
                        let mut word = [b'a'; 8];
                        word[first] = a;
                        word[second] = b;
                        assert_eq!(
                            word_needs_escape(u64::from_le_bytes(word)),
                            needs(a) || needs(b),
                            "{word:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn integers_are_written_in_full() {
        for value in [0, 7, 10, 99, 100, 12_345, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, value);
            assert_eq!(out, value.to_string().into_bytes());
        }
    }
}

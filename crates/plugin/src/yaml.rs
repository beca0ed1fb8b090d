//! Reading YAML into [`Value`] trees with a position on every value, safely.
//!
//! The parser's events are assembled into values by a loop with an explicit stack, so deep
//! nesting cannot overflow the thread's stack; the depth, the size of the input and the
//! number of values (aliases included, so an alias bomb is refused early) are bounded by
//! [`Limits`]. Scalars are typed the way the reference reads them (PyYAML's safe loader, which
//! follows YAML 1.1): `yes`/`on` are booleans, `1e3` is a string, `0777` is octal, merge keys
//! (`<<: *base`) are honoured, and a tag it does not know is an error.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};

use crate::source::{FileId, Span};
use crate::value::{Map, Value, ValueKind};

/// Bounds on the work one file may cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most values one file may produce, counting every copy an alias makes.
    pub max_values: usize,
}

impl Default for Limits {
    /// Far beyond any real project file: 32 MiB, 256 levels, two million values.
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_depth: 256,
            max_values: 2_000_000,
        }
    }
}

/// Why a file could not be read as YAML, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Where the problem is (line 1, column 1 for whole-file problems).
    pub span: Span,
    /// What is wrong, in words.
    pub message: String,
}

impl YamlError {
    fn at(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
        }
    }
}

/// Reads every document of a file. An empty file (or one with only comments) has none; a
/// document that is only `---` is a `null` value.
pub fn load_documents(file: FileId, bytes: &[u8], limits: Limits) -> Result<Vec<Value>, YamlError> {
    let text = decode(file, bytes, limits)?;
    Builder::new(file, limits).run(text)
}

/// Checks size and encoding, and drops a byte-order mark.
fn decode(file: FileId, bytes: &[u8], limits: Limits) -> Result<&str, YamlError> {
    if bytes.len() > limits.max_bytes {
        return Err(YamlError::at(
            Span::new(file, 1, 1),
            format!(
                "the file is {} bytes; files larger than {} bytes are refused",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let good = &bytes[..error.valid_up_to()];
        // The valid prefix is UTF-8 by definition, so this cannot fail; stay total anyway.
        let before = std::str::from_utf8(good).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        YamlError::at(
            Span::new(file, to_u32(line), to_u32(column)),
            format!(
                "the file is not valid UTF-8 (byte 0x{:02x} at offset {})",
                bytes[error.valid_up_to()],
                error.valid_up_to()
            ),
        )
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A collection being assembled.
enum Frame {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Value>,
        values: usize,
    },
    Map {
        span: Span,
        anchor: usize,
        map: Map,
        /// The key read, waiting for its value; `true` when it is the merge key `<<`.
        key: Option<(Value, bool)>,
        /// Values of `<<` entries, merged in when the mapping ends.
        merges: Vec<Value>,
        values: usize,
    },
}

struct Builder {
    file: FileId,
    limits: Limits,
    stack: Vec<Frame>,
    /// Anchored values of the current document, with how many values each one holds.
    anchors: HashMap<usize, (Value, usize)>,
    values: usize,
    documents: Vec<Value>,
}

impl Builder {
    fn new(file: FileId, limits: Limits) -> Self {
        Self {
            file,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            values: 0,
            documents: Vec::new(),
        }
    }

    fn span(&self, line: usize, column0: usize) -> Span {
        Span::new(self.file, to_u32(line), to_u32(column0 + 1))
    }

    fn scan_error(&self, error: &ScanError) -> YamlError {
        let mark = error.marker();
        YamlError::at(
            self.span(mark.line(), mark.col()),
            format!("invalid YAML: {}", error.info()),
        )
    }

    fn run(mut self, text: &str) -> Result<Vec<Value>, YamlError> {
        for event in Parser::new_from_str(text) {
            let (event, range) = event.map_err(|e| self.scan_error(&e))?;
            let span = self.span(range.start.line(), range.start.col());
            match event {
                Event::DocumentStart(_) => self.anchors.clear(),
                Event::SequenceStart(anchor, tag) => {
                    self.open(span, anchor, tag.as_deref(), false)?;
                }
                Event::MappingStart(anchor, tag) => {
                    self.open(span, anchor, tag.as_deref(), true)?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (value, anchor, values) = self.close()?;
                    self.add(value, anchor, values, false)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.count(span, 1)?;
                    let kind = scalar(&text, style, tag.as_deref())
                        .map_err(|message| YamlError::at(span, message))?;
                    let merge_key = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                    self.add(Value::new(span, kind), anchor, 1, merge_key)?;
                }
                Event::Alias(id) => {
                    let Some((value, size)) = self.anchors.get(&id).cloned() else {
                        return Err(YamlError::at(span, "alias to an unknown anchor"));
                    };
                    self.count(span, size)?;
                    // The copy keeps the anchored value's positions: errors inside it point
                    // at where it was written.
                    self.add(value, 0, size, false)?;
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        Ok(self.documents)
    }

    fn count(&mut self, span: Span, values: usize) -> Result<(), YamlError> {
        self.values = self.values.saturating_add(values);
        if self.values > self.limits.max_values {
            return Err(YamlError::at(
                span,
                format!(
                    "the file expands to more than {} values (aliases included); refused",
                    self.limits.max_values
                ),
            ));
        }
        Ok(())
    }

    fn open(
        &mut self,
        span: Span,
        anchor: usize,
        tag: Option<&Tag>,
        is_map: bool,
    ) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::at(
                span,
                format!(
                    "nesting deeper than {} levels is refused",
                    self.limits.max_depth
                ),
            ));
        }
        if let Some(tag) = tag {
            let expected = if is_map { "map" } else { "seq" };
            if !(is_core(tag) && tag.suffix == expected) {
                return Err(YamlError::at(span, unknown_tag(tag)));
            }
        }
        self.count(span, 1)?;
        self.stack.push(if is_map {
            Frame::Map {
                span,
                anchor,
                map: Map::new(),
                key: None,
                merges: Vec::new(),
                values: 1,
            }
        } else {
            Frame::Seq {
                span,
                anchor,
                items: Vec::new(),
                values: 1,
            }
        });
        Ok(())
    }

    fn close(&mut self) -> Result<(Value, usize, usize), YamlError> {
        match self.stack.pop() {
            Some(Frame::Seq {
                span,
                anchor,
                items,
                values,
            }) => Ok((Value::new(span, ValueKind::Seq(items)), anchor, values)),
            Some(Frame::Map {
                span,
                anchor,
                map,
                merges,
                values,
                ..
            }) => {
                let map = merge(map, merges)?;
                Ok((Value::new(span, ValueKind::Map(map)), anchor, values))
            }
            None => Err(YamlError::at(
                Span::new(self.file, 1, 1),
                "invalid YAML: a collection ended that never began",
            )),
        }
    }

    /// Places a finished value in its parent (or makes it a document).
    fn add(
        &mut self,
        value: Value,
        anchor: usize,
        size: usize,
        merge_key: bool,
    ) -> Result<(), YamlError> {
        if anchor > 0 {
            // The stored copy is memory too: count it, so nested anchors cannot multiply it.
            self.count(value.span, size)?;
            self.anchors.insert(anchor, (value.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.documents.push(value),
            Some(Frame::Seq { items, values, .. }) => {
                *values += size;
                items.push(value);
            }
            Some(Frame::Map {
                map,
                key,
                merges,
                values,
                ..
            }) => {
                *values += size;
                match key.take() {
                    None => *key = Some((value, merge_key)),
                    Some((_, true)) => merges.push(value),
                    Some((name, false)) => map.push(name, value),
                }
            }
        }
        Ok(())
    }
}

/// Applies `<<` merge keys as PyYAML does: merged entries come first and explicit ones
/// override them; with a list of mappings, earlier ones override later ones.
fn merge(map: Map, merges: Vec<Value>) -> Result<Map, YamlError> {
    if merges.is_empty() {
        return Ok(map);
    }
    let mut sources: Vec<Map> = Vec::new();
    for value in merges {
        match value.kind {
            ValueKind::Map(m) => sources.push(m),
            ValueKind::Seq(items) => {
                let mut maps = Vec::with_capacity(items.len());
                for item in items {
                    match item.kind {
                        ValueKind::Map(m) => maps.push(m),
                        other => {
                            return Err(YamlError::at(
                                item.span,
                                format!(
                                    "a merge key (<<) takes mappings, but this is {}",
                                    other.describe()
                                ),
                            ))
                        }
                    }
                }
                maps.reverse();
                sources.extend(maps);
            }
            other => {
                return Err(YamlError::at(
                    value.span,
                    format!(
                        "a merge key (<<) takes a mapping or a list of mappings, but this is {}",
                        other.describe()
                    ),
                ))
            }
        }
    }
    let mut merged = Map::new();
    for source in sources {
        for (key, value) in source.entries() {
            merged.push(key.clone(), value.clone());
        }
    }
    for (key, value) in map.entries() {
        merged.push(key.clone(), value.clone());
    }
    Ok(merged)
}

fn is_core(tag: &Tag) -> bool {
    tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!"
}

fn unknown_tag(tag: &Tag) -> String {
    format!(
        "the tag {}{} is not supported (only YAML's own !!str, !!int, !!float, !!bool, !!null, !!seq and !!map are)",
        tag.handle, tag.suffix
    )
}

/// Types a scalar.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<ValueKind, String> {
    if let Some(tag) = tag {
        if !is_core(tag) {
            // A lone `!` is YAML's "non-specific" tag: the scalar stays a string.
            if tag.handle == "!" && tag.suffix.is_empty() {
                return Ok(ValueKind::String(text.to_owned()));
            }
            return Err(unknown_tag(tag));
        }
        return match tag.suffix.as_str() {
            "str" => Ok(ValueKind::String(text.to_owned())),
            "null" => Ok(ValueKind::Null),
            "bool" => bool_of(text)
                .map(ValueKind::Bool)
                .ok_or_else(|| format!("{text:?} is not a boolean")),
            "int" => int_of(text)
                .map(ValueKind::Int)
                .ok_or_else(|| format!("{text:?} is not an integer")),
            "float" => float_of(text)
                .or_else(|| int_of(text).map(|i| i as f64))
                .map(ValueKind::Float)
                .ok_or_else(|| format!("{text:?} is not a number")),
            "timestamp" => Ok(ValueKind::String(text.to_owned())),
            other => Err(format!("the tag !!{other} is not supported")),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(ValueKind::String(text.to_owned()));
    }
    plain(text)
}

/// Types a plain (unquoted, untagged) scalar with YAML 1.1's implicit rules, in the order
/// the reference tries them.
fn plain(text: &str) -> Result<ValueKind, String> {
    if let Some(b) = bool_of(text) {
        return Ok(ValueKind::Bool(b));
    }
    if is_float(text) {
        if let Some(x) = float_of(text) {
            return Ok(ValueKind::Float(x));
        }
    }
    if is_int(text) {
        return int_of(text)
            .map(ValueKind::Int)
            .ok_or_else(|| format!("the integer {text} is too large"));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(ValueKind::Null);
    }
    if text == "=" {
        return Err("a plain `=` is not a value the reference accepts; quote it".to_owned());
    }
    Ok(ValueKind::String(text.to_owned()))
}

fn bool_of(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Splits an optional sign off.
fn signed(text: &str) -> (i64, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    }
}

fn digits(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
    !text.is_empty() && text.bytes().all(|b| allowed(b) || b == b'_')
}

/// YAML 1.1's int forms as the reference recognises them.
fn is_int(text: &str) -> bool {
    let (_, body) = signed(text);
    if let Some(rest) = body.strip_prefix("0b") {
        return digits(rest, |b| b == b'0' || b == b'1');
    }
    if let Some(rest) = body.strip_prefix("0x") {
        return digits(rest, |b| b.is_ascii_hexdigit());
    }
    if body == "0" {
        return true;
    }
    if let Some(rest) = body.strip_prefix('0') {
        return digits(rest, |b| (b'0'..=b'7').contains(&b));
    }
    if body.contains(':') {
        return sexagesimal(body, false);
    }
    body.as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b))
        && digits(body, |b| b.is_ascii_digit())
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+`, with a trailing `.[0-9_]*` when `float`.
fn sexagesimal(body: &str, float: bool) -> bool {
    let body = if float {
        match body.rsplit_once('.') {
            Some((head, frac)) if digits(frac, |b| b.is_ascii_digit()) || frac.is_empty() => head,
            _ => return false,
        }
    } else {
        body
    };
    let mut parts = body.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    let first_ok = if float {
        first.as_bytes().first().is_some_and(u8::is_ascii_digit)
    } else {
        first
            .as_bytes()
            .first()
            .is_some_and(|b| (b'1'..=b'9').contains(b))
    };
    let mut rest = parts.peekable();
    first_ok
        && digits(first, |b| b.is_ascii_digit())
        && rest.peek().is_some()
        && rest.all(|p| {
            let b = p.as_bytes();
            match b.len() {
                1 => b[0].is_ascii_digit(),
                2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
                _ => false,
            }
        })
}

fn int_of(text: &str) -> Option<i64> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (sign, body) = signed(&cleaned);
    let magnitude = if body == "0" {
        0
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if body.starts_with('0') {
        i64::from_str_radix(body, 8).ok()?
    } else if body.contains(':') {
        body.split(':').try_fold(0i64, |acc, part| {
            acc.checked_mul(60)?.checked_add(part.parse::<i64>().ok()?)
        })?
    } else {
        body.parse::<i64>().ok()?
    };
    magnitude.checked_mul(sign)
}

/// YAML 1.1's float forms as the reference recognises them (a `.` is required).
fn is_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (_, body) = signed(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    if body.contains(':') {
        return sexagesimal(body, true);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let bytes = e.as_bytes();
        bytes.len() >= 2
            && matches!(bytes[0], b'+' | b'-')
            && bytes[1..].iter().all(u8::is_ascii_digit)
    });
    let Some((whole, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let frac_ok = frac.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let whole_ok = if whole.is_empty() {
        // `.5`: no sign allowed, and a digit must follow the dot.
        text.starts_with('.') && frac.as_bytes().first().is_some_and(u8::is_ascii_digit)
    } else {
        whole.as_bytes()[0].is_ascii_digit() && digits(whole, |b| b.is_ascii_digit())
    };
    whole_ok && frac_ok && exponent_ok
}

fn float_of(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, body) = signed(&cleaned);
    let sign = sign as f64;
    match body {
        ".inf" => Some(sign * f64::INFINITY),
        ".nan" => Some(f64::NAN),
        _ if body.contains(':') => {
            let value = body.split(':').try_fold(0.0f64, |acc, part| {
                Some(acc * 60.0 + part.parse::<f64>().ok()?)
            })?;
            Some(sign * value)
        }
        _ => body.parse::<f64>().ok().map(|x| sign * x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> ValueKind {
        plain(text).unwrap()
    }

    #[test]
    fn plain_scalars_are_typed_like_pyyaml_safe_load() {
        for t in ["yes", "Yes", "YES", "on", "On", "true", "TRUE"] {
            assert_eq!(kind(t), ValueKind::Bool(true), "{t}");
        }
        for t in ["no", "off", "OFF", "false", "False"] {
            assert_eq!(kind(t), ValueKind::Bool(false), "{t}");
        }
        for (t, v) in [
            ("0", 0),
            ("42", 42),
            ("-17", -17),
            ("+3", 3),
            ("1_000", 1000),
            ("0x1F", 31),
            ("0b101", 5),
            ("0777", 511),
            ("1:30", 90),
            ("-1:00:00", -3600),
        ] {
            assert_eq!(kind(t), ValueKind::Int(v), "{t}");
        }
        for (t, v) in [
            ("1.5", 1.5),
            ("-0.25", -0.25),
            ("1.0e+3", 1000.0),
            (".5", 0.5),
            ("1.", 1.0),
        ] {
            assert_eq!(kind(t), ValueKind::Float(v), "{t}");
        }
        assert_eq!(kind(".inf"), ValueKind::Float(f64::INFINITY));
        assert_eq!(kind("-.inf"), ValueKind::Float(f64::NEG_INFINITY));
        assert!(matches!(kind(".nan"), ValueKind::Float(x) if x.is_nan()));
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(kind(t), ValueKind::Null, "{t:?}");
        }
        // Strings in YAML 1.1 as PyYAML reads it.
        for t in [
            "1e3",
            "1.0e3",
            "08",
            "0o17",
            "y",
            "n",
            "nULL",
            "2024-01-01",
            "TrUe",
            "-.5",
            "1:60",
            "abc",
        ] {
            assert_eq!(kind(t), ValueKind::String(t.to_owned()), "{t}");
        }
    }

    #[test]
    fn integers_beyond_64_bits_are_an_error_not_a_wrap() {
        assert!(plain("99999999999999999999").is_err());
    }

    #[test]
    fn sexagesimal_floats() {
        assert_eq!(kind("1:30.5"), ValueKind::Float(90.5));
    }
}

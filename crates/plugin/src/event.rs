//! The event schema (JSON version 1) that a run publishes and hooks consume.
//!
//! One [`Event`] per step of a run, serialized as one JSON object:
//! `{"v": 1, "run_id", "seq", "ts", "type", "pipeline", "flowgroup", "action", "metadata",
//! "error"}`. The shape is a public contract (`docs/plugin-protocol.md`, `events`); fields
//! are only ever added.
//!
//! A run publishes an event per step, thousands a run, made on the generating threads while
//! they work. So an event is built to cost little: its text ([`Text`]) sits inline up to 24
//! bytes, and its metadata ([`Metadata`]) is one small sorted vector of typed values
//! ([`Meta`]) rather than a map of JSON values, where every key and string was an allocation
//! of its own.

use std::fmt;
use std::ops::Deref;
use std::time::{SystemTime, UNIX_EPOCH};

use compact_str::CompactString;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The version of the event JSON shape.
pub const EVENT_VERSION: u32 = 1;

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The shape's version ([`EVENT_VERSION`]).
    pub v: u32,
    /// The run it belongs to.
    pub run_id: Text,
    /// Its position in the run's events, from 1, without gaps (a hook that filters sees
    /// the gaps of what it left out).
    pub seq: u64,
    /// When it happened, RFC 3339 in UTC with milliseconds.
    pub ts: Text,
    /// What happened: `flowgroup.end`, `plugin.audit.flushed`, ...
    #[serde(rename = "type")]
    pub kind: Text,
    /// The pipeline it concerns, if one.
    pub pipeline: Option<Text>,
    /// The flowgroup it concerns, if one.
    pub flowgroup: Option<Text>,
    /// The action it concerns, if one.
    pub action: Option<Text>,
    /// Facts about it (durations, counts, files, types, tables).
    #[serde(default)]
    pub metadata: Metadata,
    /// For `*.error` events: what went wrong and where.
    pub error: Option<EventError>,
    /// The JSON line, once a hook has asked for it (see [`Event::json_line`]).
    #[serde(skip)]
    json: JsonLine,
}

/// An event's JSON text, computed on first use; never part of comparisons.
#[derive(Clone, Default)]
struct JsonLine(std::sync::OnceLock<String>);

impl PartialEq for JsonLine {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for JsonLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsonLine")
    }
}

impl Event {
    /// An event of `kind` in `run_id`, numbered `seq`, stamped now.
    pub fn new(run_id: impl Into<Text>, seq: u64, kind: impl Into<Text>) -> Self {
        Self {
            v: EVENT_VERSION,
            run_id: run_id.into(),
            seq,
            ts: stamp(SystemTime::now()),
            kind: kind.into(),
            pipeline: None,
            flowgroup: None,
            action: None,
            metadata: Metadata::new(),
            error: None,
            json: JsonLine::default(),
        }
    }

    /// The event as one JSON object and a newline. Made on first use and then shared by
    /// every hook that asks, so it must not be called before the event is complete (hooks
    /// get events that are). A hook that copies the line into a buffer of its own can use
    /// [`Event::write_json_line`] instead, which keeps no copy.
    pub fn json_line(&self) -> &str {
        self.json.0.get_or_init(|| {
            let mut line = Vec::with_capacity(512);
            crate::event_json::write_event(&mut line, self);
            line.push(b'\n');
            // Written from `str`s and ASCII only: always UTF-8.
            String::from_utf8(line).unwrap_or_default()
        })
    }
}

impl Event {
    /// Appends the event's JSON line to `out`: the line made by [`Event::json_line`] when
    /// there is one, or else written straight into `out` without keeping a copy.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        if let Some(line) = self.json.0.get() {
            out.extend_from_slice(line.as_bytes());
            return;
        }
        crate::event_json::write_event(out, self);
        out.push(b'\n');
    }
}

impl lhp_bus::Event for Event {
    fn kind(&self) -> &str {
        &self.kind
    }
}

/// What went wrong, for `*.error` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventError {
    /// The stable code (`LHP-PLUGIN-006`).
    pub code: String,
    /// The message.
    pub message: String,
    /// The user's file, relative to the project, when known.
    pub file: Option<String>,
    /// Its line, from 1.
    pub line: Option<u32>,
    /// Its column, from 1.
    pub column: Option<u32>,
}

/// A string of an event: kept inline up to 24 bytes (names, kinds, stamps), on the heap
/// beyond; a `&'static str` is kept by reference ([`Text::from_static`]). Reads as a `str`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(CompactString);

impl Text {
    /// A text of a string that lives for the whole program, without copying it.
    pub const fn from_static(text: &'static str) -> Self {
        Self(CompactString::const_new(text))
    }

    /// The pieces one after the other (`action.kind` and `.` and its type, say).
    pub fn concat(pieces: &[&str]) -> Self {
        let mut text = CompactString::with_capacity(pieces.iter().map(|p| p.len()).sum());
        for piece in pieces {
            text.push_str(piece);
        }
        Self(text)
    }

    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self(CompactString::new(text))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Self {
        Self(CompactString::new(text))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self(CompactString::from(text))
    }
}

impl From<&Text> for Text {
    fn from(text: &Text) -> Self {
        text.clone()
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0.into_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.0.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.0.as_str()
    }
}

/// One fact of an event's [`Metadata`]: the JSON values a fact can be, typed. More kinds
/// of value may come, so a `match` on it needs a `_` arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Meta {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number (counts, sizes).
    Int(i64),
    /// A whole number above `i64::MAX`.
    UInt(u64),
    /// A number with a fraction (durations in milliseconds).
    Float(f64),
    /// A string (a type, a table, a file).
    Text(Text),
    /// A list (action types, tables, files written).
    List(Vec<Meta>),
    /// A nested object.
    Map(Metadata),
}

impl Meta {
    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// The whole number, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The whole number, if it is one and not negative.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Int(value) => u64::try_from(*value).ok(),
            Self::UInt(value) => Some(*value),
            _ => None,
        }
    }

    /// The number, whole or not, as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(value) => Some(*value as f64),
            Self::UInt(value) => Some(*value as f64),
            Self::Float(value) => Some(*value),
            _ => None,
        }
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The items, if it is a list.
    pub fn as_list(&self) -> Option<&[Meta]> {
        match self {
            Self::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value as a `serde_json::Value`, for callers that work in JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(value) => (*value).into(),
            Self::Int(value) => (*value).into(),
            Self::UInt(value) => (*value).into(),
            Self::Float(value) => (*value).into(),
            Self::Text(text) => text.as_str().into(),
            Self::List(items) => items.iter().map(Meta::to_json).collect(),
            Self::Map(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(key, value)| (key.to_owned(), value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Meta {
    /// Strings as they are, anything else as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

macro_rules! meta_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Meta {
            fn from(value: $t) -> Self {
                // `Int` unless it does not fit: only a u64 or usize can be that large.
                match i64::try_from(value) {
                    Ok(value) => Self::Int(value),
                    Err(_) => u64::try_from(value).map_or(Self::Float(value as f64), Self::UInt),
                }
            }
        }
    )*};
}

meta_from_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl From<f32> for Meta {
    fn from(value: f32) -> Self {
        Self::Float(f64::from(value))
    }
}

impl From<bool> for Meta {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<f64> for Meta {
    fn from(value: f64) -> Self {
        Self::Float(value)
    }
}

impl From<&str> for Meta {
    fn from(value: &str) -> Self {
        Self::Text(value.into())
    }
}

impl From<String> for Meta {
    fn from(value: String) -> Self {
        Self::Text(value.into())
    }
}

impl From<&String> for Meta {
    fn from(value: &String) -> Self {
        Self::Text(value.into())
    }
}

impl From<Text> for Meta {
    fn from(value: Text) -> Self {
        Self::Text(value)
    }
}

impl From<Metadata> for Meta {
    fn from(value: Metadata) -> Self {
        Self::Map(value)
    }
}

impl<T: Into<Meta>> From<Vec<T>> for Meta {
    fn from(items: Vec<T>) -> Self {
        Self::List(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Meta>> From<Option<T>> for Meta {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

impl From<serde_json::Value> for Meta {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(value) => Self::Bool(value),
            serde_json::Value::Number(number) => match (number.as_i64(), number.as_u64()) {
                (Some(value), _) => Self::Int(value),
                (None, Some(value)) => Self::UInt(value),
                _ => Self::Float(number.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(text) => Self::Text(text.into()),
            serde_json::Value::Array(items) => {
                Self::List(items.into_iter().map(Meta::from).collect())
            }
            serde_json::Value::Object(map) => {
                // Inserted one by one: a serde_json map is in key order only without its
                // `preserve_order` feature, which another crate may turn on.
                let mut metadata = Metadata::new();
                for (key, value) in map {
                    metadata.insert(key.into(), value.into());
                }
                Self::Map(metadata)
            }
        }
    }
}

impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(value) => serializer.serialize_bool(*value),
            Self::Int(value) => serializer.serialize_i64(*value),
            Self::UInt(value) => serializer.serialize_u64(*value),
            // As serde_json writes a JSON value: a float that is not finite is `null`.
            Self::Float(value) if !value.is_finite() => serializer.serialize_unit(),
            Self::Float(value) => serializer.serialize_f64(*value),
            Self::Text(text) => serializer.serialize_str(text),
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Map(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MetaVisitor)
    }
}

struct MetaVisitor;

impl<'de> Visitor<'de> for MetaVisitor {
    type Value = Meta;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Meta, E> {
        Ok(Meta::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Meta, E> {
        Ok(Meta::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Meta, E> {
        Ok(Meta::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Meta, E> {
        Ok(Meta::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Meta, E> {
        Ok(Meta::Text(value.into()))
    }

    fn visit_string<E>(self, value: String) -> Result<Meta, E> {
        Ok(Meta::Text(value.into()))
    }

    fn visit_unit<E>(self) -> Result<Meta, E> {
        Ok(Meta::Null)
    }

    fn visit_none<E>(self) -> Result<Meta, E> {
        Ok(Meta::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Meta, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Meta, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Meta::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Meta, A::Error> {
        MetadataVisitor.visit_map(map).map(Meta::Map)
    }
}

/// The facts of an event: keys in sorted order, each once, as the JSON object
/// `"metadata"` shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(Vec<(Text, Meta)>);

impl Metadata {
    /// No facts.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Sets `key` to `value`; returns what it was.
    pub fn insert(&mut self, key: Text, value: Meta) -> Option<Meta> {
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                if self.0.capacity() == 0 {
                    // Events carry up to about ten facts: one allocation for all of them.
                    self.0.reserve_exact(8);
                }
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Meta> {
        self.position(key).ok().map(|at| &self.0[at].1)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Unsets `key`; returns what it was.
    pub fn remove(&mut self, key: &str) -> Option<Meta> {
        self.position(key).ok().map(|at| self.0.remove(at).1)
    }

    /// How many facts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The facts in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Meta)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key.as_str(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetadataVisitor)
    }
}

struct MetadataVisitor;

impl<'de> Visitor<'de> for MetadataVisitor {
    type Value = Metadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
        let mut metadata = Metadata::new();
        while let Some((key, value)) = map.next_entry::<Text, Meta>()? {
            metadata.insert(key, value);
        }
        Ok(metadata)
    }
}

/// `time` as an event's stamp: [`timestamp`], inline.
fn stamp(time: SystemTime) -> Text {
    let text = stamp_bytes(time);
    // The stamp is ASCII digits and separators: always UTF-8.
    Text(CompactString::from_utf8(text).unwrap_or_default())
}

/// `time` as RFC 3339 in UTC with milliseconds (`2026-11-25T12:00:00.120Z`).
pub fn timestamp(time: SystemTime) -> String {
    stamp_bytes(time)
        .iter()
        .map(|&byte| char::from(byte))
        .collect()
}

/// The 24 bytes of [`timestamp`].
fn stamp_bytes(time: SystemTime) -> [u8; 24] {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    // Written digit by digit: every event is stamped, and `format!` was a visible share of
    // making one.
    let mut text = [0u8; 24];
    let mut put = |at: usize, value: u64, width: usize| {
        let mut value = value;
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year.clamp(0, 9999) as u64, 4);
    put(5, u64::from(month), 2);
    put(8, u64::from(day), 2);
    put(11, rest / 3600, 2);
    put(14, rest % 3600 / 60, 2);
    put(17, rest % 60, 2);
    put(20, u64::from(since.subsec_millis()), 3);
    for (at, separator) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ] {
        text[at] = separator;
    }
    text[23] = b'Z';
    text
}

/// The calendar date of a day count since 1970-01-01 (proleptic Gregorian), after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29 (a leap day) 13:45:07.250 UTC.
        let leap = UNIX_EPOCH + Duration::from_millis(1_709_214_307_250);
        assert_eq!(timestamp(leap), "2024-02-29T13:45:07.250Z");
        let end_of_century = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(timestamp(end_of_century), "2099-12-31T23:59:59.000Z");
    }

    #[test]
    fn the_json_line_is_the_serialized_event() {
        let event = Event::new("r1", 1, "generation.start");
        let line = event.json_line();
        assert!(line.ends_with("}\n"));
        let back: Event = serde_json::from_str(line).unwrap_or_else(|_| Event::new("", 0, ""));
        assert_eq!(back, event);
    }

    #[test]
    fn events_serialize_in_the_documented_shape() {
        let mut event = Event::new("r1", 3, "flowgroup.end");
        event.ts = "2026-11-25T12:00:00.000Z".into();
        event.pipeline = Some("bronze".into());
        let json = serde_json::to_string(&event).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"v":1,"run_id":"r1","seq":3,"ts":"2026-11-25T12:00:00.000Z","type":"flowgroup.end","pipeline":"bronze","flowgroup":null,"action":null,"metadata":{},"error":null}"#
        );
    }

    /// An event with facts of every kind, and the same facts as a serde_json map (what
    /// events carried before [`Metadata`]).
    fn full_event() -> (Event, serde_json::Map<String, serde_json::Value>) {
        let mut event = Event::new("0193a1b2c3d-4f2a", 12, "flowgroup.error");
        event.pipeline = Some("a_pipeline_name_longer_than_24_bytes".into());
        event.flowgroup = Some("orders".into());
        event.action = Some(Text::from_static("load_orders"));
        let mut json = serde_json::Map::new();
        let facts: Vec<(&str, Meta, serde_json::Value)> = vec![
            (
                "tables",
                vec!["main.s.a", "main.s.b"].into(),
                serde_json::json!(["main.s.a", "main.s.b"]),
            ),
            ("duration_ms", 1.25.into(), serde_json::json!(1.25)),
            ("actions", 3usize.into(), serde_json::json!(3)),
            ("up_to_date", true.into(), serde_json::json!(true)),
            ("delta", (-4i64).into(), serde_json::json!(-4)),
            (
                "file",
                "bronze/orders.py".into(),
                serde_json::json!("bronze/orders.py"),
            ),
            ("previous", Meta::Null, serde_json::Value::Null),
            (
                "quote",
                "say \"hi\"\n\tü".into(),
                serde_json::json!("say \"hi\"\n\tü"),
            ),
            ("huge", u64::MAX.into(), serde_json::json!(u64::MAX)),
            (
                "nested",
                serde_json::json!({"b": [1, 2.5], "a": {"c": null}}).into(),
                serde_json::json!({"b": [1, 2.5], "a": {"c": null}}),
            ),
        ];
        for (key, meta, value) in facts {
            event.metadata.insert(key.into(), meta);
            json.insert(key.to_owned(), value);
        }
        event.error = Some(EventError {
            code: "LHP-GEN-001".into(),
            message: "bad".into(),
            file: Some("pipelines/a.yaml".into()),
            line: Some(4),
            column: None,
        });
        (event, json)
    }

    #[test]
    fn metadata_serializes_as_the_json_map_it_replaced() {
        let (event, json) = full_event();
        let ours = serde_json::to_value(&event.metadata).unwrap_or_default();
        assert_eq!(ours, serde_json::Value::Object(json.clone()));
        // Byte for byte too, keys in sorted order as serde_json's map writes them.
        assert_eq!(
            serde_json::to_string(&event.metadata).unwrap_or_default(),
            serde_json::to_string(&json).unwrap_or_default()
        );
        let keys: Vec<&str> = event.metadata.iter().map(|(key, _)| key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn events_round_trip_through_their_json_line() {
        let (event, _) = full_event();
        let mut written = Vec::new();
        event.write_json_line(&mut written);
        assert_eq!(written, event.json_line().as_bytes());
        // Once made, the shared line is what is written.
        let mut again = b"x".to_vec();
        event.write_json_line(&mut again);
        assert_eq!(&again[1..], event.json_line().as_bytes());
        let back: Event =
            serde_json::from_slice(&written).unwrap_or_else(|_| Event::new("", 0, ""));
        assert_eq!(back, event);
        assert_eq!(
            back.metadata.get("huge").and_then(Meta::as_u64),
            Some(u64::MAX)
        );
        assert_eq!(back.metadata.get("actions").and_then(Meta::as_u64), Some(3));
        assert_eq!(back.metadata.get("delta").and_then(Meta::as_u64), None);
        assert_eq!(
            back.metadata.get("duration_ms").and_then(Meta::as_f64),
            Some(1.25)
        );
        assert_eq!(
            back.metadata.get("up_to_date").and_then(Meta::as_bool),
            Some(true)
        );
        assert_eq!(
            back.metadata
                .get("tables")
                .and_then(Meta::as_list)
                .map(<[Meta]>::len),
            Some(2)
        );
    }

    #[test]
    fn metadata_keeps_one_value_per_key() {
        let mut metadata = Metadata::new();
        assert_eq!(metadata.insert("b".into(), 1usize.into()), None);
        assert_eq!(metadata.insert("a".into(), "x".into()), None);
        assert_eq!(
            metadata.insert("b".into(), 2usize.into()),
            Some(Meta::Int(1))
        );
        assert_eq!(metadata.len(), 2);
        assert!(metadata.contains_key("a"));
        assert_eq!(metadata.remove("a"), Some(Meta::from("x")));
        assert_eq!(metadata.get("a"), None);
        assert_eq!(
            serde_json::to_string(&metadata).unwrap_or_default(),
            r#"{"b":2}"#
        );
        // Keys read out of order are found: reading sorts them.
        let read: Metadata = serde_json::from_str(r#"{"b":1,"c":3,"a":2}"#).unwrap_or_default();
        assert_eq!(read.get("a"), Some(&Meta::Int(2)));
        assert_eq!(read.get("c"), Some(&Meta::Int(3)));
        assert_eq!(
            read.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        let converted = Meta::from(serde_json::json!({"z": 1, "y": {"x": u64::MAX}}));
        assert_eq!(
            converted.to_string(),
            r#"{"y":{"x":18446744073709551615},"z":1}"#
        );
        // A repeated key in read JSON keeps the last value, as a serde_json map does.
        let read: Metadata = serde_json::from_str(r#"{"k":1,"k":2}"#).unwrap_or_default();
        assert_eq!(read.get("k"), Some(&Meta::Int(2)));
    }

    #[test]
    fn text_reads_as_a_str() {
        let long = "a".repeat(40);
        for text in [
            Text::from("short"),
            Text::from(long.clone()),
            Text::from_static("static"),
        ] {
            let string: String = text.clone().into();
            assert_eq!(text, string);
            assert_eq!(text.as_str(), string.as_str());
            assert_eq!(format!("{text}"), string);
            assert_eq!(format!("{text:?}"), format!("{string:?}"));
        }
        assert_eq!(Text::from(long.as_str()).len(), 40);
        assert_eq!(
            Text::concat(&["load", ".", "cloudfiles"]),
            "load.cloudfiles"
        );
        let kind = Text::from("flowgroup.end");
        assert_eq!("flowgroup.end", kind);
        assert_eq!(kind, "flowgroup.end");
        assert_ne!(kind, "flowgroup");
    }

    #[test]
    fn meta_shows_strings_bare_and_the_rest_as_json() {
        assert_eq!(Meta::from("main.s.t").to_string(), "main.s.t");
        assert_eq!(Meta::from(vec!["a", "b"]).to_string(), r#"["a","b"]"#);
        assert_eq!(Meta::from(2.5).to_string(), "2.5");
        assert_eq!(Meta::from(None::<bool>).to_string(), "null");
        assert_eq!(Meta::Float(f64::NAN).to_json(), serde_json::Value::Null);
        assert_eq!(
            serde_json::to_string(&Meta::Float(f64::INFINITY)).unwrap_or_default(),
            "null"
        );
    }
}

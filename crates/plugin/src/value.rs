//! The YAML value tree every configuration is read into: typed scalars, sequences and
//! mappings, each carrying the [`Span`] it was written at.

use std::fmt;

use crate::source::Span;

/// A YAML value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Where the value starts in its file.
    pub span: Span,
    /// The value itself.
    pub kind: ValueKind,
}

/// The kinds of value YAML can express, typed the way the reference (PyYAML's safe loader,
/// YAML 1.1) types them.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `~`, `null`, or nothing at all.
    Null,
    /// `true`/`false`, and YAML 1.1's `yes`/`no`/`on`/`off` in their three casings.
    Bool(bool),
    /// An integer (decimal, `0x`, `0b`, `0`-prefixed octal, `_` separators, `1:30` base 60).
    Int(i64),
    /// A float (a `.` is required, as in YAML 1.1; `.inf`, `.nan`).
    Float(f64),
    /// Any other scalar, and every quoted or block scalar.
    String(String),
    /// A sequence.
    Seq(Vec<Value>),
    /// A mapping, in the order written.
    Map(Map),
}

impl ValueKind {
    /// The name of this kind in messages: "a string", "a mapping", ...
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a number",
            Self::String(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

impl Value {
    /// A value at `span`.
    pub fn new(span: Span, kind: ValueKind) -> Self {
        Self { span, kind }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::String(text) => Some(text),
            _ => None,
        }
    }

    /// The mapping, if this is one.
    pub fn as_map(&self) -> Option<&Map> {
        match &self.kind {
            ValueKind::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The sequence, if this is one.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            ValueKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Python's truthiness: false for null, `false`, zero, and empty text, lists and
    /// mappings. The reference writes an optional setting only when it is truthy.
    pub fn is_truthy(&self) -> bool {
        match &self.kind {
            ValueKind::Null => false,
            ValueKind::Bool(b) => *b,
            ValueKind::Int(i) => *i != 0,
            ValueKind::Float(x) => *x != 0.0,
            ValueKind::String(s) => !s.is_empty(),
            ValueKind::Seq(items) => !items.is_empty(),
            ValueKind::Map(map) => !map.is_empty(),
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, ValueKind::Null)
    }
}

/// A YAML mapping: entries in the order written. Keys are values too (YAML allows `1: x`);
/// lookups by name match string keys. When a key is written twice the last one counts, as
/// in the reference; [`Map::duplicate_keys`] lists the others.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(Value, Value)>,
}

impl Map {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry at the end.
    pub fn push(&mut self, key: Value, value: Value) {
        self.entries.push((key, value));
    }

    /// The entries in the order written, duplicates included.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }

    /// The entries, for changing values in place.
    pub fn entries_mut(&mut self) -> &mut [(Value, Value)] {
        &mut self.entries
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Value, &Value) -> bool) {
        self.entries.retain(|(key, value)| keep(key, value));
    }

    /// Number of entries, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for the string key `name` (the last one if written twice).
    pub fn get_entry(&self, name: &str) -> Option<(&Value, &Value)> {
        self.entries
            .iter()
            .rev()
            .find(|(key, _)| key.as_str() == Some(name))
            .map(|(key, value)| (key, value))
    }

    /// The value for the string key `name` (the last one if written twice).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.get_entry(name).map(|(_, value)| value)
    }

    /// True when the string key `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Keys written more than once: every occurrence but the last.
    pub fn duplicate_keys(&self) -> Vec<&Value> {
        let mut seen = Vec::new();
        let mut duplicates = Vec::new();
        for (key, _) in self.entries.iter().rev() {
            if seen.iter().any(|k: &&Value| same_key(k, key)) {
                duplicates.push(key);
            } else {
                seen.push(key);
            }
        }
        duplicates.reverse();
        duplicates
    }

    /// Iterates over `(key, value)` with string keys only, last occurrence winning, in the
    /// order of those last occurrences.
    pub fn iter_str(&self) -> impl Iterator<Item = (&str, &Value)> {
        let mut seen = std::collections::HashSet::new();
        let mut last: Vec<(&str, &Value)> = self
            .entries
            .iter()
            .rev()
            .filter_map(|(key, value)| Some((key.as_str()?, value)))
            .filter(|(name, _)| seen.insert(*name))
            .collect();
        last.reverse();
        last.into_iter()
    }
}

/// Whether two keys are the same key (same kind and content, wherever written).
fn same_key(a: &Value, b: &Value) -> bool {
    a.kind == b.kind
}

impl fmt::Display for Value {
    /// A short rendering for messages: scalars as written, collections summarised.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ValueKind::Null => f.write_str("null"),
            ValueKind::Bool(b) => write!(f, "{b}"),
            ValueKind::Int(i) => write!(f, "{i}"),
            ValueKind::Float(x) => write!(f, "{x}"),
            ValueKind::String(s) => write!(f, "{s:?}"),
            ValueKind::Seq(items) => write!(f, "a list of {}", items.len()),
            ValueKind::Map(map) => write!(f, "a mapping of {}", map.len()),
        }
    }
}

/// Python's `repr()` of a float: the shortest digits that round-trip, in positional form for
/// exponents from -4 to 15 (always with a fractional part), scientific otherwise.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, frac) = digits.split_at(point as usize);
            format!("{whole}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

impl Value {
    /// The value as JSON, positions dropped (a float that JSON cannot hold becomes `null`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.kind {
            ValueKind::Null => Json::Null,
            ValueKind::Bool(b) => Json::Bool(*b),
            ValueKind::Int(i) => Json::from(*i),
            ValueKind::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
            }
            ValueKind::String(s) => Json::String(s.clone()),
            ValueKind::Seq(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            ValueKind::Map(map) => Json::Object(
                map.entries()
                    .iter()
                    .map(|(k, v)| (json_key(k), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// A mapping key as a JSON object key: strings as they are, other scalars as JSON text.
fn json_key(key: &Value) -> String {
    match key.as_str() {
        Some(text) => text.to_owned(),
        None => key.to_json().to_string(),
    }
}

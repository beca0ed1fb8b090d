//! The event schema (JSON version 1) that a run publishes and hooks consume.
//!
//! One [`Event`] per step of a run, serialized as one JSON object:
//! `{"v": 1, "run_id", "seq", "ts", "type", "pipeline", "flowgroup", "action", "metadata",
//! "error"}`. The shape is a public contract (`docs/plugin-protocol.md`, `events`); fields
//! are only ever added.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The version of the event JSON shape.
pub const EVENT_VERSION: u32 = 1;

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The shape's version ([`EVENT_VERSION`]).
    pub v: u32,
    /// The run it belongs to.
    pub run_id: String,
    /// Its position in the run's events, from 1, without gaps (a hook that filters sees
    /// the gaps of what it left out).
    pub seq: u64,
    /// When it happened, RFC 3339 in UTC with milliseconds.
    pub ts: String,
    /// What happened: `flowgroup.end`, `plugin.audit.flushed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The pipeline it concerns, if one.
    pub pipeline: Option<String>,
    /// The flowgroup it concerns, if one.
    pub flowgroup: Option<String>,
    /// The action it concerns, if one.
    pub action: Option<String>,
    /// Facts about it (durations, counts, files, types, tables).
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// For `*.error` events: what went wrong and where.
    pub error: Option<EventError>,
    /// The JSON line, made once for every hook that writes it (see [`Event::json_line`]).
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

impl std::fmt::Debug for JsonLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonLine")
    }
}

impl Event {
    /// An event of `kind` in `run_id`, numbered `seq`, stamped now.
    pub fn new(run_id: impl Into<String>, seq: u64, kind: impl Into<String>) -> Self {
        Self {
            v: EVENT_VERSION,
            run_id: run_id.into(),
            seq,
            ts: timestamp(SystemTime::now()),
            kind: kind.into(),
            pipeline: None,
            flowgroup: None,
            action: None,
            metadata: serde_json::Map::new(),
            error: None,
            json: JsonLine::default(),
        }
    }

    /// The event as one JSON object and a newline, as the event log and the command hook
    /// write it. Made once per event and shared, so it must not be called before the event
    /// is complete (hooks get events that are).
    pub fn json_line(&self) -> &str {
        self.json.0.get_or_init(|| {
            let mut line = serde_json::to_string(self).unwrap_or_default();
            line.push('\n');
            line
        })
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

/// `time` as RFC 3339 in UTC with milliseconds (`2026-11-25T12:00:00.120Z`).
pub fn timestamp(time: SystemTime) -> String {
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
    text.iter().map(|&byte| char::from(byte)).collect()
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
}

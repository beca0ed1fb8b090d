//! The event log: every event of every run appended as one JSON line to `.lhp/events.jsonl`
//! (on by default), the file that `lhp events tail` reads.
//!
//! Lossless: its queue blocks the run rather than drop. Each batch goes to the file in one
//! write of whole lines, so a reader sees at most a partial last line, never a torn one in
//! the middle. Before a batch would take the file past `max_bytes`, the file is rotated:
//! `events.jsonl` becomes `events.jsonl.1`, `.1` becomes `.2`, up to `keep`, the oldest
//! removed. The file is synced to disk when the run ends.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lhp_plugin::{async_trait, Batch, Event, Hook, HookDelivery, HookError};

use crate::config::{common_hook_methods, parse_size, Common, Entry, HookOptions, Problems};

/// The log's default place, under the project root.
pub const DEFAULT_PATH: &str = ".lhp/events.jsonl";
/// The default size at which the log is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;
/// The default number of rotated files kept.
pub const DEFAULT_KEEP: u32 = 5;

/// Appends events to a JSON-lines file with size-based rotation.
pub struct EventLogHook {
    common: Common,
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Mutex<Option<(File, u64)>>,
    /// The JSON lines of the batch being written.
    lines: Mutex<Vec<u8>>,
}

impl EventLogHook {
    /// A log at `path`, rotated past `max_bytes`, keeping `keep` old files.
    pub fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        Self {
            common: Common::new("event_log", vec!["*".to_owned()], HookDelivery::default()),
            path,
            max_bytes: max_bytes.max(1),
            keep,
            file: Mutex::new(None),
            lines: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn from_settings(
        entry: &Entry<'_>,
        options: &HookOptions,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        let path = problems
            .text(entry.map, "path")
            .unwrap_or_else(|| DEFAULT_PATH.to_owned());
        let max_bytes = match entry.map.and_then(|m| m.get("max_bytes")) {
            None => DEFAULT_MAX_BYTES,
            Some(value) => {
                let text = match &value.kind {
                    lhp_plugin::ValueKind::Int(i) => i.to_string(),
                    lhp_plugin::ValueKind::String(s) => s.clone(),
                    _ => String::new(),
                };
                match parse_size(&text).filter(|n| *n >= 1024) {
                    Some(n) => n,
                    None => {
                        problems.error(
                            Some(value.span),
                            "`max_bytes` is a size of at least 1024 bytes: a number or text such as `10MiB`",
                        );
                        return None;
                    }
                }
            }
        };
        let keep = problems
            .number(entry.map, "keep", 0..=1000)
            .map_or(DEFAULT_KEEP, |k| k as u32);
        let mut hook = Self::new(options.root.join(path), max_bytes, keep);
        hook.common.apply(entry);
        Some(hook)
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> std::io::Result<(File, u64)> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let size = file.metadata()?.len();
        Ok((file, size))
    }

    /// `events.jsonl` → `.1` → `.2` ... up to `keep`; with `keep: 0` the log starts over.
    fn rotate(&self) -> std::io::Result<()> {
        let numbered = |n: u32| {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.keep == 0 {
            return match std::fs::remove_file(&self.path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            };
        }
        let _ = std::fs::remove_file(numbered(self.keep));
        for n in (1..self.keep).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))
    }

    fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(self.open()?);
        }
        let needs_rotation = slot
            .as_ref()
            .is_some_and(|(_, size)| *size > 0 && size + bytes.len() as u64 > self.max_bytes);
        if needs_rotation {
            if let Some((file, _)) = slot.take() {
                file.sync_all()?;
            }
            self.rotate()?;
            *slot = Some(self.open()?);
        }
        if let Some((file, size)) = slot.as_mut() {
            file.write_all(bytes)?;
            *size += bytes.len() as u64;
        }
        Ok(())
    }
}

#[async_trait]
impl Hook for EventLogHook {
    common_hook_methods!();

    async fn handle(&self, events: &Batch<Event>) -> Result<(), HookError> {
        // One buffer for the whole run: a fresh one per batch was a fresh 100 KB of pages
        // to fault in each time.
        let mut bytes = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        bytes.clear();
        for event in events {
            event.write_json_line(&mut bytes);
        }
        self.append(&bytes)
            .map_err(|error| format!("cannot write {}: {error}", self.path.display()).into())
    }

    async fn close(&self) -> Result<(), HookError> {
        *self.lines.lock().unwrap_or_else(|e| e.into_inner()) = Vec::new();
        let slot = self.file.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((file, _)) = slot {
            file.sync_all()
                .map_err(|error| format!("cannot sync {}: {error}", self.path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(from: u64, count: u64) -> Batch<Event> {
        (from..from + count)
            .map(|seq| Event::new("run", seq, "flowgroup.end"))
            .collect()
    }

    fn seqs(path: &Path) -> Vec<u64> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str::<Event>(line)
                    .map(|e| e.seq)
                    .unwrap_or(0)
            })
            .collect()
    }

    #[tokio::test]
    async fn rotation_keeps_every_event_in_order_across_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("logs/events.jsonl");
        // About 150 bytes a line: two batches of 10 fit in 4 KiB, a third does not.
        let hook = EventLogHook::new(path.clone(), 4096, 2);
        for start in [1, 11, 21, 31, 41] {
            hook.handle(&batch(start, 10))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        hook.close().await.unwrap_or_else(|e| panic!("{e}"));
        let mut all = Vec::new();
        for name in ["events.jsonl.2", "events.jsonl.1", "events.jsonl"] {
            let file = dir.path().join("logs").join(name);
            assert!(file.exists(), "{name} missing");
            assert!(std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) <= 4096);
            all.extend(seqs(&file));
        }
        assert!(!dir.path().join("logs/events.jsonl.3").exists());
        // keep: 2 — the oldest batch went with the third rotation.
        let expected: Vec<u64> = (1..=50).collect();
        assert!(
            expected.ends_with(&all) && all.len() >= 30,
            "not a suffix in order: {all:?}"
        );
    }
}

//! Incremental generation: what a run read and wrote, remembered under `.lhp/generate/`
//! (one file per environment and output directory) so that the next run can skip what did
//! not change.
//!
//! Two levels, both decided by content hashes (XXH3-128), with a file's size and
//! modification time as a cache in front of the hash, as git's index does:
//!
//! - **The whole run.** Every file under the project root (hidden entries and the output
//!   directories aside), every file read outside it, every file written, the environment
//!   variables the run read and the run's own settings. When none of these changed since the
//!   last successful run, `lhp generate` has nothing to do and says so without reading the
//!   project ([`State::unchanged`]).
//! - **Each flowgroup.** Its resolved definition (after templates, presets and
//!   substitutions), the files its generation read, and the files it wrote. A flowgroup whose
//!   fingerprint, side files and outputs are all as recorded is not generated again
//!   ([`FlowgroupRecord`]).
//!
//! A modification time is trusted only when it is older than the recording by more than
//! the file system's timestamp granularity; otherwise the file is "racy" (it could change
//! again within the same timestamp) and its content is hashed every time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use lhp_plugin::{Flowgroup, Sources, Value, ValueKind};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

/// Where the states live, under the project root (one file per environment).
pub const STATE_DIR: &str = ".lhp/generate";

/// The version of the state's format; another version is ignored (a full run follows).
const FORMAT: u32 = 1;

/// How close to the recording a modification time must be to be distrusted, for file
/// systems with sub-second timestamps; those with whole seconds get two seconds.
const RACY_NANOS: u128 = 100_000_000;

/// The content hash of `bytes`, as 32 hexadecimal digits.
pub fn hash_bytes(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// What is known of a file: its size and modification time (0 when not to be trusted) and
/// its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Its length in bytes.
    pub size: u64,
    /// Its modification time in nanoseconds since the epoch; 0 forces hashing.
    pub mtime: u128,
    /// Its content hash.
    pub hash: String,
}

/// The size and modification time of `path` (following symbolic links).
fn stat(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), mtime))
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Whether a modification time seen at `now` could still be followed by a change that keeps it.
fn racy(mtime: u128, now: u128) -> bool {
    let margin = if mtime % 1_000_000_000 == 0 {
        2_000_000_000
    } else {
        RACY_NANOS
    };
    mtime + margin >= now
}

/// Hashes files, reusing the hashes of an earlier run for files whose size and modification
/// time it recorded and that are not racy.
#[derive(Debug, Default)]
pub struct Hasher<'a> {
    known: Vec<&'a BTreeMap<String, Stamp>>,
}

impl<'a> Hasher<'a> {
    /// A hasher that knows no stamps: it reads and hashes every file.
    pub const EMPTY: Hasher<'static> = Hasher { known: Vec::new() };

    /// A hasher trusting the stamps of `known` (a previous run's inputs and outputs).
    pub fn new(known: Vec<&'a BTreeMap<String, Stamp>>) -> Self {
        Self { known }
    }

    /// The cached stamp of `path`, when one has this size and time.
    fn cached(&self, path: &Path, size: u64, mtime: u128) -> Option<Stamp> {
        let key = path.to_string_lossy();
        self.known
            .iter()
            .filter_map(|known| known.get(key.as_ref()))
            .find(|old| old.mtime != 0 && old.mtime == mtime && old.size == size)
            .cloned()
    }

    /// The stamp of `path` now: from the cache when its size and time match, else read and
    /// hashed. `None` when it cannot be read.
    pub fn stamp(&self, path: &Path) -> Option<Stamp> {
        let (size, mtime) = stat(path)?;
        if let Some(known) = self.cached(path, size, mtime) {
            return Some(known);
        }
        let bytes = std::fs::read(path).ok()?;
        let now = now_nanos();
        Some(Stamp {
            size: bytes.len() as u64,
            mtime: if racy(mtime, now) || bytes.len() as u64 != size {
                0
            } else {
                mtime
            },
            hash: hash_bytes(&bytes),
        })
    }

    /// Whether `path` still has the content `stamp` recorded.
    pub fn holds(&self, path: &Path, stamp: &Stamp) -> bool {
        let Some((size, mtime)) = stat(path) else {
            return false;
        };
        if size != stamp.size {
            return false;
        }
        if stamp.mtime != 0 && stamp.mtime == mtime {
            return true;
        }
        std::fs::read(path).is_ok_and(|bytes| hash_bytes(&bytes) == stamp.hash)
    }
}

/// The stamp of `path` at the end of a run that started at `started` (nanoseconds since
/// the epoch). `used` is the hash of the content the run used (or wrote), when known.
///
/// A file that changed since the run started keeps no time (the next run hashes it again);
/// its hash is what the run used or, for a file the run did not read through its sources
/// (a README, another environment's substitutions), its content now. A file the run wrote
/// itself (`written`) is expected to have changed: its time is kept unless it is too recent
/// to trust. `None` when it is gone.
pub fn stamp_after_run(
    path: &Path,
    used: Option<&str>,
    written: bool,
    started: u128,
    hasher: &Hasher<'_>,
) -> Option<Stamp> {
    let (size, mtime) = stat(path)?;
    let changed_during = racy(mtime, started);
    if !changed_during {
        if let Some(known) = hasher.cached(path, size, mtime) {
            return Some(known);
        }
    }
    let hash = match used {
        Some(hash) => hash.to_owned(),
        None => hash_bytes(&std::fs::read(path).ok()?),
    };
    let trusted = (written || !changed_during) && !racy(mtime, now_nanos());
    Some(Stamp {
        size,
        mtime: if trusted { mtime } else { 0 },
        hash,
    })
}

/// Every file under `root` that may shape a run: hidden entries (`.lhp`, `.git`, ...) and
/// the paths in `skip` (output directories) left out. Symbolic links are followed, each real
/// directory once. Sorted.
pub fn project_files(root: &Path, skip: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut seen_dirs = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if let Ok(real) = dir.canonicalize() {
            if !seen_dirs.insert(real) {
                continue;
            }
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            if skip.iter().any(|s| path.starts_with(s)) {
                continue;
            }
            let Ok(mut kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(meta) => kind = meta.file_type(),
                    Err(_) => continue,
                }
            }
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What the generation of one flowgroup read besides its definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependencies {
    /// Files read, by path relative to the project root, with their content hash (`None`:
    /// could not be read).
    pub files: BTreeMap<String, Option<String>>,
    /// Paths asked about (`is_file`, `is_dir`), with the answers.
    pub probes: BTreeMap<String, (bool, bool)>,
    /// The hash of the environment's tokens, when it substituted them in a file.
    pub substitutions: Option<String>,
}

/// What the last run generated for one flowgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowgroupRecord {
    /// The fingerprint of its resolved definition and the run's settings.
    pub fingerprint: String,
    /// What its generation read.
    pub dependencies: Dependencies,
    /// The files it produced, relative to the output directory, with their content hashes.
    pub outputs: BTreeMap<String, String>,
    /// The tables it declared: (name, action, fingerprint).
    pub tables: Vec<(String, String, String)>,
}

/// What `lhp generate` remembers of its last successful run for one environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The format version.
    pub format: u32,
    /// The run's settings (lhp's version, the arguments that shape the output, ...).
    pub key: BTreeMap<String, String>,
    /// The environment variables the run read, with the hash of each value (values may be
    /// secrets).
    pub env_vars: BTreeMap<String, Option<String>>,
    /// Directories whose listing matters (where plugins are found), with the hash of the
    /// names that matter in them ([`listing`]).
    pub watched_dirs: BTreeMap<String, (String, String)>,
    /// Every input: the project's files and the files read outside it, by absolute path.
    pub inputs: BTreeMap<String, Stamp>,
    /// Every file the run wrote or found already as it would write it.
    pub outputs: BTreeMap<String, Stamp>,
    /// The directories holding outputs, with the hash of their listing (a stray generated
    /// file in them is removed by a full run).
    pub output_dirs: BTreeMap<String, String>,
    /// Each flowgroup generated, by `pipeline/flowgroup`.
    pub flowgroups: BTreeMap<String, FlowgroupRecord>,
    /// The warnings the run printed, shown again when a later run has nothing to do.
    pub warnings: Vec<String>,
    /// Whether the whole-run check may be trusted: no errors, and no process plugins (whose
    /// behaviour may hang on files lhp cannot see).
    pub whole_run: bool,
    /// The number of flowgroups and pipelines, for the summary of a run with nothing to do.
    pub counts: (usize, usize),
}

/// Why a run is not up to date as a whole (for `-v`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale(pub String);

impl State {
    /// The state file of `env` under `root`, for the output directory `env_dir` (runs into
    /// different directories are remembered apart).
    pub fn path(root: &Path, env: &str, env_dir: &Path) -> PathBuf {
        let dir = hash_bytes(env_dir.to_string_lossy().as_bytes());
        root.join(STATE_DIR)
            .join(format!("{env}-{}.json", &dir[..12]))
    }

    /// The last run's state for `env` into `env_dir`; `None` when there is none or it cannot
    /// be read.
    pub fn read(root: &Path, env: &str, env_dir: &Path) -> Option<Self> {
        let bytes = std::fs::read(Self::path(root, env, env_dir)).ok()?;
        serde_json::from_slice::<Self>(&bytes)
            .ok()
            .filter(|state| state.format == FORMAT)
    }

    /// Writes the state for `env` into `env_dir` (atomically, synced).
    pub fn write(&mut self, root: &Path, env: &str, env_dir: &Path) -> std::io::Result<()> {
        let text = self.serialized()?;
        crate::generate::write_atomically(&Self::path(root, env, env_dir), &text)
    }

    /// Writes the state atomically without syncing it: for a refresh, which only saves work.
    pub fn write_unsynced(
        &mut self,
        root: &Path,
        env: &str,
        env_dir: &Path,
    ) -> std::io::Result<()> {
        let text = self.serialized()?;
        lhp_plugin::fs::replace_unsynced(&Self::path(root, env, env_dir), &text)
    }

    /// The state as written, in the current format.
    fn serialized(&mut self) -> std::io::Result<Vec<u8>> {
        self.format = FORMAT;
        serde_json::to_vec(self).map_err(std::io::Error::other)
    }

    /// Whether nothing that shapes a run changed since this state was recorded: `Ok` with
    /// the state's stamps refreshed when it holds, or why not.
    pub fn unchanged(
        &self,
        root: &Path,
        key: &BTreeMap<String, String>,
        env_var: &dyn Fn(&str) -> Option<String>,
        skip: &[PathBuf],
    ) -> Result<bool, Stale> {
        if !self.whole_run {
            return Err(Stale(
                "the last run had errors, or used process plugins".into(),
            ));
        }
        if &self.key != key {
            let what = key
                .iter()
                .find(|(k, v)| self.key.get(*k) != Some(v))
                .map_or_else(|| "settings".to_owned(), |(k, _)| k.clone());
            return Err(Stale(format!("the run's {what} changed")));
        }
        for (name, value) in &self.env_vars {
            if env_var(name).map(|v| hash_bytes(v.as_bytes())) != *value {
                return Err(Stale(format!("environment variable {name} changed")));
            }
        }
        for (dir, (prefix, names)) in &self.watched_dirs {
            if listing(Path::new(dir), prefix) != *names {
                return Err(Stale(format!("the files in {dir} changed")));
            }
        }
        for (dir, names) in &self.output_dirs {
            if listing(Path::new(dir), "") != *names {
                return Err(Stale(format!("the files in {dir} changed")));
            }
        }
        let hasher = Hasher::default();
        let mut refreshed = false;
        let files = project_files(root, skip);
        let mut inside = 0usize;
        for path in &files {
            let key = path.to_string_lossy();
            let Some(old) = self.inputs.get(key.as_ref()) else {
                return Err(Stale(format!("{} is new", shown(root, path))));
            };
            inside += 1;
            if !hasher.holds(path, old) {
                return Err(Stale(format!("{} changed", shown(root, path))));
            }
            refreshed |= old.mtime == 0;
        }
        let outside: Vec<(&String, &Stamp)> = self
            .inputs
            .iter()
            .filter(|(path, _)| !Path::new(path).starts_with(root))
            .collect();
        if inside + outside.len() != self.inputs.len() {
            return Err(Stale("a file of the project was removed".into()));
        }
        for (path, stamp) in outside.into_iter().chain(&self.outputs) {
            if !hasher.holds(Path::new(path), stamp) {
                return Err(Stale(format!("{path} changed")));
            }
            refreshed |= stamp.mtime == 0;
        }
        Ok(refreshed)
    }

    /// Re-stamps the files whose times were too recent to trust, now that they are older.
    pub fn refresh(&mut self) {
        let hasher = Hasher::default();
        for (path, stamp) in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            if stamp.mtime == 0 {
                if let Some(new) = hasher.stamp(Path::new(path)) {
                    if new.hash == stamp.hash {
                        *stamp = new;
                    }
                }
            }
        }
    }
}

/// The hash of the sorted names in `dir` that start with `prefix` (`-` when it cannot be
/// listed): what changes when a file appears or goes.
pub fn listing(dir: &Path, prefix: &str) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return "-".into();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    hash_bytes(names.join("\n").as_bytes())
}

/// Every directory under `dir`, itself included.
pub fn directories(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    let mut index = 0;
    while let Some(at) = found.get(index).cloned() {
        index += 1;
        if let Ok(entries) = std::fs::read_dir(&at) {
            for entry in entries.filter_map(Result::ok) {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    found.push(entry.path());
                }
            }
        }
    }
    found
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The fingerprint of a resolved flowgroup under the run settings `context`: its values and
/// their positions (file, line, column), which plugins may show in the code they write.
pub fn fingerprint(
    context: &str,
    flowgroup: &Flowgroup,
    preset_metadata: Option<&Value>,
    sources: &Sources,
) -> String {
    let mut walk = Walk {
        hasher: Xxh3::new(),
        files: Vec::new(),
    };
    walk.text(context);
    walk.text(&flowgroup.pipeline.value);
    walk.text(&flowgroup.name.value);
    for (key, value) in flowgroup.fields.entries() {
        walk.value(key);
        walk.value(value);
    }
    walk.hasher.update(&[0xfe]);
    for action in &flowgroup.actions {
        walk.value(action.value());
    }
    walk.hasher.update(&[0xfd]);
    if let Some(value) = preset_metadata {
        walk.value(value);
    }
    for file in std::mem::take(&mut walk.files) {
        walk.text(&sources.path(file).to_string_lossy());
    }
    format!("{:032x}", walk.hasher.digest128())
}

struct Walk {
    hasher: Xxh3,
    files: Vec<lhp_plugin::FileId>,
}

impl Walk {
    fn text(&mut self, text: &str) {
        self.hasher.update(&(text.len() as u64).to_le_bytes());
        self.hasher.update(text.as_bytes());
    }

    fn value(&mut self, value: &Value) {
        // The file by its order of appearance: file ids depend on what else the run read.
        let file = match self.files.iter().position(|f| *f == value.span.file) {
            Some(index) => index,
            None => {
                self.files.push(value.span.file);
                self.files.len() - 1
            }
        };
        self.hasher.update(&(file as u32).to_le_bytes());
        self.hasher.update(&value.span.line.to_le_bytes());
        self.hasher.update(&value.span.column.to_le_bytes());
        match &value.kind {
            ValueKind::Null => self.hasher.update(&[0]),
            ValueKind::Bool(b) => self.hasher.update(&[1, u8::from(*b)]),
            ValueKind::Int(i) => {
                self.hasher.update(&[2]);
                self.hasher.update(&i.to_le_bytes());
            }
            ValueKind::Float(x) => {
                self.hasher.update(&[3]);
                self.hasher.update(&x.to_bits().to_le_bytes());
            }
            ValueKind::String(s) => {
                self.hasher.update(&[4]);
                self.text(s);
            }
            ValueKind::Seq(items) => {
                self.hasher.update(&[5]);
                self.hasher.update(&(items.len() as u64).to_le_bytes());
                for item in items {
                    self.value(item);
                }
            }
            ValueKind::Map(map) => {
                self.hasher.update(&[6]);
                self.hasher.update(&(map.len() as u64).to_le_bytes());
                for (key, value) in map.entries() {
                    self.value(key);
                    self.value(value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_racy_time_is_not_trusted_and_content_decides() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.sql");
        std::fs::write(&path, "SELECT 1").unwrap_or_else(|e| panic!("{e}"));
        let stamp = Hasher::default()
            .stamp(&path)
            .unwrap_or_else(|| panic!("stamp"));
        // Just written: too recent to trust its time.
        assert_eq!(stamp.mtime, 0);
        assert!(Hasher::default().holds(&path, &stamp));
        // Same size, same time resolution: only the content tells.
        std::fs::write(&path, "SELECT 2").unwrap_or_else(|e| panic!("{e}"));
        assert!(!Hasher::default().holds(&path, &stamp));
    }

    #[test]
    fn a_trusted_time_skips_reading() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.sql");
        std::fs::write(&path, "SELECT 1").unwrap_or_else(|e| panic!("{e}"));
        let (size, mtime) = stat(&path).unwrap_or_else(|| panic!("stat"));
        let cached = Stamp {
            size,
            mtime,
            hash: "not the content's hash".into(),
        };
        let known: BTreeMap<String, Stamp> =
            [(path.to_string_lossy().into_owned(), cached.clone())].into();
        assert_eq!(Hasher::new(vec![&known]).stamp(&path), Some(cached.clone()));
        assert!(Hasher::default().holds(&path, &cached));
    }

    #[test]
    fn project_files_skip_hidden_entries_and_outputs() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        for file in [
            "lhp.yaml",
            "pipelines/a/x.yaml",
            ".lhp/state",
            "generated/dev/a/x.py",
            ".hidden",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap_or(root))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(path, "x").unwrap_or_else(|e| panic!("{e}"));
        }
        let found = project_files(root, &[root.join("generated")]);
        let names: Vec<String> = found.iter().map(|p| shown(root, p)).collect();
        assert_eq!(names, ["lhp.yaml", "pipelines/a/x.yaml"]);
    }
}

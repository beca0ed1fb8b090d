//! Fixtures the orchestrator's tests share: throw-away directories and YAML snippets.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use lhp_plugin::{load_documents, Limits, Sources, Value};

/// A directory of its own under the temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory holding `files` (paths relative to it, with their text).
    pub fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("lhp-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let made = Self(dir);
        for (path, text) in files {
            made.write(path, text);
        }
        made
    }

    /// Writes one more file.
    pub fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first document of `text`, registered in `sources` as `x.yaml`.
pub fn yaml(sources: &mut Sources, text: &str) -> Value {
    let file = sources.add("x.yaml", text);
    load_documents(file, text.as_bytes(), Limits::default())
        .unwrap()
        .remove(0)
}

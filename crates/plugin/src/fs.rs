//! Writing files so that no reader ever sees them half-written.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file beside it, synced, then renamed into
/// place: readers (a Prometheus collector, Databricks, the next run) see the old file or the
/// new one, never a part. Missing parent directories are made.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, bytes, true)
}

/// Like [`write_atomically`], without syncing the file: for many files written in one go
/// and made durable together afterwards (one file-system sync instead of one per file).
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, bytes, false)
}

fn replace(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{name}.lhp-{}.tmp", std::process::id()));
    let result = std::fs::File::create(&temporary)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

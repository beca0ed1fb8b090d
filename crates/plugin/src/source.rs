//! Where a value came from: source files, and the position of every value in them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Identifies a file registered in a [`Sources`]; cheap to copy into every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(u32);

/// A position in a source file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1, counted in characters.
    pub column: u32,
}

impl Span {
    /// A position in `file`.
    pub fn new(file: FileId, line: u32, column: u32) -> Self {
        Self { file, line, column }
    }
}

/// One source file: its path as the user knows it and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path, relative to the project root where possible.
    pub path: PathBuf,
    /// The whole text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// The text of line `line` (1-based), without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.text.lines().nth(index)
    }
}

/// Every file read in a run, so that a [`Span`] can be shown as `path:line:column` with the
/// offending line.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a file and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        let text: Arc<str> = text.into();
        // Columns count from after a byte-order mark, as the YAML reader counts them.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => Arc::from(rest),
            None => text,
        };
        self.files.push(SourceFile {
            path: path.into(),
            text,
        });
        id
    }

    /// The id that the file registered `ahead` files from now will get: for reading files
    /// on several threads (their spans need their ids) and registering them in order.
    pub fn future_id(&self, ahead: usize) -> FileId {
        FileId(u32::try_from(self.files.len() + ahead).unwrap_or(u32::MAX))
    }

    /// Every file registered, in the order read.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The path of the file with this id (empty if unknown).
    pub fn path(&self, id: FileId) -> &Path {
        self.get(id).map_or(Path::new(""), |f| f.path.as_path())
    }

    /// `path:line:column` for a span.
    pub fn locate(&self, span: Span) -> Located<'_> {
        Located {
            path: self.path(span.file),
            span,
        }
    }
}

/// A span shown as `path:line:column`.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    path: &'a Path,
    span: Span,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.path.display(),
            self.span.line,
            self.span.column
        )
    }
}

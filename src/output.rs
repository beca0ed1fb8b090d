//! What the commands say on stderr: diagnostics and summaries, readable (coloured on a
//! terminal unless `NO_COLOR`) or as JSON lines (`--log-format json`), as loud as `-v`/`-q`
//! ask.

use lhp_hooks::LogFormat;
use lhp_orchestrator::{Diagnostic, Severity};
use lhp_plugin::Sources;
use serde_json::json;

use crate::render::{render, Style};

/// How a command reports on stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub(crate) format: LogFormat,
    /// `-v` count minus `-q` count.
    pub(crate) verbosity: i8,
    pub(crate) style: Style,
}

impl Output {
    /// Human lines at normal volume, for commands without the global flags at hand.
    pub(crate) fn plain() -> Self {
        Self {
            format: LogFormat::Human,
            verbosity: 0,
            style: crate::cli::style(),
        }
    }

    /// True under `-q`: only errors are shown.
    pub(crate) fn quiet(&self) -> bool {
        self.verbosity < 0
    }

    /// True when lines are for people (a progress bar may be drawn).
    pub(crate) fn human(&self) -> bool {
        self.format == LogFormat::Human
    }

    /// Shows a diagnostic (warnings and notes not under `-q`).
    pub(crate) fn diagnostic(&self, diagnostic: &Diagnostic, sources: &Sources) {
        if self.quiet() && diagnostic.severity != Severity::Error {
            return;
        }
        match self.format {
            LogFormat::Human => {
                eprint!("{}", render(diagnostic, sources, self.style));
                eprintln!();
            }
            LogFormat::Json => {
                let level = match diagnostic.severity {
                    Severity::Error => "ERROR",
                    Severity::Warning => "WARN",
                    Severity::Note => "INFO",
                };
                let mut line = json!({
                    "timestamp": lhp_plugin::timestamp(std::time::SystemTime::now()),
                    "level": level,
                    "message": diagnostic.message,
                    "code": diagnostic.code,
                });
                if let Some(span) = diagnostic.span {
                    line["file"] = sources.path(span.file).display().to_string().into();
                    line["line"] = span.line.into();
                    line["column"] = span.column.into();
                }
                if let Some(hint) = &diagnostic.hint {
                    line["hint"] = hint.clone().into();
                }
                eprintln!("{line}");
            }
        }
    }

    /// Shows a detail of how a command went (only under `-v`).
    pub(crate) fn debug(&self, message: &str) {
        if self.verbosity > 0 {
            self.line("DEBUG", message);
        }
    }

    /// Shows a line of information (not under `-q`).
    pub(crate) fn info(&self, message: &str) {
        if !self.quiet() {
            self.line("INFO", message);
        }
    }

    /// Shows a warning (not under `-q`).
    pub(crate) fn warning(&self, code: &str, message: &str) {
        if !self.quiet() {
            match self.format {
                LogFormat::Human => eprintln!("warning[{code}]: {message}"),
                LogFormat::Json => self.json_line("WARN", message, Some(code)),
            }
        }
    }

    /// Shows an error.
    pub(crate) fn error(&self, code: &str, message: &str) {
        match self.format {
            LogFormat::Human => eprintln!("error[{code}]: {message}"),
            LogFormat::Json => self.json_line("ERROR", message, Some(code)),
        }
    }

    fn line(&self, level: &str, message: &str) {
        match self.format {
            LogFormat::Human => eprintln!("{message}"),
            LogFormat::Json => self.json_line(level, message, None),
        }
    }

    fn json_line(&self, level: &str, message: &str, code: Option<&str>) {
        let mut line = json!({
            "timestamp": lhp_plugin::timestamp(std::time::SystemTime::now()),
            "level": level,
            "message": message,
        });
        if let Some(code) = code {
            line["code"] = code.into();
        }
        eprintln!("{line}");
    }
}

/// Writes `text` to stdout. A reader that went away (`lhp dag | head`) ends the output
/// quietly instead of failing the command; other errors are reported on stderr.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to stdout: {error}");
        }
    }
}

/// Prints `rows` on stdout as columns two spaces apart, each as wide as its widest cell.
pub(crate) fn print_table(rows: &[Vec<String>]) {
    emit(&table(rows));
}

/// `rows` as lines of columns two spaces apart, each as wide as its widest cell.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    text
}

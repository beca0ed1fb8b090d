//! Diagnostics shown to a person: the code and message, where (`path:line:column`), the line
//! itself with a caret, and the hint.

use std::fmt::Write as _;

use lhp_orchestrator::{Diagnostic, Severity};
use lhp_plugin::Sources;

/// Whether to colour the output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// One diagnostic, rendered.
pub fn render(diagnostic: &Diagnostic, sources: &Sources, style: Style) -> String {
    let (label, color) = match diagnostic.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
        Severity::Note => ("note", "1;36"),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} {}",
        style.paint(color, &format!("{label}[{}]", diagnostic.code)),
        style.paint("1", ":"),
        style.paint("1", &diagnostic.message)
    );
    if let Some(span) = diagnostic.span {
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint("1;34", "-->"),
            sources.locate(span)
        );
        if let Some(line) = sources.get(span.file).and_then(|f| f.line(span.line)) {
            let number = span.line.to_string();
            let gutter = " ".repeat(number.len());
            let caret_at: String = line
                .chars()
                .take(span.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{gutter} {}", style.paint("1;34", "|"));
            let _ = writeln!(
                out,
                "{} {} {line}",
                style.paint("1;34", &number),
                style.paint("1;34", "|")
            );
            let _ = writeln!(
                out,
                "{gutter} {} {caret_at}{}",
                style.paint("1;34", "|"),
                style.paint(color, "^")
            );
        }
    }
    if let Some(hint) = &diagnostic.hint {
        let _ = writeln!(out, "  {} {hint}", style.paint("1;36", "= hint:"));
    }
    out
}

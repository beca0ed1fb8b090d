//! Python syntax checking of generated code, so that a plugin's broken output is caught at
//! generation time and blamed on the plugin, not found later by Databricks.

use rustpython_parser::{Mode, ParseErrorType};

/// Where and why code does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// From 1.
    pub line: u32,
    /// From 1, in characters.
    pub column: u32,
    /// What the parser expected or found.
    pub message: String,
}

/// Checks that `code` is a valid Python module.
pub fn check_syntax(code: &str) -> Result<(), SyntaxError> {
    let Err(error) = rustpython_parser::parse(code, Mode::Module, "<generated>") else {
        return Ok(());
    };
    let offset = usize::from(error.offset).min(code.len());
    let before = code.get(..offset).unwrap_or(code);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let message = match &error.error {
        ParseErrorType::Eof => "unexpected end of code".to_owned(),
        other => other.to_string(),
    };
    Err(SyntaxError {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_code_passes_and_broken_code_is_located() {
        assert!(check_syntax("import x\n\n@dp.table()\ndef t():\n    return 1\n").is_ok());
        let error = check_syntax("x = 1\ndef broken(:\n    pass\n").err();
        assert_eq!(error.as_ref().map(|e| (e.line, e.column)), Some((2, 12)));
        assert!(check_syntax("def f(:").is_err());
        assert!(check_syntax("x = (1,\n").is_err());
    }
}

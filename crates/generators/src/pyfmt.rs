//! Placeholder until the layout module lands: returns the text unchanged.

/// Lays out Python source as `ruff format` would.
pub fn format_module(source: &str) -> String {
    source.to_owned()
}

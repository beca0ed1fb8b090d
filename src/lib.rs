//! The `lhp` command line as a library, so that a custom binary can add native plugins:
//!
//! ```no_run
//! use std::sync::Arc;
//! use lhp::plugin::{Generator, Plugin, PluginMetadata};
//!
//! struct MyPlugin;
//! impl Plugin for MyPlugin {
//!     fn metadata(&self) -> PluginMetadata {
//!         PluginMetadata::new("my_plugin", "0.1.0")
//!     }
//!     fn generators(&self) -> Vec<Arc<dyn Generator>> {
//!         Vec::new()
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     lhp::Cli::new().plugin(MyPlugin).run()
//! }
//! ```

#![warn(missing_docs)]

mod around;
mod cli;
mod dag;
mod diff;
mod generate;
mod incremental;
mod init;
mod listing;
mod output;
mod plugin_cmd;
mod render;
mod scaffold;
mod tail;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

/// The plugin SDK, re-exported so a native plugin needs only this crate.
pub use lhp_plugin as plugin;

/// The `lhp` command line, with the native plugins compiled into this binary.
#[derive(Default, Clone)]
pub struct Cli {
    natives: Vec<Arc<dyn plugin::Plugin>>,
}

impl Cli {
    /// The command line with the built-in types only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a native plugin; it is admitted like any plugin (versions, types, overrides).
    pub fn plugin(mut self, plugin: impl plugin::Plugin + 'static) -> Self {
        self.natives.push(Arc::new(plugin));
        self
    }

    /// Parses the process's arguments and runs the command.
    pub fn run(self) -> ExitCode {
        self.run_with(std::env::args_os())
    }

    /// Parses `args` (the program name first) and runs the command.
    pub fn run_with<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        cli::run(&self.natives, args)
    }
}

//! `lhp-orchestrator`: reading a Lakehouse Plumber project the way the reference
//! `lakehouse-plumber` 0.9.3 reads it.
//!
//! So far: [`project`] (the root and `lhp.yaml`, with `required_lhp_version` checked),
//! [`flowgroup`] (flowgroup files and their structural checks), [`Diagnostic`]s (a code, a position, a hint) and [`substitution`]: the token table
//! of an environment and the replacement of `${token}`, legacy `{token}`, secrets and
//! `%{var}` flowgroup variables inside spanned values; and [`pattern`]: the files a project's
//! `include` patterns select. Project discovery, presets,
//! templates, blueprints and `lhp validate` build on these (see the project's issues).

#![warn(missing_docs)]

pub mod blueprint;
pub mod dependency;
mod diagnostic;
pub mod fields;
pub mod flowgroup;
pub mod load;
pub mod pattern;
pub mod preset;
pub mod project;
mod pyliteral;
pub mod settings;
mod shape;
pub mod substitution;
pub mod template;
pub mod version;

pub use crate::diagnostic::{Diagnostic, Severity};
pub use crate::substitution::{SecretRef, Substitutions, TokenValue};

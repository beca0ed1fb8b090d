//! `lhp-plugin`: what a plugin author builds on.
//!
//! It holds the layer everything else stands on: YAML read into [`Value`] trees where every
//! value knows the file, line and column it was written at ([`Span`]), so that every error
//! can point at the user's YAML; and the action model over it ([`Flowgroup`], [`Action`],
//! [`ActionKind`]). The generator and hook traits and the plugin test kit build on these (see
//! the project's issues).

#![warn(missing_docs)]

pub mod action;
mod source;
mod value;
pub mod yaml;

pub use crate::action::{Action, ActionKind, Flowgroup, ShapeError, Spanned};
pub use crate::source::{FileId, Located, SourceFile, Sources, Span};
pub use crate::value::{Map, Value, ValueKind};
pub use crate::yaml::{load_documents, Limits, YamlError};

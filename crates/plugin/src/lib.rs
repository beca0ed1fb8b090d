//! `lhp-plugin`: what a plugin author builds on.
//!
//! It holds the layer everything else stands on: YAML read into [`Value`] trees where every
//! value knows the file, line and column it was written at ([`Span`]), so that every error
//! can point at the user's YAML; and the action model over it ([`Flowgroup`], [`Action`],
//! [`ActionKind`]). The [`Generator`] trait and the [`Registry`] (in [`generate`]) turn actions into
//! code; built-in types are registered exactly as a plugin's are.

#![warn(missing_docs)]

pub mod action;
pub mod generate;
mod source;
mod value;
pub mod yaml;

pub use crate::action::{Action, ActionKind, Flowgroup, ShapeError, Spanned};
pub use crate::generate::{
    Fragment, GenerateContext, GenerateError, GenerateRequest, Generator, MetadataColumn, Registry,
    RegistryError, SideFile,
};
pub use crate::source::{FileId, Located, SourceFile, Sources, Span};
pub use crate::value::{python_float, Map, Value, ValueKind};
pub use crate::yaml::{load_documents, Limits, YamlError};

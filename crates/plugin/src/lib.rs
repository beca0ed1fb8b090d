//! `lhp-plugin`: what a plugin author builds on.
//!
//! It holds the layer everything else stands on: YAML read into [`Value`] trees where every
//! value knows the file, line and column it was written at ([`Span`]), so that every error
//! can point at the user's YAML; and the action model over it ([`Flowgroup`], [`Action`],
//! [`ActionKind`]). The [`Generator`] trait and the [`Registry`] (in [`generate`]) turn actions into
//! code; built-in types are registered exactly as a plugin's are. A plugin is described by
//! [`PluginMetadata`] and implements [`Plugin`] (its generators and [`Hook`]s); process
//! plugins speak the wire types of [`protocol`]; [`testkit`] helps test a generator.

#![warn(missing_docs)]

pub mod action;
pub mod event;
mod event_json;
pub mod fs;
pub mod generate;
pub mod plugin;
pub mod protocol;
pub mod python;
mod source;
pub mod testkit;
mod value;
pub mod yaml;

pub use async_trait::async_trait;
/// Text of a caught panic's payload.
pub use lhp_bus::panic_message;
/// The events of one hook call, and one event kept past it.
pub use lhp_bus::{Batch, Shared};
pub use serde_json;

pub use crate::action::{Action, ActionKind, Flowgroup, ShapeError, Spanned};
pub use crate::event::{timestamp, Event, EventError, Meta, Metadata, Text, EVENT_VERSION};
pub use crate::generate::{
    Fragment, GenerateContext, GenerateError, GenerateRequest, Generator, MetadataColumn, Registry,
    RegistryError, SideFile,
};
pub use crate::plugin::{
    Hook, HookDelivery, HookError, Plugin, PluginKind, PluginMetadata, VersionError, LHP_VERSION,
    PROTOCOL_VERSION,
};
pub use crate::source::{FileId, Located, SourceFile, Sources, Span};
pub use crate::value::{python_float, Map, Value, ValueKind};
pub use crate::yaml::{load_documents, Limits, YamlError};

//! `lhp-orchestrator`: reading a Lakehouse Plumber project the way the reference
//! `lakehouse-plumber` 0.9.3 reads it, and checking it.
//!
//! [`load::load_project`] is the entry point: it reads a project for one environment and
//! returns its resolved flowgroups and every [`Diagnostic`] found (code, position, hint). The
//! steps, in the reference's order, each in its module:
//!
//! - [`project`]: the root and `lhp.yaml` (with `required_lhp_version` checked, see
//!   [`version`]), and its project-wide [`settings`];
//! - [`pattern`]: the files `include` patterns select;
//! - [`flowgroup`]: flowgroup files and their structure; [`blueprint`]: blueprints and their
//!   instances, stamped into flowgroups;
//! - per flowgroup: `%{var}` variables and tokens ([`substitution`]), [`template`]s,
//!   [`preset`]s;
//! - [`generate`]: the run that turns resolved flowgroups into modules and writes them;
//! - [`plugins`]: finding plugins and admitting them into the generator registry;
//! - [`events`]: publishing the run's events to its hooks ([`hooks`] builds the built-in
//!   ones from `lhp.yaml`), and [`tables`]: which tables a run created or changed;
//! - the checks: [`fields`] (what each action type takes) and [`dependency`] (how actions
//!   depend on each other, and one creator per table).
//!
//! Where this deliberately differs from the reference, the module says so and the user is told
//! with a note.

#![warn(missing_docs)]

pub mod blueprint;
pub mod bundle;
pub mod dependency;
mod diagnostic;
pub mod events;
pub mod fields;
pub mod flowgroup;
pub mod generate;
pub mod graph;
pub mod hooks;
pub mod incremental;
pub mod load;
pub mod monitoring;
pub mod pattern;
pub mod plugins;
pub mod preset;
pub mod project;
mod pyliteral;
pub mod settings;
mod shape;
pub mod substitution;
pub mod tables;
pub mod template;
pub mod version;
pub mod yaml_out;

pub use crate::diagnostic::{Diagnostic, Severity};
pub use crate::substitution::{SecretRef, Substitutions, TokenValue};

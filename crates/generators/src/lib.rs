//! `lhp-generators`: the built-in load, transform and write types of lhp, and the assembly
//! of a flowgroup's Python module.
//!
//! Each type is a [`Generator`](lhp_plugin::Generator) registered in a
//! [`lhp_plugin::Registry`] through the same call a plugin uses
//! ([`register_builtins`]). A generator turns an action into a code fragment with the
//! imports it needs, mostly by rendering one of the minijinja templates embedded here
//! (`templates/`); [`module::generate_flowgroup`] orders a flowgroup's actions, runs their
//! generators, places the fragments in the module's sections, and lays the module out the
//! way `ruff format` would ([`pyfmt`]), so that the output needs no formatter.
//!
//! What each generator writes follows what `lakehouse-plumber` 0.9.3 writes for the same
//! action: the same functions, decorators, calls and literals, so that the two mean the
//! same pipeline.

#![warn(missing_docs)]

mod common;
pub mod load;
pub mod module;
pub mod py;
pub mod pyfmt;
pub mod sink;
pub mod test_actions;
pub mod transform;
pub mod write;

use lhp_plugin::{Registry, RegistryError};

/// `catalog.schema.table` of a write target (`database: "c.s"` is the legacy form).
pub use crate::common::table_name;
pub use crate::module::{
    fingerprint, generate_flowgroup, generate_flowgroup_observed, GeneratedModule, Observer,
    Outcome, TableDefinition, Unobserved,
};

/// The embedded templates, by name.
pub(crate) const TEMPLATES: [(&str, &str); 8] = [
    ("view.py.j2", include_str!("../templates/view.py.j2")),
    (
        "streaming_table.py.j2",
        include_str!("../templates/streaming_table.py.j2"),
    ),
    (
        "append_flows.py.j2",
        include_str!("../templates/append_flows.py.j2"),
    ),
    (
        "cdc_flows.py.j2",
        include_str!("../templates/cdc_flows.py.j2"),
    ),
    (
        "snapshot_flow.py.j2",
        include_str!("../templates/snapshot_flow.py.j2"),
    ),
    (
        "materialized_view.py.j2",
        include_str!("../templates/materialized_view.py.j2"),
    ),
    ("module.py.j2", include_str!("../templates/module.py.j2")),
    (
        "quarantine.py.j2",
        include_str!("../templates/quarantine.py.j2"),
    ),
];

/// Registers every built-in type, as a plugin registers its own.
pub fn register_builtins(registry: &mut Registry) -> Result<(), RegistryError> {
    for generator in load::generators()
        .into_iter()
        .chain(transform::generators())
        .chain(write::generators())
        .chain(sink::generators())
        .chain(test_actions::generators())
    {
        registry.register(generator)?;
    }
    Ok(())
}

/// A registry holding the built-in types only.
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::new();
    // The built-ins are distinct by construction; a clash would be a bug caught by tests.
    let _ = register_builtins(&mut registry);
    registry
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_embedded_template_compiles() {
        let mut env = minijinja::Environment::new();
        for (name, text) in crate::TEMPLATES {
            assert!(env.add_template(name, text).is_ok(), "{name}");
        }
    }
}

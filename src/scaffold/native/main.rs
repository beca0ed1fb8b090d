//! A custom `lhp` binary with the `__NAME__` load type compiled in.

use std::sync::Arc;

use lhp::plugin::serde_json::{json, Value as Json};
use lhp::plugin::{
    ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Plugin, PluginMetadata,
};

/// The plugin: its metadata and its one type.
struct __CAMEL__Plugin;

impl Plugin for __CAMEL__Plugin {
    fn metadata(&self) -> PluginMetadata {
        PluginMetadata {
            description: "Reads a table in batch (made by `lhp plugin new`)".into(),
            requires_lhp_version: Some(">=__LHP_MAJOR_MINOR__".into()),
            ..PluginMetadata::new("__NAME__", "0.1.0")
        }
    }
    fn generators(&self) -> Vec<Arc<dyn Generator>> {
        vec![Arc::new(__CAMEL__Load)]
    }
}

/// The load type `__NAME__`: `source: {type: __NAME__, table: ...}`.
struct __CAMEL__Load;

impl Generator for __CAMEL__Load {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }
    fn type_name(&self) -> &str {
        "__NAME__"
    }
    fn provider(&self) -> &str {
        "__NAME__"
    }
    fn example(&self) -> Option<Json> {
        Some(json!({ "table": "samples.trips" }))
    }
    fn validate(&self, action: &lhp::plugin::Action) -> Vec<GenerateError> {
        let table = action
            .source()
            .and_then(|s| s.as_map())
            .and_then(|s| s.get("table"));
        match table {
            Some(value) if value.as_str().is_some() => Vec::new(),
            Some(value) => vec![GenerateError::new("LHP-PLUGIN-011", "`table` must be a string").at(value.span)],
            None => vec![GenerateError::new(
                "LHP-PLUGIN-011",
                format!("action `{}` needs `source.table`", action.name.value),
            )
            .at(action.span())],
        }
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        if let Some(problem) = self.validate(action).into_iter().next() {
            return Err(problem);
        }
        let table = action
            .source()
            .and_then(|s| s.as_map())
            .and_then(|s| s.get("table"))
            .and_then(|t| t.as_str())
            .unwrap_or_default();
        let target = action.target.as_ref().map_or("v_out", |t| t.value.as_str());
        let quoted = Json::from(table).to_string();
        Ok(Fragment {
            code: format!(
                "@dp.temporary_view()\ndef {target}():\n    \"\"\"Batch read of {table}\"\"\"\n    return spark.read.table({quoted})\n"
            ),
            ..Fragment::default()
        })
    }
}

fn main() -> std::process::ExitCode {
    lhp::Cli::new().plugin(__CAMEL__Plugin).run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lhp::plugin::testkit;

    #[test]
    fn generates_a_view_that_parses() {
        let action = testkit::action_from_yaml(
            "name: load_trips\ntype: load\ntarget: v_trips\nsource:\n  type: __NAME__\n  table: samples.trips\n",
        )
        .expect("a valid action");
        let fragment = testkit::generate(&__CAMEL__Load, &action).expect("code");
        testkit::assert_parses(&testkit::module(&fragment));
        assert!(fragment.code.contains("spark.read.table(\"samples.trips\")"));
    }

    #[test]
    fn a_missing_table_is_an_error() {
        let action = testkit::action_from_yaml(
            "name: load_trips\ntype: load\ntarget: v_trips\nsource:\n  type: __NAME__\n",
        )
        .expect("a valid action");
        assert!(testkit::generate(&__CAMEL__Load, &action).is_err());
    }

    #[test]
    fn the_plugin_fits_this_lhp() {
        assert!(__CAMEL__Plugin.metadata().check_versions().is_ok());
    }
}

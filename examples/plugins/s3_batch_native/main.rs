//! The `s3_batch` load type as a native plugin: a custom `lhp` binary with the type
//! compiled in. It generates the same code as the template plugin in `../s3_batch`.
//!
//! Build and run: `cargo run --example lhp-s3-batch -- generate --env dev --project DIR`.

use std::sync::Arc;

use lhp::plugin::serde_json::{json, Value as Json};
use lhp::plugin::{
    python_float, Action, ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Map,
    Plugin, PluginMetadata, Value, ValueKind,
};

/// The plugin: metadata and one load type.
struct S3BatchPlugin;

impl Plugin for S3BatchPlugin {
    fn metadata(&self) -> PluginMetadata {
        PluginMetadata {
            description: "Batch reads of the files under an S3 prefix".into(),
            author: "lhp examples".into(),
            requires_lhp_version: Some(">=0.1, <0.2".into()),
            ..PluginMetadata::new("s3_batch", "1.0.0")
        }
    }

    fn generators(&self) -> Vec<Arc<dyn Generator>> {
        vec![Arc::new(S3Batch)]
    }
}

/// `source: {type: s3_batch, bucket, prefix, format: parquet, recursive: true, options: {}}`.
struct S3Batch;

/// The keys a `s3_batch` source takes.
const KEYS: [&str; 6] = ["type", "bucket", "prefix", "format", "recursive", "options"];

fn source(action: &Action) -> Option<&Map> {
    action.source().and_then(Value::as_map)
}

fn text<'a>(source: &'a Map, key: &str) -> Option<&'a str> {
    source.get(key).and_then(Value::as_str)
}

/// A YAML value as a Python literal.
fn python(value: &Value) -> String {
    match &value.kind {
        ValueKind::Null => "None".into(),
        ValueKind::Bool(true) => "True".into(),
        ValueKind::Bool(false) => "False".into(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(f) => python_float(*f),
        // A JSON string literal is a Python string literal too.
        ValueKind::String(s) => Json::from(s.as_str()).to_string(),
        ValueKind::Seq(items) => {
            let items: Vec<String> = items.iter().map(python).collect();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map(map) => {
            let entries: Vec<String> = map
                .entries()
                .iter()
                .map(|(k, v)| format!("{}: {}", python(k), python(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

impl Generator for S3Batch {
    fn kind(&self) -> ActionKind {
        ActionKind::Load
    }

    fn type_name(&self) -> &str {
        "s3_batch"
    }

    fn provider(&self) -> &str {
        "s3_batch"
    }

    fn example(&self) -> Option<Json> {
        Some(json!({ "bucket": "pedal-landing", "prefix": "stations/" }))
    }

    fn validate(&self, action: &Action) -> Vec<GenerateError> {
        let Some(source) = source(action) else {
            return vec![
                GenerateError::new("LHP-PLUGIN-011", "`source` must be a mapping")
                    .at(action.span()),
            ];
        };
        let mut problems = Vec::new();
        for key in ["bucket", "prefix"] {
            if text(source, key).is_none() {
                problems.push(
                    GenerateError::new(
                        "LHP-PLUGIN-011",
                        format!("action `{}`: `{key}` must be a string", action.name.value),
                    )
                    .at(source.get(key).map_or(action.span(), |v| v.span)),
                );
            }
        }
        for (key, value) in source.entries() {
            let name = key.as_str().unwrap_or_default();
            if !KEYS.contains(&name) {
                problems.push(
                    GenerateError::new(
                        "LHP-PLUGIN-011",
                        format!("action `{}`: unknown parameter `{name}`", action.name.value),
                    )
                    .at(value.span),
                );
            }
        }
        problems
    }

    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        let action = request.action;
        if let Some(problem) = self.validate(action).into_iter().next() {
            return Err(problem);
        }
        let source = source(action).cloned().unwrap_or_default();
        let bucket = text(&source, "bucket").unwrap_or_default();
        let prefix = text(&source, "prefix").unwrap_or_default();
        let location = format!("s3://{bucket}/{prefix}");
        let target = action.target.as_ref().map_or("", |t| t.value.as_str());
        let description = action
            .field("description")
            .and_then(Value::as_str)
            .map_or_else(|| format!("Batch read of {location}"), str::to_owned);
        let format = source
            .get("format")
            .map_or_else(|| "\"parquet\"".to_owned(), python);
        let recursive = source
            .get("recursive")
            .map_or_else(|| "True".to_owned(), python);
        let mut code = format!(
            "@dp.temporary_view()\ndef {target}():\n    \"\"\"{description}\"\"\"\n    reader = spark.read.format({format})\n    reader = reader.option(\"recursiveFileLookup\", {recursive})\n"
        );
        if let Some(options) = source.get("options").and_then(Value::as_map) {
            for (key, value) in options.entries() {
                code.push_str(&format!(
                    "    reader = reader.option({}, {})\n",
                    python(key),
                    python(value)
                ));
            }
        }
        code.push_str(&format!(
            "    return reader.load({})\n",
            Json::from(location.as_str())
        ));
        Ok(Fragment {
            code,
            ..Fragment::default()
        })
    }
}

fn main() -> std::process::ExitCode {
    lhp::Cli::new().plugin(S3BatchPlugin).run()
}

//! Presets: named defaults in `presets/*.yaml`, by action kind and subtype, applied to the
//! flowgroups (and templates) that name them.
//!
//! A preset may `extends` one other preset (the child's values win); several presets named
//! together apply in order (later ones win). Merging is deep: mappings merge key by key,
//! lists and scalars are replaced, except `operational_metadata` lists, which are joined
//! without repeats. The user's own values win over every preset.
//!
//! Two places where this deliberately differs from the reference 0.9.3, each reported as a
//! warning where it matters: the reference lets a preset override a value written explicitly
//! in a load `source` or a `write_target` (its own documentation says explicit values win, as
//! here), and it silently ignores `transform_actions` presets (applied here, as defaults).

use std::collections::BTreeMap;
use std::path::Path;

use lhp_plugin::{load_documents, Limits, Map, Sources, Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;
use crate::flowgroup::did_you_mean;

/// A preset as written.
#[derive(Debug, Clone)]
pub struct Preset {
    /// The name it is used by (its `name:`, not its file name).
    pub name: String,
    /// The preset it extends, and where that is written.
    pub extends: Option<(String, Span)>,
    /// Its `defaults:` mapping.
    pub defaults: Value,
    /// Its `description:`, if it has one.
    pub description: Option<String>,
    /// Where it is declared (its document).
    pub span: Span,
}

/// Every preset of a project, by name.
#[derive(Debug, Clone, Default)]
pub struct Presets {
    by_name: BTreeMap<String, Preset>,
}

/// Reads `presets/*.yaml` (not `.yml`, not subdirectories, as in the reference), in file-name
/// order; when two files declare the same name the later one wins, with a warning.
pub fn load_presets(root: &Path, sources: &mut Sources, problems: &mut Vec<Diagnostic>) -> Presets {
    let mut presets = Presets::default();
    let mut files: Vec<_> = std::fs::read_dir(root.join("presets"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let Ok(bytes) = std::fs::read(&path) else {
            problems.push(Diagnostic::note(
                "LHP-IO-001",
                format!("cannot read {}; preset skipped", relative.display()),
            ));
            continue;
        };
        let file = sources.add(&relative, String::from_utf8_lossy(&bytes).into_owned());
        let document = match load_documents(file, &bytes, Limits::default()) {
            Ok(mut documents) if documents.len() == 1 => documents.remove(0),
            Ok(documents) => {
                problems.push(
                    Diagnostic::note(
                        "LHP-CFG-009",
                        format!(
                            "a preset file holds one document, not {}; skipped",
                            documents.len()
                        ),
                    )
                    .at(Span::new(file, 1, 1)),
                );
                continue;
            }
            Err(error) => {
                problems.push(
                    Diagnostic::note("LHP-CFG-009", format!("{}; preset skipped", error.message))
                        .at(error.span),
                );
                continue;
            }
        };
        let Some(map) = document.as_map() else {
            problems.push(
                Diagnostic::note("LHP-CFG-009", "a preset must be a mapping; skipped")
                    .at(document.span),
            );
            continue;
        };
        let Some(name) = map.get("name").and_then(Value::as_str) else {
            problems.push(
                Diagnostic::note("LHP-CFG-009", "the preset has no `name`; skipped")
                    .at(document.span),
            );
            continue;
        };
        let extends = map
            .get("extends")
            .and_then(|v| Some((v.as_str()?.to_owned(), v.span)));
        let defaults = map
            .get("defaults")
            .filter(|d| d.as_map().is_some())
            .cloned()
            .unwrap_or_else(|| Value::new(document.span, ValueKind::Map(Map::new())));
        if presets.by_name.contains_key(name) {
            problems.push(
                Diagnostic::note(
                    "LHP-CFG-009",
                    format!("preset `{name}` is declared again; this declaration wins"),
                )
                .at(document.span),
            );
        }
        presets.by_name.insert(
            name.to_owned(),
            Preset {
                name: name.to_owned(),
                extends,
                defaults,
                description: map
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                span: document.span,
            },
        );
    }
    presets
}

impl Presets {
    /// A preset by name.
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.by_name.get(name)
    }

    /// Every preset, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Preset> {
        self.by_name.values()
    }

    /// The defaults of `names` (with where each is named), inheritance resolved and folded
    /// in order; `None` when one of them cannot be resolved (reported in `problems`).
    pub fn resolve(
        &self,
        names: &[(String, Span)],
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Value> {
        let mut merged: Option<Value> = None;
        for (name, span) in names {
            let resolved = self.resolve_one(name, *span, &mut Vec::new(), problems)?;
            merged = Some(match merged {
                None => resolved,
                Some(base) => deep_merge(&base, &resolved),
            });
        }
        merged
    }

    fn resolve_one(
        &self,
        name: &str,
        span: Span,
        chain: &mut Vec<String>,
        problems: &mut Vec<Diagnostic>,
    ) -> Option<Value> {
        if chain.iter().any(|n| n == name) {
            chain.push(name.to_owned());
            problems.push(
                Diagnostic::error(
                    "LHP-DEP-022",
                    format!(
                        "presets extend each other in a circle: {}",
                        chain.join(" -> ")
                    ),
                )
                .at(span),
            );
            return None;
        }
        let Some(preset) = self.by_name.get(name) else {
            let known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            let mut problem =
                Diagnostic::error("LHP-ACT-001", format!("unknown preset `{name}`")).at(span);
            if let Some(guess) = did_you_mean(name, &known) {
                problem = problem.hint(format!("did you mean `{guess}`?"));
            }
            problems.push(problem);
            return None;
        };
        chain.push(name.to_owned());
        let resolved = match &preset.extends {
            None => preset.defaults.clone(),
            Some((parent, parent_span)) => {
                let base = self.resolve_one(parent, *parent_span, chain, problems)?;
                deep_merge(&base, &preset.defaults)
            }
        };
        chain.pop();
        Some(resolved)
    }
}

/// `over` merged into `base`: mappings key by key, `over` winning; lists replaced, except
/// under `operational_metadata`, where they are joined without repeats.
pub fn deep_merge(base: &Value, over: &Value) -> Value {
    merge_at(base, over, None)
}

fn merge_at(base: &Value, over: &Value, key: Option<&str>) -> Value {
    match (&base.kind, &over.kind) {
        (ValueKind::Map(b), ValueKind::Map(o)) => {
            let mut merged = Map::new();
            for (k, v) in b.entries() {
                let name = k.as_str();
                match name.and_then(|n| o.get(n)) {
                    Some(ov) => merged.push(k.clone(), merge_at(v, ov, name)),
                    None => merged.push(k.clone(), v.clone()),
                }
            }
            for (k, v) in o.entries() {
                if k.as_str().is_none_or(|n| !b.contains_key(n)) {
                    merged.push(k.clone(), v.clone());
                }
            }
            Value::new(over.span, ValueKind::Map(merged))
        }
        (ValueKind::Seq(b), ValueKind::Seq(o)) if key == Some("operational_metadata") => {
            let mut joined = b.clone();
            for item in o {
                if !joined.iter().any(|j| j.kind == item.kind) {
                    joined.push(item.clone());
                }
            }
            Value::new(over.span, ValueKind::Seq(joined))
        }
        _ => over.clone(),
    }
}

/// `explicit` with what only `preset` has added: the explicit values win, and the keys keep
/// the reference's order (the action's own first, then those the preset adds), which
/// decides the order of generated options.
fn fill_from_preset(explicit: &Value, preset: &Value, key: Option<&str>) -> Value {
    match (&explicit.kind, &preset.kind) {
        (ValueKind::Map(e), ValueKind::Map(p)) => {
            let mut merged = Map::new();
            for (k, v) in e.entries() {
                let name = k.as_str();
                match name.and_then(|n| p.get(n)) {
                    Some(pv) => merged.push(k.clone(), fill_from_preset(v, pv, name)),
                    None => merged.push(k.clone(), v.clone()),
                }
            }
            for (k, v) in p.entries() {
                if k.as_str().is_none_or(|n| !e.contains_key(n)) {
                    merged.push(k.clone(), v.clone());
                }
            }
            Value::new(explicit.span, ValueKind::Map(merged))
        }
        (ValueKind::Seq(_), ValueKind::Seq(_)) if key == Some("operational_metadata") => {
            merge_at(preset, explicit, key)
        }
        _ => explicit.clone(),
    }
}

/// Applies resolved preset `defaults` to the actions of `flowgroup`: load sources by
/// `source.type`, write targets by `write_target.type`, transforms by `transform_type`.
pub fn apply_presets(flowgroup: &mut Value, defaults: &Value, problems: &mut Vec<Diagnostic>) {
    let Some(defaults) = defaults.as_map() else {
        return;
    };
    let ValueKind::Map(map) = &mut flowgroup.kind else {
        return;
    };
    for (key, actions) in map.entries_mut() {
        if key.as_str() != Some("actions") {
            continue;
        }
        let ValueKind::Seq(actions) = &mut actions.kind else {
            continue;
        };
        for action in actions {
            apply_to_action(action, defaults, problems);
        }
    }
}

fn apply_to_action(action: &mut Value, defaults: &Map, problems: &mut Vec<Diagnostic>) {
    let action_span = action.span;
    let ValueKind::Map(fields) = &mut action.kind else {
        return;
    };
    let kind = fields
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match kind.as_deref() {
        Some("load") => merge_typed_field(fields, "source", defaults.get("load_actions"), problems),
        Some("write") => merge_typed_field(
            fields,
            "write_target",
            defaults.get("write_actions"),
            problems,
        ),
        Some("transform") => {
            let Some(subtype) = fields
                .get("transform_type")
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                return;
            };
            let Some(preset) = defaults
                .get("transform_actions")
                .and_then(Value::as_map)
                .and_then(|t| t.get(&subtype))
            else {
                return;
            };
            let Some(preset) = preset.as_map() else {
                return;
            };
            for (name, value) in preset.iter_str() {
                if !fields.contains_key(name) {
                    problems.push(
                        Diagnostic::note(
                            "LHP-PRESET-002",
                            format!("a preset sets `{name}` on this transform; the reference 0.9.3 ignores transform presets"),
                        )
                        .at(action_span),
                    );
                    fields.push(
                        Value::new(value.span, ValueKind::String(name.to_owned())),
                        value.clone(),
                    );
                }
            }
        }
        _ => {}
    }
}

/// Merges the preset for `fields[field].type` under the explicit values of `fields[field]`.
fn merge_typed_field(
    fields: &mut Map,
    field: &str,
    presets: Option<&Value>,
    problems: &mut Vec<Diagnostic>,
) {
    for (key, target) in fields.entries_mut() {
        if key.as_str() != Some(field) {
            continue;
        }
        let Some(subtype) = target
            .as_map()
            .and_then(|m| m.get("type"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let Some(preset) = presets.and_then(Value::as_map).and_then(|p| p.get(subtype)) else {
            continue;
        };
        if preset.as_map().is_none() {
            continue;
        }
        report_overridden(preset, target, field, problems);
        *target = fill_from_preset(target, preset, None);
    }
}

/// Warns where an explicit value differs from the preset's, since the reference would have
/// used the preset's value there.
fn report_overridden(preset: &Value, explicit: &Value, path: &str, problems: &mut Vec<Diagnostic>) {
    let (Some(p), Some(e)) = (preset.as_map(), explicit.as_map()) else {
        if preset.kind != explicit.kind {
            problems.push(
                Diagnostic::note(
                    "LHP-PRESET-001",
                    format!("`{path}` is set here and by a preset; this value is used, the reference 0.9.3 would use the preset's"),
                )
                .at(explicit.span),
            );
        }
        return;
    };
    for (name, value) in e.iter_str() {
        if let Some(preset_value) = p.get(name) {
            report_overridden(preset_value, value, &format!("{path}.{name}"), problems);
        }
    }
}

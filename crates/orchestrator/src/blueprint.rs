//! Blueprints: flowgroup specs with parameters (`blueprints/`), and the instance files that
//! stamp them out (`use_blueprint:` under `pipelines/`), expanded as the reference expands
//! them: every instance × every flowgroup spec of its blueprint.

use std::collections::BTreeMap;
use std::path::Path;

use lhp_plugin::{load_documents, FileId, Limits, Map, Sources, Span, Value, ValueKind};

use crate::diagnostic::Diagnostic;
use crate::flowgroup::{did_you_mean, RawFlowgroup};
use crate::pattern::discover;
use crate::pyliteral;
use crate::substitution::{expand_among, python_str, resolve_local_variables};

/// A blueprint: parameters and the flowgroup specs they fill in.
#[derive(Debug, Clone)]
pub struct Blueprint {
    /// Its `name`, which instances refer to.
    pub name: String,
    /// Its declared parameters: name, required, default (a `null` default counts as none).
    pub parameters: Vec<(String, bool, Option<Value>)>,
    /// Its flowgroup specs, as written.
    pub specs: Vec<Value>,
    /// Its `description:`, if it has one.
    pub description: Option<String>,
    /// Where it is declared (its document).
    pub span: Span,
}

/// An instance: which blueprint, with which parameters.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The file it is in.
    pub file: FileId,
    /// The blueprint's name and where it is written.
    pub blueprint: (String, Span),
    /// The parameters given.
    pub parameters: Map,
}

/// Keys an instance of the current form may have.
const INSTANCE_KEYS: [&str; 3] = ["use_blueprint", "parameters", "overrides"];

/// Reads every blueprint selected by `patterns` (relative to `root`), by name.
pub fn load_blueprints(
    root: &Path,
    patterns: &[String],
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Blueprint> {
    let mut blueprints: BTreeMap<String, Blueprint> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, Span> = BTreeMap::new();
    for relative in discover(root, patterns, problems) {
        let Ok(bytes) = std::fs::read(root.join(&relative)) else {
            continue;
        };
        let file = sources.add(&relative, String::from_utf8_lossy(&bytes).into_owned());
        let whole = Span::new(file, 1, 1);
        let documents = match load_documents(file, &bytes, Limits::default()) {
            Ok(documents) => documents,
            Err(error) => {
                problems.push(Diagnostic::error("LHP-CFG-009", error.message).at(error.span));
                continue;
            }
        };
        let document = match <[Value; 1]>::try_from(documents) {
            Ok([document]) => document,
            Err(documents) if documents.is_empty() => {
                problems.push(
                    Diagnostic::error("LHP-CFG-047", "the blueprint file is empty").at(whole),
                );
                continue;
            }
            Err(documents) => {
                problems.push(
                    Diagnostic::error(
                        "LHP-CFG-048",
                        format!(
                            "a blueprint file holds one document, not {}",
                            documents.len()
                        ),
                    )
                    .at(whole),
                );
                continue;
            }
        };
        let shaped = document.as_map().filter(|m| {
            m.contains_key("parameters")
                && m.contains_key("flowgroups")
                && !m.contains_key("actions")
        });
        let Some(map) = shaped else {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-049",
                    "a blueprint needs `parameters` and `flowgroups`, and no `actions`",
                )
                .at(document.span),
            );
            continue;
        };
        let Some(name) = map.get("name").and_then(Value::as_str).map(str::to_owned) else {
            problems.push(
                Diagnostic::error("LHP-CFG-050", "the blueprint has no `name`").at(document.span),
            );
            continue;
        };
        // A null default counts as no default in blueprints, as in the reference.
        let parameters: Vec<(String, bool, Option<Value>)> = crate::shape::parameter_list(
            map.get("parameters"),
            "blueprint",
            "LHP-CFG-050",
            problems,
        )
        .into_iter()
        .map(|(name, required, default)| (name, required, default.filter(|d| !d.is_null())))
        .collect();
        let specs = map
            .get("flowgroups")
            .and_then(Value::as_seq)
            .unwrap_or_default()
            .to_vec();
        for spec in &specs {
            check_spec_names(spec, problems);
        }
        if let Some(first) = first_seen.get(&name) {
            problems.push(
                Diagnostic::error(
                    "LHP-VAL-046",
                    format!("blueprint `{name}` is declared twice"),
                )
                .at(document.span)
                .hint(format!(
                    "the other declaration is at line {} of another file",
                    first.line
                )),
            );
            continue;
        }
        first_seen.insert(name.clone(), document.span);
        blueprints.insert(
            name.clone(),
            Blueprint {
                name,
                parameters,
                specs,
                description: map
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                span: document.span,
            },
        );
    }
    blueprints
}

/// A spec's `pipeline` and `flowgroup` may use `%{param}` but not `${token}`.
fn check_spec_names(spec: &Value, problems: &mut Vec<Diagnostic>) {
    for key in ["pipeline", "flowgroup"] {
        if let Some(value) = spec.as_map().and_then(|m| m.get(key)) {
            if value.as_str().is_some_and(|s| s.contains("${")) {
                problems.push(
                    Diagnostic::error(
                        "LHP-VAL-044",
                        format!("a blueprint's `{key}` may use `%{{param}}`, not `${{token}}`"),
                    )
                    .at(value.span),
                );
            }
        }
    }
}

/// Reads an instance file's documents (the caller knows it is one: see
/// [`FileContent::BlueprintInstance`](crate::flowgroup::FileContent)).
pub fn parse_instance(
    file: FileId,
    documents: Vec<Value>,
    problems: &mut Vec<Diagnostic>,
) -> Option<Instance> {
    let whole = Span::new(file, 1, 1);
    let document = match <[Value; 1]>::try_from(documents) {
        Ok([document]) => document,
        Err(documents) if documents.is_empty() => {
            problems.push(Diagnostic::error("LHP-CFG-051", "the instance file is empty").at(whole));
            return None;
        }
        Err(_) => {
            problems.push(
                Diagnostic::error("LHP-CFG-052", "an instance file holds one document").at(whole),
            );
            return None;
        }
    };
    let map = document.as_map()?;
    let current = map.get("use_blueprint");
    let legacy = map.get("blueprint");
    let (reference, parameters) = match (current, legacy) {
        (Some(_), Some(legacy)) => {
            problems.push(
                Diagnostic::error(
                    "LHP-VAL-061",
                    "an instance uses either `use_blueprint` or the legacy `blueprint`, not both",
                )
                .at(legacy.span),
            );
            return None;
        }
        (Some(reference), None) => {
            for (key, _) in map.entries() {
                if key.as_str().is_none_or(|k| !INSTANCE_KEYS.contains(&k)) {
                    let mut problem =
                        Diagnostic::error("LHP-VAL-061", format!("an instance has no key {key}"))
                            .at(key.span);
                    if let Some(guess) = key.as_str().and_then(|k| did_you_mean(k, &INSTANCE_KEYS))
                    {
                        problem = problem.hint(format!("did you mean `{guess}`?"));
                    } else {
                        problem = problem.hint("parameters go under `parameters:`");
                    }
                    problems.push(problem);
                }
            }
            let parameters = map
                .get("parameters")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            (reference, parameters)
        }
        (None, Some(reference)) => {
            problems.push(
                Diagnostic::note(
                    "LHP-DEPR-005",
                    "the legacy instance form `blueprint:` with flat parameters is deprecated",
                )
                .at(reference.span)
                .hint("write `use_blueprint: NAME` and put the parameters under `parameters:`"),
            );
            let mut parameters = Map::new();
            for (key, value) in map.entries() {
                if key.as_str() != Some("blueprint") {
                    parameters.push(key.clone(), value.clone());
                }
            }
            (reference, parameters)
        }
        (None, None) => {
            problems.push(
                Diagnostic::error("LHP-VAL-053", "the instance names no blueprint")
                    .at(document.span),
            );
            return None;
        }
    };
    match reference.as_str() {
        Some(name) if !name.trim().is_empty() => Some(Instance {
            file,
            blueprint: (name.to_owned(), reference.span),
            parameters,
        }),
        _ => {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-054",
                    "the blueprint name must be a non-empty string",
                )
                .at(reference.span),
            );
            None
        }
    }
}

/// Every instance × every flowgroup spec of its blueprint, as flowgroups.
pub fn expand(
    blueprints: &BTreeMap<String, Blueprint>,
    instances: &[Instance],
    problems: &mut Vec<Diagnostic>,
) -> Vec<RawFlowgroup> {
    let mut flowgroups = Vec::new();
    let mut seen: BTreeMap<(String, String), Span> = BTreeMap::new();
    for instance in instances {
        let (name, at) = &instance.blueprint;
        let Some(blueprint) = blueprints.get(name) else {
            let known: Vec<&str> = blueprints.keys().map(String::as_str).collect();
            let mut problem =
                Diagnostic::error("LHP-VAL-041", format!("unknown blueprint `{name}`")).at(*at);
            if let Some(guess) = did_you_mean(name, &known) {
                problem = problem.hint(format!("did you mean `{guess}`?"));
            }
            problems.push(problem);
            continue;
        };
        let declared: Vec<&str> = blueprint
            .parameters
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect();
        let mut bad = false;
        for (key, _) in instance.parameters.entries() {
            let Some(key_name) = key.as_str() else {
                continue;
            };
            if !declared.contains(&key_name) {
                let mut problem = Diagnostic::error(
                    "LHP-VAL-043",
                    format!("blueprint `{name}` has no parameter `{key_name}`"),
                )
                .at(key.span);
                if let Some(guess) = did_you_mean(key_name, &declared) {
                    problem = problem.hint(format!("did you mean `{guess}`?"));
                }
                problems.push(problem);
                bad = true;
            }
        }
        for (parameter, required, _) in &blueprint.parameters {
            if *required && !instance.parameters.contains_key(parameter) {
                problems.push(
                    Diagnostic::error(
                        "LHP-VAL-042",
                        format!("blueprint `{name}` needs the parameter `{parameter}`"),
                    )
                    .at(*at),
                );
                bad = true;
            }
        }
        if bad {
            continue;
        }
        // Defaults, then the instance's values, each turned into text as Python's str() does.
        let mut variables: Vec<(String, Value)> = Vec::new();
        for (parameter, _, default) in &blueprint.parameters {
            let value = instance.parameters.get(parameter).or(default.as_ref());
            if let Some(value) = value {
                variables.push((parameter.clone(), value.clone()));
            }
        }
        for spec in &blueprint.specs {
            if let Some(flowgroup) = stamp(spec, &variables, instance, problems) {
                let key = (
                    flowgroup.pipeline().unwrap_or_default().to_owned(),
                    flowgroup.name().unwrap_or_default().to_owned(),
                );
                if let Some(first) = seen.get(&key) {
                    problems.push(
                        Diagnostic::error(
                            "LHP-VAL-045",
                            format!("instances of blueprints produce flowgroup `{}` of pipeline `{}` twice", key.1, key.0),
                        )
                        .at(*at)
                        .hint(format!("the first one comes from line {} of its instance", first.line)),
                    );
                    continue;
                }
                seen.insert(key, *at);
                flowgroups.push(flowgroup);
            }
        }
    }
    flowgroups
}

/// One flowgroup from one spec: the parameters become `%{}` variables (the spec's own
/// `variables` win), and `pipeline` and `flowgroup` are resolved at once.
fn stamp(
    spec: &Value,
    parameters: &[(String, Value)],
    instance: &Instance,
    problems: &mut Vec<Diagnostic>,
) -> Option<RawFlowgroup> {
    let spec_map = spec.as_map()?;
    let at = instance.blueprint.1;
    let mut variables = Map::new();
    for (name, value) in parameters {
        // Python's own str(): True/False, unlike substitution tokens.
        let text = match value.kind {
            ValueKind::Bool(b) => if b { "True" } else { "False" }.to_owned(),
            _ => python_str(value).unwrap_or_else(|| pyliteral::repr(value)),
        };
        if spec_map
            .get("variables")
            .and_then(Value::as_map)
            .is_some_and(|v| v.contains_key(name))
        {
            continue;
        }
        variables.push(
            Value::new(at, ValueKind::String(name.clone())),
            Value::new(at, ValueKind::String(text)),
        );
    }
    if let Some(own) = spec_map.get("variables").and_then(Value::as_map) {
        for (key, value) in own.entries() {
            variables.push(key.clone(), value.clone());
        }
    }
    // Expanded now: a spec's variables may use the parameters (the reference accepts that
    // for blueprints, unlike in a flowgroup of its own).
    let mut texts: BTreeMap<String, String> = variables
        .iter_str()
        .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
        .collect();
    expand_among(&mut texts);
    for (key, value) in variables.entries_mut() {
        if let (Some(name), ValueKind::String(text)) = (key.as_str(), &mut value.kind) {
            if let Some(expanded) = texts.get(name) {
                text.clone_from(expanded);
            }
        }
    }
    let mut flowgroup = Map::new();
    for (key, value) in spec_map.entries() {
        if key.as_str() != Some("variables") {
            flowgroup.push(key.clone(), value.clone());
        }
    }
    flowgroup.push(
        Value::new(at, ValueKind::String("variables".into())),
        Value::new(at, ValueKind::Map(variables)),
    );
    // Resolve %{} in the names now, as the reference does; the rest later, with the others.
    let mut names = Map::new();
    for key in ["pipeline", "flowgroup", "variables"] {
        if let Some((k, v)) = flowgroup.get_entry(key) {
            names.push(k.clone(), v.clone());
        }
    }
    let mut names = Value::new(spec.span, ValueKind::Map(names));
    let before = problems.len();
    resolve_local_variables(&mut names, problems);
    let mut resolved = Map::new();
    for (key, value) in flowgroup.entries() {
        match key
            .as_str()
            .filter(|k| *k == "pipeline" || *k == "flowgroup")
        {
            Some(k) => resolved.push(key.clone(), names.as_map()?.get(k)?.clone()),
            None => resolved.push(key.clone(), value.clone()),
        }
    }
    if problems.len() > before {
        for problem in &mut problems[before..] {
            problem.code = "LHP-VAL-055";
        }
        return None;
    }
    Some(RawFlowgroup {
        file: instance.file,
        value: Value::new(spec.span, ValueKind::Map(resolved)),
    })
}

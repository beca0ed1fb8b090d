//! Loading a whole project for one environment: discovery, blueprints, and each flowgroup
//! resolved in the reference's order (variables, template, presets, substitution), with
//! every problem collected as a [`Diagnostic`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lhp_plugin::{load_documents, Flowgroup, Limits, Sources, Span, Value, ValueKind};

use crate::blueprint::{expand, load_blueprints, parse_instance, Instance};
use crate::diagnostic::{Diagnostic, Severity};
use crate::flowgroup::{parse_flowgroup_file, FileContent, RawFlowgroup};
use crate::pattern::discover;
use crate::preset::{apply_presets, load_presets};
use crate::project::{load_project_config, ProjectConfig};
use crate::substitution::{resolve_local_variables, unresolved_tokens, SecretRef, Substitutions};
use crate::template::{load_template, Template};

/// What to load.
pub struct LoadOptions<'a> {
    /// The environment (`substitutions/<env>.yaml`).
    pub env: &'a str,
    /// Keep test actions (dropped otherwise, as the reference does).
    pub include_tests: bool,
    /// Only this pipeline's flowgroups, when set.
    pub pipeline: Option<&'a str>,
    /// Reads the process environment (`LHP_IGNORE_VERSION`, `WORKSPACE_ENV`, ...).
    pub env_var: &'a dyn Fn(&str) -> Option<String>,
    /// The action types plugins provide (see [`crate::plugins::PluginHost::plugin_types`]).
    pub plugin_types: &'a [(lhp_plugin::ActionKind, String)],
}

/// A flowgroup after variables, templates, presets and substitution.
#[derive(Debug, Clone)]
pub struct ResolvedFlowgroup {
    /// The flowgroup, fully resolved, as the action model.
    pub model: Flowgroup,
    /// The operational-metadata columns its presets select, if any.
    pub preset_metadata: Option<Value>,
    /// The template it uses (`use_template`), for `lhp list`.
    pub template: Option<String>,
    /// The presets it names, its template's first, for `lhp list`.
    pub presets: Vec<String>,
}

impl ResolvedFlowgroup {
    /// Its pipeline.
    pub fn pipeline(&self) -> &str {
        &self.model.pipeline.value
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.model.name.value
    }
}

/// A project as read for one environment.
#[derive(Debug, Default)]
pub struct LoadedProject {
    /// `lhp.yaml`, when it could be read.
    pub config: Option<ProjectConfig>,
    /// Every file read, for showing positions.
    pub sources: Sources,
    /// The flowgroups that resolved without errors.
    pub flowgroups: Vec<ResolvedFlowgroup>,
    /// Every pipeline of the project, whether selected for this run or not.
    pub pipelines: BTreeSet<String>,
    /// Secrets named anywhere, for the code generator.
    pub secrets: Vec<SecretRef>,
    /// The environment's tokens, for the files the generator reads (SQL, Python modules).
    pub substitutions: Substitutions,
    /// Every problem found, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadedProject {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Loads the project at `root` for `options.env`.
pub fn load_project(root: &Path, options: &LoadOptions<'_>) -> LoadedProject {
    let mut project = LoadedProject::default();
    let problems = &mut project.diagnostics;
    let config = match load_project_config(root, &mut project.sources, options.env_var) {
        Ok((config, warnings)) => {
            problems.extend(warnings);
            config
        }
        Err(errors) => {
            problems.extend(errors);
            return project;
        }
    };
    let substitutions = load_substitutions(root, options, &mut project.sources, problems);
    let presets = load_presets(root, &mut project.sources, problems);

    // Flowgroup files under pipelines/, selected by `include`.
    let pipelines = root.join("pipelines");
    let mut raw: Vec<RawFlowgroup> = Vec::new();
    warn_idle_patterns(&config, &pipelines, problems);
    // Files read here are remembered, so that instance discovery below does not read them
    // again: an instance keeps its documents, anything else is known not to be one.
    let mut seen: BTreeMap<PathBuf, Option<(lhp_plugin::FileId, Vec<Value>)>> = BTreeMap::new();
    let discovered: Vec<PathBuf> = discover(&pipelines, &config.include, problems)
        .into_iter()
        .map(|relative| Path::new("pipelines").join(relative))
        .collect();
    for (path, read) in read_in_parallel(root, discovered, &project.sources) {
        // Registered in order, whatever the thread that read it: ids were given ahead.
        let (file, documents) = match read {
            Ok((text, documents)) => (project.sources.add(&path, text), documents),
            Err(error) => {
                project.sources.add(&path, String::new());
                problems.push(Diagnostic::error(
                    "LHP-IO-001",
                    format!("cannot read {}: {error}", path.display()),
                ));
                seen.insert(path, None);
                continue;
            }
        };
        let documents = match documents {
            Ok(documents) => documents,
            Err(error) => {
                problems.push(Diagnostic::error("LHP-CFG-009", error.message).at(error.span));
                seen.insert(path, None);
                continue;
            }
        };
        warn_bare_tokens(&project.sources, file, problems);
        // An instance is decided by its first document, as the instance search decides it.
        if documents.first().is_some_and(is_instance) {
            seen.insert(path, Some((file, documents)));
            continue;
        }
        seen.insert(path, None);
        if let FileContent::Flowgroups(found) = parse_flowgroup_file(file, documents, problems) {
            raw.extend(found);
        }
    }
    // Blueprint instances, found through `instance_include`, and their blueprints.
    let mut instances: Vec<Instance> = Vec::new();
    for path in discover(root, &config.instance_include, problems) {
        if let Some(known) = seen.remove(&path) {
            if let Some((file, documents)) = known {
                instances.extend(parse_instance(file, documents, problems));
            }
            continue;
        }
        let Ok(bytes) = std::fs::read(root.join(&path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        if !(text.contains("use_blueprint") || text.contains("blueprint:")) {
            continue;
        }
        let file = project.sources.add(&path, text.into_owned());
        let Ok(documents) = load_documents(file, &bytes, Limits::default()) else {
            continue;
        };
        if documents.first().is_some_and(is_instance) {
            instances.extend(parse_instance(file, documents, problems));
        }
    }
    // Blueprints are read (and checked) even when no instance uses them, as in the reference.
    let blueprints = load_blueprints(
        root,
        &config.blueprint_include,
        &mut project.sources,
        problems,
    );
    raw.extend(expand(&blueprints, &instances, problems));
    // The monitoring pipeline exists only when some other pipeline has an event log to read.
    project.pipelines = raw
        .iter()
        .filter_map(|f| f.pipeline().map(str::to_owned))
        .collect();
    if let Some(monitoring) = crate::monitoring::flowgroup(&config) {
        let name = monitoring.pipeline().map(str::to_owned);
        if project.pipelines.iter().any(|p| Some(p) != name.as_ref()) {
            raw.push(monitoring);
        }
    }
    let before = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    check_unique_flowgroups(&raw, &project.sources, problems);
    if problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count()
        > before
    {
        // As the reference's preflight: with flowgroups defined twice, nothing after is meaningful.
        project.config = Some(config);
        return project;
    }

    let mut templates: BTreeMap<String, Template> = BTreeMap::new();
    for flowgroup in raw {
        if options
            .pipeline
            .is_some_and(|p| flowgroup.pipeline() != Some(p))
        {
            continue;
        }
        let before = problems.len();
        let resolved = resolve(
            root,
            flowgroup,
            options,
            &substitutions,
            &presets,
            &mut templates,
            &mut project.sources,
            &mut project.secrets,
            problems,
        );
        let failed = problems[before..]
            .iter()
            .any(|p| p.severity == Severity::Error);
        if let (Some(resolved), false) = (resolved, failed) {
            project.flowgroups.push(resolved);
        }
    }
    let mut by_pipeline: BTreeMap<&str, Vec<&Flowgroup>> = BTreeMap::new();
    for flowgroup in &project.flowgroups {
        by_pipeline
            .entry(flowgroup.pipeline())
            .or_default()
            .push(&flowgroup.model);
    }
    for flowgroups in by_pipeline.values() {
        crate::dependency::check_pipeline(flowgroups, &mut project.diagnostics);
        crate::dependency::check_tables(flowgroups, &mut project.diagnostics);
    }
    project.config = Some(config);
    project.substitutions = substitutions;
    project
}

/// Only `lhp.yaml` and the environment's substitutions: what the hooks of a run need when
/// the project itself need not be read (a run with nothing to do).
pub fn load_settings(
    root: &Path,
    env: &str,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> LoadedProject {
    let mut project = LoadedProject::default();
    let options = LoadOptions {
        env,
        include_tests: false,
        pipeline: None,
        env_var,
        plugin_types: &[],
    };
    match load_project_config(root, &mut project.sources, env_var) {
        Ok((config, _)) => {
            let mut problems = Vec::new();
            project.substitutions =
                load_substitutions(root, &options, &mut project.sources, &mut problems);
            project.config = Some(config);
        }
        Err(errors) => project.diagnostics.extend(errors),
    }
    project
}

/// A flowgroup file read and parsed: its text and documents, or why it could not be read.
type Read = std::io::Result<(String, Result<Vec<Value>, lhp_plugin::YamlError>)>;

/// Reads and parses `paths` on every core (the bulk of loading a large project), each
/// with the file id it will get when registered in `sources` in the order given.
fn read_in_parallel(root: &Path, paths: Vec<PathBuf>, sources: &Sources) -> Vec<(PathBuf, Read)> {
    let read_one = |index: usize, path: &Path| -> Read {
        let bytes = std::fs::read(root.join(path))?;
        let documents = load_documents(sources.future_id(index), &bytes, Limits::default());
        Ok((String::from_utf8_lossy(&bytes).into_owned(), documents))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(paths.len().div_ceil(64))
        .max(1);
    let chunk = paths.len().div_ceil(threads).max(1);
    let mut results: Vec<(PathBuf, Read)> = Vec::with_capacity(paths.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, path)| (path.clone(), read_one(n * chunk + i, path)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (handle, part) in handles.into_iter().zip(paths.chunks(chunk)) {
            match handle.join() {
                Ok(read) => results.extend(read),
                // A parser that panics fails its files, not the run.
                Err(_) => results.extend(part.iter().map(|path| {
                    let error = std::io::Error::other("internal error while reading it");
                    (path.clone(), Err(error))
                })),
            }
        }
    });
    results
}

/// Whether a document is a blueprint instance (`use_blueprint`, or the legacy `blueprint:`).
fn is_instance(document: &Value) -> bool {
    document.as_map().is_some_and(|m| {
        m.contains_key("use_blueprint")
            || (m.get("blueprint").is_some_and(|b| b.as_str().is_some())
                && !m.contains_key("flowgroups")
                && !m.contains_key("actions"))
    })
}

fn read_yaml(
    root: &Path,
    path: &Path,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Option<(lhp_plugin::FileId, Vec<Value>)> {
    let bytes = match std::fs::read(root.join(path)) {
        Ok(bytes) => bytes,
        Err(error) => {
            problems.push(Diagnostic::error(
                "LHP-IO-001",
                format!("cannot read {}: {error}", path.display()),
            ));
            return None;
        }
    };
    let file = sources.add(path, String::from_utf8_lossy(&bytes).into_owned());
    match load_documents(file, &bytes, Limits::default()) {
        Ok(documents) => Some((file, documents)),
        Err(error) => {
            problems.push(Diagnostic::error("LHP-CFG-009", error.message).at(error.span));
            None
        }
    }
}

/// `substitutions/<env>.yaml`, which may be absent (as the reference accepts).
fn load_substitutions(
    root: &Path,
    options: &LoadOptions<'_>,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Substitutions {
    let path: PathBuf = Path::new("substitutions").join(format!("{}.yaml", options.env));
    let document = if root.join(&path).is_file() {
        match read_yaml(root, &path, sources, problems) {
            Some((_, mut documents)) if documents.len() == 1 => Some(documents.remove(0)),
            Some((file, documents)) => {
                problems.push(
                    Diagnostic::error(
                        "LHP-IO-003",
                        format!(
                            "{} must hold one YAML document, not {}",
                            path.display(),
                            documents.len()
                        ),
                    )
                    .at(Span::new(file, 1, 1)),
                );
                None
            }
            None => None,
        }
    } else {
        None
    };
    Substitutions::new(options.env, document.as_ref(), options.env_var, problems)
}

/// The deprecated bare `{token}` anywhere in a pipeline file's text (comments included, as
/// the reference scans it): one warning per file.
fn warn_bare_tokens(sources: &Sources, file: lhp_plugin::FileId, problems: &mut Vec<Diagnostic>) {
    let Some(source) = sources.get(file) else {
        return;
    };
    for (index, line) in source.text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut at = 0;
        while let Some(open) = line[at..].find('{').map(|i| i + at) {
            let preceded = open > 0 && matches!(bytes[open - 1], b'$' | b'%' | b'{');
            let rest = &line[open + 1..];
            let word_end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let closed = word_end > 0
                && rest[word_end..].starts_with('}')
                && !rest[word_end + 1..].starts_with('}');
            if !preceded && closed {
                let column = line[..open].chars().count() + 1;
                let word = &rest[..word_end];
                let hint = if word.bytes().all(|b| b.is_ascii_digit()) {
                    "if this is a regex quantifier, move the SQL into a `sql_path` file".to_owned()
                } else {
                    format!("write `${{{word}}}`")
                };
                problems.push(
                    Diagnostic::warning(
                        "LHP-DEPR-001",
                        format!("`{{{word}}}` uses the deprecated bare token syntax"),
                    )
                    .at(Span::new(
                        file,
                        u32::try_from(index + 1).unwrap_or(u32::MAX),
                        u32::try_from(column).unwrap_or(u32::MAX),
                    ))
                    .hint(hint),
                );
                return;
            }
            at = open + 1;
        }
    }
}

/// An `include` pattern that selects no file is most likely a mistake.
fn warn_idle_patterns(config: &ProjectConfig, pipelines: &Path, problems: &mut Vec<Diagnostic>) {
    let Some(items) = config
        .document
        .as_ref()
        .and_then(Value::as_map)
        .and_then(|m| m.get("include"))
        .and_then(Value::as_seq)
    else {
        return;
    };
    let files = discover(pipelines, &[], &mut Vec::new());
    for item in items {
        let Some(pattern) = item.as_str() else {
            continue;
        };
        // An exclusion that removes nothing is harmless.
        if pattern.starts_with('!') {
            continue;
        }
        let selects = files.iter().any(|f| {
            crate::pattern::matches_include(&f.to_string_lossy().replace('\\', "/"), pattern)
        });
        if !selects {
            problems.push(
                Diagnostic::note(
                    "LHP-CFG-005",
                    format!("the include pattern {pattern:?} selects no file under pipelines/"),
                )
                .at(item.span)
                .hint("patterns are relative to pipelines/, e.g. \"bronze/**/*.yaml\""),
            );
        }
    }
}

/// Files an action names (`sql_path`, `module_path`, `schema_file`, `expectations_file`, on
/// the action, its `source` or its `write_target`) must exist under the project root.
fn check_side_files(
    root: &Path,
    flowgroup: &Value,
    substitutions: &Substitutions,
    problems: &mut Vec<Diagnostic>,
) {
    const FILE_KEYS: [&str; 4] = [
        "sql_path",
        "module_path",
        "schema_file",
        "expectations_file",
    ];
    let actions = crate::shape::actions_of(flowgroup);
    for action in actions {
        let Some(fields) = action.as_map() else {
            continue;
        };
        let mut places = vec![fields];
        for nested in ["source", "write_target"] {
            if let Some(map) = fields.get(nested).and_then(Value::as_map) {
                places.push(map);
            }
        }
        for place in places {
            for key in FILE_KEYS {
                let Some(value) = place.get(key) else {
                    continue;
                };
                let Some(path) = value.as_str() else { continue };
                // Left to the generator when it still depends on a token.
                if path.contains("${") || path.is_empty() {
                    continue;
                }
                let normalized = path.replace('\\', "/");
                if !root.join(&normalized).is_file() {
                    problems.push(
                        Diagnostic::error(
                            "LHP-IO-001",
                            format!("`{key}` names {path:?}, which does not exist"),
                        )
                        .at(value.span)
                        .hint("paths are relative to the project root (where lhp.yaml is)"),
                    );
                } else if key == "sql_path" && !has_inline_sql(place) {
                    check_sql_tokens(root, path, value.span, substitutions, problems);
                }
            }
        }
    }
}

/// Whether `place` has inline `sql` (even empty), which the generators take over a
/// `sql_path` file.
fn has_inline_sql(place: &lhp_plugin::Map) -> bool {
    place.get("sql").and_then(Value::as_str).is_some()
}

/// A `sql_path` file's tokens must all be defined: the generator substitutes the file and
/// refuses what is left, so validation says so first (as the reference's does).
fn check_sql_tokens(
    root: &Path,
    path: &str,
    at: Span,
    substitutions: &Substitutions,
    problems: &mut Vec<Diagnostic>,
) {
    let Ok(bytes) = std::fs::read(root.join(path.replace('\\', "/"))) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut value = Value::new(at, ValueKind::String(text.into_owned()));
    let mut found = Vec::new();
    substitutions.substitute(&mut value, &mut Vec::new(), &mut found);
    problems.extend(found.into_iter().take(1).map(|mut problem| {
        problem.span = Some(at);
        problem
    }));
    let leftover = crate::substitution::dollar_tokens(value.as_str().unwrap_or_default());
    if !leftover.is_empty() {
        let listed: Vec<String> = leftover.iter().map(|w| format!("${{{w}}}")).collect();
        problems.push(
            Diagnostic::error(
                "LHP-CFG-010",
                format!(
                    "{path} uses {}, which substitutions/{}.yaml does not define",
                    listed.join(", "),
                    substitutions.env()
                ),
            )
            .at(at)
            .hint("define the token, or check its spelling (a SQL comment is substituted too)"),
        );
    }
}

/// The same (pipeline, flowgroup) defined twice anywhere in the project.
fn check_unique_flowgroups(
    flowgroups: &[RawFlowgroup],
    sources: &Sources,
    problems: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<(&str, &str), Span> = BTreeMap::new();
    for flowgroup in flowgroups {
        let (Some(pipeline), Some(name)) = (flowgroup.pipeline(), flowgroup.name()) else {
            continue;
        };
        let span = flowgroup.value.span;
        match seen.get(&(pipeline, name)) {
            Some(first) => problems.push(
                Diagnostic::error(
                    "LHP-VAL-009",
                    format!("flowgroup `{name}` of pipeline `{pipeline}` is defined twice"),
                )
                .at(span)
                .hint(format!(
                    "the first definition is at {}",
                    sources.locate(*first)
                )),
            ),
            None => {
                seen.insert((pipeline, name), span);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve(
    root: &Path,
    flowgroup: RawFlowgroup,
    options: &LoadOptions<'_>,
    substitutions: &Substitutions,
    presets: &crate::preset::Presets,
    templates: &mut BTreeMap<String, Template>,
    sources: &mut Sources,
    secrets: &mut Vec<SecretRef>,
    problems: &mut Vec<Diagnostic>,
) -> Option<ResolvedFlowgroup> {
    let mut value = flowgroup.value;
    // As in the reference, the first stage that fails ends this flowgroup's resolution, so
    // one mistake is not reported again by every later stage.
    let errors_so_far = |problems: &[Diagnostic]| {
        problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    };
    let start = errors_so_far(problems);
    let failed = |problems: &[Diagnostic]| errors_so_far(problems) > start;
    resolve_local_variables(&mut value, problems);
    // The reference checks the variables' own text after using them, so a variable built
    // from another variable is refused there; refuse it here too, saying so plainly.
    for (span, name, used) in crate::substitution::variables_using_variables(&value) {
        problems.push(
            Diagnostic::error(
                "LHP-CFG-010",
                format!("variable `{name}` uses another variable, `%{{{used}}}`; lakehouse-plumber 0.9.3 refuses that"),
            )
            .at(span)
            .hint("write the variable's value out in full"),
        );
    }
    if failed(problems) {
        return None;
    }
    // The variables have been applied; their own text (which may hold `%{...}`) is not part
    // of what the flowgroup means, and the reference does not check it either.
    if let ValueKind::Map(map) = &mut value.kind {
        map.retain(|key, _| key.as_str() != Some("variables"));
    }

    // Template: its actions come after the flowgroup's own; its presets before the flowgroup's.
    let mut preset_names: Vec<(String, Span)> = Vec::new();
    // Only these three are needed past the point where `value` changes: copy just them.
    let map = value.as_map()?;
    let (use_template, template_parameters, preset_list) = (
        map.get("use_template").cloned(),
        map.get("template_parameters").cloned(),
        map.get("presets").cloned(),
    );
    if let Some(used) = &use_template {
        let Some(name) = used.as_str() else {
            problems.push(
                Diagnostic::error("LHP-CFG-027", "`use_template` must name a template")
                    .at(used.span),
            );
            return None;
        };
        // Only templates that load are kept: a failing one is reported at every use.
        if !templates.contains_key(name) {
            match load_template(root, name, used.span, sources) {
                Ok(template) => {
                    templates.insert(name.to_owned(), template);
                }
                Err(errors) => {
                    problems.extend(errors);
                    return None;
                }
            }
        }
        let template = templates.get(name)?;
        let actions = template.expand(template_parameters.as_ref(), used.span, problems);
        if failed(problems) {
            return None;
        }
        preset_names.extend(template.presets.iter().map(|p| (p.clone(), used.span)));
        append_actions(&mut value, actions);
    }
    if !options.include_tests {
        drop_test_actions(&mut value);
    }
    if let Some(names) = preset_list.as_ref().and_then(Value::as_seq) {
        preset_names.extend(
            names
                .iter()
                .filter_map(|n| Some((n.as_str()?.to_owned(), n.span))),
        );
    }
    let mut preset_metadata = None;
    if !preset_names.is_empty() {
        let defaults = presets.resolve(&preset_names, problems)?;
        apply_presets(&mut value, &defaults, problems);
        preset_metadata = defaults
            .as_map()
            .and_then(|d| d.get("operational_metadata"))
            .cloned();
    }
    substitutions.substitute(&mut value, secrets, problems);
    if failed(problems) {
        return None;
    }
    let known: Vec<&str> = substitutions.tokens().map(|(name, _)| name).collect();
    for (span, path, words) in unresolved_tokens(&value) {
        let listed: Vec<String> = words.iter().map(|w| format!("{{{w}}}")).collect();
        let guess = words
            .iter()
            .find_map(|w| crate::flowgroup::did_you_mean(w, &known));
        let quantifier = words.iter().any(|w| w.bytes().all(|b| b.is_ascii_digit()));
        let hint = match guess {
            _ if quantifier => "a regex quantifier such as {8} reads as a token here (as in the reference); put the SQL in a `sql_path` file, where only ${token} is substituted".to_owned(),
            Some(guess) => format!("did you mean `{guess}`? (tokens come from substitutions/{}.yaml)", options.env),
            None => format!("define it in substitutions/{}.yaml, or check its spelling", options.env),
        };
        problems.push(
            Diagnostic::error(
                "LHP-CFG-010",
                format!("unresolved token {} at {path}", listed.join(", ")),
            )
            .at(span)
            .hint(hint),
        );
    }
    check_actions(&value, problems);
    crate::fields::check_actions(&value, options.plugin_types, problems);
    check_side_files(root, &value, substitutions, problems);
    if failed(problems) {
        return None;
    }
    // The shape was checked when the file was read; a template may still have produced a
    // malformed action, which the model refuses here with its position.
    let model = match Flowgroup::from_value(&value) {
        Ok(model) => model,
        Err(error) => {
            problems.push(Diagnostic::error("LHP-CFG-009", error.message).at(error.span));
            return None;
        }
    };
    crate::dependency::check_flowgroup(&model, problems);
    Some(ResolvedFlowgroup {
        model,
        preset_metadata,
        template: use_template.and_then(|t| t.as_str().map(str::to_owned)),
        presets: preset_names.into_iter().map(|(name, _)| name).collect(),
    })
}

fn actions_mut(value: &mut Value) -> Option<&mut Vec<Value>> {
    let ValueKind::Map(map) = &mut value.kind else {
        return None;
    };
    map.entries_mut()
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some("actions"))
        .and_then(|(_, v)| match &mut v.kind {
            ValueKind::Seq(items) => Some(items),
            _ => None,
        })
}

fn append_actions(value: &mut Value, actions: Vec<Value>) {
    if actions_mut(value).is_none() {
        if let ValueKind::Map(map) = &mut value.kind {
            let span = value.span;
            map.push(
                Value::new(span, ValueKind::String("actions".into())),
                Value::new(span, ValueKind::Seq(Vec::new())),
            );
        }
    }
    if let Some(own) = actions_mut(value) {
        own.extend(actions);
    }
}

fn drop_test_actions(value: &mut Value) {
    if let Some(actions) = actions_mut(value) {
        actions.retain(|a| {
            a.as_map()
                .and_then(|m| m.get("type"))
                .and_then(Value::as_str)
                != Some("test")
        });
    }
}

/// The flowgroup-level checks that need no knowledge of action types.
fn check_actions(value: &Value, problems: &mut Vec<Diagnostic>) {
    let Some(map) = value.as_map() else { return };
    let actions = map
        .get("actions")
        .and_then(Value::as_seq)
        .unwrap_or_default();
    if actions.is_empty() {
        problems.push(
            Diagnostic::error("LHP-VAL-007", "the flowgroup has no actions")
                .at(value.span)
                .hint("add `actions:`, or `use_template:` a template that has some"),
        );
        return;
    }
    let mut names: BTreeMap<&str, Span> = BTreeMap::new();
    let mut targets: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
    for action in actions {
        let Some(fields) = action.as_map() else {
            continue;
        };
        let Some(name_value) = fields.get("name") else {
            continue;
        };
        let Some(name) = name_value.as_str() else {
            continue;
        };
        if let Some(first) = names.insert(name, name_value.span) {
            problems.push(
                Diagnostic::error("LHP-VAL-007", format!("two actions are named `{name}`"))
                    .at(name_value.span)
                    .hint(format!("the other one is at line {}", first.line)),
            );
        }
        if let Some(target) = fields.get("target") {
            if let Some(view) = target.as_str() {
                if let Some((other, _)) = targets.insert(view, (name, target.span)) {
                    problems.push(
                        Diagnostic::error(
                            "LHP-VAL-007",
                            format!(
                                "actions `{other}` and `{name}` both produce the view `{view}`"
                            ),
                        )
                        .at(target.span),
                    );
                }
            }
        }
    }
}

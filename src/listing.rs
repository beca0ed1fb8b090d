//! `lhp list presets|templates|blueprints|plugins|hooks` and `lhp substitutions`: what a
//! project is made of, read without generating anything. Tables for people on stdout, or
//! `--json` for scripts; problems on stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use lhp_orchestrator::load::LoadedProject;
use lhp_orchestrator::substitution::TokenValue;
use lhp_orchestrator::{Diagnostic, Severity};
use lhp_plugin::{Plugin, Sources, Span, Value};
use serde_json::json;

use crate::cli::{env_var, hook_options, project_root};
use crate::output::{emit, print_table, table, Output};

/// What `lhp list` lists.
#[derive(Debug, Subcommand)]
pub(crate) enum ListCommand {
    /// The presets (`presets/*.yaml`): name, the preset it extends, the flowgroups using it.
    ///
    /// Example: lhp list presets
    Presets(ReadArgs),
    /// The templates (`templates/*.yaml`): name, parameters (`*` required), actions, uses.
    ///
    /// Example: lhp list templates --json
    Templates(ReadArgs),
    /// The blueprints (lhp.yaml's `blueprint_include`): name, parameters, flowgroups each
    /// instance makes.
    ///
    /// Example: lhp list blueprints
    Blueprints(ReadArgs),
    /// The plugins the project sees (as `lhp plugin list` shows them).
    ///
    /// Example: lhp list plugins
    Plugins(ReadArgs),
    /// The hooks a run would have: lhp.yaml's `hooks:`, the defaults and plugin hooks, with
    /// their events, queue and whether they are on.
    ///
    /// Example: lhp list hooks --env prod
    Hooks(ReadArgs),
}

/// What `lhp list` and `lhp substitutions` take: which project, read for which
/// environment, shown how.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// The environment: selects `substitutions/<ENV>.yaml` (uses are counted after its
    /// substitutions).
    #[arg(short, long, default_value = "dev")]
    env: String,
    /// JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// Runs an `lhp list` command.
pub(crate) fn list(
    natives: &[Arc<dyn Plugin>],
    command: &ListCommand,
    output: &Output,
) -> ExitCode {
    let (args, what) = match command {
        ListCommand::Presets(args) => (args, What::Presets),
        ListCommand::Templates(args) => (args, What::Templates),
        ListCommand::Blueprints(args) => (args, What::Blueprints),
        ListCommand::Hooks(args) => (args, What::Hooks),
        ListCommand::Plugins(args) => {
            let Some(root) = project_root(args.project.as_ref()) else {
                return ExitCode::FAILURE;
            };
            let host = crate::cli::plugins(&root, natives);
            crate::cli::print_plugin_diagnostics(&host, output);
            return crate::plugin_cmd::print_plugins(&host, &root, args.json);
        }
    };
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    let mut host = crate::cli::plugins(&root, natives);
    let project = crate::cli::load(&root, &args.env, false, None, &mut host);
    let mut problems = project.diagnostics.clone();
    // The files read again for the listing are added to the project's, for positions.
    let mut sources = project.sources.clone();
    let rows = match what {
        What::Presets => presets(&root, &project, &mut sources),
        What::Templates => templates(&root, &project, &mut sources, &mut problems),
        What::Blueprints => blueprints(&root, &project, &mut sources),
        What::Hooks => hooks(&root, &project, &host, &args.env, output, &mut problems),
    };
    let failed = report_errors(&problems, &sources, output);
    if args.json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows.json).unwrap_or_default()
        ));
    } else if rows.table.len() > 1 {
        print_table(&rows.table);
    } else {
        eprintln!("{}", rows.none);
    }
    host.shutdown();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum What {
    Presets,
    Templates,
    Blueprints,
    Hooks,
}

/// A listing: the table (header first) and the same as JSON objects.
#[derive(Default)]
struct Rows {
    table: Vec<Vec<String>>,
    json: Vec<serde_json::Value>,
    /// What is said when there is nothing to list.
    none: &'static str,
}

/// Prints the errors among `problems` (a listing does not need warnings); whether any.
fn report_errors(problems: &[Diagnostic], sources: &Sources, output: &Output) -> bool {
    let mut failed = false;
    for problem in problems.iter().filter(|p| p.severity == Severity::Error) {
        output.diagnostic(problem, sources);
        failed = true;
    }
    failed
}

/// `path:line` of a span, relative to the project.
fn place(sources: &Sources, span: Span) -> String {
    format!("{}:{}", sources.path(span.file).display(), span.line)
}

/// How many flowgroups use `name`, by `uses`.
fn uses(
    project: &LoadedProject,
    used: impl Fn(&lhp_orchestrator::load::ResolvedFlowgroup) -> bool,
) -> usize {
    project.flowgroups.iter().filter(|f| used(f)).count()
}

fn presets(root: &std::path::Path, project: &LoadedProject, sources: &mut Sources) -> Rows {
    // The project's load has reported the presets' problems already.
    let presets = lhp_orchestrator::preset::load_presets(root, sources, &mut Vec::new());
    let mut rows = Rows {
        table: vec![header(&[
            "NAME",
            "EXTENDS",
            "USED BY",
            "FILE",
            "DESCRIPTION",
        ])],
        none: "no presets (presets/*.yaml)",
        ..Rows::default()
    };
    for preset in presets.iter() {
        let used = uses(project, |f| f.presets.contains(&preset.name));
        let extends = preset.extends.as_ref().map(|(name, _)| name.clone());
        let file = place(sources, preset.span);
        rows.table.push(vec![
            preset.name.clone(),
            extends.clone().unwrap_or_else(|| "-".into()),
            used.to_string(),
            file.clone(),
            preset.description.clone().unwrap_or_default(),
        ]);
        rows.json.push(json!({
            "name": preset.name,
            "extends": extends,
            "used_by": used,
            "file": file,
            "description": preset.description,
        }));
    }
    rows
}

fn templates(
    root: &std::path::Path,
    project: &LoadedProject,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Rows {
    let mut rows = Rows {
        table: vec![header(&[
            "NAME",
            "PARAMETERS",
            "ACTIONS",
            "USED BY",
            "FILE",
            "DESCRIPTION",
        ])],
        none: "no templates (templates/*.yaml)",
        ..Rows::default()
    };
    // Where a template is named, for its problems: here, the listing itself.
    let listing = Span::new(sources.add("templates", String::new()), 1, 1);
    for name in lhp_orchestrator::template::known_templates(root) {
        let template =
            match lhp_orchestrator::template::load_template(root, &name, listing, sources) {
                Ok(template) => template,
                Err(errors) => {
                    // Already reported by the load when a flowgroup uses it; otherwise here.
                    if !project
                        .flowgroups
                        .iter()
                        .any(|f| f.template.as_deref() == Some(&name))
                    {
                        problems.extend(errors);
                    }
                    continue;
                }
            };
        let used = uses(project, |f| f.template.as_deref() == Some(name.as_str()));
        let (parameters, parameters_json) = parameters(
            template
                .parameters
                .iter()
                .map(|p| (p.name.as_str(), p.required, p.default.as_ref())),
        );
        let file = place(sources, template.span);
        rows.table.push(vec![
            name.clone(),
            parameters,
            template.actions.len().to_string(),
            used.to_string(),
            file.clone(),
            template.description.clone().unwrap_or_default(),
        ]);
        rows.json.push(json!({
            "name": name,
            "parameters": parameters_json,
            "presets": template.presets,
            "actions": template.actions.len(),
            "used_by": used,
            "file": file,
            "description": template.description,
        }));
    }
    rows
}

fn blueprints(root: &std::path::Path, project: &LoadedProject, sources: &mut Sources) -> Rows {
    let mut rows = Rows {
        table: vec![header(&[
            "NAME",
            "PARAMETERS",
            "FLOWGROUPS",
            "FILE",
            "DESCRIPTION",
        ])],
        none: "no blueprints (lhp.yaml's blueprint_include selects none)",
        ..Rows::default()
    };
    let Some(config) = &project.config else {
        return rows;
    };
    // The project's load has reported the blueprints' problems already.
    let blueprints = lhp_orchestrator::blueprint::load_blueprints(
        root,
        &config.blueprint_include,
        sources,
        &mut Vec::new(),
    );
    for blueprint in blueprints.values() {
        let (parameters, parameters_json) = parameters(
            blueprint
                .parameters
                .iter()
                .map(|(name, required, default)| (name.as_str(), *required, default.as_ref())),
        );
        let file = place(sources, blueprint.span);
        rows.table.push(vec![
            blueprint.name.clone(),
            parameters,
            blueprint.specs.len().to_string(),
            file.clone(),
            blueprint.description.clone().unwrap_or_default(),
        ]);
        rows.json.push(json!({
            "name": blueprint.name,
            "parameters": parameters_json,
            "flowgroups": blueprint.specs.len(),
            "file": file,
            "description": blueprint.description,
        }));
    }
    rows
}

/// Declared parameters (name, required, default) as a table cell (`*` marks the required)
/// and as JSON.
fn parameters<'a>(
    declared: impl Iterator<Item = (&'a str, bool, Option<&'a Value>)>,
) -> (String, Vec<serde_json::Value>) {
    let (mut cells, mut json) = (Vec::new(), Vec::new());
    for (name, required, default) in declared {
        cells.push(format!("{name}{}", if required { "*" } else { "" }));
        json.push(json!({
            "name": name,
            "required": required,
            "default": default.map(Value::to_json),
        }));
    }
    let cell = if cells.is_empty() {
        "-".to_owned()
    } else {
        cells.join(", ")
    };
    (cell, json)
}

fn hooks(
    root: &std::path::Path,
    project: &LoadedProject,
    host: &lhp_orchestrator::plugins::PluginHost,
    env: &str,
    output: &Output,
    problems: &mut Vec<Diagnostic>,
) -> Rows {
    let mut rows = Rows {
        table: vec![header(&[
            "NAME", "FROM", "EVENTS", "QUEUE", "REQUIRED", "STATUS",
        ])],
        none: "no hooks",
        ..Rows::default()
    };
    let options = hook_options(root, project, env, output);
    let (built, found) =
        lhp_orchestrator::hooks::configure_hooks(project, root, &env_var, &options);
    // An unset variable turns a hook off with a warning: that is its status here.
    let mut off_because: BTreeMap<String, String> = BTreeMap::new();
    for problem in found {
        if let Some(name) = lhp_orchestrator::hooks::switched_off(&problem) {
            off_because.insert(name.to_owned(), problem.message.clone());
        }
        problems.push(problem);
    }
    let configured: Vec<String> = project
        .config
        .as_ref()
        .and_then(|c| c.settings.hooks.as_ref())
        .and_then(Value::as_map)
        .map(|m| m.iter_str().map(|(name, _)| name.to_owned()).collect())
        .unwrap_or_default();
    let mut add =
        |name: &str, from: &str, hook: Option<&Arc<dyn lhp_plugin::Hook>>, status: String| {
            let (events, queue, required) = match hook {
                Some(hook) => {
                    let delivery = hook.delivery();
                    (
                        hook.events().join(", "),
                        format!("{} {:?}", delivery.capacity, delivery.overflow).to_lowercase(),
                        hook.required(),
                    )
                }
                None => ("-".into(), "-".into(), false),
            };
            rows.table.push(vec![
                name.to_owned(),
                from.to_owned(),
                events.clone(),
                queue.clone(),
                if required { "yes".into() } else { "no".into() },
                status.clone(),
            ]);
            rows.json.push(json!({
                "name": name,
                "from": from,
                "events": hook.map(|h| h.events()),
                "queue": queue,
                "required": required,
                "status": status,
            }));
        };
    let mut names: Vec<String> = lhp_hooks::DEFAULT_HOOKS.map(str::to_owned).to_vec();
    for name in &configured {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    for name in &names {
        let hook = built.iter().find(|h| h.name() == name);
        let from = if configured.contains(name) {
            "lhp.yaml"
        } else {
            "default"
        };
        let status = match (hook, off_because.get(name)) {
            (Some(_), _) => "on".to_owned(),
            (None, Some(why)) => format!("off: {why}"),
            // Built only when something would be shown at this verbosity.
            (None, None) if name == "logging" => "off (-v turns it on)".to_owned(),
            (None, None) => "off".to_owned(),
        };
        add(name, from, hook, status);
    }
    for hook in host.hooks() {
        let from = format!("plugin {}", hook.name());
        add(hook.name(), &from, Some(hook), "on".to_owned());
    }
    rows
}

/// A table header.
fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Words in a token's name (or a key inside a structured token) that mark its value as a
/// credential, shown masked.
const SECRET_WORDS: [&str; 12] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "credential",
    "webhook",
    "auth",
    "sas",
    "private",
    "cert",
    "signature",
];

/// What a masked value is shown as.
const MASK: &str = "********";

/// Whether a token (or a key inside a structured token) names a credential: one of
/// [`SECRET_WORDS`], or a name ending in `key` (`api_key`, `account_key`, `apikey`).
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word)) || name.ends_with("key")
}

/// Hides credentials in shown values: the values of secret-looking tokens wherever they
/// were copied into another token (tokens are expanded from tokens), and the password of
/// a `scheme://user:password@host` URL.
struct Masker {
    /// The credential values, longest first (so that one inside another is hidden whole).
    values: Vec<String>,
}

impl Masker {
    /// Hides the values of `tokens` whose names look like credentials; shorter values
    /// would mask common text everywhere (their own tokens are masked by name).
    fn new(tokens: &lhp_orchestrator::substitution::Substitutions) -> Self {
        let mut values: Vec<String> = tokens
            .tokens()
            .filter(|(name, _)| looks_secret(name))
            .filter_map(|(_, value)| match value {
                TokenValue::Text(text) if text.chars().count() >= 4 => Some(text.clone()),
                _ => None,
            })
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Self { values }
    }

    fn text(&self, text: &str) -> String {
        let mut shown = text.to_owned();
        for value in &self.values {
            shown = shown.replace(value.as_str(), MASK);
        }
        mask_url_password(&shown)
    }

    /// `value` with secret-looking keys masked, and every string through [`Self::text`].
    fn json(&self, value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        let value = if looks_secret(&key) {
                            MASK.into()
                        } else {
                            self.json(value)
                        };
                        (key, value)
                    })
                    .collect(),
            ),
            serde_json::Value::Array(items) => items.into_iter().map(|v| self.json(v)).collect(),
            serde_json::Value::String(text) => self.text(&text).into(),
            other => other,
        }
    }
}

/// `text` with the password of each `scheme://user:password@` masked.
fn mask_url_password(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after.find(['/', '?', '#', ' ']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at_sign), Some(colon)) if colon < at_sign => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at_sign..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Runs `lhp substitutions`.
pub(crate) fn substitutions(
    natives: &[Arc<dyn Plugin>],
    args: &ReadArgs,
    output: &Output,
) -> ExitCode {
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    let mut host = crate::cli::plugins(&root, natives);
    let project = crate::cli::load(&root, &args.env, false, None, &mut host);
    host.shutdown();
    let failed = report_errors(&project.diagnostics, &project.sources, output);
    let resolved = &project.substitutions;
    let file = format!("substitutions/{}.yaml", args.env);
    let file_exists = root.join(&file).is_file();
    let masker = Masker::new(resolved);
    let tokens: Vec<(String, serde_json::Value, bool)> = resolved
        .tokens()
        .map(|(name, value)| {
            let raw = match value {
                TokenValue::Text(text) => serde_json::Value::from(text.clone()),
                TokenValue::Structured(value) => value.to_json(),
            };
            let shown = if looks_secret(name) {
                MASK.into()
            } else {
                masker.json(raw.clone())
            };
            let masked = shown != raw;
            (name.to_owned(), shown, masked)
        })
        .collect();
    // Each secret once, where it is first named, with how often.
    let mut secrets: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for secret in &project.secrets {
        let entry = secrets
            .entry((secret.scope.clone(), secret.key.clone()))
            .or_insert_with(|| (place(&project.sources, secret.span), 0));
        entry.1 += 1;
    }
    if args.json {
        let document = json!({
            "env": args.env,
            "file": file_exists.then_some(&file),
            "tokens": tokens.iter().map(|(name, value, secret)| json!({
                "name": name, "value": value, "masked": secret,
            })).collect::<Vec<_>>(),
            "default_secret_scope": resolved.default_scope(),
            "secret_scopes": resolved.scope_aliases(),
            "secrets": secrets.iter().map(|((scope, key), (first, count))| json!({
                "scope": scope, "key": key, "first_use": first, "uses": count,
            })).collect::<Vec<_>>(),
        });
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        ));
    } else {
        let mut text = String::new();
        if file_exists {
            text.push_str(&format!("tokens of env `{}` ({file}):\n", args.env));
        } else {
            text.push_str(&format!(
                "tokens of env `{}` ({file} does not exist: only the built-in tokens):\n",
                args.env
            ));
        }
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|(name, value, _)| {
                let shown = match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                vec![format!("  {name}"), shown]
            })
            .collect();
        text.push_str(&table(&rows));
        let scope = resolved.default_scope().unwrap_or("(none)");
        text.push_str(&format!("default secret scope: {scope}\n"));
        for (alias, scope) in resolved.scope_aliases() {
            text.push_str(&format!("secret scope alias: {alias} -> {scope}\n"));
        }
        if secrets.is_empty() {
            text.push_str("secrets used: none\n");
        } else {
            text.push_str(
                "secrets used (values are read on Databricks at run time, never here):\n",
            );
            let rows: Vec<Vec<String>> = secrets
                .iter()
                .map(|((scope, key), (first, count))| {
                    vec![
                        format!("  {scope}/{key}"),
                        format!("{count} use(s), first at {first}"),
                    ]
                })
                .collect();
            text.push_str(&table(&rows));
        }
        emit(&text);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

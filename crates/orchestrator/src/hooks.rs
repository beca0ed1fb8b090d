//! The run's built-in hooks, from the `hooks:` section of `lhp.yaml`: tokens of the
//! environment and `${ENV_VAR}` references resolved, then built by `lhp-hooks`.
//!
//! A hook whose settings name an environment variable that is not set is off for the run,
//! with a warning (a developer without `SLACK_WEBHOOK_URL` still generates), unless it says
//! `required: true`: then it is an error. Any other mistake in a hook's settings is an error
//! at its line.

use std::path::Path;
use std::sync::Arc;

use lhp_hooks::{build_hooks, HookOptions};
use lhp_plugin::{Hook, Value, ValueKind};

use crate::diagnostic::{Diagnostic, Severity};
use crate::load::LoadedProject;
use crate::plugins::resolve_env;

/// The hooks `project` configures (the embedded defaults included), and the problems found.
pub fn configure_hooks(
    project: &LoadedProject,
    root: &Path,
    env_var: &dyn Fn(&str) -> Option<String>,
    options: &HookOptions,
) -> (Vec<Arc<dyn Hook>>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut options = options.clone();
    options.root = root.to_path_buf();
    let section = project
        .config
        .as_ref()
        .and_then(|config| config.settings.hooks.clone());
    let resolved = section.map(|mut section| {
        if let ValueKind::Map(entries) = &mut section.kind {
            for (key, value) in entries.entries_mut() {
                let Some(name) = key.as_str().map(str::to_owned) else {
                    continue;
                };
                // A hook that is off is not resolved: its unset variables do not matter.
                if options.off.contains(&name) || (!enabled(value) && !options.on.contains(&name)) {
                    continue;
                }
                let mut found = Vec::new();
                let mut secrets = Vec::new();
                project
                    .substitutions
                    .substitute(value, &mut secrets, &mut found);
                if !secrets.is_empty() {
                    found.push(
                        Diagnostic::error(
                            "LHP-HOOK-003",
                            format!("hooks.{name}: secrets (`${{secret:...}}`) are for generated code; give a hook its credentials with `${{ENV_VAR}}`"),
                        )
                        .at(value.span),
                    );
                }
                resolve_env(
                    value,
                    env_var,
                    &[],
                    &format!("hooks.{name}"),
                    "LHP-HOOK-004",
                    &mut found,
                );
                if found.iter().any(|p| p.severity == Severity::Error) {
                    // Built with half its settings it would only report the same problem again.
                    options.off.push(name.clone());
                    let only_unset = found
                        .iter()
                        .all(|p| p.code == "LHP-HOOK-004" || p.severity != Severity::Error);
                    if only_unset && !required(value) {
                        for problem in &mut found {
                            problem.severity = Severity::Warning;
                            problem.hint = Some(format!("hook `{name}`{OFF_FOR_THE_RUN}"));
                        }
                    }
                }
                problems.extend(found);
            }
        }
        section
    });
    let (hooks, hook_problems) = build_hooks(resolved.as_ref(), &options);
    problems.extend(hook_problems.into_iter().map(|problem| {
        let mut diagnostic = if problem.error {
            Diagnostic::error(problem.code, problem.message)
        } else {
            Diagnostic::warning(problem.code, problem.message)
        };
        diagnostic.span = problem.span;
        diagnostic.hint = problem.hint;
        diagnostic
    }));
    (hooks, problems)
}

/// What follows the hook's name in the hint of a problem that turned the hook off.
const OFF_FOR_THE_RUN: &str =
    " is off for this run; set the variable, or `required: true` to make this an error";

/// The hook a warning of [`configure_hooks`] turned off for the run, if it did.
pub fn switched_off(problem: &Diagnostic) -> Option<&str> {
    if problem.severity != Severity::Warning {
        return None;
    }
    let hint = problem.hint.as_deref()?;
    hint.strip_prefix("hook `")?
        .strip_suffix(OFF_FOR_THE_RUN)?
        .strip_suffix('`')
}

/// Whether a hook's entry leaves it on (`slack: false` and `enabled: false` turn it off).
fn enabled(value: &Value) -> bool {
    match &value.kind {
        ValueKind::Bool(on) => *on,
        _ => value
            .as_map()
            .and_then(|map| map.get("enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}

/// Whether a hook's settings say `required: true`.
fn required(value: &Value) -> bool {
    value
        .as_map()
        .and_then(|map| map.get("required"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

//! `lhp generate`: load, check, generate, write, publishing every step as an event for the
//! run's hooks; progress on a terminal, a summary at the end.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use lhp_orchestrator::events::{event_error, HookReport, Publisher};
use lhp_orchestrator::generate::{check_names, generate, sync_outputs, write_output, Reuse};
use lhp_orchestrator::hooks::configure_hooks;
use lhp_orchestrator::incremental::{Hasher, Stale, State};
use lhp_orchestrator::tables::track_tables;
use lhp_orchestrator::{Diagnostic, Severity};
use lhp_plugin::{Hook, Plugin, Sources};

use crate::cli::{env_var, hook_options, print_plugin_diagnostics, project_root, GenerateArgs};
use crate::incremental;
use crate::output::Output;

/// Runs `lhp generate`.
pub fn run(natives: &[Arc<dyn Plugin>], args: &GenerateArgs, output: &Output) -> ExitCode {
    let started = Instant::now();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    // Events and hooks name files from the root: the same wherever lhp was started.
    let root = root.canonicalize().unwrap_or(root);
    if args.jobs == Some(0) {
        output.error("LHP-CLI-001", "--jobs must be at least 1");
        return ExitCode::from(2);
    }
    let out_dir = crate::cli::output_dir(&root, args.output.as_ref());
    let env_dir: PathBuf = out_dir.join(&args.env);
    let key = incremental::run_key(&root, args, &env_dir, natives);
    let skip = incremental::skipped(&root, &out_dir);
    let previous = State::read(&root, &args.env, &env_dir);
    if let (false, Some(state), Some(skip)) = (args.force, &previous, &skip) {
        match state.unchanged(&root, &key, &env_var, skip) {
            Ok(refreshed) => {
                return up_to_date(&root, args, &env_dir, state, refreshed, started, output)
            }
            Err(Stale(why)) => output.debug(&format!("generating: {why}")),
        }
    }
    let Some((hooks_off, hooks_on)) = hook_switches(&args.hook, output) else {
        return ExitCode::from(2);
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let events = if args.no_hooks {
        Publisher::off()
    } else {
        Publisher::new()
    };
    events.emit("generation.start", |event| {
        let metadata = &mut event.metadata;
        metadata.insert("env".into(), args.env.clone().into());
        metadata.insert("jobs".into(), jobs.into());
        metadata.insert("lhp_version".into(), env!("CARGO_PKG_VERSION").into());
        metadata.insert("project_root".into(), root.display().to_string().into());
        if let Some(pipeline) = &args.pipeline {
            metadata.insert("pipeline_filter".into(), pipeline.clone().into());
        }
    });

    events.emit("validation.start", |event| {
        event.metadata.insert("env".into(), args.env.clone().into());
    });
    let validation_started = Instant::now();
    let Prepared {
        host,
        mut project,
        mut diagnostics,
        around,
    } = prepare(&root, args, natives, output);
    // Plugin problems fail the flowgroups that use the plugin, not the whole run.
    let plugin_errors = count(&host.diagnostics, Severity::Error);
    let plugin_warnings = count(&host.diagnostics, Severity::Warning);
    let mut options = hook_options(&root, &project, &args.env, output);
    options.off = hooks_off;
    options.on = hooks_on;
    let (builtin_hooks, hook_problems) = if args.no_hooks {
        (Vec::new(), Vec::new())
    } else {
        configure_hooks(&project, &root, &env_var, &options)
    };
    diagnostics.extend(hook_problems);
    for (diagnostic, sources) in host
        .diagnostics
        .iter()
        .map(|d| (d, &host.sources))
        .chain(diagnostics.iter().map(|d| (d, &project.sources)))
        .filter(|(d, _)| d.severity == Severity::Error)
    {
        events.emit("validation.error", |event| {
            event.error = Some(to_event_error(diagnostic, sources, &root));
        });
    }
    let load_failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    events.emit("validation.end", |event| {
        let metadata = &mut event.metadata;
        metadata.insert("flowgroups".into(), project.flowgroups.len().into());
        metadata.insert(
            "errors".into(),
            (count(&diagnostics, Severity::Error) + plugin_errors).into(),
        );
        metadata.insert(
            "warnings".into(),
            (count(&diagnostics, Severity::Warning) + plugin_warnings).into(),
        );
        metadata.insert(
            "duration_ms".into(),
            (validation_started.elapsed().as_secs_f64() * 1000.0).into(),
        );
    });

    let mut hooks: Vec<Arc<dyn Hook>> = builtin_hooks;
    if !args.no_hooks {
        let known: BTreeSet<String> = hooks
            .iter()
            .chain(host.hooks())
            .map(|h| h.name().to_owned())
            .collect();
        hooks.extend(
            host.hooks()
                .iter()
                .filter(|h| !options.off.iter().any(|off| off == h.name()))
                .cloned(),
        );
        for name in options.off.iter().chain(&options.on) {
            let configured = project
                .config
                .as_ref()
                .and_then(|c| c.settings.hooks.as_ref())
                .and_then(|h| h.as_map())
                .is_some_and(|h| h.contains_key(name));
            if !known.contains(name)
                && !configured
                && !lhp_hooks::HOOK_TYPES.contains(&name.as_str())
            {
                output.warning(
                    "LHP-HOOK-005",
                    &format!("--hook {name}: no hook of this run is named `{name}`"),
                );
            }
        }
    }
    for problem in events.attach(&hooks) {
        output.warning("LHP-HOOK-001", &problem);
    }

    if load_failed {
        for diagnostic in &diagnostics {
            output.diagnostic(diagnostic, &project.sources);
        }
        let errors = count(&diagnostics, Severity::Error);
        output.error(
            "LHP-GEN-000",
            &format!(
                "nothing generated: the project has {errors} error(s); `{}` shows the same",
                crate::around::BundleOptions::from(args).validate_command()
            ),
        );
        let totals = RunTotals {
            flowgroups: project.flowgroups.len(),
            errors: errors + plugin_errors,
            warnings: count(&diagnostics, Severity::Warning) + plugin_warnings,
            ..RunTotals::default()
        };
        end_of_run(&events, started, &totals, None);
        finish_hooks(&events, output);
        host.shutdown();
        return ExitCode::FAILURE;
    }
    if let Some(pipeline) = &args.pipeline {
        if project.flowgroups.is_empty() {
            output.error(
                "LHP-CLI-002",
                &format!("no flowgroup belongs to pipeline `{pipeline}`"),
            );
            let totals = RunTotals {
                errors: 1,
                ..RunTotals::default()
            };
            end_of_run(&events, started, &totals, None);
            finish_hooks(&events, output);
            host.shutdown();
            return ExitCode::FAILURE;
        }
    }

    let bar = if std::io::stderr().is_terminal()
        && output.human()
        && !output.quiet()
        && !args.no_progress
    {
        let bar = ProgressBar::new(project.flowgroups.len() as u64);
        if let Ok(bar_style) =
            ProgressStyle::with_template("{spinner} generating [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(bar_style.progress_chars("=> "));
        }
        Some(bar)
    } else {
        None
    };
    let progress = |done: usize,
                    flowgroup: &lhp_orchestrator::load::ResolvedFlowgroup,
                    _: &lhp_generators::Outcome| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
            bar.set_message(format!("{}/{}", flowgroup.pipeline(), flowgroup.name()));
        }
    };
    let (context, plugin_files) = incremental::fingerprint_context(args, &project, &host);
    let hasher = previous.as_ref().map_or_else(Hasher::default, |p| {
        Hasher::new(vec![&p.inputs, &p.outputs])
    });
    // Another lhp wrote the records: its generators may write other code.
    let same_lhp = |state: &&State| {
        state.key.get("lhp_version").map(String::as_str) == Some(env!("CARGO_PKG_VERSION"))
    };
    let mut reuse = Reuse {
        context,
        substitutions: incremental::substitutions_hash(&project, &args.env),
        write_to: Some(&env_dir),
        hasher: &hasher,
        ..Reuse::none(&env_dir)
    };
    if let Some(state) = previous.as_ref().filter(same_lhp).filter(|_| !args.force) {
        reuse.previous = &state.flowgroups;
    }
    let mut generated = generate(
        &root,
        &project,
        &host.registry,
        jobs,
        &events,
        &progress,
        &reuse,
    );
    // The resolved flowgroups are not needed past here: their memory goes before the files
    // are written and the run remembered.
    let flowgroup_count = project.flowgroups.len();
    let pipelines: BTreeSet<String> = project
        .flowgroups
        .iter()
        .map(|f| f.pipeline().to_owned())
        .collect();
    project.flowgroups = Vec::new();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for diagnostic in diagnostics.iter().chain(&generated.diagnostics) {
        output.diagnostic(diagnostic, &project.sources);
    }
    diagnostics.extend(generated.diagnostics.iter().cloned());

    let scope: Option<Vec<String>> = args.pipeline.as_ref().map(|p| vec![p.clone()]);
    // The workers wrote the modules that stand alone; the rest is written here.
    let mut keep = generated.kept.clone();
    keep.extend(generated.modules.keys().cloned());
    let written = match generated.write_error.take() {
        Some(error) => Err(error),
        None => write_output(&env_dir, &generated.files, &keep, scope.as_deref()),
    };
    let report = match written {
        Ok(mut report) => {
            for (path, changed) in &generated.modules {
                if *changed {
                    report.written.push(path.clone());
                } else {
                    report.unchanged += 1;
                }
            }
            report.written.sort();
            if let Err(error) = sync_outputs(&env_dir, &report.written) {
                output.warning(
                    "LHP-IO-005",
                    &format!(
                        "the generated files are written, but could not be flushed to disk: {error}"
                    ),
                );
            }
            report
        }
        Err(error) => {
            output.error("LHP-IO-002", &error.to_string());
            let totals = RunTotals {
                flowgroups: flowgroup_count,
                generated: generated.generated,
                failed: generated.failed,
                errors: 1,
                output: env_dir.display().to_string(),
                ..RunTotals::default()
            };
            let error = lhp_plugin::EventError {
                code: "LHP-IO-002".into(),
                message: error.to_string(),
                file: None,
                line: None,
                column: None,
            };
            end_of_run(&events, started, &totals, Some(error));
            finish_hooks(&events, output);
            host.shutdown();
            return ExitCode::FAILURE;
        }
    };
    if bar.is_none() && output.human() {
        for path in &report.written {
            output.info(&format!("wrote {}", env_dir.join(path).display()));
        }
    }
    for path in &report.removed {
        output.info(&format!("removed {}", env_dir.join(path).display()));
    }
    match track_tables(&root, &args.env, &generated, scope.as_deref()) {
        Ok(changes) => {
            for change in changes {
                let kind = if change.created {
                    "table.created"
                } else {
                    "table.updated"
                };
                events.emit(kind, |event| {
                    event.pipeline = Some(change.pipeline.as_str().into());
                    event.flowgroup = Some(change.flowgroup.as_str().into());
                    event.action = Some(change.action.as_str().into());
                    let metadata = &mut event.metadata;
                    metadata.insert("table".into(), change.table.clone().into());
                    metadata.insert("fingerprint".into(), change.fingerprint.clone().into());
                    if let Some(previous) = &change.previous {
                        metadata.insert("previous_fingerprint".into(), previous.clone().into());
                    }
                });
            }
        }
        Err(error) => output.warning("LHP-IO-003", &error.to_string()),
    }

    let mut written: Vec<String> = report
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut around_counts = (0, 0, 0);
    let mut around_written = Vec::new();
    let before = diagnostics.len();
    let has_code = |pipeline: &str| env_dir.join(pipeline).is_dir();
    match crate::around::write(&root, &args.env, &has_code, &around, true, &mut diagnostics) {
        Ok(done) => {
            for path in &done.written {
                output.info(&format!("wrote {}", root.join(path).display()));
            }
            for path in &done.removed {
                output.info(&format!("removed {}", root.join(path).display()));
            }
            for path in &done.kept {
                output.warning(
                    "LHP-IO-004",
                    &format!(
                        "{} was not written by lhp: left as it is (move it away to let lhp write it)",
                        root.join(path).display()
                    ),
                );
            }
            written.extend(done.written.iter().map(|p| p.display().to_string()));
            around_written = done.written.clone();
            around_counts = (done.written.len(), done.unchanged, done.removed.len());
        }
        Err(error) => diagnostics.push(Diagnostic::error(
            "LHP-IO-002",
            format!("cannot write the files around the code: {error}"),
        )),
    }
    for diagnostic in &diagnostics[before..] {
        output.diagnostic(diagnostic, &project.sources);
    }

    let errors = count(&diagnostics, Severity::Error) + plugin_errors;
    let warnings = count(&diagnostics, Severity::Warning) + plugin_warnings;
    let success = generated.failed == 0 && errors == 0;
    let records = std::mem::take(&mut generated.records);
    let finished = incremental::Finished {
        root: &root,
        env_dir: &env_dir,
        skip: skip.as_deref(),
        key,
        started: started_at,
        project: &project,
        host: &host,
        generated: &generated,
        around_written: &around_written,
        plugin_files: &plugin_files,
        clean: success,
        warnings: diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| replayable(d, &project.sources))
            .collect(),
        pipelines: pipelines.len(),
        flowgroups: flowgroup_count,
        records,
        scope: args.pipeline.as_deref(),
    };
    let mut state = incremental::record(finished, previous.as_ref());
    if let Err(error) = state.write(&root, &args.env, &env_dir) {
        output.warning(
            "LHP-IO-003",
            &format!("cannot remember this run (the next one regenerates everything): {error}"),
        );
    }
    let up_to_date = if generated.up_to_date > 0 {
        format!(" ({} up to date)", generated.up_to_date)
    } else {
        String::new()
    };
    output.info(&format!(
        "generated {} flowgroup(s){up_to_date} of {} pipeline(s) into {}: {} file(s) written, {} unchanged, {} removed; {errors} error(s), {warnings} warning(s) in {:.2?}",
        generated.generated,
        pipelines.len(),
        env_dir.display(),
        report.written.len(),
        report.unchanged,
        report.removed.len(),
        started.elapsed()
    ));
    if around_counts != (0, 0, 0) {
        output.info(&format!(
            "around the code (monitoring, bundle resources): {} file(s) written, {} unchanged, {} removed",
            around_counts.0, around_counts.1, around_counts.2
        ));
    }
    let totals = RunTotals {
        pipelines: pipelines.len(),
        flowgroups: flowgroup_count,
        generated: generated.generated,
        up_to_date: generated.up_to_date,
        failed: generated.failed,
        written,
        unchanged: report.unchanged + around_counts.1,
        removed: report.removed.len() + around_counts.2,
        output: env_dir.display().to_string(),
        errors,
        warnings,
    };
    end_of_run(&events, started, &totals, None);
    let required_failed = finish_hooks(&events, output);
    host.shutdown();
    if success && !required_failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What a run starts from, for `generate` and `diff` alike.
pub(crate) struct Prepared {
    /// The plugins (their problems already shown).
    pub(crate) host: lhp_orchestrator::plugins::PluginHost,
    /// The project, its diagnostics moved to `diagnostics`.
    pub(crate) project: lhp_orchestrator::load::LoadedProject,
    /// The project's problems, with names that cannot be files and the files around.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// What to write around the code.
    pub(crate) around: crate::around::Plan,
}

/// Finds the plugins, reads and checks the project, and plans the files around the code.
pub(crate) fn prepare(
    root: &Path,
    args: &GenerateArgs,
    natives: &[Arc<dyn Plugin>],
    output: &Output,
) -> Prepared {
    let mut host = crate::cli::plugins(root, natives);
    let mut project = crate::cli::load(
        root,
        &args.env,
        args.include_tests,
        args.pipeline.as_deref(),
        &mut host,
    );
    print_plugin_diagnostics(&host, output);
    let mut diagnostics = std::mem::take(&mut project.diagnostics);
    diagnostics.extend(project.flowgroups.iter().filter_map(check_names));
    let around = crate::around::plan(root, &args.into(), &mut project, &mut diagnostics);
    Prepared {
        host,
        project,
        diagnostics,
        around,
    }
}

/// Ends a run with nothing to do: the hooks hear of it, the last run's warnings are shown
/// again, and nothing is read but `lhp.yaml` and the environment's substitutions.
fn up_to_date(
    root: &Path,
    args: &GenerateArgs,
    env_dir: &Path,
    state: &State,
    refreshed: bool,
    started: Instant,
    output: &Output,
) -> ExitCode {
    let events = if args.no_hooks {
        Publisher::off()
    } else {
        Publisher::new()
    };
    if !args.no_hooks {
        let project = lhp_orchestrator::load::load_settings(root, &args.env, &env_var);
        let Some((off, on)) = hook_switches(&args.hook, output) else {
            return ExitCode::from(2);
        };
        let mut options = hook_options(root, &project, &args.env, output);
        options.off = off;
        options.on = on;
        let (hooks, problems) = configure_hooks(&project, root, &env_var, &options);
        for problem in &problems {
            output.diagnostic(problem, &project.sources);
        }
        for problem in events.attach(&hooks) {
            output.warning("LHP-HOOK-001", &problem);
        }
    }
    events.emit("generation.start", |event| {
        let metadata = &mut event.metadata;
        metadata.insert("env".into(), args.env.clone().into());
        metadata.insert("lhp_version".into(), env!("CARGO_PKG_VERSION").into());
        metadata.insert("project_root".into(), root.display().to_string().into());
        metadata.insert("up_to_date".into(), true.into());
    });
    for warning in &state.warnings {
        let (code, message) = warning.split_once(' ').unwrap_or(("LHP-WARN", warning));
        output.warning(code, message);
    }
    let (flowgroups, pipelines) = state.counts;
    if refreshed {
        let mut state = state.clone();
        state.refresh();
        // Only saves work next time: a failure here changes nothing of this run.
        let _ = state.write_unsynced(root, &args.env, env_dir);
    }
    output.info(&format!(
        "nothing to do: {flowgroups} flowgroup(s) of {pipelines} pipeline(s) in {} are up to date ({} warning(s) from the last run) in {:.2?}; --force regenerates them",
        env_dir.display(),
        state.warnings.len(),
        started.elapsed()
    ));
    let totals = RunTotals {
        pipelines,
        flowgroups,
        up_to_date: flowgroups,
        output: env_dir.display().to_string(),
        warnings: state.warnings.len(),
        ..RunTotals::default()
    };
    end_of_run(&events, started, &totals, None);
    if finish_hooks(&events, output) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A warning as the state keeps it: its code, then `file:line:column: message`.
fn replayable(diagnostic: &Diagnostic, sources: &lhp_plugin::Sources) -> String {
    match diagnostic.span {
        Some(span) => format!(
            "{} {}: {}",
            diagnostic.code,
            sources.locate(span),
            diagnostic.message
        ),
        None => format!("{} {}", diagnostic.code, diagnostic.message),
    }
}

/// What `generation.end` reports; every key is there whatever ended the run.
#[derive(Default)]
struct RunTotals {
    pipelines: usize,
    flowgroups: usize,
    generated: usize,
    /// Flowgroups not generated because nothing they depend on changed.
    up_to_date: usize,
    failed: usize,
    written: Vec<String>,
    unchanged: usize,
    removed: usize,
    output: String,
    errors: usize,
    warnings: usize,
}

/// Publishes `generation.end`: the run succeeded when nothing failed and nothing was wrong.
fn end_of_run(
    events: &Publisher,
    started: Instant,
    totals: &RunTotals,
    error: Option<lhp_plugin::EventError>,
) {
    events.emit("generation.end", |event| {
        let success = totals.failed == 0 && totals.errors == 0 && error.is_none();
        let metadata = &mut event.metadata;
        metadata.insert("success".into(), success.into());
        metadata.insert("pipelines".into(), totals.pipelines.into());
        metadata.insert("flowgroups".into(), totals.flowgroups.into());
        metadata.insert("generated".into(), totals.generated.into());
        metadata.insert("up_to_date".into(), totals.up_to_date.into());
        metadata.insert("failed".into(), totals.failed.into());
        metadata.insert("written".into(), totals.written.len().into());
        metadata.insert("unchanged".into(), totals.unchanged.into());
        metadata.insert("removed".into(), totals.removed.into());
        metadata.insert("files_written".into(), totals.written.clone().into());
        metadata.insert("output".into(), totals.output.clone().into());
        metadata.insert("errors".into(), totals.errors.into());
        metadata.insert("warnings".into(), totals.warnings.into());
        metadata.insert(
            "duration_ms".into(),
            (started.elapsed().as_secs_f64() * 1000.0).into(),
        );
        event.error = error;
    });
}

/// `--hook NAME=off|on`, as the names turned off and on; `None` (after an error) when one
/// is malformed.
fn hook_switches(switches: &[String], output: &Output) -> Option<(Vec<String>, Vec<String>)> {
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for switch in switches {
        match switch.split_once('=') {
            Some((name, "off")) if !name.is_empty() => off.push(name.to_owned()),
            Some((name, "on")) if !name.is_empty() => on.push(name.to_owned()),
            _ => {
                output.error(
                    "LHP-CLI-003",
                    &format!("--hook takes NAME=off or NAME=on, not `{switch}`"),
                );
                return None;
            }
        }
    }
    Some((off, on))
}

/// Lets the hooks flush, reports those that failed, and says whether a required one did.
fn finish_hooks(events: &Publisher, output: &Output) -> bool {
    let mut required_failed = false;
    for report in events.finish() {
        if !report.failed() {
            continue;
        }
        let message = hook_failure(&report);
        if report.required {
            required_failed = true;
            output.error(
                "LHP-HOOK-002",
                &format!("{message} (it is required: the run fails)"),
            );
        } else {
            output.warning(
                "LHP-HOOK-002",
                &format!("{message} (the run itself is not affected)"),
            );
        }
    }
    required_failed
}

fn hook_failure(report: &HookReport) -> String {
    let counts = &report.stats.counts;
    let mut parts = Vec::new();
    if counts.failures > 0 {
        parts.push(format!("{} failed call(s)", counts.failures));
    }
    if counts.dropped > 0 {
        parts.push(format!("{} event(s) dropped (queue full)", counts.dropped));
    }
    if counts.lost > 0 {
        parts.push(format!("{} event(s) lost", counts.lost));
    }
    match &report.stats.status {
        lhp_bus::SubscriberStatus::Completed => {}
        status => parts.push(status.to_string()),
    }
    let mut message = format!("hook `{}`: {}", report.name, parts.join("; "));
    if let Some(last) = &report.stats.last_failure {
        if !message.contains(last.as_str()) {
            message.push_str(&format!("; last failure: {last}"));
        }
    }
    message
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

fn to_event_error(
    diagnostic: &Diagnostic,
    sources: &Sources,
    root: &std::path::Path,
) -> lhp_plugin::EventError {
    event_error(
        diagnostic.code,
        &diagnostic.message,
        diagnostic.span,
        sources,
        root,
    )
}

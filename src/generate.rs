//! `lhp generate`: load, check, generate, write; progress on a terminal, a summary at the end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use lhp_orchestrator::generate::{check_names, generate, write_output};
use lhp_orchestrator::Severity;
use lhp_plugin::Plugin;

use crate::cli::{print_plugin_diagnostics, project_root, style, GenerateArgs};
use crate::events::{event_error, Events};
use crate::render::render;

/// Runs `lhp generate`.
pub fn run(natives: &[Arc<dyn Plugin>], args: &GenerateArgs) -> ExitCode {
    let started = Instant::now();
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    if args.jobs == Some(0) {
        eprintln!("error: --jobs must be at least 1");
        return ExitCode::from(2);
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mut host = crate::cli::plugins(&root, natives);
    let mut project = crate::cli::load(
        &root,
        &args.env,
        args.include_tests,
        args.pipeline.as_deref(),
        &mut host,
    );
    let style = style();
    // Plugin problems fail the flowgroups that use the plugin, not the whole run.
    print_plugin_diagnostics(&host, style);
    let plugin_errors = host
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let plugin_warnings = host.diagnostics.len() - plugin_errors;
    let mut diagnostics = std::mem::take(&mut project.diagnostics);
    diagnostics.extend(project.flowgroups.iter().filter_map(check_names));
    let load_failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    if load_failed {
        for diagnostic in &diagnostics {
            eprint!("{}", render(diagnostic, &project.sources, style));
            eprintln!();
        }
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        eprintln!("nothing generated: the project has {errors} error(s); `lhp validate --env {}` shows the same", args.env);
        return ExitCode::FAILURE;
    }
    if let Some(pipeline) = &args.pipeline {
        if project.flowgroups.is_empty() {
            eprintln!("error: no flowgroup belongs to pipeline `{pipeline}`");
            return ExitCode::FAILURE;
        }
    }

    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
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
    let (events, hook_problems) = Events::start(host.hooks());
    for problem in hook_problems {
        eprintln!("warning[LHP-HOOK-001]: {problem}");
    }
    events.emit("generation.start", |event| {
        event.metadata.insert("env".into(), args.env.clone().into());
        event
            .metadata
            .insert("flowgroups".into(), project.flowgroups.len().into());
        event.metadata.insert("jobs".into(), jobs.into());
    });
    let locate = |span: lhp_plugin::Span| {
        let path = project.sources.path(span.file);
        let relative = path.strip_prefix(&root).unwrap_or(path);
        (relative.display().to_string(), span.line, span.column)
    };
    let progress = |done: usize,
                    flowgroup: &lhp_orchestrator::load::ResolvedFlowgroup,
                    outcome: &lhp_generators::Outcome| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
            bar.set_message(format!("{}/{}", flowgroup.pipeline(), flowgroup.name()));
        }
        let kind = if outcome.errors.is_empty() {
            "flowgroup.end"
        } else {
            "flowgroup.error"
        };
        events.emit(kind, |event| {
            event.pipeline = Some(flowgroup.pipeline().to_owned());
            event.flowgroup = Some(flowgroup.name().to_owned());
            event
                .metadata
                .insert("actions".into(), flowgroup.model.actions.len().into());
            event
                .metadata
                .insert("errors".into(), outcome.errors.len().into());
            if let Some(error) = outcome.errors.first() {
                event.error = Some(event_error(
                    error.code,
                    &error.message,
                    error.span.map(locate),
                ));
            }
        });
    };
    let generated = generate(&root, &project, &host.registry, jobs, &progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    diagnostics.extend(generated.diagnostics);
    for diagnostic in &diagnostics {
        eprint!("{}", render(diagnostic, &project.sources, style));
        eprintln!();
    }

    let output = match &args.output {
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => std::env::current_dir().unwrap_or_default().join(dir),
        None => root.join("generated"),
    };
    let env_dir: PathBuf = output.join(&args.env);
    let scope: Option<Vec<String>> = args.pipeline.as_ref().map(|p| vec![p.clone()]);
    let report = match write_output(
        &env_dir,
        &generated.files,
        &generated.kept,
        scope.as_deref(),
    ) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error[LHP-IO-002]: {error}");
            return ExitCode::FAILURE;
        }
    };
    if !terminal {
        for path in &report.written {
            eprintln!("wrote {}", env_dir.join(path).display());
        }
    }
    for path in &report.removed {
        eprintln!("removed {}", env_dir.join(path).display());
    }
    let pipelines: std::collections::BTreeSet<&str> =
        project.flowgroups.iter().map(|f| f.pipeline()).collect();
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    eprintln!(
        "generated {} flowgroup(s) of {} pipeline(s) into {}: {} file(s) written, {} unchanged, {} removed; {} error(s), {} warning(s) in {:.2?}",
        generated.generated,
        pipelines.len(),
        env_dir.display(),
        report.written.len(),
        report.unchanged,
        report.removed.len(),
        count(Severity::Error) + plugin_errors,
        count(Severity::Warning) + plugin_warnings,
        started.elapsed()
    );
    events.emit("generation.end", |event| {
        let metadata = &mut event.metadata;
        metadata.insert("generated".into(), generated.generated.into());
        metadata.insert("failed".into(), generated.failed.into());
        metadata.insert("written".into(), report.written.len().into());
        metadata.insert("unchanged".into(), report.unchanged.into());
        metadata.insert("removed".into(), report.removed.len().into());
        metadata.insert(
            "duration_ms".into(),
            (started.elapsed().as_secs_f64() * 1000.0).into(),
        );
    });
    if let Some(report) = events.finish() {
        for subscriber in &report.subscribers {
            if subscriber.counts.failures > 0 || subscriber.counts.lost > 0 {
                eprintln!(
                    "warning[LHP-HOOK-002]: hook `{}`: {} failed call(s), {} event(s) lost (the run itself is not affected)",
                    subscriber.name, subscriber.counts.failures, subscriber.counts.lost
                );
            }
        }
    }
    host.shutdown();
    if generated.failed > 0 || count(Severity::Error) + plugin_errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

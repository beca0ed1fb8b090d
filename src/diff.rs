//! `lhp diff`: what `lhp generate` would change, as unified diffs, without writing
//! anything: the modules and side files of the output directory, the monitoring files and
//! the bundle resources. A CI drift check: exit 1 when anything would change.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use lhp_orchestrator::events::Publisher;
use lhp_orchestrator::generate::{generate, plan_output, Reuse};
use lhp_orchestrator::{Diagnostic, Severity};
use lhp_plugin::Plugin;

use crate::cli::{project_root, GenerateArgs};
use crate::output::{emit, Output};

/// Exit status when the diff could not be made whole (project errors, a flowgroup that
/// fails to generate, a usage error): as `diff(1)`, trouble is 2.
const TROUBLE: u8 = 2;

/// `lhp diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The environment: selects `substitutions/<ENV>.yaml`.
    #[arg(short, long, default_value = "dev")]
    env: String,
    /// The output directory `generate` would write to (default: `generated` in the project).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// Only this pipeline's flowgroups (as `generate --pipeline`).
    #[arg(short, long)]
    pipeline: Option<String>,
    /// With the data tests (`type: test` actions), as `generate --include-tests`.
    #[arg(long)]
    include_tests: bool,
    /// The pipeline configuration (`-pc` works too), as for `generate`.
    #[arg(long, value_name = "FILE")]
    pipeline_config: Option<PathBuf>,
    /// Leave the bundle resources (resources/lhp/) out, as `generate --no-bundle`.
    #[arg(long)]
    no_bundle: bool,
    /// Only the paths, one per line: `+` new, `~` changed, `-` removed.
    #[arg(long)]
    name_only: bool,
    /// Accepted for the reference's command lines: a diff with changes always exits 1.
    #[arg(long)]
    exit_code: bool,
    /// Accepted for the reference's command lines: the unified diffs are shown unless
    /// --name-only.
    #[arg(short = 's', long)]
    show_details: bool,
    /// Accepted for the reference's command lines: diff draws no progress.
    #[arg(long)]
    no_progress: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

impl DiffArgs {
    /// The `generate` run this diff stands for.
    fn as_generate(&self) -> GenerateArgs {
        GenerateArgs {
            env: self.env.clone(),
            output: self.output.clone(),
            pipeline: self.pipeline.clone(),
            include_tests: self.include_tests,
            no_hooks: true,
            hook: Vec::new(),
            jobs: None,
            pipeline_config: self.pipeline_config.clone(),
            no_bundle: self.no_bundle,
            force: true,
            no_progress: true,
            project: self.project.clone(),
        }
    }
}

/// One file `generate` would change.
struct Change {
    /// Its path.
    path: PathBuf,
    /// Its text now (`None`: it does not exist).
    before: Option<String>,
    /// Its text after `generate` (`None`: it would be removed).
    after: Option<String>,
}

/// What a change does to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    New,
    Changed,
    Removed,
}

impl Change {
    fn kind(&self) -> Kind {
        match (&self.before, &self.after) {
            (None, _) => Kind::New,
            (_, None) => Kind::Removed,
            _ => Kind::Changed,
        }
    }
}

/// Runs `lhp diff`.
pub(crate) fn run(natives: &[Arc<dyn Plugin>], args: &DiffArgs, output: &Output) -> ExitCode {
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::from(TROUBLE);
    };
    let root = root.canonicalize().unwrap_or(root);
    let env_dir = crate::cli::output_dir(&root, args.output.as_ref()).join(&args.env);
    let crate::generate::Prepared {
        host,
        project,
        mut diagnostics,
        around,
    } = crate::generate::prepare(&root, &args.as_generate(), natives, output);
    // A hook's settings that generate refuses stop it before it writes: the same here.
    let options = crate::cli::hook_options(&root, &project, &args.env, output);
    let (_, hook_problems) =
        lhp_orchestrator::hooks::configure_hooks(&project, &root, &crate::cli::env_var, &options);
    diagnostics.extend(hook_problems);
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        for diagnostic in &diagnostics {
            output.diagnostic(diagnostic, &project.sources);
        }
        output.error(
            "LHP-GEN-000",
            &format!(
                "no diff: the project has {errors} error(s); `{}` shows the same",
                crate::around::BundleOptions::from(&args.as_generate()).validate_command()
            ),
        );
        host.shutdown();
        return ExitCode::from(TROUBLE);
    }
    if let Some(pipeline) = &args.pipeline {
        if project.flowgroups.is_empty() {
            output.error(
                "LHP-CLI-002",
                &format!("no flowgroup belongs to pipeline `{pipeline}`"),
            );
            host.shutdown();
            return ExitCode::from(TROUBLE);
        }
    }
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let generated = generate(
        &root,
        &project,
        &host.registry,
        jobs,
        &Publisher::off(),
        &|_, _, _| {},
        &Reuse::none(&env_dir),
    );
    host.shutdown();
    let before = diagnostics.len();
    diagnostics.extend(generated.diagnostics.iter().cloned());
    let scope: Option<Vec<String>> = args.pipeline.as_ref().map(|p| vec![p.clone()]);
    let mut changes = Vec::new();
    let planned = match plan_output(
        &env_dir,
        &generated.files,
        &generated.kept,
        scope.as_deref(),
    ) {
        Ok(planned) => planned,
        Err(error) => {
            output.error("LHP-IO-002", &error.to_string());
            return ExitCode::from(TROUBLE);
        }
    };
    changes.extend(changes_in(
        &env_dir,
        &planned.written,
        &planned.removed,
        |path| generated.files.get(path).cloned(),
    ));
    // A bundle resource is written for each pipeline whose directory is in the output
    // after the run: one generate writes into, or one it leaves alone (another pipeline's,
    // under --pipeline; or the selected one's, which is never removed itself), or one that
    // still holds a file after the stale ones are removed.
    let removed: BTreeSet<PathBuf> = planned.removed.iter().map(|p| env_dir.join(p)).collect();
    let produced: BTreeSet<String> = generated
        .files
        .keys()
        .chain(generated.kept.iter().filter(|p| env_dir.join(p).is_file()))
        .filter_map(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let has_code = |pipeline: &str| {
        let dir = env_dir.join(pipeline);
        produced.contains(pipeline)
            || (args.pipeline.is_some() && dir.is_dir())
            || keeps_a_file(&dir, &removed)
    };
    let around_start = diagnostics.len();
    match crate::around::write(
        &root,
        &args.env,
        &has_code,
        &around,
        false,
        &mut diagnostics,
    ) {
        Ok(done) => {
            changes.extend(changes_in(&root, &done.written, &done.removed, |path| {
                done.texts.get(path).cloned()
            }));
            for path in &done.kept {
                output.warning(
                    "LHP-IO-004",
                    &format!(
                        "{} was not written by lhp: generate would leave it as it is",
                        root.join(path).display()
                    ),
                );
            }
        }
        Err(error) => diagnostics.push(Diagnostic::error(
            "LHP-IO-002",
            format!("cannot plan the files around the code: {error}"),
        )),
    }
    for diagnostic in &diagnostics {
        output.diagnostic(diagnostic, &project.sources);
    }
    let plugin_errors = host
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let generation_errors = diagnostics[before..around_start]
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let around_errors = diagnostics[around_start..]
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();

    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let shown = |path: &Path| {
        path.strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let mut text = String::new();
    for change in &changes {
        if args.name_only {
            let mark = match change.kind() {
                Kind::New => '+',
                Kind::Removed => '-',
                Kind::Changed => '~',
            };
            text.push_str(&format!("{mark} {}\n", shown(&change.path)));
        } else {
            text.push_str(&unified(change, &shown(&change.path), color));
        }
    }
    emit(&text);
    let count = |kind: Kind| changes.iter().filter(|c| c.kind() == kind).count();
    let (new, changed, removed) = (count(Kind::New), count(Kind::Changed), count(Kind::Removed));
    if generated.failed > 0 || generation_errors > 0 || around_errors > 0 || plugin_errors > 0 {
        let mut why = Vec::new();
        if generated.failed > 0 || generation_errors > 0 {
            why.push(format!(
                "{} flowgroup(s) failed to generate",
                generated.failed
            ));
        }
        if around_errors > 0 {
            why.push(format!(
                "{around_errors} error(s) in the files around the code"
            ));
        }
        if plugin_errors > 0 {
            why.push(format!("{plugin_errors} plugin error(s)"));
        }
        output.error(
            "LHP-GEN-001",
            &format!(
                "generate would fail ({}): the diff shows only what it would still write",
                why.join(", ")
            ),
        );
        return ExitCode::from(TROUBLE);
    }
    if changes.is_empty() {
        output.info(&format!(
            "no changes: `lhp generate --env {}` would write nothing",
            args.env
        ));
        ExitCode::SUCCESS
    } else {
        output.info(&format!(
            "`lhp generate --env {}` would change {} file(s): {new} new, {changed} changed, {removed} removed",
            args.env,
            changes.len()
        ));
        ExitCode::FAILURE
    }
}

/// The changes of files written and removed under `base` (paths relative to it), with
/// the text each written one gets from `after`.
fn changes_in(
    base: &Path,
    written: &[PathBuf],
    removed: &[PathBuf],
    after: impl Fn(&Path) -> Option<String>,
) -> Vec<Change> {
    let written = written.iter().map(|path| (path, after(path)));
    let removed = removed.iter().map(|path| (path, None));
    written
        .chain(removed)
        .map(|(path, after)| Change {
            path: base.join(path),
            before: read(&base.join(path)),
            after,
        })
        .collect()
}

/// A file's text (lossily, for a file that is not UTF-8), or `None` when it cannot be read.
fn read(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether `dir` holds a file that is not in `removed` (it then stays after the run).
fn keeps_a_file(dir: &Path, removed: &BTreeSet<PathBuf>) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            keeps_a_file(&path, removed)
        } else {
            !removed.contains(&path)
        }
    })
}

/// One change as a unified diff (`a/` before, `b/` after; `/dev/null` for a side that does
/// not exist), coloured for a terminal.
fn unified(change: &Change, shown: &str, color: bool) -> String {
    let before = change.before.as_deref().unwrap_or("");
    let after = change.after.as_deref().unwrap_or("");
    let old_label = match change.before {
        Some(_) => format!("a/{shown}"),
        None => "/dev/null".to_owned(),
    };
    let new_label = match change.after {
        Some(_) => format!("b/{shown}"),
        None => "/dev/null".to_owned(),
    };
    let diff = similar::TextDiff::from_lines(before, after);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&old_label, &new_label)
        .to_string();
    let mut text = format!("diff --lhp a/{shown} b/{shown}\n");
    if !color {
        text.push_str(&body);
        return text;
    }
    for line in body.lines() {
        let paint = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if paint.is_empty() {
            text.push_str(line);
        } else {
            text.push_str(&format!("\x1b[{paint}m{line}\x1b[0m"));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_diffs_against_dev_null_and_a_removed_one_to_it() {
        let new = Change {
            path: PathBuf::from("g/p/f.py"),
            before: None,
            after: Some("a\nb\n".into()),
        };
        let text = unified(&new, "g/p/f.py", false);
        assert!(text.contains("--- /dev/null\n+++ b/g/p/f.py\n"), "{text}");
        assert!(text.contains("@@ -0,0 +1,2 @@\n+a\n+b\n"), "{text}");
        let gone = Change {
            path: PathBuf::from("g/p/f.py"),
            before: Some("a\n".into()),
            after: None,
        };
        let text = unified(&gone, "g/p/f.py", false);
        assert!(text.contains("--- a/g/p/f.py\n+++ /dev/null\n"), "{text}");
        assert_eq!((new.kind(), gone.kind()), (Kind::New, Kind::Removed));
    }

    #[test]
    fn a_changed_line_is_shown_with_its_context_and_coloured_on_a_terminal() {
        let change = Change {
            path: PathBuf::from("f.py"),
            before: Some("1\n2\n3\n4\n5\n6\n7\n8\n".into()),
            after: Some("1\n2\n3\n4\nfive\n6\n7\n8\n".into()),
        };
        let plain = unified(&change, "f.py", false);
        assert!(
            plain.contains("@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"),
            "{plain}"
        );
        let coloured = unified(&change, "f.py", true);
        assert!(coloured.contains("\x1b[31m-5\x1b[0m\n\x1b[32m+five\x1b[0m\n"));
    }
}

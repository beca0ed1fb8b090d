//! The `lhp` command line: a thin layer over the lhp crates.

mod render;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lhp_orchestrator::load::{load_project, LoadOptions};
use lhp_orchestrator::project::find_root;
use lhp_orchestrator::version::FORMAT_VERSION;
use lhp_orchestrator::Severity;

use crate::render::{render, Style};

/// lhp: compiles Lakehouse Plumber YAML projects into Lakeflow Declarative Pipelines Python.
#[derive(Debug, Parser)]
#[command(
    name = "lhp",
    version = version(),
    about,
    long_about = None,
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The version line: ours, and the project format we read.
fn version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (reads lakehouse-plumber 0.9.3 projects)"
    )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a project for one environment and report every problem, with its position.
    ///
    /// Exit status: 0 when there is no error (warnings are shown), 1 when there is an error
    /// (or a warning, with --strict), 2 for a usage error.
    ///
    /// Example: lhp validate --env dev
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The environment: selects `substitutions/<ENV>.yaml`.
    #[arg(short, long, default_value = "dev")]
    env: String,
    /// Only this pipeline's flowgroups.
    #[arg(short, long)]
    pipeline: Option<String>,
    /// Keep test actions (they are left out otherwise).
    #[arg(long)]
    include_tests: bool,
    /// Treat warnings (deprecations) as errors; notes never fail.
    #[arg(long)]
    strict: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            println!("lhp {}: see `lhp --help` for the commands", version());
            ExitCode::SUCCESS
        }
        Some(Command::Validate(args)) => validate(&args),
    }
}

fn style() -> Style {
    Style {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let start = match &args.project {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let Some(root) = find_root(&start) else {
        eprintln!(
            "error[LHP-CFG-011]: not in a Lakehouse Plumber project: no lhp.yaml in {} or above",
            start.display()
        );
        return ExitCode::FAILURE;
    };
    let env_var = |name: &str| std::env::var(name).ok();
    let options = LoadOptions {
        env: &args.env,
        include_tests: args.include_tests,
        pipeline: args.pipeline.as_deref(),
        env_var: &env_var,
    };
    let project = load_project(&root, &options);
    let style = style();
    for diagnostic in &project.diagnostics {
        eprint!("{}", render(diagnostic, &project.sources, style));
        eprintln!();
    }
    let count = |severity| {
        project
            .diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let (errors, warnings, notes) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Note),
    );
    let pipelines: std::collections::BTreeSet<&str> =
        project.flowgroups.iter().map(|f| f.pipeline()).collect();
    eprintln!(
        "{} flowgroup(s) in {} pipeline(s) valid for env `{}` (format {FORMAT_VERSION}); {errors} error(s), {warnings} warning(s){}",
        project.flowgroups.len(),
        pipelines.len(),
        args.env,
        if notes > 0 { format!(", {notes} note(s)") } else { String::new() }
    );
    if errors > 0 || (args.strict && warnings > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! The commands and their arguments (clap), and what every command shares: finding the
//! project, its plugins, and loading it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Args, Parser, Subcommand};
use lhp_orchestrator::load::{load_project, LoadOptions, LoadedProject};
use lhp_orchestrator::plugins::{DiscoverOptions, PluginHost};
use lhp_orchestrator::project::{find_root, load_project_config};
use lhp_orchestrator::version::FORMAT_VERSION;
use lhp_orchestrator::Severity;
use lhp_plugin::{Plugin, Sources};

use lhp_hooks::{HookOptions, LogFormat};
use lhp_orchestrator::hooks::configure_hooks;

use crate::output::Output;
use crate::render::Style;

/// lhp: compiles Lakehouse Plumber YAML projects into Lakeflow Declarative Pipelines Python.
#[derive(Debug, Parser)]
#[command(
    name = "lhp",
    version = version(),
    about,
    long_about = None,
)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
    /// More on stderr: -v the run's events (info), -vv flowgroups, -vvv actions.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Less on stderr: errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    quiet: u8,
    /// How stderr lines look: `human`, or `json` (one object per line, for log collectors).
    #[arg(long, value_name = "FORMAT", global = true, default_value = "human", value_parser = ["human", "json"])]
    log_format: String,
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
    /// Create a new project that validates and generates as created: a starter (one
    /// pipeline, commented), or with --sample a richer one; --bundle makes it a Databricks
    /// Asset Bundle too.
    ///
    /// Exit status: 0 when created, 1 when the directory exists and is not empty (nothing
    /// is written), 2 for a usage error (such as a name that cannot be a directory).
    ///
    /// Example: lhp init my_lakehouse --sample --bundle
    Init(crate::init::InitArgs),
    /// Check a project for one environment and report every problem, with its position.
    ///
    /// Exit status: 0 when there is no error (warnings are shown), 1 when there is an error
    /// (or a warning, with --strict), 2 for a usage error.
    ///
    /// Example: lhp validate --env dev -pc config/pipeline_config.yaml
    Validate(ValidateArgs),
    /// Generate the Python module of every flowgroup for one environment.
    ///
    /// Writes `OUTPUT/ENV/<pipeline>/<flowgroup>.py` (OUTPUT defaults to `generated` in the
    /// project). Files are replaced atomically, unchanged files are left alone, and generated
    /// files whose flowgroup is gone are removed. Around the code: with `monitoring:` in
    /// lhp.yaml, `monitoring/ENV/union_event_logs.py` and `resources/<name>.job.yml`; in a
    /// bundle (a databricks.yml), `resources/lhp/<pipeline>.pipeline.yml` from the pipeline
    /// config given with -pc. Hand-written files are never replaced. Exit status: 0 when
    /// every flowgroup generated, 1 otherwise (the others are still written), 2 for a usage
    /// error.
    ///
    /// Example: lhp generate --env dev -pc config/pipelines.yaml
    Generate(GenerateArgs),
    /// List, inspect, check and create plugins.
    ///
    /// Example: lhp plugin list
    #[command(subcommand)]
    Plugin(crate::plugin_cmd::PluginCommand),
    /// Read the event log of past and running `lhp generate` runs.
    ///
    /// Example: lhp events tail -f --type '*.error'
    #[command(subcommand)]
    Events(crate::tail::EventsCommand),
    /// Show what `lhp generate` would change, as unified diffs, writing nothing: modules,
    /// side files, monitoring files and bundle resources. A CI drift check.
    ///
    /// Exit status: 0 when generate would change nothing, 1 when it would change something,
    /// 2 when the diff cannot be made (project errors, a flowgroup failing, a usage error).
    ///
    /// Example: lhp diff --env prod -pc config/pipeline_config.yaml
    Diff(crate::diff::DiffArgs),
    /// Show the dependency graph: which tables each flowgroup reads and writes, and so how
    /// flowgroups and pipelines depend on each other (across pipelines through table
    /// names), in an order that runs each pipeline after those it reads from. Cycles are
    /// named.
    ///
    /// Exit status: 0, or 1 when tables are computed from each other in a circle, the
    /// project has errors, or FILE cannot be written (a circle among flowgroups of one
    /// pipeline is fine; among pipelines, a warning).
    ///
    /// Example: lhp dag --env dev --format dot | dot -Tsvg > dag.svg
    Dag(crate::dag::DagArgs),
    /// List what the project is made of: presets, templates, blueprints, plugins, hooks.
    ///
    /// Exit status: 0, or 1 when the project has errors (what could be read is listed).
    ///
    /// Example: lhp list templates
    #[command(subcommand)]
    List(crate::listing::ListCommand),
    /// Show the substitution tokens of one environment as they resolve, and the secrets
    /// the project names. Values of tokens whose names look like credentials (password,
    /// secret, token, api_key, ...) are masked, at any depth; secret values are never read.
    ///
    /// Exit status: 0, or 1 when the project has errors (the tokens are still shown).
    ///
    /// Example: lhp substitutions --env prod
    Substitutions(crate::listing::ReadArgs),
    /// Print a completion script for a shell on stdout.
    ///
    /// Example: lhp completions bash > ~/.local/share/bash-completion/completions/lhp
    ///
    /// zsh: lhp completions zsh > ~/.zfunc/_lhp (with ~/.zfunc in fpath);
    /// fish: lhp completions fish > ~/.config/fish/completions/lhp.fish
    Completions(CompletionsArgs),
}

/// `lhp completions`.
#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells `lhp completions` writes scripts for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// The environment: selects `substitutions/<ENV>.yaml`.
    #[arg(short, long, default_value = "dev")]
    pub(crate) env: String,
    /// The output directory; modules go to OUTPUT/ENV/ (default: `generated` in the project).
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,
    /// Only this pipeline's flowgroups (other pipelines' files are left as they are).
    #[arg(short, long)]
    pub(crate) pipeline: Option<String>,
    /// Generate the data tests (`type: test` actions) too; without it they are left out.
    #[arg(long)]
    pub(crate) include_tests: bool,
    /// Run without hooks: no event log, metrics, Slack or command hooks, no plugin hooks.
    #[arg(long)]
    pub(crate) no_hooks: bool,
    /// Turn one hook off (or on) for this run: `--hook slack=off`. Repeatable.
    #[arg(long, value_name = "NAME=off|on")]
    pub(crate) hook: Vec<String>,
    /// Threads generating flowgroups (default: the number of cores). Output is the same
    /// whatever the number.
    #[arg(short, long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// The pipeline configuration (`-pc` works too): project defaults and per-pipeline
    /// settings of the bundle resources, relative to the project root. Required when the
    /// project has a databricks.yml, unless --no-bundle.
    #[arg(long, value_name = "FILE")]
    pub(crate) pipeline_config: Option<PathBuf>,
    /// Do not write the bundle resources (resources/lhp/), even with a databricks.yml.
    #[arg(long)]
    pub(crate) no_bundle: bool,
    /// Regenerate every flowgroup, even those whose inputs did not change since the last
    /// run (the last run is remembered in .lhp/generate/).
    #[arg(long)]
    pub(crate) force: bool,
    /// Draw no progress bar (one is drawn only on a terminal, and not with -q).
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub(crate) project: Option<PathBuf>,
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
    /// The pipeline configuration (`-pc` works too), checked as `generate` checks it.
    /// Required when the project has a databricks.yml, unless --no-bundle.
    #[arg(long, value_name = "FILE")]
    pipeline_config: Option<PathBuf>,
    /// Leave the bundle resources out of the checks, even with a databricks.yml.
    #[arg(long)]
    no_bundle: bool,
    /// Accepted for the reference's command lines: validate draws no progress.
    #[arg(long)]
    no_progress: bool,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

/// Parses `args` and runs the command, with `natives` compiled in.
pub fn run<I, T>(natives: &[Arc<dyn Plugin>], args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Arguments::try_parse_from(two_letter_flags(args)) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let output = Output {
        format: if cli.log_format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Human
        },
        verbosity: (i16::from(cli.verbose) - i16::from(cli.quiet)).clamp(-8, 8) as i8,
        style: style(),
    };
    match cli.command {
        None => {
            crate::output::emit(&format!(
                "lhp {}: see `lhp --help` for the commands\n",
                version()
            ));
            ExitCode::SUCCESS
        }
        Some(Command::Init(args)) => crate::init::run(&args, &output),
        Some(Command::Validate(args)) => validate(natives, &args, &output),
        Some(Command::Generate(args)) => crate::generate::run(natives, &args, &output),
        Some(Command::Events(command)) => crate::tail::run(command, &output),
        Some(Command::Plugin(command)) => crate::plugin_cmd::run(natives, command),
        Some(Command::Diff(args)) => crate::diff::run(natives, &args, &output),
        Some(Command::Dag(args)) => crate::dag::run(natives, &args, &output),
        Some(Command::List(command)) => crate::listing::list(natives, &command, &output),
        Some(Command::Substitutions(args)) => {
            crate::listing::substitutions(natives, &args, &output)
        }
        Some(Command::Completions(args)) => completions(args.shell),
    }
}

/// Writes the completion script for `shell` to stdout.
fn completions(shell: Shell) -> ExitCode {
    use clap::CommandFactory;
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Arguments::command();
    // Written whole, so that a closed pipe is not a panic inside clap_complete.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "lhp", &mut script);
    crate::output::emit(&String::from_utf8_lossy(&script));
    ExitCode::SUCCESS
}

/// The reference's two-letter short flag `-pc` as the long one, up to a `--`.
fn two_letter_flags<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut options_ended = false;
    args.into_iter()
        .map(|arg| {
            let arg: OsString = arg.into();
            if options_ended {
                return arg;
            }
            match arg.to_str() {
                Some("--") => {
                    options_ended = true;
                    arg
                }
                Some("-pc") => OsString::from("--pipeline-config"),
                Some(text) if text.starts_with("-pc=") => {
                    OsString::from(format!("--pipeline-config={}", &text[4..]))
                }
                _ => arg,
            }
        })
        .collect()
}

pub(crate) fn style() -> Style {
    Style {
        color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The project root for `--project DIR` (or the current directory), or the error shown.
pub(crate) fn project_root(project: Option<&PathBuf>) -> Option<PathBuf> {
    let start = match project {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let root = find_root(&start);
    if root.is_none() {
        eprintln!(
            "error[LHP-CFG-011]: not in a Lakehouse Plumber project: no lhp.yaml in {} or above",
            start.display()
        );
    }
    root
}

/// The output directory: `--output` (relative to the current directory), or `generated`
/// in the project.
pub(crate) fn output_dir(root: &Path, output: Option<&PathBuf>) -> PathBuf {
    match output {
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => std::env::current_dir().unwrap_or_default().join(dir),
        None => root.join("generated"),
    }
}

/// The environment variables read so far, with a hash of each value (`None`: unset), for
/// the incremental state: a run must not be skipped when a variable it read has changed.
static ENV_READS: Mutex<BTreeMap<String, Option<String>>> = Mutex::new(BTreeMap::new());

/// Reads the process environment (and remembers what was read; see [`env_reads`]).
pub(crate) fn env_var(name: &str) -> Option<String> {
    let value = std::env::var(name).ok();
    if let Ok(mut reads) = ENV_READS.lock() {
        let hash = value
            .as_ref()
            .map(|v| lhp_orchestrator::incremental::hash_bytes(v.as_bytes()));
        reads.insert(name.to_owned(), hash);
    }
    value
}

/// The environment variables [`env_var`] has read, with the hash of each value.
pub(crate) fn env_reads() -> BTreeMap<String, Option<String>> {
    ENV_READS.lock().map(|r| r.clone()).unwrap_or_default()
}

/// The built-ins and the plugins of the project at `root` (and of this binary, and PATH).
pub(crate) fn plugins(root: &Path, natives: &[Arc<dyn Plugin>]) -> PluginHost {
    // Plugin processes run in the root: their paths must not depend on where lhp was started.
    let absolute = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let root = absolute.as_path();
    let mut sources = Sources::new();
    // Problems of lhp.yaml itself are reported when the project is loaded.
    let settings = load_project_config(root, &mut sources, env_var)
        .map(|(config, _)| config.settings.plugins)
        .unwrap_or_default();
    let options = DiscoverOptions {
        root,
        settings: &settings,
        natives,
        path: std::env::var_os("PATH"),
        home: std::env::var_os("HOME").map(PathBuf::from),
        cache: true,
    };
    PluginHost::discover(&options, sources)
}

/// Reads the project at `root` for `env`, with the process environment and the plugins'
/// types, and hands the plugins their resolved settings (problems go to `host`'s list).
pub(crate) fn load(
    root: &Path,
    env: &str,
    include_tests: bool,
    pipeline: Option<&str>,
    host: &mut PluginHost,
) -> LoadedProject {
    let plugin_types = host.plugin_types();
    let options = LoadOptions {
        env,
        include_tests,
        pipeline,
        env_var: &env_var,
        plugin_types: &plugin_types,
    };
    let project = load_project(root, &options);
    let problems = host.configure(&project.substitutions, &env_var);
    host.diagnostics.extend(problems);
    project
}

/// Prints the plugins' problems (positions in manifests and lhp.yaml) to stderr.
pub(crate) fn print_plugin_diagnostics(host: &PluginHost, output: &Output) {
    for diagnostic in &host.diagnostics {
        output.diagnostic(diagnostic, &host.sources);
    }
}

/// What the built-in hooks are told about this run.
pub(crate) fn hook_options(
    root: &Path,
    project: &LoadedProject,
    env: &str,
    output: &Output,
) -> HookOptions {
    HookOptions {
        root: root.to_path_buf(),
        project: project
            .config
            .as_ref()
            .map_or_else(|| "lhp".to_owned(), |c| c.name.clone()),
        env: env.to_owned(),
        verbosity: output.verbosity,
        log_format: output.format,
        color: output.style.color,
        off: Vec::new(),
        on: Vec::new(),
    }
}

fn validate(natives: &[Arc<dyn Plugin>], args: &ValidateArgs, output: &Output) -> ExitCode {
    let Some(root) = project_root(args.project.as_ref()) else {
        return ExitCode::FAILURE;
    };
    let mut host = plugins(&root, natives);
    let mut project = load(
        &root,
        &args.env,
        args.include_tests,
        args.pipeline.as_deref(),
        &mut host,
    );
    // The plugins check their own actions: only once the project reads without errors.
    if !project.has_errors() {
        let problems = host.validate(&project);
        project.diagnostics.extend(problems);
    }
    let (_, hook_problems) = configure_hooks(
        &project,
        &root,
        &env_var,
        &hook_options(&root, &project, &args.env, output),
    );
    project.diagnostics.extend(hook_problems);
    // What generate checks before writing around the code: the pipeline config, the
    // bundle resources' settings, monitoring.
    let bundle = crate::around::BundleOptions {
        env: &args.env,
        pipeline_config: args.pipeline_config.as_deref(),
        no_bundle: args.no_bundle,
    };
    let mut around_problems = Vec::new();
    crate::around::plan(&root, &bundle, &mut project, &mut around_problems);
    project.diagnostics.extend(around_problems);
    print_plugin_diagnostics(&host, output);
    for diagnostic in &project.diagnostics {
        output.diagnostic(diagnostic, &project.sources);
    }
    let count = |severity| {
        project
            .diagnostics
            .iter()
            .chain(&host.diagnostics)
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
    output.info(&format!(
        "{} flowgroup(s) in {} pipeline(s) valid for env `{}` (format {FORMAT_VERSION}); {errors} error(s), {warnings} warning(s){}",
        project.flowgroups.len(),
        pipelines.len(),
        args.env,
        if notes > 0 { format!(", {notes} note(s)") } else { String::new() }
    ));
    if errors > 0 || (args.strict && warnings > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Sets the executable bits of a file just written (a scaffolded process plugin).
pub(crate) fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mut permissions = meta.permissions();
            permissions.set_mode(permissions.mode() | 0o755);
            let _ = std::fs::set_permissions(path, permissions);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

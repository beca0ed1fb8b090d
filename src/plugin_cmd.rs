//! `lhp plugin`: list the plugins a project sees, show one, check one, scaffold a new one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use lhp_orchestrator::plugins::{DiscoverOptions, PluginHost, PluginInfo, PluginStatus};
use lhp_orchestrator::settings::PluginSettings;
use lhp_orchestrator::Severity;
use lhp_plugin::serde_json;
use lhp_plugin::testkit::{self, TestContext};
use lhp_plugin::{ActionKind, Generator, Plugin, PluginKind, Sources, LHP_VERSION};

use crate::cli::{plugins, print_plugin_diagnostics};

/// The `lhp plugin` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List every plugin the project sees: name, version, kind, types, origin, status.
    ///
    /// Example: lhp plugin list --project examples/plugin_project
    List(ListArgs),
    /// Show one plugin: metadata, what it provides, where it was found, why it is refused.
    ///
    /// Example: lhp plugin info pivot
    Info(InfoArgs),
    /// Check a plugin on its own: a template plugin's directory (or its lhp-plugin.yaml), a
    /// process plugin's executable, or the name of a plugin compiled into this binary.
    /// Reads its metadata, checks its versions and environment, runs a sample generate of
    /// each type and checks the code parses; runs a template plugin's tests/*.yaml cases.
    ///
    /// Example: lhp plugin validate plugins/s3_batch
    Validate(ValidateArgs),
    /// Create a new plugin that builds, passes its own tests, and works in a project.
    ///
    /// Example: lhp plugin new my_source --kind template --dir plugins
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The plugin's name (`lhp plugin list` shows them).
    name: String,
    /// The project directory, or any directory inside it (default: the current one).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A template plugin's directory or manifest, a process plugin's executable, or the
    /// name of a native plugin.
    path: String,
}

/// The kinds of plugin `lhp plugin new` can create.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NewKind {
    /// A directory with lhp-plugin.yaml and a minijinja template (a load type).
    Template,
    /// A Python program speaking JSON lines (a transform type), with its unittest.
    Process,
    /// A Rust crate building a custom lhp binary with the plugin compiled in (a load type).
    Native,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name, which is also the type it provides (letters, digits, `_`).
    name: String,
    /// What kind of plugin.
    #[arg(long, value_enum)]
    kind: NewKind,
    /// Where to create it: the plugin goes in DIR/NAME (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// For `--kind native`: the lhp source tree the crate depends on (default: the one this
    /// binary was built from, when it is still there).
    #[arg(long, value_name = "DIR")]
    lhp_path: Option<PathBuf>,
}

/// Runs an `lhp plugin` subcommand.
pub fn run(natives: &[Arc<dyn Plugin>], command: PluginCommand) -> ExitCode {
    match command {
        PluginCommand::List(args) => list(natives, &args),
        PluginCommand::Info(args) => info(natives, &args),
        PluginCommand::Validate(args) => validate(natives, &args),
        PluginCommand::New(args) => new(&args),
    }
}

/// The project's root, or the current directory outside a project.
fn root_or_here(project: Option<&PathBuf>) -> PathBuf {
    let start = project
        .cloned()
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    lhp_orchestrator::project::find_root(&start).unwrap_or(start)
}

fn provides(info: &PluginInfo) -> String {
    if info.provides.is_empty() && !info.events.is_empty() {
        return format!("hook: {}", info.events.join(", "));
    }
    let mut text: Vec<String> = info
        .provides
        .iter()
        .map(|(kind, name)| format!("{kind}.{name}"))
        .collect();
    if !info.events.is_empty() {
        text.push(format!("hook: {}", info.events.join(", ")));
    }
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.join(", ")
    }
}

fn builtin_row(host: &PluginHost) -> [String; 6] {
    let count = host
        .registry
        .generators()
        .filter(|g| g.provider() == "builtin")
        .count();
    [
        "builtin".to_owned(),
        LHP_VERSION.to_owned(),
        "builtin".to_owned(),
        format!("{count} load, transform and write types"),
        "lhp".to_owned(),
        "active".to_owned(),
    ]
}

fn list(natives: &[Arc<dyn Plugin>], args: &ListArgs) -> ExitCode {
    let root = root_or_here(args.project.as_ref());
    let host = plugins(&root, natives);
    print_plugin_diagnostics(&host, &crate::output::Output::plain());
    print_plugins(&host, &root, false)
}

/// Prints every plugin `host` knows, the built-ins first: a table, or a JSON array.
pub(crate) fn print_plugins(host: &PluginHost, root: &Path, json: bool) -> ExitCode {
    if json {
        let mut plugins = vec![serde_json::json!({
            "name": "builtin",
            "version": LHP_VERSION,
            "kind": "builtin",
            "provides": builtin_row(host)[3].clone(),
            "origin": "lhp",
            "status": "active",
        })];
        for plugin in &host.plugins {
            plugins.push(serde_json::json!({
                "name": plugin.metadata.name,
                "version": plugin.metadata.version,
                "kind": plugin.kind.to_string(),
                "provides": plugin.provides.iter().map(|(kind, name)| format!("{kind}.{name}")).collect::<Vec<_>>(),
                "events": plugin.events,
                "origin": shorten(&plugin.origin, root),
                "status": plugin.status.to_string(),
                "reason": match &plugin.status {
                    PluginStatus::Refused(why) => Some(why.clone()),
                    _ => None,
                },
            }));
        }
        crate::output::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&plugins).unwrap_or_default()
        ));
        return ExitCode::SUCCESS;
    }
    let mut rows: Vec<Vec<String>> = vec![vec![
        "NAME".into(),
        "VERSION".into(),
        "KIND".into(),
        "PROVIDES".into(),
        "ORIGIN".into(),
        "STATUS".into(),
    ]];
    rows.push(builtin_row(host).to_vec());
    for plugin in &host.plugins {
        rows.push(vec![
            plugin.metadata.name.clone(),
            plugin.metadata.version.clone(),
            plugin.kind.to_string(),
            provides(plugin),
            shorten(&plugin.origin, root),
            plugin.status.to_string(),
        ]);
    }
    crate::output::print_table(&rows);
    ExitCode::SUCCESS
}

/// `origin` relative to the project root when it is inside it.
fn shorten(origin: &str, root: &Path) -> String {
    Path::new(origin)
        .strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| origin.to_owned())
}

fn info(natives: &[Arc<dyn Plugin>], args: &InfoArgs) -> ExitCode {
    let root = root_or_here(args.project.as_ref());
    let host = plugins(&root, natives);
    let Some(plugin) = host.plugins.iter().find(|p| p.metadata.name == args.name) else {
        let names: Vec<&str> = host
            .plugins
            .iter()
            .map(|p| p.metadata.name.as_str())
            .collect();
        eprintln!(
            "error: no plugin named `{}`; the project sees: {}",
            args.name,
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        );
        return ExitCode::FAILURE;
    };
    let meta = &plugin.metadata;
    // Gathered, then printed through `emit`: a closed pipe (`| head`) ends it quietly.
    let mut text = String::new();
    let _ = writeln!(text, "name:        {}", meta.name);
    let _ = writeln!(text, "version:     {}", meta.version);
    let _ = writeln!(text, "kind:        {}", plugin.kind);
    let _ = writeln!(text, "origin:      {}", plugin.origin);
    if !meta.description.is_empty() {
        let _ = writeln!(text, "description: {}", meta.description);
    }
    if !meta.author.is_empty() {
        let _ = writeln!(text, "author:      {}", meta.author);
    }
    let _ = writeln!(
        text,
        "requires:    lhp {} (this is {LHP_VERSION})",
        meta.requires_lhp_version.as_deref().unwrap_or("any")
    );
    if !meta.dependencies.is_empty() {
        let _ = writeln!(text, "depends on:  {}", meta.dependencies.join(", "));
    }
    for (kind, name) in &plugin.provides {
        let example = host
            .registry
            .get(*kind, name)
            .and_then(|g| g.example())
            .map(|e| format!(" (example: {e})"))
            .unwrap_or_default();
        let _ = writeln!(text, "provides:    {kind} type `{name}`{example}");
    }
    if !plugin.events.is_empty() {
        let _ = writeln!(text, "events:      {}", plugin.events.join(", "));
    }
    let _ = match &plugin.status {
        PluginStatus::Refused(reason) => writeln!(text, "status:      refused: {reason}"),
        status => writeln!(text, "status:      {status}"),
    };
    crate::output::emit(&text);
    ExitCode::SUCCESS
}

/// A step of `lhp plugin validate`, printed as it completes.
struct Steps {
    failed: usize,
}

impl Steps {
    // Each line through `emit`, as it completes: a closed pipe ends it quietly.
    fn ok(&mut self, what: impl AsRef<str>) {
        crate::output::emit(&format!("  ok    {}\n", what.as_ref()));
    }
    fn fail(&mut self, what: impl AsRef<str>) {
        self.failed += 1;
        crate::output::emit(&format!("  FAIL  {}\n", what.as_ref()));
    }
    fn warn(&mut self, what: impl AsRef<str>) {
        crate::output::emit(&format!("  warn  {}\n", what.as_ref()));
    }
}

fn validate(natives: &[Arc<dyn Plugin>], args: &ValidateArgs) -> ExitCode {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let given = PathBuf::from(&args.path);
    let mut settings = PluginSettings {
        directories: Vec::new(),
        discover_path: false,
        ..PluginSettings::default()
    };
    let mut chosen: Vec<Arc<dyn Plugin>> = Vec::new();
    let path = if given.is_absolute() {
        given
    } else {
        here.join(given)
    };
    let kind = if path.is_dir() || path.file_name().is_some_and(|n| n == "lhp-plugin.yaml") {
        let dir = if path.is_dir() {
            path.clone()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        if !dir.join("lhp-plugin.yaml").is_file() {
            eprintln!(
                "error[LHP-PLUGIN-001]: {} has no lhp-plugin.yaml",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
        settings.directories = vec![dir.display().to_string()];
        PluginKind::Template
    } else if path.is_file() {
        settings.commands = vec![path.display().to_string()];
        PluginKind::Process
    } else if let Some(native) = natives.iter().find(|p| p.metadata().name == args.path) {
        chosen.push(Arc::clone(native));
        PluginKind::Native
    } else {
        eprintln!(
            "error: {} is neither a plugin directory, an executable, nor a plugin compiled into this binary",
            args.path
        );
        return ExitCode::from(2);
    };
    let options = DiscoverOptions {
        root: &here,
        settings: &settings,
        natives: &chosen,
        path: std::env::var_os("PATH"),
        home: None,
        cache: false,
    };
    let host = PluginHost::discover(&options, Sources::new());
    if kind == PluginKind::Process && !lhp_orchestrator::plugins::process::is_executable(&path) {
        eprintln!(
            "error[LHP-PLUGIN-002]: {} is not executable (chmod +x it)",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    let _ = host.configure(
        &lhp_orchestrator::Substitutions::default(),
        &crate::cli::env_var,
    );
    let mut steps = Steps { failed: 0 };
    let Some(plugin) = host.plugins.first().cloned() else {
        print_plugin_diagnostics(&host, &crate::output::Output::plain());
        crate::output::emit("invalid: no plugin could be read\n");
        return ExitCode::FAILURE;
    };
    crate::output::emit(&format!(
        "plugin `{}` {} ({}, {})\n",
        plugin.metadata.name, plugin.metadata.version, plugin.kind, plugin.origin
    ));
    if host
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        print_plugin_diagnostics(&host, &crate::output::Output::plain());
        steps.fail("metadata, versions and types (see above)");
    } else {
        steps.ok(format!(
            "metadata: version {}, requires lhp {} (this is {LHP_VERSION})",
            plugin.metadata.version,
            plugin
                .metadata
                .requires_lhp_version
                .as_deref()
                .unwrap_or("any")
        ));
        steps.ok(format!("provides: {}", provides(&plugin)));
    }
    match kind {
        PluginKind::Process => match host.client(&plugin.metadata.name) {
            Some(client) => match client.request("check", serde_json::json!({})) {
                Ok(result) => {
                    let problems: Vec<String> = result
                        .get("problems")
                        .and_then(|p| p.as_array())
                        .map(|items| {
                            items
                                .iter()
                                .map(|p| {
                                    p.get("message")
                                        .and_then(|m| m.as_str())
                                        .map(str::to_owned)
                                        .unwrap_or_else(|| p.to_string())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if problems.is_empty() {
                        steps.ok("environment check");
                    } else {
                        steps.fail(format!("environment check: {}", problems.join("; ")));
                    }
                }
                Err(error) => steps.fail(format!("environment check: {error}")),
            },
            None => steps.fail("handshake (see above)"),
        },
        PluginKind::Native => match chosen.first().map(|p| p.check_environment()) {
            Some(Err(problems)) => {
                steps.fail(format!("environment check: {}", problems.join("; ")))
            }
            _ => steps.ok("environment check"),
        },
        _ => {}
    }
    if plugin.status == PluginStatus::Active {
        for (kind, name) in &plugin.provides {
            let Some(generator) = host.registry.get(*kind, name) else {
                continue;
            };
            sample(generator.as_ref(), &mut steps);
        }
        if kind == PluginKind::Template {
            run_cases(&host, Path::new(&plugin.origin), &mut steps);
        }
    }
    host.shutdown();
    if steps.failed == 0 {
        crate::output::emit("valid\n");
        ExitCode::SUCCESS
    } else {
        crate::output::emit(&format!("invalid: {} step(s) failed\n", steps.failed));
        ExitCode::FAILURE
    }
}

/// The YAML of an action of `generator`'s type configured with `config`.
fn sample_action(kind: ActionKind, type_name: &str, config: serde_json::Value) -> String {
    let mut action = serde_json::json!({ "name": "sample", "type": kind.as_str() });
    match kind {
        ActionKind::Load => {
            let mut source = config;
            if let Some(map) = source.as_object_mut() {
                map.insert("type".into(), type_name.into());
            }
            action["target"] = "v_sample".into();
            action["source"] = source;
        }
        ActionKind::Write => {
            let mut target = config;
            if let Some(map) = target.as_object_mut() {
                map.insert("type".into(), type_name.into());
            }
            action["source"] = "v_sample".into();
            action["write_target"] = target;
        }
        _ => {
            action["source"] = "v_sample".into();
            action["target"] = "v_sample_out".into();
            if let Some(fields) = config.as_object() {
                for (key, value) in fields {
                    action[key] = value.clone();
                }
            }
            action["transform_type"] = type_name.into();
        }
    }
    // JSON is YAML: the test kit reads it as a user's file would be read.
    action.to_string()
}

/// A sample generate of one type: its example configuration, generated, parsed.
fn sample(generator: &dyn Generator, steps: &mut Steps) {
    let label = format!("{}.{}", generator.kind(), generator.type_name());
    let given = generator.example();
    let guessed = given.is_none();
    let example = given.unwrap_or_else(|| serde_json::json!({}));
    // Without an example, an empty configuration is tried: refusing it is the plugin's
    // right (a warning), crashing or answering garbage is not.
    let refused = |steps: &mut Steps, why: String| {
        if guessed {
            steps.warn(format!(
                "{label}: no example configuration, and an empty one was refused ({why}); add an `example` to the type"
            ));
        } else {
            steps.fail(format!("{label}: its example was refused: {why}"));
        }
    };
    let yaml = sample_action(generator.kind(), generator.type_name(), example);
    let action = match testkit::action_from_yaml(&yaml) {
        Ok(action) => action,
        Err(error) => {
            steps.fail(format!("{label}: its example is not an action: {error}"));
            return;
        }
    };
    let problems = generator.validate(&action);
    if let Some(problem) = problems.first() {
        if problem.code == "LHP-PLUGIN-011" {
            refused(steps, problem.to_string());
        } else {
            steps.fail(format!("{label}: its check failed: {problem}"));
        }
        return;
    }
    match testkit::generate(generator, &action) {
        Ok(fragment) => {
            let module = testkit::module(&fragment);
            match lhp_plugin::python::check_syntax(&module) {
                Ok(()) => steps.ok(format!(
                    "{label}: sample generate parses ({} lines)",
                    fragment.code.trim_end().lines().count()
                )),
                Err(error) => {
                    steps.fail(format!("{label}: sample generate does not parse: {error}"))
                }
            }
        }
        Err(error) if matches!(error.code, "LHP-PLUGIN-007" | "LHP-PLUGIN-011") => {
            refused(steps, error.to_string())
        }
        Err(error) => steps.fail(format!("{label}: sample generate failed: {error}")),
    }
}

/// Runs a template plugin's `tests/*.yaml` cases: `action:` generates `expect:`.
fn run_cases(host: &PluginHost, dir: &Path, steps: &mut Steps) {
    let Ok(entries) = std::fs::read_dir(dir.join("tests")) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    for file in files {
        let shown = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        match run_case(host, &file) {
            Ok(()) => steps.ok(format!("test {shown}")),
            Err(why) => steps.fail(format!("test {shown}: {why}")),
        }
    }
}

fn run_case(host: &PluginHost, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let mut sources = Sources::new();
    let id = sources.add(file, text.as_str());
    let documents = lhp_plugin::load_documents(id, text.as_bytes(), Default::default())
        .map_err(|e| e.message)?;
    let case = documents
        .first()
        .and_then(|d| d.as_map())
        .ok_or("a case is a mapping with `action` and `expect`")?;
    let action = case.get("action").ok_or("no `action`")?;
    let expect = case
        .get("expect")
        .and_then(|e| e.as_str())
        .ok_or("no `expect` text")?;
    let action = lhp_plugin::Action::from_value(action).map_err(|e| e.to_string())?;
    let generator = action
        .subtype_str()
        .and_then(|t| host.registry.get(action.kind, t))
        .filter(|g| host.plugins.iter().any(|p| p.metadata.name == g.provider()))
        .ok_or("its action's type is not one this plugin provides")?;
    let fragment = testkit::generate_in(generator.as_ref(), &action, &TestContext::new())
        .map_err(|e| e.to_string())?;
    lhp_plugin::python::check_syntax(&testkit::module(&fragment)).map_err(|e| e.to_string())?;
    if fragment.code.trim() == expect.trim() {
        Ok(())
    } else {
        Err(format!(
            "generated code differs\n--- expected\n{}\n--- generated\n{}",
            expect.trim(),
            fragment.code.trim()
        ))
    }
}

fn new(args: &NewArgs) -> ExitCode {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        eprintln!("error: a plugin name starts with a lowercase letter and has only lowercase letters, digits and `_` (it is also its type name): {name:?}");
        return ExitCode::from(2);
    }
    let dir = args.dir.join(name);
    if dir.exists() {
        eprintln!(
            "error: {} exists; choose another name or --dir",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let files = match args.kind {
        NewKind::Template => crate::scaffold::template(name),
        NewKind::Process => crate::scaffold::process(name),
        NewKind::Native => {
            let lhp_path = args.lhp_path.clone().or_else(|| {
                let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
                built_from
                    .join("Cargo.toml")
                    .is_file()
                    .then_some(built_from)
            });
            let Some(lhp_path) = lhp_path else {
                eprintln!("error: --kind native needs --lhp-path: the lhp source tree its crate depends on");
                return ExitCode::from(2);
            };
            let lhp_path = lhp_path.canonicalize().unwrap_or(lhp_path);
            crate::scaffold::native(name, &lhp_path)
        }
    };
    for (relative, text, executable) in &files {
        let path = dir.join(relative);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(error) = written {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        if *executable {
            crate::cli::make_executable(&path);
        }
        crate::output::emit(&format!("created {}\n", path.display()));
    }
    crate::output::emit(&format!(
        "{}\n",
        crate::scaffold::next_steps(args.kind, name, &dir)
    ));
    ExitCode::SUCCESS
}

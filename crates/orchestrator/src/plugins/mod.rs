//! Plugins: finding them, admitting them into the [`Registry`] beside the built-ins, and
//! the runs of their processes.
//!
//! Built-in types are registered first, then, in this order, native plugins (compiled into
//! the binary), template plugins (`plugins.directories`, then `~/.lhp/plugins`) and process
//! plugins (`plugins.commands`, then `lhp-plugin-*` on `PATH`). A plugin is admitted whole
//! or not at all: it is refused when its versions do not fit this lhp, when its environment
//! check fails, when its name is taken, or when it provides a type that is already provided
//! and `plugins.allow_override` does not name that type. The types of a refused plugin stay
//! known, so that the flowgroups using them fail with the reason and the others generate.

pub mod process;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lhp_plugin::protocol::Describe;
use lhp_plugin::{
    ActionKind, Fragment, GenerateError, GenerateRequest, Generator, Hook, Plugin, PluginKind,
    PluginMetadata, Registry, Sources, Value, ValueKind,
};

use crate::diagnostic::Diagnostic;
use crate::load::LoadedProject;
use crate::settings::PluginSettings;
use crate::substitution::Substitutions;
use process::{Launch, ProcessClient, ProcessError, ProcessGenerator, ProcessHook};

/// Whether a plugin is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginStatus {
    /// Its types and hooks are registered.
    Active,
    /// `plugins.enabled: false`.
    Disabled,
    /// Not admitted, and why.
    Refused(String),
}

impl std::fmt::Display for PluginStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Active => f.write_str("active"),
            Self::Disabled => f.write_str("disabled"),
            Self::Refused(_) => f.write_str("refused"),
        }
    }
}

/// A plugin as `lhp plugin list` and `lhp plugin info` show it.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// Who it is.
    pub metadata: PluginMetadata,
    /// How it reaches lhp.
    pub kind: PluginKind,
    /// Where it was found: a directory, an executable, or `this binary`.
    pub origin: String,
    /// The action types it provides.
    pub provides: Vec<(ActionKind, String)>,
    /// The event types it wants.
    pub events: Vec<String>,
    /// Whether it is in use.
    pub status: PluginStatus,
}

impl PluginInfo {
    /// A plugin known only by where it is (not read, or unreadable); its name comes from
    /// its directory or file.
    fn unread(path: &Path, kind: PluginKind, origin: String, status: PluginStatus) -> Self {
        Self {
            metadata: PluginMetadata::new(name_of(path), ""),
            kind,
            origin,
            provides: Vec::new(),
            events: Vec::new(),
            status,
        }
    }
}

/// A plugin's name before it says its own: its directory's name, or its executable's
/// without the `lhp-plugin-` prefix.
fn name_of(path: &Path) -> String {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file_name
        .strip_prefix("lhp-plugin-")
        .unwrap_or(&file_name)
        .to_owned()
}

/// What discovery needs to know.
pub struct DiscoverOptions<'a> {
    /// The project root.
    pub root: &'a Path,
    /// `plugins:` of `lhp.yaml`.
    pub settings: &'a PluginSettings,
    /// Native plugins compiled into this binary.
    pub natives: &'a [Arc<dyn Plugin>],
    /// The `PATH` searched for `lhp-plugin-*` (the process's, normally).
    pub path: Option<OsString>,
    /// The user's home, for `~/.lhp/plugins`.
    pub home: Option<PathBuf>,
    /// Whether `.lhp/plugins.json` under the root is read and written.
    pub cache: bool,
}

/// A plugin found, before admission.
struct Candidate {
    info: PluginInfo,
    generators: Vec<Arc<dyn Generator>>,
    hooks: Vec<Arc<dyn Hook>>,
    problems: Vec<String>,
}

/// Every plugin of a run: the registry they feed, what was found, and their processes.
pub struct PluginHost {
    /// Built-in and plugin generators.
    pub registry: Registry,
    /// Every plugin found, admitted or not, in discovery order.
    pub plugins: Vec<PluginInfo>,
    /// Problems met while finding and admitting plugins.
    pub diagnostics: Vec<Diagnostic>,
    /// The manifests read, for showing positions in diagnostics.
    pub sources: Sources,
    hooks: Vec<Arc<dyn Hook>>,
    natives: Vec<Arc<dyn Plugin>>,
    clients: Vec<Arc<ProcessClient>>,
    configs: BTreeMap<String, Arc<OnceLock<serde_json::Value>>>,
    config_values: BTreeMap<String, Value>,
    allow_override: Vec<String>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("registry", &self.registry)
            .field("plugins", &self.plugins)
            .finish()
    }
}

/// A native plugin's generator, named after its plugin.
struct Provided {
    inner: Arc<dyn Generator>,
    provider: String,
}

impl Generator for Provided {
    fn kind(&self) -> ActionKind {
        self.inner.kind()
    }
    fn type_name(&self) -> &str {
        self.inner.type_name()
    }
    fn provider(&self) -> &str {
        &self.provider
    }
    fn validate(&self, action: &lhp_plugin::Action) -> Vec<GenerateError> {
        self.inner.validate(action)
    }
    fn example(&self) -> Option<serde_json::Value> {
        self.inner.example()
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        self.inner.generate(request)
    }
}

/// A type whose plugin was refused: generating it fails with the reason.
struct Unavailable {
    kind: ActionKind,
    type_name: String,
    plugin: String,
    reason: String,
}

impl Generator for Unavailable {
    fn kind(&self) -> ActionKind {
        self.kind
    }
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn provider(&self) -> &str {
        &self.plugin
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        Err(GenerateError::new(
            "LHP-PLUGIN-012",
            format!(
                "action `{}` uses {} type `{}` of plugin `{}`, which was refused: {}",
                request.action.name.value, self.kind, self.type_name, self.plugin, self.reason
            ),
        )
        .at(request.action.span())
        .hint("`lhp plugin list` shows every plugin and its status"))
    }
}

impl PluginHost {
    /// The built-ins and every plugin `options` lead to. `sources` holds the files the
    /// settings were read from (their positions appear in diagnostics); manifests join them.
    pub fn discover(options: &DiscoverOptions<'_>, sources: Sources) -> Self {
        let mut host = Self {
            registry: lhp_generators::builtin_registry(),
            plugins: Vec::new(),
            diagnostics: Vec::new(),
            sources,
            hooks: Vec::new(),
            natives: Vec::new(),
            clients: Vec::new(),
            configs: BTreeMap::new(),
            config_values: options.settings.config.clone(),
            allow_override: options.settings.allow_override.clone(),
        };
        if !options.settings.enabled {
            host.list_disabled(options);
            return host;
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for native in options.natives {
            candidates.push(host.native(native));
        }
        for dir in template_dirs(options) {
            match template::read_plugin(&dir, &mut host.sources) {
                Ok(plugin) => candidates.push(host.template(plugin)),
                Err(problems) => {
                    host.diagnostics.extend(problems);
                    host.plugins.push(PluginInfo::unread(
                        &dir,
                        PluginKind::Template,
                        dir.display().to_string(),
                        PluginStatus::Refused("its manifest has errors".to_owned()),
                    ));
                }
            }
        }
        let timeout = Duration::from_secs(options.settings.timeout.max(1));
        let mut cache = if options.cache {
            Cache::read(options.root)
        } else {
            Cache::default()
        };
        for (program, args) in process_commands(options, &mut host.diagnostics) {
            candidates.push(host.process(options.root, program, args, timeout, &mut cache));
        }
        if options.cache {
            cache.write(options.root);
        }
        for candidate in candidates {
            host.admit(candidate);
        }
        host
    }

    /// With `plugins.enabled: false`: what would be found, without reading or starting it.
    fn list_disabled(&mut self, options: &DiscoverOptions<'_>) {
        for native in options.natives {
            let mut info = PluginInfo::unread(
                Path::new(""),
                PluginKind::Native,
                "this binary".into(),
                PluginStatus::Disabled,
            );
            info.metadata = native.metadata();
            self.plugins.push(info);
        }
        for dir in template_dirs(options) {
            let origin = dir.display().to_string();
            self.plugins.push(PluginInfo::unread(
                &dir,
                PluginKind::Template,
                origin,
                PluginStatus::Disabled,
            ));
        }
        for (program, _) in process_commands(options, &mut Vec::new()) {
            let origin = program.display().to_string();
            self.plugins.push(PluginInfo::unread(
                &program,
                PluginKind::Process,
                origin,
                PluginStatus::Disabled,
            ));
        }
    }

    /// The config slot of plugin `name`.
    fn config_slot(&mut self, name: &str) -> Arc<OnceLock<serde_json::Value>> {
        Arc::clone(self.configs.entry(name.to_owned()).or_default())
    }

    fn native(&mut self, plugin: &Arc<dyn Plugin>) -> Candidate {
        let metadata = plugin.metadata();
        self.natives.push(Arc::clone(plugin));
        self.config_slot(&metadata.name);
        // Whatever its generators say, their provider is the plugin: that is what keeps
        // them apart from built-ins (validation, syntax checks, messages).
        let generators: Vec<Arc<dyn Generator>> = plugin
            .generators()
            .into_iter()
            .map(|inner| {
                Arc::new(Provided {
                    inner,
                    provider: metadata.name.clone(),
                }) as Arc<dyn Generator>
            })
            .collect();
        let hooks = plugin.hooks();
        let problems = match plugin.check_environment() {
            Ok(()) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|p| format!("its environment check failed: {p}"))
                .collect(),
        };
        Candidate {
            info: PluginInfo {
                metadata,
                kind: PluginKind::Native,
                origin: "this binary".to_owned(),
                provides: Vec::new(),
                events: Vec::new(),
                status: PluginStatus::Active,
            },
            generators,
            hooks,
            problems,
        }
    }

    fn template(&mut self, plugin: template::TemplatePlugin) -> Candidate {
        let config = self.config_slot(&plugin.metadata.name);
        let generators: Vec<Arc<dyn Generator>> = plugin
            .types
            .iter()
            .map(|provided| {
                Arc::new(template::TemplateGenerator {
                    plugin: plugin.metadata.name.clone(),
                    version: plugin.metadata.version.clone(),
                    provided: provided.clone(),
                    env: Arc::clone(&plugin.env),
                    config: Arc::clone(&config),
                }) as Arc<dyn Generator>
            })
            .collect();
        Candidate {
            info: PluginInfo {
                provides: Vec::new(),
                events: Vec::new(),
                metadata: plugin.metadata,
                kind: PluginKind::Template,
                origin: plugin.dir.display().to_string(),
                status: PluginStatus::Active,
            },
            generators,
            hooks: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn process(
        &mut self,
        root: &Path,
        program: PathBuf,
        args: Vec<String>,
        timeout: Duration,
        cache: &mut Cache,
    ) -> Candidate {
        let launch = Launch {
            program: program.clone(),
            args: args.clone(),
            root: root.to_path_buf(),
            timeout,
        };
        let origin = std::iter::once(program.display().to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let unread =
            |status| PluginInfo::unread(&program, PluginKind::Process, origin.clone(), status);
        let stamp = Cache::stamp(root, &program, &args);
        let described = match cache.get(stamp.as_ref()) {
            Some(described) => Ok(described),
            None => {
                // Discovery starts the plugin without its config (not resolved yet); the run
                // starts it again, with it, when it is needed.
                let probe = ProcessClient::new(
                    name_of(&program),
                    launch.clone(),
                    Arc::new(OnceLock::from(serde_json::json!({}))),
                );
                let described = probe.describe();
                probe.shutdown();
                if let (Ok(described), Some(stamp)) = (&described, stamp) {
                    cache.put(stamp, described.clone());
                }
                described
            }
        };
        let described = match described {
            Ok(described) => described,
            Err(ProcessError::Protocol(described)) => {
                // Its types are known, so the flowgroups using them fail with the reason.
                let problem = ProcessError::Protocol(described.clone()).to_string();
                let client = Arc::new(ProcessClient::new(
                    described.name.clone(),
                    launch,
                    Arc::new(OnceLock::new()),
                ));
                let mut candidate = candidate_from_describe(*described, origin, &client);
                candidate.problems.push(problem);
                return candidate;
            }
            Err(error) => {
                return Candidate {
                    info: unread(PluginStatus::Active),
                    generators: Vec::new(),
                    hooks: Vec::new(),
                    problems: vec![format!("it could not be described: {error}")],
                }
            }
        };
        let config = self.config_slot(&described.name);
        let client = Arc::new(ProcessClient::new(described.name.clone(), launch, config));
        self.clients.push(Arc::clone(&client));
        candidate_from_describe(described, origin, &client)
    }

    /// Registers a candidate's types and hooks, or records why it is refused.
    fn admit(&mut self, candidate: Candidate) {
        let Candidate {
            mut info,
            generators,
            hooks,
            mut problems,
        } = candidate;
        info.provides = generators
            .iter()
            .map(|g| (g.kind(), g.type_name().to_owned()))
            .collect();
        info.events = hooks.iter().flat_map(|h| h.events()).collect();
        let name = info.metadata.name.clone();
        let label = format!("{} plugin `{name}` ({})", info.kind, info.origin);
        if problems.is_empty() {
            if let Err(error) = info.metadata.check_versions() {
                problems.push(error.to_string());
            }
        }
        let versions_fit = problems.is_empty();
        if versions_fit
            && self
                .plugins
                .iter()
                .any(|p| p.metadata.name == name && p.status == PluginStatus::Active)
        {
            problems.push(format!("another plugin is already named `{name}`"));
        }
        let mut overrides = Vec::new();
        if versions_fit {
            for generator in &generators {
                let (kind, type_name) = (generator.kind(), generator.type_name());
                let Some(existing) = self.registry.get(kind, type_name) else {
                    continue;
                };
                let allowed = self
                    .allow_override
                    .iter()
                    .any(|t| t == type_name || *t == format!("{kind}.{type_name}"));
                if allowed {
                    overrides.push(format!(
                        "{kind} type `{type_name}` of `{}` is replaced by plugin `{name}` (plugins.allow_override)",
                        existing.provider()
                    ));
                } else {
                    problems.push(format!(
                        "{kind} type `{type_name}` is already provided by `{}`",
                        existing.provider()
                    ));
                }
            }
        }
        if !problems.is_empty() {
            let reason = problems.join("; ");
            let mut diagnostic =
                Diagnostic::error("LHP-PLUGIN-003", format!("{label} is refused: {reason}"));
            diagnostic = if reason.contains("already provided") {
                diagnostic.hint(
                    "rename the type, or list it in plugins.allow_override to let the plugin replace it",
                )
            } else if reason.contains("requires lhp") {
                diagnostic.hint("install a version of the plugin made for this lhp")
            } else {
                diagnostic.hint(format!(
                    "check it alone with `lhp plugin validate {}`",
                    info.origin
                ))
            };
            self.diagnostics.push(diagnostic);
            for generator in &generators {
                let (kind, type_name) = (generator.kind(), generator.type_name().to_owned());
                if self.registry.get(kind, &type_name).is_none() {
                    let _ = self.registry.register(Arc::new(Unavailable {
                        kind,
                        type_name,
                        plugin: name.clone(),
                        reason: reason.clone(),
                    }));
                }
            }
            info.status = PluginStatus::Refused(reason);
            self.plugins.push(info);
            return;
        }
        for message in overrides {
            self.diagnostics
                .push(Diagnostic::warning("LHP-PLUGIN-005", message));
        }
        for generator in generators {
            self.registry.replace(generator);
        }
        self.hooks.extend(hooks);
        self.plugins.push(info);
    }

    /// The types plugins provide (admitted or not), which validation accepts as known.
    pub fn plugin_types(&self) -> Vec<(ActionKind, String)> {
        self.registry
            .generators()
            .filter(|g| g.provider() != "builtin")
            .map(|g| (g.kind(), g.type_name().to_owned()))
            .collect()
    }

    /// The hooks of admitted plugins.
    pub fn hooks(&self) -> &[Arc<dyn Hook>] {
        &self.hooks
    }

    /// Resolves `plugins.config.<name>` (substitution tokens, then `${ENV_VAR}`) and hands
    /// each plugin its settings; returns the problems (unresolved references).
    pub fn configure(
        &self,
        substitutions: &Substitutions,
        env_var: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        for (name, value) in &self.config_values {
            if !self.plugins.iter().any(|p| &p.metadata.name == name) {
                let mut problem = Diagnostic::warning(
                    "LHP-PLUGIN-014",
                    format!("plugins.config.{name}: no plugin is named `{name}`; these settings are not used"),
                )
                .at(value.span);
                let names: Vec<&str> = self
                    .plugins
                    .iter()
                    .map(|p| p.metadata.name.as_str())
                    .collect();
                if let Some(guess) = crate::flowgroup::did_you_mean(name, &names) {
                    problem = problem.hint(format!("did you mean `{guess}`?"));
                }
                problems.push(problem);
            }
        }
        for (name, slot) in &self.configs {
            let Some(raw) = self.config_values.get(name) else {
                let _ = slot.set(serde_json::json!({}));
                continue;
            };
            let mut value = raw.clone();
            let mut secrets = Vec::new();
            let before = problems.len();
            substitutions.substitute(&mut value, &mut secrets, &mut problems);
            let placeholders: Vec<(String, String)> = secrets
                .iter()
                .map(|s| {
                    (
                        s.placeholder(),
                        format!("${{secret:{}/{}}}", s.scope, s.key),
                    )
                })
                .collect();
            resolve_env(
                &mut value,
                env_var,
                &placeholders,
                &format!("plugins.config.{name}"),
                "LHP-PLUGIN-013",
                &mut problems,
            );
            // Settings with unresolved references are not handed over: the plugin then
            // refuses to start, rather than working with half its settings.
            let resolved = !problems[before..]
                .iter()
                .any(|p| p.severity == crate::Severity::Error);
            if resolved {
                let _ = slot.set(value.to_json());
            }
        }
        for native in &self.natives {
            let name = native.metadata().name;
            let Some(config) = self.configs.get(&name).and_then(|slot| slot.get()) else {
                continue;
            };
            if let Err(why) = native.configure(config) {
                problems.push(Diagnostic::error(
                    "LHP-PLUGIN-013",
                    format!("native plugin `{name}` refused its settings (plugins.config.{name}): {why}"),
                ));
            }
        }
        problems
    }

    /// Checks every action of a plugin type with its generator's `validate`.
    pub fn validate(&self, project: &LoadedProject) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        for flowgroup in &project.flowgroups {
            for action in &flowgroup.model.actions {
                let Some(type_name) = action.subtype_str() else {
                    continue;
                };
                let Some(generator) = self.registry.get(action.kind, type_name) else {
                    continue;
                };
                if generator.provider() == "builtin" {
                    continue;
                }
                problems.extend(
                    generator
                        .validate(action)
                        .into_iter()
                        .map(|e| crate::generate::to_diagnostic(e, false)),
                );
            }
        }
        problems
    }

    /// Stops every plugin process (a `shutdown`, then a kill after a grace period).
    pub fn shutdown(&self) {
        for client in &self.clients {
            client.shutdown();
        }
    }

    /// The process client of plugin `name`, if it is a process plugin.
    pub fn client(&self, name: &str) -> Option<&Arc<ProcessClient>> {
        self.clients.iter().find(|c| c.name() == name)
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn candidate_from_describe(
    described: Describe,
    origin: String,
    client: &Arc<ProcessClient>,
) -> Candidate {
    let mut problems = Vec::new();
    let mut generators: Vec<Arc<dyn Generator>> = Vec::new();
    for provided in &described.provides {
        match ActionKind::parse(&provided.kind).filter(|k| *k != ActionKind::Test) {
            Some(kind) => {
                generators.push(Arc::new(ProcessGenerator {
                    client: Arc::clone(client),
                    plugin: described.name.clone(),
                    kind,
                    type_name: provided.type_name.clone(),
                    example: provided.example.clone(),
                }));
            }
            None => problems.push(format!(
                "it provides type `{}` of unknown kind {:?} (load, transform or write)",
                provided.type_name, provided.kind
            )),
        }
    }
    let hooks: Vec<Arc<dyn Hook>> = if described.events.is_empty() {
        Vec::new()
    } else {
        vec![Arc::new(ProcessHook {
            client: Arc::clone(client),
            plugin: described.name.clone(),
            globs: described.events.clone(),
        })]
    };
    Candidate {
        info: PluginInfo {
            metadata: PluginMetadata {
                name: described.name,
                version: described.version,
                description: described.description,
                author: described.author,
                requires_lhp_version: described.requires_lhp_version,
                dependencies: described.dependencies,
            },
            kind: PluginKind::Process,
            origin,
            provides: Vec::new(),
            events: Vec::new(),
            status: PluginStatus::Active,
        },
        generators,
        hooks,
        problems,
    }
}

/// Replaces `${NAME}` in every string of `value` with the environment variable, and the
/// secret placeholders with their `${secret:scope/key}` form.
/// Replaces `${NAME}` in every string of `value` with the environment variable, and secret
/// placeholders with `${secret:scope/key}`; a name that is not set is an error (`code`) naming
/// `setting`, and stays as written.
pub(crate) fn resolve_env(
    value: &mut Value,
    env_var: &dyn Fn(&str) -> Option<String>,
    placeholders: &[(String, String)],
    setting: &str,
    code: &'static str,
    problems: &mut Vec<Diagnostic>,
) {
    let span = value.span;
    match &mut value.kind {
        ValueKind::String(text) => {
            for (placeholder, written) in placeholders {
                *text = text.replace(placeholder, written);
            }
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let name = &after[..end];
                let is_env_name = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                match env_var(name).filter(|_| is_env_name) {
                    Some(found) => out.push_str(&found),
                    None => {
                        if is_env_name {
                            problems.push(
                                Diagnostic::error(
                                    code,
                                    format!("{setting}: `${{{name}}}` is neither a substitution token nor a set environment variable"),
                                )
                                .at(span),
                            );
                        }
                        out.push_str(&rest[start..start + 2 + end + 1]);
                    }
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *text = out;
        }
        ValueKind::Seq(items) => {
            for item in items {
                resolve_env(item, env_var, placeholders, setting, code, problems);
            }
        }
        ValueKind::Map(map) => {
            for (_, item) in map.entries_mut() {
                resolve_env(item, env_var, placeholders, setting, code, problems);
            }
        }
        _ => {}
    }
}

/// The template-plugin directories: each configured directory (relative to the project)
/// and `~/.lhp/plugins`, each either a plugin itself or a directory of plugins.
fn template_dirs(options: &DiscoverOptions<'_>) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = options
        .settings
        .directories
        .iter()
        .map(|d| options.root.join(d))
        .collect();
    if let Some(home) = &options.home {
        roots.push(home.join(".lhp").join("plugins"));
    }
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for root in roots {
        let mut add = |dir: PathBuf| {
            let dir = dir.canonicalize().unwrap_or(dir);
            if seen.insert(dir.clone()) {
                found.push(dir);
            }
        };
        if root.join(template::MANIFEST).is_file() {
            add(root);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(template::MANIFEST).is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            add(dir);
        }
    }
    found
}

/// The process plugins to start: `plugins.commands`, then `lhp-plugin-*` on PATH.
fn process_commands(
    options: &DiscoverOptions<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(PathBuf, Vec<String>)> {
    let path_dirs: Vec<PathBuf> = options
        .path
        .as_ref()
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    let mut found: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut seen = BTreeSet::new();
    for command in &options.settings.commands {
        // A path that exists as written is the program, spaces and all.
        let whole = options.root.join(command.trim());
        let (program, args): (&str, Vec<String>) = if whole.is_file() {
            (command.trim(), Vec::new())
        } else {
            let mut words = command.split_whitespace();
            let Some(program) = words.next() else {
                continue;
            };
            (program, words.map(str::to_owned).collect())
        };
        let resolved = if program.contains('/') || program.contains('\\') {
            Some(options.root.join(program)).filter(|p| process::is_executable(p))
        } else {
            path_dirs
                .iter()
                .map(|d| d.join(program))
                .find(|p| process::is_executable(p))
        };
        match resolved {
            Some(path) => {
                let path = path.canonicalize().unwrap_or(path);
                if seen.insert(path.clone()) || !args.is_empty() {
                    found.push((path, args));
                }
            }
            None => problems.push(
                Diagnostic::error(
                    "LHP-PLUGIN-002",
                    format!("plugins.commands: `{program}` is not an executable file"),
                )
                .hint("a path relative to the project, or a command on PATH; check that it is executable (chmod +x)"),
            ),
        }
    }
    if options.settings.discover_path {
        let mut names = BTreeSet::new();
        for dir in &path_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut candidates: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("lhp-plugin-"))
                })
                .collect();
            candidates.sort();
            for path in candidates {
                let name = path.file_name().map(|n| n.to_owned());
                // The first directory on PATH wins, as a shell would choose.
                if !process::is_executable(&path) || !names.insert(name) {
                    continue;
                }
                if seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
                    found.push((path, Vec::new()));
                }
            }
        }
    }
    found
}

/// What process plugins described, by executable (path, size, modification time, args), in
/// `.lhp/plugins.json`.
#[derive(Default)]
struct Cache {
    entries: serde_json::Map<String, serde_json::Value>,
    changed: bool,
}

impl Cache {
    const FILE: &'static str = ".lhp/plugins.json";

    fn read(root: &Path) -> Self {
        let entries = std::fs::read_to_string(root.join(Self::FILE))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v.get("entries").and_then(|e| e.as_object()).cloned())
            .unwrap_or_default();
        Self {
            entries,
            changed: false,
        }
    }

    /// The cache key of a command, and the size and modification time of the program and
    /// of every argument that names a file (`python3 plugin.py`: the script is what changes).
    fn stamp(root: &Path, program: &Path, args: &[String]) -> Option<(String, serde_json::Value)> {
        let file_stamp = |path: &Path| -> Option<serde_json::Value> {
            let meta = std::fs::metadata(path).ok()?;
            let modified = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some(serde_json::json!([
                meta.len(),
                modified.as_nanos().to_string()
            ]))
        };
        let mut stamps = vec![file_stamp(program)?];
        stamps.extend(
            args.iter()
                .map(|a| root.join(a))
                .filter(|p| p.is_file())
                .filter_map(|p| file_stamp(&p)),
        );
        let key = std::iter::once(program.display().to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join("\u{1f}");
        Some((key, serde_json::Value::Array(stamps)))
    }

    fn get(&self, stamp: Option<&(String, serde_json::Value)>) -> Option<Describe> {
        let (key, stamp) = stamp?;
        let entry = self.entries.get(key)?;
        if entry.get("stamp") != Some(stamp)
            || entry.get("lhp") != Some(&lhp_plugin::LHP_VERSION.into())
        {
            return None;
        }
        serde_json::from_value(entry.get("describe")?.clone()).ok()
    }

    fn put(&mut self, (key, stamp): (String, serde_json::Value), described: Describe) {
        self.entries.insert(
            key,
            serde_json::json!({ "stamp": stamp, "lhp": lhp_plugin::LHP_VERSION, "describe": described }),
        );
        self.changed = true;
    }

    /// Writes the cache if it changed; a cache that cannot be written is only a slower next run.
    fn write(&self, root: &Path) {
        if !self.changed {
            return;
        }
        let text = serde_json::to_string_pretty(
            &serde_json::json!({ "version": 1, "entries": self.entries }),
        )
        .unwrap_or_default();
        let _ = crate::generate::write_atomically(&root.join(Self::FILE), text.as_bytes());
    }
}

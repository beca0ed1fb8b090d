//! `lhp generate`'s memory of its last run (`.lhp/generate/<env>.json`): what decides
//! whether a run has anything to do, and what it records for the next one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lhp_orchestrator::generate::Generated;
use lhp_orchestrator::incremental::{
    directories, hash_bytes, listing, project_files, stamp_after_run, FlowgroupRecord, Hasher,
    State,
};
use lhp_orchestrator::load::LoadedProject;
use lhp_orchestrator::plugins::PluginHost;
use lhp_plugin::{Plugin, PluginKind};
use xxhash_rust::xxh3::Xxh3;

use crate::cli::GenerateArgs;

/// The settings of a run that shape what it writes: when any differs from the last run's,
/// the run cannot be skipped as a whole.
pub(crate) fn run_key(
    root: &Path,
    args: &GenerateArgs,
    env_dir: &Path,
    natives: &[Arc<dyn Plugin>],
) -> BTreeMap<String, String> {
    let mut key = BTreeMap::new();
    let mut put = |name: &str, value: String| {
        key.insert(name.to_owned(), value);
    };
    put("lhp_version", env!("CARGO_PKG_VERSION").to_owned());
    put("root", root.display().to_string());
    put("env", args.env.clone());
    put("include_tests", args.include_tests.to_string());
    put("pipeline", args.pipeline.clone().unwrap_or_default());
    put("output", env_dir.display().to_string());
    put(
        "pipeline_config",
        args.pipeline_config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    put("no_bundle", args.no_bundle.to_string());
    let natives: Vec<String> = natives
        .iter()
        .map(|p| {
            let metadata = p.metadata();
            format!("{}@{}", metadata.name, metadata.version)
        })
        .collect();
    put("natives", natives.join(","));
    // Where plugins are found.
    for name in ["PATH", "HOME"] {
        put(name, std::env::var(name).unwrap_or_default());
    }
    key
}

/// The directories left out of the project's files: the output directory (all
/// environments), and the default one (runs into it are not inputs of runs elsewhere).
/// `None` when the project lies inside the output directory: then no run is skipped as a
/// whole.
pub(crate) fn skipped(root: &Path, out_dir: &Path) -> Option<Vec<PathBuf>> {
    (!root.starts_with(out_dir)).then(|| vec![out_dir.to_path_buf(), root.join("generated")])
}

/// The directories where process and template plugins are found, with the prefix of the
/// names that matter in each.
fn plugin_dirs() -> BTreeMap<String, (String, String)> {
    let mut dirs = BTreeMap::new();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let names = listing(&dir, "lhp-plugin-");
            dirs.insert(dir.display().to_string(), ("lhp-plugin-".to_owned(), names));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let dir = PathBuf::from(home).join(".lhp/plugins");
        let names = listing(&dir, "");
        dirs.insert(dir.display().to_string(), (String::new(), names));
    }
    dirs
}

/// The settings every flowgroup's fingerprint includes: lhp's version, the environment,
/// `lhp.yaml` (metadata columns, event log, ...), and every generator with its provider and
/// its plugin's files. Also the hashes of the plugin files it read.
pub(crate) fn fingerprint_context(
    args: &GenerateArgs,
    project: &LoadedProject,
    host: &PluginHost,
) -> (String, BTreeMap<PathBuf, String>) {
    let mut read = BTreeMap::new();
    let project_file = source_hash(project, Path::new(lhp_orchestrator::project::PROJECT_FILE));
    let mut generators: Vec<String> = host
        .registry
        .generators()
        .map(|g| format!("{}.{}:{}", g.kind(), g.type_name(), g.provider()))
        .collect();
    generators.sort();
    // A plugin's version, and its files: a template edited without a new version still
    // changes the code it writes.
    let plugins: Vec<String> = host
        .plugins
        .iter()
        .map(|p| {
            let origin = Path::new(&p.origin);
            let files = match p.kind {
                PluginKind::Template => project_files(origin, &[]),
                PluginKind::Process => vec![origin.to_path_buf()],
                PluginKind::Builtin | PluginKind::Native => Vec::new(),
            };
            let mut contents = Xxh3::new();
            for file in files {
                let bytes = std::fs::read(&file).unwrap_or_default();
                contents.update(file.to_string_lossy().as_bytes());
                contents.update(&bytes);
                read.insert(file, hash_bytes(&bytes));
            }
            format!(
                "{}@{}:{:032x}",
                p.metadata.name,
                p.metadata.version,
                contents.digest128()
            )
        })
        .collect();
    let context = format!(
        "{}|{}|{}|{project_file}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        args.env,
        args.include_tests,
        generators.join(","),
        plugins.join(",")
    );
    (context, read)
}

/// The hash of the environment's tokens (its substitutions file as read).
pub(crate) fn substitutions_hash(project: &LoadedProject, env: &str) -> String {
    source_hash(
        project,
        &Path::new("substitutions").join(format!("{env}.yaml")),
    )
}

/// The hash of the text the run read from `path` (relative to the root); empty if unread.
fn source_hash(project: &LoadedProject, path: &Path) -> String {
    project
        .sources
        .files()
        .iter()
        .find(|f| f.path == path)
        .map(|f| hash_bytes(f.text.as_bytes()))
        .unwrap_or_default()
}

/// What a finished run tells the state.
pub(crate) struct Finished<'a> {
    pub(crate) root: &'a Path,
    pub(crate) env_dir: &'a Path,
    pub(crate) skip: Option<&'a [PathBuf]>,
    pub(crate) key: BTreeMap<String, String>,
    pub(crate) started: u128,
    pub(crate) project: &'a LoadedProject,
    pub(crate) host: &'a PluginHost,
    pub(crate) generated: &'a Generated,
    /// Files the run wrote around the code, relative to the root.
    pub(crate) around_written: &'a [PathBuf],
    /// Plugin files read for the fingerprints, with their hashes.
    pub(crate) plugin_files: &'a BTreeMap<PathBuf, String>,
    /// Whether the run ended without errors.
    pub(crate) clean: bool,
    pub(crate) warnings: Vec<String>,
    pub(crate) pipelines: usize,
    pub(crate) flowgroups: usize,
    /// What each flowgroup generated depended on (taken from `generated`).
    pub(crate) records: BTreeMap<String, FlowgroupRecord>,
    /// Under `--pipeline`: that pipeline (other pipelines' records are kept).
    pub(crate) scope: Option<&'a str>,
}

/// `path` with every symbolic link resolved, like `canonicalize`, but resolving each
/// directory once (`dirs` remembers them): a run reads thousands of files from a few
/// dozen directories, and resolving each whole path cost a system call per component.
fn real_path(path: &Path, dirs: &mut HashMap<PathBuf, Option<PathBuf>>) -> Option<PathBuf> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return path.canonicalize().ok();
    };
    if path.symlink_metadata().ok()?.file_type().is_symlink() {
        return path.canonicalize().ok();
    }
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let real_parent = dirs
        .entry(parent.to_path_buf())
        .or_insert_with(|| parent.canonicalize().ok())
        .as_ref()?;
    Some(real_parent.join(name))
}

/// The state after a run: its inputs, outputs and flowgroups, stamped.
pub(crate) fn record(run: Finished<'_>, previous: Option<&State>) -> State {
    let hasher = previous.map_or_else(Hasher::default, |p| {
        Hasher::new(vec![&p.inputs, &p.outputs])
    });
    let root = run.root;
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    // What the run used of each file it read: the text it parsed, or what generators read.
    // Hashed, not ordered: what is recorded from them is keyed by text and sorted there, and
    // ordered paths compare component by component (a visible share of a large run's end).
    let mut used: HashMap<PathBuf, String> = HashMap::new();
    for file in run
        .project
        .sources
        .files()
        .iter()
        .chain(run.host.sources.files())
    {
        used.insert(root.join(&file.path), hash_bytes(file.text.as_bytes()));
    }
    for record in run.records.values() {
        for (path, hash) in &record.dependencies.files {
            if let Some(hash) = hash {
                used.insert(root.join(path), hash.clone());
            }
        }
    }
    for (path, hash) in run.plugin_files {
        used.insert(path.clone(), hash.clone());
    }
    let written: HashSet<PathBuf> = run.around_written.iter().map(|p| root.join(p)).collect();
    let mut state = State {
        key: run.key.clone(),
        env_vars: crate::cli::env_reads(),
        watched_dirs: plugin_dirs(),
        counts: (run.flowgroups, run.pipelines),
        warnings: run.warnings.clone(),
        ..State::default()
    };
    let stamp = |path: &Path| {
        stamp_after_run(
            path,
            used.get(path).map(String::as_str),
            written.contains(path),
            run.started,
            &hasher,
        )
    };
    if let Some(skip) = run.skip {
        for path in project_files(root, skip) {
            if let Some(stamp) = stamp(&path) {
                state.inputs.insert(path.display().to_string(), stamp);
            }
        }
    }
    // Files read outside the project, template plugins' files among them.
    let mut real_dirs = HashMap::new();
    // In a fixed order: two paths may lead to one real file, and the last one stamps it.
    let mut used_paths: Vec<&PathBuf> = used.keys().collect();
    used_paths.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    for path in used_paths {
        // Kept by their real path: the next run tells them from the project's files by it.
        let Some(real) = real_path(path, &mut real_dirs) else {
            continue;
        };
        if real.starts_with(&canonical_root) {
            continue;
        }
        let used = used.get(path).map(String::as_str);
        if let Some(stamp) = stamp_after_run(&real, used, false, run.started, &hasher) {
            state.inputs.insert(real.display().to_string(), stamp);
        }
    }
    // The generated code, with the hashes of what was written.
    let mut outputs: HashMap<PathBuf, Option<String>> = run
        .generated
        .files
        .iter()
        .map(|(path, text)| (path.clone(), Some(hash_bytes(text.as_bytes()))))
        .collect();
    for record in run.records.values() {
        for (path, hash) in &record.outputs {
            outputs
                .entry(PathBuf::from(path))
                .or_insert_with(|| Some(hash.clone()));
        }
    }
    for path in run
        .generated
        .kept
        .iter()
        .chain(run.generated.modules.keys())
    {
        outputs.entry(path.clone()).or_insert(None);
    }
    for (path, hash) in outputs {
        let full = run.env_dir.join(&path);
        if let Some(stamp) = stamp_after_run(&full, hash.as_deref(), true, run.started, &hasher) {
            state.outputs.insert(full.display().to_string(), stamp);
        }
    }
    for dir in directories(run.env_dir) {
        state
            .output_dirs
            .insert(dir.display().to_string(), listing(&dir, ""));
    }
    state.flowgroups = run.records;
    if let (Some(pipeline), Some(previous)) = (run.scope, previous) {
        for (key, record) in &previous.flowgroups {
            if !key.starts_with(&format!("{pipeline}/")) {
                state
                    .flowgroups
                    .entry(key.clone())
                    .or_insert_with(|| record.clone());
            }
        }
    }
    // A process plugin's behaviour may hang on files lhp cannot see; templates are files.
    let own_plugins_only = run
        .host
        .plugins
        .iter()
        .all(|p| p.kind != PluginKind::Process);
    state.whole_run = run.clean && run.skip.is_some() && own_plugins_only;
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn real_paths_agree_with_canonicalize_through_links() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        let made = |path: &Path| std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("{e}"));
        made(&root.join("project/pipelines"));
        made(&root.join("outside/shared"));
        std::fs::write(root.join("project/pipelines/a.yaml"), "x")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("outside/shared/b.sql"), "y").unwrap_or_else(|e| panic!("{e}"));
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(root.join(target), root.join(at))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        link("outside/shared", "project/linked_dir");
        link("outside/shared/b.sql", "project/pipelines/linked.sql");
        let mut dirs = HashMap::new();
        for relative in [
            "project/pipelines/a.yaml",
            "project/pipelines/../pipelines/a.yaml",
            "project/linked_dir/b.sql",
            "project/pipelines/linked.sql",
            "project/pipelines/missing.yaml",
            "project/linked_dir/missing.sql",
        ] {
            let path = root.join(relative);
            assert_eq!(
                real_path(&path, &mut dirs),
                path.canonicalize().ok(),
                "{relative}"
            );
        }
        // Each directory resolved once.
        assert!(dirs.len() <= 3, "{dirs:?}");
    }
}

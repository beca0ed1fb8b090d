//! The files `lhp generate` writes around the code: event-log monitoring (the union
//! notebook and its job) and, in a bundle, one pipeline resource per generated pipeline.
//! Everything that can be checked is checked before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lhp_orchestrator::bundle::{self, PipelineConfig};
use lhp_orchestrator::load::LoadedProject;
use lhp_orchestrator::monitoring;
use lhp_orchestrator::Diagnostic;
use lhp_plugin::Value;

use crate::cli::GenerateArgs;

/// What was decided before generating, for writing after.
#[derive(Default)]
pub(crate) struct Plan {
    /// The pipelines whose event logs monitoring reads (empty: no monitoring files).
    monitored: Vec<String>,
    /// Whether the monitoring pipeline has views (its job then runs it).
    monitoring_has_views: bool,
    /// In a bundle, each pipeline's resource settings, merged and substituted.
    bundle: Option<BTreeMap<String, Value>>,
    /// The monitoring notebook and job, rendered.
    monitoring_files: Vec<(PathBuf, String)>,
}

/// What decides the files around the code: the command line's bundle options.
pub(crate) struct BundleOptions<'a> {
    /// The environment.
    pub(crate) env: &'a str,
    /// `-pc`: the pipeline config, relative to the root.
    pub(crate) pipeline_config: Option<&'a Path>,
    /// `--no-bundle`: no bundle resources even with a databricks.yml.
    pub(crate) no_bundle: bool,
}

impl BundleOptions<'_> {
    /// The `lhp validate` that makes the checks a command with these options makes.
    pub(crate) fn validate_command(&self) -> String {
        let mut command = format!("lhp validate --env {}", self.env);
        if let Some(config) = self.pipeline_config {
            command.push_str(&format!(" -pc {}", config.display()));
        }
        if self.no_bundle {
            command.push_str(" --no-bundle");
        }
        command
    }
}

impl<'a> From<&'a GenerateArgs> for BundleOptions<'a> {
    fn from(args: &'a GenerateArgs) -> Self {
        Self {
            env: &args.env,
            pipeline_config: args.pipeline_config.as_deref(),
            no_bundle: args.no_bundle,
        }
    }
}

/// Reads the pipeline config, decides what monitoring covers, and checks every bundle
/// resource's settings. Problems go to `diagnostics`; errors stop the run before writing.
pub(crate) fn plan(
    root: &Path,
    args: &BundleOptions<'_>,
    project: &mut LoadedProject,
    diagnostics: &mut Vec<Diagnostic>,
) -> Plan {
    let mut plan = Plan::default();
    let Some(config) = project.config.clone() else {
        return plan;
    };
    let monitoring_pipeline = monitoring::pipeline_name(&config);
    let bundle_on = !args.no_bundle && bundle::is_bundle(root);
    let pipeline_config = args.pipeline_config.and_then(|path| {
        PipelineConfig::load(
            root,
            path,
            monitoring_pipeline.as_deref(),
            &mut project.sources,
            diagnostics,
        )
    });
    if bundle_on && args.pipeline_config.is_none() {
        diagnostics.push(
            Diagnostic::error(
                "LHP-CFG-023",
                "this project is a bundle (it has a databricks.yml): its pipeline resources need a pipeline config",
            )
            .hint("give it with -pc/--pipeline-config FILE, or skip the resources with --no-bundle"),
        );
    }
    if let Some(name) = &monitoring_pipeline {
        plan.monitored =
            monitoring::monitored_pipelines(&project.pipelines, name, pipeline_config.as_ref());
        plan.monitoring_has_views = monitoring::flowgroup(&config).is_some();
        // As in the reference, the union reads every event log by the project's naming.
        for pipeline in &plan.monitored {
            let own = pipeline_config
                .as_ref()
                .and_then(|pc| pc.pipelines.get(pipeline))
                .and_then(Value::as_map)
                .and_then(|settings| settings.get("event_log"))
                .filter(|log| log.as_map().is_some());
            if let Some(own) = own {
                diagnostics.push(
                    Diagnostic::warning(
                        "LHP-CFG-009",
                        format!("pipeline `{pipeline}` names its own event log, but the monitoring union reads event logs by lhp.yaml's `event_log` naming"),
                    )
                    .at(own.span)
                    .hint("drop the pipeline's own `event_log` to have it monitored, or set `event_log: false` to leave it out"),
                );
            }
        }
        if plan.monitored.is_empty() {
            project.flowgroups.retain(|f| {
                !(f.pipeline() == name && f.name() == monitoring::MONITORING_FLOWGROUP)
            });
        }
        plan.monitoring_files = monitoring::files(
            root,
            args.env,
            &config,
            &project.substitutions,
            &plan.monitored,
            plan.monitoring_has_views,
            &mut project.sources,
            diagnostics,
        );
    }
    if let Some(pipeline_config) = &pipeline_config {
        warn_unknown_pipelines(
            pipeline_config,
            &project.pipelines,
            monitoring_pipeline.as_deref(),
            diagnostics,
        );
    }
    let (true, Some(pipeline_config)) = (bundle_on, pipeline_config) else {
        return plan;
    };
    let mut pipelines = project.pipelines.clone();
    if let (Some(name), false) = (&monitoring_pipeline, plan.monitored.is_empty()) {
        if plan.monitoring_has_views {
            pipelines.insert(name.clone());
        }
    }
    let mut settings = BTreeMap::new();
    for pipeline in pipelines {
        let is_monitoring = monitoring_pipeline.as_deref() == Some(pipeline.as_str());
        let merged = pipeline_config.settings_for(
            &pipeline,
            config.settings.event_log.as_ref(),
            is_monitoring,
            &project.substitutions,
            diagnostics,
        );
        if bundle::check_resource_settings(&pipeline, &merged, diagnostics) {
            settings.insert(pipeline, merged);
        }
    }
    plan.bundle = Some(settings);
    plan
}

/// What writing the files around the code did, paths relative to the project root.
#[derive(Default)]
pub(crate) struct Written {
    /// Files written.
    pub(crate) written: Vec<PathBuf>,
    /// Files already as they should be.
    pub(crate) unchanged: usize,
    /// Files of earlier runs removed.
    pub(crate) removed: Vec<PathBuf>,
    /// Hand-written files left where lhp would have written.
    pub(crate) kept: Vec<PathBuf>,
    /// Without `apply`: the text each of `written` would get.
    pub(crate) texts: BTreeMap<PathBuf, String>,
}

/// Writes the monitoring files and, in a bundle, syncs `resources/lhp/` with the pipelines
/// that have code in the output (`has_code`). Without `apply`, only reports what it would do.
pub(crate) fn write(
    root: &Path,
    env: &str,
    has_code: &dyn Fn(&str) -> bool,
    plan: &Plan,
    apply: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::io::Result<Written> {
    let mut done = Written::default();
    let report = monitoring::write_files(root, env, &plan.monitoring_files, apply)?;
    if !apply {
        done.texts.extend(
            plan.monitoring_files
                .iter()
                .filter(|(path, _)| report.written.contains(path))
                .cloned(),
        );
    }
    done.written.extend(report.written);
    done.unchanged += report.unchanged;
    done.removed.extend(report.removed);
    done.kept.extend(report.kept);
    let Some(settings) = &plan.bundle else {
        return Ok(done);
    };
    // A resource per pipeline whose code is in the output (this run's, or an earlier one's
    // for pipelines a --pipeline run did not touch).
    let mut resources = BTreeMap::new();
    for (pipeline, merged) in settings {
        if has_code(pipeline) {
            let text = bundle::pipeline_resource(pipeline, merged, diagnostics);
            resources.insert(pipeline.clone(), text);
        }
    }
    let report = bundle::sync_resources(root, &resources, apply)?;
    if !apply {
        for (pipeline, text) in resources {
            let path = bundle::resource_path(&pipeline);
            if report.written.contains(&path) {
                done.texts.insert(path, text);
            }
        }
    }
    done.written.extend(report.written);
    done.unchanged += report.unchanged;
    done.removed.extend(report.removed);
    done.kept.extend(report.kept);
    Ok(done)
}

/// A pipeline config document naming no pipeline of the project is most likely a typo: the
/// pipeline it meant then gets only the defaults.
fn warn_unknown_pipelines(
    pipeline_config: &PipelineConfig,
    pipelines: &std::collections::BTreeSet<String>,
    monitoring_pipeline: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let known: Vec<&str> = pipelines
        .iter()
        .map(String::as_str)
        .chain(monitoring_pipeline)
        .collect();
    for (name, settings) in &pipeline_config.pipelines {
        if known.contains(&name.as_str()) {
            continue;
        }
        let mut warning = Diagnostic::warning(
            "LHP-CFG-009",
            format!(
                "the pipeline config configures `{name}`, which is not a pipeline of this project"
            ),
        )
        .at(settings.span);
        if let Some(guess) = lhp_orchestrator::flowgroup::did_you_mean(name, &known) {
            warning = warning.hint(format!("did you mean `{guess}`?"));
        }
        diagnostics.push(warning);
    }
}

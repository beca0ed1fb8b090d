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
}

/// Reads the pipeline config, decides what monitoring covers, and checks every bundle
/// resource's settings. Problems go to `diagnostics`; errors stop the run before writing.
pub(crate) fn plan(
    root: &Path,
    args: &GenerateArgs,
    project: &mut LoadedProject,
    diagnostics: &mut Vec<Diagnostic>,
) -> Plan {
    let mut plan = Plan::default();
    let Some(config) = project.config.clone() else {
        return plan;
    };
    let monitoring_pipeline = monitoring::pipeline_name(&config);
    let bundle_on = !args.no_bundle && bundle::is_bundle(root);
    let pipeline_config = args.pipeline_config.as_ref().and_then(|path| {
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
        if plan.monitored.is_empty() {
            project.flowgroups.retain(|f| {
                !(f.pipeline() == name && f.name() == monitoring::MONITORING_FLOWGROUP)
            });
        }
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
}

/// Writes the monitoring files and, in a bundle, syncs `resources/lhp/` with the pipeline
/// directories of `env_dir`.
pub(crate) fn write(
    root: &Path,
    env: &str,
    env_dir: &Path,
    plan: &Plan,
    project: &mut LoadedProject,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::io::Result<Written> {
    let mut done = Written::default();
    if let Some(config) = project.config.clone() {
        let report = monitoring::write_files(
            root,
            env,
            &config,
            &project.substitutions,
            &plan.monitored,
            plan.monitoring_has_views,
            &mut project.sources,
            diagnostics,
        )?;
        done.written.extend(report.written);
        done.unchanged += report.unchanged;
        done.removed.extend(report.removed);
    }
    let Some(settings) = &plan.bundle else {
        return Ok(done);
    };
    let mut generated: Vec<String> = match std::fs::read_dir(env_dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with(['_', '.']))
            .collect(),
        Err(_) => Vec::new(),
    };
    generated.sort();
    let mut resources = BTreeMap::new();
    for pipeline in generated {
        if let Some(merged) = settings.get(&pipeline) {
            let text = bundle::pipeline_resource(&pipeline, merged, diagnostics);
            resources.insert(pipeline, text);
        }
    }
    let report = bundle::sync_resources(root, &resources)?;
    done.written.extend(report.written);
    done.unchanged += report.unchanged;
    done.removed.extend(report.removed);
    done.kept.extend(report.kept);
    Ok(done)
}

//! The tables a project declares, remembered from one run to the next in
//! `.lhp/tables.json`, so that a run can say which tables are new (`table.created`) and which
//! got a different generated definition (`table.updated`).
//!
//! The state is kept per environment: `{"version": 1, "environments": {"dev": {"<table>":
//! {"fingerprint", "pipeline", "flowgroup", "action"}}}}`. A run replaces what it generated and
//! keeps the rest: other pipelines' tables under `--pipeline`, and the tables of flowgroups
//! that failed, which keep their last known definition until they generate again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generate::Generated;

/// Where the state lives, under the project root.
pub const STATE_FILE: &str = ".lhp/tables.json";

/// What a run found new or changed about a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableChange {
    /// True for a table the previous run did not have, false for a changed definition.
    pub created: bool,
    /// The table's full name.
    pub table: String,
    /// Its pipeline.
    pub pipeline: String,
    /// Its flowgroup.
    pub flowgroup: String,
    /// The write action that creates it.
    pub action: String,
    /// The fingerprint of its definition now.
    pub fingerprint: String,
    /// The fingerprint the previous run recorded, for an update.
    pub previous: Option<String>,
}

/// What is remembered of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TableRecord {
    fingerprint: String,
    pipeline: String,
    flowgroup: String,
    action: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    #[serde(default)]
    environments: BTreeMap<String, BTreeMap<String, TableRecord>>,
}

/// Why the state could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum TableStateError {
    /// Writing it failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The state file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Compares what `generated` declares for `env` with the previous run's state, records the
/// new state, and returns the changes in flowgroup order. `scope` limits the run to some
/// pipelines (their tables alone are replaced). An unreadable or damaged state file counts as
/// no previous run.
pub fn track_tables(
    root: &Path,
    env: &str,
    generated: &Generated,
    scope: Option<&[String]>,
) -> Result<Vec<TableChange>, TableStateError> {
    let path = root.join(STATE_FILE);
    let mut state: State = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(|state: &State| state.version == 1)
        .unwrap_or_default();
    state.version = 1;
    let previous = state.environments.remove(env).unwrap_or_default();
    let in_scope = |pipeline: &str| scope.is_none_or(|s| s.iter().any(|p| p == pipeline));
    let mut next: BTreeMap<String, TableRecord> = previous
        .iter()
        .filter(|(_, record)| {
            !in_scope(&record.pipeline)
                || generated
                    .failed_flowgroups
                    .contains(&(record.pipeline.clone(), record.flowgroup.clone()))
        })
        .map(|(name, record)| (name.clone(), record.clone()))
        .collect();
    let mut changes = Vec::new();
    for (pipeline, flowgroup, table) in &generated.tables {
        let before = previous.get(&table.name).map(|r| r.fingerprint.clone());
        if before.as_deref() != Some(table.fingerprint.as_str()) {
            changes.push(TableChange {
                created: before.is_none(),
                table: table.name.clone(),
                pipeline: pipeline.clone(),
                flowgroup: flowgroup.clone(),
                action: table.action.clone(),
                fingerprint: table.fingerprint.clone(),
                previous: before,
            });
        }
        next.insert(
            table.name.clone(),
            TableRecord {
                fingerprint: table.fingerprint.clone(),
                pipeline: pipeline.clone(),
                flowgroup: flowgroup.clone(),
                action: table.action.clone(),
            },
        );
    }
    if next != previous {
        state.environments.insert(env.to_owned(), next);
        let mut text = serde_json::to_string_pretty(&state).unwrap_or_default();
        text.push('\n');
        crate::generate::write_atomically(&path, text.as_bytes())
            .map_err(|source| TableStateError::Write { path, source })?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lhp_generators::TableDefinition;

    fn declared(tables: &[(&str, &str, &str, &str)]) -> Generated {
        Generated {
            tables: tables
                .iter()
                .map(|(pipeline, flowgroup, name, fingerprint)| {
                    (
                        (*pipeline).to_owned(),
                        (*flowgroup).to_owned(),
                        TableDefinition {
                            name: (*name).to_owned(),
                            action: format!("write_{name}"),
                            fingerprint: (*fingerprint).to_owned(),
                        },
                    )
                })
                .collect(),
            ..Generated::default()
        }
    }

    fn kinds(changes: &[TableChange]) -> Vec<(bool, &str)> {
        changes
            .iter()
            .map(|c| (c.created, c.table.as_str()))
            .collect()
    }

    #[test]
    fn created_then_unchanged_then_updated_per_environment() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = root.path();
        let first = declared(&[("p", "f", "c.s.a", "1"), ("p", "g", "c.s.b", "2")]);
        let changes = track_tables(root, "dev", &first, None).unwrap_or_default();
        assert_eq!(kinds(&changes), vec![(true, "c.s.a"), (true, "c.s.b")]);
        assert!(track_tables(root, "dev", &first, None)
            .unwrap_or_default()
            .is_empty());
        let changed = declared(&[("p", "f", "c.s.a", "1"), ("p", "g", "c.s.b", "3")]);
        let changes = track_tables(root, "dev", &changed, None).unwrap_or_default();
        assert_eq!(kinds(&changes), vec![(false, "c.s.b")]);
        assert_eq!(changes[0].previous.as_deref(), Some("2"));
        // Another environment has its own memory.
        let changes = track_tables(root, "prod", &changed, None).unwrap_or_default();
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn failed_flowgroups_and_other_pipelines_keep_their_tables() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = root.path();
        let all = declared(&[("p", "f", "c.s.a", "1"), ("q", "g", "c.s.b", "2")]);
        track_tables(root, "dev", &all, None).unwrap_or_default();
        // Only pipeline p, whose flowgroup failed: nothing is forgotten.
        let mut failed = declared(&[]);
        failed
            .failed_flowgroups
            .insert(("p".to_owned(), "f".to_owned()));
        let scope = ["p".to_owned()];
        assert!(track_tables(root, "dev", &failed, Some(&scope))
            .unwrap_or_default()
            .is_empty());
        assert!(track_tables(root, "dev", &all, None)
            .unwrap_or_default()
            .is_empty());
        // A table that is gone is forgotten: declaring it again is a creation.
        let without_a = declared(&[("q", "g", "c.s.b", "2")]);
        track_tables(root, "dev", &without_a, None).unwrap_or_default();
        let changes = track_tables(root, "dev", &all, None).unwrap_or_default();
        assert_eq!(kinds(&changes), vec![(true, "c.s.a")]);
    }

    #[test]
    fn a_damaged_state_file_counts_as_no_previous_run() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = root.path();
        std::fs::create_dir_all(root.join(".lhp")).unwrap_or_default();
        std::fs::write(root.join(STATE_FILE), "{not json").unwrap_or_default();
        let changes =
            track_tables(root, "dev", &declared(&[("p", "f", "t", "1")]), None).unwrap_or_default();
        assert_eq!(kinds(&changes), vec![(true, "t")]);
    }
}

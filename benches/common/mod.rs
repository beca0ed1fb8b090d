//! A synthetic project for the benches and `scripts/bench-vs-reference.sh`, in a realistic
//! mix of twenty shapes' worth per twenty flowgroups:
//!
//! - 6: cloudfiles ingests made from a template (JSON or CSV) that applies a preset;
//! - 3: delta stream -> inline SQL transform -> streaming table, with a preset that extends
//!   another and flowgroup variables;
//! - 2: the same with the SQL in a file (`sql_path`);
//! - 2: CDC streaming tables (SCD type 1 and 2) fed by a delta stream;
//! - 2: SQL loads -> materialized views;
//! - 3: materialized views with their own SQL;
//! - 2: data-quality transforms with an expectations file.
//!
//! Substitutions per environment (`dev`); 200 flowgroups per pipeline and kind.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Writes a synthetic project of `flowgroups` flowgroups under `dir`, replacing what was there.
pub fn write_project(dir: &Path, flowgroups: usize) -> io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let write = |path: &str, text: &str| -> io::Result<()> {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)
    };
    write(
        "lhp.yaml",
        "name: synthetic\nversion: \"1.0\"\nrequired_lhp_version: \">=0.9\"\n",
    )?;
    write(
        "substitutions/dev.yaml",
        "dev:\n  catalog: synth\n  bronze: bronze\n  silver: silver\n  gold: gold\n  landing: /Volumes/synth/landing\nsecrets:\n  default_scope: synth\n",
    )?;
    write("presets/bronze.yaml", "name: bronze\nversion: \"1.0\"\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {layer: bronze, delta.enableChangeDataFeed: \"true\"}\n")?;
    write("presets/silver.yaml", "name: silver\nversion: \"1.0\"\nextends: bronze\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {layer: silver}\n")?;
    write(
        "templates/ingest.yaml",
        "name: ingest\nversion: \"1.0\"\npresets: [bronze]\nparameters:\n  - {name: entity, required: true}\n  - {name: format, default: json}\nactions:\n  - name: \"load_{{ entity }}\"\n    type: load\n    readMode: stream\n    source:\n      type: cloudfiles\n      path: \"${landing}/{{ entity }}\"\n      format: \"{{ format }}\"\n      options:\n        cloudFiles.inferColumnTypes: \"true\"\n    target: \"v_{{ entity }}\"\n  - name: \"write_{{ entity }}\"\n    type: write\n    source: \"v_{{ entity }}\"\n    write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${bronze}\", table: \"{{ entity }}\"}\n",
    )?;
    write(
        "expectations/basic.json",
        "[{\"name\": \"id_present\", \"expression\": \"id IS NOT NULL\", \"failureAction\": \"drop\"},\n {\"name\": \"recent\", \"expression\": \"updated_at > '2020-01-01'\", \"failureAction\": \"warn\"}]\n",
    )?;
    for k in 0..5 {
        write(
            &format!("sql/clean_{k}.sql"),
            &format!("SELECT *, current_timestamp() AS cleaned_at\nFROM stream(v_raw)\nWHERE id IS NOT NULL AND region = {k}\n"),
        )?;
    }
    for i in 0..flowgroups {
        let group = i / 200;
        let mut text = String::new();
        let (pipeline, name) = match i % 20 {
            0..=5 => {
                let format = if i % 2 == 0 { "json" } else { "csv" };
                let _ = write!(text, "use_template: ingest\ntemplate_parameters:\n  entity: entity_{i}\n  format: {format}\n");
                ("ingest", format!("entity_{i}"))
            }
            6..=8 => {
                let _ = write!(
                    text,
                    "presets: [silver]\nvariables:\n  entity: entity_{i}\nactions:\n  - name: load_%{{entity}}\n    type: load\n    readMode: stream\n    source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: \"%{{entity}}\"}}\n    target: v_raw_{i}\n  - name: clean_%{{entity}}\n    type: transform\n    transform_type: sql\n    source: v_raw_{i}\n    target: v_clean_{i}\n    sql: \"SELECT * FROM stream(v_raw_{i}) WHERE id IS NOT NULL\"\n  - name: write_%{{entity}}\n    type: write\n    source: v_clean_{i}\n    write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: \"${{silver}}\", table: \"%{{entity}}\"}}\n"
                );
                ("silver", format!("clean_{i}"))
            }
            9..=10 => {
                let _ = write!(
                    text,
                    "presets: [silver]\nactions:\n  - name: load_{i}\n    type: load\n    readMode: stream\n    source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: entity_{i}}}\n    target: v_raw\n  - name: clean_{i}\n    type: transform\n    transform_type: sql\n    source: v_raw\n    target: v_clean\n    sql_path: sql/clean_{}.sql\n  - name: write_{i}\n    type: write\n    source: v_clean\n    write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: \"${{silver}}\", table: regional_{i}}}\n",
                    i % 5
                );
                ("silver", format!("regional_{i}"))
            }
            11..=12 => {
                let scd = 1 + i % 2;
                let _ = write!(
                    text,
                    "actions:\n  - name: load_changes_{i}\n    type: load\n    readMode: stream\n    source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: entity_{i}, options: {{readChangeFeed: \"true\"}}}}\n    target: v_changes_{i}\n  - name: write_current_{i}\n    type: write\n    source: v_changes_{i}\n    write_target:\n      type: streaming_table\n      mode: cdc\n      catalog: \"${{catalog}}\"\n      schema: \"${{silver}}\"\n      table: current_{i}\n      cdc_config:\n        keys: [id]\n        sequence_by: updated_at\n        scd_type: {scd}\n        except_column_list: [_change_type, _commit_version]\n"
                );
                ("cdc", format!("current_{i}"))
            }
            13..=14 => {
                let _ = write!(
                    text,
                    "actions:\n  - name: load_lookup_{i}\n    type: load\n    source:\n      type: sql\n      sql: |\n        SELECT id, name, region\n        FROM ${{catalog}}.${{silver}}.entity_{i}\n        WHERE active\n    target: v_lookup_{i}\n  - name: write_lookup_{i}\n    type: write\n    source: v_lookup_{i}\n    write_target: {{type: materialized_view, catalog: \"${{catalog}}\", schema: \"${{gold}}\", table: lookup_{i}}}\n"
                );
                ("gold", format!("lookup_{i}"))
            }
            15..=17 => {
                let _ = write!(
                    text,
                    "actions:\n  - name: summary_{i}\n    type: write\n    write_target:\n      type: materialized_view\n      catalog: \"${{catalog}}\"\n      schema: \"${{gold}}\"\n      table: summary_{i}\n      comment: Daily counts for entity {i}\n      sql: \"SELECT date(updated_at) AS day, count(*) AS n FROM ${{catalog}}.${{silver}}.entity_{i} GROUP BY 1\"\n"
                );
                ("gold", format!("summary_{i}"))
            }
            _ => {
                let _ = write!(
                    text,
                    "actions:\n  - {{name: load_{i}, type: load, readMode: stream, source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: entity_{i}}}, target: v_in_{i}}}\n  - {{name: check_{i}, type: transform, transform_type: data_quality, source: v_in_{i}, target: v_ok_{i}, readMode: stream, expectations_file: expectations/basic.json}}\n  - {{name: write_{i}, type: write, source: v_ok_{i}, write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: \"${{silver}}\", table: checked_{i}}}}}\n"
                );
                ("quality", format!("checked_{i}"))
            }
        };
        write(
            &format!("pipelines/{pipeline}_{group:02}/{name}.yaml"),
            &format!("pipeline: {pipeline}_{group:02}\nflowgroup: {name}\n{text}"),
        )?;
    }
    Ok(())
}

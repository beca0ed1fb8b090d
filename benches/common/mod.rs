//! A synthetic project for the benches: flowgroups in four shapes (template-driven
//! cloudfiles ingests, delta -> sql -> streaming table, materialized views with their own SQL,
//! data-quality flows with an expectations file), two presets (one extending the other),
//! substitutions with secrets.

use std::fmt::Write as _;
use std::path::Path;

/// Writes a synthetic project of `flowgroups` flowgroups under `dir`.
pub fn write_project(dir: &Path, flowgroups: usize) {
    let _ = std::fs::remove_dir_all(dir);
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "lhp.yaml",
        "name: synthetic\nrequired_lhp_version: \">=0.9\"\n",
    );
    write(
        "substitutions/dev.yaml",
        "dev:\n  catalog: synth\n  bronze: bronze\n  silver: silver\n  landing: /Volumes/synth/landing\nsecrets:\n  default_scope: synth\n",
    );
    write("presets/bronze.yaml", "name: bronze\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {layer: bronze}\n");
    write("presets/silver.yaml", "name: silver\nextends: bronze\ndefaults:\n  write_actions:\n    streaming_table:\n      table_properties: {layer: silver}\n");
    write(
        "templates/ingest.yaml",
        "name: ingest\npresets: [bronze]\nparameters:\n  - {name: entity, required: true}\n  - {name: format, default: json}\nactions:\n  - name: \"load_{{ entity }}\"\n    type: load\n    source: {type: cloudfiles, path: \"${landing}/{{ entity }}\", format: \"{{ format }}\"}\n    target: \"v_{{ entity }}\"\n  - name: \"write_{{ entity }}\"\n    type: write\n    source: \"v_{{ entity }}\"\n    write_target: {type: streaming_table, catalog: \"${catalog}\", schema: \"${bronze}\", table: \"{{ entity }}\"}\n",
    );
    write(
        "expectations/basic.json",
        "[{\"name\": \"id_present\", \"expression\": \"id IS NOT NULL\", \"failureAction\": \"drop\"}]\n",
    );
    for i in 0..flowgroups {
        let group = i / 200;
        let mut text = String::new();
        match i % 10 {
            0..=3 => {
                let _ = write!(text, "pipeline: ingest_{group}\nflowgroup: entity_{i}\nuse_template: ingest\ntemplate_parameters:\n  entity: entity_{i}\n");
            }
            4..=6 => {
                let _ = write!(
                    text,
                    "pipeline: silver_{group}\nflowgroup: clean_{i}\npresets: [silver]\nvariables:\n  entity: entity_{i}\nactions:\n  - name: load_%{{entity}}\n    type: load\n    readMode: stream\n    source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: \"%{{entity}}\"}}\n    target: v_raw_{i}\n  - name: clean_%{{entity}}\n    type: transform\n    transform_type: sql\n    source: v_raw_{i}\n    target: v_clean_{i}\n    sql: \"SELECT * FROM stream(v_raw_{i}) WHERE id IS NOT NULL\"\n  - name: write_%{{entity}}\n    type: write\n    source: v_clean_{i}\n    write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: \"${{silver}}\", table: \"%{{entity}}\"}}\n"
                );
            }
            7..=8 => {
                let _ = write!(
                    text,
                    "pipeline: gold_{group}\nflowgroup: summary_{i}\nactions:\n  - name: summary_{i}\n    type: write\n    write_target:\n      type: materialized_view\n      catalog: \"${{catalog}}\"\n      schema: gold\n      table: summary_{i}\n      sql: \"SELECT count(*) AS n FROM ${{catalog}}.${{silver}}.entity_{i}\"\n"
                );
            }
            _ => {
                let _ = write!(
                    text,
                    "pipeline: quality_{group}\nflowgroup: checked_{i}\nactions:\n  - {{name: load_{i}, type: load, readMode: stream, source: {{type: delta, catalog: \"${{catalog}}\", schema: \"${{bronze}}\", table: entity_{i}}}, target: v_in_{i}}}\n  - {{name: check_{i}, type: transform, transform_type: data_quality, source: v_in_{i}, target: v_ok_{i}, expectations_file: expectations/basic.json}}\n  - {{name: write_{i}, type: write, source: v_ok_{i}, write_target: {{type: streaming_table, catalog: \"${{catalog}}\", schema: \"${{silver}}\", table: checked_{i}}}}}\n"
                );
            }
        }
        write(&format!("pipelines/group_{group:03}/fg_{i:05}.yaml"), &text);
    }
}

//! Snapshots of what each built-in generator writes, for a few configurations each: a
//! flowgroup written in YAML goes through the registry and the module assembly, with the
//! project's files held in memory.

use std::collections::BTreeMap;

use lhp_generators::{builtin_registry, generate_flowgroup};
use lhp_plugin::{
    load_documents, Action, Flowgroup, GenerateContext, GenerateError, Limits, Map, MetadataColumn,
    Sources, Span,
};

/// A project made of a few in-memory files, with one metadata column (`_ts`) on offer and
/// the secret `ops/db_pw`.
struct Project {
    files: BTreeMap<&'static str, &'static str>,
    fields: Map,
}

impl GenerateContext for Project {
    fn pipeline(&self) -> &str {
        "bronze"
    }
    fn flowgroup(&self) -> &str {
        "fg"
    }
    fn flowgroup_fields(&self) -> &Map {
        &self.fields
    }
    fn read_file(&self, path: &str, at: Span) -> Result<String, GenerateError> {
        self.files
            .get(path)
            .map(|t| (*t).to_owned())
            .ok_or_else(|| GenerateError::new("LHP-IO-001", format!("no file {path}")).at(at))
    }
    fn is_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{path}/");
        self.files.keys().any(|f| f.starts_with(&prefix))
    }
    fn read_substituted(&self, path: &str, at: Span) -> Result<String, GenerateError> {
        self.read_file(path, at)
    }
    fn metadata_columns(&self, action: &Action) -> Result<Vec<MetadataColumn>, GenerateError> {
        let wanted = action
            .field("operational_metadata")
            .and_then(|v| v.as_seq())
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some("_ts")));
        Ok(if wanted {
            vec![MetadataColumn {
                name: "_ts".into(),
                expression: "F.current_timestamp()".into(),
                imports: Vec::new(),
            }]
        } else {
            Vec::new()
        })
    }
    fn metadata_column_names(&self) -> Vec<String> {
        vec!["_ts".into()]
    }
    fn secret(&self, placeholder: &str) -> Option<(String, String)> {
        (placeholder == "__SECRET_ops_db_pw__").then(|| ("ops".into(), "db_pw".into()))
    }
}

/// The module generated for a flowgroup written in YAML (its pipeline is `bronze`).
fn generate(yaml: &str, files: &[(&'static str, &'static str)]) -> String {
    let mut sources = Sources::new();
    let file = sources.add("fg.yaml", yaml);
    let documents = load_documents(file, yaml.as_bytes(), Limits::default()).expect("yaml");
    let flowgroup = Flowgroup::from_value(&documents[0]).expect("flowgroup");
    let project = Project {
        files: files.iter().copied().collect(),
        fields: flowgroup.fields.clone(),
    };
    let outcome = generate_flowgroup(&flowgroup, &builtin_registry(), &project);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let module = outcome.module.expect("a module");
    assert_formatted(&module.text);
    let mut text = module.text;
    for side in module.side_files {
        assert_formatted(&side.text);
        text.push_str(&format!("\n## {}\n{}", side.path, side.text));
    }
    text
}

/// ruff, when this machine has it: `LHP_RUFF`, `ruff` on PATH, or the reference's venv.
fn ruff() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let candidates = [
        std::env::var_os("LHP_RUFF").map(PathBuf::from),
        Some(PathBuf::from("ruff")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lhp-oracle-0.9.3/bin/ruff")),
    ];
    candidates.into_iter().flatten().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// `ruff format` would leave `text` as it is (checked when ruff is installed; CI installs it).
fn assert_formatted(text: &str) {
    use std::io::Write;
    let Some(ruff) = ruff() else {
        eprintln!("no ruff here (set LHP_RUFF): layout not checked");
        return;
    };
    let mut child = std::process::Command::new(ruff)
        .args(["format", "--isolated", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ruff runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("ruff ends");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        text,
        "ruff would reformat this"
    );
}

const HEAD: &str = "pipeline: bronze\nflowgroup: fg\nactions:\n";

#[test]
fn cloudfiles_with_inline_hints_and_format_options() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_rides
    type: load
    operational_metadata: [_ts]
    source:
      type: cloudfiles
      path: /Volumes/landing/rides/
      format: csv
      options:
        cloudFiles.inferColumnTypes: "true"
        cloudFiles.schemaHints: "ride_id BIGINT, fare DECIMAL(10,2), tags ARRAY<STRING>"
      format_options:
        header: "true"
      schema_evolution_mode: addNewColumns
    target: v_rides_raw
  - name: write_rides
    type: write
    source: v_rides_raw
    write_target: {type: streaming_table, catalog: main, schema: bronze, table: rides}
"#
        ),
        &[]
    ));
}

#[test]
fn cloudfiles_with_a_schema_file() {
    insta::assert_snapshot!(generate(
        &format!("{HEAD}{}", r#"
  - name: load_docks
    type: load
    source:
      type: cloudfiles
      path: /Volumes/landing/docks/
      schema: schemas/docks.yaml
    target: v_docks
  - name: write_docks
    type: write
    source: v_docks
    write_target: {type: streaming_table, catalog: main, schema: bronze, table: docks}
"#),
        &[(
            "schemas/docks.yaml",
            "name: docks\ncolumns:\n  - {name: dock_id, type: BIGINT, nullable: false}\n  - {name: price, type: DECIMAL(8,2), comment: in euros}\n  - {name: seen_at, type: TIMESTAMP}\n"
        )]
    ));
}

#[test]
fn delta_batch_and_change_feed_stream() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_batch
    type: load
    source:
      type: delta
      catalog: main
      schema: ops
      table: bikes
      where_clause: ["retired = false"]
      select_columns: [bike_id, model]
    target: v_bikes
  - name: load_changes
    type: load
    readMode: stream
    source:
      type: delta
      catalog: main
      schema: ops
      table: rides
      options: {readChangeFeed: "true", maxFilesPerTrigger: 10}
    target: v_changes
  - name: write_bikes
    type: write
    source: [v_bikes, v_changes]
    write_target: {type: streaming_table, catalog: main, schema: silver, table: events, table_properties: {quality: silver}, cluster_columns: [bike_id]}
"#
        ),
        &[]
    ));
}

#[test]
fn sql_jdbc_and_kafka_loads() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_sql
    type: load
    source: {type: sql, sql_path: sql/active.sql}
    target: v_active
  - name: load_db
    type: load
    source:
      type: jdbc
      url: "jdbc:postgresql://db/ops"
      driver: org.postgresql.Driver
      user: reader
      password: "__SECRET_ops_db_pw__"
      query: "SELECT * FROM stations WHERE active"
    target: v_db
  - name: load_feed
    type: load
    source:
      type: kafka
      bootstrap_servers: "broker:9092"
      subscribe: docks.availability
      options: {startingOffsets: earliest, kafka.security.protocol: SASL_SSL}
    target: v_feed
  - name: write_active
    type: write
    source: v_active
    write_target: {type: materialized_view, catalog: main, schema: gold, table: active}
"#
        ),
        &[(
            "sql/active.sql",
            "  SELECT *\nFROM main.ops.stations\nWHERE active\n"
        )]
    ));
}

#[test]
fn python_load_and_custom_datasource_copy_their_modules() {
    insta::assert_snapshot!(generate(
        &format!("{HEAD}{}", r#"
  - name: load_py
    type: load
    source: {type: python, module_path: py/weather.py, function_name: fetch, parameters: {days: 3}}
    target: v_weather
  - name: load_custom
    type: load
    source: {type: custom_datasource, module_path: py/feed.py, custom_datasource_class: FeedSource, options: {city: porto}}
    target: v_custom
  - name: write_weather
    type: write
    source: v_weather
    write_target: {type: materialized_view, catalog: main, schema: bronze, table: weather}
"#),
        &[
            ("py/weather.py", "from lib.http import get\n\n\ndef fetch(spark, parameters):\n    return spark.range(parameters[\"days\"])\n"),
            ("py/lib/http.py", "def get(url):\n    return url\n"),
            ("py/feed.py", "class FeedSource:\n    @classmethod\n    def name(cls):\n        return \"dock_feed\"\n"),
        ]
    ));
}

#[test]
fn sql_python_and_temp_table_transforms() {
    insta::assert_snapshot!(generate(
        &format!("{HEAD}{}", r#"
  - name: load_a
    type: load
    source: {type: delta, catalog: main, schema: s, table: a}
    target: v_a
  - name: load_b
    type: load
    source: {type: delta, catalog: main, schema: s, table: b}
    target: v_b
  - name: join_them
    type: transform
    transform_type: python
    source: [v_a, v_b]
    module_path: py/join.py
    function_name: join_frames
    target: v_joined
  - name: trim
    type: transform
    transform_type: sql
    operational_metadata: [_ts]
    description: "Keep the recent rows"
    sql: |
      SELECT * FROM v_joined
      WHERE day > current_date() - 7
    target: v_recent
  - name: stage
    type: transform
    transform_type: temp_table
    source: v_recent
    target: recent_staged
  - name: write_recent
    type: write
    source: recent_staged
    write_target: {type: streaming_table, catalog: main, schema: silver, table: recent}
"#),
        &[("py/join.py", "def join_frames(frames, spark, parameters):\n    return frames[0].join(frames[1], \"id\")\n")]
    ));
}

#[test]
fn schema_transform_strict_and_expectations() {
    insta::assert_snapshot!(generate(
        &format!("{HEAD}{}", r#"
  - name: load_raw
    type: load
    readMode: stream
    source: {type: delta, catalog: main, schema: s, table: raw}
    target: v_raw
  - name: checks
    type: transform
    transform_type: data_quality
    source: v_typed
    expectations_file: expectations/raw.yaml
    operational_metadata: [_ts]
    target: v_checked
  - name: conform
    type: transform
    transform_type: schema
    source: v_raw
    enforcement: strict
    schema_inline: |
      id -> ride_id: BIGINT
      started -> started_at
      fare: DECIMAL(10,2)
      city
    target: v_typed
  - name: write_checked
    type: write
    source: v_checked
    write_target: {type: streaming_table, catalog: main, schema: silver, table: rides, partition_columns: [city]}
"#),
        &[(
            "expectations/raw.yaml",
            "ride_id IS NOT NULL: {action: fail, name: has_id}\nfare >= 0: {action: drop, name: fare_not_negative}\ncity IS NOT NULL: {action: warn}\n"
        )]
    ));
}

#[test]
fn cdc_and_snapshot_cdc_writes() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_changes
    type: load
    readMode: stream
    source: {type: delta, catalog: main, schema: s, table: customers_cdf, options: {readChangeFeed: "true"}}
    target: v_changes
  - name: write_customers
    type: write
    source: v_changes
    write_target:
      type: streaming_table
      catalog: main
      schema: silver
      table: customers
      mode: cdc
      cdc_config:
        keys: [customer_id]
        sequence_by: [_commit_version, _commit_timestamp]
        scd_type: 2
        track_history_except_column_list: [_commit_timestamp]
        ignore_null_updates: true
        apply_as_deletes: "_change_type = 'delete'"
  - name: write_suppliers
    type: write
    write_target:
      type: streaming_table
      catalog: main
      schema: silver
      table: suppliers
      mode: snapshot_cdc
      snapshot_cdc_config:
        source_function: {file: py/snap.py, function: next_snapshot, parameters: {days: 1}}
        keys: [supplier_id]
"#
        ),
        &[(
            "py/snap.py",
            "def next_snapshot(version, days):\n    return None\n"
        )]
    ));
}

#[test]
fn materialized_views_from_sql_and_from_a_view() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_usage
    type: load
    source: {type: delta, catalog: main, schema: s, table: usage}
    target: v_usage
  - name: write_by_view
    type: write
    source: v_usage
    write_target: {type: materialized_view, catalog: main, schema: gold, table: usage_copy, comment: "A copy", table_properties: {quality: gold}, refresh_schedule: "every 1 hour"}
  - name: write_by_sql
    type: write
    write_target:
      type: materialized_view
      catalog: main
      schema: gold
      table: usage_daily
      sql: "SELECT day, count(*) AS n FROM main.s.usage GROUP BY day"
"#
        ),
        &[]
    ));
}

#[test]
fn every_data_test_type() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_trips
    type: load
    source: {type: delta, catalog: main, schema: raw, table: trips}
    target: v_trips
  - name: counts
    type: test
    test_type: row_count
    source: [main.raw.trips, main.silver.trips]
    tolerance: 5
    on_violation: warn
  - name: unique_trip
    type: test
    test_type: uniqueness
    source: main.silver.trips
    columns: [trip_id, leg]
    filter: "  is_current = true  "
    target: dup_trips
  - name: station_fk
    type: test
    test_type: referential_integrity
    source: main.silver.trips
    reference: main.silver.stations
    source_columns: [start_station, city]
    reference_columns: [station_id, city]
    on_violation: drop
  - name: complete
    type: test
    test_type: completeness
    source: v_trips
    required_columns: [trip_id, started_at]
  - name: duration_range
    type: test
    test_type: range
    source: main.silver.trips
    column: minutes
    min_value: 0
    max_value: 1440.5
    description: Trips last at most a day
  - name: same_shape
    type: test
    test_type: schema_match
    source: main.silver.trips
    reference: main.raw.trips
  - name: city_lookup
    type: test
    test_type: all_lookups_found
    source: main.silver.trips
    lookup_table: main.ref.cities
    lookup_columns: [city]
    lookup_result_columns: [city_name]
  - name: positive_fares
    type: test
    test_type: custom_sql
    sql: |
      SELECT trip_id, fare

        FROM main.silver.trips
    expectations:
      - {name: fare_positive, expression: "fare > 0"}
      - {name: fare_sane, expression: "fare < 1000", on_violation: warn}
  - name: rules
    type: test
    test_type: custom_expectations
    source: main.silver.trips
    on_violation: warn
    expectations:
      - {name: has_rider, expression: "rider_id IS NOT NULL", on_violation: drop}
      - {name: has_bike, expression: "bike_id IS NOT NULL"}
"#
        ),
        &[]
    ));
}

/// A flowgroup with a stream view `v_rides` and one sink write: `target` is its YAML.
fn sink(target: &str, files: &[(&'static str, &'static str)]) -> String {
    generate(
        &format!(
            "{HEAD}{}{target}",
            r#"
  - name: load_rides
    type: load
    readMode: stream
    source: {type: delta, catalog: main, schema: raw, table: rides}
    target: v_rides
"#
        ),
        files,
    )
}

#[test]
fn delta_sink_to_a_table_with_metadata() {
    insta::assert_snapshot!(sink(
        r#"
  - name: export_rides
    type: write
    source: [v_rides, {view: v_rides}]
    operational_metadata: [_ts]
    write_target:
      type: sink
      sink_type: delta
      sink_name: rides_export
      options: {tableName: main.export.rides, mergeSchema: "true"}
"#,
        &[]
    ));
}

#[test]
fn kafka_sink_with_a_secret_and_an_overridden_topic() {
    insta::assert_snapshot!(sink(
        r#"
  - name: publish_rides
    type: write
    source: v_rides
    description: Rides for the live map
    write_target:
      type: sink
      sink_type: kafka
      sink_name: rides_topic
      bootstrap_servers: "broker-1:9092"
      topic: rides
      options:
        topic: rides_v2
        kafka.security.protocol: SASL_SSL
        kafka.sasl.jaas.config: "__SECRET_ops_db_pw__"
"#,
        &[]
    ));
}

#[test]
fn custom_sink_copies_its_module() {
    insta::assert_snapshot!(sink(
        r#"
  - name: push_rides
    type: write
    source: v_rides
    write_target:
      type: sink
      sink_type: custom
      sink_name: rides_api
      module_path: py/api_sink.py
      custom_sink_class: ApiSink
      comment: "Rides to the partner API\nin batches"
      options: {endpoint: "https://partner.example/rides", batch: 100}
"#,
        &[(
            "py/api_sink.py",
            "from pyspark.sql.datasource import DataSource\n\n\nclass ApiSink(DataSource):\n    @classmethod\n    def name(cls):\n        return \"partner_api\"\n"
        )]
    ));
}

#[test]
fn foreachbatch_sinks_from_a_file_and_inline() {
    insta::assert_snapshot!(sink(
        r#"
  - name: merge_rides
    type: write
    source: v_rides
    write_target:
      type: sink
      sink_type: foreachbatch
      sink_name: rides_merge
      module_path: py/merge_rides.py
  - name: audit_rides
    type: write
    source: v_rides
    description: Count each micro-batch
    write_target:
      type: sink
      sink_type: foreachbatch
      sink_name: rides_audit
      batch_handler: |
        password = "__SECRET_ops_db_pw__"
        print(batch_id, df.count())
"#,
        &[(
            "py/merge_rides.py",
            "df.createOrReplaceTempView(\"updates\")\n\ndf.sparkSession.sql(\"MERGE INTO main.s.rides t USING updates u ON t.id = u.id WHEN NOT MATCHED THEN INSERT *\")\n"
        )]
    ));
}

#[test]
fn quarantine_sends_broken_rows_to_a_dead_letter_table() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_rides
    type: load
    readMode: stream
    source: {type: delta, catalog: main, schema: raw, table: rides}
    target: v_rides
  - name: screen_rides
    type: transform
    transform_type: data_quality
    source: v_rides
    target: v_rides_screened
    mode: quarantine
    operational_metadata: [_ts]
    expectations_file: expectations/rides.yaml
    quarantine:
      dlq_table: main.ops.rides_dlq
      source_table: main.raw.rides
  - name: write_rides
    type: write
    source: v_rides_screened
    write_target: {type: streaming_table, catalog: main, schema: silver, table: rides}
"#
        ),
        &[(
            "expectations/rides.yaml",
            "expectations:\n  - {name: has_id, constraint: ride_id IS NOT NULL, failureAction: fail}\n  - {constraint: \"minutes >= 0\", type: warn}\n  - {name: nothing_rescued, constraint: _rescued_data IS NULL, failureAction: drop}\n"
        )]
    ));
}

#[test]
fn cdc_scd1_with_truncates_and_column_lists() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: load_bike_changes
    type: load
    readMode: stream
    source: {type: delta, catalog: main, schema: raw, table: bikes_cdf, options: {readChangeFeed: "true"}}
    target: v_bike_changes
  - name: write_bikes
    type: write
    source: v_bike_changes
    write_target:
      type: streaming_table
      catalog: main
      schema: silver
      table: bikes
      mode: cdc
      cdc_config:
        keys: [bike_id]
        sequence_by: _commit_version
        scd_type: 1
        apply_as_deletes: "_change_type = 'delete'"
        apply_as_truncates: "_change_type = 'truncate'"
        except_column_list: [_change_type, _commit_version, _commit_timestamp]
"#
        ),
        &[]
    ));
}

#[test]
fn snapshot_cdc_from_a_table_with_history() {
    insta::assert_snapshot!(generate(
        &format!(
            "{HEAD}{}",
            r#"
  - name: write_docks
    type: write
    write_target:
      type: streaming_table
      catalog: main
      schema: silver
      table: docks
      mode: snapshot_cdc
      snapshot_cdc_config:
        source: main.raw.docks_snapshot
        keys: [dock_id, station_id]
        stored_as_scd_type: 2
        track_history_column_list: [status, capacity]
"#
        ),
        &[]
    ));
}

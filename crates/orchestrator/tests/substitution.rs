//! Substitution as the reference does it, rule by rule.

use lhp_orchestrator::substitution::{resolve_local_variables, unresolved_tokens};
use lhp_orchestrator::{Diagnostic, Severity, Substitutions, TokenValue};
use lhp_plugin::{load_documents, Limits, Sources, Value, ValueKind};

fn parse(text: &str) -> Value {
    let file = Sources::new().add("t.yaml", text);
    load_documents(file, text.as_bytes(), Limits::default())
        .unwrap()
        .remove(0)
}

fn table(env: &str, text: &str) -> (Substitutions, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let doc = parse(text);
    let subs = Substitutions::new(env, Some(&doc), |_| None, &mut problems);
    (subs, problems)
}

fn text(subs: &Substitutions, name: &str) -> String {
    match subs.token(name) {
        Some(TokenValue::Text(t)) => t.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn substitute(
    subs: &Substitutions,
    yaml: &str,
) -> (Value, Vec<lhp_orchestrator::SecretRef>, Vec<Diagnostic>) {
    let mut value = parse(yaml);
    let (mut secrets, mut problems) = (Vec::new(), Vec::new());
    subs.substitute(&mut value, &mut secrets, &mut problems);
    (value, secrets, problems)
}

fn get<'a>(value: &'a Value, key: &str) -> &'a str {
    value.as_map().unwrap().get(key).unwrap().as_str().unwrap()
}

#[test]
fn env_block_beats_global_and_reserved_tokens_global_does_not() {
    let (subs, problems) = table(
        "dev",
        "dev:\n  catalog: dev_cat\n  logical_env: overridden\nglobal:\n  catalog: global_cat\n  region: eu\n  workspace_env: nope\nprod:\n  catalog: prod_cat\n",
    );
    assert!(problems.is_empty());
    assert_eq!(text(&subs, "catalog"), "dev_cat");
    assert_eq!(text(&subs, "region"), "eu");
    assert_eq!(text(&subs, "workspace_env"), "dev");
    assert_eq!(text(&subs, "logical_env"), "overridden");
}

#[test]
fn reserved_tokens_follow_the_process_environment() {
    let mut problems = Vec::new();
    let subs = Substitutions::new(
        "dev",
        None,
        |name| (name == "WORKSPACE_ENV").then(|| "ws".to_owned()),
        &mut problems,
    );
    assert_eq!(text(&subs, "workspace_env"), "ws");
    assert_eq!(text(&subs, "logical_env"), "dev");
}

#[test]
fn scalars_become_text_as_python_prints_them() {
    let (subs, _) = table(
        "dev",
        "dev:\n  flag: true\n  disabled: no\n  off: kept\n  n: 42\n  ratio: 1.50\n  nothing: null\n  when: 2024-01-31\n  map: {a: 1}\n  list: [1, 2]\n",
    );
    assert_eq!(text(&subs, "flag"), "true");
    assert_eq!(text(&subs, "disabled"), "false");
    // A plain `off` key is itself a YAML 1.1 boolean, for the reference too: no token.
    assert!(subs.token("off").is_none());
    assert_eq!(text(&subs, "n"), "42");
    assert_eq!(text(&subs, "ratio"), "1.5");
    assert_eq!(text(&subs, "nothing"), "None");
    assert_eq!(text(&subs, "when"), "2024-01-31");
    assert!(matches!(subs.token("map"), Some(TokenValue::Structured(_))));
    assert!(matches!(
        subs.token("list"),
        Some(TokenValue::Structured(_))
    ));
}

#[test]
fn tokens_may_refer_to_tokens_and_cycles_are_reported() {
    let (subs, problems) = table(
        "dev",
        "dev:\n  catalog: main\n  schema: \"${catalog}_bronze\"\n  legacy: \"{schema}_v2\"\n  a: \"${b}\"\n  b: \"${a}\"\n",
    );
    assert_eq!(text(&subs, "schema"), "main_bronze");
    assert_eq!(text(&subs, "legacy"), "main_bronze_v2");
    assert!(problems
        .iter()
        .any(|p| p.severity == Severity::Note && p.message.contains("cycle")));
}

#[test]
fn strings_are_substituted_keys_and_foreign_syntax_are_not() {
    let (subs, _) = table("dev", "dev:\n  catalog: main\n  env: dev\n");
    let (value, _, problems) = substitute(
        &subs,
        "table: \"${catalog}.sales.orders\"\nlegacy: \"{catalog}.x\"\nspark: \"${spark.sql.x}\"\nhive: \"${hiveconf:y}\"\nunknown: \"${missing}\"\n\"${catalog}\": key\nn: 5\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(get(&value, "table"), "main.sales.orders");
    assert_eq!(get(&value, "legacy"), "main.x");
    assert_eq!(get(&value, "spark"), "${spark.sql.x}");
    assert_eq!(get(&value, "hive"), "${hiveconf:y}");
    assert_eq!(get(&value, "unknown"), "${missing}");
    assert_eq!(get(&value, "${catalog}"), "key");
    assert_eq!(
        value.as_map().unwrap().get("n").unwrap().kind,
        ValueKind::Int(5)
    );
}

#[test]
fn secrets_become_references_with_scope_aliases_and_default_scope() {
    let (subs, _) = table(
        "dev",
        "dev:\n  scope_name: kv\nsecrets:\n  default_scope: main_scope\n  scopes:\n    kv: real-kv-scope\n",
    );
    let (value, secrets, problems) = substitute(
        &subs,
        "url: \"jdbc://${secret:kv/host}:5432\"\nuser: \"${secret:user}\"\nnested: \"${secret:${scope_name}/password}\"\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        get(&value, "url"),
        "jdbc://__SECRET_real-kv-scope_host__:5432"
    );
    assert_eq!(get(&value, "user"), "__SECRET_main_scope_user__");
    assert_eq!(get(&value, "nested"), "__SECRET_real-kv-scope_password__");
    assert_eq!(secrets.len(), 3);
    assert_eq!(secrets[0].span.line, 1);
}

#[test]
fn bad_secrets_are_reported_where_they_are_written() {
    let (subs, _) = table("dev", "dev: {}\n");
    let (_, _, problems) = substitute(
        &subs,
        "a: x\nb: \"${secret:user}\"\nc: \"${secret:bad scope/k}\"\nd: \"${secret:/k}\"\n",
    );
    let codes: Vec<_> = problems
        .iter()
        .map(|p| (p.code, p.span.unwrap().line))
        .collect();
    assert_eq!(
        codes,
        [("LHP-CFG-008", 2), ("LHP-VAL-008", 3), ("LHP-CFG-059", 4)]
    );
    assert!(problems[0]
        .hint
        .as_deref()
        .unwrap()
        .contains("default_scope"));
}

#[test]
fn a_structured_token_inside_a_string_is_an_error_at_that_string() {
    let (subs, _) = table("dev", "dev:\n  cols: [a, b]\n");
    let (_, _, problems) = substitute(&subs, "x: 1\nsql: \"SELECT ${cols}\"\n");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].span.unwrap().line, 2);
    assert!(problems[0].message.contains("`cols`"));
}

#[test]
fn unresolved_tokens_are_found_with_their_path_and_position() {
    let (subs, _) = table("dev", "dev:\n  catalog: main\n");
    let (value, _, _) = substitute(
        &subs,
        "actions:\n  - source:\n      table: \"${catalog}.${schema}.t\"\n      sql: \"WHERE id RLIKE '\\\\d{8}'\"\n      note: \"{dbutils.widgets}\"\n",
    );
    let found = unresolved_tokens(&value);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].1, "actions[0].source.table");
    assert_eq!(found[0].2, ["schema"]);
    assert_eq!((found[0].0.line, found[0].0.column), (3, 14));
    // The reference rejects a regex quantifier too; so do we, so that both accept the same.
    assert_eq!(found[1].2, ["8"]);
}

#[test]
fn flowgroup_variables_resolve_everywhere_but_in_variables() {
    let mut flowgroup = parse(
        "pipeline: p\nflowgroup: f\nvariables:\n  entity: orders\n  table: \"%{entity}_raw\"\nactions:\n  - name: \"load_%{entity}\"\n    target: \"%{table}\"\n    other: \"%{nope}\"\n",
    );
    let mut problems = Vec::new();
    resolve_local_variables(&mut flowgroup, &mut problems);
    let action = &flowgroup
        .as_map()
        .unwrap()
        .get("actions")
        .unwrap()
        .as_seq()
        .unwrap()[0];
    assert_eq!(get(action, "name"), "load_orders");
    assert_eq!(get(action, "target"), "orders_raw");
    let variables = flowgroup.as_map().unwrap().get("variables").unwrap();
    assert_eq!(get(variables, "table"), "%{entity}_raw");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, "LHP-CFG-011");
    assert_eq!(problems[0].span.unwrap().line, 9);
}

#[test]
fn flowgroup_variables_must_be_strings() {
    let mut flowgroup = parse("variables:\n  n: 5\nx: \"%{n}\"\n");
    let mut problems = Vec::new();
    resolve_local_variables(&mut flowgroup, &mut problems);
    assert!(problems
        .iter()
        .any(|p| p.message.contains("must be a string") && p.span.unwrap().line == 2));
}

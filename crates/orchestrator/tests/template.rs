//! Templates: rendering as the reference's Jinja2 renders, and expansion into actions.

mod common;

use common::{yaml, TempDir};
use lhp_orchestrator::template::load_template;
use lhp_plugin::{Sources, Span, Value, ValueKind};

/// Writes `templates/<name>.yaml`.
fn template(dir: &TempDir, name: &str, text: &str) {
    dir.write(&format!("templates/{name}.yaml"), text);
}

const PARAMS: &str = "entity: orders\ncols: [id, amount]\nflag: true\nn: 7\nratio: 2.5\nnothing: null\nopts: {header: \"true\", sep: \",\"}\nquoted: \"it's\"\n";

/// Each case's expected value is what the reference's template engine (Jinja2) produced for
/// the same string and parameters.
#[test]
fn strings_render_and_convert_as_the_reference_does() {
    let cases: &[(&str, &str)] = &[
        ("{{ entity }}", "\"orders\""),
        ("load_{{ entity }}", "\"load_orders\""),
        ("{{ cols }}", "['id', 'amount']"),
        ("x {{ cols }}", "\"x ['id', 'amount']\""),
        ("{{ flag }}", "True"),
        ("is_{{ flag }}", "\"is_True\""),
        ("{{ n }}", "7"),
        ("{{ ratio }}", "\"2.5\""),
        ("{{ nothing }}", "None"),
        ("{{ opts }}", "{'header': 'true', 'sep': ','}"),
        ("{{ missing }}", "\"\""),
        ("a{{ missing }}b", "\"ab\""),
        ("{{ quoted }}", "\"it's\""),
        ("{{ [quoted] }}", "[\"it's\"]"),
        ("{{ 'TRUE' }}", "True"),
        ("{{ '-12' }}", "-12"),
        ("${catalog}.{{ entity }}", "\"${catalog}.orders\""),
        ("{% if flag %}yes{% endif %}{{ '' }}", "\"yes\""),
        ("{{ cols | join(',') }}", "\"id,amount\""),
        ("{{ n * 2 }}", "14"),
        ("{{ 1 / 4 }}", "\"0.25\""),
        ("{{ entity.upper() }}", "\"ORDERS\""),
        ("{{ opts | tojson }}", "{'header': 'true', 'sep': ','}"),
        (
            "{% for k, v in opts.items() %}{{ k }}={{ v }};{% endfor %}",
            "\"header=true;sep=,;\"",
        ),
    ];
    let dir = TempDir::new("render", &[]);
    let mut actions = String::from("name: t\nparameters:\n  - name: entity\n    required: true\nactions:\n  - name: a\n    type: load\n    cases:\n");
    for (source, _) in cases {
        actions.push_str(&format!("      - {}\n", serde_like_quote(source)));
    }
    template(&dir, "t", &actions);
    let mut sources = Sources::new();
    let params = yaml(&mut sources, PARAMS);
    let used_at = params.span;
    let template = load_template(&dir.0, "t", used_at, &mut sources).unwrap();
    let mut problems = Vec::new();
    let expanded = template.expand(Some(&params), used_at, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let rendered = expanded[0]
        .as_map()
        .unwrap()
        .get("cases")
        .unwrap()
        .as_seq()
        .unwrap();
    for ((source, expected), got) in cases.iter().zip(rendered) {
        assert_eq!(python_repr(got), *expected, "{source}");
    }
}

/// YAML double-quoted form of a string.
fn serde_like_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Python's repr of a value, to compare with what the reference printed.
fn python_repr(value: &Value) -> String {
    match &value.kind {
        ValueKind::Null => "None".into(),
        ValueKind::Bool(b) => if *b { "True" } else { "False" }.into(),
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(x) => x.to_string(),
        ValueKind::String(s) => format!("\"{s}\""),
        ValueKind::Seq(items) => {
            let inner: Vec<_> = items
                .iter()
                .map(|i| match &i.kind {
                    ValueKind::String(s) if s.contains('\'') => format!("\"{s}\""),
                    ValueKind::String(s) => format!("'{s}'"),
                    _ => python_repr(i),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        ValueKind::Map(map) => {
            let inner: Vec<_> = map
                .entries()
                .iter()
                .map(|(k, v)| format!("'{}': '{}'", k.as_str().unwrap(), v.as_str().unwrap()))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

#[test]
fn defaults_fill_in_and_required_parameters_are_enforced() {
    let dir = TempDir::new("params", &[]);
    template(&dir,
        "ingest",
        "name: ingest\npresets: [bronze]\nparameters:\n  - name: entity\n    required: true\n  - name: format\n    default: json\n  - name: opt\n    default: null\nactions:\n  - name: \"load_{{ entity }}\"\n    type: load\n    source: {format: \"{{ format }}\", opt: \"{{ opt }}\", path: \"${landing}/{{ entity }}\"}\n",
    );
    let mut sources = Sources::new();
    let params = yaml(&mut sources, "entity: customers\nextra: ignored\n");
    let template = load_template(&dir.0, "ingest", params.span, &mut sources).unwrap();
    assert_eq!(template.presets, ["bronze"]);
    let mut problems = Vec::new();
    let actions = template.expand(Some(&params), params.span, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let action = actions[0].as_map().unwrap();
    assert_eq!(action.get("name").unwrap().as_str(), Some("load_customers"));
    let source = action.get("source").unwrap().as_map().unwrap();
    assert_eq!(source.get("format").unwrap().as_str(), Some("json"));
    assert!(source.get("opt").unwrap().is_null());
    assert_eq!(
        source.get("path").unwrap().as_str(),
        Some("${landing}/customers")
    );

    let empty = yaml(&mut sources, "{}\n");
    let actions = template.expand(
        Some(&empty),
        Span::new(empty.span.file, 9, 3),
        &mut problems,
    );
    assert!(actions.is_empty());
    assert_eq!(problems[0].code, "LHP-CFG-012");
    assert!(problems[0].message.contains("`entity`"));
    assert_eq!(problems[0].span.unwrap().line, 9);
}

#[test]
fn a_missing_template_suggests_the_closest_name() {
    let dir = TempDir::new("missing", &[]);
    template(&dir, "bronze_ingest", "name: x\nactions: []\n");
    let mut sources = Sources::new();
    let at = yaml(&mut sources, "a: 1\n").span;
    let errors = load_template(&dir.0, "bronze_ingset", at, &mut sources).unwrap_err();
    assert_eq!(errors[0].code, "LHP-CFG-027");
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("did you mean `bronze_ingest`?")
    );
}

#[test]
fn bad_renders_are_errors_at_the_string_and_loops_are_bounded() {
    let dir = TempDir::new("bad", &[]);
    template(&dir,
        "t",
        "name: t\nactions:\n  - name: a\n    list: \"[{{ x }}\"\n    broken: \"[{{ x }}, ]]\"\n    endless: \"{% for i in range(100000000) %}{{ i }}{% endfor %}\"\n",
    );
    let mut sources = Sources::new();
    let params = yaml(&mut sources, "x: 1\n");
    let template = load_template(&dir.0, "t", params.span, &mut sources).unwrap();
    let mut problems = Vec::new();
    let started = std::time::Instant::now();
    template.expand(Some(&params), params.span, &mut problems);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let found: Vec<_> = problems
        .iter()
        .map(|p| (p.code, p.span.unwrap().line))
        .collect();
    assert_eq!(
        found,
        [("LHP-VAL-009", 5), ("LHP-CFG-012", 6)],
        "{problems:?}"
    );
}

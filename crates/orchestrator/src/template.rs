//! Templates: `templates/<name>.yaml`, expanded into actions by `use_template` with
//! `template_parameters`, the way the reference expands them.
//!
//! Every string holding both `{{` and `}}` is rendered (keys are not), with unknown names
//! rendering empty and values printed as Python prints them (`None`, `True`,
//! `['a', 'b']`), since the reference renders with Jinja2. The text is then turned back into
//! a value: `None` into null, `true`/`false` (any case) into booleans, digits into integers,
//! `[...]` and `{...:'...'}` into lists and mappings; anything else stays a string (floats
//! too). Rendering is bounded by fuel, so a template cannot loop forever.

use std::path::Path;

use indexmap::IndexMap;
use lhp_plugin::{load_documents, Limits, Map, Sources, Span, Value, ValueKind};
use minijinja::value::{Value as JinjaValue, ValueKind as JinjaKind};
use minijinja::{AutoEscape, Environment};

use crate::diagnostic::Diagnostic;
use crate::flowgroup::did_you_mean;
use crate::pyliteral;
use crate::substitution::python_float;

/// Instructions one template string may spend rendering.
const FUEL: u64 = 50_000;

/// A template read from `templates/<name>.yaml`.
#[derive(Debug, Clone)]
pub struct Template {
    /// The name it is used by (the file's stem, as in the reference; not its `name:`).
    pub name: String,
    /// `presets:` applied to the flowgroups that use it.
    pub presets: Vec<String>,
    /// Its declared parameters.
    pub parameters: Vec<TemplateParameter>,
    /// Its actions, unrendered.
    pub actions: Vec<Value>,
    /// Its `description:`, if it has one.
    pub description: Option<String>,
    /// Where it is declared (its document).
    pub span: Span,
}

/// A declared template parameter.
#[derive(Debug, Clone)]
pub struct TemplateParameter {
    /// Its name.
    pub name: String,
    /// Whether a flowgroup must give it.
    pub required: bool,
    /// The value used when it is not given (a `default:` key, even `null`).
    pub default: Option<Value>,
}

/// Reads `root/templates/<name>.yaml`; `used_at` is where the flowgroup names it.
pub fn load_template(
    root: &Path,
    name: &str,
    used_at: Span,
    sources: &mut Sources,
) -> Result<Template, Vec<Diagnostic>> {
    let relative = Path::new("templates").join(format!("{name}.yaml"));
    let Ok(bytes) = std::fs::read(root.join(&relative)) else {
        let known = known_templates(root);
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let mut problem = Diagnostic::error(
            "LHP-CFG-027",
            format!(
                "template `{name}` not found ({} does not exist)",
                relative.display()
            ),
        )
        .at(used_at);
        if let Some(guess) = did_you_mean(name, &known) {
            problem = problem.hint(format!("did you mean `{guess}`?"));
        } else if !known.is_empty() {
            problem = problem.hint(format!("templates: {}", known.join(", ")));
        }
        return Err(vec![problem]);
    };
    let file = sources.add(&relative, String::from_utf8_lossy(&bytes).into_owned());
    let documents = load_documents(file, &bytes, Limits::default())
        .map_err(|e| vec![Diagnostic::error("LHP-CFG-009", e.message).at(e.span)])?;
    let [document] = <[Value; 1]>::try_from(documents).map_err(|documents| {
        vec![Diagnostic::error(
            "LHP-CFG-027",
            format!(
                "template `{name}` must be one YAML document; it has {}",
                documents.len()
            ),
        )
        .at(Span::new(file, 1, 1))]
    })?;
    let Some(map) = document.as_map() else {
        return Err(vec![Diagnostic::error(
            "LHP-CFG-027",
            format!(
                "template `{name}` must be a mapping, not {}",
                document.kind.describe()
            ),
        )
        .at(document.span)]);
    };
    let mut problems = Vec::new();
    let presets = crate::shape::string_list(
        map.get("presets"),
        "presets",
        ("LHP-CFG-009", "LHP-CFG-009"),
        &mut problems,
    );
    let parameters = crate::shape::parameter_list(
        map.get("parameters"),
        "template",
        "LHP-CFG-012",
        &mut problems,
    )
    .into_iter()
    .map(|(name, required, default)| TemplateParameter {
        name,
        required,
        default,
    })
    .collect();
    let actions = match map.get("actions") {
        None => Vec::new(),
        Some(value) => match value.as_seq() {
            Some(items) => items.to_vec(),
            None => {
                problems.push(
                    Diagnostic::error(
                        "LHP-CFG-027",
                        format!(
                            "template `actions` must be a list, not {}",
                            value.kind.describe()
                        ),
                    )
                    .at(value.span),
                );
                Vec::new()
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Template {
        name: name.to_owned(),
        presets,
        parameters,
        actions,
        description: map
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        span: document.span,
    })
}

/// The stems of `templates/*.yaml`, sorted: the templates a project has.
pub fn known_templates(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("templates"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "yaml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

impl Template {
    /// The template's actions rendered with `given` (a flowgroup's `template_parameters`);
    /// `used_at` is where the flowgroup names the template. Problems are collected.
    pub fn expand(
        &self,
        given: Option<&Value>,
        used_at: Span,
        problems: &mut Vec<Diagnostic>,
    ) -> Vec<Value> {
        let given = given.and_then(Value::as_map).cloned().unwrap_or_default();
        let missing: Vec<&str> = self
            .parameters
            .iter()
            .filter(|p| p.required && !given.contains_key(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            problems.push(
                Diagnostic::error(
                    "LHP-CFG-012",
                    format!(
                        "template `{}` needs the parameter(s) {}",
                        self.name,
                        quoted(&missing)
                    ),
                )
                .at(used_at)
                .hint("add them under `template_parameters:`"),
            );
            return Vec::new();
        }
        let mut context = Map::new();
        for parameter in &self.parameters {
            if given.contains_key(&parameter.name) {
                continue;
            }
            if let Some(default) = &parameter.default {
                context.push(
                    Value::new(used_at, ValueKind::String(parameter.name.clone())),
                    default.clone(),
                );
            }
        }
        for (key, value) in given.entries() {
            context.push(key.clone(), value.clone());
        }
        let context = to_jinja(&Value::new(used_at, ValueKind::Map(context)));
        let env = environment();
        let mut actions = self.actions.clone();
        for action in &mut actions {
            render_strings(action, &env, &context, &self.name, problems);
        }
        actions
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Jinja environment that behaves as the reference's: no escaping, unknown names empty,
/// values printed as Python prints them.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    // Jinja2 in the reference runs Python: `name.upper()`, `d.items()` and friends work there.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, _state, value| {
        let text = match value.kind() {
            JinjaKind::Undefined => String::new(),
            JinjaKind::String => value.as_str().unwrap_or_default().to_owned(),
            _ => python_repr(value),
        };
        out.write_str(&text).map_err(minijinja::Error::from)
    });
    env
}

/// Python's `repr()` of a Jinja value (strings at the top level are printed as they are).
fn python_repr(value: &JinjaValue) -> String {
    match value.kind() {
        JinjaKind::Undefined | JinjaKind::None => "None".to_owned(),
        JinjaKind::Bool => if value.is_true() { "True" } else { "False" }.to_owned(),
        JinjaKind::Number => match i64::try_from(value.clone()) {
            Ok(i) if !value.to_string().contains(['.', 'e', 'E']) => i.to_string(),
            _ => f64::try_from(value.clone())
                .map(python_float)
                .unwrap_or_else(|_| value.to_string()),
        },
        JinjaKind::String => pyliteral::repr_str(value.as_str().unwrap_or_default()),
        JinjaKind::Map => {
            let items: Vec<String> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|key| {
                    let item = value.get_item(&key).unwrap_or_default();
                    format!("{}: {}", python_repr(&key), python_repr(&item))
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        JinjaKind::Seq | JinjaKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .into_iter()
                .flatten()
                .map(|v| python_repr(&v))
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => value.to_string(),
    }
}

fn to_jinja(value: &Value) -> JinjaValue {
    match &value.kind {
        ValueKind::Null => JinjaValue::from(()),
        ValueKind::Bool(b) => JinjaValue::from(*b),
        ValueKind::Int(i) => JinjaValue::from(*i),
        ValueKind::Float(x) => JinjaValue::from(*x),
        ValueKind::String(s) => JinjaValue::from(s.as_str()),
        ValueKind::Seq(items) => items.iter().map(to_jinja).collect(),
        // An IndexMap keeps the order written, which is the order Python prints a dict in.
        ValueKind::Map(map) => JinjaValue::from_object(
            map.entries()
                .iter()
                .map(|(k, v)| (to_jinja(k), to_jinja(v)))
                .collect::<IndexMap<JinjaValue, JinjaValue>>(),
        ),
    }
}

fn render_strings(
    value: &mut Value,
    env: &Environment<'_>,
    context: &JinjaValue,
    template: &str,
    problems: &mut Vec<Diagnostic>,
) {
    let span = value.span;
    match &mut value.kind {
        ValueKind::String(text) if text.contains("{{") && text.contains("}}") => {
            match env.render_str(text, context.clone()) {
                Ok(rendered) => match convert(&rendered, span) {
                    Ok(kind) => value.kind = kind,
                    Err(problem) => problems.push(problem),
                },
                Err(error) => problems.push(
                    Diagnostic::error(
                        "LHP-CFG-012",
                        format!("template `{template}`: cannot render {text:?}: {error}"),
                    )
                    .at(span),
                ),
            }
        }
        ValueKind::Seq(items) => items
            .iter_mut()
            .for_each(|i| render_strings(i, env, context, template, problems)),
        ValueKind::Map(map) => map
            .entries_mut()
            .iter_mut()
            .for_each(|(_, v)| render_strings(v, env, context, template, problems)),
        _ => {}
    }
}

/// Rendered text back into a value, by the reference's rules.
fn convert(rendered: &str, span: Span) -> Result<ValueKind, Diagnostic> {
    match rendered {
        "" => return Ok(ValueKind::String(String::new())),
        "None" => return Ok(ValueKind::Null),
        "{}" => return Ok(ValueKind::Map(Map::new())),
        "[]" => return Ok(ValueKind::Seq(Vec::new())),
        _ => {}
    }
    let collection = if rendered.starts_with('[') && rendered.ends_with(']') {
        Some(("a list", true))
    } else if rendered.starts_with('{')
        && rendered.ends_with('}')
        && rendered.contains(':')
        && rendered.contains(['"', '\''])
    {
        Some(("a mapping", false))
    } else {
        None
    };
    if let Some((what, list)) = collection {
        let parsed = pyliteral::parse(rendered, span).map(|v| v.kind);
        return match parsed {
            Some(kind @ ValueKind::Seq(_)) if list => Ok(kind),
            Some(kind @ ValueKind::Map(_)) if !list => Ok(kind),
            _ => Err(Diagnostic::error("LHP-VAL-009", format!("the template rendered {rendered:?}, which is not {what}"))
                .at(span)
                .hint("lists render as ['a', 'b'] and mappings as {'k': 'v'}; check the parameter's value")),
        };
    }
    if rendered.eq_ignore_ascii_case("true") {
        return Ok(ValueKind::Bool(true));
    }
    if rendered.eq_ignore_ascii_case("false") {
        return Ok(ValueKind::Bool(false));
    }
    let digits = rendered.strip_prefix('-').unwrap_or(rendered);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = rendered.parse::<i64>() {
            return Ok(ValueKind::Int(i));
        }
    }
    Ok(ValueKind::String(rendered.to_owned()))
}

//! Template plugins: a directory with `lhp-plugin.yaml` (metadata, and per provided type its
//! parameters, imports and minijinja template) rendered in process. Templates can only load
//! files inside the plugin's directory, and rendering is bounded by minijinja's fuel.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use lhp_plugin::{
    load_documents, Action, ActionKind, Fragment, GenerateError, GenerateRequest, Generator,
    Limits, Map, PluginMetadata, Sources, Span, Value, ValueKind,
};
use minijinja::{Environment, UndefinedBehavior};

use crate::diagnostic::Diagnostic;
use crate::flowgroup::did_you_mean;

/// The manifest's file name.
pub const MANIFEST: &str = "lhp-plugin.yaml";

/// Fuel for one rendering: enough for any honest template, an end to endless loops.
pub const FUEL: u64 = 200_000;

/// The value types a parameter can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A sequence.
    List,
    /// A mapping.
    Mapping,
    /// Anything.
    Any,
}

impl ParamType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "list" => Self::List,
            "mapping" => Self::Mapping,
            "any" => Self::Any,
            _ => return None,
        })
    }

    fn accepts(self, value: &ValueKind) -> bool {
        match self {
            Self::String => matches!(value, ValueKind::String(_)),
            Self::Integer => matches!(value, ValueKind::Int(_)),
            Self::Number => matches!(value, ValueKind::Int(_) | ValueKind::Float(_)),
            Self::Boolean => matches!(value, ValueKind::Bool(_)),
            Self::List => matches!(value, ValueKind::Seq(_)),
            Self::Mapping => matches!(value, ValueKind::Map(_)),
            Self::Any => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Number => "a number",
            Self::Boolean => "a boolean",
            Self::List => "a list",
            Self::Mapping => "a mapping",
            Self::Any => "anything",
        }
    }
}

/// One declared parameter of a template type.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Its key in the action's configuration.
    pub name: String,
    /// The type its value must have.
    pub kind: ParamType,
    /// Whether it must be given.
    pub required: bool,
    /// Its value when not given.
    pub default: Option<Value>,
}

/// One type a template plugin provides.
#[derive(Debug, Clone)]
pub struct TemplateType {
    /// Load, transform or write.
    pub kind: ActionKind,
    /// The type name.
    pub type_name: String,
    /// The template file, relative to the plugin directory.
    pub template: String,
    /// Imports the code needs.
    pub imports: Vec<String>,
    /// Declared parameters, in declaration order.
    pub parameters: Vec<Parameter>,
    /// A configuration that works, for `lhp plugin validate`.
    pub example: Option<Value>,
}

/// A template plugin read from its directory.
#[derive(Debug)]
pub struct TemplatePlugin {
    /// Its directory.
    pub dir: PathBuf,
    /// Who it is.
    pub metadata: PluginMetadata,
    /// What it provides.
    pub types: Vec<TemplateType>,
    /// Its templates, compiled.
    pub env: Arc<Environment<'static>>,
}

/// Keys every configuration of a kind may carry without declaring them.
fn implicit_keys(kind: ActionKind) -> &'static [&'static str] {
    match kind {
        ActionKind::Transform => &["transform_type", "target", "source", "description"],
        _ => &["type"],
    }
}

struct Reader {
    problems: Vec<Diagnostic>,
}

impl Reader {
    fn error(&mut self, span: Span, message: String) {
        // The position names the file.
        self.problems
            .push(Diagnostic::error("LHP-PLUGIN-001", message).at(span));
    }

    fn string(&mut self, map: &Map, key: &str, required: bool, at: Span) -> Option<String> {
        match map.get(key) {
            Some(value) => match value.as_str() {
                Some(text) => Some(text.to_owned()),
                None if value.is_null() && !required => None,
                None => {
                    self.error(
                        value.span,
                        format!("`{key}` must be a string, not {}", value.kind.describe()),
                    );
                    None
                }
            },
            None if required => {
                self.error(at, format!("needs `{key}`"));
                None
            }
            None => None,
        }
    }

    fn strings(&mut self, map: &Map, key: &str) -> Vec<String> {
        let Some(value) = map.get(key).filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let Some(items) = value.as_seq() else {
            self.error(value.span, format!("`{key}` must be a list of strings"));
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| match item.as_str() {
                Some(text) => Some(text.to_owned()),
                None => {
                    self.error(item.span, format!("`{key}` must be a list of strings"));
                    None
                }
            })
            .collect()
    }
}

/// Reads the plugin in `dir` (its manifest added to `sources` so that problems point into it).
pub fn read_plugin(dir: &Path, sources: &mut Sources) -> Result<TemplatePlugin, Vec<Diagnostic>> {
    let path = dir.join(MANIFEST);
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| {
        vec![Diagnostic::error(
            "LHP-PLUGIN-001",
            format!("cannot read {shown}: {e}"),
        )]
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let file = sources.add(path.clone(), text);
    let documents = load_documents(file, &bytes, Limits::default()).map_err(|e| {
        vec![Diagnostic::error("LHP-PLUGIN-001", format!("{shown}: {}", e.message)).at(e.span)]
    })?;
    let top = Span::new(file, 1, 1);
    let Some(map) = documents.first().and_then(Value::as_map) else {
        return Err(vec![Diagnostic::error(
            "LHP-PLUGIN-001",
            format!(
                "{shown}: a plugin manifest is a mapping with `name`, `version` and `provides`"
            ),
        )
        .at(top)]);
    };
    let mut reader = Reader {
        problems: Vec::new(),
    };
    const KEYS: [&str; 7] = [
        "name",
        "version",
        "description",
        "author",
        "requires_lhp_version",
        "dependencies",
        "provides",
    ];
    for (key, _) in map.entries() {
        let name = key.as_str().unwrap_or_default();
        if !KEYS.contains(&name) {
            let hint = did_you_mean(name, &KEYS)
                .map(|g| format!("did you mean `{g}`?"))
                .unwrap_or_else(|| format!("the keys are {}", KEYS.join(", ")));
            reader.problems.push(
                Diagnostic::error("LHP-PLUGIN-001", format!("{shown}: unknown key `{name}`"))
                    .at(key.span)
                    .hint(hint),
            );
        }
    }
    let metadata = PluginMetadata {
        name: reader.string(map, "name", true, top).unwrap_or_default(),
        version: reader.string(map, "version", true, top).unwrap_or_default(),
        description: reader
            .string(map, "description", false, top)
            .unwrap_or_default(),
        author: reader.string(map, "author", false, top).unwrap_or_default(),
        requires_lhp_version: reader.string(map, "requires_lhp_version", false, top),
        dependencies: reader.strings(map, "dependencies"),
    };
    let mut types = Vec::new();
    match map.get("provides").map(|v| (v, v.as_seq())) {
        Some((_, Some(items))) if !items.is_empty() => {
            for item in items {
                if let Some(provided) = read_type(item, &mut reader) {
                    types.push(provided);
                }
            }
        }
        Some((value, _)) => reader.error(
            value.span,
            "`provides` must be a non-empty list of types".to_owned(),
        ),
        None => reader.error(top, "needs `provides`: the types it adds".to_owned()),
    }
    let env = environment(dir);
    for provided in &types {
        if let Err(error) = env.get_template(&provided.template) {
            reader.problems.push(
                Diagnostic::error(
                    "LHP-PLUGIN-001",
                    format!(
                        "{shown}: template {} of type `{}` cannot be used: {}",
                        provided.template,
                        provided.type_name,
                        template_error(&error)
                    ),
                )
                .at(top),
            );
        }
    }
    if !reader.problems.is_empty() {
        return Err(reader.problems);
    }
    Ok(TemplatePlugin {
        dir: dir.to_path_buf(),
        metadata,
        types,
        env: Arc::new(env),
    })
}

fn read_type(item: &Value, reader: &mut Reader) -> Option<TemplateType> {
    let Some(map) = item.as_map() else {
        reader.error(
            item.span,
            "each entry of `provides` is a mapping with `kind`, `type` and `template`".to_owned(),
        );
        return None;
    };
    const KEYS: [&str; 6] = [
        "kind",
        "type",
        "template",
        "imports",
        "parameters",
        "example",
    ];
    for (key, _) in map.entries() {
        let name = key.as_str().unwrap_or_default();
        if !KEYS.contains(&name) {
            let hint = did_you_mean(name, &KEYS)
                .map(|g| format!("did you mean `{g}`?"))
                .unwrap_or_else(|| format!("the keys of a provided type are {}", KEYS.join(", ")));
            reader.problems.push(
                Diagnostic::error("LHP-PLUGIN-001", format!("unknown key `{name}`"))
                    .at(key.span)
                    .hint(hint),
            );
        }
    }
    let kind_text = reader.string(map, "kind", true, item.span)?;
    let kind = match ActionKind::parse(&kind_text) {
        Some(kind) if kind != ActionKind::Test => kind,
        _ => {
            let at = map.get("kind").map_or(item.span, |v| v.span);
            reader.error(
                at,
                format!("`kind` must be load, transform or write, not {kind_text:?}"),
            );
            return None;
        }
    };
    let type_name = reader.string(map, "type", true, item.span)?;
    let template = reader.string(map, "template", true, item.span)?;
    let imports = reader.strings(map, "imports");
    let mut parameters = Vec::new();
    if let Some(declared) = map.get("parameters").filter(|v| !v.is_null()) {
        let Some(declared) = declared.as_map() else {
            reader.error(
                declared.span,
                "`parameters` maps each key to {type, required, default}".to_owned(),
            );
            return None;
        };
        for (name, spec) in declared.iter_str() {
            let (kind, required, default) = match spec.as_map() {
                Some(spec) => {
                    const SPEC_KEYS: [&str; 4] = ["type", "required", "default", "description"];
                    for (key, _) in spec.entries() {
                        let key_name = key.as_str().unwrap_or_default();
                        if !SPEC_KEYS.contains(&key_name) {
                            reader.error(
                                key.span,
                                format!("parameter `{name}`: unknown key `{key_name}` (type, required, default, description)"),
                            );
                        }
                    }
                    if let Some(flag) = spec.get("required").filter(|v| v.as_bool().is_none()) {
                        reader.error(
                            flag.span,
                            format!("parameter `{name}`: `required` is true or false"),
                        );
                    }
                    let kind_text = reader
                        .string(spec, "type", false, spec_span(spec, item.span))
                        .unwrap_or_else(|| "any".to_owned());
                    let Some(kind) = ParamType::parse(&kind_text) else {
                        reader.error(
                            spec.get("type").map_or(item.span, |v| v.span),
                            format!("parameter `{name}`: unknown type {kind_text:?} (string, integer, number, boolean, list, mapping, any)"),
                        );
                        continue;
                    };
                    let required = spec
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    (kind, required, spec.get("default").cloned())
                }
                None => match spec.as_str().and_then(ParamType::parse) {
                    Some(kind) => (kind, false, None),
                    None => {
                        reader.error(
                            spec.span,
                            format!("parameter `{name}`: give a type name or {{type, required, default}}"),
                        );
                        continue;
                    }
                },
            };
            parameters.push(Parameter {
                name: name.to_owned(),
                kind,
                required,
                default,
            });
        }
    }
    let example = match map.get("example").filter(|v| !v.is_null()) {
        Some(example) if example.as_map().is_some() => Some(example.clone()),
        Some(example) => {
            reader.error(
                example.span,
                "`example` must be a mapping: a configuration of the type".to_owned(),
            );
            None
        }
        None => None,
    };
    Some(TemplateType {
        kind,
        type_name,
        template,
        imports,
        parameters,
        example,
    })
}

fn spec_span(spec: &Map, fallback: Span) -> Span {
    spec.entries().first().map_or(fallback, |(k, _)| k.span)
}

/// The template environment of a plugin: its directory and nothing outside it, bounded.
fn environment(dir: &Path) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // Block tags on their own line leave no line behind; files end with their newline.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.add_filter("py", python_literal);
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    env.set_loader(move |name| load_inside(&root, name));
    env
}

/// Loads template `name` from `root`, refusing any path that leaves it.
fn load_inside(root: &Path, name: &str) -> Result<Option<String>, minijinja::Error> {
    let relative = Path::new(name);
    let escapes = relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    let outside = || {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("template {name:?} is outside the plugin's directory"),
        )
    };
    if escapes {
        return Err(outside());
    }
    let path = root.join(relative);
    let Ok(real) = path.canonicalize() else {
        return Ok(None);
    };
    // A symbolic link inside the directory may still point out of it.
    if !real.starts_with(root) {
        return Err(outside());
    }
    std::fs::read_to_string(&real)
        .map(Some)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
}

fn template_error(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    if error.kind() == minijinja::ErrorKind::OutOfFuel {
        text = format!("rendering ran out of fuel after {FUEL} steps (a loop that does not end?)");
    }
    text
}

/// The `py` filter: a value as a Python literal.
fn python_literal(value: minijinja::Value) -> String {
    use minijinja::value::ValueKind as Kind;
    match value.kind() {
        Kind::Undefined | Kind::None => "None".to_owned(),
        Kind::Bool => if value.is_true() { "True" } else { "False" }.to_owned(),
        Kind::Number => match (i64::try_from(value.clone()), f64::try_from(value.clone())) {
            (Ok(i), _) if !value.to_string().contains('.') => i.to_string(),
            (_, Ok(f)) => lhp_plugin::python_float(f),
            _ => value.to_string(),
        },
        Kind::String => lhp_generators::py::quote(value.as_str().unwrap_or_default()),
        Kind::Seq | Kind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|items| items.map(python_literal).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        Kind::Map => {
            let entries: Vec<String> = value
                .try_iter()
                .map(|keys| {
                    keys.map(|key| {
                        let item = value.get_item(&key).unwrap_or_default();
                        format!("{}: {}", python_literal(key), python_literal(item))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", entries.join(", "))
        }
        _ => lhp_generators::py::quote(&value.to_string()),
    }
}

/// A type of a template plugin, as a generator.
pub struct TemplateGenerator {
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// The type.
    pub provided: TemplateType,
    /// The plugin's templates.
    pub env: Arc<Environment<'static>>,
    /// `plugins.config.<name>`, resolved before the run.
    pub config: Arc<OnceLock<serde_json::Value>>,
}

impl TemplateGenerator {
    fn config_map(&self, action: &Action) -> Value {
        lhp_plugin::protocol::config_of(action)
    }
}

impl Generator for TemplateGenerator {
    fn kind(&self) -> ActionKind {
        self.provided.kind
    }
    fn type_name(&self) -> &str {
        &self.provided.type_name
    }
    fn provider(&self) -> &str {
        &self.plugin
    }
    fn example(&self) -> Option<serde_json::Value> {
        if let Some(example) = &self.provided.example {
            return Some(example.to_json());
        }
        // Otherwise every required parameter with a plain value of its type.
        let mut config = serde_json::Map::new();
        for parameter in self.provided.parameters.iter().filter(|p| p.required) {
            let value = match parameter.kind {
                ParamType::String | ParamType::Any => serde_json::json!("example"),
                ParamType::Integer => serde_json::json!(1),
                ParamType::Number => serde_json::json!(1.5),
                ParamType::Boolean => serde_json::json!(true),
                ParamType::List => serde_json::json!([]),
                ParamType::Mapping => serde_json::json!({}),
            };
            config.insert(parameter.name.clone(), value);
        }
        Some(serde_json::Value::Object(config))
    }
    fn validate(&self, action: &Action) -> Vec<GenerateError> {
        let config = self.config_map(action);
        let mut problems = Vec::new();
        let what = format!(
            "action `{}` ({} type `{}` of plugin `{}`)",
            action.name.value, self.provided.kind, self.provided.type_name, self.plugin
        );
        let Some(map) = config.as_map() else {
            return vec![GenerateError::new(
                "LHP-PLUGIN-011",
                format!("{what}: its configuration must be a mapping"),
            )
            .at(config.span)];
        };
        let declared: Vec<&str> = self
            .provided
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        for (key, _) in map.entries() {
            let name = key.as_str().unwrap_or_default();
            if declared.contains(&name) || implicit_keys(self.provided.kind).contains(&name) {
                continue;
            }
            let hint = did_you_mean(name, &declared)
                .map(|g| format!("did you mean `{g}`?"))
                .unwrap_or_else(|| format!("its parameters are: {}", declared.join(", ")));
            problems.push(
                GenerateError::new(
                    "LHP-PLUGIN-011",
                    format!("{what}: unknown parameter `{name}`"),
                )
                .at(key.span)
                .hint(hint),
            );
        }
        for parameter in &self.provided.parameters {
            match map.get(&parameter.name) {
                None if parameter.required => problems.push(
                    GenerateError::new(
                        "LHP-PLUGIN-011",
                        format!("{what}: needs `{}`", parameter.name),
                    )
                    .at(config.span)
                    .hint(format!(
                        "{}: {}",
                        parameter.name,
                        parameter.kind.name()
                    )),
                ),
                Some(value) if !parameter.kind.accepts(&value.kind) => problems.push(
                    GenerateError::new(
                        "LHP-PLUGIN-011",
                        format!(
                            "{what}: `{}` must be {}, not {}",
                            parameter.name,
                            parameter.kind.name(),
                            value.kind.describe()
                        ),
                    )
                    .at(value.span),
                ),
                _ => {}
            }
        }
        problems
    }
    fn generate(&self, request: &GenerateRequest<'_>) -> Result<Fragment, GenerateError> {
        if let Some(problem) = self.validate(request.action).into_iter().next() {
            return Err(problem);
        }
        let action = request.action;
        let Some(plugin_config) = self.config.get().cloned() else {
            return Err(GenerateError::new(
                "LHP-PLUGIN-013",
                format!(
                    "plugin `{}` is not used: its settings (plugins.config.{}) could not be resolved",
                    self.plugin, self.plugin
                ),
            )
            .at(action.span()));
        };
        let mut config = match self.config_map(action).to_json() {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        for parameter in &self.provided.parameters {
            if let Some(default) = &parameter.default {
                config
                    .entry(parameter.name.clone())
                    .or_insert_with(|| default.to_json());
            }
        }
        let sources = action.reads();
        let context = request.context;
        let values = serde_json::json!({
            "name": action.name.value,
            "kind": action.kind.as_str(),
            "type": self.provided.type_name,
            "target": action.target.as_ref().map(|t| t.value.clone()),
            "sources": sources,
            "source": sources.first(),
            "description": action.field("description").and_then(Value::as_str),
            "config": config,
            "pipeline": context.pipeline(),
            "flowgroup": context.flowgroup(),
            "env": context.env(),
            "plugin": {
                "name": self.plugin,
                "version": self.version,
                "config": plugin_config,
            },
        });
        let failed = |error: &minijinja::Error| {
            GenerateError::new(
                "LHP-PLUGIN-009",
                format!(
                    "plugin `{}`: template {} failed for action `{}`: {}",
                    self.plugin,
                    self.provided.template,
                    action.name.value,
                    template_error(error)
                ),
            )
            .at(action.span())
        };
        let template = self
            .env
            .get_template(&self.provided.template)
            .map_err(|e| failed(&e))?;
        let code = template
            .render(minijinja::Value::from(minijinja::value::Serde(&values)))
            .map_err(|e| failed(&e))?;
        Ok(Fragment {
            code,
            imports: self.provided.imports.clone(),
            ..Fragment::default()
        })
    }
}

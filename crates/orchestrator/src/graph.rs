//! The dependency graph of a project: the tables each flowgroup reads and writes, and
//! through their names the edges between flowgroups and between pipelines, with the cycles
//! among them named. Reads come from sources (`catalog.schema.table`, CDC sources) and
//! from the SQL of loads, transforms and materialized views (inline or `sql_path`); writes
//! are the streaming tables and materialized views a flowgroup declares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lhp_plugin::{Action, ActionKind, Value, ValueKind};

use crate::load::LoadedProject;
use crate::substitution::Substitutions;

/// One flowgroup in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowgroupNode {
    /// Its pipeline.
    pub pipeline: String,
    /// Its name.
    pub name: String,
    /// The tables it reads (full names as written, lowercased), its own views left out.
    pub reads: BTreeSet<String>,
    /// Each table it writes, with the tables its data comes from (through its views).
    pub feeds: BTreeMap<String, BTreeSet<String>>,
}

impl FlowgroupNode {
    /// The tables it writes.
    pub fn writes(&self) -> impl Iterator<Item = &String> {
        self.feeds.keys()
    }

    /// `pipeline/flowgroup`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.pipeline, self.name)
    }
}

/// An edge: `from` writes the tables that `to` reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The writer (an index into [`Graph::flowgroups`], or a pipeline name).
    pub from: String,
    /// The reader.
    pub to: String,
    /// The tables that make the edge.
    pub tables: BTreeSet<String>,
}

/// A project's dependency graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Every flowgroup, in pipeline and name order.
    pub flowgroups: Vec<FlowgroupNode>,
    /// Every pipeline, with its flowgroups' ids.
    pub pipelines: BTreeMap<String, Vec<String>>,
    /// Each table read or written: the flowgroups writing it and reading it, by id.
    pub tables: BTreeMap<String, TableNode>,
    /// Flowgroup to flowgroup, by id (a flowgroup reading its own table makes none).
    pub flowgroup_edges: Vec<Edge>,
    /// Pipeline to pipeline (edges within a pipeline left out).
    pub pipeline_edges: Vec<Edge>,
    /// Cycles among flowgroups, each as ids from a flowgroup back to itself. Within one
    /// pipeline they are harmless as long as the tables make no cycle.
    pub flowgroup_cycles: Vec<Vec<String>>,
    /// Cycles among tables (a table computed, through others, from itself): no pipeline
    /// can run them.
    pub table_cycles: Vec<Vec<String>>,
    /// Cycles among pipelines: their flowgroups may be fine, but no order runs the
    /// pipelines one after another.
    pub pipeline_cycles: Vec<Vec<String>>,
    /// The pipelines in an order that runs each after those it reads from (those in a
    /// cycle last, by name).
    pub pipeline_order: Vec<String>,
}

/// A table in the graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNode {
    /// The flowgroups writing it, by id.
    pub written_by: BTreeSet<String>,
    /// The flowgroups reading it, by id.
    pub read_by: BTreeSet<String>,
}

impl TableNode {
    /// Whether no flowgroup of the project writes it (a source outside the project).
    pub fn external(&self) -> bool {
        self.written_by.is_empty()
    }
}

/// Builds the graph of `project`'s flowgroups; `sql_path` files are read under `root` and
/// substituted with the project's tokens (a file that cannot be read adds no reads).
pub fn build(root: &Path, project: &LoadedProject) -> Graph {
    let mut flowgroups: Vec<FlowgroupNode> = project
        .flowgroups
        .iter()
        .map(|f| {
            let (reads, feeds) = tables_of(&f.model.actions, root, &project.substitutions);
            FlowgroupNode {
                pipeline: f.pipeline().to_owned(),
                name: f.name().to_owned(),
                reads,
                feeds,
            }
        })
        .collect();
    flowgroups.sort_by(|a, b| (&a.pipeline, &a.name).cmp(&(&b.pipeline, &b.name)));
    // Views of a pipeline are visible to all its flowgroups: they are not tables.
    let mut views: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for flowgroup in &project.flowgroups {
        let produced = views.entry(flowgroup.pipeline()).or_default();
        for action in &flowgroup.model.actions {
            if action.kind != ActionKind::Write {
                if let Some(target) = &action.target {
                    produced.insert(target.value.to_lowercase());
                }
            }
        }
    }
    for node in &mut flowgroups {
        if let Some(produced) = views.get(node.pipeline.as_str()) {
            node.reads.retain(|t| !produced.contains(t));
            for sources in node.feeds.values_mut() {
                sources.retain(|t| !produced.contains(t));
            }
        }
    }
    let mut graph = Graph::default();
    for node in &flowgroups {
        for table in node.writes() {
            let entry = graph.tables.entry(table.clone()).or_default();
            entry.written_by.insert(node.id());
        }
    }
    // A read names a written table in full, or by its last parts when only one written
    // table ends so (`silver.rides` for `main.silver.rides`).
    let written: BTreeSet<String> = graph.tables.keys().cloned().collect();
    let resolve = |read: &str| -> String {
        if written.contains(read) {
            return read.to_owned();
        }
        let suffix = format!(".{read}");
        let matches: Vec<&String> = written.iter().filter(|w| w.ends_with(&suffix)).collect();
        match matches.as_slice() {
            [only] => (*only).clone(),
            _ => read.to_owned(),
        }
    };
    for node in &mut flowgroups {
        node.reads = node.reads.iter().map(|r| resolve(r)).collect();
        for sources in node.feeds.values_mut() {
            *sources = sources.iter().map(|r| resolve(r)).collect();
        }
    }
    for node in &flowgroups {
        for table in &node.reads {
            let entry = graph.tables.entry(table.clone()).or_default();
            entry.read_by.insert(node.id());
        }
        graph
            .pipelines
            .entry(node.pipeline.clone())
            .or_default()
            .push(node.id());
    }
    for pipeline in &project.pipelines {
        graph.pipelines.entry(pipeline.clone()).or_default();
    }
    let mut fg_edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut pipeline_edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let pipeline_of: BTreeMap<String, String> = flowgroups
        .iter()
        .map(|n| (n.id(), n.pipeline.clone()))
        .collect();
    for (table, node) in &graph.tables {
        for writer in &node.written_by {
            for reader in &node.read_by {
                if writer == reader {
                    continue;
                }
                fg_edges
                    .entry((writer.clone(), reader.clone()))
                    .or_default()
                    .insert(table.clone());
                let (from, to) = (&pipeline_of[writer], &pipeline_of[reader]);
                if from != to {
                    pipeline_edges
                        .entry((from.clone(), to.clone()))
                        .or_default()
                        .insert(table.clone());
                }
            }
        }
    }
    let edges = |map: BTreeMap<(String, String), BTreeSet<String>>| -> Vec<Edge> {
        map.into_iter()
            .map(|((from, to), tables)| Edge { from, to, tables })
            .collect()
    };
    graph.flowgroup_edges = edges(fg_edges);
    graph.pipeline_edges = edges(pipeline_edges);
    let flowgroup_ids: Vec<String> = flowgroups.iter().map(FlowgroupNode::id).collect();
    graph.flowgroup_cycles = cycles(&flowgroup_ids, &graph.flowgroup_edges);
    let mut table_edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for node in &flowgroups {
        for (table, sources) in &node.feeds {
            for source in sources {
                table_edges
                    .entry((source.clone(), table.clone()))
                    .or_default()
                    .insert(node.id());
            }
        }
    }
    let table_names: Vec<String> = graph.tables.keys().cloned().collect();
    graph.table_cycles = cycles(&table_names, &edges(table_edges));
    let pipeline_names: Vec<String> = graph.pipelines.keys().cloned().collect();
    graph.pipeline_cycles = cycles(&pipeline_names, &graph.pipeline_edges);
    graph.pipeline_order = order(&pipeline_names, &graph.pipeline_edges);
    graph.flowgroups = flowgroups;
    graph
}

/// The tables a flowgroup's actions read, and each table it writes with the tables (or
/// the views of other flowgroups) its data comes from.
fn tables_of(
    actions: &[Action],
    root: &Path,
    substitutions: &Substitutions,
) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    // What each action reads: view and table names.
    let inputs: Vec<BTreeSet<String>> = actions
        .iter()
        .map(|action| {
            let mut names = BTreeSet::new();
            // Of the loads, only delta reads a table by its source; the others read files,
            // streams or other databases (and a SQL load's tables are in its SQL).
            let reads_tables =
                action.kind != ActionKind::Load || action.subtype_str() == Some("delta");
            for read in action.reads().into_iter().filter(|_| reads_tables) {
                let read = strip_live(&read.to_lowercase());
                // Paths (cloudfiles, files) are not tables.
                if !read.contains('/') && !read.is_empty() {
                    names.insert(read);
                }
            }
            for sql in sql_texts(action, root, substitutions) {
                names.extend(sql_tables(&sql));
            }
            names
        })
        .collect();
    let producer: BTreeMap<String, usize> = actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| Some((a.target.as_ref()?.value.to_lowercase(), i)))
        .collect();
    // The tables behind an action: its inputs, through the views of this flowgroup.
    let upstream = |start: usize| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(at) = stack.pop() {
            for name in &inputs[at] {
                match producer.get(name) {
                    Some(&by) if seen.insert(by) => stack.push(by),
                    Some(_) => {}
                    None => {
                        found.insert(name.clone());
                    }
                }
            }
        }
        found
    };
    let mut feeds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (i, action) in actions.iter().enumerate() {
        if let Some(table) = written_table(action) {
            feeds
                .entry(table.to_lowercase())
                .or_default()
                .extend(upstream(i));
        }
    }
    let reads: BTreeSet<String> = inputs
        .into_iter()
        .flatten()
        .filter(|name| !producer.contains_key(name))
        .collect();
    (reads, feeds)
}

/// The full name of the table a write declares (streaming tables and materialized views).
fn written_table(action: &Action) -> Option<String> {
    let target = action.write_target()?;
    let kind = target.get("type").and_then(Value::as_str)?;
    if !matches!(kind, "streaming_table" | "materialized_view") {
        return None;
    }
    let table = target.get("table").and_then(Value::as_str)?;
    let part = |k: &str| target.get(k).and_then(Value::as_str).unwrap_or_default();
    Some(match (part("catalog"), part("schema"), part("database")) {
        (c, s, _) if !c.is_empty() && !s.is_empty() => format!("{c}.{s}.{table}"),
        (_, s, _) if !s.is_empty() => format!("{s}.{table}"),
        (_, _, d) if !d.is_empty() => format!("{d}.{table}"),
        _ => table.to_owned(),
    })
}

/// The SQL an action runs: every `sql` text, and every `sql_path` file, in it.
fn sql_texts(action: &Action, root: &Path, substitutions: &Substitutions) -> Vec<String> {
    let mut texts = Vec::new();
    let mut walk = Vec::new();
    walk.push(action.value());
    while let Some(value) = walk.pop() {
        match &value.kind {
            ValueKind::Map(map) => {
                for (key, inner) in map.iter_str() {
                    match (key, inner.as_str()) {
                        ("sql", Some(sql)) => texts.push(sql.to_owned()),
                        ("sql_path", Some(path)) => {
                            if let Some(sql) = read_sql(root, path, substitutions) {
                                texts.push(sql);
                            }
                        }
                        _ => walk.push(inner),
                    }
                }
            }
            ValueKind::Seq(items) => walk.extend(items.iter()),
            _ => {}
        }
    }
    texts
}

/// A `sql_path` file with the environment's tokens substituted.
fn read_sql(root: &Path, path: &str, substitutions: &Substitutions) -> Option<String> {
    let text = std::fs::read_to_string(root.join(path.replace('\\', "/"))).ok()?;
    let mut value = Value::new(
        lhp_plugin::Span::new(lhp_plugin::Sources::new().add(path, String::new()), 1, 1),
        ValueKind::String(text),
    );
    substitutions.substitute(&mut value, &mut Vec::new(), &mut Vec::new());
    value.as_str().map(str::to_owned)
}

/// `live.name` is how older pipelines name their own datasets: the name itself.
fn strip_live(name: &str) -> String {
    name.strip_prefix("live.").unwrap_or(name).to_owned()
}

/// A token of SQL, as much as table references need.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A word or a quoted identifier (backticks removed), lowercased.
    Word(String),
    /// `.`
    Dot,
    /// `(`
    Open,
    /// `)`
    Close,
    /// `,`
    Comma,
    /// Anything else (operators, strings, numbers).
    Other,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' | '"' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Other);
            }
            '`' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                let word: String = chars[start..i.min(chars.len())].iter().collect();
                tokens.push(Token::Word(word.to_lowercase()));
                i += 1;
            }
            '.' => {
                tokens.push(Token::Dot);
                i += 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' || c == '{' || c == '}' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$' | '{' | '}'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(Token::Word(word.to_lowercase()));
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                tokens.push(Token::Other);
                i += 1;
            }
        }
    }
    tokens
}

/// Words after which a name is not an alias of the table before it.
const CLAUSE_WORDS: [&str; 24] = [
    "where",
    "group",
    "order",
    "having",
    "limit",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "cross",
    "outer",
    "on",
    "using",
    "union",
    "except",
    "intersect",
    "window",
    "lateral",
    "natural",
    "anti",
    "semi",
    "qualify",
    "pivot",
];

/// The tables a SQL text reads: names after `FROM` and `JOIN` (through `STREAM(...)`,
/// `STREAM name` and `LIVE.`), its common table expressions left out, lowercased.
pub fn sql_tables(sql: &str) -> BTreeSet<String> {
    let tokens = tokenize(sql);
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    // `WITH name AS (`, `, name AS (`, and the same with a column list `name (a, b) AS (`:
    // names of the query's own.
    let mut ctes = BTreeSet::new();
    for i in 0..tokens.len() {
        let Some(name) = word(i) else { continue };
        let mut after = i + 1;
        if tokens.get(after) == Some(&Token::Open) {
            let mut depth = 0usize;
            while let Some(token) = tokens.get(after) {
                match token {
                    Token::Open => depth += 1,
                    Token::Close => depth = depth.saturating_sub(1),
                    _ => {}
                }
                after += 1;
                if depth == 0 {
                    break;
                }
            }
        }
        if word(after) == Some("as") && tokens.get(after + 1) == Some(&Token::Open) {
            let before = if i == 0 { None } else { tokens.get(i - 1) };
            let starts = matches!(before, Some(Token::Comma))
                || matches!(before, Some(Token::Word(w)) if w == "with" || w == "recursive");
            if starts {
                ctes.insert(name.to_owned());
            }
        }
    }
    // Whether a SELECT came before each token within its parentheses: a FROM outside a
    // SELECT's clauses belongs to a function (`EXTRACT(YEAR FROM ts)`, `TRIM(x FROM y)`).
    let mut in_select = Vec::with_capacity(tokens.len());
    let mut levels = vec![false];
    for token in &tokens {
        in_select.push(levels.last().copied().unwrap_or(false));
        match token {
            Token::Open => levels.push(false),
            Token::Close if levels.len() > 1 => {
                levels.pop();
            }
            Token::Word(w) if w == "select" => {
                if let Some(level) = levels.last_mut() {
                    *level = true;
                }
            }
            _ => {}
        }
    }
    let mut tables = BTreeSet::new();
    // A qualified name starting at `i`: the name and the index after it.
    let name_at = |mut i: usize| -> Option<(String, usize)> {
        let mut parts = vec![word(i)?.to_owned()];
        i += 1;
        while tokens.get(i) == Some(&Token::Dot) {
            parts.push(word(i + 1)?.to_owned());
            i += 2;
        }
        Some((parts.join("."), i))
    };
    let mut i = 0;
    while i < tokens.len() {
        let is_from = match word(i) {
            Some("join") => true,
            // `IS [NOT] DISTINCT FROM` compares; it reads nothing.
            Some("from") => in_select[i] && !(i > 0 && word(i - 1) == Some("distinct")),
            _ => false,
        };
        i += 1;
        if !is_from {
            continue;
        }
        // One or more comma-separated references.
        loop {
            let mut at = i;
            let stream = word(at) == Some("stream");
            if stream {
                at += 1;
            }
            let wrapped = tokens.get(at) == Some(&Token::Open);
            if wrapped {
                if !stream {
                    break; // A subquery: its own FROM is found on the way.
                }
                at += 1;
            }
            let Some((name, after)) = name_at(at) else {
                break;
            };
            // A table-valued function (`read_files(...)`) is not a table.
            if !wrapped && tokens.get(after) == Some(&Token::Open) {
                break;
            }
            let name = strip_live(&name);
            if !ctes.contains(&name) && name != "select" {
                tables.insert(name);
            }
            let mut next = after;
            if wrapped && tokens.get(next) == Some(&Token::Close) {
                next += 1;
            }
            // An alias: `AS x` or a bare word that starts no clause.
            if word(next) == Some("as") {
                next += 2;
            } else if word(next).is_some_and(|w| !CLAUSE_WORDS.contains(&w)) {
                next += 1;
            }
            if tokens.get(next) == Some(&Token::Comma) {
                i = next + 1;
                continue;
            }
            i = next;
            break;
        }
    }
    tables
}

/// The cycles of a directed graph: one per strongly connected component of two or more
/// nodes, as the nodes of a cycle through it, from its first node (by name) back to it.
fn cycles(nodes: &[String], edges: &[Edge]) -> Vec<Vec<String>> {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for edge in edges {
        if let (Some(&a), Some(&b)) = (index.get(edge.from.as_str()), index.get(edge.to.as_str())) {
            next[a].push(b);
        }
    }
    let components = strongly_connected(&next);
    let mut found = Vec::new();
    for component in components.into_iter().filter(|c| c.len() > 1) {
        let members: BTreeSet<usize> = component.iter().copied().collect();
        let Some(&start) = members.iter().min_by_key(|&&i| &nodes[i]) else {
            continue;
        };
        // Breadth-first from the start, inside the component, back to the start.
        let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(node) = queue.pop_front() {
            for &child in &next[node] {
                if !members.contains(&child) {
                    continue;
                }
                if child == start {
                    closing = Some(node);
                    break;
                }
                if let std::collections::btree_map::Entry::Vacant(entry) = parent.entry(child) {
                    entry.insert(node);
                    queue.push_back(child);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let Some(mut node) = closing else {
            continue;
        };
        let mut path = vec![nodes[start].clone()];
        let mut back = vec![node];
        while let Some(&p) = parent.get(&node) {
            back.push(p);
            node = p;
        }
        back.reverse();
        path.extend(
            back.into_iter()
                .filter(|&n| n != start)
                .map(|n| nodes[n].clone()),
        );
        path.push(nodes[start].clone());
        found.push(path);
    }
    found.sort();
    found
}

/// Tarjan's strongly connected components, iteratively.
fn strongly_connected(next: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = next.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut counter = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (node, ref mut child_at)) = work.last_mut() {
            if *child_at == 0 && index[node] == usize::MAX {
                index[node] = counter;
                low[node] = counter;
                counter += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&child) = next[node].get(*child_at) {
                *child_at += 1;
                if index[child] == usize::MAX {
                    work.push((child, 0));
                } else if on_stack[child] {
                    low[node] = low[node].min(index[child]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut component = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// A topological order (Kahn's, ready nodes by name); nodes left in cycles go last.
fn order(nodes: &[String], edges: &[Edge]) -> Vec<String> {
    let mut incoming: BTreeMap<&str, usize> = nodes.iter().map(|n| (n.as_str(), 0)).collect();
    for edge in edges {
        if let Some(count) = incoming.get_mut(edge.to.as_str()) {
            *count += 1;
        }
    }
    let mut ready: BTreeSet<&str> = incoming
        .iter()
        .filter(|(_, &c)| c == 0)
        .map(|(&n, _)| n)
        .collect();
    let mut ordered = Vec::new();
    while let Some(node) = ready.pop_first() {
        ordered.push(node.to_owned());
        for edge in edges.iter().filter(|e| e.from == node) {
            if let Some(count) = incoming.get_mut(edge.to.as_str()) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(edge.to.as_str());
                }
            }
        }
    }
    for node in nodes {
        if !ordered.contains(node) {
            ordered.push(node.clone());
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn sql_tables_follow_from_and_join_through_stream_and_live() {
        let sql = "SELECT a.*, b.x FROM STREAM(live.orders) a \
                   LEFT JOIN main.sales.customers AS b ON a.id = b.id \
                   JOIN `main`.`ref`.`regions` r USING (region)";
        assert_eq!(
            sql_tables(sql),
            set(&["orders", "main.sales.customers", "main.ref.regions"])
        );
        assert_eq!(
            sql_tables("select * from stream raw.events"),
            set(&["raw.events"])
        );
        assert_eq!(
            sql_tables("SELECT 1 FROM a, b x, c AS y WHERE 1=1"),
            set(&["a", "b", "c"])
        );
    }

    #[test]
    fn sql_tables_leave_out_ctes_subqueries_functions_strings_and_comments() {
        let sql = "WITH recent AS (SELECT * FROM s.orders WHERE ts > '2024 from x'), \
                   totals AS (SELECT id FROM recent) \
                   -- FROM commented.out \n\
                   SELECT * FROM totals JOIN (SELECT * FROM s.items) i ON true \
                   /* JOIN hidden.t */ \
                   CROSS JOIN read_files('/Volumes/x') f";
        assert_eq!(sql_tables(sql), set(&["s.orders", "s.items"]));
    }

    #[test]
    fn sql_tables_leave_out_functions_that_say_from_and_ctes_with_columns() {
        let sql = "WITH recent (id, ts) AS (SELECT id, ts FROM s.orders) \
                   SELECT EXTRACT(YEAR FROM ts) AS y, TRIM(BOTH ' ' FROM name), \
                   SUBSTRING(code FROM 2), a IS DISTINCT FROM b \
                   FROM recent JOIN s.names USING (id)";
        assert_eq!(sql_tables(sql), set(&["s.orders", "s.names"]));
    }

    #[test]
    fn cycles_are_named_from_their_first_node_and_order_puts_readers_after_writers() {
        let edge = |from: &str, to: &str| Edge {
            from: from.into(),
            to: to.into(),
            tables: BTreeSet::new(),
        };
        let nodes: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| (*s).into()).collect();
        let edges = vec![
            edge("b", "c"),
            edge("c", "d"),
            edge("d", "b"),
            edge("a", "b"),
        ];
        assert_eq!(cycles(&nodes, &edges), vec![vec!["b", "c", "d", "b"]]);
        let acyclic = vec![edge("c", "a"), edge("b", "a"), edge("d", "c")];
        assert_eq!(order(&nodes, &acyclic), vec!["b", "d", "c", "a"]);
        assert!(cycles(&nodes, &acyclic).is_empty());
    }
}

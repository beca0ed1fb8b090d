//! Lays out generated Python the way `ruff format` (line length 88) would, so that the
//! output needs no formatter: long statements are split at their brackets (the contents on
//! one indented line when they fit, else one element per line with a trailing comma), long
//! method chains are wrapped in parentheses with one call per line, and blank lines around
//! functions follow the formatter's rules.
//!
//! It understands the statements generators write (assignments, calls, decorators,
//! `return`, `def`, comments). A statement it cannot read, one spanning several lines
//! already, or one holding a multi-line string, is left exactly as written (as is everything
//! between `# fmt: off` and `# fmt: on`), so the worst
//! case is text that is not reflowed, never text that changes meaning.

use std::borrow::Cow;

/// The formatter's line length.
const WIDTH: usize = 88;

/// Lays out `source` (one logical line per statement) as `ruff format` would.
pub fn format_module(source: &str) -> String {
    // Lines borrow from `source` unless the formatter changes them: most lines are copied
    // once, into the result.
    let mut laid_out: Vec<OutLine> = Vec::new();
    for statement in split_statements(source) {
        match statement {
            Statement::Blank => laid_out.push(OutLine::Blank),
            Statement::Line(line) => {
                let line = normalize_quotes(line);
                match reflow(&line) {
                    Some(pieces) => {
                        push_statement(&mut laid_out, pieces.into_iter().map(Cow::Owned))
                    }
                    None => laid_out.push(OutLine::Start(line)),
                }
            }
            Statement::Verbatim(group) => {
                push_statement(&mut laid_out, group.into_iter().map(Cow::Borrowed));
            }
        }
    }
    let mut text = String::with_capacity(source.len());
    blank_lines(&laid_out, &mut text);
    while text.ends_with('\n') {
        text.pop();
    }
    text.push('\n');
    text
}

/// Adds a statement laid out over `pieces`: its first line, then the lines continuing it.
fn push_statement<'a>(out: &mut Vec<OutLine<'a>>, mut pieces: impl Iterator<Item = Cow<'a, str>>) {
    if let Some(first) = pieces.next() {
        out.push(OutLine::Start(first));
    }
    out.extend(pieces.map(OutLine::Continuation));
}

/// A laid-out line: a blank line between statements, the first line of a statement, or a
/// line continuing one (kept as it is, blank or not).
enum OutLine<'a> {
    Blank,
    Start(Cow<'a, str>),
    Continuation(Cow<'a, str>),
}

/// A statement as read: a blank line, a single physical line (or lines joined into one),
/// or several kept verbatim.
enum Statement<'a> {
    Blank,
    Line(Cow<'a, str>),
    Verbatim(Vec<&'a str>),
}

/// Groups physical lines into statements: a line whose brackets or triple-quoted strings
/// stay open takes the following lines with it.
fn split_statements(source: &str) -> Vec<Statement<'_>> {
    let lines: Vec<&str> = source.lines().collect();
    let mut statements = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let raw = lines[at];
        let line = raw.trim_end();
        if line.trim().is_empty() {
            statements.push(Statement::Blank);
            at += 1;
            continue;
        }
        // Code laid out by hand between `# fmt: off` and `# fmt: on` stays as it is, as the
        // formatter leaves it.
        if line.trim() == "# fmt: off" {
            let mut group = Vec::new();
            while at < lines.len() {
                let kept = lines[at].trim_end();
                group.push(kept);
                at += 1;
                if kept.trim() == "# fmt: on" {
                    break;
                }
            }
            statements.push(Statement::Verbatim(group));
            continue;
        }
        let mut state = ScanState::default();
        state.scan(line);
        if state.is_closed() {
            statements.push(Statement::Line(Cow::Borrowed(line)));
            at += 1;
            continue;
        }
        // The first line may open a string whose text goes on; keep its end as written.
        let mut holds_string = state.in_string.is_some();
        let mut group = vec![if state.in_string.is_some() { raw } else { line }];
        at += 1;
        while at < lines.len() && !state.is_closed() {
            // Inside a string the text is kept exactly, trailing spaces included.
            let next = if state.in_string.is_some() {
                lines[at]
            } else {
                lines[at].trim_end()
            };
            let in_string_before = state.in_string.is_some();
            state.scan(next);
            group.push(next);
            at += 1;
            holds_string |= in_string_before || state.in_string.is_some();
        }
        // A statement already split over lines, without multi-line strings or comments, is
        // laid out again from one line, as the formatter would.
        if !holds_string && state.is_closed() && joinable(&group) {
            let mut joined = group[0].to_owned();
            for piece in &group[1..] {
                joined.push(' ');
                joined.push_str(piece.trim());
            }
            statements.push(Statement::Line(Cow::Owned(joined)));
            continue;
        }
        statements.push(Statement::Verbatim(group));
    }
    statements
}

/// Whether a statement split over `group`'s lines can be read as one line.
fn joinable(group: &[&str]) -> bool {
    let first = group[0].trim_start();
    let keyword = first.split([' ', '(', ':']).next().unwrap_or_default();
    let compound = [
        "def", "class", "if", "elif", "else", "while", "for", "with", "async", "try", "except",
        "finally", "import", "from", "lambda", "match", "case",
    ];
    !compound.contains(&keyword) && group.iter().all(|line| !has_comment(line))
}

/// Whether a line holds a comment (a `#` outside strings).
fn has_comment(line: &str) -> bool {
    let mut in_quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match (in_quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => in_quote = None,
            (None, '"' | '\'') => in_quote = Some(c),
            (None, '#') => return true,
            _ => {}
        }
    }
    false
}

/// How open a statement is after the lines scanned so far.
#[derive(Default)]
struct ScanState {
    depth: i32,
    /// The delimiter of a triple-quoted string still open.
    in_string: Option<&'static str>,
    /// A line ending in a backslash continues.
    continued: bool,
}

impl ScanState {
    fn is_closed(&self) -> bool {
        self.depth <= 0 && self.in_string.is_none() && !self.continued
    }

    fn scan(&mut self, line: &str) {
        let bytes = line.as_bytes();
        let mut i = 0;
        self.continued = false;
        while i < bytes.len() {
            if let Some(delimiter) = self.in_string {
                if bytes[i..].starts_with(delimiter.as_bytes()) {
                    self.in_string = None;
                    i += 3;
                } else if bytes[i] == b'\\' {
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            match bytes[i] {
                b'#' => return,
                b'(' | b'[' | b'{' => self.depth += 1,
                b')' | b']' | b'}' => self.depth -= 1,
                b'\\' if i + 1 == bytes.len() => self.continued = true,
                b'"' | b'\'' => {
                    let triple = if bytes[i] == b'"' { "\"\"\"" } else { "'''" };
                    if bytes[i..].starts_with(triple.as_bytes()) {
                        self.in_string = Some(triple);
                        i += 3;
                        continue;
                    }
                    // A one-line string: skip to its closing quote.
                    let quote = bytes[i];
                    i += 1;
                    while i < bytes.len() && bytes[i] != quote {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// One token of a statement and whether whitespace preceded it.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    spaced: bool,
}

impl Token {
    fn is_open(&self) -> bool {
        matches!(self.text.as_str(), "(" | "[" | "{")
    }
    fn is_close(&self) -> bool {
        matches!(self.text.as_str(), ")" | "]" | "}")
    }
}

/// Splits one line of code (no comment, no multi-line string) into tokens; `None` when it
/// holds something this module does not read.
fn tokenize(code: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut spaced = false;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' {
            spaced = true;
            i += 1;
            continue;
        }
        let start = i;
        if c == '#' || c == '\\' || c == ';' || c == '\t' {
            return None;
        }
        let string_start = {
            let mut j = i;
            while j < chars.len() && j - i < 2 && "rRbBfFuU".contains(chars[j]) {
                j += 1;
            }
            (j < chars.len() && (chars[j] == '"' || chars[j] == '\'')).then_some(j)
        };
        if let Some(quote_at) = string_start {
            let quote = chars[quote_at];
            let triple = chars.get(quote_at..quote_at + 3) == Some(&[quote, quote, quote][..]);
            let mut j = quote_at + if triple { 3 } else { 1 };
            loop {
                if j >= chars.len() {
                    return None;
                }
                if chars[j] == '\\' {
                    j += 2;
                    continue;
                }
                if triple {
                    if chars.get(j..j + 3) == Some(&[quote, quote, quote][..]) {
                        j += 3;
                        break;
                    }
                } else if chars[j] == quote {
                    j += 1;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            // A number's fraction or exponent belongs to it.
            if c.is_ascii_digit() {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
        } else {
            let next = |ahead: usize| chars.get(i + ahead).copied().unwrap_or('\0');
            let three = [c, next(1), next(2)];
            let two = [c, next(1)];
            let width = if [['*', '*', '='], ['/', '/', '='], ['.', '.', '.']].contains(&three) {
                3
            } else if [
                ['=', '='],
                ['!', '='],
                ['<', '='],
                ['>', '='],
                ['*', '*'],
                ['-', '>'],
                ['+', '='],
                ['-', '='],
                ['*', '='],
                ['/', '='],
                ['/', '/'],
                [':', '='],
            ]
            .contains(&two)
            {
                2
            } else if "()[]{}.,:=+-*/%<>|&@~^".contains(c) {
                1
            } else {
                return None;
            };
            i += width;
        }
        tokens.push(Token {
            text: chars[start..i].iter().collect(),
            spaced,
        });
        spaced = false;
    }
    Some(tokens)
}

/// The tokens as one line, with the spacing they were written with (a run of spaces as
/// one), none after an opening bracket or before a closing one.
fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (index, token) in tokens.iter().enumerate() {
        let glued_after =
            index > 0 && (tokens[index - 1].is_open() || tokens[index - 1].text == ".");
        let glued_before = token.is_close() || token.text == "." || token.text == ",";
        if index > 0 && token.spaced && !glued_after && !glued_before {
            out.push(' ');
        }
        out.push_str(&token.text);
    }
    out
}

/// Display width of a line (characters; wide characters are rare in generated code).
fn width(line: &str) -> usize {
    line.chars().count()
}

/// The index of the bracket matching the opener at `open`.
fn matching(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (index, token) in tokens.iter().enumerate().skip(open) {
        if token.is_open() {
            depth += 1;
        } else if token.is_close() {
            depth -= 1;
            if depth == 0 {
                return Some(index);
            }
        }
    }
    None
}

/// The index of the bracket that the closer at `close` matches, found walking back (one
/// pass, where trying each earlier token with [`matching`] took one pass per token).
fn opening(tokens: &[Token], close: usize) -> Option<usize> {
    let mut depth = 0;
    for index in (0..=close).rev() {
        if tokens[index].is_close() {
            depth += 1;
        } else if tokens[index].is_open() {
            depth -= 1;
            if depth == 0 {
                return Some(index);
            }
        }
    }
    None
}

/// Indices of the tokens at bracket depth 0 for which `wanted` holds.
fn top_level(tokens: &[Token], wanted: impl Fn(usize, &Token) -> bool) -> Vec<usize> {
    let mut depth = 0;
    let mut found = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        if token.is_open() {
            depth += 1;
        } else if token.is_close() {
            depth -= 1;
        } else if depth == 0 && wanted(index, token) {
            found.push(index);
        }
    }
    found
}

/// Lays out one physical line, split when it is too long; `None` when it stays as written
/// (most lines), so that the caller keeps it without a copy.
fn reflow(line: &str) -> Option<Vec<String>> {
    if width(line) <= WIDTH {
        return None;
    }
    let indent_width = line.len() - line.trim_start().len();
    let indent = &line[..indent_width];
    let code = line.trim_start();
    let tokens = tokenize(code)?;
    // Only expressions, assignments, decorators and returns are split.
    let (prefix, expression, chained_ok) = match tokens.first().map(|t| t.text.as_str()) {
        Some("@") => ("@".to_owned(), &tokens[1..], false),
        Some("return") => ("return ".to_owned(), &tokens[1..], true),
        Some("def" | "class" | "if" | "for" | "while" | "with" | "elif" | "import" | "from") => {
            return None
        }
        _ => {
            let assignment = top_level(&tokens, |_, t| t.text == "=");
            match assignment.first() {
                Some(&at) => (
                    format!("{} = ", render(&tokens[..at])),
                    &tokens[at + 1..],
                    true,
                ),
                None => (String::new(), &tokens[..], false),
            }
        }
    };
    if expression.is_empty() {
        return None;
    }
    Some(layout(indent, &prefix, expression, "", chained_ok))
}

/// Lays out `prefix + expression + suffix` at `indent`.
fn layout(
    indent: &str,
    prefix: &str,
    expression: &[Token],
    suffix: &str,
    chained_ok: bool,
) -> Vec<String> {
    let flat = format!("{indent}{prefix}{}{suffix}", render(expression));
    let magic = expression
        .windows(2)
        .any(|pair| pair[0].text == "," && pair[1].is_close());
    if width(&flat) <= WIDTH && !magic {
        return vec![flat];
    }
    let deeper = format!("{indent}    ");
    // A method chain with two calls or more after the first: one call per line, in
    // parentheses (only where parentheses may be added: after `=` or `return`).
    // Parentheses already around the whole expression serve as the chain's own.
    let wrapped = expression.len() > 2
        && expression[0].text == "("
        && matching(expression, 0) == Some(expression.len() - 1);
    let chain = if wrapped {
        &expression[1..expression.len() - 1]
    } else {
        expression
    };
    let chain_dots = top_level(chain, |index, token| {
        token.text == "." && index > 0 && chain[index - 1].is_close()
    });
    if chained_ok && chain_dots.len() >= 2 {
        let expression = chain;
        let mut lines = vec![format!("{indent}{prefix}(")];
        let mut start = 0;
        for &dot in chain_dots.iter().chain(std::iter::once(&expression.len())) {
            lines.extend(layout(&deeper, "", &expression[start..dot], "", false));
            start = dot;
        }
        lines.push(format!("{indent}){suffix}"));
        return lines;
    }
    // A keyword argument or a dict entry: split its value.
    let keyword = top_level(expression, |_, t| t.text == "=" || t.text == ":");
    if let Some(&at) = keyword.first() {
        if at > 0 && at + 1 < expression.len() {
            let head = render(&expression[..=at]);
            let head = if expression[at].text == ":" {
                format!("{head} ")
            } else {
                head
            };
            return layout(
                indent,
                &format!("{prefix}{head}"),
                &expression[at + 1..],
                suffix,
                false,
            );
        }
    }
    // A single long value after `=` or `return` goes in parentheses, when that makes it fit.
    if chained_ok && expression.len() == 1 {
        let inner = format!("{deeper}{}", expression[0].text);
        if width(&inner) <= WIDTH {
            return vec![
                format!("{indent}{prefix}("),
                inner,
                format!("{indent}){suffix}"),
            ];
        }
        return vec![flat];
    }
    // Split at the brackets that end the expression.
    if !expression.last().is_some_and(Token::is_close) {
        return vec![flat];
    }
    let close = expression.len() - 1;
    let Some(open) = opening(expression, close) else {
        return vec![flat];
    };
    let body = &expression[open + 1..close];
    if body.is_empty() {
        return vec![flat];
    }
    let head = format!("{indent}{prefix}{}", render(&expression[..=open]));
    let tail = format!("{indent}{}{suffix}", expression[close].text);
    let mut lines = vec![head];
    let commas = top_level(body, |_, t| t.text == ",");
    let magic_comma = body.last().is_some_and(|t| t.text == ",");
    let hugged = format!("{deeper}{}", render(body));
    // A collection written out (not a call's arguments) that must be split has one element
    // per line, as the formatter does.
    let collection = open == 0 && !commas.is_empty();
    if !magic_comma && !collection && width(&hugged) <= WIDTH {
        lines.push(hugged);
    } else if !commas.is_empty() {
        let mut start = 0;
        for &comma in commas.iter().chain(std::iter::once(&body.len())) {
            if start < comma {
                lines.extend(layout(&deeper, "", &body[start..comma], ",", false));
            }
            start = comma + 1;
        }
    } else {
        lines.extend(layout(&deeper, "", body, "", false));
    }
    lines.push(tail);
    lines
}

/// Applies the blank-line rules to laid-out lines: two blank lines around top-level
/// functions and classes (their leading comments included), one before nested ones that
/// follow other statements, at most two blank lines at the top level and one inside, none
/// at the start of a file or right after a decorator or a `def` line.
fn blank_lines(lines: &[OutLine<'_>], text: &mut String) {
    let mut out = Joined { text, lines: 0 };
    let mut pending_blank = 0usize;
    // Indentation of each `def`/`class` whose body we are in.
    let mut open_definitions: Vec<usize> = Vec::new();
    let mut after_header = false;
    // The previous line was a comment directly above a definition.
    let mut after_leading_comment = false;
    let (mut seen_code, mut after_docstring, mut after_imports) = (false, false, false);
    for (index, line) in lines.iter().enumerate() {
        let line = match line {
            OutLine::Blank => {
                pending_blank += 1;
                continue;
            }
            OutLine::Continuation(text) => {
                out.push(text);
                continue;
            }
            OutLine::Start(text) => text,
        };
        let indent = indent_of(line);
        let code = line.trim_start();
        let mut left_definition = false;
        while open_definitions.last().is_some_and(|&d| indent <= d) {
            open_definitions.pop();
            left_definition = true;
        }
        let comment = code.starts_with('#');
        // A comment block directly above a definition belongs to it.
        let leads_definition = if comment {
            lines[index + 1..]
                .iter()
                .find_map(|l| match l {
                    OutLine::Start(t) if t.trim_start().starts_with('#') => None,
                    OutLine::Start(t) => Some(starts_definition(t) && indent_of(t) == indent),
                    _ => Some(false),
                })
                .unwrap_or(false)
        } else {
            starts_definition(line)
        };
        let limit = if indent == 0 { 2 } else { 1 };
        let is_import = code.starts_with("import ") || code.starts_with("from ");
        let blanks =
            if out.lines == 0 || after_header || (after_leading_comment && pending_blank == 0) {
                0
            } else if leads_definition || left_definition {
                if indent == 0 {
                    2
                } else {
                    1
                }
            } else {
                pending_blank.min(limit)
            };
        // One blank line at least after the imports, and exactly one after the module's
        // docstring.
        let blanks = if indent == 0 && after_docstring {
            1
        } else if indent == 0 && after_imports && !is_import {
            blanks.max(1)
        } else {
            blanks
        };
        for _ in 0..blanks {
            out.push("");
        }
        pending_blank = 0;
        out.push(line);
        if starts_definition(line) && !code.starts_with('@') {
            open_definitions.push(indent);
        }
        after_header = code.starts_with('@') || (starts_definition(line) && code.ends_with(':'));
        after_leading_comment = comment && leads_definition;
        after_docstring = !seen_code && indent == 0 && is_string_start(code);
        after_imports = indent == 0 && is_import;
        seen_code |= !comment;
    }
}

/// Lines joined with newlines as they come.
struct Joined<'t> {
    text: &'t mut String,
    lines: usize,
}

impl Joined<'_> {
    fn push(&mut self, line: &str) {
        if self.lines > 0 {
            self.text.push('\n');
        }
        self.text.push_str(line);
        self.lines += 1;
    }
}

/// Whether a statement is a bare string (a docstring when it comes first).
fn is_string_start(code: &str) -> bool {
    let unprefixed = code.trim_start_matches(['r', 'R', 'u', 'U']);
    unprefixed.starts_with('"') || unprefixed.starts_with('\'')
}

/// Double quotes for single-quoted strings that hold no double quote (the formatter's
/// preference); triple-quoted strings, comments and anything after them are left alone.
fn normalize_quotes(line: Cow<'_, str>) -> Cow<'_, str> {
    // Only single-quoted strings change: most lines have none.
    if !line.contains('\'') {
        return line;
    }
    Cow::Owned(double_quoted(&line))
}

/// `line` with its single-quoted strings double-quoted (see [`normalize_quotes`]).
fn double_quoted(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            out.extend(&chars[i..]);
            break;
        }
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let mut j = i;
        while boundary && j < chars.len() && j - i < 2 && "rRbBfFuU".contains(chars[j]) {
            j += 1;
        }
        let quote = chars.get(j).copied();
        if !boundary || !(quote == Some('"') || quote == Some('\'')) {
            out.push(c);
            i += 1;
            continue;
        }
        let quote = quote.unwrap_or('"');
        let prefix: String = chars[i..j].iter().collect();
        if chars.get(j..j + 3) == Some(&[quote, quote, quote][..]) {
            // A triple-quoted string: copy through its end (or the rest of the line).
            let mut k = j + 3;
            while k < chars.len() && chars.get(k..k + 3) != Some(&[quote, quote, quote][..]) {
                k += if chars[k] == '\\' { 2 } else { 1 };
            }
            let end = (k + 3).min(chars.len());
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let mut k = j + 1;
        while k < chars.len() && chars[k] != quote {
            k += if chars[k] == '\\' { 2 } else { 1 };
        }
        if k >= chars.len() {
            out.extend(&chars[i..]);
            break;
        }
        let body: String = chars[j + 1..k].iter().collect();
        let raw = prefix.contains(['r', 'R']);
        if quote == '\'' && !body.contains('"') && !(raw && body.contains('\\')) {
            out.push_str(&prefix);
            out.push('"');
            out.push_str(&if raw { body } else { body.replace("\\'", "'") });
            out.push('"');
        } else {
            out.extend(&chars[i..=k]);
        }
        i = k + 1;
    }
    out
}

fn starts_definition(line: &str) -> bool {
    let code = line.trim_start();
    code.starts_with('@')
        || code.starts_with("def ")
        || code.starts_with("async def ")
        || code.starts_with("class ")
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quotes_become_double_where_nothing_needs_escaping() {
        let normalize_quotes = |line: &str| normalize_quotes(Cow::Borrowed(line)).into_owned();
        assert_eq!(
            normalize_quotes("f('a', 'it\\'s', 'say \"x\"')"),
            "f(\"a\", \"it's\", 'say \"x\"')"
        );
        assert_eq!(
            normalize_quotes("x = \"\"\"'a'\"\"\"  # 'c'"),
            "x = \"\"\"'a'\"\"\"  # 'c'"
        );
        assert_eq!(normalize_quotes("f'{a}' + rb'\\d'"), "f\"{a}\" + rb'\\d'");
    }

    #[test]
    fn short_statements_stay_as_written() {
        let source = "x = f(a, b)\n";
        assert_eq!(format_module(source), source);
    }

    #[test]
    fn a_long_call_hugs_its_arguments_or_puts_one_per_line() {
        let long = format!(
            "dp.create_streaming_table(name=\"{}\", comment=\"c\")\n",
            "n".repeat(50)
        );
        assert_eq!(
            format_module(&long),
            format!(
                "dp.create_streaming_table(\n    name=\"{}\", comment=\"c\"\n)\n",
                "n".repeat(50)
            )
        );
        let longer = format!("f(a=\"{}\", b=\"{}\")\n", "x".repeat(50), "y".repeat(50));
        assert_eq!(
            format_module(&longer),
            format!(
                "f(\n    a=\"{}\",\n    b=\"{}\",\n)\n",
                "x".repeat(50),
                "y".repeat(50)
            )
        );
    }

    #[test]
    fn long_chains_get_one_call_per_line() {
        let source = format!(
            "    df = spark.readStream.format(\"cloudFiles\").option(\"a\", \"b\").load(\"{}\")\n",
            "p".repeat(40)
        );
        assert_eq!(
            format_module(&format!("def f():\n{source}")),
            format!(
                "def f():\n    df = (\n        spark.readStream.format(\"cloudFiles\")\n        .option(\"a\", \"b\")\n        .load(\"{}\")\n    )\n",
                "p".repeat(40)
            )
        );
    }

    #[test]
    fn multi_line_strings_are_kept_exactly() {
        let source =
            "def f():\n    df = spark.sql(\"\"\"SELECT  \n\n\n  FROM t\"\"\")\n\n    return df\n";
        assert_eq!(format_module(source), source);
    }

    #[test]
    fn the_opener_found_walking_back_is_the_one_matching_finds() {
        for code in [
            "f(a)",
            "f(a, g(b))",
            "x.y(a)[0]",
            "f(a)(b)",
            "f((a), [b, {c: d}])",
            "a) + f(b)",
            "(a",
            "a)",
            "f(a))",
            "((a)",
        ] {
            let Some(tokens) = tokenize(code) else {
                panic!("{code} tokenizes");
            };
            let close = tokens.len() - 1;
            let by_matching = (0..close)
                .rev()
                .find(|&i| matching(&tokens, i) == Some(close));
            let found = opening(&tokens, close).filter(|&at| at < close);
            assert_eq!(found, by_matching, "{code}");
        }
    }

    #[test]
    fn top_level_functions_get_two_blank_lines() {
        let source = "import x\n# lead\n@dec\ndef f():\n    return 1\nx = 2\n";
        assert_eq!(
            format_module(source),
            "import x\n\n\n# lead\n@dec\ndef f():\n    return 1\n\n\nx = 2\n"
        );
    }
}

//! The reference documentation in `docs/`, generated so that it cannot drift: every field of
//! every kind from the JSON Schema ([`crate::schema::generate`]), and every diagnostic code
//! ([`Code::ALL`]) with the failing example kept under `tests/fixtures/diagnostics/`.
//!
//! `tests/docs.rs` checks that `docs/reference.md` and `docs/diagnostics.md` equal what these
//! functions produce; `WAFORM_UPDATE_DOCS=1 cargo test --test docs` rewrites them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diagnostics::Code;
use crate::schema::SCHEMA_ID;

/// How the generated files tell readers not to edit them.
const REGENERATE: &str = "`WAFORM_UPDATE_DOCS=1 cargo test --test docs`";

/// The documents, in the order they are documented, with their schema definition.
const KINDS: [(&str, &str); 3] = [
    ("Sender", "RawSender"),
    ("Template", "RawTemplate"),
    ("Campaign", "RawCampaign"),
];

/// The field reference, as Markdown: one section per kind, one table per object type.
pub fn reference_markdown() -> String {
    let schema = crate::schema::generate();
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let reference = Reference { defs };
    let mut out = String::new();
    out.push_str("# Field reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the JSON Schema by `waform::docs::reference_markdown`; do not edit. \
         Regenerate with {REGENERATE}. -->\n"
    );
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{description}\n");
    }
    out.push_str(
        "Every YAML document has a `kind` and a `name`; names are unique per kind, and campaigns \
         refer to senders and templates by name. A file may hold several documents separated by \
         `---`. The same schema is printed by `waform schema` and checked in as \
         `schemas/waform.schema.json`; editors that use the YAML language server read it \
         through a first line such as\n\n",
    );
    let _ = writeln!(
        out,
        "```yaml\n# yaml-language-server: $schema={SCHEMA_ID}\n```\n"
    );
    out.push_str(
        "In the tables, *required* fields must be given; every other field may be left out (or \
         written as `null`). Values described as expressions are minijinja templates rendered \
         per recipient, such as `\"{{ first_name | title }}\"`.\n\n",
    );
    out.push_str("## Contents\n\n");
    let mut sections = Vec::new();
    let mut documented = BTreeSet::new();
    for (kind, def) in KINDS {
        let entries = reference.walk(def, &mut documented);
        let _ = writeln!(out, "- [{kind}](#{})", slug(kind));
        for entry in &entries[1..] {
            let _ = writeln!(
                out,
                "  - [{}](#{})",
                human_name(&entry.def),
                slug(&human_name(&entry.def))
            );
        }
        sections.push((kind, entries));
    }
    out.push('\n');
    for (kind, entries) in sections {
        for (index, entry) in entries.iter().enumerate() {
            if index == 0 {
                let _ = writeln!(out, "## {kind}\n");
            } else {
                let _ = writeln!(out, "### {}\n", human_name(&entry.def));
            }
            reference.section(&mut out, entry, index == 0);
        }
    }
    trim_end(out)
}

/// The diagnostic codes, as Markdown: each with its severity, description and example.
pub fn diagnostics_markdown() -> String {
    diagnostics_markdown_in(&fixtures_dir())
}

/// Where the diagnostic fixtures live: `tests/fixtures/diagnostics/` of this crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics")
}

/// [`diagnostics_markdown`] with the examples read from `fixtures` (one folder per code).
pub fn diagnostics_markdown_in(fixtures: &Path) -> String {
    let mut out = String::new();
    out.push_str("# Diagnostics\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from `Code::ALL` and `tests/fixtures/diagnostics/` by \
         `waform::docs::diagnostics_markdown`; do not edit. Regenerate with {REGENERATE}. -->\n"
    );
    out.push_str(
        "Every problem waform reports has a stable code, a severity, a message, the place it \
         points at (file, line and column; for data, the CSV or NDJSON cell) and, most of the \
         time, a help line. Diagnostics go to stderr in every `--format` (`human`, `json`, \
         `github`, `sarif`); an error makes `validate` and `plan` exit with 1, warnings and \
         notes do not.\n\n",
    );
    out.push_str(
        "- **error**: refuses to compile or send;\n\
         - **warning**: compiles and sends, but worth a look;\n\
         - **note**: information only.\n\n",
    );
    out.push_str(
        "Each example below is a failing fixture of the test suite (`tests/diagnostics.rs` runs \
         `waform validate` on it and checks the code, file, line and column), so it is known to \
         report what is shown.\n\n",
    );
    out.push_str("| code | severity | description |\n| --- | --- | --- |\n");
    for code in Code::ALL {
        let _ = writeln!(
            out,
            "| [`{0}`](#{0}) | {1} | {2} |",
            code.as_str(),
            code.severity(),
            table_cell(code.describe())
        );
    }
    out.push('\n');
    let folders = fixture_folders(fixtures);
    for code in Code::ALL {
        let _ = writeln!(out, "## `{}`\n", code.as_str());
        let _ = writeln!(out, "**{}**: {}\n", code.severity(), code.describe());
        example(&mut out, fixtures, code.as_str());
        let variants: Vec<&String> = folders
            .iter()
            .filter(|name| {
                name.strip_prefix(code.as_str())
                    .is_some_and(|rest| rest.starts_with("--"))
            })
            .collect();
        if !variants.is_empty() {
            let list: Vec<String> = variants
                .iter()
                .map(|name| format!("[`{name}/`]({FIXTURES_LINK}/{name}/)"))
                .collect();
            let _ = writeln!(out, "More examples: {}.\n", list.join(", "));
        }
    }
    trim_end(out)
}

/// The fixtures folder as linked from `docs/`.
const FIXTURES_LINK: &str = "../tests/fixtures/diagnostics";

/// Lines longer than this are cut in examples.
const MAX_LINE: usize = 120;
/// Files longer than this many lines are cut in examples.
const MAX_LINES: usize = 40;

fn fixture_folders(fixtures: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Write the example of one code: where the fixture is, what it reports, and its files.
fn example(out: &mut String, fixtures: &Path, code: &str) {
    let folder = fixtures.join(code);
    let expected = std::fs::read_to_string(folder.join("expected.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    let Some(expected) = expected.filter(|_| folder.is_dir()) else {
        out.push_str("Example pending.\n\n");
        return;
    };
    let file = expected.get("file").and_then(Value::as_str).unwrap_or("");
    let line = expected.get("line").and_then(Value::as_u64).unwrap_or(0);
    let column = expected.get("column").and_then(Value::as_u64).unwrap_or(0);
    let command = match expected.get("paths").and_then(Value::as_array) {
        Some(paths) => {
            let paths: Vec<&str> = paths.iter().filter_map(Value::as_str).collect();
            format!("waform validate {}", paths.join(" "))
        }
        None => "waform validate".to_owned(),
    };
    let _ = write!(
        out,
        "Example: [`{FIXTURES_LINK_SHORT}/{code}/`]({FIXTURES_LINK}/{code}/). `{command}` in \
         that folder reports `{code}` at `{file}:{line}:{column}`"
    );
    if let Some(text) = expected.get("message_contains").and_then(Value::as_str) {
        let _ = write!(out, ", with a message containing \"{text}\"");
    }
    let shown = read_text(&folder.join(file))
        .and_then(|text| {
            text.lines()
                .nth((line as usize).saturating_sub(1))
                .map(str::trim)
                .map(str::to_owned)
        })
        .filter(|text| !text.is_empty());
    match shown {
        Some(text) => {
            let _ = writeln!(out, ":\n\n{}\n", quote_line(&text));
        }
        None => out.push_str(".\n\n"),
    }
    let mut files: Vec<(String, std::fs::FileType)> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().ok()?;
            (name != "expected.json").then_some((name, kind))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in files {
        if kind.is_symlink() {
            let _ = writeln!(out, "`{name}`: a symbolic link (not shown).\n");
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let Some(text) = read_text(&folder.join(&name)) else {
            continue;
        };
        let _ = writeln!(out, "`{name}`:\n");
        fenced(out, language_of(&name), &excerpt(&text));
        out.push('\n');
    }
}

/// The fixtures folder as shown in link text.
const FIXTURES_LINK_SHORT: &str = "tests/fixtures/diagnostics";

/// A file's text, with invalid UTF-8 replaced (fixtures may hold broken bytes on purpose).
fn read_text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// One source line as inline code, safe whatever backticks it holds.
fn quote_line(text: &str) -> String {
    let text = cut_line(text);
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// At most [`MAX_LINES`] lines of at most [`MAX_LINE`] characters each.
fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in lines.iter().take(MAX_LINES) {
        out.push_str(&cut_line(line));
        out.push('\n');
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "… ({} more lines)", lines.len() - MAX_LINES);
    }
    out
}

fn cut_line(line: &str) -> String {
    let count = line.chars().count();
    if count <= MAX_LINE {
        return line.to_owned();
    }
    let head: String = line.chars().take(MAX_LINE).collect();
    format!("{head}… ({count} characters)")
}

fn language_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("yaml" | "yml") => "yaml",
        Some("csv") => "csv",
        Some("json" | "ndjson") => "json",
        _ => "text",
    }
}

fn longest_run(text: &str, ch: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == ch { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// A fenced code block whose fence is longer than any backtick run in `text`.
fn fenced(out: &mut String, language: &str, text: &str) {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    let _ = writeln!(out, "{fence}{language}");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}");
}

fn trim_end(mut out: String) -> String {
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One object or union type to document, and where in the document it is used.
struct Entry {
    def: String,
    used_at: Vec<String>,
}

/// The schema's definitions, and how to describe them.
struct Reference<'a> {
    defs: &'a Map<String, Value>,
}

/// What a definition is, for documentation.
enum DefKind {
    /// A mapping with fields: gets a table.
    Object,
    /// One of several forms (a string or a mapping, ...): gets a list of forms.
    Union,
    /// One of fixed strings: shown as allowed values.
    Enum,
}

impl Reference<'_> {
    fn def(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    fn def_kind(&self, name: &str) -> DefKind {
        let Some(def) = self.def(name) else {
            return DefKind::Object;
        };
        if let Some(variants) = def.get("oneOf").and_then(Value::as_array)
            && variants.iter().all(|v| v.get("const").is_some())
        {
            return DefKind::Enum;
        }
        if def.get("anyOf").is_some() {
            return DefKind::Union;
        }
        DefKind::Object
    }

    /// The object and union types reachable from `root`, breadth first, each with the paths
    /// it is used at. Types already documented under an earlier kind are linked, not repeated.
    fn walk(&self, root: &str, documented: &mut BTreeSet<String>) -> Vec<Entry> {
        let mut entries: Vec<Entry> = vec![Entry {
            def: root.to_owned(),
            used_at: Vec::new(),
        }];
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        index.insert(root.to_owned(), 0);
        documented.insert(root.to_owned());
        let mut queue = VecDeque::from([(root.to_owned(), String::new())]);
        while let Some((name, path)) = queue.pop_front() {
            let Some(def) = self.def(&name) else {
                continue;
            };
            let mut children = Vec::new();
            match self.def_kind(&name) {
                DefKind::Object => {
                    for (field, schema) in ordered_properties(def) {
                        let at = if path.is_empty() {
                            field.to_owned()
                        } else {
                            format!("{path}.{field}")
                        };
                        self.refs(schema, &at, &mut children);
                    }
                }
                DefKind::Union => {
                    for alternative in def
                        .get("anyOf")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        self.refs(alternative, &path, &mut children);
                    }
                }
                DefKind::Enum => {}
            }
            for (child, at) in children {
                if let Some(&i) = index.get(&child) {
                    if !entries[i].used_at.contains(&at) {
                        entries[i].used_at.push(at);
                    }
                    continue;
                }
                if !documented.insert(child.clone()) {
                    continue;
                }
                index.insert(child.clone(), entries.len());
                entries.push(Entry {
                    def: child.clone(),
                    used_at: vec![at.clone()],
                });
                queue.push_back((child, at));
            }
        }
        entries
    }

    /// The object and union definitions a property schema refers to, with the path of each.
    fn refs(&self, schema: &Value, at: &str, out: &mut Vec<(String, String)>) {
        if let Some(name) = ref_name(schema) {
            if !matches!(self.def_kind(name), DefKind::Enum) {
                out.push((name.to_owned(), at.to_owned()));
            }
            return;
        }
        if let Some(items) = schema.get("items") {
            self.refs(items, &format!("{at}[]"), out);
        }
        for alternative in schema
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.refs(alternative, at, out);
        }
    }

    /// Document one entry: its description, where it is used, and its table or forms.
    fn section(&self, out: &mut String, entry: &Entry, is_kind: bool) {
        let Some(def) = self.def(&entry.def) else {
            return;
        };
        if let Some(description) = def.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{description}\n");
        }
        if !is_kind && !entry.used_at.is_empty() {
            let places: Vec<String> = entry.used_at.iter().map(|p| format!("`{p}`")).collect();
            let _ = writeln!(out, "Used at {}.\n", places.join(", "));
        }
        if let Some(note) = count_note(def) {
            let _ = writeln!(out, "{note}\n");
        }
        match self.def_kind(&entry.def) {
            DefKind::Object => self.table(out, def),
            DefKind::Union => self.forms(out, def),
            DefKind::Enum => {}
        }
    }

    /// The field table of an object, then the meaning of each allowed value.
    fn table(&self, out: &mut String, def: &Value) {
        let required = required_fields(def);
        let properties = ordered_properties(def);
        if properties.is_empty() {
            return;
        }
        out.push_str("| field | type | required | description | example | allowed values |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- |\n");
        let mut value_lists = Vec::new();
        for (field, schema) in &properties {
            let values = self.allowed_values(schema);
            let allowed = values
                .iter()
                .map(|(value, _)| code_span(value))
                .collect::<Vec<_>>()
                .join(", ");
            let example = schema
                .get("examples")
                .and_then(Value::as_array)
                .and_then(|examples| examples.first())
                .map(|example| code_span(&example_text(example)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{field}` | {} | {} | {} | {} | {} |",
                table_cell(&self.type_text(schema)),
                if required.contains(field) {
                    "yes"
                } else {
                    "no"
                },
                table_cell(
                    schema
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                table_cell(&example),
                table_cell(&allowed),
            );
            if values.iter().any(|(_, description)| description.is_some()) {
                value_lists.push((field, values));
            }
        }
        out.push('\n');
        for (field, values) in value_lists {
            let _ = writeln!(out, "Values of `{field}`:\n");
            for (value, description) in values {
                match description {
                    Some(description) => {
                        let _ = writeln!(out, "- {}: {description}", code_span(&value));
                    }
                    None => {
                        let _ = writeln!(out, "- {}", code_span(&value));
                    }
                }
            }
            out.push('\n');
        }
    }

    /// The forms a union accepts, one per line.
    fn forms(&self, out: &mut String, def: &Value) {
        out.push_str("One of:\n\n");
        for alternative in def
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let description = alternative
                .get("description")
                .and_then(Value::as_str)
                .or_else(|| {
                    ref_name(alternative)
                        .and_then(|name| self.def(name))
                        .and_then(|d| d.get("description"))
                        .and_then(Value::as_str)
                })
                .unwrap_or("");
            let _ = writeln!(out, "- {}: {description}", self.type_text(alternative));
        }
        out.push('\n');
    }

    /// The allowed values of a property (a `const`, an enum, or a list of an enum), each with
    /// its meaning when the schema gives one.
    fn allowed_values(&self, schema: &Value) -> Vec<(String, Option<String>)> {
        if let Some(value) = schema.get("const") {
            return vec![(example_text(value), None)];
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return values.iter().map(|v| (example_text(v), None)).collect();
        }
        if let Some(name) = ref_name(schema) {
            if let (DefKind::Enum, Some(def)) = (self.def_kind(name), self.def(name)) {
                return def
                    .get("oneOf")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|variant| {
                        let value = example_text(variant.get("const")?);
                        let description = variant
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        Some((value, description))
                    })
                    .collect();
            }
            return Vec::new();
        }
        if let Some(items) = schema.get("items") {
            return self.allowed_values(items);
        }
        let mut out = Vec::new();
        for alternative in non_null_alternatives(schema) {
            out.extend(self.allowed_values(alternative));
        }
        out
    }

    /// The type of a property in words: `string`, `integer (1 to 10000)`, `list of
    /// [Template button](#template-button)`, `string or list of string`, ...
    fn type_text(&self, schema: &Value) -> String {
        if let Some(name) = ref_name(schema) {
            return match self.def_kind(name) {
                DefKind::Enum => "string".to_owned(),
                DefKind::Object => {
                    let human = human_name(name);
                    format!("mapping: [{human}](#{})", slug(&human))
                }
                DefKind::Union => {
                    let human = human_name(name);
                    format!("[{human}](#{})", slug(&human))
                }
            };
        }
        if schema.get("anyOf").is_some() {
            let parts: Vec<String> = non_null_alternatives(schema)
                .into_iter()
                .map(|alternative| self.type_text(alternative))
                .collect();
            return parts.join(" or ");
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => Vec::new(),
        };
        let mut words: Vec<String> = types
            .iter()
            .map(|t| match *t {
                "array" => match schema.get("items") {
                    Some(items) => format!("list of {}", self.type_text(items)),
                    None => "list".to_owned(),
                },
                "object" => "mapping (any keys)".to_owned(),
                other => other.to_owned(),
            })
            .collect();
        if words.is_empty() {
            words.push("any".to_owned());
        }
        let mut text = words.join(" or ");
        let constraints = constraints(schema);
        if !constraints.is_empty() {
            let _ = write!(text, " ({})", constraints.join(", "));
        }
        text
    }
}

/// The names an object's schema lists as `required`.
fn required_fields(def: &Value) -> BTreeSet<&str> {
    def.get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The `properties` of an object: `kind` and `name` first, then required fields, then the
/// optional ones, each group by name (the schema keeps no declaration order).
fn ordered_properties(def: &Value) -> Vec<(&str, &Value)> {
    let required = required_fields(def);
    let mut properties: Vec<(&str, &Value)> = def
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let rank = |field: &str| match field {
        "kind" => 0,
        "name" => 1,
        f if required.contains(f) => 2,
        _ => 3,
    };
    properties.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    properties
}

/// The alternatives of an `anyOf`, without the `null` that only marks the field optional.
fn non_null_alternatives(schema: &Value) -> Vec<&Value> {
    schema
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|alternative| alternative.get("type").and_then(Value::as_str) != Some("null"))
        .collect()
}

/// The definition a schema refers to with `$ref: #/$defs/NAME`.
fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
}

/// Limits of a value, in words.
fn constraints(schema: &Value) -> Vec<String> {
    let number = |key: &str| schema.get(key).and_then(Value::as_u64);
    let mut out = Vec::new();
    match (number("minimum"), number("maximum")) {
        (Some(min), Some(max)) => out.push(format!("{min} to {max}")),
        (Some(min), None) => out.push(format!("at least {min}")),
        (None, Some(max)) => out.push(format!("at most {max}")),
        (None, None) => {}
    }
    match (number("minLength"), number("maxLength")) {
        (Some(min), Some(max)) => out.push(format!("{min} to {max} characters")),
        (Some(1), None) => out.push("not empty".to_owned()),
        (Some(min), None) => out.push(format!("at least {min} characters")),
        (None, Some(max)) => out.push(format!("at most {max} characters")),
        (None, None) => {}
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        out.push(format!("matching {}", code_span(pattern)));
    }
    out
}

/// A note on how many fields an object takes, when the schema limits it.
fn count_note(def: &Value) -> Option<String> {
    let min = def.get("minProperties").and_then(Value::as_u64);
    let max = def.get("maxProperties").and_then(Value::as_u64);
    match (min, max) {
        (Some(1), Some(1)) => Some("Give exactly one of its fields.".to_owned()),
        (Some(1), None) => Some("Give at least one of its fields.".to_owned()),
        (Some(min), Some(max)) => Some(format!("Give {min} to {max} of its fields.")),
        (Some(min), None) => Some(format!("Give at least {min} of its fields.")),
        (None, Some(max)) => Some(format!("Give at most {max} of its fields.")),
        (None, None) => None,
    }
}

/// An example or allowed value as YAML would show it (strings bare, others as JSON).
fn example_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Inline code that survives any backticks in the text.
fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_run(text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// Text safe inside a Markdown table cell: one line, pipes escaped.
fn table_cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A definition's name for readers: `RawTemplateButton` → `Template button`,
/// `RawUrlButton` → `URL button`, `RawBodyParam` → `Body parameter`.
fn human_name(def: &str) -> String {
    let name = def.strip_prefix("Raw").unwrap_or(def);
    let mut words: Vec<String> = Vec::new();
    for ch in name.chars() {
        match words.last_mut() {
            Some(word) if !ch.is_uppercase() => word.push(ch),
            _ => words.push(ch.to_string()),
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(i, word)| match word.as_str() {
            "Url" => "URL".to_owned(),
            "Param" => "parameter".to_owned(),
            _ if i > 0 => word.to_lowercase(),
            _ => word.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The anchor GitHub gives a heading: lowercase, spaces to hyphens, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of every definition the schema has appears in the field reference.
    #[test]
    fn reference_names_every_field() {
        let schema = crate::schema::generate();
        let text = reference_markdown();
        let defs = schema["$defs"].as_object().expect("$defs");
        for (name, def) in defs {
            for field in def
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                assert!(
                    text.contains(&format!("| `{field}` |")),
                    "{name}.{field} is missing from the reference"
                );
            }
        }
    }

    /// Every object and union definition gets exactly one heading, and every link resolves.
    #[test]
    fn reference_headings_are_unique_and_links_resolve() {
        let text = reference_markdown();
        let mut anchors = BTreeSet::new();
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
            } else if !in_code && line.starts_with('#') {
                let heading = line.trim_start_matches('#').trim();
                assert!(anchors.insert(slug(heading)), "heading `{heading}` twice");
            }
        }
        for (start, _) in text.match_indices("](#") {
            let rest = &text[start + 3..];
            let anchor = &rest[..rest.find(')').expect("closing paren")];
            assert!(anchors.contains(anchor), "link to missing #{anchor}");
        }
        let schema = crate::schema::generate();
        let defs = schema["$defs"].as_object().expect("$defs");
        let reference = Reference { defs };
        for name in defs.keys() {
            let documented = !matches!(reference.def_kind(name), DefKind::Enum)
                && !KINDS.iter().any(|(_, def)| def == name);
            if documented {
                assert!(
                    anchors.contains(&slug(&human_name(name))),
                    "{name} has no section"
                );
            }
        }
    }

    /// Generating twice gives the same text.
    #[test]
    fn generation_is_deterministic() {
        assert_eq!(reference_markdown(), reference_markdown());
        assert_eq!(diagnostics_markdown(), diagnostics_markdown());
    }

    /// A code without a fixture folder says so; one with a fixture shows its files and place.
    #[test]
    fn diagnostics_with_and_without_fixtures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("unknown-field");
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(folder.join("campaign.yaml"), "kind: Sender\ncolour: blue\n")
            .expect("write");
        std::fs::write(
            folder.join("expected.json"),
            r#"{"code":"unknown-field","file":"campaign.yaml","line":2,"column":1}"#,
        )
        .expect("write");
        std::fs::create_dir_all(dir.path().join("unknown-field--other")).expect("mkdir");
        let text = diagnostics_markdown_in(dir.path());
        let section = |code: &str| {
            let start = text
                .find(&format!("## `{code}`"))
                .expect("a section per code");
            let rest = &text[start + 3..];
            rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
        };
        let unknown = section("unknown-field");
        assert!(unknown.contains("reports `unknown-field` at `campaign.yaml:2:1`"));
        assert!(unknown.contains("`colour: blue`"));
        assert!(unknown.contains("```yaml\nkind: Sender\ncolour: blue\n```"));
        assert!(unknown.contains("[`unknown-field--other/`]"));
        assert!(!unknown.contains("expected.json"));
        assert!(section("read-error").contains("Example pending."));
        for code in Code::ALL {
            assert!(text.contains(&format!("| [`{0}`](#{0}) |", code.as_str())));
        }
    }

    /// Long lines and long files are cut, and backticks in a file get a longer fence.
    #[test]
    fn excerpts_are_bounded_and_fenced_safely() {
        let long = "a".repeat(MAX_LINE + 5);
        assert_eq!(
            cut_line(&long),
            format!("{}… ({} characters)", "a".repeat(MAX_LINE), MAX_LINE + 5)
        );
        let many = "x\n".repeat(MAX_LINES + 2);
        assert!(excerpt(&many).ends_with("… (2 more lines)\n"));
        let mut out = String::new();
        fenced(&mut out, "text", "```\n");
        assert_eq!(out, "````text\n```\n````\n");
    }

    /// Names and anchors are derived the way GitHub derives them.
    #[test]
    fn names_and_slugs() {
        assert_eq!(human_name("RawTemplateButton"), "Template button");
        assert_eq!(human_name("SecretSource"), "Secret source");
        assert_eq!(human_name("RawUrlButton"), "URL button");
        assert_eq!(human_name("RawBodyParam"), "Body parameter");
        assert_eq!(slug("Template button"), "template-button");
        assert_eq!(slug("`read-error`"), "read-error");
        assert_eq!(table_cell("a | b\nc"), "a \\| b c");
    }
}

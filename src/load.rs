//! Loading: find the YAML files, parse every document into a spanned node tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostics::{Code, Diagnostic, Diagnostics, FileId, Sources, Span};

/// Deepest nesting of YAML collections accepted.
pub const MAX_DEPTH: usize = 64;

const LIMIT_HELP: &str = "simplify the file: waform limits aliases, nesting depth and size so that hostile YAML cannot exhaust memory";

/// YAML files larger than this are refused (they are configuration, not data).
pub const MAX_YAML_BYTES: u64 = 32 * 1024 * 1024;

/// Where a node starts in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
    /// Byte offset.
    pub offset: usize,
    /// Length in bytes of the scalar (0 for collections).
    pub len: usize,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where it starts.
    pub pos: Pos,
}

/// A mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// The value of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An integer too large for i64.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<Entry>),
}

impl Node {
    /// The entry value for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node at a JSON pointer (`/body/2/currency`).
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            node = match &node.value {
                NodeValue::Map(entries) => &entries.iter().find(|e| e.key == token)?.value,
                NodeValue::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The position of the key that holds the node at `pointer`, if it is a mapping value.
    pub fn key_pos(&self, pointer: &str) -> Option<Pos> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let parent = self.pointer(parent)?;
        let key = last.replace("~1", "/").replace("~0", "~");
        parent.entry(&key).map(|e| e.key_pos)
    }

    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::UInt(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (for schema validation and typed deserialisation).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::UInt(u) => Value::from(*u),
            NodeValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

fn pos_of(location: serde_saphyr::Location) -> Pos {
    let span = location.span();
    Pos {
        line: location.line().try_into().unwrap_or(u32::MAX),
        column: location.column().try_into().unwrap_or(u32::MAX),
        offset: span.byte_offset().unwrap_or(0) as usize,
        len: span.byte_len().unwrap_or(0) as usize,
    }
}

struct SpannedNode(Node);

impl<'de> Deserialize<'de> for SpannedNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<ValueOnly>::deserialize(deserializer)?;
        Ok(SpannedNode(Node {
            value: spanned.value.0,
            pos: pos_of(spanned.referenced),
        }))
    }
}

struct ValueOnly(NodeValue);

impl<'de> Deserialize<'de> for ValueOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor).map(ValueOnly)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::UInt(v), NodeValue::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(SpannedNode(node)) = seq.next_element()? {
            items.push(node);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyString>>()? {
            let SpannedNode(value) = map.next_value()?;
            entries.push(Entry {
                key: key.value.0,
                key_pos: pos_of(key.referenced),
                value,
            });
        }
        Ok(NodeValue::Map(entries))
    }
}

/// A mapping key: any scalar, as text.
struct KeyString(String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_unit<E: de::Error>(self) -> Result<String, E> {
                Ok("null".to_owned())
            }
        }
        deserializer.deserialize_any(KeyVisitor).map(KeyString)
    }
}

/// The kinds of waform document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A provider account.
    Sender,
    /// An approved template.
    Template,
    /// A campaign.
    Campaign,
}

impl Kind {
    /// The kind's name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sender => "Sender",
            Kind::Template => "Template",
            Kind::Campaign => "Campaign",
        }
    }

    /// All kinds.
    pub const ALL: [Kind; 3] = [Kind::Sender, Kind::Template, Kind::Campaign];

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One YAML document of a known kind.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its kind.
    pub kind: Kind,
    /// The file it is in.
    pub file: FileId,
    /// The file's path on disk.
    pub path: PathBuf,
    /// The project folder data paths must stay inside.
    pub root: PathBuf,
    /// The file's whole text.
    pub text: Arc<str>,
    /// The root node (a mapping).
    pub node: Node,
}

impl Document {
    /// The span of a node position in this document.
    pub fn span(&self, pos: Pos) -> Span {
        let len = if pos.len > 0 { pos.len } else { 1 };
        Span::in_source(self.file, &self.text, pos.offset, len)
    }

    /// The span of the node at a JSON pointer, or of the nearest ancestor that exists.
    pub fn span_at(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some(node) = self.node.pointer(pointer) {
                return self.span(node.pos);
            }
            match pointer.rsplit_once('/') {
                Some((parent, _)) => pointer = parent,
                None => return self.span(self.node.pos),
            }
        }
    }

    /// The span of the key holding the node at `pointer`, or of the node itself.
    pub fn key_span_at(&self, pointer: &str) -> Span {
        match self.node.key_pos(pointer) {
            Some(pos) => self.span(pos),
            None => self.span_at(pointer),
        }
    }

    /// The document's `name`, if it is a string.
    pub fn name(&self) -> Option<&str> {
        self.node.get("name").and_then(Node::as_str)
    }
}

/// The parser options: strict booleans, duplicate keys refused, budgets for large files.
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 5_000_000;
    budget.max_events = 20_000_000;
    budget.max_reader_input_bytes = Some(MAX_YAML_BYTES as usize);
    budget.max_depth = MAX_DEPTH;
    budget.max_aliases = 10_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_recorded_anchor_bytes = 4 * 1024 * 1024;
    options.budget = Some(budget);
    options
}

/// Parse the text of one YAML file into its documents' root nodes.
pub fn parse_yaml(text: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
    let docs: Vec<SpannedNode> =
        serde_saphyr::from_str_multiple_with_options(text, yaml_options())?;
    Ok(docs.into_iter().map(|d| d.0).collect())
}

/// Load every waform document under `paths` (folders are walked; files are taken as given).
pub fn load(paths: &[PathBuf], sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Document> {
    let mut documents = Vec::new();
    for path in paths {
        let root = if path.is_dir() {
            path.clone()
        } else {
            path.parent()
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    }
                })
                .unwrap_or(Path::new("."))
                .to_path_buf()
        };
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, path, &mut files, sources, diags);
            files.sort();
            for file in files {
                load_file(&file, &root, false, sources, diags, &mut documents);
            }
        } else {
            load_file(path, &root, true, sources, diags, &mut documents);
        }
    }
    documents
}

fn walk(
    dir: &Path,
    root: &Path,
    files: &mut Vec<PathBuf>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            let file = sources.add(dir.display().to_string(), None);
            diags.push(
                Diagnostic::new(
                    Code::ReadError,
                    format!("cannot read folder `{}`: {err}", dir.display()),
                )
                .at(Span::file_start(file))
                .with_help("check that the path exists and is readable"),
            );
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            walk(&path, root, files, sources, diags);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            if file_type.is_file() {
                files.push(path);
            } else if file_type.is_symlink() {
                let inside = match (path.canonicalize(), root.canonicalize()) {
                    (Ok(target), Ok(root)) => target.starts_with(&root) && target.is_file(),
                    _ => false,
                };
                if inside {
                    files.push(path);
                } else {
                    let file = sources.add(display_path(&path), None);
                    diags.push(
                        Diagnostic::new(
                            Code::NotWaform,
                            format!("skipped `{}`: it links to a file outside the project folder", display_path(&path)),
                        )
                        .at(Span::file_start(file))
                        .with_help("copy the file into the project, or name it explicitly on the command line"),
                    );
                }
            }
        }
    }
}

fn load_file(
    path: &Path,
    root: &Path,
    explicit: bool,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    documents: &mut Vec<Document>,
) {
    let shown = display_path(path);
    let bytes = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_YAML_BYTES => {
            let file = sources.add(shown.clone(), None);
            diags.push(
                Diagnostic::new(
                    Code::YamlLimit,
                    format!(
                        "`{shown}` is {} MiB; waform reads YAML files of at most {} MiB",
                        meta.len() / (1024 * 1024),
                        MAX_YAML_BYTES / (1024 * 1024)
                    ),
                )
                .at(Span::file_start(file))
                .with_help("keep recipients in a CSV or NDJSON file (`recipients: { csv: FILE }`)"),
            );
            return;
        }
        Ok(_) => std::fs::read(path),
        Err(err) => Err(err),
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(err) => {
            let file = sources.add(shown.clone(), None);
            diags.push(
                Diagnostic::new(Code::ReadError, format!("cannot read `{shown}`: {err}"))
                    .at(Span::file_start(file))
                    .with_help("check that the file exists and is readable"),
            );
            return;
        }
    };
    let text: Arc<str> = match String::from_utf8(bytes) {
        Ok(text) => Arc::from(text.strip_prefix('\u{feff}').unwrap_or(&text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let lossy_offset = String::from_utf8_lossy(&err.as_bytes()[..valid]).len();
            let file = sources.add(shown.clone(), Some(Arc::from(lossy.as_str())));
            diags.push(
                Diagnostic::new(Code::YamlSyntax, format!("`{shown}` is not valid UTF-8"))
                    .at(Span::in_source(file, &lossy, lossy_offset, 1))
                    .with_span_label("this byte is not UTF-8")
                    .with_help("save the file as UTF-8"),
            );
            return;
        }
    };
    let nodes = match parse_yaml(&text) {
        Ok(nodes) => nodes,
        Err(err) => {
            let masked = mask_secret_lines(&text);
            let file = sources.add(shown.clone(), Some(masked.clone()));
            diags.push(yaml_error(&err, file, &masked));
            return;
        }
    };
    let text = redact_literal_secrets(&text, &nodes);
    let file = sources.add(shown.clone(), Some(text.clone()));
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for node in nodes {
        let kind = node.get("kind");
        match kind.and_then(Node::as_str).and_then(Kind::parse) {
            Some(kind) => found.push((kind, node)),
            None => unknown.push(node),
        }
    }
    if found.is_empty() && !explicit {
        diags.push(
            Diagnostic::new(
                Code::NotWaform,
                format!("skipped `{shown}`: it holds no waform document"),
            )
            .at(Span::file_start(file))
            .with_help(
                "waform documents have `kind: Sender`, `kind: Template` or `kind: Campaign`",
            ),
        );
        return;
    }
    for node in unknown {
        let (span, message) = match node.entry("kind") {
            Some(entry) => (
                Span::in_source(
                    file,
                    &text,
                    entry.value.pos.offset,
                    entry.value.pos.len.max(1),
                ),
                match entry.value.as_str() {
                    Some(k) => format!("`{k}` is not a waform kind"),
                    None => "`kind` must be a string".to_owned(),
                },
            ),
            None => (
                Span::in_source(file, &text, node.pos.offset, 1),
                "this document has no `kind`".to_owned(),
            ),
        };
        let suggestion = node.get("kind").and_then(Node::as_str).and_then(|k| {
            crate::diagnostics::did_you_mean(k, Kind::ALL.iter().map(|k| k.as_str()))
        });
        diags.push(
            Diagnostic::new(Code::UnknownKind, message)
                .at(span)
                .with_help(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "set `kind:` to `Sender`, `Template` or `Campaign`".to_owned(),
                }),
        );
    }
    for (kind, node) in found {
        documents.push(Document {
            kind,
            file,
            path: path.to_path_buf(),
            root: root.to_path_buf(),
            text: text.clone(),
            node,
        });
    }
}

/// The text with every literal secret of a Sender masked by `*` (byte length kept, so that
/// spans stay valid): what is shown in diagnostics never contains the secret.
fn redact_literal_secrets(text: &Arc<str>, nodes: &[Node]) -> Arc<str> {
    let mut ranges = Vec::new();
    for node in nodes {
        if node.get("kind").and_then(Node::as_str) != Some("Sender") {
            continue;
        }
        for field in crate::schema::SECRET_FIELDS {
            if let Some(value) = node.get(field)
                && !matches!(
                    value.value,
                    NodeValue::Map(_) | NodeValue::Null | NodeValue::Seq(_)
                )
            {
                let end = text[value.pos.offset..]
                    .find('\n')
                    .map_or(text.len(), |i| value.pos.offset + i);
                ranges.push(value.pos.offset..end);
            }
        }
    }
    if ranges.is_empty() {
        return text.clone();
    }
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if ranges.iter().any(|r| r.contains(&i)) && !ch.is_whitespace() && ch != '#' {
            out.extend(std::iter::repeat_n('*', ch.len_utf8()));
        } else {
            out.push(ch);
        }
    }
    Arc::from(out)
}

/// For a file that does not parse: mask the value of every line that looks like a secret
/// field with a scalar value, so that a syntax error's snippet cannot show it.
fn mask_secret_lines(text: &Arc<str>) -> Arc<str> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let value_at = crate::schema::SECRET_FIELDS.iter().find_map(|field| {
            let rest = trimmed.strip_prefix(field)?.strip_prefix(':')?;
            let value = rest.trim_start();
            (!value.is_empty() && !value.starts_with(['{', '#', '\n', '\r']))
                .then(|| line.len() - value.len())
        });
        match value_at {
            Some(at) => {
                out.push_str(&line[..at]);
                for ch in line[at..].chars() {
                    if ch == '\n' || ch == '\r' {
                        out.push(ch);
                    } else {
                        out.extend(std::iter::repeat_n('*', ch.len_utf8()));
                    }
                }
            }
            None => out.push_str(line),
        }
    }
    Arc::from(out)
}

/// A path as the user would write it: relative paths stay relative, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn yaml_error(err: &serde_saphyr::Error, file: FileId, text: &str) -> Diagnostic {
    let message = err.without_snippet().to_string();
    let first_line = message.lines().next().unwrap_or("invalid YAML").trim();
    let first_line = match first_line.rfind(" at line ") {
        Some(i) => &first_line[..i],
        None => first_line,
    };
    let lower = first_line.to_lowercase();
    let (code, message, help) = if lower.contains("duplicate") {
        let key = first_line
            .split(['`', '\'', '"'])
            .nth(1)
            .map(|k| format!("the key `{k}` appears twice in this mapping"))
            .unwrap_or_else(|| "a key appears twice in this mapping".to_owned());
        (
            Code::DuplicateKey,
            key,
            "remove or rename one of the two keys: YAML keeps only one, silently".to_owned(),
        )
    } else if matches!(err, serde_saphyr::Error::Budget { .. }) || lower.contains("budget breached")
    {
        let what = lower.clone();
        let message = if what.contains("depth") || what.contains("nesting") {
            format!("the YAML nests deeper than {MAX_DEPTH} levels")
        } else if what.contains("alias") || what.contains("anchor") {
            "the YAML expands too many aliases (an alias bomb?)".to_owned()
        } else {
            "the YAML is larger than waform reads (too many nodes or too much text)".to_owned()
        };
        (Code::YamlLimit, message, LIMIT_HELP.to_owned())
    } else if lower.contains("budget")
        || lower.contains("alias")
        || lower.contains("depth")
        || lower.contains("recursion")
        || lower.contains("nesting")
    {
        (
            Code::YamlLimit,
            format!("the YAML exceeds a safety limit: {first_line}"),
            LIMIT_HELP.to_owned(),
        )
    } else {
        (
            Code::YamlSyntax,
            first_line.to_owned(),
            "fix the YAML syntax at this place".to_owned(),
        )
    };
    let span = match err.location() {
        Some(loc) if loc.line() > 0 => {
            let line = loc.line() as usize;
            let column = loc.column().max(1) as usize;
            let line_start = text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            let line_text = text
                .get(line_start..)
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("");
            let col_bytes: usize = line_text.chars().take(column - 1).map(char::len_utf8).sum();
            Span::in_source(file, text, line_start + col_bytes, 1)
        }
        _ => Span::file_start(file),
    };
    Diagnostic::new(code, message).at(span).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node keeps its line and column, keys included.
    #[test]
    fn nodes_keep_positions() {
        let text = "kind: Campaign\nbody:\n  - \"{{ a }}\"\n  - currency: { amount: \"1\" }\n";
        let nodes = parse_yaml(text).unwrap();
        let root = &nodes[0];
        let item = root.pointer("/body/1/currency/amount").unwrap();
        assert_eq!((item.pos.line, item.pos.column), (4, 25));
        let key = root.key_pos("/body").unwrap();
        assert_eq!((key.line, key.column), (2, 1));
        assert_eq!(root.pointer("/body/0").unwrap().as_str(), Some("{{ a }}"));
    }

    /// Several documents per file are read in order.
    #[test]
    fn reads_multiple_documents() {
        let nodes = parse_yaml("kind: Sender\n---\nkind: Template\n").unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(
            nodes[1].pointer("/kind").unwrap().as_str(),
            Some("Template")
        );
    }

    /// Duplicate keys are an error, not a silent overwrite.
    #[test]
    fn duplicate_keys_are_errors() {
        assert!(parse_yaml("a: 1\na: 2\n").is_err());
    }

    /// `yes` stays a string under strict booleans.
    #[test]
    fn strict_booleans() {
        let nodes = parse_yaml("a: yes\nb: true\n").unwrap();
        assert_eq!(nodes[0].get("a").unwrap().as_str(), Some("yes"));
        assert_eq!(nodes[0].get("b").unwrap().value, NodeValue::Bool(true));
    }
}

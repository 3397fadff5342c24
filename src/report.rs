//! Rendering diagnostics at the edge: for people (`human`), for programs (`json`), for GitHub
//! Actions annotations (`github`) and for code-scanning tools (`sarif`).
//!
//! Every stage pushes [`Diagnostic`]s into a [`Diagnostics`] sink; [`write_report`] turns the
//! sink into text once, at the end. Snippets of YAML come from the text kept in [`Sources`];
//! snippets of data files (which may be huge) are read back from disk, a few lines at a time,
//! streaming each file at most once.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::str::FromStr;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    NamedSource, SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use crate::diagnostics::{Code, Diagnostic, Diagnostics, FileId, Severity, Sources, Span};

/// The output formats of [`write_report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Snippets with underlined spans, for a terminal.
    Human,
    /// One compact JSON document (`{"version":1,"diagnostics":[...],"summary":{...}}`).
    Json,
    /// GitHub Actions workflow commands (`::error file=...::message`), one per line.
    Github,
    /// A SARIF 2.1.0 log, for code-scanning uploads.
    Sarif,
}

impl Format {
    /// Every format, in the order they are documented.
    pub const ALL: &'static [Format] =
        &[Format::Human, Format::Json, Format::Github, Format::Sarif];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Github => "github",
            Format::Sarif => "sarif",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    /// Parse a format name (`human`, `json`, `github`, `sarif`; case-insensitive).
    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .iter()
            .copied()
            .find(|format| format.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown format `{s}` (expected one of: human, json, github, sarif)")
            })
    }
}

/// How the `human` format looks (the other formats ignore these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Unicode drawing with ANSI colours when true; unicode without colours when false.
    pub color: bool,
    /// The width text is wrapped at.
    pub width: usize,
}

impl Default for RenderOptions {
    /// No colour, 100 columns.
    fn default() -> RenderOptions {
        RenderOptions {
            color: false,
            width: 100,
        }
    }
}

/// Write all diagnostics of `sink` in `format` to `out`.
///
/// Kept diagnostics are written in [`Diagnostics::sorted`] order. The `human` format ends
/// with the counts of diagnostics that were only counted and a summary line; `json` carries
/// the summary counts (dropped diagnostics included).
pub fn write_report(
    sink: &Diagnostics,
    sources: &Sources,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => write_human(sink, sources, options, out),
        Format::Json => write_json(sink, sources, out),
        Format::Github => write_github(sink, sources, out),
        Format::Sarif => write_sarif(sink, sources, out),
    }
}

// ---------------------------------------------------------------------------------------------
// human
// ---------------------------------------------------------------------------------------------

/// At most this many lines of a multi-line span are read from a data file.
const MAX_SPAN_LINES: u32 = 20;
/// A same-file label joins the primary snippet of a data file while the snippet stays this short.
const MAX_WINDOW_LINES: u32 = 30;
/// At most this many bytes of one data-file line are kept for a snippet.
const MAX_LINE_BYTES: usize = 16 * 1024;

fn write_human(
    sink: &Diagnostics,
    sources: &Sources,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let diagnostics = sink.sorted();
    let plans: Vec<Vec<Group>> = diagnostics.iter().map(|d| plan(d, sources)).collect();
    let lines = DataLines::load(sources, plans.iter().flatten());

    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_urls(false);
    if !options.color {
        handler = handler.without_syntax_highlighting();
    }

    for (diagnostic, groups) in diagnostics.iter().zip(&plans) {
        let human = build(diagnostic, groups, sources, &lines);
        let mut text = String::new();
        if handler.render_report(&mut text, &human).is_err() {
            // A snippet miette could not draw: say the same without any snippet.
            text.clear();
            let plain = human.without_snippets();
            if handler.render_report(&mut text, &plain).is_err() {
                text = format!(
                    "{}[{}]: {}\n",
                    diagnostic.severity, diagnostic.code, diagnostic.message
                );
            }
        }
        writeln!(out, "{}", text.trim_end())?;
        writeln!(out)?;
    }

    for (code, severity, count) in sink.dropped() {
        let plural = if count == 1 { "" } else { "s" };
        writeln!(
            out,
            "… and {count} more {code} {severity}{plural} not shown"
        )?;
    }
    if let Some(summary) = summary_line(sink.errors(), sink.warnings(), options.color) {
        writeln!(out, "{summary}")?;
    }
    Ok(())
}

/// `error: 3 errors, 1 warning`, `warning: 2 warnings`, or nothing when clean.
fn summary_line(errors: usize, warnings: usize, color: bool) -> Option<String> {
    let count = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (lead, style, counts) = match (errors, warnings) {
        (0, 0) => return None,
        (0, w) => ("warning", "\u{1b}[33;1m", count(w, "warning")),
        (e, 0) => ("error", "\u{1b}[31;1m", count(e, "error")),
        (e, w) => (
            "error",
            "\u{1b}[31;1m",
            format!("{}, {}", count(e, "error"), count(w, "warning")),
        ),
    };
    Some(if color {
        format!("{style}{lead}\u{1b}[0m: {counts}")
    } else {
        format!("{lead}: {counts}")
    })
}

/// Which span of a diagnostic a group member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Primary,
    Label(usize),
}

/// Spans of one diagnostic drawn from one snippet of one file.
#[derive(Debug)]
struct Group {
    file: FileId,
    /// First and last line (1-based) the snippet needs from a data file.
    lines: (u32, u32),
    /// Whether the file's text is kept in [`Sources`] (else it is read from disk).
    kept: bool,
    members: Vec<Member>,
}

/// The lines (1-based, inclusive) a snippet of `span` needs: the span plus one line either side.
fn needed_lines(span: &Span) -> (u32, u32) {
    let start = span.line.max(1);
    let end = span
        .end_line
        .min(start.saturating_add(MAX_SPAN_LINES))
        .max(start);
    (start.saturating_sub(1).max(1), end.saturating_add(1))
}

/// Decide which spans of `diagnostic` share a snippet: the primary span with the labels in its
/// file (for data files, only those close by); every other label gets a snippet of its own.
fn plan(diagnostic: &Diagnostic, sources: &Sources) -> Vec<Group> {
    let mut groups = Vec::new();
    if let Some(span) = &diagnostic.span {
        groups.push(Group {
            file: span.file,
            lines: needed_lines(span),
            kept: sources.get(span.file).is_some_and(|f| f.text.is_some()),
            members: vec![Member::Primary],
        });
    }
    for (index, label) in diagnostic.labels.iter().enumerate() {
        let lines = needed_lines(&label.span);
        if let Some(primary) = groups.first_mut().filter(|g| g.file == label.span.file) {
            let joined = (primary.lines.0.min(lines.0), primary.lines.1.max(lines.1));
            if primary.kept || joined.1 - joined.0 < MAX_WINDOW_LINES {
                primary.lines = joined;
                primary.members.push(Member::Label(index));
                continue;
            }
        }
        groups.push(Group {
            file: label.span.file,
            lines,
            kept: sources
                .get(label.span.file)
                .is_some_and(|f| f.text.is_some()),
            members: vec![Member::Label(index)],
        });
    }
    groups
}

/// Lines of data files, read once per file for every snippet that needs them.
#[derive(Debug, Default)]
struct DataLines {
    lines: HashMap<(FileId, u32), String>,
}

impl DataLines {
    fn load<'a>(sources: &Sources, groups: impl Iterator<Item = &'a Group>) -> DataLines {
        let mut wanted: HashMap<FileId, BTreeSet<u32>> = HashMap::new();
        for group in groups.filter(|g| !g.kept) {
            wanted
                .entry(group.file)
                .or_default()
                .extend(group.lines.0..=group.lines.1);
        }
        let mut files: Vec<_> = wanted.into_iter().collect();
        files.sort_by_key(|(file, _)| *file);
        let mut lines = HashMap::new();
        for (file, wanted) in files {
            // A file that cannot be read back just gets no snippet.
            if let Ok(found) = read_lines(sources.path(file), &wanted) {
                lines.extend(found.into_iter().map(|(n, text)| ((file, n), text)));
            }
        }
        DataLines { lines }
    }

    /// The text of lines `first..=last` of a data file, stopping at its end; `None` when even
    /// the first line is missing.
    fn window(&self, file: FileId, first: u32, last: u32) -> Option<String> {
        let mut text = String::new();
        for n in first..=last {
            let Some(line) = self.lines.get(&(file, n)) else {
                break;
            };
            if n > first {
                text.push('\n');
            }
            text.push_str(line);
        }
        self.lines.contains_key(&(file, first)).then_some(text)
    }
}

/// Stream `path` up to the last wanted line, keeping only the wanted lines (each cut to
/// [`MAX_LINE_BYTES`], without its line ending). Never holds more than one buffer of the rest.
fn read_lines(path: &str, wanted: &BTreeSet<u32>) -> io::Result<HashMap<u32, String>> {
    let mut found = HashMap::new();
    let Some(&last) = wanted.last() else {
        return Ok(found);
    };
    let mut reader = BufReader::with_capacity(64 * 1024, File::open(path)?);
    let mut line_no: u32 = 1;
    let mut current: Vec<u8> = Vec::new();
    let mut started = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if started && wanted.contains(&line_no) {
                found.insert(line_no, decode_line(&current));
            }
            return Ok(found);
        }
        let keep = wanted.contains(&line_no);
        let newline = buf.iter().position(|&b| b == b'\n');
        let chunk = &buf[..newline.unwrap_or(buf.len())];
        if keep && current.len() < MAX_LINE_BYTES {
            let room = MAX_LINE_BYTES - current.len();
            current.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        started = true;
        let consumed = newline.map_or(buf.len(), |i| i + 1);
        reader.consume(consumed);
        if newline.is_some() {
            if keep {
                found.insert(line_no, decode_line(&current));
            }
            if line_no >= last {
                return Ok(found);
            }
            current.clear();
            started = false;
            line_no += 1;
        }
    }
}

fn decode_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Source text for miette: a whole file, or a window of lines of one whose line numbers are
/// shifted so that the snippet shows the file's own line numbers.
#[derive(Debug, Clone)]
struct Snippet {
    text: Arc<str>,
    /// 1-based line number of the first line of `text`.
    first_line: u32,
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            *inner.span(),
            inner.line() + (self.first_line as usize).saturating_sub(1),
            inner.column(),
            inner.line_count(),
        )))
    }
}

impl Snippet {
    /// Byte offset of a 1-based line and column (counted in characters); the column may be
    /// one past the end of the line.
    fn offset_of(&self, line: u32, column: u32) -> Option<usize> {
        let index = line.checked_sub(self.first_line)?;
        let mut start = 0;
        for _ in 0..index {
            start += self.text.get(start..)?.find('\n')? + 1;
        }
        let rest = &self.text[start..];
        let content = rest.find('\n').map_or(rest, |end| &rest[..end]);
        let content = content.strip_suffix('\r').unwrap_or(content);
        let skip = usize::try_from(column.checked_sub(1)?).ok()?;
        if skip == 0 {
            return Some(start);
        }
        let mut chars = content.char_indices().skip(skip - 1);
        let (at, ch) = chars.next()?;
        Some(start + at + ch.len_utf8())
    }

    /// Where `span` is in this snippet, from its lines and columns; `None` when its start is
    /// not in the snippet. An end that is not in the snippet is clamped to the start's line.
    fn locate(&self, span: &Span) -> Option<SourceSpan> {
        let start = self.offset_of(span.line, span.column)?;
        let end = self
            .offset_of(span.end_line, span.end_column)
            .filter(|&end| end >= start)
            .unwrap_or_else(|| {
                let rest = &self.text[start..];
                let line_end = rest.find('\n').unwrap_or(rest.len());
                let line = &rest[..line_end];
                start + line.strip_suffix('\r').map_or(line_end, str::len)
            });
        Some(SourceSpan::from((start, end - start)))
    }
}

/// One [`Diagnostic`] as miette sees it.
#[derive(Debug)]
struct Human {
    code: Option<String>,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<Snippet>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Human>,
}

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Human {}

impl miette::Diagnostic for Human {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_none() || self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl Human {
    /// The same diagnostic with every snippet replaced by a `(path:line:column)` mention.
    fn without_snippets(&self) -> Human {
        Human {
            code: self.code.clone(),
            message: self.message.clone(),
            severity: self.severity,
            help: self.help.clone(),
            source: None,
            labels: Vec::new(),
            related: self.related.iter().map(Human::without_snippets).collect(),
        }
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Note => miette::Severity::Advice,
    }
}

fn at(sources: &Sources, span: &Span) -> String {
    format!("{}:{}:{}", sources.path(span.file), span.line, span.column)
}

/// Turn a diagnostic and its planned snippets into what miette renders.
fn build(diagnostic: &Diagnostic, groups: &[Group], sources: &Sources, lines: &DataLines) -> Human {
    let mut human = Human {
        code: Some(format!("{}[{}]", diagnostic.severity, diagnostic.code)),
        message: diagnostic.message.clone(),
        severity: miette_severity(diagnostic.severity),
        help: diagnostic.help.clone(),
        source: None,
        labels: Vec::new(),
        related: Vec::new(),
    };
    for group in groups {
        let snippet = if group.kept {
            sources
                .get(group.file)
                .and_then(|f| f.text.clone())
                .map(|text| Snippet {
                    text,
                    first_line: 1,
                })
        } else {
            lines
                .window(group.file, group.lines.0, group.lines.1)
                .map(|text| Snippet {
                    text: text.into(),
                    first_line: group.lines.0,
                })
        };
        let path = sources.path(group.file);
        let locate = |span: &Span| snippet.as_ref().and_then(|s| s.locate(span));

        let primary_group = group.members.first() == Some(&Member::Primary);
        if primary_group && let Some(span) = &diagnostic.span {
            match locate(span) {
                Some(at) => {
                    human.source = snippet.clone().map(|s| NamedSource::new(path, s));
                    human.labels.push(LabeledSpan::new_primary_with_span(
                        diagnostic.span_label.clone(),
                        at,
                    ));
                }
                None => {
                    // No snippet: name the place in the message instead.
                    human.message = format!("{} ({})", diagnostic.message, at(sources, span));
                    if let Some(label) = &diagnostic.span_label {
                        human.message = format!("{}: {label}", human.message);
                    }
                }
            }
        }
        for member in &group.members {
            let Member::Label(index) = *member else {
                continue;
            };
            let Some(label) = diagnostic.labels.get(index) else {
                continue;
            };
            match locate(&label.span) {
                Some(span) if primary_group && human.source.is_some() => {
                    human.labels.push(LabeledSpan::new_with_span(
                        Some(label.message.clone()),
                        span,
                    ));
                }
                Some(span) => human.related.push(Human {
                    code: None,
                    message: label.message.clone(),
                    severity: miette::Severity::Advice,
                    help: None,
                    source: snippet.clone().map(|s| NamedSource::new(path, s)),
                    labels: vec![LabeledSpan::new_primary_with_span(None, span)],
                    related: Vec::new(),
                }),
                None => human.related.push(Human {
                    code: None,
                    message: format!("{} ({})", label.message, at(sources, &label.span)),
                    severity: miette::Severity::Advice,
                    help: None,
                    source: None,
                    labels: Vec::new(),
                    related: Vec::new(),
                }),
            }
        }
    }
    human
}

// ---------------------------------------------------------------------------------------------
// json
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: JsonSummary,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    end_line: Option<u32>,
    end_column: Option<u32>,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
}

fn write_json(sink: &Diagnostics, sources: &Sources, out: &mut dyn Write) -> io::Result<()> {
    let diagnostics = sink
        .sorted()
        .into_iter()
        .map(|d| JsonDiagnostic {
            code: d.code.as_str(),
            severity: d.severity,
            message: &d.message,
            file: d.span.map(|s| sources.path(s.file)),
            line: d.span.map(|s| s.line),
            column: d.span.map(|s| s.column),
            end_line: d.span.map(|s| s.end_line),
            end_column: d.span.map(|s| s.end_column),
            help: d.help.as_deref(),
            labels: d
                .labels
                .iter()
                .map(|l| JsonLabel {
                    file: sources.path(l.span.file),
                    line: l.span.line,
                    column: l.span.column,
                    message: &l.message,
                })
                .collect(),
        })
        .collect();
    let report = JsonReport {
        version: 1,
        diagnostics,
        summary: JsonSummary {
            errors: sink.errors(),
            warnings: sink.warnings(),
        },
    };
    serde_json::to_writer(&mut *out, &report)?;
    writeln!(out)
}

// ---------------------------------------------------------------------------------------------
// github
// ---------------------------------------------------------------------------------------------

/// Escape the message of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn message_with_help(diagnostic: &Diagnostic) -> String {
    match &diagnostic.help {
        Some(help) => format!("{}\nhelp: {help}", diagnostic.message),
        None => diagnostic.message.clone(),
    }
}

fn write_github(sink: &Diagnostics, sources: &Sources, out: &mut dyn Write) -> io::Result<()> {
    for d in sink.sorted() {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut properties = Vec::new();
        if let Some(span) = &d.span {
            properties.push(format!("file={}", escape_property(sources.path(span.file))));
            properties.push(format!("line={}", span.line));
            properties.push(format!("col={}", span.column));
            properties.push(format!("endLine={}", span.end_line));
            properties.push(format!("endColumn={}", span.end_column));
        }
        properties.push(format!("title={}", escape_property(d.code.as_str())));
        writeln!(
            out,
            "::{command} {}::{}",
            properties.join(","),
            escape_data(&message_with_help(d))
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// sarif
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<SarifRun>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun {
    tool: SarifTool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct SarifTool {
    driver: SarifDriver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifDriver {
    name: &'static str,
    information_uri: &'static str,
    version: &'static str,
    rules: Vec<SarifRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule {
    id: &'static str,
    short_description: SarifText,
    default_configuration: SarifConfiguration,
}

#[derive(Serialize)]
struct SarifConfiguration {
    level: &'static str,
}

#[derive(Serialize)]
struct SarifText {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: SarifText,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: SarifPhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<SarifText>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifPhysicalLocation {
    artifact_location: SarifArtifactLocation,
    region: SarifRegion,
}

#[derive(Serialize)]
struct SarifArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A path as a SARIF URI reference: forward slashes, reserved characters percent-encoded,
/// absolute paths as `file://` URIs.
fn sarif_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut uri = String::with_capacity(path.len());
    let bytes = path.as_bytes();
    if path.starts_with('/') {
        uri.push_str("file://");
    } else if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        uri.push_str("file:///");
    }
    for (i, &b) in bytes.iter().enumerate() {
        let drive_colon = i == 1 && uri.starts_with("file:///") && !path.starts_with('/');
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) || drive_colon {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn sarif_location(
    sources: &Sources,
    span: &Span,
    id: Option<usize>,
    message: Option<&str>,
) -> SarifLocation {
    let start_line = span.line.max(1);
    let start_column = span.column.max(1);
    let end_line = span.end_line.max(start_line);
    let end_column = if end_line == start_line {
        span.end_column.max(start_column)
    } else {
        span.end_column.max(1)
    };
    SarifLocation {
        id,
        physical_location: SarifPhysicalLocation {
            artifact_location: SarifArtifactLocation {
                uri: sarif_uri(sources.path(span.file)),
            },
            region: SarifRegion {
                start_line,
                start_column,
                end_line,
                end_column,
            },
        },
        message: message.map(|text| SarifText {
            text: text.to_owned(),
        }),
    }
}

fn write_sarif(sink: &Diagnostics, sources: &Sources, out: &mut dyn Write) -> io::Result<()> {
    let diagnostics = sink.sorted();
    let codes: Vec<Code> = diagnostics
        .iter()
        .map(|d| d.code)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rules = codes
        .iter()
        .map(|code| SarifRule {
            id: code.as_str(),
            short_description: SarifText {
                text: code.describe().to_owned(),
            },
            default_configuration: SarifConfiguration {
                level: sarif_level(code.severity()),
            },
        })
        .collect();
    let results = diagnostics
        .iter()
        .map(|d| SarifResult {
            rule_id: d.code.as_str(),
            rule_index: codes.binary_search(&d.code).unwrap_or_default(),
            level: sarif_level(d.severity),
            message: SarifText {
                text: message_with_help(d),
            },
            locations: d
                .span
                .iter()
                .map(|span| sarif_location(sources, span, None, None))
                .collect(),
            related_locations: d
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| sarif_location(sources, &l.span, Some(i), Some(&l.message)))
                .collect(),
        })
        .collect();
    let log = SarifLog {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: "waform",
                    information_uri: "https://github.com/waform/waform",
                    version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "kind: campaign\nname: spring-sale\ntemplate: order_update\nparams:\n  - \"{{ name }}\"\nrecipients: csv:contacts.csv\n";
    const CSV: &str = "phone,name\n+33612345678,Ana\n06-bad-phone,Bruno\n+33698765432,Chloé\n";

    /// A YAML file kept in memory, a CSV file on disk, and a sink with three diagnostics.
    struct Fixture {
        dir: tempfile::TempDir,
        sources: Sources,
        sink: Diagnostics,
    }

    /// The span of the first occurrence of `needle` in `text`.
    fn find(file: FileId, text: &str, needle: &str) -> Span {
        let offset = text.find(needle).expect("needle in text");
        Span::in_source(file, text, offset, needle.len())
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("contacts.csv");
        std::fs::write(&csv_path, CSV).unwrap();
        let mut sources = Sources::default();
        let yaml = sources.add("campaigns/spring.yaml", Some(Arc::from(YAML)));
        let csv = sources.add(csv_path.to_str().unwrap(), None);

        let mut sink = Diagnostics::new();
        sink.push(
            Diagnostic::new(Code::ParamCount, "1 parameter given, the template has 2")
                .at(find(yaml, YAML, "\"{{ name }}\""))
                .with_span_label("the only parameter")
                .with_label(find(yaml, YAML, "order_update"), "template declared here")
                .with_help("add a parameter for `{{2}}`"),
        );
        // Row 2 of the CSV is on line 3; the data file's text is not kept, only line/column.
        let phone = Span {
            file: csv,
            line: 3,
            column: 1,
            end_line: 3,
            end_column: 13,
            offset: 0,
            len: 0,
        };
        sink.push(
            Diagnostic::new(Code::InvalidPhone, "`06-bad-phone` is not a phone number")
                .at(phone)
                .with_span_label("this cell")
                .with_label(
                    find(yaml, YAML, "csv:contacts.csv"),
                    "recipients read from here",
                ),
        );
        sink.push(Diagnostic::new(
            Code::NoRecipients,
            "campaign `spring-sale` selects no recipient",
        ));
        Fixture { dir, sources, sink }
    }

    fn render(f: &Fixture, format: Format, options: &RenderOptions) -> String {
        let mut out = Vec::new();
        write_report(&f.sink, &f.sources, format, options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        scrub(&text, f.dir.path().to_str().unwrap())
    }

    /// Replace the temporary directory, in every form a format writes it, by `[TMP]`.
    fn scrub(text: &str, dir: &str) -> String {
        text.replace(&sarif_uri(dir), "[TMP]")
            .replace(&escape_property(dir), "[TMP]")
            .replace(dir, "[TMP]")
    }

    fn plain() -> RenderOptions {
        RenderOptions {
            color: false,
            width: 100,
        }
    }

    /// The human format shows snippets from YAML and CSV, related labels, help and the summary.
    #[test]
    fn human_snapshot() {
        insta::assert_snapshot!(render(&fixture(), Format::Human, &plain()));
    }

    /// The JSON format is one compact document with every diagnostic and the summary.
    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!(render(&fixture(), Format::Json, &plain()));
    }

    /// The github format writes one workflow command per diagnostic.
    #[test]
    fn github_snapshot() {
        insta::assert_snapshot!(render(&fixture(), Format::Github, &plain()));
    }

    /// The SARIF format is a 2.1.0 log with one rule per code and related locations.
    #[test]
    fn sarif_snapshot() {
        let version = format!("\"version\": \"{}\",\n", env!("CARGO_PKG_VERSION"));
        let text = render(&fixture(), Format::Sarif, &plain());
        let text = text.replacen(&version, "\"version\": \"[VERSION]\",\n", 2);
        insta::assert_snapshot!(text);
    }

    /// The JSON document has exactly the documented shape, with 1-based positions.
    #[test]
    fn json_has_documented_shape() {
        let f = fixture();
        let text = render(&f, Format::Json, &plain());
        assert!(
            text.ends_with("}\n") && text.lines().count() == 1,
            "compact: {text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let expected = serde_json::json!({
            "version": 1,
            "diagnostics": [
                {
                    "code": "param-count",
                    "severity": "error",
                    "message": "1 parameter given, the template has 2",
                    "file": "campaigns/spring.yaml",
                    "line": 5,
                    "column": 5,
                    "end_line": 5,
                    "end_column": 17,
                    "help": "add a parameter for `{{2}}`",
                    "labels": [{
                        "file": "campaigns/spring.yaml",
                        "line": 3,
                        "column": 11,
                        "message": "template declared here"
                    }]
                },
                {
                    "code": "invalid-phone",
                    "severity": "error",
                    "message": "`06-bad-phone` is not a phone number",
                    "file": "[TMP]/contacts.csv",
                    "line": 3,
                    "column": 1,
                    "end_line": 3,
                    "end_column": 13,
                    "help": null,
                    "labels": [{
                        "file": "campaigns/spring.yaml",
                        "line": 6,
                        "column": 13,
                        "message": "recipients read from here"
                    }]
                },
                {
                    "code": "no-recipients",
                    "severity": "warning",
                    "message": "campaign `spring-sale` selects no recipient",
                    "file": null,
                    "line": null,
                    "column": null,
                    "end_line": null,
                    "end_column": null,
                    "help": null,
                    "labels": []
                }
            ],
            "summary": {"errors": 2, "warnings": 1}
        });
        assert_eq!(value, expected);
    }

    /// Workflow commands escape `%`, CR and LF in messages, and also `:` and `,` in properties.
    #[test]
    fn github_escapes_special_characters() {
        let mut sources = Sources::default();
        let file = sources.add("dir,with:odd%name.yaml", Some(Arc::from("a: 1\n")));
        let mut sink = Diagnostics::new();
        sink.push(
            Diagnostic::new(Code::InvalidValue, "50% off, then: a\r\nnew line")
                .at(Span::in_source(file, "a: 1\n", 3, 1))
                .with_help("use a, b: c"),
        );
        sink.push(Diagnostic::new(Code::NotWaform, "skipped, 100%"));
        let mut out = Vec::new();
        write_report(&sink, &sources, Format::Github, &plain(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::error file=dir%2Cwith%3Aodd%25name.yaml,line=1,col=4,endLine=1,endColumn=5,\
             title=invalid-value::50%25 off, then: a%0D%0Anew line%0Ahelp: use a, b: c\n\
             ::notice title=not-waform::skipped, 100%25\n"
        );
    }

    /// A big data file is read back only around the span, and shows the file's own line numbers.
    #[test]
    fn data_file_span_shows_the_right_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut file = io::BufWriter::new(File::create(&path).unwrap());
        for i in 1..=200_000 {
            writeln!(file, "row-{i:06},+3361234{i:04},value {i}").unwrap();
        }
        file.flush().unwrap();
        drop(file);
        let mut sources = Sources::default();
        let csv = sources.add(path.to_str().unwrap(), None);
        let span = |line: u32| Span {
            file: csv,
            line,
            column: 12,
            end_line: line,
            end_column: 25,
            offset: 0,
            len: 0,
        };
        let mut sink = Diagnostics::new();
        sink.push(
            Diagnostic::new(Code::InvalidPhone, "bad phone near the top")
                .at(span(3))
                .with_span_label("here"),
        );
        sink.push(
            Diagnostic::new(Code::InvalidPhone, "bad phone deep down")
                .at(span(150_000))
                .with_span_label("there"),
        );
        let mut out = Vec::new();
        write_report(&sink, &sources, Format::Human, &plain(), &mut out).unwrap();
        let text = scrub(
            &String::from_utf8(out).unwrap(),
            dir.path().to_str().unwrap(),
        );
        assert!(text.contains("[[TMP]/big.csv:3:12]"), "{text}");
        assert!(
            text.contains(" 2 │ row-000002,+33612340002,value 2"),
            "{text}"
        );
        assert!(
            text.contains(" 3 │ row-000003,+33612340003,value 3"),
            "{text}"
        );
        assert!(
            text.contains(" 4 │ row-000004,+33612340004,value 4"),
            "{text}"
        );
        assert!(!text.contains("row-000005"), "{text}");
        assert!(text.contains("[[TMP]/big.csv:150000:12]"), "{text}");
        assert!(
            text.contains(" 150000 │ row-150000,+3361234150000,value 150000"),
            "{text}"
        );
        let underline = text
            .lines()
            .skip_while(|l| !l.contains("row-000003"))
            .nth(1)
            .unwrap();
        assert_eq!(underline, "   ·            ──────┬──────");
    }

    /// Counts of dropped diagnostics appear in the human output; JSON counts include them.
    #[test]
    fn dropped_and_summary_counts() {
        let mut sources = Sources::default();
        sources.add("a.yaml", Some(Arc::from("a: 1\n")));
        let mut sink = Diagnostics::new();
        for i in 0..(crate::diagnostics::KEEP_PER_CODE + 7) {
            sink.push(Diagnostic::new(
                Code::InvalidPhone,
                format!("bad phone {i:03}"),
            ));
        }
        sink.push(Diagnostic::new(Code::DuplicateRecipient, "seen twice"));
        let mut human = Vec::new();
        write_report(&sink, &sources, Format::Human, &plain(), &mut human).unwrap();
        let human = String::from_utf8(human).unwrap();
        assert!(
            human.contains(
                "\n… and 7 more invalid-phone errors not shown\nerror: 107 errors, 1 warning\n"
            ),
            "{human}"
        );
        assert!(human.ends_with("error: 107 errors, 1 warning\n"));

        let mut json = Vec::new();
        write_report(&sink, &sources, Format::Json, &plain(), &mut json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            json["summary"],
            serde_json::json!({"errors": 107, "warnings": 1})
        );
        assert_eq!(json["diagnostics"].as_array().unwrap().len(), 101);
    }

    /// The summary line reads naturally for every mix of counts, and is absent when clean.
    #[test]
    fn summary_line_wording() {
        assert_eq!(summary_line(0, 0, false), None);
        assert_eq!(summary_line(1, 0, false).unwrap(), "error: 1 error");
        assert_eq!(summary_line(0, 2, false).unwrap(), "warning: 2 warnings");
        assert_eq!(
            summary_line(3, 1, false).unwrap(),
            "error: 3 errors, 1 warning"
        );
        assert_eq!(
            summary_line(3, 1, true).unwrap(),
            "\u{1b}[31;1merror\u{1b}[0m: 3 errors, 1 warning"
        );
    }

    /// Spans outside their file, missing data files and dangling labels fall back to plain text.
    #[test]
    fn odd_spans_do_not_panic() {
        let mut sources = Sources::default();
        let yaml = sources.add("a.yaml", Some(Arc::from("a: 1\nb: é\n")));
        let gone = sources.add("/nonexistent/waform/data.csv", None);
        let odd = |file, line, column, end_line, end_column| Span {
            file,
            line,
            column,
            end_line,
            end_column,
            offset: usize::MAX,
            len: usize::MAX,
        };
        let mut sink = Diagnostics::new();
        sink.push(
            Diagnostic::new(Code::InvalidValue, "past the last line")
                .at(odd(yaml, 99, 1, 99, 2))
                .with_span_label("nowhere")
                .with_label(odd(yaml, 0, 0, 0, 0), "line zero"),
        );
        sink.push(
            Diagnostic::new(Code::InvalidValue, "past the end of a line")
                .at(odd(yaml, 2, 50, 1, 1)),
        );
        sink.push(
            Diagnostic::new(Code::WrongType, "end before start")
                .at(odd(yaml, 2, 4, 1, 1))
                .with_label(odd(yaml, u32::MAX, u32::MAX, u32::MAX, u32::MAX), "huge"),
        );
        sink.push(
            Diagnostic::new(Code::DataError, "data file gone")
                .at(odd(gone, 3, 1, 3, 5))
                .with_label(odd(yaml, 1, 1, 1, 2), "used here"),
        );
        for format in Format::ALL {
            let mut out = Vec::new();
            write_report(&sink, &sources, *format, &plain(), &mut out).unwrap();
            assert!(!out.is_empty());
        }
        let mut out = Vec::new();
        write_report(&sink, &sources, Format::Human, &plain(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("past the last line (a.yaml:99:1): nowhere"),
            "{text}"
        );
        assert!(text.contains("line zero (a.yaml:0:0)"), "{text}");
        assert!(
            text.contains("data file gone (/nonexistent/waform/data.csv:3:1)"),
            "{text}"
        );
        // "end before start" still underlines from its start to the end of the line.
        assert!(text.contains(" 2 │ b: é"), "{text}");
        assert!(!text.contains("Failed to read"), "{text}");
    }

    /// Labels in the same data file join the primary snippet when close, else get their own.
    #[test]
    fn data_file_labels_near_and_far() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.ndjson");
        let body: String = (1..=100).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        std::fs::write(&path, body).unwrap();
        let mut sources = Sources::default();
        let data = sources.add(path.to_str().unwrap(), None);
        let at = |line| Span {
            file: data,
            line,
            column: 2,
            end_line: line,
            end_column: 5,
            offset: 0,
            len: 0,
        };
        let mut sink = Diagnostics::new();
        sink.push(
            Diagnostic::new(Code::DuplicateRecipient, "seen twice")
                .at(at(10))
                .with_span_label("again")
                .with_label(at(7), "first seen here")
                .with_label(at(90), "and here"),
        );
        let mut out = Vec::new();
        write_report(&sink, &sources, Format::Human, &plain(), &mut out).unwrap();
        let text = scrub(
            &String::from_utf8(out).unwrap(),
            dir.path().to_str().unwrap(),
        );
        insta::assert_snapshot!(text);
    }

    /// Colour output uses ANSI escapes; without colour there are none.
    #[test]
    fn colour_is_optional() {
        let f = fixture();
        let coloured = render(
            &f,
            Format::Human,
            &RenderOptions {
                color: true,
                width: 100,
            },
        );
        assert!(coloured.contains('\u{1b}'));
        assert!(!render(&f, Format::Human, &plain()).contains('\u{1b}'));
    }

    /// Formats parse from their names, case-insensitively, and print back the same.
    #[test]
    fn formats_parse_and_print() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(*format));
        }
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        assert!("xml".parse::<Format>().is_err());
    }

    /// SARIF URIs use forward slashes, percent-encode odd characters and mark absolute paths.
    #[test]
    fn sarif_uris() {
        assert_eq!(sarif_uri("campaigns\\a b.yaml"), "campaigns/a%20b.yaml");
        assert_eq!(sarif_uri("/tmp/x#1.csv"), "file:///tmp/x%231.csv");
        assert_eq!(sarif_uri("C:\\data\\x.csv"), "file:///C:/data/x.csv");
        assert_eq!(sarif_uri("data/é.csv"), "data/%C3%A9.csv");
    }

    /// Line reading keeps only wanted lines, handles CRLF, a missing final newline and cuts
    /// overlong lines.
    #[test]
    fn read_lines_streams_wanted_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        std::fs::write(&path, format!("a\r\nb\n{long}\nlast")).unwrap();
        let wanted: BTreeSet<u32> = [2, 3, 4, 5].into_iter().collect();
        let lines = read_lines(path.to_str().unwrap(), &wanted).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[&2], "b");
        assert_eq!(lines[&3].len(), MAX_LINE_BYTES);
        assert_eq!(lines[&4], "last");
    }
}

//! Diagnostics as data: a stable code, a severity, a message, spans and help.
//!
//! Every stage pushes what it finds into a [`Diagnostics`] sink; rendering happens at the
//! edge (see [`crate::report`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information only (a file skipped, a number rewritten).
    Note,
    /// Compiles and sends, but worth a look.
    Warning,
    /// Refuses to compile or send.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($( #[doc = $doc:literal] $variant:ident = $code:literal, $severity:ident; )*) => {
        /// Every diagnostic waform can report, each with a stable kebab-case code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( #[doc = $doc] $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name shown to users and machines.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// The one-line description of the code (its doc comment).
            pub fn describe(self) -> &'static str {
                match self { $( Code::$variant => $doc.trim_start(), )* }
            }
        }
    };
}

codes! {
    /// A file or folder could not be read.
    ReadError = "read-error", Error;
    /// The YAML is not well formed.
    YamlSyntax = "yaml-syntax", Error;
    /// A mapping has the same key twice.
    DuplicateKey = "duplicate-key", Error;
    /// The YAML exceeds a safety limit (aliases, nesting depth, size).
    YamlLimit = "yaml-limit", Error;
    /// A file holds no waform document and was skipped.
    NotWaform = "not-waform", Note;
    /// A document has no `kind`, or a kind waform does not know.
    UnknownKind = "unknown-kind", Error;
    /// Two documents of the same kind share a name.
    DuplicateName = "duplicate-name", Error;
    /// A campaign names a sender or template that does not exist.
    UnknownReference = "unknown-reference", Error;
    /// A key that is not a field of this kind.
    UnknownField = "unknown-field", Error;
    /// A required field is missing.
    MissingField = "missing-field", Error;
    /// A value has the wrong type (a number where text is expected, ...).
    WrongType = "wrong-type", Error;
    /// A value is not one of the allowed values or does not match the expected form.
    InvalidValue = "invalid-value", Error;
    /// A secret is written literally in YAML instead of `{env: NAME}` or `{file: PATH}`.
    LiteralSecret = "literal-secret", Error;
    /// A field belongs to the other provider, or the provider cannot send this campaign.
    ProviderMismatch = "provider-mismatch", Error;
    /// A template lacks the provider settings its sender needs (namespace, hsm_id).
    MissingProviderConfig = "missing-provider-config", Error;
    /// A template name WhatsApp would refuse.
    InvalidTemplateName = "invalid-template-name", Error;
    /// A language code WhatsApp does not know, or one the template is not approved in.
    InvalidLanguage = "invalid-language", Error;
    /// The template text itself is malformed (placeholders, header length, ...).
    InvalidTemplate = "invalid-template", Error;
    /// The number of parameters differs from the template's placeholders.
    ParamCount = "param-count", Error;
    /// A parameter's kind differs from the template's declared type.
    ParamType = "param-type", Error;
    /// A parameter renders to empty text.
    EmptyParam = "empty-param", Error;
    /// A parameter contains a newline, a tab or a run of five spaces.
    ParamWhitespace = "param-whitespace", Error;
    /// A parameter contains a control or separator character.
    ParamControlChar = "param-control-char", Warning;
    /// A parameter is longer than WhatsApp allows.
    ParamTooLong = "param-too-long", Error;
    /// The body with its parameters in place is longer than 1024 characters.
    BodyTooLong = "body-too-long", Error;
    /// A quick-reply payload longer than 256 characters.
    PayloadTooLong = "payload-too-long", Warning;
    /// The campaign's buttons do not match the template's.
    ButtonMismatch = "button-mismatch", Error;
    /// A URL button suffix is a whole URL or contains whitespace.
    InvalidUrlSuffix = "invalid-url-suffix", Error;
    /// A currency code that is not ISO 4217.
    InvalidCurrency = "invalid-currency", Error;
    /// An amount that is not an exact decimal within WhatsApp's range.
    InvalidAmount = "invalid-amount", Error;
    /// An amount of zero or less.
    NonPositiveAmount = "non-positive-amount", Warning;
    /// A date_time value that is not an ISO 8601 date.
    InvalidDate = "invalid-date", Error;
    /// The header does not match the template's header.
    HeaderMismatch = "header-mismatch", Error;
    /// A media link that is not an absolute https URL of the right file type.
    InvalidMediaLink = "invalid-media-link", Error;
    /// A media link that works but may fail (plain http, signed short-lived URL).
    MediaLinkRisk = "media-link-risk", Warning;
    /// A phone number that is not valid.
    InvalidPhone = "invalid-phone", Error;
    /// A phone number rewritten to its WhatsApp form, or a landline.
    PhoneRewritten = "phone-rewritten", Warning;
    /// The same recipient (its number, or its `key`) twice in one campaign; it is sent once.
    DuplicateRecipient = "duplicate-recipient", Warning;
    /// A recipient's `key` renders empty, or longer than 256 characters.
    InvalidKey = "invalid-key", Error;
    /// A campaign selects no recipient.
    NoRecipients = "no-recipients", Warning;
    /// A Mayten destination without a tracking number, or with a repeated one.
    TrackingNumber = "tracking-number", Warning;
    /// A data file (`csv:`, `ndjson:`) that is missing, outside the project or malformed.
    DataError = "data-error", Error;
    /// A minijinja expression that does not parse.
    ExpressionSyntax = "expression-syntax", Error;
    /// A minijinja expression that fails for a recipient (undefined field, bad filter, ...).
    RenderError = "render-error", Error;
    /// A sender asks for a test host its provider does not have (Mayten: every send is real).
    NoTestHost = "no-test-host", Error;
    /// A rate that is malformed or above WhatsApp's ceiling.
    InvalidRate = "invalid-rate", Error;
    /// A text message longer than 4096 characters.
    TextTooLong = "text-too-long", Error;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file known to the diagnostics: its path as the user gave it and, for YAML, its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user wrote it (or as found while walking their path).
    pub path: String,
    /// The whole text, for files small enough to keep (YAML); data files are not kept.
    pub text: Option<Arc<str>>,
}

/// An index into [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// The files diagnostics may point into.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Register a file and return its id.
    pub fn add(&mut self, path: impl Into<String>, text: Option<Arc<str>>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            path: path.into(),
            text,
        });
        id
    }

    /// The file behind an id, if it is known.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The path of a file as the user gave it (empty for an unknown id).
    pub fn path(&self, id: FileId) -> &str {
        self.get(id).map_or("", |f| f.path.as_str())
    }

    /// How many files are known.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file is known.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A place in a file: byte range plus 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// 1-based line of the start.
    pub line: u32,
    /// 1-based column (in characters) of the start.
    pub column: u32,
    /// 1-based line of the end.
    pub end_line: u32,
    /// 1-based column just past the end.
    pub end_column: u32,
    /// Byte offset of the start, when known.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// A span covering `text` starting at a byte offset, line and column (single-line or not).
    pub fn of_text(file: FileId, offset: usize, line: u32, column: u32, text: &str) -> Span {
        let mut end_line = line;
        let mut end_column = column;
        for ch in text.chars() {
            if ch == '\n' {
                end_line += 1;
                end_column = 1;
            } else {
                end_column += 1;
            }
        }
        Span {
            file,
            line,
            column,
            end_line,
            end_column,
            offset,
            len: text.len(),
        }
    }

    /// The first character of a file: where a problem with the whole file is shown.
    pub fn file_start(file: FileId) -> Span {
        Span {
            file,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 2,
            offset: 0,
            len: 1,
        }
    }

    /// A span of `text` found at a byte offset inside a whole file's `source`.
    pub fn in_source(file: FileId, source: &str, offset: usize, len: usize) -> Span {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source.get(line_start..offset).unwrap_or("").chars().count() as u32 + 1;
        let end = (offset + len).min(source.len());
        let text = source.get(offset..end).unwrap_or("");
        Span::of_text(file, offset, line, column, text)
    }

    /// Narrow a span that starts on a quoted or plain YAML scalar to a sub-range of its text.
    pub fn shifted(self, byte_delta: usize, char_delta: u32, len: usize, chars: u32) -> Span {
        Span {
            offset: self.offset + byte_delta,
            len,
            column: self.column + char_delta,
            end_line: self.line,
            end_column: self.column + char_delta + chars,
            ..self
        }
    }
}

/// A secondary place worth showing, with what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What the place has to do with the diagnostic.
    pub message: String,
}

/// One problem found in the user's files or data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// How bad it is (the code's own severity unless overridden).
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is wrong, when a place is known.
    pub span: Option<Span>,
    /// What the primary place shows, under the snippet.
    pub span_label: Option<String>,
    /// Other places that explain it (the campaign line that used a CSV cell, ...).
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: None,
            span_label: None,
            labels: Vec::new(),
            help: None,
        }
    }

    /// Set the primary place.
    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    /// Set the primary place if there is one.
    pub fn at_opt(mut self, span: Option<Span>) -> Diagnostic {
        if span.is_some() {
            self.span = span;
        }
        self
    }

    /// Set what the primary place shows.
    pub fn with_span_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.span_label = Some(label.into());
        self
    }

    /// Add an explaining place.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Add an explaining place if there is one.
    pub fn with_label_opt(self, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        match span {
            Some(span) => self.with_label(span, message),
            None => self,
        }
    }

    /// Set the help.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Set the help if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Override the severity.
    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }
}

/// How many diagnostics of one code are kept in full; the rest are only counted, so that a
/// million bad rows do not fill memory.
pub const KEEP_PER_CODE: usize = 100;

/// The sink every stage pushes its findings into.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    kept: HashMap<Code, usize>,
    dropped: HashMap<Code, (Severity, usize)>,
    errors: usize,
    warnings: usize,
    notes: usize,
}

impl Diagnostics {
    /// An empty sink.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Record a diagnostic (counted always, kept up to [`KEEP_PER_CODE`] per code).
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.count(diagnostic.severity);
        let kept = self.kept.entry(diagnostic.code).or_default();
        if *kept < KEEP_PER_CODE {
            *kept += 1;
            self.items.push(diagnostic);
        } else {
            let entry = self
                .dropped
                .entry(diagnostic.code)
                .or_insert((diagnostic.severity, 0));
            entry.1 += 1;
        }
    }

    /// Whether a diagnostic of this code would be kept in full (so that costly spans are only
    /// computed for those).
    pub fn would_keep(&self, code: Code) -> bool {
        self.kept.get(&code).copied().unwrap_or(0) < KEEP_PER_CODE
    }

    /// Count a diagnostic that is not kept (beyond [`KEEP_PER_CODE`]).
    pub fn count_only(&mut self, code: Code, severity: Severity) {
        self.count(severity);
        self.dropped.entry(code).or_insert((severity, 0)).1 += 1;
    }

    fn count(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Note => self.notes += 1,
        }
    }

    /// Number of errors seen (kept or not).
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// Number of warnings seen (kept or not).
    pub fn warnings(&self) -> usize {
        self.warnings
    }

    /// True when at least one error was seen.
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// The kept diagnostics, in a deterministic order: by file, line, column, then code.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.span
                    .map(|s| (0, s.file, s.line, s.column))
                    .unwrap_or((1, FileId(0), 0, 0))
            };
            key(a)
                .cmp(&key(b))
                .then(a.code.cmp(&b.code))
                .then(a.message.cmp(&b.message))
        });
        items
    }

    /// Codes whose diagnostics were only counted, with how many were left out.
    pub fn dropped(&self) -> Vec<(Code, Severity, usize)> {
        let mut out: Vec<_> = self
            .dropped
            .iter()
            .map(|(code, (severity, count))| (*code, *severity, *count))
            .collect();
        out.sort();
        out
    }
}

/// "did you mean" for a misspelt name among candidates.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Codes are unique, kebab-case and described.
    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code} is not kebab-case"
            );
            assert!(!code.describe().is_empty());
        }
    }

    /// The sink counts every diagnostic but keeps only the first ones per code.
    #[test]
    fn sink_caps_kept_diagnostics() {
        let mut sink = Diagnostics::new();
        for i in 0..(KEEP_PER_CODE + 5) {
            sink.push(Diagnostic::new(Code::InvalidPhone, format!("bad {i}")));
        }
        assert_eq!(sink.errors(), KEEP_PER_CODE + 5);
        assert_eq!(sink.sorted().len(), KEEP_PER_CODE);
        assert_eq!(
            sink.dropped(),
            vec![(Code::InvalidPhone, Severity::Error, 5)]
        );
    }

    /// "did you mean" finds close names and ignores far ones.
    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("recipents", ["recipients", "sender"]),
            Some("recipients")
        );
        assert_eq!(did_you_mean("zzz", ["recipients"]), None);
    }
}

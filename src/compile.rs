//! The compiler: files → validated project → per recipient, rendered and checked messages.
//!
//! Recipients are streamed: a campaign of a million rows holds one row at a time (plus a set
//! of the numbers seen, to send each once).

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::check::{TextProblem, TextUse, check_media_link, check_text, fill_body};
use crate::diagnostics::{Code, Diagnostic, Diagnostics, Severity, Sources, Span};
use crate::load::{self, Document};
use crate::message::{
    BodyParam, ButtonParam, ButtonParamKind, Content, HeaderParam, Message, TemplateContent,
};
use crate::model::{Campaign, Project, Provider, RecipientSource, Target, TemplateHeader};
use crate::recipients::{self, Header, Origin, Rows};
use crate::render::{BodyCompiled, Compiled, CompiledSet, Renderer};
use crate::seen::SeenSet;
use crate::values;

/// How many messages of each campaign the plan previews.
pub const PREVIEWS: usize = 3;

/// A message as the recipient will read it.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The recipient.
    pub to: String,
    /// Where the recipient came from.
    pub origin: String,
    /// The header line, if any (`[image] https://...`).
    pub header: Option<String>,
    /// The body with its parameters in place (or the text).
    pub body: String,
    /// The buttons, as labels.
    pub buttons: Vec<String>,
}

/// What happened to one campaign.
#[derive(Debug, Clone)]
pub struct CampaignSummary {
    /// The campaign's name.
    pub name: Arc<str>,
    /// Its sender's name.
    pub sender: Arc<str>,
    /// Its provider.
    pub provider: Provider,
    /// Its template's name (none for a text campaign).
    pub template: Option<Arc<str>>,
    /// Rows read.
    pub rows: u64,
    /// Rows left out by `where`.
    pub filtered: u64,
    /// Rows that repeat an earlier recipient.
    pub duplicates: u64,
    /// Rows with errors.
    pub failed: u64,
    /// Messages compiled.
    pub messages: u64,
    /// Warnings reported for this campaign.
    pub warnings: u64,
    /// A few messages as the recipients will read them.
    pub previews: Vec<Preview>,
}

/// How [`run`] works.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Threads compiling recipients (1: all on the calling thread).
    pub jobs: usize,
    /// What of each message the sink needs.
    pub keep: Keep,
}

/// What of each message the sink needs: the less, the less the compiling threads hand over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The whole message, provider-neutral.
    Content,
    /// The provider JSON, serialised on the compiling threads ([`Message::encoded`]), for
    /// callers that emit requests. The provider-neutral content of a message that was
    /// serialised is emptied ([`Message::strip`]) once the campaign's previews are taken.
    Encoded,
    /// Only that the message compiled, its recipient and origin (content emptied likewise).
    Recipient,
}

/// The loaded, validated project and the files behind it.
pub struct Loaded {
    /// The documents.
    pub documents: Vec<Document>,
    /// The project.
    pub project: Project,
}

/// Load and validate every document under `paths`.
pub fn load(paths: &[PathBuf], sources: &mut Sources, diags: &mut Diagnostics) -> Loaded {
    let documents = load::load(paths, sources, diags);
    let project = crate::validate::validate(&documents, diags);
    Loaded { documents, project }
}

/// Where [`run`] hands the messages that compile.
///
/// A closure `FnMut(Box<Message>) -> bool` is a sink that takes the messages campaign after
/// campaign, each campaign's in the order of its rows.
pub trait Sink: Send {
    /// A message of the project's campaign number `campaign`; false stops the run.
    fn message(&mut self, campaign: usize, message: Box<Message>) -> bool;

    /// Whether `later` may be compiled in the same pass over a data file as the campaigns
    /// before it that read the same file, its messages then reaching [`Sink::message`]
    /// interleaved with theirs (each campaign's own still in the order of its rows). No by
    /// default.
    fn interleave(&self, later: &Campaign) -> bool {
        let _ = later;
        false
    }

    /// Campaign number `campaign` has no more messages. Called once per campaign run, in
    /// the project's order, after its last message.
    fn done(&mut self, campaign: usize) {
        let _ = campaign;
    }
}

impl<F: FnMut(Box<Message>) -> bool + Send> Sink for F {
    fn message(&mut self, _campaign: usize, message: Box<Message>) -> bool {
        self(message)
    }
}

/// A sink for callers that only need the diagnostics and summaries: it drops every message,
/// so campaigns that read the same data file always share one pass over it.
pub struct Discard;

impl Sink for Discard {
    fn message(&mut self, _campaign: usize, _message: Box<Message>) -> bool {
        true
    }

    fn interleave(&self, _later: &Campaign) -> bool {
        true
    }
}

/// Render and check every recipient of every campaign; each message that compiles goes to
/// `sink`, which can stop the run early. Returns a summary per campaign.
///
/// Campaigns that read the same data file one after the other, when the sink lets them
/// interleave ([`Sink::interleave`]), are compiled in one pass over it: the file is read and
/// parsed once.
pub fn run(
    loaded: &Loaded,
    options: RunOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut dyn Sink,
) -> Vec<CampaignSummary> {
    let campaigns = &loaded.project.campaigns;
    let mut summaries = Vec::new();
    let mut seen = Vec::new();
    let mut sink = Stopping {
        sink,
        stopped: false,
    };
    let mut start = 0;
    while start < campaigns.len() && !sink.stopped() {
        let mut end = start + 1;
        while end < campaigns.len()
            && same_data(&campaigns[start], &campaigns[end])
            && sink.sink.interleave(&campaigns[end])
        {
            end += 1;
        }
        let group: Vec<Member<'_>> = (start..end)
            .map(|index| Member {
                index,
                campaign: &campaigns[index],
                text: loaded
                    .documents
                    .iter()
                    .find(|d| d.file == campaigns[index].span.file)
                    .map(|d| d.text.clone())
                    .unwrap_or_else(|| Arc::from("")),
            })
            .collect();
        if seen.len() < group.len() {
            seen.resize_with(group.len(), Seen::default);
        }
        summaries.extend(run_group(
            &group, options, sources, diags, &mut sink, &mut seen,
        ));
        start = end;
    }
    summaries
}

/// Whether two campaigns read the same data file.
fn same_data(a: &Campaign, b: &Campaign) -> bool {
    match (&a.recipients, &b.recipients) {
        (RecipientSource::Csv { path: a, .. }, RecipientSource::Csv { path: b, .. })
        | (RecipientSource::Ndjson { path: a, .. }, RecipientSource::Ndjson { path: b, .. }) => {
            a == b
        }
        _ => false,
    }
}

/// Whether two campaigns of a pass always have the same recipient on the same row, or none:
/// the same filter, `to` and `key` expressions, `vars` and default country. The later one
/// then takes the earlier one's selected rows ([`Selected`]) and its answers to "is this
/// recipient new?", instead of filtering, parsing and keeping a set of the same keys again.
fn same_recipients(a: &Campaign, b: &Campaign) -> bool {
    a.to.source == b.to.source
        && a.key.as_ref().map(|k| &k.source) == b.key.as_ref().map(|k| &k.source)
        && a.where_.as_ref().map(|w| &w.source) == b.where_.as_ref().map(|w| &w.source)
        && a.default_country == b.default_country
        && a.vars == b.vars
}

/// A campaign of a pass, with its number in the project and the text of its file.
struct Member<'a> {
    index: usize,
    campaign: &'a Campaign,
    text: Arc<str>,
}

/// A sink that remembers that it said stop, so that the workers of a pass stop too.
struct Stopping<'s> {
    sink: &'s mut dyn Sink,
    stopped: bool,
}

impl Stopping<'_> {
    fn stopped(&self) -> bool {
        self.stopped
    }

    fn message(&mut self, campaign: usize, message: Box<Message>) -> bool {
        self.stopped = self.stopped || !self.sink.message(campaign, message);
        !self.stopped
    }
}

/// The sets of numbers and tracking numbers seen in a campaign's rows, cleared and reused by
/// the next campaign ([`SeenSet::clear`]).
#[derive(Default)]
struct Seen {
    numbers: SeenSet,
    tracking: SeenSet,
}

/// A problem with one row, made into a diagnostic by the collector (and only in full when the
/// sink keeps it).
struct Problem<'a> {
    compiled: Option<&'a Compiled>,
    code: Code,
    severity: Severity,
    message: String,
    help: String,
}

/// The problems found while compiling one row.
#[derive(Default)]
struct RowCx<'a> {
    problems: Vec<Problem<'a>>,
}

impl<'a> RowCx<'a> {
    /// Note a problem with a value computed by `compiled` for this row.
    fn report(
        &mut self,
        compiled: Option<&'a Compiled>,
        code: Code,
        severity: Severity,
        message: String,
        help: String,
    ) {
        self.problems.push(Problem {
            compiled,
            code,
            severity,
            message,
            help,
        });
    }

    fn text_problems(
        &mut self,
        compiled: Option<&'a Compiled>,
        what: &str,
        problems: Vec<TextProblem>,
        severity: Option<Severity>,
    ) {
        if problems.is_empty() {
            return;
        }
        for p in problems {
            let severity = severity.unwrap_or(p.code.severity());
            self.report(
                compiled,
                p.code,
                severity,
                format!("{what}: {}", p.message),
                p.help,
            );
        }
    }

    fn failed(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// Render `compiled` for this row, or report why it failed. Always inlined: it runs a dozen
/// times per row, and LLVM's own choice flips with unrelated changes to `compile_row`.
#[inline(always)]
fn render_or_report<'a>(
    renderer: &Renderer,
    compiled: Option<&'a Compiled>,
    ctx: &crate::render::Scope<'_>,
    row: &mut RowCx<'a>,
    what: &str,
) -> Option<String> {
    render_or_report_cow(renderer, compiled, ctx, row, what).map(Cow::into_owned)
}

/// [`render_or_report`], borrowing the value when it can ([`Renderer::render_cow`]): for
/// values that are parsed, not kept.
#[inline(always)]
fn render_or_report_cow<'a, 's>(
    renderer: &Renderer,
    compiled: Option<&'a Compiled>,
    ctx: &'s crate::render::Scope<'_>,
    row: &mut RowCx<'a>,
    what: &str,
) -> Option<Cow<'s, str>>
where
    'a: 's,
{
    let compiled = compiled?;
    match renderer.render_cow(compiled, ctx) {
        Ok(value) => Some(value),
        Err(failure) => {
            report_render_failure(compiled, failure, row, what);
            None
        }
    }
}

/// Report an expression that failed for this row (out of line: rows rarely fail).
#[cold]
#[inline(never)]
fn report_render_failure<'a>(
    compiled: &'a Compiled,
    failure: crate::render::RenderFailure,
    row: &mut RowCx<'a>,
    what: &str,
) {
    let (message, help) = match &failure.missing {
        Some(field) => (
            format!("{what}: this recipient has no field `{field}`"),
            "add the field to the data, or give a default: `{{ field | default('') }}`".to_owned(),
        ),
        None => (
            format!("{what}: {}", failure.message),
            "fix the expression or the data it reads".to_owned(),
        ),
    };
    row.report(
        Some(compiled),
        Code::RenderError,
        Severity::Error,
        message,
        help,
    );
}

/// A problem reading a campaign's recipients, as a diagnostic.
fn data_error(campaign: &Campaign, problem: crate::recipients::DataProblem) -> Diagnostic {
    Diagnostic::new(Code::DataError, problem.message)
        .at(problem.span)
        .with_label(
            campaign.recipients_span,
            format!("recipients of campaign `{}`", campaign.target.campaign),
        )
        .with_help(problem.help)
}

/// The data file a campaign's recipients are read from (empty for inline recipients).
fn data_path(campaign: &Campaign) -> &Path {
    match &campaign.recipients {
        RecipientSource::Csv { path, .. } | RecipientSource::Ndjson { path, .. } => path,
        RecipientSource::Inline(_) => Path::new(""),
    }
}

fn open_rows(campaign: &Campaign, sources: &mut Sources, diags: &mut Diagnostics) -> Option<Rows> {
    let opened = match &campaign.recipients {
        RecipientSource::Inline(rows) => return Some(Rows::Inline(rows.clone().into_iter(), 0)),
        RecipientSource::Csv { path, shown } => {
            let file = sources.add(shown.clone(), None);
            recipients::open_csv(path, file)
        }
        RecipientSource::Ndjson { path, shown } => {
            let file = sources.add(shown.clone(), None);
            recipients::open_ndjson(path, file)
        }
    };
    match opened {
        Ok(rows) => Some(rows),
        Err(problem) => {
            diags.push(data_error(campaign, problem));
            None
        }
    }
}

/// Check, once, that every field the expressions read is a column of the CSV.
fn check_columns(
    campaign: &Campaign,
    set: &CompiledSet,
    header: &Header,
    diags: &mut Diagnostics,
    csv_span: Span,
) -> bool {
    let mut ok = true;
    let mut seen = HashSet::new();
    for compiled in set.all() {
        for field in &compiled.fields {
            if header.position(field).is_some() || !seen.insert((field.clone(), compiled.expr.span))
            {
                continue;
            }
            ok = false;
            let suggestion =
                crate::diagnostics::did_you_mean(field, header.names.iter().map(|n| &**n));
            diags.push(
                Diagnostic::new(
                    Code::RenderError,
                    format!("`{field}` is not a column of the recipients' CSV"),
                )
                .at(compiled.expr.span)
                .with_span_label("read here")
                .with_label(
                    csv_span,
                    format!("the header row names: {}", header.names.join(", ")),
                )
                .with_label(campaign.recipients_span, "recipients come from this file")
                .with_help(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "use one of the CSV's columns, or `vars.NAME` for a constant".to_owned()
                    }
                }),
            );
        }
    }
    ok
}

/// What a worker needs to compile the rows of one campaign.
#[derive(Clone, Copy)]
struct Work<'a> {
    campaign: &'a Campaign,
    renderer: &'a Renderer,
    set: &'a CompiledSet,
    names: &'a Names,
    keep: Keep,
    /// Cleared by the collector once it holds the campaign's previews: from then on no
    /// message needs its content for one.
    previews_wanted: &'a AtomicBool,
    /// Per body parameter, the parameter of the campaign this one takes its selected rows
    /// from that is computed alike ([`same_param`]), whose value it can take.
    body_from: &'a [Option<usize>],
}

/// What every row of a campaign reuses, made once rather than per row: how diagnostics name
/// its parameters, and the shape of its template's body.
struct Names {
    /// `body parameter N` and `body parameter N (fallback)`.
    body: Vec<(String, String)>,
    /// `button N`.
    buttons: Vec<String>,
    /// The template body's characters around its parameters.
    body_chars: Option<crate::check::BodyChars>,
}

impl Names {
    fn new(campaign: &Campaign, set: &CompiledSet) -> Names {
        Names {
            body_chars: campaign
                .target
                .template
                .as_ref()
                .map(|t| crate::check::BodyChars::new(&t.body, set.body.len())),
            body: (1..=set.body.len())
                .map(|i| {
                    let what = format!("body parameter {i}");
                    let fallback = format!("{what} (fallback)");
                    (what, fallback)
                })
                .collect(),
            buttons: set
                .buttons
                .iter()
                .map(|(index, ..)| format!("button {index}"))
                .collect(),
        }
    }
}

/// Where a row's compilation stopped and what the collector must check against earlier rows.
#[derive(Default)]
struct Marks {
    filtered: bool,
    /// What the seen-set holds for the recipient, once its number (and its key) was valid:
    /// the number itself ([`crate::phone::Phone::key`]), or the hash of the rendered `key:`
    /// ([`key_hash`]) when the campaign has one.
    recipient: Option<u64>,
    /// The rendered `key:`, until it moves into the message: kept here so that a row that
    /// fails after it can still name it.
    key: Option<String>,
    /// How many problems come before the duplicate check.
    before_dedup: usize,
    /// The hash of a non-empty tracking number.
    tracking: Option<u64>,
    /// The tracking number as rendered, until it moves into the message: kept here so that
    /// a row that fails after it can still name it.
    tracking_number: Option<String>,
    /// How many problems come before the repeated-tracking-number check.
    before_tracking: usize,
}

/// One row, compiled.
struct Outcome<'a> {
    origin: Option<Origin>,
    unreadable: Option<Box<crate::recipients::DataProblem>>,
    problems: Vec<Problem<'a>>,
    marks: Marks,
    /// Boxed, so that handing an outcome on (worker, batch, collector, sink) moves a pointer,
    /// not the message.
    message: Option<Box<Message>>,
}

impl<'a> Work<'a> {
    /// Compile one row; its message points at `target`, the worker's own copy of the
    /// campaign's target (so that the workers do not share one reference count).
    fn compile(
        &self,
        next: &Result<crate::recipients::Row, crate::recipients::DataProblem>,
        target: &Arc<Target>,
        known: Option<&mut Found>,
        record: Option<&mut Vec<Found>>,
    ) -> Outcome<'a> {
        let row = match next {
            Ok(row) => row,
            Err(problem) => {
                if let Some(record) = record {
                    record.push(Found::new(Selected::Failed));
                }
                return Outcome {
                    origin: None,
                    unreadable: Some(Box::new(problem.clone())),
                    problems: Vec::new(),
                    marks: Marks::default(),
                    message: None,
                };
            }
        };
        let origin = &row.origin;
        let ctx = self.renderer.scope(&row.fields);
        let mut cx = RowCx::default();
        let mut marks = Marks::default();
        let mut message = compile_row(self, target, &ctx, &mut cx, &mut marks, known, record);
        if let Some(m) = message.as_mut() {
            // Only previews (and callers that keep whole messages) read the origin.
            if self.keep == Keep::Content || self.previews_wanted.load(Ordering::Relaxed) {
                m.origin = shown_origin(self.campaign, origin);
            }
            m.tracking_number = marks.tracking_number.take();
            m.key = marks.key.take().unwrap_or_else(|| m.to.clone());
            if self.keep == Keep::Encoded && !cx.failed() {
                m.encoded = crate::emit::encode(m);
            }
            let strippable = match self.keep {
                Keep::Content => false,
                Keep::Encoded => m.encoded.is_some(),
                Keep::Recipient => true,
            };
            if strippable && !self.previews_wanted.load(Ordering::Relaxed) {
                m.strip();
            }
        }
        Outcome {
            origin: Some(origin.clone()),
            unreadable: None,
            problems: cx.problems,
            marks,
            message,
        }
    }
}

/// Takes compiled rows in order: checks what depends on earlier rows, reports, counts, and
/// hands messages to the sink.
struct Collector<'c, 'a> {
    work: Work<'a>,
    /// The campaign's number in the project.
    index: usize,
    header: Option<&'c Header>,
    summary: CampaignSummary,
    seen_numbers: &'c mut SeenSet,
    seen_tracking: &'c mut SeenSet,
    /// The collector of the same pass (by position) whose recipients this campaign's always
    /// are ([`same_recipients`]): its answers to "seen before?" are this one's.
    numbers_of: Option<usize>,
    /// Outcomes still to come whose seen-set memory was touched.
    touched: usize,
}

/// Whether a row's number was new to its campaign, or the error reading the set.
type Inserted = Result<bool, Arc<std::io::Error>>;

/// Outcomes whose seen-set memory is touched together.
const TOUCH_AHEAD: usize = 16;

impl<'a> Collector<'_, 'a> {
    /// Every [`TOUCH_AHEAD`] outcomes, touch the seen-set memory of the next ones
    /// ([`SeenSet::touch`]), so that their lookups find it in the cache.
    fn touch_ahead<'o>(&mut self, ahead: impl Iterator<Item = &'o Outcome<'a>>)
    where
        'a: 'o,
    {
        self.touched = self.touched.saturating_sub(1);
        if self.touched > 0 {
            return;
        }
        let mut words = 0u64;
        let mut next = 0;
        for outcome in ahead.take(TOUCH_AHEAD) {
            next += 1;
            if let Some(key) = outcome
                .marks
                .recipient
                .filter(|_| self.numbers_of.is_none())
            {
                words ^= self.seen_numbers.touch(key);
            }
            if let Some(hash) = outcome.marks.tracking {
                words ^= self.seen_tracking.touch(hash);
            }
        }
        std::hint::black_box(words);
        self.touched = next;
    }

    /// Whether the number of a chunk's `row` is new to the campaign (none for a row without
    /// one), asking its own set, or taking the answer of the collector it shares its numbers
    /// with (`answers`: the earlier collectors' for the chunk, by position).
    fn insert_number(
        &mut self,
        outcome: &Outcome<'a>,
        answers: &[Vec<Option<Inserted>>],
        row: usize,
    ) -> Option<Inserted> {
        let key = outcome.marks.recipient?;
        let shared = self
            .numbers_of
            .and_then(|at| answers.get(at)?.get(row).cloned().flatten());
        Some(shared.unwrap_or_else(|| self.seen_numbers.insert(key).map_err(Arc::new)))
    }

    fn take(
        &mut self,
        outcome: Outcome<'a>,
        inserted: Option<Inserted>,
        diags: &mut Diagnostics,
        sink: &mut Stopping<'_>,
    ) -> bool {
        let campaign = self.work.campaign;
        let summary = &mut self.summary;
        summary.rows += 1;
        if let Some(problem) = outcome.unreadable.map(|p| *p) {
            summary.failed += 1;
            diags.push(data_error(campaign, problem));
            return true;
        }
        let Some(origin) = outcome.origin else {
            return true;
        };
        let marks = outcome.marks;
        let mut problems = outcome.problems;
        let mut duplicate = false;
        if let (Some(key), Some(inserted)) = (marks.recipient, inserted) {
            match inserted {
                Ok(true) => match marks.tracking.map(|hash| self.seen_tracking.insert(hash)) {
                    Some(Ok(false)) => {
                        let shown = outcome
                            .message
                            .as_ref()
                            .and_then(|m| m.tracking_number.as_deref())
                            .or(marks.tracking_number.as_deref())
                            .unwrap_or_default();
                        problems.insert(
                            marks.before_tracking,
                            Problem {
                                compiled: self.work.set.tracking_number.as_ref(),
                                code: Code::TrackingNumber,
                                severity: Severity::Warning,
                                message: format!("tracking number `{shown}` repeats an earlier one"),
                                help: "tracking numbers should be unique so that answers can be matched to recipients".to_owned(),
                            },
                        );
                    }
                    Some(Err(err)) => problems.push(unchecked(
                        self.work.set.tracking_number.as_ref(),
                        Severity::Warning,
                        "its tracking number",
                        &err,
                    )),
                    Some(Ok(true)) | None => {}
                },
                Ok(false) => {
                    duplicate = true;
                    summary.duplicates += 1;
                    problems.truncate(marks.before_dedup);
                    problems.push(match &self.work.set.key {
                        None => Problem {
                            compiled: self.work.set.to.as_ref(),
                            code: Code::DuplicateRecipient,
                            severity: Severity::Warning,
                            message: format!(
                                "`{key}` is already a recipient of campaign `{}`; it is sent once",
                                campaign.target.campaign
                            ),
                            help: "remove the duplicate row, or ignore this warning: waform sends one message per number".to_owned(),
                        },
                        Some(compiled) => {
                            let shown = outcome
                                .message
                                .as_ref()
                                .map(|m| m.key.as_str())
                                .or(marks.key.as_deref())
                                .unwrap_or_default();
                            Problem {
                                compiled: Some(compiled),
                                code: Code::DuplicateRecipient,
                                severity: Severity::Warning,
                                message: format!(
                                    "key `{shown}` is already a recipient of campaign `{}`; it is sent once",
                                    campaign.target.campaign
                                ),
                                help: "rows with the same `key` are one recipient: remove the duplicate row, or make `key` tell them apart (waform sends one message per key)".to_owned(),
                            }
                        }
                    });
                }
                Err(err) => problems.push(unchecked(
                    self.work.set.to.as_ref(),
                    Severity::Error,
                    "its number",
                    &err,
                )),
            }
        }
        let failed = problems.iter().any(|p| p.severity == Severity::Error);
        for problem in problems {
            if problem.severity == Severity::Warning {
                summary.warnings += 1;
            }
            report(diags, campaign, self.header, &origin, problem);
        }
        if failed {
            summary.failed += 1;
            return true;
        }
        if marks.filtered {
            summary.filtered += 1;
            return true;
        }
        let Some(message) = outcome.message.filter(|_| !duplicate) else {
            return true;
        };
        summary.messages += 1;
        if summary.previews.len() < PREVIEWS {
            summary
                .previews
                .push(preview(&message, message.origin.clone()));
            if summary.previews.len() == PREVIEWS {
                self.work.previews_wanted.store(false, Ordering::Relaxed);
            }
        }
        sink.message(self.index, message)
    }
}

/// A row whose repeat check could not read back the keys spilled to a temporary file. For
/// the number it is an error: sending the row could send a message twice.
fn unchecked<'a>(
    compiled: Option<&'a Compiled>,
    severity: Severity,
    what: &str,
    err: &std::io::Error,
) -> Problem<'a> {
    Problem {
        compiled,
        code: Code::ReadError,
        severity,
        message: format!("cannot tell whether {what} repeats an earlier row: reading waform's temporary file failed: {err}"),
        help: "check the temporary folder (TMPDIR: its disk and permissions) and run again; a row that cannot be checked is not sent".to_owned(),
    }
}

/// Turn a row's problem into a diagnostic, pointing at the data file's cell when the value
/// came from one field.
fn report(
    diags: &mut Diagnostics,
    campaign: &Campaign,
    header: Option<&Header>,
    origin: &Origin,
    problem: Problem<'_>,
) {
    let Problem {
        compiled,
        code,
        severity,
        message,
        help,
    } = problem;
    if !diags.would_keep(code) {
        diags.count_only(code, severity);
        return;
    }
    let where_row = match origin {
        Origin::Inline { index, .. } => format!("inline recipient {index}"),
        Origin::Line { line, .. } => format!("line {line}"),
    };
    let mut diagnostic = Diagnostic::new(code, message)
        .with_severity(severity)
        .with_help(help);
    let field = compiled.and_then(|c| match c.fields.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    });
    match (field, compiled) {
        (Some(field), Some(c)) if !matches!(origin, Origin::Inline { .. }) => {
            diagnostic = diagnostic
                .at(origin.field_span(field, header, data_path(campaign)))
                .with_span_label(format!("`{field}` of this row"))
                .with_label(
                    c.expr.span,
                    format!("used here by campaign `{}`", campaign.target.campaign),
                );
        }
        (_, Some(c)) => {
            diagnostic = diagnostic
                .at(c.expr.span)
                .with_span_label(format!("for {where_row}"))
                .with_label(origin.span(), format!("{where_row} of the recipients"));
        }
        (_, None) => {
            diagnostic = diagnostic.at(origin.span()).with_span_label(where_row);
        }
    }
    diags.push(diagnostic);
}

/// A campaign of a pass, set up: its renderer and expressions, checked against the data's
/// header.
struct Prepared<'a> {
    member: &'a Member<'a>,
    renderer: Renderer,
    set: CompiledSet,
    names: Names,
    previews_wanted: AtomicBool,
}

fn new_summary(campaign: &Campaign) -> CampaignSummary {
    let target = &campaign.target;
    CampaignSummary {
        name: target.campaign.clone(),
        sender: target.sender.name.clone(),
        provider: target.sender.provider,
        template: target.template.as_ref().map(|t| t.name.clone()),
        rows: 0,
        filtered: 0,
        duplicates: 0,
        failed: 0,
        messages: 0,
        warnings: 0,
        previews: Vec::new(),
    }
}

/// Compile the campaigns of one pass over their shared data file (a group of one for a
/// campaign that shares it with none): one reading of the rows, each row compiled for every
/// campaign, each campaign's outcomes collected in row order. Returns their summaries.
fn run_group(
    group: &[Member<'_>],
    options: RunOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut Stopping<'_>,
    seen: &mut [Seen],
) -> Vec<CampaignSummary> {
    let first = group.first().map_or(0, |m| m.index);
    let mut summaries: Vec<CampaignSummary> =
        group.iter().map(|m| new_summary(m.campaign)).collect();
    let mut prepared = Vec::new();
    for member in group {
        if let Some((renderer, set)) = Renderer::new(member.campaign, &member.text, diags) {
            prepared.push(Prepared {
                member,
                names: Names::new(member.campaign, &set),
                renderer,
                set,
                previews_wanted: AtomicBool::new(true),
            });
        }
    }
    let mut rows = None;
    if let Some(first) = prepared.first() {
        rows = open_rows(first.member.campaign, sources, diags);
        if rows.is_none() {
            prepared.clear();
        }
    }
    let header = rows.as_ref().and_then(Rows::header);
    if let (Some(header), Some(Rows::Csv { file, .. })) = (&header, &rows) {
        let csv_span = Span::file_start(*file);
        prepared.retain_mut(|p| {
            let ok = check_columns(p.member.campaign, &p.set, header, diags, csv_span);
            p.renderer.bind_columns(&p.set, header);
            ok
        });
    }
    for p in &prepared {
        let campaign = p.member.campaign;
        let target = &campaign.target;
        if target.sender.provider == Provider::Mayten && campaign.tracking_number.is_none() {
            summaries[p.member.index - first].warnings += 1;
            diags.push(
                Diagnostic::new(Code::TrackingNumber, format!("campaign `{}` gives its Mayten destinations no tracking number", target.campaign))
                    .at(campaign.span)
                    .with_help("add `tracking_number: \"{{ order_id }}\"` (or another unique field) so that reports can match Mayten's answers to recipients"),
            );
        }
    }
    if let Some(mut rows) = rows.filter(|_| !prepared.is_empty()) {
        let jobs = if matches!(rows, Rows::Inline(..)) {
            1
        } else {
            options.jobs
        };
        // Which earlier campaign of the pass each one takes its selected rows (and body
        // parameters) from, and whether a later one takes them from it.
        let shares: Vec<Option<usize>> = (0..prepared.len())
            .map(|at| {
                let campaign = prepared[at].member.campaign;
                prepared[..at]
                    .iter()
                    .position(|q| same_recipients(q.member.campaign, campaign))
            })
            .collect();
        let shared: Vec<bool> = (0..prepared.len())
            .map(|k| shares.contains(&Some(k)))
            .collect();
        let body_from: Vec<Vec<Option<usize>>> = prepared
            .iter()
            .zip(&shares)
            .map(|(p, from)| {
                let earlier = from.and_then(|at| prepared.get(at));
                p.set
                    .body
                    .iter()
                    .map(|mine| {
                        let theirs = &earlier?.set.body;
                        theirs.iter().position(|t| same_param(t, mine))
                    })
                    .collect()
            })
            .collect();
        let works: Vec<Work<'_>> = prepared
            .iter()
            .zip(&body_from)
            .map(|(p, body_from)| Work {
                campaign: p.member.campaign,
                renderer: &p.renderer,
                set: &p.set,
                names: &p.names,
                keep: options.keep,
                previews_wanted: &p.previews_wanted,
                body_from,
            })
            .collect();
        let mut collectors: Vec<Collector<'_, '_>> = prepared
            .iter()
            .zip(&works)
            .zip(seen.iter_mut())
            .enumerate()
            .map(|(at, ((p, work), seen))| {
                seen.numbers.clear();
                seen.tracking.clear();
                let numbers_of = shares[at];
                Collector {
                    work: *work,
                    index: p.member.index,
                    header: header.as_deref(),
                    summary: summaries[p.member.index - first].clone(),
                    seen_numbers: &mut seen.numbers,
                    seen_tracking: &mut seen.tracking,
                    numbers_of,
                    touched: 0,
                }
            })
            .collect();
        // Each campaign's answers to "is this number new?" for the rows of the chunk being
        // collected, for the campaigns after it that share them.
        let mut answers: Vec<Vec<Option<Inserted>>> = vec![Vec::new(); collectors.len()];
        let works = &works;
        let (shares, shared) = (&shares, &shared);
        crate::parallel::ordered_map(
            jobs,
            1,
            || {
                let mut chunk = Vec::with_capacity(crate::parallel::BATCH);
                chunk.extend(std::iter::from_fn(|| rows.next_row()).take(crate::parallel::BATCH));
                (!chunk.is_empty()).then_some(chunk)
            },
            || {
                let targets: Vec<Arc<Target>> = works
                    .iter()
                    .map(|w| Arc::new(Target::clone(&w.campaign.target)))
                    .collect();
                let mut found: Vec<Vec<Found>> = (0..works.len()).map(|_| Vec::new()).collect();
                move |chunk: Vec<_>| -> Vec<Vec<Outcome<'_>>> {
                    let mut outcomes = Vec::with_capacity(works.len());
                    for (k, (work, target)) in works.iter().zip(&targets).enumerate() {
                        let (earlier, rest) = found.split_at_mut(k);
                        let mut known = shares[k].and_then(|at| earlier.get_mut(at));
                        let mut record = rest.first_mut().filter(|_| shared[k]);
                        if let Some(record) = record.as_mut() {
                            record.clear();
                        }
                        outcomes.push(
                            chunk
                                .iter()
                                .enumerate()
                                .map(|(row, next)| {
                                    let known =
                                        known.as_deref_mut().and_then(|rows| rows.get_mut(row));
                                    work.compile(next, target, known, record.as_deref_mut())
                                })
                                .collect(),
                        );
                    }
                    outcomes
                }
            },
            |chunk, _| {
                for (k, (outcomes, collector)) in chunk.into_iter().zip(&mut collectors).enumerate()
                {
                    let (earlier, rest) = answers.split_at_mut(k);
                    let Some(mine) = rest.first_mut() else {
                        return false;
                    };
                    mine.clear();
                    let mut outcomes = outcomes.into_iter();
                    while let Some(outcome) = outcomes.next() {
                        collector.touch_ahead(outcomes.as_slice().iter());
                        let answer = collector.insert_number(&outcome, earlier, mine.len());
                        mine.push(answer.clone());
                        if !collector.take(outcome, answer, diags, sink) {
                            return false;
                        }
                    }
                }
                true
            },
        );
        for collector in collectors {
            let mut summary = collector.summary;
            finish_summary(collector.work.campaign, &mut summary, diags);
            summaries[collector.index - first] = summary;
        }
    }
    for member in group {
        sink.sink.done(member.index);
    }
    summaries
}

/// Warn about a campaign that ran over no recipient, or selected none.
fn finish_summary(campaign: &Campaign, summary: &mut CampaignSummary, diags: &mut Diagnostics) {
    let target = &campaign.target;
    if summary.rows > 0 && summary.messages == 0 && summary.failed == 0 {
        summary.warnings += 1;
        diags.push(
            Diagnostic::new(
                Code::NoRecipients,
                format!("campaign `{}` selects no recipient", target.campaign),
            )
            .at(campaign
                .where_
                .as_ref()
                .map_or(campaign.recipients_span, |w| w.span))
            .with_help("check the `where` filter and the data"),
        );
    } else if summary.rows == 0 {
        summary.warnings += 1;
        diags.push(
            Diagnostic::new(
                Code::NoRecipients,
                format!("campaign `{}` has no recipients", target.campaign),
            )
            .at(campaign.recipients_span)
            .with_help("add rows to the data file or to `inline`"),
        );
    }
}

fn shown_origin(campaign: &Campaign, origin: &Origin) -> String {
    match (&campaign.recipients, origin) {
        (RecipientSource::Csv { shown, .. } | RecipientSource::Ndjson { shown, .. }, o) => {
            o.describe(shown)
        }
        (_, o) => o.describe(""),
    }
}

/// Whether a row is for a campaign, and its recipient: what campaigns with the same
/// recipients ([`same_recipients`]) find alike for the row, so that the later ones take it
/// from the first instead of filtering, rendering and parsing the number again.
#[derive(Clone)]
enum Selected {
    /// Left out by `where`.
    Filtered,
    /// Selected, for this number.
    To(crate::phone::Phone),
    /// The filter, `to` or the number failed: each campaign reports it, so each finds it.
    Failed,
}

/// What a campaign found for a row, for a later campaign of its pass with the same
/// recipients.
struct Found {
    selected: Selected,
    /// The language the message is in, and its body parameters, by position, each kept only
    /// when it compiled with no problem at all (a later campaign takes it, leaving none);
    /// none when the row stopped before its body.
    body: Option<(String, Vec<Option<BodyParam>>)>,
}

impl Found {
    fn new(selected: Selected) -> Found {
        Found {
            selected,
            body: None,
        }
    }
}

/// Whether two body parameters are computed alike: the same kind, from the same expressions.
fn same_param(a: &BodyCompiled, b: &BodyCompiled) -> bool {
    fn source(c: &Option<Compiled>) -> Option<&str> {
        c.as_ref().map(|c| c.expr.source.as_str())
    }
    match (a, b) {
        (BodyCompiled::Text(x), BodyCompiled::Text(y)) => source(x) == source(y),
        (
            BodyCompiled::Currency {
                amount: a1,
                code: c1,
                fallback: f1,
            },
            BodyCompiled::Currency {
                amount: a2,
                code: c2,
                fallback: f2,
            },
        ) => source(a1) == source(a2) && source(c1) == source(c2) && source(f1) == source(f2),
        (
            BodyCompiled::DateTime {
                value: v1,
                fallback: f1,
            },
            BodyCompiled::DateTime {
                value: v2,
                fallback: f2,
            },
        ) => source(v1) == source(v2) && source(f1) == source(f2),
        _ => false,
    }
}

/// Run a row's `where` filter, render its `to` and parse the number, reporting what fails.
fn select<'a>(work: &Work<'a>, ctx: &crate::render::Scope<'_>, cx: &mut RowCx<'a>) -> Selected {
    let Work {
        campaign,
        renderer,
        set,
        ..
    } = *work;
    match renderer.selected(set.filter.as_ref(), ctx) {
        Ok(true) => {}
        Ok(false) => return Selected::Filtered,
        Err(failure) => {
            let message = match &failure.missing {
                Some(field) => format!("`where`: this recipient has no field `{field}`"),
                None => format!("`where`: {}", failure.message),
            };
            cx.report(
                set.filter.as_ref(),
                Code::RenderError,
                Severity::Error,
                message,
                "fix the filter expression or the data it reads".to_owned(),
            );
            return Selected::Failed;
        }
    }
    let Some(to_raw) = render_or_report_cow(renderer, set.to.as_ref(), ctx, cx, "`to`") else {
        return Selected::Failed;
    };
    match crate::phone::normalize(&to_raw, campaign.default_country.as_deref()) {
        Ok(phone) => Selected::To(phone),
        Err(err) => {
            cx.report(
                set.to.as_ref(),
                Code::InvalidPhone,
                Severity::Error,
                err.message,
                err.help.unwrap_or_else(|| {
                    "write the number with its country code, e.g. 573001234567".to_owned()
                }),
            );
            Selected::Failed
        }
    }
}

/// Render and check one row (on a worker thread). What depends on earlier rows (duplicates,
/// repeated tracking numbers) is left to [`Collector::take`], with the marks it needs.
fn compile_row<'a>(
    work: &Work<'a>,
    target: &Arc<Target>,
    ctx: &crate::render::Scope<'_>,
    cx: &mut RowCx<'a>,
    marks: &mut Marks,
    mut known: Option<&mut Found>,
    mut record: Option<&mut Vec<Found>>,
) -> Option<Box<Message>> {
    let Work { renderer, set, .. } = *work;
    let provider = target.sender.provider;
    let selected = match known.as_ref().map(|f| &f.selected) {
        Some(Selected::Filtered) => Selected::Filtered,
        Some(Selected::To(phone)) => Selected::To(phone.clone()),
        Some(Selected::Failed) | None => select(work, ctx, cx),
    };
    if let Some(record) = record.as_mut() {
        record.push(Found::new(selected.clone()));
    }
    let phone = match selected {
        Selected::To(phone) => phone,
        Selected::Filtered => {
            marks.filtered = true;
            return None;
        }
        Selected::Failed => return None,
    };
    for warning in &phone.warnings {
        let (message, help) = match warning {
            crate::phone::PhoneWarning::MexicanWhatsappId { from } => (
                format!(
                    "`{from}` is a Mexican WhatsApp id; it is sent as `{}`",
                    phone.digits
                ),
                "Mexican mobiles are dialled without the `1` after 52 since 2019".to_owned(),
            ),
            crate::phone::PhoneWarning::FixedLine => (
                format!(
                    "`{}` is a landline number; few landlines are on WhatsApp",
                    phone.digits
                ),
                "check the number, or filter landlines out with `where`".to_owned(),
            ),
            crate::phone::PhoneWarning::Rewritten { from } => (
                format!(
                    "`{from}` was rewritten to its international form `{}`",
                    phone.digits
                ),
                "store numbers in international form to silence this".to_owned(),
            ),
        };
        if matches!(warning, crate::phone::PhoneWarning::Rewritten { .. }) {
            continue;
        }
        cx.report(
            set.to.as_ref(),
            Code::PhoneRewritten,
            Severity::Warning,
            message,
            help,
        );
    }
    marks.before_dedup = cx.problems.len();
    match &set.key {
        None => marks.recipient = Some(phone.key()),
        Some(c) => {
            if let Some(key) = render_or_report(renderer, Some(c), ctx, cx, "`key`") {
                let key = values::trimmed(key);
                let long = key.len() > MAX_KEY && key.chars().count() > MAX_KEY;
                if key.is_empty() {
                    cx.report(
                        Some(c),
                        Code::InvalidKey,
                        Severity::Error,
                        "the recipient's key is empty".to_owned(),
                        empty_key_help(c),
                    );
                } else if long {
                    cx.report(
                        Some(c),
                        Code::InvalidKey,
                        Severity::Error,
                        format!("the recipient's key is {} characters long; waform allows {MAX_KEY}", key.chars().count()),
                        "build the key from short identifiers, e.g. `{{ phone }}-{{ appointment_id }}`".to_owned(),
                    );
                } else {
                    marks.recipient = Some(key_hash(&key));
                    marks.key = Some(key);
                }
            }
        }
    }
    if let Some(c) = &set.tracking_number {
        let t = render_or_report(renderer, Some(c), ctx, cx, "`tracking_number`")?;
        if values::trim(&t).is_empty() {
            cx.report(
                Some(c),
                Code::TrackingNumber,
                Severity::Warning,
                "the tracking number is empty".to_owned(),
                "give every destination a unique tracking number".to_owned(),
            );
        } else {
            marks.tracking = Some(hash(&t));
        }
        marks.tracking_number = Some(t);
    }
    marks.before_tracking = cx.problems.len();
    let extras = |list: &'a [Option<Compiled>], what: &str, cx: &mut RowCx<'a>| -> Vec<String> {
        list.iter()
            .filter_map(|c| {
                let value = render_or_report(renderer, c.as_ref(), ctx, cx, what)?;
                let problems = check_text(&value, TextUse::MaytenExtra, provider);
                cx.text_problems(c.as_ref(), what, problems, Some(Severity::Warning));
                Some(value)
            })
            .collect()
    };
    let internal_params = extras(&set.internal_params, "`internal_params`", cx);
    let chat_params = extras(&set.chat_params, "`chat_params`", cx);
    let content = if let Some(text_expr) = &set.text {
        let body = render_or_report(renderer, Some(text_expr), ctx, cx, "`text`")?;
        if body.trim().is_empty() {
            cx.report(
                Some(text_expr),
                Code::EmptyParam,
                Severity::Error,
                "the text message is empty".to_owned(),
                "give the message a text".to_owned(),
            );
        } else if body.chars().count() > 4096 {
            cx.report(
                Some(text_expr),
                Code::TextTooLong,
                Severity::Error,
                format!(
                    "the text is {} characters long; WhatsApp allows 4096",
                    body.chars().count()
                ),
                "shorten the text".to_owned(),
            );
        }
        Content::Text(body)
    } else {
        let template = target.template.as_ref()?;
        let language = match &set.language {
            Some(c) => {
                let code = render_or_report(renderer, Some(c), ctx, cx, "`language`")?;
                let code = values::trimmed(code);
                if !crate::validate::is_language(&code) {
                    let d = crate::check::language_unknown(&code, c.expr.span);
                    cx.report(
                        Some(c),
                        Code::InvalidLanguage,
                        Severity::Error,
                        d.message,
                        d.help.unwrap_or_default(),
                    );
                } else if !template.languages.contains(&code) {
                    cx.report(
                        Some(c),
                        Code::InvalidLanguage,
                        Severity::Error,
                        format!("template `{}` is not approved in `{code}`", template.name),
                        format!(
                            "it is approved in {}; WhatsApp matches the language exactly",
                            template.languages.join(", ")
                        ),
                    );
                }
                code
            }
            None => template.languages.first().cloned().unwrap_or_default(),
        };
        let header = match &set.header {
            Some((main, filename)) => {
                let value = render_or_report(renderer, main.as_ref(), ctx, cx, "the header")?;
                Some(match &template.header {
                    TemplateHeader::Text { .. } => {
                        let problems = check_text(&value, TextUse::Header, provider);
                        cx.text_problems(main.as_ref(), "the header", problems, None);
                        HeaderParam::Text(value)
                    }
                    kind => {
                        let problems = check_media_link(&value, kind);
                        cx.text_problems(main.as_ref(), "the header link", problems, None);
                        let link = value.trim().to_owned();
                        match kind {
                            TemplateHeader::Video => HeaderParam::Video { link },
                            TemplateHeader::Document => {
                                let filename = match filename {
                                    Some(c) => {
                                        let f = render_or_report(
                                            renderer,
                                            Some(c),
                                            ctx,
                                            cx,
                                            "the document file name",
                                        )?;
                                        if !f.to_ascii_lowercase().ends_with(".pdf")
                                            || f.contains(['/', '\\'])
                                        {
                                            cx.report(Some(c), Code::MediaLinkRisk, Severity::Warning, format!("the file name `{f}` should end in `.pdf` and have no folder"), "recipients see this name: write e.g. `factura-123.pdf`".to_owned());
                                        }
                                        Some(f)
                                    }
                                    None => None,
                                };
                                HeaderParam::Document { link, filename }
                            }
                            _ => HeaderParam::Image { link },
                        }
                    }
                })
            }
            None => None,
        };
        let mut body = Vec::with_capacity(set.body.len());
        let mut known_body = known.as_mut().and_then(|f| f.body.as_mut());
        let mut clean: Option<Vec<Option<BodyParam>>> =
            record.is_some().then(|| Vec::with_capacity(set.body.len()));
        for (i, param) in set.body.iter().enumerate() {
            let (what, what_fallback) = &work.names.body[i];
            let what = what.as_str();
            if let Some(clean) = clean.as_mut() {
                // A parameter skipped after a problem has no value to give.
                clean.resize(i, None);
            }
            let taken = match (
                work.body_from.get(i).copied().flatten(),
                known_body.as_mut(),
            ) {
                (Some(j), Some((theirs, params))) => params.get_mut(j).and_then(|p| match p {
                    Some(BodyParam::Text(_)) => p.take(),
                    Some(_) if *theirs == language => p.take(),
                    _ => None,
                }),
                _ => None,
            };
            if let Some(taken) = taken {
                let (compiled, label) = match param {
                    BodyCompiled::Text(c) => (c.as_ref(), what),
                    BodyCompiled::Currency {
                        amount, fallback, ..
                    } => (
                        fallback.as_ref().or(amount.as_ref()),
                        what_fallback.as_str(),
                    ),
                    BodyCompiled::DateTime { value, fallback } => {
                        (fallback.as_ref().or(value.as_ref()), what_fallback.as_str())
                    }
                };
                let problems = check_text(taken.display(), TextUse::Body, provider);
                cx.text_problems(compiled, label, problems, None);
                body.push(taken);
                continue;
            }
            let before = cx.problems.len();
            match param {
                BodyCompiled::Text(c) => {
                    let value = render_or_report(renderer, c.as_ref(), ctx, cx, what)?;
                    let problems = check_text(&value, TextUse::Body, provider);
                    cx.text_problems(c.as_ref(), what, problems, None);
                    body.push(BodyParam::Text(value));
                }
                BodyCompiled::Currency {
                    amount,
                    code,
                    fallback,
                } => {
                    let amount_text =
                        render_or_report_cow(renderer, amount.as_ref(), ctx, cx, what)?;
                    let code_text = render_or_report(renderer, code.as_ref(), ctx, cx, what)?;
                    let code_text = values::trimmed(code_text);
                    if !values::is_currency_code(&code_text) {
                        let upper = code_text.to_ascii_uppercase();
                        let help = if values::is_currency_code(&upper) {
                            format!(
                                "write it in capitals: `{upper}` (`{{{{ currency | upper }}}}`)"
                            )
                        } else {
                            "use a 3-letter ISO 4217 code such as COP, ARS, MXN, USD".to_owned()
                        };
                        cx.report(
                            code.as_ref(),
                            Code::InvalidCurrency,
                            Severity::Error,
                            format!("{what}: `{code_text}` is not an ISO 4217 currency code"),
                            help,
                        );
                        continue;
                    }
                    let parsed = match values::parse_amount(&amount_text) {
                        Ok(a) => a,
                        Err(err) => {
                            cx.report(
                                amount.as_ref(),
                                Code::InvalidAmount,
                                Severity::Error,
                                format!("{what}: {}", err.message),
                                err.help.unwrap_or_else(|| {
                                    "write the amount as a decimal number, e.g. 1234.50".to_owned()
                                }),
                            );
                            continue;
                        }
                    };
                    if parsed.amount_1000 <= 0 {
                        cx.report(amount.as_ref(), Code::NonPositiveAmount, Severity::Warning, format!("{what}: the amount `{}` is not positive", amount_text.trim()), "check the data, or leave such rows out with `where: \"amount | float > 0\"`".to_owned());
                    }
                    let fallback_text = match fallback {
                        Some(c) => render_or_report(renderer, Some(c), ctx, cx, what)?,
                        None => values::currency_fallback(&parsed, &code_text, &language),
                    };
                    let problems = check_text(&fallback_text, TextUse::Body, provider);
                    cx.text_problems(
                        fallback.as_ref().or(amount.as_ref()),
                        what_fallback,
                        problems,
                        None,
                    );
                    body.push(BodyParam::Currency {
                        fallback: fallback_text,
                        code: code_text,
                        amount_1000: parsed.amount_1000,
                    });
                }
                BodyCompiled::DateTime { value, fallback } => {
                    let text = render_or_report_cow(renderer, value.as_ref(), ctx, cx, what)?;
                    let parsed = match values::parse_date_time(&text) {
                        Ok(v) => v,
                        Err(err) => {
                            cx.report(
                                value.as_ref(),
                                Code::InvalidDate,
                                Severity::Error,
                                format!("{what}: {}", err.message),
                                err.help.unwrap_or_else(|| {
                                    "write an ISO 8601 date such as 2026-11-21".to_owned()
                                }),
                            );
                            continue;
                        }
                    };
                    let fallback_text = match fallback {
                        Some(c) => render_or_report(renderer, Some(c), ctx, cx, what)?,
                        None => values::date_fallback(&parsed, &language),
                    };
                    let problems = check_text(&fallback_text, TextUse::Body, provider);
                    cx.text_problems(
                        fallback.as_ref().or(value.as_ref()),
                        what_fallback,
                        problems,
                        None,
                    );
                    body.push(BodyParam::DateTime {
                        fallback: fallback_text,
                        value: Some(parsed),
                    });
                }
            }
            if let Some(clean) = clean.as_mut()
                && body.len() == i + 1
                && cx.problems.len() == before
            {
                clean.push(body.last().cloned());
            }
        }
        if let (Some(clean), Some(last)) = (clean, record.as_mut().and_then(|r| r.last_mut())) {
            last.body = Some((language.clone(), clean));
        }
        let mut buttons = Vec::with_capacity(set.buttons.len());
        for ((index, payload, c), what) in set.buttons.iter().zip(&work.names.buttons) {
            let value = render_or_report(renderer, c.as_ref(), ctx, cx, what)?;
            let usage = if *payload {
                TextUse::Payload
            } else {
                TextUse::UrlSuffix
            };
            let problems = check_text(&value, usage, provider);
            cx.text_problems(c.as_ref(), what, problems, None);
            buttons.push(ButtonParam {
                index: *index,
                kind: if *payload {
                    ButtonParamKind::Payload(value)
                } else {
                    ButtonParamKind::UrlSuffix(value)
                },
            });
        }
        if !cx.failed()
            && let Some(chars) = &work.names.body_chars
            && let Some(len) = chars.over(1024, |i| body.get(i).map_or("", BodyParam::display))
        {
            cx.report(None, Code::BodyTooLong, Severity::Error, format!("with its parameters in place the body is {len} characters; WhatsApp allows 1024"), "shorten the longest parameters (error 132005 otherwise)".to_owned());
        }
        Content::Template(TemplateContent {
            language,
            header,
            body,
            buttons,
        })
    };
    Some(Box::new(Message {
        target: target.clone(),
        to: phone.digits,
        key: String::new(),
        origin: String::new(),
        content,
        tracking_number: None,
        internal_params,
        chat_params,
        encoded: None,
    }))
}

/// What to do about a key that rendered empty (out of line: rows rarely fail).
#[cold]
#[inline(never)]
fn empty_key_help(compiled: &Compiled) -> String {
    let fill = match compiled.fields.as_slice() {
        [one] => format!("fill `{one}` in this row"),
        _ => "fill the fields `key` reads in this row".to_owned(),
    };
    format!(
        "every recipient needs a key (duplicates and the journal go by it): {fill}, or leave such rows out with `where`"
    )
}

/// The longest recipient key, in characters: keys are kept per recipient in the journal.
pub const MAX_KEY: usize = 256;

/// What the seen-set holds for a recipient whose campaign has a `key:`: the key's xxh3-64
/// hash. Two keys with the same hash would be taken for one recipient (about one chance in
/// 37 million at a million keys).
fn key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// A tracking number's key for the repeated-tracking-number check, eight bytes at a time:
/// each word is mixed in with a folded multiply (the high and low halves of a 128-bit product,
/// so that every input bit reaches every output bit). A collision only costs a wrong warning.
fn hash(s: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let step = |h: u64, word: u64| {
        let product = u128::from(h ^ word) * u128::from(K);
        (product as u64) ^ ((product >> 64) as u64)
    };
    let mut words = s.as_bytes().chunks_exact(8);
    let mut h = step(s.len() as u64, K);
    for word in words.by_ref() {
        h = step(h, u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    match words.remainder() {
        [] => h,
        rest => step(h, rest.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b))),
    }
}

fn preview(message: &Message, origin: String) -> Preview {
    let mut p = Preview {
        to: message.to.clone(),
        origin,
        header: None,
        body: String::new(),
        buttons: Vec::new(),
    };
    match &message.content {
        Content::Text(text) => p.body = text.clone(),
        Content::Template(t) => {
            let Some(template) = message.target.template.as_ref() else {
                return p;
            };
            p.header = match (&t.header, &template.header) {
                (Some(HeaderParam::Text(v)), TemplateHeader::Text { text, .. }) => {
                    Some(fill_body(text, &[v.as_str()]))
                }
                (None, TemplateHeader::Text { text, .. }) => Some(text.clone()),
                (Some(HeaderParam::Image { link }), _) => Some(format!("[image] {link}")),
                (Some(HeaderParam::Video { link }), _) => Some(format!("[video] {link}")),
                (Some(HeaderParam::Document { link, filename }), _) => Some(match filename {
                    Some(f) => format!("[document {f}] {link}"),
                    None => format!("[document] {link}"),
                }),
                _ => None,
            };
            let shown: Vec<&str> = t.body.iter().map(BodyParam::display).collect();
            p.body = fill_body(&template.body, &shown);
            if message.target.sender.provider == Provider::Mayten {
                p.header = None;
                return p;
            }
            for (i, button) in template.buttons.iter().enumerate() {
                let param = t.buttons.iter().find(|b| b.index == i);
                p.buttons.push(match (button, param) {
                    (
                        crate::model::TemplateButton::Url { url, .. },
                        Some(ButtonParam {
                            kind: ButtonParamKind::UrlSuffix(s),
                            ..
                        }),
                    ) => {
                        format!("[{}] {}", button.kind(), fill_body(url, &[s.as_str()]))
                    }
                    (crate::model::TemplateButton::Url { url, .. }, _) => format!("[url] {url}"),
                    (
                        _,
                        Some(ButtonParam {
                            kind: ButtonParamKind::Payload(s),
                            ..
                        }),
                    ) => format!("[{}] payload {s}", button.kind()),
                    (b, _) => format!("[{}]", b.kind()),
                });
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that lets campaigns interleave and records what reaches it.
    struct Recording {
        events: Vec<(usize, Option<String>)>,
    }

    /// A message's recipient and what it reads.
    fn shown(message: &Message) -> String {
        match &message.content {
            Content::Template(t) => {
                let body: Vec<&str> = t.body.iter().map(BodyParam::display).collect();
                format!("{} {}: {}", message.to, t.language, body.join(" | "))
            }
            Content::Text(text) => format!("{}: {text}", message.to),
        }
    }

    impl Sink for Recording {
        fn message(&mut self, campaign: usize, message: Box<Message>) -> bool {
            self.events.push((campaign, Some(shown(&message))));
            true
        }

        fn interleave(&self, _later: &Campaign) -> bool {
            true
        }

        fn done(&mut self, campaign: usize) {
            self.events.push((campaign, None));
        }
    }

    /// Three campaigns over one CSV (the first two with the same recipients, so the second
    /// takes the first's selected rows and numbers; the last with another `to`) compile in one
    /// pass when the sink lets them: their messages interleave, and each campaign's messages,
    /// summary and diagnostics are those of one campaign after the other.
    #[test]
    fn campaigns_sharing_a_csv_compile_in_one_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let campaign = |name: &str, to: &str, language: &str| {
            format!(
                "---\nkind: Campaign\nname: {name}\nsender: al\ntemplate: hello\n\
                 recipients: {{ csv: data.csv }}\nto: \"{to}\"\n{language}\
                 body: [\"{{{{ name }}}}\", {{ currency: {{ amount: \"{{{{ amount }}}}\", \
                 code: \"{{{{ cur }}}}\" }} }}, {{ date_time: \"{{{{ due }}}}\" }}]\n\
                 where: \"name != 'N7'\"\n"
            )
        };
        let yaml = format!(
            "kind: Sender\nname: al\nprovider: aldeamo\nenvironment: test\nfrom: \"573001112233\"\n\
             api_key: {{ env: K }}\nuser_id: {{ env: U }}\n---\nkind: Template\nname: hello\n\
             language: [es, en]\nbody: \"Hola {{{{1}}}}, {{{{2}}}} el {{{{3}}}}\"\n\
             params: [text, currency, date_time]\n\
             providers: {{ aldeamo: {{ namespace: ns }} }}\n{}{}{}",
            campaign("a", "{{ phone }}", "language: \"{{ lang }}\"\n"),
            campaign("b", "{{ phone }}", ""),
            campaign("c", "{{ other }}", ""),
        );
        std::fs::write(dir.path().join("project.yaml"), yaml).unwrap();
        let mut csv = String::from("phone,other,name,amount,cur,due,lang\n");
        for i in 0..1500 {
            let amount = if i % 13 == 0 { "-5" } else { "1234.5" };
            let cur = if i % 97 == 0 { "XX" } else { "COP" };
            let lang = if i % 3 == 0 { "en" } else { "es" };
            csv.push_str(&format!(
                "57300120{:04},57300130{:04},N{i},{amount},{cur},2027-01-15,{lang}\n",
                i % 1200,
                i % 700
            ));
        }
        csv.push_str("12,13,bad,1,COP,2027-01-15,es\n");
        std::fs::write(dir.path().join("data.csv"), csv).unwrap();
        let compile = |sink: &mut dyn Sink, jobs: usize| {
            let mut sources = Sources::default();
            let mut diags = Diagnostics::new();
            let loaded = load(&[dir.path().to_path_buf()], &mut sources, &mut diags);
            assert!(!diags.has_errors(), "{diags:?}");
            let options = RunOptions {
                jobs,
                keep: Keep::Content,
            };
            let summaries = run(&loaded, options, &mut sources, &mut diags, sink);
            let counts: Vec<_> = summaries
                .iter()
                .map(|s| {
                    (
                        s.rows,
                        s.filtered,
                        s.duplicates,
                        s.failed,
                        s.messages,
                        s.warnings,
                    )
                })
                .collect();
            (counts, diags.errors(), diags.warnings())
        };
        let mut one_by_one: Vec<(usize, String)> = Vec::new();
        let mut sequential = Box::new(|m: Box<Message>| {
            let campaign = ["a", "b", "c"]
                .iter()
                .position(|c| **c == *m.target.campaign)
                .unwrap_or(9);
            one_by_one.push((campaign, shown(&m)));
            true
        });
        let expected = compile(&mut sequential, 2);
        drop(sequential);
        assert_eq!(expected.0[0], (1501, 1, 299, 14, 1187, 391));
        assert_eq!(expected.0[2], (1501, 1, 799, 9, 692, 852));
        for jobs in [1, 2] {
            let mut recording = Recording { events: Vec::new() };
            assert_eq!(compile(&mut recording, jobs), expected);
            let messages: Vec<(usize, String)> = recording
                .events
                .iter()
                .filter_map(|(c, to)| Some((*c, to.clone()?)))
                .collect();
            let mut sorted = messages.clone();
            sorted.sort_by_key(|(c, _)| *c);
            assert_eq!(sorted, one_by_one);
            assert_ne!(messages, one_by_one, "the campaigns interleave");
            let done: Vec<usize> = recording
                .events
                .iter()
                .filter_map(|(c, to)| to.is_none().then_some(*c))
                .collect();
            assert_eq!(done, [0, 1, 2]);
            assert_eq!(recording.events.last(), Some(&(2, None)));
        }
    }

    /// Every message handed to the sink carries its key: the campaign's `key:` rendered and
    /// trimmed, or the normalised number when it has none.
    #[test]
    fn messages_carry_their_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let campaign = |name: &str, key: &str| {
            format!(
                "---\nkind: Campaign\nname: {name}\nsender: al\ntemplate: hello\n{key}\
                 recipients: {{ inline: [{{ phone: \"+57 300 123 4567\", visit: \" V1 \" }}, \
                 {{ phone: \"573001234567\", visit: V2 }}] }}\nbody: [\"{{{{ visit }}}}\"]\n"
            )
        };
        let yaml = format!(
            "kind: Sender\nname: al\nprovider: aldeamo\nfrom: \"573001112233\"\n\
             api_key: {{ env: K }}\nuser_id: {{ env: U }}\n---\nkind: Template\nname: hello\n\
             language: es\nbody: \"Hola {{{{1}}}}\"\nproviders: {{ aldeamo: {{ namespace: ns }} }}\n{}{}",
            campaign("keyed", "key: \"{{ visit }}\"\n"),
            campaign("plain", ""),
        );
        std::fs::write(dir.path().join("project.yaml"), yaml).unwrap();
        let mut sources = Sources::default();
        let mut diags = Diagnostics::new();
        let loaded = load(&[dir.path().to_path_buf()], &mut sources, &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
        let mut keys = Vec::new();
        let mut sink = |m: Box<Message>| {
            keys.push((m.target.campaign.to_string(), m.key.clone()));
            true
        };
        let options = RunOptions {
            jobs: 1,
            keep: Keep::Recipient,
        };
        run(&loaded, options, &mut sources, &mut diags, &mut sink);
        let expected = [("keyed", "V1"), ("keyed", "V2"), ("plain", "573001234567")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(c, k)| ((*c).to_owned(), (*k).to_owned()))
            .collect();
        assert_eq!(keys, expected);
        assert_eq!(diags.warnings(), 1, "the plain campaign's duplicate number");
    }

    /// Tracking-number keys do not collide on sequential numbers of the usual shapes (which a
    /// multiply that only carries upward does collide on), and equal numbers share a key.
    #[test]
    fn tracking_keys_do_not_collide_on_sequences() {
        let mut keys = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            for number in [
                format!("ORD-{i:08}"),
                format!("{i}"),
                format!("INV-2026-{i:06}-CO"),
            ] {
                assert!(keys.insert(hash(&number)), "{number} collides");
            }
        }
        assert_eq!(hash("ORD-00000042"), hash("ORD-00000042"));
    }
}

//! The command line: arguments, commands, exit codes. `main.rs` only calls [`main`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compile::{self, CampaignSummary};
use crate::diagnostics::{Diagnostics, Sources};
use crate::emit::lanes::{Emitted, Lanes};
use crate::emit::{Emitter, Endpoints, Request};
use crate::model::{Environment, Provider};
use crate::report::{Format, RenderOptions, write_report};

/// Exit code: everything compiled (warnings allowed).
pub const EXIT_OK: i32 = 0;
/// Exit code: errors were found.
pub const EXIT_ERRORS: i32 = 1;
/// Exit code of `plan --detailed-exitcode` when there are messages to send.
pub const EXIT_CHANGES: i32 = 2;
/// Exit code: the command line was wrong.
pub const EXIT_USAGE: i32 = 64;

/// Compile WhatsApp Business template campaigns written in YAML into the exact requests each
/// provider receives; validate them in CI, plan them, send them.
#[derive(Debug, Parser)]
#[command(name = "waform", version, about, long_about = None)]
pub struct Cli {
    /// How diagnostics are written.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// When to use colours in diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Print only diagnostics (no summaries or previews).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: per-campaign counts and timings (repeat for more).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Threads that compile recipients (default: one per core). The output is the same
    /// whatever the number.
    #[arg(long, short, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// How to compile: `--jobs` threads; `keep` what the caller's sink needs.
    pub fn run_options(&self, keep: compile::Keep) -> compile::RunOptions {
        compile::RunOptions {
            jobs: self
                .jobs
                .map_or_else(crate::parallel::default_jobs, usize::from),
            keep,
        }
    }
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// For people, with the source lines.
    Human,
    /// One JSON document.
    Json,
    /// GitHub Actions workflow commands (annotations on pull requests).
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// When stderr is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every document and render every recipient, offline; send nothing.
    Validate(PathsArg),
    /// Compile; print a summary and a preview of what recipients will read.
    Plan(PlanArgs),
    /// Send: compile as `plan` does, then send each recipient once, paced, journaled, resumable.
    Apply(ApplyArgs),
    /// Print the journal's counts per campaign.
    Status(StatusArgs),
    /// Serve fake Aldeamo and Mayten APIs on a loopback port, to try `apply` with no account.
    Sandbox(SandboxArgs),
    /// Work on the delivery state itself.
    #[command(subcommand)]
    State(StateCommand),
    /// Write a small working project into DIR (never overwriting a file).
    Init(InitArgs),
    /// Print the JSON Schema of waform's YAML documents.
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `waform state` commands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy a local state folder's slots into PostgreSQL; again is a no-op, and a key with another record there refuses it all.
    Import(ImportArgs),
}

/// Arguments of `state import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The state folder to copy.
    #[arg(long, value_name = "DIR", default_value = ".waform")]
    pub from: PathBuf,
    /// The database: postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to create the project in; default `.`.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Files or folders to load; default `.`.
    pub paths: Vec<PathBuf>,
    /// Send to production senders without asking.
    #[arg(long)]
    pub yes: bool,
    /// Refuse to send unless the sources still compile to what this plan file (from `plan --out`) recorded.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Pace every sender at RATE (`N/s`, `N/m`, `N/h` or a number per second), or one sender with SENDER=RATE.
    #[arg(long, value_name = "[SENDER=]RATE")]
    pub rate: Vec<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Use URL as SENDER's base URL (plain http only on loopback addresses).
    #[arg(long, value_name = "SENDER=URL", value_parser = parse_endpoint)]
    pub endpoint: Vec<(String, String)>,
    /// Where the state is kept: who was sent what, per campaign and target.
    #[command(flatten)]
    pub state: StateArgs,
    /// Send again to recipients whose outcome is uncertain (they may receive the message twice).
    #[arg(long)]
    pub retry_uncertain: bool,
    /// Send again to recipients the provider refused.
    #[arg(long)]
    pub retry_failed: bool,
    /// Send again, once, to recipients whose message has changed since it was sent.
    #[arg(long)]
    pub resend_changed: bool,
    /// Go on although the campaign's `key:` changed while outcomes exist under the old one: every recipient is new under the new key.
    #[arg(long)]
    pub accept_changed_key: bool,
    /// Go on although the sender's account changed while outcomes exist under the old one: every recipient is new to the new account.
    #[arg(long)]
    pub accept_changed_account: bool,
    /// Write one row per recipient to FILE (.csv, or .ndjson/.jsonl).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Attempts for a throttled request or one that could not connect.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
    /// With PostgreSQL state: how long this run's claims on recipients hold unless it renews them (it does every third of it); another run takes over the claims of one that died after it (`500ms`, `30s`, `2m`).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_lease)]
    pub lease: std::time::Duration,
}

/// A lease: a number with `ms`, `s` or `m` (seconds without a unit), at least 100ms.
fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n * scale >= 0.1 && n * scale <= 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!(
            "`{text}` is not a lease: write e.g. 30s, 500ms or 2m (from 100ms to a day)"
        )),
    }
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Files or folders to load; default `.`.
    pub paths: Vec<PathBuf>,
    /// Where the state is kept.
    #[command(flatten)]
    pub state: StateArgs,
    /// Show SENDER's state at URL (as sent with `apply --endpoint`) as its current target.
    #[arg(long, value_name = "SENDER=URL", value_parser = parse_endpoint)]
    pub endpoint: Vec<(String, String)>,
}

/// Arguments of `sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Append every request received to FILE as NDJSON (credentials redacted).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Only accept this Aldeamo ApiKey (default: any non-empty key).
    #[arg(long, env = "SANDBOX_ALDEAMO_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Only accept this Aldeamo UserId.
    #[arg(long, env = "SANDBOX_ALDEAMO_USER_ID", hide_env_values = true)]
    pub user_id: Option<String>,
    /// Only accept this Mayten bearer token.
    #[arg(long, env = "SANDBOX_MAYTEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Answer this share of requests with 429 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub rate_429: f64,
    /// Retry-After seconds sent with 429.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Answer this share of requests with 500.
    #[arg(long, default_value_t = 0.0)]
    pub rate_500: f64,
    /// Accept this share of requests, then drop the connection without answering.
    #[arg(long, default_value_t = 0.0)]
    pub rate_drop: f64,
    /// Milliseconds added before each answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer the first N requests with 429.
    #[arg(long, default_value_t = 0)]
    pub fail_first: u32,
    /// Refuse Aldeamo messages to NUMBER with the documented 400 answer (repeatable).
    #[arg(long, value_name = "NUMBER")]
    pub refuse: Vec<String>,
    /// Seed of the fault sequence.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Paths to load.
#[derive(Debug, Args)]
pub struct PathsArg {
    /// Files or folders to load (folders are searched for *.yaml and *.yml); default `.`.
    pub paths: Vec<PathBuf>,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Files or folders to load; default `.`.
    pub paths: Vec<PathBuf>,
    /// Write every HTTP request as one NDJSON line `{"sender","method","url","body"}` to FILE, or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub emit: Option<PathBuf>,
    /// How many messages of each campaign to preview.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub preview: usize,
    /// Use URL as SENDER's base URL instead of the provider's host.
    #[arg(long, value_name = "SENDER=URL", value_parser = parse_endpoint)]
    pub endpoint: Vec<(String, String)>,
    /// Exit 0 when there is nothing to send, 2 when there are messages to send, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Write a plan file that `apply --plan` checks the sources against.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// The state `apply` keeps: recipients that already have an outcome at their target are counted apart (read only).
    #[command(flatten)]
    pub state: StateArgs,
}

/// Where the state is kept: `--state`, `--state-dir`, or `WAFORM_STATE`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Where the state is kept: a folder, or PostgreSQL as postgres://USER@HOST:PORT/DB (the password from the URL, PGPASSWORD or ~/.pgpass) [default: $WAFORM_STATE, else .waform]
    #[arg(long, value_name = "URL_OR_PATH", conflicts_with = "state_dir")]
    pub state: Option<String>,
    /// The state folder (the same as --state DIR).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The environment variable `--state` defaults to.
pub const STATE_ENV: &str = "WAFORM_STATE";

impl StateArgs {
    /// The location: `--state-dir`, `--state`, else `WAFORM_STATE`, else `.waform`. The error
    /// (a usage error) names a URL without its password.
    pub fn location(&self) -> Result<crate::state::Location, String> {
        if let Some(dir) = &self.state_dir {
            return Ok(crate::state::Location::Folder(dir.clone()));
        }
        let text = match &self.state {
            Some(text) => text.clone(),
            None => match std::env::var(STATE_ENV) {
                Ok(text) if !text.is_empty() => text,
                _ => return Ok(crate::state::Location::Folder(PathBuf::from(".waform"))),
            },
        };
        crate::state::Location::parse(&text)
    }

    /// [`StateArgs::location`], or the exit code after saying why not.
    pub fn location_or_exit(&self) -> Result<crate::state::Location, i32> {
        self.location().map_err(|err| {
            eprintln!("error: --state: {err}");
            eprintln!(
                "help: give a folder, or postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require|verify-full]"
            );
            EXIT_USAGE
        })
    }
}

fn parse_endpoint(s: &str) -> Result<(String, String), String> {
    let (sender, url) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not SENDER=URL"))?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("`{url}` is not an http(s) URL"));
    }
    if url.contains(['?', '#']) {
        return Err(format!(
            "`{url}` has a query or fragment; give only the base URL"
        ));
    }
    Ok((sender.to_owned(), url.to_owned()))
}

/// Parse the arguments and run; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EXIT_OK
                }
                _ => EXIT_USAGE,
            };
            let _ = err.print();
            return code;
        }
    };
    run(cli)
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> i32 {
    match &cli.command {
        Command::Schema => {
            print!("{}", crate::schema::SCHEMA);
            EXIT_OK
        }
        Command::Validate(args) => validate(&cli, &args.paths),
        Command::Plan(args) => plan(&cli, args),
        Command::Apply(args) => crate::send::apply(&cli, args),
        Command::Status(args) => crate::send::status(&cli, args),
        Command::Sandbox(args) => crate::send::sandbox(args),
        Command::State(StateCommand::Import(args)) => state_import(&cli, args),
        Command::Init(args) => init(&cli, args),
        Command::Completions { shell } => {
            print!("{}", completions(*shell));
            EXIT_OK
        }
        Command::Man => {
            print!("{}", man_page());
            EXIT_OK
        }
    }
}

/// The completion script for a shell.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "waform", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page, in roff.
pub fn man_page() -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    let _ = clap_mangen::Man::new(Cli::command()).render(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn init(cli: &Cli, args: &InitArgs) -> i32 {
    match crate::init::init(&args.dir) {
        Ok(report) => {
            if !cli.quiet {
                for path in &report.created {
                    println!("created {}", crate::load::display_path(path));
                }
                for path in &report.existing {
                    println!(
                        "exists, left untouched: {}",
                        crate::load::display_path(path)
                    );
                }
                if report.created.is_empty() {
                    println!("Nothing to do: the project is already there.");
                } else {
                    println!(
                        "Next: `waform validate {0}` and `waform plan {0}`.",
                        crate::load::display_path(&args.dir)
                    );
                }
            }
            EXIT_OK
        }
        Err(err) => {
            eprintln!(
                "error: cannot create the project in `{}`: {err}",
                args.dir.display()
            );
            EXIT_ERRORS
        }
    }
}

/// Load and validate the documents under `paths`; report and return `None` on errors.
pub(crate) fn load_clean(
    cli: &Cli,
    paths: &[PathBuf],
) -> Option<(compile::Loaded, Sources, Diagnostics)> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::new();
    let loaded = compile::load(&paths_or_default(paths), &mut sources, &mut diags);
    if diags.has_errors() {
        report(cli, &diags, &sources);
        return None;
    }
    Some((loaded, sources, diags))
}

pub(crate) fn paths_or_default(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

pub(crate) fn report(cli: &Cli, diags: &Diagnostics, sources: &Sources) {
    let format = match cli.format {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Github => Format::Github,
        FormatArg::Sarif => Format::Sarif,
    };
    let color = match cli.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let options = RenderOptions { color, width: 100 };
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    let _ = write_report(diags, sources, format, &options, &mut out);
}

fn validate(cli: &Cli, paths: &[PathBuf]) -> i32 {
    let started = std::time::Instant::now();
    let mut sources = Sources::default();
    let mut diags = Diagnostics::new();
    let loaded = compile::load(&paths_or_default(paths), &mut sources, &mut diags);
    let mut summaries = Vec::new();
    if !diags.has_errors() {
        summaries = compile::run(
            &loaded,
            cli.run_options(compile::Keep::Recipient),
            &mut sources,
            &mut diags,
            &mut compile::Discard,
        );
    }
    report(cli, &diags, &sources);
    if cli.verbose > 0 && !cli.quiet {
        for s in &summaries {
            eprintln!(
                "campaign {}: {} read, {} compiled, {} filtered, {} duplicates, {} with errors",
                s.name,
                count(s.rows, "row"),
                count(s.messages, "message"),
                s.filtered,
                s.duplicates,
                s.failed
            );
        }
        eprintln!("took {:.2} s", started.elapsed().as_secs_f64());
    }
    if !cli.quiet && cli.format == FormatArg::Human {
        let messages: u64 = summaries.iter().map(|s| s.messages).sum();
        let status = if diags.has_errors() { "failed" } else { "ok" };
        eprintln!(
            "validate {status}: {}, {}, {}",
            count(loaded.documents.len() as u64, "document"),
            count(loaded.project.campaigns.len() as u64, "campaign"),
            count(messages, "message")
        );
    }
    if diags.has_errors() {
        EXIT_ERRORS
    } else {
        EXIT_OK
    }
}

/// Where `--emit` writes: a temporary file renamed into place only when everything compiled.
enum EmitTarget {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(crate::output::OutputFile),
}

impl EmitTarget {
    fn open(path: &Path) -> std::io::Result<EmitTarget> {
        if path == Path::new("-") {
            return Ok(EmitTarget::Stdout(std::io::BufWriter::with_capacity(
                1 << 16,
                std::io::stdout(),
            )));
        }
        crate::output::OutputFile::create(path).map(EmitTarget::File)
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            EmitTarget::Stdout(w) => w,
            EmitTarget::File(w) => w,
        }
    }

    fn commit(self, keep: bool) -> std::io::Result<()> {
        match self {
            EmitTarget::Stdout(mut w) => w.flush(),
            EmitTarget::File(file) if keep => file.commit(),
            EmitTarget::File(_) => Ok(()),
        }
    }
}

fn plan(cli: &Cli, args: &PlanArgs) -> i32 {
    let started = std::time::Instant::now();
    let Some((loaded, mut sources, mut diags)) = load_clean(cli, &args.paths) else {
        return EXIT_ERRORS;
    };
    let endpoints: Endpoints = args.endpoint.iter().cloned().collect();
    for name in endpoints.keys() {
        if !loaded.project.senders.iter().any(|s| &*s.name == name) {
            eprintln!("error: --endpoint names `{name}`, which is not a sender");
            return EXIT_USAGE;
        }
    }
    let mut target = match args.emit.as_deref().map(EmitTarget::open).transpose() {
        Ok(t) => t,
        Err(err) => {
            eprintln!("error: cannot write the requests: {err}");
            return EXIT_ERRORS;
        }
    };
    let hashing = args.out.is_some();
    let location = match args.state.location_or_exit() {
        Ok(location) => location,
        Err(code) => return code,
    };
    let mut sink = PlanSink {
        campaigns: &loaded.project.campaigns,
        state: plan_state(&loaded, &location, &endpoints),
        already: 0,
        drift: crate::state::Drift::default(),
        plain: hashing.then(|| {
            (
                Emitter::new(&loaded.project.senders, &Endpoints::new()),
                crate::apply::PlanHasher::default(),
            )
        }),
        lanes: Lanes::new(&loaded.project.senders, &endpoints, target.is_some()),
        written: Written {
            target: target.as_mut(),
            lines: crate::emit::NdjsonWriter::default(),
            stats: RequestStats::default(),
            error: None,
        },
    };
    let summaries = compile::run(
        &loaded,
        cli.run_options(compile::Keep::Encoded),
        &mut sources,
        &mut diags,
        &mut sink,
    );
    let PlanSink {
        already,
        drift,
        state,
        plain,
        mut lanes,
        mut written,
        ..
    } = sink;
    lanes.finish(&mut |request| written.request(request));
    let hasher = plain
        .map(|(mut plain, mut hasher)| {
            plain.finish(&mut |request| hasher.add(&request));
            hasher
        })
        .unwrap_or_default();
    let Written {
        stats,
        error: mut write_error,
        ..
    } = written;
    let ok = !diags.has_errors();
    if let (Some(out), true) = (&args.out, ok) {
        let plan_file = crate::apply::PlanFile {
            version: 1,
            messages: summaries.iter().map(|s| s.messages).sum(),
            requests: hasher.requests,
            sha256: hasher.finish(),
            campaigns: summaries.iter().map(|s| s.name.to_string()).collect(),
        };
        let mut text = serde_json::to_string_pretty(&plan_file).unwrap_or_default();
        text.push('\n');
        if let Err(err) = crate::apply::write_atomic(out, text.as_bytes()) {
            eprintln!("error: cannot write the plan file: {err}");
            return EXIT_ERRORS;
        }
    }
    if let Some(t) = target {
        let result = match write_error.take() {
            Some(err) => Err(err),
            None => t.commit(ok),
        };
        if let Err(err) = result {
            eprintln!("error: cannot write the requests: {err}");
            return EXIT_ERRORS;
        }
    }
    report(cli, &diags, &sources);
    if !cli.quiet {
        let to_stdout = args.emit.as_deref() != Some(Path::new("-"));
        let mut text = plan_text(&loaded.project, &summaries, &stats, args.preview, ok);
        if already > 0 {
            text.push_str(&format!(
                "{} already have an outcome at their target (`{}`); apply sends only the others.\n",
                count(already, "recipient"),
                location.shown()
            ));
        }
        if let Some(store) = &state {
            text.push_str(&drift_text(&**store, &drift));
        }
        if to_stdout {
            print!("{text}");
        } else {
            eprint!("{text}");
        }
    }
    if cli.verbose > 0 && !cli.quiet {
        eprintln!("took {:.2} s", started.elapsed().as_secs_f64());
    }
    let messages: u64 = summaries.iter().map(|s| s.messages).sum();
    if !ok {
        EXIT_ERRORS
    } else if args.detailed_exitcode && messages > already {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// `waform state import`.
fn state_import(cli: &Cli, args: &ImportArgs) -> i32 {
    let to = match crate::state::Location::parse(&args.to) {
        Ok(crate::state::Location::Postgres(db)) => db,
        Ok(_) => {
            eprintln!("error: --to must be postgres://USER@HOST:PORT/DB");
            return EXIT_USAGE;
        }
        Err(err) => {
            eprintln!("error: --to: {err}");
            return EXIT_USAGE;
        }
    };
    let summary = match crate::state::import::import(&args.from, &to) {
        Ok(summary) => summary,
        Err(err) => {
            eprintln!("error: cannot import: {err}");
            return crate::apply::EXIT_STATE;
        }
    };
    for path in &summary.legacy {
        eprintln!(
            "warning: {} is a journal from before targets were kept; it is not imported (it names no target)",
            path.display()
        );
    }
    match summary.imported {
        crate::state::postgres::Imported::Refused {
            count: differing,
            examples,
        } => {
            eprintln!(
                "error: {} already {} another record in {}; nothing was imported",
                count(differing, "key"),
                if differing == 1 { "has" } else { "have" },
                to.shown()
            );
            for e in examples {
                eprintln!(
                    "  campaign `{}` key {}: {} there, {} in {}",
                    e.campaign,
                    e.key,
                    e.here,
                    e.imported,
                    args.from.display()
                );
            }
            eprintln!(
                "help: the database has moved on since (or holds another run's state): import into another database, or keep using it as it is"
            );
            EXIT_ERRORS
        }
        crate::state::postgres::Imported::Done { new, same } => {
            if !cli.quiet {
                for (slot, records) in &summary.slots {
                    eprintln!(
                        "campaign {} → {}: {}",
                        slot.campaign,
                        slot.target_text(),
                        count(*records, "record")
                    );
                }
                eprintln!(
                    "Imported {} into {} ({new} new, {same} already there).",
                    count(new + same, "record"),
                    to.shown()
                );
            }
            EXIT_OK
        }
    }
}

/// The state `plan` reads: the campaigns' slots at their targets, or none when nothing was
/// ever applied there (or it cannot be read, after saying so).
fn plan_state(
    loaded: &compile::Loaded,
    location: &crate::state::Location,
    endpoints: &Endpoints,
) -> Option<Box<dyn crate::state::Store>> {
    if location.is_empty() {
        return None;
    }
    let slots = loaded
        .project
        .campaigns
        .iter()
        .map(|c| crate::state::Slot::current(c, endpoints))
        .collect();
    let store = crate::send::open_state(location, slots, false)?;
    for (what, _) in crate::send::refused_changes(&*store, false, false) {
        eprintln!("warning: `apply` will refuse: {what}");
    }
    Some(store)
}

/// The lines `plan` adds for messages changed since they were sent.
fn drift_text(store: &dyn crate::state::Store, drift: &crate::state::Drift) -> String {
    let mut text = String::new();
    for (at, slot) in store.slots().iter().enumerate() {
        let changed = drift.count(at);
        if changed == 0 {
            continue;
        }
        text.push_str(&format!(
            "{} of campaign {} changed since sent; `apply --resend-changed` sends them again:\n",
            count(changed, "message"),
            slot.campaign
        ));
        for line in drift.lines(store, at).unwrap_or_default() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    text
}

/// `plan`'s sink: notes the recipients the state already has, hashes the requests as
/// `apply` will send them (with `--out`), and counts and writes them (with `--emit`) in
/// campaign order.
struct PlanSink<'a, 't> {
    campaigns: &'a [crate::model::Campaign],
    /// The state of the campaigns at their targets (slot `i` is campaign `i`), when there is any.
    state: Option<Box<dyn crate::state::Store>>,
    /// Messages that a plain `apply` would not send.
    already: u64,
    /// Messages changed since they were sent.
    drift: crate::state::Drift,
    /// With `--out`: an emitter without `--endpoint` overrides, and the hash of its requests.
    plain: Option<(Emitter, crate::apply::PlanHasher)>,
    lanes: Lanes,
    written: Written<'t>,
}

/// Where `plan`'s requests go: counted, and written to the `--emit` target if any.
struct Written<'t> {
    target: Option<&'t mut EmitTarget>,
    lines: crate::emit::NdjsonWriter,
    stats: RequestStats,
    /// The first error writing, after which nothing more is written.
    error: Option<std::io::Error>,
}

impl Written<'_> {
    fn request(&mut self, request: Request) {
        self.stats.add(&request);
        if let Some(t) = self.target.as_mut()
            && self.error.is_none()
            && let Err(err) = self.lines.write(&request, t.writer())
        {
            self.error = Some(err);
        }
        crate::emit::recycle(request.body);
    }
}

impl compile::Sink for PlanSink<'_, '_> {
    fn message(&mut self, campaign: usize, message: Box<crate::message::Message>) -> bool {
        if let Some(store) = &self.state {
            let key = &message.key;
            let plan = crate::state::Plan::of(store.lookup(campaign, key), || {
                crate::state::digest_of(&message)
            });
            if !plan.sends(crate::state::Resend::default()) {
                self.already += 1;
            }
            if plan == crate::state::Plan::Changed {
                self.drift.note(campaign, &message, key);
            }
        }
        if let Some((plain, hasher)) = self.plain.as_mut() {
            plain.push(&message, &mut |request| hasher.add(&request));
        }
        let written = &mut self.written;
        self.lanes
            .push(campaign, message, &mut |emitted| match emitted {
                Emitted::Now(request) => written.request(request),
                Emitted::Later(request) => written.stats.add(request),
            });
        true
    }

    /// Campaigns interleave unless the plan is hashed (`--out`), which needs the requests in
    /// order, and when their requests can wait ([`Lanes::can_wait`]).
    fn interleave(&self, later: &crate::model::Campaign) -> bool {
        self.plain.is_none() && Lanes::can_wait(self.campaigns, later)
    }

    fn done(&mut self, campaign: usize) {
        let out = self.written.target.as_mut().map(|t| t.writer());
        match self.lanes.done(campaign, out) {
            Ok(flushed) => flushed
                .into_iter()
                .for_each(|request| self.written.request(request)),
            Err(err) => {
                self.written.error.get_or_insert(err);
            }
        }
    }
}

/// Requests counted per campaign and per URL.
#[derive(Default)]
pub(crate) struct RequestStats {
    total: u64,
    per_campaign: BTreeMap<String, (u64, String)>,
}

impl RequestStats {
    pub(crate) fn add(&mut self, request: &Request) {
        self.total += 1;
        if let [only] = request.recipients.as_slice() {
            return self.count(&only.campaign, &request.url);
        }
        let mut seen: Vec<&str> = Vec::new();
        for r in &request.recipients {
            if !seen.contains(&&*r.campaign) {
                seen.push(&r.campaign);
                self.count(&r.campaign, &request.url);
            }
        }
    }

    /// One more request for `campaign`, sent to `url`.
    fn count(&mut self, campaign: &str, url: &str) {
        match self.per_campaign.get_mut(campaign) {
            Some(entry) => entry.0 += 1,
            None => {
                self.per_campaign
                    .insert(campaign.to_owned(), (1, url.to_owned()));
            }
        }
    }
}

fn count(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub(crate) fn plan_text(
    project: &crate::model::Project,
    summaries: &[CampaignSummary],
    stats: &RequestStats,
    previews: usize,
    ok: bool,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for s in summaries {
        let sender = project.senders.iter().find(|x| x.name == s.sender);
        let env = match sender.map(|x| x.environment) {
            Some(Environment::Production) => "production",
            _ => "test",
        };
        let what = match &s.template {
            Some(t) => format!("template {t}"),
            None => "text message".to_owned(),
        };
        let provider = match s.provider {
            Provider::Aldeamo => "aldeamo",
            Provider::Mayten => "mayten",
        };
        let _ = writeln!(
            out,
            "campaign {}  (sender {} · {provider} {env} · {what})",
            s.name, s.sender
        );
        let _ = writeln!(
            out,
            "  recipients  {} → {} ({} filtered by where, {} duplicates, {} with errors)",
            count(s.rows, "row"),
            count(s.messages, "message"),
            s.filtered,
            s.duplicates,
            s.failed
        );
        let (requests, url) = stats
            .per_campaign
            .get(&*s.name)
            .cloned()
            .unwrap_or((0, String::new()));
        if requests > 0 {
            let _ = writeln!(out, "  requests    {requests} × POST {url}");
        } else {
            let _ = writeln!(out, "  requests    none");
        }
        let _ = writeln!(out, "  warnings    {}", s.warnings);
        for p in s.previews.iter().take(previews) {
            let _ = writeln!(out);
            let _ = writeln!(out, "  → {}  ({})", p.to, p.origin);
            if let Some(h) = &p.header {
                let _ = writeln!(out, "    {h}");
            }
            for line in p.body.lines() {
                let _ = writeln!(out, "    {line}");
            }
            if !p.buttons.is_empty() {
                let _ = writeln!(out, "    {}", p.buttons.join("   "));
            }
        }
        let _ = writeln!(out);
    }
    let messages: u64 = summaries.iter().map(|s| s.messages).sum();
    if ok {
        let _ = writeln!(
            out,
            "Plan: {} in {} from {}. Nothing was sent.",
            count(messages, "message"),
            count(stats.total, "request"),
            count(summaries.len() as u64, "campaign")
        );
    } else {
        let _ = writeln!(out, "Plan failed: fix the errors above. Nothing was sent.");
    }
    out
}

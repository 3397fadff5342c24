//! The `apply`, `status` and `sandbox` commands: compile as `plan` does, then send through
//! [`crate::apply`], journaled in [`crate::journal`].

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::mpsc;

use crate::apply::{self, Event, PlanFile, PlanHasher, Secrets, SendOptions};
use crate::cli::{
    ApplyArgs, Cli, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, FormatArg, SandboxArgs, StatusArgs,
};
use crate::compile;
use crate::diagnostics::{Diagnostics, Sources};
use crate::emit::{Emitter, Endpoints, Request};
use crate::message::Message;
use crate::model::Rate;
use crate::state::{Drift, Location, Plan, Resend, Slot, Store, digest_of};

fn parse_rate_arg(text: &str) -> Option<Rate> {
    crate::validate::parse_rate(text).or_else(|| {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|r| *r > 0.0 && r.is_finite())
            .map(Rate)
    })
}

/// The tokio runtime of `apply` and `sandbox`; `None` (after saying why) when it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            None
        }
    }
}

/// The key a message is journaled under.
fn key_of(message: &Message) -> &str {
    &message.key
}

/// A sink that hands each message to a closure with its campaign's number.
struct ByCampaign<F>(F);

impl<F: FnMut(usize, Box<Message>) -> bool + Send> compile::Sink for ByCampaign<F> {
    fn message(&mut self, campaign: usize, message: Box<Message>) -> bool {
        (self.0)(campaign, message)
    }
}

/// Open the state of `slots` (to write, or only to read), warning about unreadable lines;
/// `None` after saying why it cannot be opened.
pub(crate) fn open_state(
    location: &Location,
    slots: Vec<Slot>,
    writable: bool,
) -> Option<Box<dyn Store>> {
    let opened = if writable {
        location.open(slots)
    } else {
        location.read(slots)
    };
    match opened {
        Ok(store) => {
            if let Some(bad) = store.unreadable() {
                eprintln!(
                    "warning: {} in the state could not be read and were skipped (the first at {})",
                    count(bad.lines, "line"),
                    bad.first
                );
            }
            Some(store)
        }
        Err(err) => {
            eprintln!("error: cannot read or write {err}");
            eprintln!("help: {}", location.help());
            None
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

/// The changes of key or account that would make every recipient of a slot look new and
/// that the flags do not accept: per change, what happened and how to proceed.
pub(crate) fn refused_changes(
    store: &dyn Store,
    accept_key: bool,
    accept_account: bool,
) -> Vec<(String, String)> {
    let key_text = |key: &Option<String>| match key {
        Some(k) => format!("key `{k}`"),
        None => "the default key (the number)".to_owned(),
    };
    let mut refused = Vec::new();
    for (at, slot) in store.slots().iter().enumerate() {
        for conflict in store.conflicts(at) {
            let other = &conflict.other;
            let account_changed = other
                .target
                .as_ref()
                .is_some_and(|t| Some(&t.account) != slot.target.as_ref().map(|s| &s.account));
            let key_changed = other.key != slot.key;
            if (!account_changed || accept_account) && (!key_changed || accept_key) {
                continue;
            }
            let what = format!(
                "campaign `{}` has {} recorded under {} ({}), and none under {} ({}): every recipient would look new and be sent again",
                slot.campaign,
                count(conflict.outcomes, "outcome"),
                other.target_text(),
                key_text(&other.key),
                slot.target_text(),
                key_text(&slot.key),
            );
            let mut help = Vec::new();
            if account_changed {
                help.push("put back the sender's account (`from` / `source_id`), or pass --accept-changed-account to start this campaign over from the new account");
            }
            if key_changed {
                help.push("put back the campaign's `key:`, or pass --accept-changed-key to start this campaign over under the new key");
            }
            refused.push((what, help.join("; ")));
        }
    }
    refused
}

/// Per campaign: how many of its messages each kind of [`Plan`] has.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    new: u64,
    unsent: u64,
    failed: u64,
    uncertain: u64,
    changed: u64,
    to_send: u64,
}

impl Tally {
    fn add(&mut self, plan: Plan, sends: bool) {
        match plan {
            Plan::New => self.new += 1,
            Plan::Unsent => self.unsent += 1,
            Plan::Failed => self.failed += 1,
            Plan::Uncertain => self.uncertain += 1,
            Plan::Changed => self.changed += 1,
            Plan::Sent => {}
        }
        if sends {
            self.to_send += 1;
        }
    }
}

/// How many messages pass 2 claims at once (one round trip to the state for each batch).
const CLAIM_BATCH: usize = 256;

/// Where the sources digest of a campaign starts (see [`mix`]).
const SOURCES_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// The sources digest of a campaign with one more message: its key and its digest, in order.
/// Workers splitting a campaign must have the same (same messages, in the same order).
fn mix(digest: u64, key: &str, message: u64) -> u64 {
    let key = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
    let mixed = (digest ^ key).wrapping_mul(0x0000_0100_0000_01b3);
    (mixed ^ message)
        .rotate_left(23)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The messages pass 2 would send, claimed a batch at a time: only those this process claims
/// are sent (with PostgreSQL several processes split a campaign; the folder claims all).
struct Claims {
    /// The messages waiting to be claimed, with their campaign.
    batch: Vec<(usize, Box<Message>)>,
    /// Per campaign, messages not claimed: another process has them, or sent them since.
    others: Vec<u64>,
    /// Why claiming failed; the run stops.
    error: Option<String>,
}

impl Claims {
    /// Claim the batch: the messages claimed, in their order (boxed as the compiler gives
    /// them and the emitter takes them).
    #[allow(clippy::vec_box)]
    fn claim(&mut self, store: &Mutex<Box<dyn Store>>) -> Vec<Box<Message>> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() || self.error.is_some() {
            return Vec::new();
        }
        let mut store = match store.lock() {
            Ok(store) => store,
            Err(e) => e.into_inner(),
        };
        let mut campaigns: Vec<usize> = batch.iter().map(|(c, _)| *c).collect();
        campaigns.sort_unstable();
        campaigns.dedup();
        let mut claimed: HashMap<usize, std::vec::IntoIter<bool>> = HashMap::new();
        for campaign in campaigns {
            let keys: Vec<&str> = batch
                .iter()
                .filter(|(c, _)| *c == campaign)
                .map(|(_, m)| key_of(m))
                .collect();
            match store.claim(campaign, &keys) {
                Ok(mine) => {
                    claimed.insert(campaign, mine.into_iter());
                }
                Err(err) => {
                    self.error = Some(err.cause.to_string());
                    return Vec::new();
                }
            }
        }
        drop(store);
        let mut out = Vec::with_capacity(batch.len());
        for (campaign, message) in batch {
            let mine = claimed
                .get_mut(&campaign)
                .and_then(Iterator::next)
                .unwrap_or(false);
            if mine {
                out.push(message);
            } else {
                self.others[campaign] += 1;
            }
        }
        out
    }
}

/// `waform apply`.
pub fn apply(cli: &Cli, args: &ApplyArgs) -> i32 {
    let Some((loaded, mut sources, mut diags)) = crate::cli::load_clean(cli, &args.paths) else {
        return EXIT_ERRORS;
    };
    let endpoints: Endpoints = args.endpoint.iter().cloned().collect();
    for (name, url) in &endpoints {
        if !loaded.project.senders.iter().any(|s| &*s.name == name) {
            eprintln!("error: --endpoint names `{name}`, which is not a sender");
            return EXIT_USAGE;
        }
        if !apply::endpoint_allowed(url) {
            eprintln!(
                "error: --endpoint {name}={url}: plain http is only allowed on loopback addresses; use https"
            );
            return EXIT_USAGE;
        }
    }
    let location = match args.state.location_or_exit() {
        Ok(location) => location.with_lease(args.lease),
        Err(code) => return code,
    };
    let mut options = SendOptions {
        concurrency: args.concurrency.max(1),
        max_attempts: args.max_attempts.max(1),
        ..SendOptions::default()
    };
    for rate in &args.rate {
        match rate.split_once('=') {
            Some((sender, value)) => match parse_rate_arg(value) {
                Some(r) => {
                    options.rates.insert(sender.to_owned(), r);
                }
                None => {
                    eprintln!("error: --rate {rate}: expected SENDER=RATE such as aldeamo-co=20/s");
                    return EXIT_USAGE;
                }
            },
            None => match parse_rate_arg(rate) {
                Some(r) => options.rate_all = Some(r),
                None => {
                    eprintln!("error: --rate {rate}: expected a rate such as 20/s");
                    return EXIT_USAGE;
                }
            },
        }
    }
    let resend = Resend {
        failed: args.retry_failed,
        uncertain: args.retry_uncertain,
        changed: args.resend_changed,
    };
    let used: Vec<_> = loaded
        .project
        .senders
        .iter()
        .filter(|s| {
            loaded
                .project
                .campaigns
                .iter()
                .any(|c| c.target.sender.name == s.name)
        })
        .cloned()
        .collect();
    let secrets = match Secrets::load(&used) {
        Ok(s) => s,
        Err(missing) => {
            for m in missing {
                eprintln!("error: {m}");
            }
            eprintln!(
                "help: set the variables (or create the files) the senders name; nothing was sent"
            );
            return EXIT_ERRORS;
        }
    };
    let campaigns = &loaded.project.campaigns;
    let slots: Vec<Slot> = campaigns
        .iter()
        .map(|c| Slot::current(c, &endpoints))
        .collect();
    let Some(store) = open_state(&location, slots, true) else {
        return apply::EXIT_STATE;
    };
    let refused = refused_changes(
        &*store,
        args.accept_changed_key,
        args.accept_changed_account,
    );
    for (what, help) in &refused {
        eprintln!("error: {what}");
        eprintln!("help: {help}; nothing was sent");
    }
    if !refused.is_empty() {
        return EXIT_ERRORS;
    }
    // Pass 1: compile everything, as `plan`; count what is to send; hash for --plan.
    let mut stats = crate::cli::RequestStats::default();
    let mut emitter = Emitter::new(&loaded.project.senders, &endpoints);
    let mut plain = Emitter::new(&loaded.project.senders, &Endpoints::new());
    let hashing = args.plan.is_some();
    let mut hasher = PlanHasher::default();
    let mut tallies = vec![Tally::default(); campaigns.len()];
    let mut sources_digest = vec![SOURCES_SEED; campaigns.len()];
    let summaries = {
        let mut on_request = |r: Request| stats.add(&r);
        let mut on_plain = |r: Request| hasher.add(&r);
        let summaries = compile::run(
            &loaded,
            cli.run_options(crate::compile::Keep::Encoded),
            &mut sources,
            &mut diags,
            &mut ByCampaign(|campaign: usize, message: Box<Message>| {
                let entry = store.lookup(campaign, key_of(&message));
                let digest = digest_of(&message);
                sources_digest[campaign] = mix(sources_digest[campaign], key_of(&message), digest);
                let plan = Plan::of(entry, || digest);
                tallies[campaign].add(plan, plan.sends(resend));
                if hashing {
                    plain.push(&message, &mut on_plain);
                }
                emitter.push_owned(message, &mut on_request);
                true
            }),
        );
        emitter.finish(&mut on_request);
        plain.finish(&mut on_plain);
        summaries
    };
    let pending: u64 = tallies.iter().map(|t| t.to_send).sum();
    crate::cli::report(cli, &diags, &sources);
    if diags.has_errors() {
        eprintln!("Apply refused: fix the errors above. Nothing was sent.");
        return EXIT_ERRORS;
    }
    let mut store = store;
    for (slot, digest) in sources_digest.iter().enumerate() {
        if let Err(err) = store.join(slot, *digest) {
            eprintln!("error: cannot read or write {err}");
            if err.cause.kind() == std::io::ErrorKind::AlreadyExists {
                eprintln!(
                    "help: every run splitting a campaign must compile the same sources; nothing was sent"
                );
                return EXIT_ERRORS;
            }
            eprintln!("help: {}", location.help());
            return apply::EXIT_STATE;
        }
    }
    let human = cli.format == FormatArg::Human;
    if !cli.quiet && human {
        eprint!(
            "{}",
            crate::cli::plan_text(&loaded.project, &summaries, &stats, 0, true)
                .replace(". Nothing was sent.", ".")
        );
    }
    if let Some(plan_path) = &args.plan {
        let recorded: Option<PlanFile> = std::fs::read_to_string(plan_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let Some(recorded) = recorded else {
            eprintln!("error: cannot read the plan file `{}`", plan_path.display());
            return EXIT_ERRORS;
        };
        let now = hasher.finish();
        if recorded.sha256 != now {
            eprintln!(
                "error: the sources no longer compile to the plan in `{}` (it recorded {} messages in {} requests); nothing was sent",
                plan_path.display(),
                recorded.messages,
                recorded.requests
            );
            eprintln!(
                "help: run `waform plan --out {}` again and review it",
                plan_path.display()
            );
            return EXIT_ERRORS;
        }
    }
    let real: Vec<&str> = used
        .iter()
        .filter(|s| crate::state::is_real_host(s, &endpoints))
        .map(|s| &*s.name)
        .collect();
    if !real.is_empty() && !args.yes && args.plan.is_none() && pending > 0 {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint!(
                "Send {pending} real messages through {}? Type `yes` to go on: ",
                real.join(", ")
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            if answer.trim() != "yes" {
                eprintln!("Nothing was sent.");
                return EXIT_ERRORS;
            }
        } else {
            eprintln!(
                "error: senders {} send real messages (their provider's real host); pass --yes (or --plan PLAN) to send. Nothing was sent.",
                real.join(", ")
            );
            eprintln!(
                "help: to try the campaign first, run `waform sandbox` and `waform apply --endpoint SENDER=http://127.0.0.1:8787`"
            );
            return EXIT_ERRORS;
        }
    }
    if pending == 0 {
        if !cli.quiet {
            eprintln!(
                "Nothing to send: every recipient already has an outcome at its target (see `waform status`)."
            );
        }
        return finish(
            cli,
            args,
            &*store,
            &tallies,
            &vec![0; campaigns.len()],
            None,
        );
    }
    // Pass 2: compile again, streaming the messages to send into the sender.
    let slot_of: HashMap<Arc<str>, usize> = campaigns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.target.campaign.clone(), i))
        .collect();
    let store = Arc::new(Mutex::new(store));
    let Some(runtime) = runtime() else {
        return EXIT_ERRORS;
    };
    // A few requests queued per one in flight: enough to keep the senders busy, and few, since
    // a Mayten request of 1,000 destinations is half a megabyte.
    let (tx, rx) = mpsc::channel::<Request>(options.concurrency + 4);
    let progress = if human && !cli.quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(pending);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} sent {msg} [{elapsed}, {per_sec}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let json_events = cli.format == FormatArg::Json;
    let bar = progress.clone();
    let done = Arc::new(Mutex::new((vec![0u64; campaigns.len()], 0u64, 0u64)));
    let done_in = done.clone();
    let slots_in = slot_of.clone();
    let events: Box<dyn FnMut(&Event) + Send> = Box::new(move |event: &Event| {
        if json_events {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", apply::event_line(event));
        }
        if let Ok(mut t) = done_in.lock() {
            if let Some(&slot) = slots_in.get(event.campaign.as_str()) {
                t.0[slot] += 1;
            }
            match event.event {
                "failed" => t.1 += 1,
                "uncertain" => t.2 += 1,
                _ => {}
            }
            if let Some(bar) = &bar {
                bar.set_message(format!("· {} failed · {} uncertain", t.1, t.2));
                bar.inc(1);
            }
        }
    });
    let senders = loaded.project.senders.clone();
    let store_for_send = store.clone();
    let result = std::thread::scope(|scope| {
        let store_for_compile = store.clone();
        let loaded_ref = &loaded;
        let endpoints_ref = &endpoints;
        let run_options = cli.run_options(crate::compile::Keep::Encoded);
        let n_campaigns = campaigns.len();
        let producer = scope.spawn(move || {
            let mut sources = Sources::default();
            let mut diags = Diagnostics::new();
            let mut emitter = Emitter::new(&loaded_ref.project.senders, endpoints_ref);
            let open = std::sync::atomic::AtomicBool::new(true);
            let mut on_request = |request: Request| {
                if open.load(Relaxed) && tx.blocking_send(request).is_err() {
                    open.store(false, Relaxed);
                }
            };
            let mut claims = Claims {
                batch: Vec::with_capacity(CLAIM_BATCH),
                others: vec![0; n_campaigns],
                error: None,
            };
            compile::run(
                loaded_ref,
                run_options,
                &mut sources,
                &mut diags,
                &mut ByCampaign(|campaign: usize, message: Box<Message>| {
                    let sends = match store_for_compile.lock() {
                        Ok(store) => {
                            let entry = store.lookup(campaign, key_of(&message));
                            Plan::of(entry, || digest_of(&message)).sends(resend)
                        }
                        Err(_) => false,
                    };
                    if sends {
                        claims.batch.push((campaign, message));
                        if claims.batch.len() >= CLAIM_BATCH {
                            for message in claims.claim(&store_for_compile) {
                                emitter.push_owned(message, &mut on_request);
                            }
                        }
                    }
                    open.load(Relaxed) && claims.error.is_none()
                }),
            );
            if open.load(Relaxed) && claims.error.is_none() {
                for message in claims.claim(&store_for_compile) {
                    emitter.push_owned(message, &mut on_request);
                }
            }
            if open.load(Relaxed) && claims.error.is_none() {
                emitter.finish(&mut on_request);
            }
            (claims.others, claims.error)
        });
        let result = runtime.block_on(apply::send_all(
            rx,
            &senders,
            secrets,
            store_for_send,
            slot_of,
            options,
            events,
        ));
        let mut result = result;
        match producer.join() {
            Ok((others, error)) => {
                if let Some(error) = error {
                    result.state_error.get_or_insert(error);
                }
                if let Ok(mut t) = done.lock() {
                    for (slot, n) in others.into_iter().enumerate() {
                        t.0[slot] += n;
                    }
                }
            }
            Err(_) => {
                result
                    .state_error
                    .get_or_insert_with(|| "the compiler stopped".to_owned());
            }
        }
        result
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let Ok(store) = Arc::try_unwrap(store) else {
        eprintln!("error: the state is still in use");
        return EXIT_ERRORS;
    };
    let store = store.into_inner().unwrap_or_else(|e| e.into_inner());
    let outcomes = done.lock().map(|t| t.0.clone()).unwrap_or_default();
    finish(cli, args, &*store, &tallies, &outcomes, Some(&result))
}

/// Report, summarise and choose the exit code of a run: `tallies` are what pass 1 found per
/// campaign, `outcomes` how many outcomes this run recorded per campaign.
fn finish(
    cli: &Cli,
    args: &ApplyArgs,
    store: &dyn Store,
    tallies: &[Tally],
    outcomes: &[u64],
    result: Option<&apply::RunResult>,
) -> i32 {
    let (location, fix) = match args.state.location() {
        Ok(location) if location.folder().is_none() => {
            (location.shown(), "check that PostgreSQL is reachable")
        }
        Ok(location) => (location.shown(), "free space or fix the folder"),
        Err(_) => (String::from("the state"), "fix the state"),
    };
    if let Some(report) = &args.report {
        let slots: Vec<usize> = (0..store.slots().len()).collect();
        if let Err(err) = crate::state::report::write(report, store, &slots) {
            eprintln!(
                "error: cannot write the report `{}`: {err}",
                report.display()
            );
        }
    }
    let mut incomplete = false;
    for (at, slot) in store.slots().iter().enumerate() {
        let counts = store.counts(at);
        let tally = tallies.get(at).copied().unwrap_or_default();
        let done = outcomes.get(at).copied().unwrap_or(0);
        let pending = tally.to_send.saturating_sub(done).min(tally.new);
        incomplete |= counts.failed + counts.unsent + counts.uncertain + pending > 0;
        if cli.format == FormatArg::Json {
            println!(
                "{}",
                serde_json::json!({"event": "summary", "campaign": slot.campaign, "target": slot.target_text(), "sent": counts.sent, "failed": counts.failed, "unsent": counts.unsent, "uncertain": counts.uncertain, "pending": pending})
            );
        } else if !cli.quiet {
            eprintln!(
                "campaign {} → {}: {} sent, {} failed, {} unsent, {} uncertain, {} pending",
                slot.campaign,
                slot.target_text(),
                counts.sent,
                counts.failed,
                counts.unsent,
                counts.uncertain,
                pending
            );
            for line in hints(&counts, pending) {
                eprintln!("  {line}");
            }
        }
    }
    if let Some(result) = result {
        let c = &result.counts;
        let planned: u64 = tallies.iter().map(|t| t.to_send).sum();
        let never = planned.saturating_sub(c.attempted);
        if !cli.quiet && cli.format != FormatArg::Json {
            let mut line = format!(
                "This run: {} sent, {} failed, {} unsent, {} uncertain, {} retries",
                c.sent, c.failed, c.unsent, c.uncertain, c.retries
            );
            if never > 0 {
                line.push_str(&format!("; {never} never attempted"));
            }
            eprintln!("{line}.");
        }
        if let Some(err) = &result.state_error {
            eprintln!(
                "error: the state in `{location}` could not be written: {err}; the run stopped"
            );
            eprintln!(
                "help: {never} messages were never attempted and nothing was sent without a durable intent; {fix}, then apply again to resume"
            );
            return apply::EXIT_STATE;
        }
        if result.credentials_refused {
            eprintln!(
                "error: the provider refused the credentials; the run stopped. Fix them and apply again to resume."
            );
            return apply::EXIT_CREDENTIALS;
        }
        if result.interrupted {
            eprintln!("Interrupted: what was in flight is recorded; apply again to resume.");
            return apply::EXIT_INTERRUPTED;
        }
    }
    if incomplete {
        apply::EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

/// What would send the recipients left, by outcome.
fn hints(counts: &crate::state::Counts, pending: u64) -> Vec<String> {
    let mut lines = Vec::new();
    if pending > 0 {
        lines.push(format!(
            "{pending} not yet tried: `waform apply` sends them"
        ));
    }
    if counts.unsent > 0 {
        lines.push(format!(
            "{} unsent never reached the provider: `waform apply` sends them",
            counts.unsent
        ));
    }
    if counts.failed > 0 {
        lines.push(format!(
            "{} failed (refused by the provider): `waform apply --retry-failed` sends them again",
            counts.failed
        ));
    }
    if counts.uncertain > 0 {
        lines.push(format!(
            "{} uncertain (may have been received): `waform apply --retry-uncertain` sends them again, possibly twice",
            counts.uncertain
        ));
    }
    lines
}

/// The slots `status` shows: each campaign's current one, then the others the state holds.
fn status_slots(
    loaded: &compile::Loaded,
    location: &Location,
    endpoints: &Endpoints,
) -> Result<(Vec<Slot>, Vec<Vec<usize>>), crate::state::StateError> {
    let campaigns = &loaded.project.campaigns;
    let names: Vec<&str> = campaigns.iter().map(|c| &*c.target.campaign).collect();
    let found = location.discover(&names)?;
    let mut slots = Vec::new();
    let mut of_campaign = vec![Vec::new(); campaigns.len()];
    for (i, campaign) in campaigns.iter().enumerate() {
        let current = Slot::current(campaign, endpoints);
        let others = found.iter().filter(|s| {
            s.campaign == *campaign.target.campaign
                && (s.target != current.target || s.key != current.key)
        });
        of_campaign[i].push(slots.len());
        slots.push(current.clone());
        for other in others {
            of_campaign[i].push(slots.len());
            slots.push(other.clone());
        }
    }
    Ok((slots, of_campaign))
}

/// `waform status`.
pub fn status(cli: &Cli, args: &StatusArgs) -> i32 {
    let Some((loaded, mut sources, mut diags)) = crate::cli::load_clean(cli, &args.paths) else {
        return EXIT_ERRORS;
    };
    let endpoints: Endpoints = args.endpoint.iter().cloned().collect();
    let location = match args.state.location_or_exit() {
        Ok(location) => location,
        Err(code) => return code,
    };
    let (slots, of_campaign) = match status_slots(&loaded, &location, &endpoints) {
        Ok(found) => found,
        Err(err) => {
            eprintln!("error: cannot read {err}");
            return apply::EXIT_STATE;
        }
    };
    let Some(store) = open_state(&location, slots, false) else {
        return apply::EXIT_STATE;
    };
    let mut pending = vec![0u64; store.slots().len()];
    let mut drift = Drift::default();
    compile::run(
        &loaded,
        cli.run_options(crate::compile::Keep::Encoded),
        &mut sources,
        &mut diags,
        &mut ByCampaign(|campaign: usize, message: Box<Message>| {
            for &slot in &of_campaign[campaign] {
                let key = key_of(&message);
                match Plan::of(store.lookup(slot, key), || digest_of(&message)) {
                    Plan::New => pending[slot] += 1,
                    Plan::Changed => drift.note(slot, &message, key),
                    _ => {}
                }
            }
            true
        }),
    );
    crate::cli::report(cli, &diags, &sources);
    if diags.has_errors() {
        return EXIT_ERRORS;
    }
    let rows: Vec<serde_json::Value> = store
        .slots()
        .iter()
        .enumerate()
        .map(|(at, slot)| {
            let c = store.counts(at);
            serde_json::json!({
                "campaign": slot.campaign,
                "target": slot.target_text(),
                "sent": c.sent,
                "failed": c.failed,
                "unsent": c.unsent,
                "uncertain": c.uncertain,
                "changed": drift.count(at),
                "pending": pending[at],
            })
        })
        .collect();
    if cli.format == FormatArg::Json {
        println!("{}", serde_json::json!({"version": 1, "campaigns": rows}));
        return EXIT_OK;
    }
    print!("{}", status_table(&rows));
    for (at, slot) in store.slots().iter().enumerate() {
        let changed = drift.count(at);
        if changed > 0 {
            println!(
                "\n{} → {}: {changed} changed since sent; `waform apply --resend-changed` sends them again:",
                slot.campaign,
                slot.target_text(),
            );
            match drift.lines(&*store, at) {
                Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
                Err(err) => eprintln!("error: cannot read {err}"),
            }
        }
        if slot.target.is_none() {
            let sender = loaded
                .project
                .campaigns
                .iter()
                .find(|c| *c.target.campaign == slot.campaign)
                .map(|c| crate::emit::default_base_url(&c.target.sender));
            println!(
                "\nnote: the `legacy` row of campaign `{}` is its journal from before waform kept state per target ({}). It counts for the sender's default host{}. If those messages went to the sandbox or an --endpoint, delete that file.",
                slot.campaign,
                location
                    .folder()
                    .map(|dir| crate::state::local::legacy_path(dir, &slot.campaign)
                        .display()
                        .to_string())
                    .unwrap_or_default(),
                sender.map(|h| format!(" ({h})")).unwrap_or_default(),
            );
        }
    }
    EXIT_OK
}

/// The human `status` table: one row per campaign and target.
fn status_table(rows: &[serde_json::Value]) -> String {
    const NUMBERS: [&str; 6] = [
        "sent",
        "failed",
        "unsent",
        "uncertain",
        "changed",
        "pending",
    ];
    let text = |row: &serde_json::Value, field: &str| match &row[field] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let width = |field: &str, title: &str| {
        rows.iter()
            .map(|r| text(r, field).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (wc, wt) = (width("campaign", "CAMPAIGN"), width("target", "TARGET"));
    let mut out = format!("{:<wc$}  {:<wt$}", "CAMPAIGN", "TARGET");
    for n in NUMBERS {
        out.push_str(&format!("  {:>w$}", n.to_uppercase(), w = width(n, n)));
    }
    out = out.trim_end().to_owned();
    out.push('\n');
    for row in rows {
        let mut line = format!(
            "{:<wc$}  {:<wt$}",
            text(row, "campaign"),
            text(row, "target")
        );
        for n in NUMBERS {
            line.push_str(&format!("  {:>w$}", text(row, n), w = width(n, n)));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `waform sandbox`.
pub fn sandbox(args: &SandboxArgs) -> i32 {
    let config = crate::sandbox::SandboxConfig {
        aldeamo_api_key: args.api_key.clone(),
        aldeamo_user_id: args.user_id.clone(),
        mayten_token: args.token.clone(),
        faults: crate::sandbox::Faults {
            rate_429: args.rate_429,
            retry_after_secs: args.retry_after,
            rate_500: args.rate_500,
            rate_drop: args.rate_drop,
            latency_ms: args.latency_ms,
            seed: args.seed,
            fail_first: args.fail_first,
            refuse: args.refuse.clone(),
        },
        log: args.log.clone(),
    };
    let Some(runtime) = runtime() else {
        return EXIT_ERRORS;
    };
    match runtime.block_on(crate::sandbox::run_forever(args.port, config)) {
        Ok(()) => EXIT_OK,
        Err(err) => {
            eprintln!("error: the sandbox stopped: {err}");
            EXIT_ERRORS
        }
    }
}

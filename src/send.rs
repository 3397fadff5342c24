//! The `apply`, `status` and `sandbox` commands: compile as `plan` does, then send through
//! [`crate::apply`], journaled in [`crate::journal`].

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::apply::{self, Event, PlanFile, PlanHasher, Secrets, SendOptions};
use crate::cli::{
    ApplyArgs, Cli, EXIT_ERRORS, EXIT_OK, EXIT_USAGE, FormatArg, SandboxArgs, StatusArgs,
};
use crate::compile;
use crate::diagnostics::{Diagnostics, Sources};
use crate::emit::{Emitter, Endpoints, Request};
use crate::journal::Journal;
use crate::model::{Environment, Rate};

fn parse_rate_arg(text: &str) -> Option<Rate> {
    crate::validate::parse_rate(text).or_else(|| {
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|r| *r > 0.0 && r.is_finite())
            .map(Rate)
    })
}

/// (sent, failed, uncertain) per campaign name, from the journal.
fn counts_by_campaign(journal: &Journal) -> HashMap<String, (u64, u64, u64)> {
    journal
        .counts()
        .into_iter()
        .map(|c| (c.campaign, (c.sent, c.failed, c.uncertain)))
        .collect()
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
    let mut options = SendOptions {
        concurrency: args.concurrency.max(1),
        retry_uncertain: args.retry_uncertain,
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
    let campaigns: Vec<String> = loaded
        .project
        .campaigns
        .iter()
        .map(|c| c.target.campaign.to_string())
        .collect();
    let names: Vec<&str> = campaigns.iter().map(String::as_str).collect();
    let journal = match Journal::open(&args.state_dir, &names) {
        Ok(j) => j,
        Err(err) => {
            eprintln!(
                "error: cannot open the journal in `{}`: {err}",
                args.state_dir.display()
            );
            return EXIT_ERRORS;
        }
    };
    // Pass 1: compile everything, as `plan`; count what is pending; hash for --plan.
    let mut stats = crate::cli::RequestStats::default();
    let mut emitter = Emitter::new(&loaded.project.senders, &endpoints);
    let mut plain = Emitter::new(&loaded.project.senders, &Endpoints::new());
    let hashing = args.plan.is_some();
    let mut hasher = PlanHasher::default();
    let mut pending = 0u64;
    let retry_uncertain = args.retry_uncertain;
    let summaries = {
        let mut on_request = |r: Request| stats.add(&r);
        let mut on_plain = |r: Request| hasher.add(&r);
        let summaries = compile::run(
            &loaded,
            cli.run_options(crate::compile::Keep::Encoded),
            &mut sources,
            &mut diags,
            &mut |message: Box<crate::message::Message>| {
                if !journal.is_done(&message.target.campaign, &message.to, retry_uncertain) {
                    pending += 1;
                }
                if hashing {
                    plain.push(&message, &mut on_plain);
                }
                emitter.push_owned(message, &mut on_request);
                true
            },
        );
        emitter.finish(&mut on_request);
        plain.finish(&mut on_plain);
        summaries
    };
    crate::cli::report(cli, &diags, &sources);
    if diags.has_errors() {
        eprintln!("Apply refused: fix the errors above. Nothing was sent.");
        return EXIT_ERRORS;
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
    let production: Vec<&str> = used
        .iter()
        .filter(|s| s.environment == Environment::Production)
        .map(|s| &*s.name)
        .collect();
    if !production.is_empty() && !args.yes && args.plan.is_none() && pending > 0 {
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            eprint!(
                "Send {pending} messages through production senders ({})? Type `yes` to go on: ",
                production.join(", ")
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
                "error: senders {} are in production; pass --yes (or --plan PLAN) to send for real. Nothing was sent.",
                production.join(", ")
            );
            return EXIT_ERRORS;
        }
    }
    if pending == 0 {
        if !cli.quiet {
            eprintln!(
                "Nothing to send: every recipient already has an outcome (see `waform status`)."
            );
        }
        return finish(args, &journal, &campaigns, None, cli);
    }
    // Pass 2: compile again, streaming the pending messages into the sender.
    let journal = Arc::new(Mutex::new(journal));
    let Some(runtime) = runtime() else {
        return EXIT_ERRORS;
    };
    let (tx, rx) = mpsc::channel::<Request>(options.concurrency * 4 + 16);
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
    let tallies = Arc::new(Mutex::new((0u64, 0u64)));
    let tallies_in = tallies.clone();
    let events: Box<dyn FnMut(&Event) + Send> = Box::new(move |event: &Event| {
        if json_events {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", apply::event_line(event));
        }
        if let Some(bar) = &bar {
            if let Ok(mut t) = tallies_in.lock() {
                match event.event {
                    "failed" => t.0 += 1,
                    "uncertain" => t.1 += 1,
                    _ => {}
                }
                bar.set_message(format!("· {} failed · {} uncertain", t.0, t.1));
            }
            bar.inc(1);
        }
    });
    let senders = loaded.project.senders.clone();
    let journal_for_send = journal.clone();
    let result = std::thread::scope(|scope| {
        let journal_for_compile = journal.clone();
        let loaded_ref = &loaded;
        let endpoints_ref = &endpoints;
        let run_options = cli.run_options(crate::compile::Keep::Encoded);
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
            compile::run(
                loaded_ref,
                run_options,
                &mut sources,
                &mut diags,
                &mut |message: Box<crate::message::Message>| {
                    let done = journal_for_compile
                        .lock()
                        .map(|j| j.is_done(&message.target.campaign, &message.to, retry_uncertain))
                        .unwrap_or(true);
                    if !done {
                        emitter.push_owned(message, &mut on_request);
                    }
                    open.load(Relaxed)
                },
            );
            if open.load(Relaxed) {
                emitter.finish(&mut on_request);
            }
        });
        let result = runtime.block_on(apply::send_all(
            rx,
            &senders,
            secrets,
            journal_for_send,
            options,
            events,
        ));
        let _ = producer.join();
        result
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let journal = match Arc::try_unwrap(journal) {
        Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
        Err(_) => {
            eprintln!("error: the journal is still in use");
            return EXIT_ERRORS;
        }
    };
    finish(args, &journal, &campaigns, Some(&result), cli)
}

fn finish(
    args: &ApplyArgs,
    journal: &Journal,
    campaigns: &[String],
    result: Option<&apply::RunResult>,
    cli: &Cli,
) -> i32 {
    if let Some(report) = &args.report {
        let wanted: std::collections::HashSet<&str> =
            campaigns.iter().map(String::as_str).collect();
        if let Err(err) = crate::journal::write_report(
            report,
            journal
                .records()
                .filter(|r| wanted.contains(r.campaign.as_str())),
        ) {
            eprintln!(
                "error: cannot write the report `{}`: {err}",
                report.display()
            );
        }
    }
    let counts = counts_by_campaign(journal);
    let mut incomplete = false;
    for campaign in campaigns {
        let (sent, failed, uncertain) = counts.get(campaign).copied().unwrap_or_default();
        incomplete |= failed > 0 || uncertain > 0;
        if cli.format == FormatArg::Json {
            println!(
                "{}",
                serde_json::json!({"event": "summary", "campaign": campaign, "sent": sent, "failed": failed, "uncertain": uncertain})
            );
        } else if !cli.quiet {
            eprintln!("campaign {campaign}: {sent} sent, {failed} failed, {uncertain} uncertain");
        }
    }
    if let Some(result) = result {
        if !cli.quiet && cli.format != FormatArg::Json {
            eprintln!(
                "This run: {} sent, {} failed, {} uncertain, {} retries.",
                result.counts.sent,
                result.counts.failed,
                result.counts.uncertain,
                result.counts.retries
            );
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

/// `waform status`.
pub fn status(cli: &Cli, args: &StatusArgs) -> i32 {
    let Some((loaded, _, _)) = crate::cli::load_clean(cli, &args.paths) else {
        return EXIT_ERRORS;
    };
    let campaigns: Vec<&str> = loaded
        .project
        .campaigns
        .iter()
        .map(|c| &*c.target.campaign)
        .collect();
    let journal = match Journal::read_all(&args.state_dir) {
        Ok(j) => j,
        Err(err) => {
            eprintln!(
                "error: cannot read the journal in `{}`: {err}",
                args.state_dir.display()
            );
            return EXIT_ERRORS;
        }
    };
    let counts = counts_by_campaign(&journal);
    for campaign in campaigns {
        let (sent, failed, uncertain) = counts.get(campaign).copied().unwrap_or_default();
        if cli.format == FormatArg::Json {
            println!(
                "{}",
                serde_json::json!({"campaign": campaign, "sent": sent, "failed": failed, "uncertain": uncertain})
            );
        } else {
            println!("{campaign}: {sent} sent, {failed} failed, {uncertain} uncertain");
        }
    }
    EXIT_OK
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

//! `waform apply` against a real sandbox server on loopback: what is sent, once, resumably.

use std::path::Path;
use std::process::Command;

use waform::sandbox::{Faults, Sandbox};

mod common;
use common::*;

/// Apply sends every recipient once with the documented headers and bodies, and a second apply sends nothing.
#[test]
fn sends_once_with_exact_requests_and_resumes_to_nothing() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let phones = numbers(5, 0);
    project(dir.path(), &phones, false, 2);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--report", "report.csv"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let received = sandbox.received();
    let aldeamo: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/v1/apikey/template/bsp/send")
        .collect();
    let mayten: Vec<_> = received
        .iter()
        .filter(|r| r.path == "/api/Integration/MessageWpp")
        .collect();
    assert_eq!(aldeamo.len(), 5);
    assert_eq!(mayten.len(), 3, "5 destinations in batches of 2");
    for r in &aldeamo {
        assert_eq!(r.method, "POST");
        assert!(r.headers.contains_key("apikey"), "ApiKey header sent");
        assert!(r.headers.contains_key("userid"), "UserId header sent");
        assert_eq!(r.body["template"]["name"], "reminder");
        assert_eq!(r.body["from"], "573001112233");
    }
    for r in &mayten {
        assert!(r.headers.contains_key("authorization"));
        assert_eq!(r.body["messages"][0]["sourceId"], 5);
    }
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["plan", ".", "--emit", "-", "--endpoint"])
        .arg(format!("aldeamo-co={}", sandbox.url()))
        .arg("--endpoint")
        .arg(format!("mayten-co={}", sandbox.url()))
        .output()
        .expect("plan");
    let planned: Vec<serde_json::Value> = String::from_utf8_lossy(&plan.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson"))
        .collect();
    let sent_bodies: Vec<&serde_json::Value> = received.iter().map(|r| &r.body).collect();
    for p in &planned {
        assert!(
            sent_bodies.contains(&&p["body"]),
            "planned body was sent as planned"
        );
    }
    let counts = accepted_counts(&sandbox);
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|c| *c == 1));
    let report = std::fs::read_to_string(dir.path().join("report.csv")).expect("report");
    assert!(report.starts_with(
        "campaign,target,key,to,tracking_number,status,message_id,track_uuid,error,attempts,warning\n"
    ));
    assert_eq!(report.lines().count(), 11);
    let again = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        sandbox.received().len(),
        received.len(),
        "re-applying sends nothing"
    );
    let rows = status_json(dir.path(), &[]);
    let row = |campaign: &str, target: &str| {
        rows.iter()
            .find(|r| r["campaign"] == campaign && r["target"] == target)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {campaign} at {target}: {rows:?}"))
    };
    let sandbox_aldeamo = format!("aldeamo {} from 573001112233", sandbox.url());
    assert_eq!(
        row("ready-aldeamo", &sandbox_aldeamo),
        serde_json::json!({"campaign": "ready-aldeamo", "target": sandbox_aldeamo, "sent": 5, "failed": 0, "unsent": 0, "uncertain": 0, "changed": 0, "pending": 0})
    );
    let sandbox_mayten = format!("mayten {} source_id 5", sandbox.url());
    assert_eq!(
        row("ready-mayten", &sandbox_mayten),
        serde_json::json!({"campaign": "ready-mayten", "target": sandbox_mayten, "sent": 5, "failed": 0, "unsent": 0, "uncertain": 0, "changed": 0, "pending": 0}),
        "a Mayten destination's digest as sent is the one its message compiles to"
    );
    let real = "aldeamo https://apitellitwatest.aldeamo.com from 573001112233";
    assert_eq!(
        row("ready-aldeamo", real)["sent"],
        0,
        "the sandbox is not the real host"
    );
    assert_eq!(row("ready-aldeamo", real)["pending"], 5);
    assert!(
        !text(&out).contains(API_KEY) && !text(&out).contains(TOKEN),
        "secrets never printed"
    );
    let journal_dir = dir.path().join(".waform");
    for entry in walk(&journal_dir) {
        let content = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !content.contains(API_KEY) && !content.contains(TOKEN) && !content.contains(USER_ID)
        );
    }
    rt.block_on(sandbox.shutdown());
}

/// Rows added to the CSV after a finished apply are the only ones sent by the next apply.
#[test]
fn added_rows_alone_are_sent() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), false, 100);
    assert_eq!(
        run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]))
            .status
            .code(),
        Some(0)
    );
    let before = sandbox.accepted().len();
    project(dir.path(), &numbers(5, 0), false, 100);
    let out = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        sandbox.accepted().len() - before,
        4,
        "two new rows, two campaigns"
    );
    assert!(accepted_counts(&sandbox).values().all(|c| *c == 1));
    rt.block_on(sandbox.shutdown());
}

/// A storm of 429 answers with Retry-After ends with every message sent exactly once.
#[test]
fn throttling_storm_ends_with_each_message_once() {
    let rt = runtime();
    let faults = Faults {
        fail_first: 10,
        rate_429: 0.3,
        retry_after_secs: 0,
        seed: 7,
        ..Faults::default()
    };
    let sandbox = start(&rt, faults);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(30, 0), false, 4);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--max-attempts", "30"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let counts = accepted_counts(&sandbox);
    assert_eq!(counts.len(), 60);
    assert!(
        counts.values().all(|c| *c == 1),
        "no message accepted twice"
    );
    assert!(sandbox.received().iter().any(|r| r.status == 429));
    rt.block_on(sandbox.shutdown());
}

/// Refused credentials (401) stop the run at once with exit 4 and nothing more is sent.
#[test]
fn refused_credentials_stop_the_run() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(20, 0), false, 100);
    std::fs::write(
        dir.path().join("project.yaml"),
        std::fs::read_to_string(dir.path().join("project.yaml"))
            .expect("read")
            .split("---\nkind: Sender\nname: mayten-co")
            .next()
            .expect("first part")
            .to_owned()
            + &template_and_aldeamo_campaign(),
    )
    .expect("rewrite");
    let out = run(&mut waform_for(
        dir.path(),
        &["aldeamo-co"],
        &sandbox.url(),
        "wrong-key",
        &["--concurrency", "1"],
    ));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(sandbox.received().len(), 1, "nothing sent after the 401");
    assert!(sandbox.accepted().is_empty());
    let fixed = run(&mut waform_for(
        dir.path(),
        &["aldeamo-co"],
        &sandbox.url(),
        API_KEY,
        &[],
    ));
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    assert_eq!(
        sandbox.accepted().len(),
        20,
        "after fixing the key, everyone is sent to"
    );
    rt.block_on(sandbox.shutdown());
}

fn template_and_aldeamo_campaign() -> String {
    r#"---
kind: Template
name: reminder
language: es
body: "Hola {{1}}, tu pedido {{2}} está listo."
providers:
  aldeamo: { namespace: f29c496f_9a16_408b_bff7_379e57d1c8d5 }
---
kind: Campaign
name: ready-aldeamo
sender: aldeamo-co
template: reminder
recipients: { csv: customers.csv }
body: ["{{ name }}", "{{ order }}"]
"#
    .to_owned()
}

/// A run killed with SIGKILL mid-way and run again sends no recipient twice and leaves none without an outcome.
#[test]
fn killed_run_resumes_without_duplicates() {
    let rt = runtime();
    let faults = Faults {
        latency_ms: 40,
        ..Faults::default()
    };
    let sandbox = start(&rt, faults);
    let dir = tempfile::tempdir().expect("tempdir");
    let phones = numbers(120, 0);
    project(dir.path(), &phones, false, 3);
    let mut child = waform(dir.path(), &sandbox.url(), API_KEY, &["--concurrency", "4"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_accepted(&sandbox, 30);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let after_kill = sandbox.accepted().len();
    assert!(after_kill < 240, "killed before the end");
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--report", "report.ndjson"],
    ));
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        text(&out)
    );
    let counts = accepted_counts(&sandbox);
    assert!(counts.values().all(|c| *c == 1), "no recipient sent twice");
    let report = std::fs::read_to_string(dir.path().join("report.ndjson")).expect("report");
    let rows: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 240, "every recipient has a row");
    for row in &rows {
        let status = row["status"].as_str().unwrap_or("");
        assert!(
            status == "sent" || status == "uncertain",
            "outcome recorded: {row}"
        );
    }
    let sent = rows.iter().filter(|r| r["status"] == "sent").count();
    assert_eq!(
        sent + rows.iter().filter(|r| r["status"] == "uncertain").count(),
        240
    );
    rt.block_on(sandbox.shutdown());
}

/// Sends to a provider's real host (Aldeamo production, any Mayten sender) are refused without --yes when no terminal can confirm, before anything is sent; the sandbox needs no gate.
#[test]
fn production_needs_yes() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(2, 0), true, 10);
    for senders in [&["mayten-co"][..], &["aldeamo-co"], &[]] {
        let out = run(&mut waform_for(
            dir.path(),
            senders,
            &sandbox.url(),
            API_KEY,
            &[],
        ));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("pass --yes"), "{}", text(&out));
        assert!(text(&out).contains("Nothing was sent"), "{}", text(&out));
    }
    assert!(sandbox.received().is_empty());
    let sandboxed = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(
        sandboxed.status.code(),
        Some(0),
        "no gate when every sender goes to an --endpoint: {}",
        text(&sandboxed)
    );
    assert_eq!(sandbox.accepted().len(), 4);
    rt.block_on(sandbox.shutdown());
}

/// A missing credential is a clear error before anything is sent.
#[test]
fn missing_credentials_send_nothing() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(2, 0), false, 10);
    let out = run(
        waform(dir.path(), &sandbox.url(), API_KEY, &[]).env_remove("WAFORM_TEST_MAYTEN_TOKEN")
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("WAFORM_TEST_MAYTEN_TOKEN"));
    assert!(sandbox.received().is_empty());
    rt.block_on(sandbox.shutdown());
}

/// Plain http endpoints are refused unless they are loopback addresses.
#[test]
fn plain_http_only_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(1, 0), false, 10);
    let out = run(&mut waform(dir.path(), "http://example.com", API_KEY, &[]));
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
}

/// A server that accepts and then drops the connection leaves the messages uncertain, not resent.
#[test]
fn dropped_connections_are_uncertain() {
    let rt = runtime();
    let faults = Faults {
        rate_drop: 1.0,
        ..Faults::default()
    };
    let sandbox = start(&rt, faults);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), false, 10);
    let out = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let first = sandbox.accepted().len();
    let again = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(
        sandbox.accepted().len(),
        first,
        "uncertain messages are not sent again"
    );
    let port = sandbox.addr.port();
    rt.block_on(sandbox.shutdown());
    let healthy = rt
        .block_on(Sandbox::start(port, config(Faults::default())))
        .expect("sandbox on the same port: the same target");
    let retried = run(&mut waform(
        dir.path(),
        &healthy.url(),
        API_KEY,
        &["--retry-uncertain", "--report", "r.ndjson"],
    ));
    assert_eq!(retried.status.code(), Some(0), "{}", text(&retried));
    assert_eq!(
        healthy.accepted().len(),
        6,
        "--retry-uncertain sends them again"
    );
    let report = std::fs::read_to_string(dir.path().join("r.ndjson")).expect("report");
    assert!(
        report.lines().all(|l| l.contains("\"attempts\":2")),
        "{report}"
    );
    rt.block_on(healthy.shutdown());
}

/// Ctrl-C stops taking new work, records what was in flight, exits 130, and the next run resumes.
#[test]
fn interrupt_records_in_flight_and_resumes() {
    let rt = runtime();
    let faults = Faults {
        latency_ms: 50,
        ..Faults::default()
    };
    let sandbox = start(&rt, faults);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(100, 0), false, 2);
    let child = waform(dir.path(), &sandbox.url(), API_KEY, &["--concurrency", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_accepted(&sandbox, 10);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--report", "r.csv"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let counts = accepted_counts(&sandbox);
    assert_eq!(counts.len(), 200, "everyone sent in the end");
    assert!(counts.values().all(|c| *c == 1), "nobody twice");
    rt.block_on(sandbox.shutdown());
}

/// `apply --plan` refuses when the sources no longer compile to what the plan recorded.
#[test]
fn plan_file_guards_apply() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), true, 10);
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["plan", ".", "--quiet", "--out", "plan.json"])
        .output()
        .expect("plan");
    assert!(plan.status.success(), "{}", text(&plan));
    project(dir.path(), &numbers(4, 0), true, 10);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--plan", "plan.json"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no longer compile"));
    assert!(sandbox.received().is_empty());
    project(dir.path(), &numbers(3, 0), true, 10);
    let ok = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--plan", "plan.json"],
    ));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "a matching plan allows production without --yes: {}",
        text(&ok)
    );
    rt.block_on(sandbox.shutdown());
}

/// `--format json` streams one NDJSON event per recipient and a summary per campaign on stdout.
#[test]
fn json_events_stream() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), false, 10);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--format", "json"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line"))
        .collect();
    assert_eq!(events.iter().filter(|e| e["event"] == "sent").count(), 6);
    assert_eq!(events.iter().filter(|e| e["event"] == "summary").count(), 2);
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "sent")
            .all(|e| e["message_id"].is_string())
    );
    rt.block_on(sandbox.shutdown());
}

/// After a finished apply, `plan --detailed-exitcode` reads the journal: nothing left to send, exit 0.
#[test]
fn plan_reads_the_journal() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(2, 0), false, 10);
    let plan = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_waform"))
            .current_dir(dir)
            .args(["plan", ".", "--detailed-exitcode"])
            .arg("--endpoint")
            .arg(format!("aldeamo-co={}", sandbox.url()))
            .arg("--endpoint")
            .arg(format!("mayten-co={}", sandbox.url()))
            .output()
            .expect("plan")
    };
    assert_eq!(plan(dir.path()).status.code(), Some(2), "messages to send");
    assert_eq!(
        run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]))
            .status
            .code(),
        Some(0)
    );
    let after = plan(dir.path());
    assert_eq!(after.status.code(), Some(0), "{}", text(&after));
    assert!(text(&after).contains("4 recipients already have an outcome"));
    rt.block_on(sandbox.shutdown());
}

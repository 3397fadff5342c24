//! Delivery state against a real sandbox over HTTP: targets, outcomes, drift, changed keys and
//! accounts, legacy journals and a full disk.

use std::path::Path;
use std::process::Command;

use waform::sandbox::{Faults, Sandbox};

mod common;
use common::*;

/// Write an Aldeamo-only project: one campaign over `customers.csv` with `rows` (phone, name,
/// order), sent from `from`, with an optional `key:` expression.
fn aldeamo_project(dir: &Path, rows: &[(&str, &str, &str)], from: &str, key: Option<&str>) {
    let key = key.map(|k| format!("key: \"{k}\"\n")).unwrap_or_default();
    std::fs::write(
        dir.join("project.yaml"),
        format!(
            r#"kind: Sender
name: aldeamo-co
provider: aldeamo
from: "{from}"
api_key: {{ env: WAFORM_TEST_ALDEAMO_KEY }}
user_id: {{ env: WAFORM_TEST_ALDEAMO_USER }}
---
kind: Template
name: reminder
language: es
body: "Hola {{{{1}}}}, tu cita {{{{2}}}} está confirmada."
providers:
  aldeamo: {{ namespace: f29c496f_9a16_408b_bff7_379e57d1c8d5 }}
---
kind: Campaign
name: visits
sender: aldeamo-co
template: reminder
recipients: {{ csv: customers.csv }}
{key}body: ["{{{{ name }}}}", "{{{{ order }}}}"]
"#
        ),
    )
    .expect("write project");
    let mut csv = String::from("phone,name,order\n");
    for (phone, name, order) in rows {
        csv.push_str(&format!("{phone},{name},{order}\n"));
    }
    std::fs::write(dir.join("customers.csv"), csv).expect("write csv");
}

fn apply_at(dir: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    run(&mut waform_for(dir, &["aldeamo-co"], url, API_KEY, extra))
}

const ROWS: [(&str, &str, &str); 3] = [
    ("573001000001", "Ana", "A-1"),
    ("573001000002", "Bea", "B-2"),
    ("573001000003", "Caro", "C-3"),
];

/// The status row of `campaign` at the target whose text starts with `target`.
fn row(rows: &[serde_json::Value], target: &str) -> serde_json::Value {
    rows.iter()
        .find(|r| r["target"].as_str().is_some_and(|t| t.starts_with(target)))
        .cloned()
        .unwrap_or_else(|| panic!("no row at {target}: {rows:?}"))
}

/// A run against one endpoint counts for that endpoint alone: another endpoint, and the real host, still have every recipient to send.
#[test]
fn a_run_counts_for_its_own_target_alone() {
    let rt = runtime();
    let first = start(&rt, Faults::default());
    let second = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    let out = apply_at(dir.path(), &first.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(first.accepted().len(), 3);
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["plan", ".", "--detailed-exitcode"])
        .output()
        .expect("plan");
    assert_eq!(
        plan.status.code(),
        Some(2),
        "the real host still has messages to send: {}",
        text(&plan)
    );
    assert!(
        !text(&plan).contains("already have an outcome"),
        "{}",
        text(&plan)
    );
    let rows = status_json(dir.path(), &[]);
    let real = row(&rows, "aldeamo https://apitellitwatest.aldeamo.com ");
    assert_eq!(
        (real["sent"].clone(), real["pending"].clone()),
        (0.into(), 3.into())
    );
    let sandbox = row(&rows, &format!("aldeamo {} ", first.url()));
    assert_eq!(
        (sandbox["sent"].clone(), sandbox["pending"].clone()),
        (3.into(), 0.into())
    );
    let out = apply_at(dir.path(), &second.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        second.accepted().len(),
        3,
        "another endpoint is another target"
    );
    assert_eq!(first.accepted().len(), 3);
    rt.block_on(first.shutdown());
    rt.block_on(second.shutdown());
}

/// Messages that could not connect are `unsent`, the summary says the next run sends them, and once the endpoint is back the next plain `apply` sends each exactly once.
#[test]
fn refused_connections_are_unsent_and_sent_by_the_next_run() {
    let rt = runtime();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    let out = apply_at(dir.path(), &url, &["--max-attempts", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("0 sent, 0 failed, 3 unsent"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("3 unsent never reached the provider: `waform apply` sends them"),
        "{}",
        text(&out)
    );
    let sandbox = rt
        .block_on(Sandbox::start(port, config(Faults::default())))
        .expect("sandbox on the port that refused");
    let out = apply_at(dir.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = apply_at(dir.path(), &url, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let counts = accepted_counts(&sandbox);
    assert_eq!(counts.len(), 3);
    assert!(
        counts.values().all(|c| *c == 1),
        "each sent exactly once: {counts:?}"
    );
    rt.block_on(sandbox.shutdown());
}

/// A message the provider refused is `failed`: a plain re-run leaves it, `--retry-failed` sends it again.
#[test]
fn failed_messages_are_resent_only_with_retry_failed() {
    let rt = runtime();
    let refusing = rt
        .block_on(Sandbox::start(
            0,
            config(Faults {
                refuse: vec!["573001000002".to_owned()],
                ..Faults::default()
            }),
        ))
        .expect("sandbox");
    let port = refusing.addr.port();
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    let out = apply_at(dir.path(), &refusing.url(), &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("2 sent, 1 failed"), "{}", text(&out));
    assert!(
        text(&out).contains("--retry-failed` sends them again"),
        "{}",
        text(&out)
    );
    let url = refusing.url();
    rt.block_on(refusing.shutdown());
    let healthy = rt
        .block_on(Sandbox::start(port, config(Faults::default())))
        .expect("sandbox");
    let plain = apply_at(dir.path(), &url, &[]);
    assert_eq!(plain.status.code(), Some(3), "{}", text(&plain));
    assert!(
        healthy.received().is_empty(),
        "a refusal is not resent by itself"
    );
    let retried = apply_at(dir.path(), &url, &["--retry-failed"]);
    assert_eq!(retried.status.code(), Some(0), "{}", text(&retried));
    let to: Vec<String> = healthy.accepted().iter().map(|a| a.to.clone()).collect();
    assert_eq!(to, ["573001000002"]);
    rt.block_on(healthy.shutdown());
}

/// A message changed since it was sent is counted by `status`, shown old and new by `plan`, left by `apply`, and sent again once with `--resend-changed`.
#[test]
fn a_changed_message_is_reported_and_resent_only_with_the_flag() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    let out = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let endpoint = format!("aldeamo-co={}", sandbox.url());
    let unchanged = status_json(dir.path(), &["--endpoint", &endpoint]);
    assert_eq!(row(&unchanged, "aldeamo http")["changed"], 0);

    let mut moved = ROWS;
    moved[1].2 = "B-2 (11:00)";
    aldeamo_project(dir.path(), &moved, "573001112233", None);
    let rows = status_json(dir.path(), &["--endpoint", &endpoint]);
    let current = row(&rows, "aldeamo http");
    assert_eq!(
        (current["changed"].clone(), current["sent"].clone()),
        (1.into(), 3.into())
    );
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["plan", ".", "--endpoint", &endpoint])
        .output()
        .expect("plan");
    assert!(
        text(&plan).contains("1 message of campaign visits changed since sent"),
        "{}",
        text(&plan)
    );
    assert!(
        text(&plan).contains(r#"573001000002: "B-2" → "B-2 (11:00)""#),
        "{}",
        text(&plan)
    );
    let plain = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    assert_eq!(
        sandbox.accepted().len(),
        3,
        "a changed message is not resent by itself"
    );
    let resent = apply_at(dir.path(), &sandbox.url(), &["--resend-changed"]);
    assert_eq!(resent.status.code(), Some(0), "{}", text(&resent));
    let again = apply_at(dir.path(), &sandbox.url(), &["--resend-changed"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let accepted = sandbox.accepted();
    assert_eq!(accepted.len(), 4, "resent once");
    assert_eq!(accepted[3].to, "573001000002");
    let after = status_json(dir.path(), &["--endpoint", &endpoint]);
    assert_eq!(row(&after, "aldeamo http")["changed"], 0);
    rt.block_on(sandbox.shutdown());
}

/// A changed sender account while outcomes exist under the old one is refused (and `plan` says so ahead), nothing sent, until `--accept-changed-account`.
#[test]
fn a_changed_account_is_refused_until_accepted() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    assert_eq!(
        apply_at(dir.path(), &sandbox.url(), &[]).status.code(),
        Some(0)
    );
    aldeamo_project(dir.path(), &ROWS, "573009998877", None);
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args([
            "plan",
            ".",
            "--endpoint",
            &format!("aldeamo-co={}", sandbox.url()),
        ])
        .output()
        .expect("plan");
    assert!(
        text(&plan).contains("warning: `apply` will refuse: campaign `visits` has 3 outcomes"),
        "plan says so ahead: {}",
        text(&plan)
    );
    let refused = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains("has 3 outcomes recorded under aldeamo"),
        "{said}"
    );
    assert!(said.contains("from 573001112233"), "{said}");
    assert!(said.contains("--accept-changed-account"), "{said}");
    assert_eq!(sandbox.accepted().len(), 3, "nothing sent");
    let accepted = apply_at(dir.path(), &sandbox.url(), &["--accept-changed-account"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    assert_eq!(
        sandbox.accepted().len(),
        6,
        "sent from the new account on purpose"
    );
    rt.block_on(sandbox.shutdown());
}

/// A journal written before targets counts for the sender's default host (plan counts it, status shows it apart as `legacy` with how to drop it) and not for an endpoint.
#[test]
fn a_legacy_journal_counts_for_the_default_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    let journal = dir.path().join(".waform/journal");
    std::fs::create_dir_all(&journal).expect("journal folder");
    let name = waform::state::local::legacy_path(&dir.path().join(".waform"), "visits");
    let mut lines = String::new();
    for (req, (phone, ..)) in ROWS[..2].iter().enumerate() {
        lines.push_str(&format!(
            "{{\"v\":1,\"kind\":\"intent\",\"req\":{req},\"campaign\":\"visits\",\"to\":\"{phone}\",\"tracking\":null,\"attempt\":1}}\n\
             {{\"v\":1,\"kind\":\"outcome\",\"req\":{req},\"campaign\":\"visits\",\"to\":\"{phone}\",\"tracking\":null,\"status\":\"sent\",\"message_id\":\"m{req}\",\"track_uuid\":null,\"error\":null,\"attempts\":1,\"warning\":null}}\n"
        ));
    }
    std::fs::write(&name, lines).expect("legacy journal");
    let plan = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["plan", "."])
        .output()
        .expect("plan");
    assert!(
        text(&plan).contains("2 recipients already have an outcome at their target"),
        "{}",
        text(&plan)
    );
    let rows = status_json(dir.path(), &[]);
    let legacy = row(&rows, "legacy");
    assert_eq!(
        (legacy["sent"].clone(), legacy["campaign"].clone()),
        (2.into(), "visits".into())
    );
    let real = row(&rows, "aldeamo https://apitellitwatest.aldeamo.com ");
    assert_eq!(
        (real["sent"].clone(), real["pending"].clone()),
        (0.into(), 1.into())
    );
    let human = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir.path())
        .args(["status", "."])
        .output()
        .expect("status");
    let said = String::from_utf8_lossy(&human.stdout);
    assert!(
        said.contains("note: the `legacy` row of campaign `visits` is its journal from before"),
        "{said}"
    );
    let shown = waform::state::local::legacy_path(Path::new(".waform"), "visits");
    assert!(said.contains(&format!("({})", shown.display())), "{said}");
    assert!(said.contains("delete that file"), "{said}");
    let endpoint = status_json(dir.path(), &["--endpoint", "aldeamo-co=http://127.0.0.1:9"]);
    assert_eq!(row(&endpoint, "aldeamo http://127.0.0.1:9 ")["pending"], 3);
}

/// Unreadable lines in the state are reported with their count and the first one's place, not only skipped.
#[test]
fn unreadable_state_lines_are_reported() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    assert_eq!(
        apply_at(dir.path(), &sandbox.url(), &[]).status.code(),
        Some(0)
    );
    let slot = walk(&dir.path().join(".waform/journal"))
        .into_iter()
        .find(|p| {
            p.parent()
                .is_some_and(|d| d.file_name() != Some("journal".as_ref()))
        })
        .expect("a slot file");
    let mut text_now = std::fs::read_to_string(&slot).expect("slot");
    let lines = text_now.lines().count();
    text_now.push_str("not json\n{\"v\":2,\"kind\":\"outcome\"}\n");
    std::fs::write(&slot, text_now).expect("write");
    let out = apply_at(dir.path(), &sandbox.url(), &[]);
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "2 lines in the state could not be read and were skipped (the first at {}:{})",
            slot.strip_prefix(dir.path()).unwrap_or(&slot).display(),
            lines + 1
        )),
        "{said}"
    );
    assert_eq!(
        sandbox.accepted().len(),
        3,
        "the readable lines still count"
    );
    rt.block_on(sandbox.shutdown());
}

/// A full disk under the state folder stops the run with an error naming the folder and the cause, exit 5, and no message sent twice or without an intent.
#[test]
fn a_full_disk_stops_the_run_with_exit_5() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state folder");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&state)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root and must be able to mount a tmpfs for this test"
        );
        eprintln!("SKIPPED a_full_disk_stops_the_run_with_exit_5: cannot mount a tmpfs (not root)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&state);
    let sandbox = start(&rt, Faults::default());
    let phones = numbers(3000, 0);
    let rows: Vec<(String, String, String)> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), format!("Ana {i}"), format!("ORD-{i}")))
        .collect();
    let borrowed: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    aldeamo_project(dir.path(), &borrowed, "573001112233", None);
    let state_arg = state.display().to_string();
    let out = apply_at(dir.path(), &sandbox.url(), &["--state-dir", &state_arg]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(5), "{said}");
    assert!(
        said.contains(&format!(
            "error: the state in `{state_arg}` could not be written"
        )),
        "{said}"
    );
    assert!(said.contains("No space left on device"), "{said}");
    assert!(said.contains("never attempted"), "{said}");
    let accepted = sandbox.accepted().len();
    assert!(accepted < 3000, "the run stopped: {accepted}");
    let counts = accepted_counts(&sandbox);
    assert!(counts.values().all(|c| *c == 1), "no message sent twice");
    rt.block_on(sandbox.shutdown());
}

/// Two rows with one phone and two keys are two messages, each journaled by its key: a re-run sends neither again.
#[test]
fn two_keys_for_one_phone_are_two_messages() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = [
        ("573001000001", "Ana", "A-1"),
        ("573001000001", "Ana", "A-2"),
        ("573001000002", "Bea", "B-1"),
    ];
    let key = Some("{{ phone }}-{{ order }}");
    aldeamo_project(dir.path(), &rows, "573001112233", key);
    let out = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let counts = accepted_counts(&sandbox);
    assert_eq!(
        counts[&("aldeamo".to_owned(), "573001000001".to_owned())],
        2
    );
    assert_eq!(
        counts[&("aldeamo".to_owned(), "573001000002".to_owned())],
        1
    );
    let endpoint = format!("aldeamo-co={}", sandbox.url());
    let status = status_json(dir.path(), &["--endpoint", &endpoint]);
    let current = row(&status, "aldeamo http");
    assert_eq!(
        (current["sent"].clone(), current["pending"].clone()),
        (3.into(), 0.into())
    );
    rt.block_on(sandbox.shutdown());
}

/// A changed `key:` while outcomes exist under the old key is refused, nothing sent, until `--accept-changed-key`.
#[test]
fn a_changed_key_is_refused_until_accepted() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    aldeamo_project(dir.path(), &ROWS, "573001112233", None);
    assert_eq!(
        apply_at(dir.path(), &sandbox.url(), &[]).status.code(),
        Some(0)
    );
    aldeamo_project(
        dir.path(),
        &ROWS,
        "573001112233",
        Some("{{ phone }}-{{ order }}"),
    );
    let refused = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = text(&refused);
    assert!(
        said.contains("(the default key (the number)), and none under"),
        "{said}"
    );
    assert!(said.contains("(key `{{ phone }}-{{ order }}`)"), "{said}");
    assert!(said.contains("--accept-changed-key"), "{said}");
    assert_eq!(sandbox.accepted().len(), 3, "nothing sent");
    let accepted = apply_at(dir.path(), &sandbox.url(), &["--accept-changed-key"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    assert_eq!(
        sandbox.accepted().len(),
        6,
        "sent under the new key on purpose"
    );
    let again = apply_at(dir.path(), &sandbox.url(), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(sandbox.accepted().len(), 6);
    rt.block_on(sandbox.shutdown());
}

/// A Mayten destination whose parameters changed since it was sent counts as changed, like an Aldeamo message, and `--resend-changed` sends it again once.
#[test]
fn a_changed_mayten_destination_is_changed_too() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let phones = numbers(3, 0);
    project(dir.path(), &phones, false, 10);
    let out = run(&mut waform(dir.path(), &sandbox.url(), API_KEY, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let csv = std::fs::read_to_string(dir.path().join("customers.csv")).expect("csv");
    std::fs::write(
        dir.path().join("customers.csv"),
        csv.replace("Ana 1,", "Ana María 1,"),
    )
    .expect("csv");
    let endpoints = [
        "--endpoint".to_owned(),
        format!("aldeamo-co={}", sandbox.url()),
        "--endpoint".to_owned(),
        format!("mayten-co={}", sandbox.url()),
    ];
    let args: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    let rows = status_json(dir.path(), &args);
    for r in &rows {
        assert_eq!(
            (r["changed"].clone(), r["sent"].clone()),
            (1.into(), 3.into()),
            "{r}"
        );
    }
    let before = sandbox.accepted().len();
    let resent = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--resend-changed"],
    ));
    assert_eq!(resent.status.code(), Some(0), "{}", text(&resent));
    assert_eq!(
        sandbox.accepted().len(),
        before + 2,
        "one Aldeamo message, one Mayten destination"
    );
    let after = status_json(dir.path(), &args);
    assert!(after.iter().all(|r| r["changed"] == 0), "{after:?}");
    rt.block_on(sandbox.shutdown());
}

//! The PostgreSQL state (`--state postgres://…`) against a real server and the sandbox over
//! real HTTP. The server is named by `WAFORM_TEST_POSTGRES` (a URL whose user may create
//! databases; `.ci/postgres start` gives one); each test works in a database of its own.
//! Without it the tests fail when `CI` is set, and are skipped loudly otherwise.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use waform::sandbox::{Faults, Sandbox};
use waform::state::{Intent, Location, Outcome, Slot, Status, Target};

mod common;
use common::*;

/// The server's URL, or `None` (after saying so) when the tests are skipped.
fn server(test: &str) -> Option<String> {
    match std::env::var("WAFORM_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: WAFORM_TEST_POSTGRES is not set, and CI is: the PostgreSQL tests must run (see .ci/postgres)"
            );
            eprintln!(
                "SKIPPED {test}: set WAFORM_TEST_POSTGRES=postgres://USER:PASSWORD@HOST:PORT/DB (`eval \"$(.ci/postgres start)\"` starts one)"
            );
            None
        }
    }
}

/// A database of one test, dropped at the end.
struct TestDb {
    /// The server's URL (the administrative connection).
    admin: String,
    /// The test database's URL, with the password and the server's query.
    url: String,
    name: String,
}

/// The URL `url` with its database replaced by `db`.
fn with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{db}{query}")
}

/// The URL without its query (for tokio-postgres, which knows no sslrootcert).
fn plain(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Run SQL on a database.
fn try_sql(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(plain(url), tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let done = client.batch_execute(sql).await;
        drop(client);
        let _ = driver.await;
        done
    })
}

/// Run SQL on a database; it must succeed.
fn admin_sql(url: &str, sql: &str) {
    if let Err(e) = try_sql(url, sql) {
        panic!("{sql}: {e:?}");
    }
}

/// Rows of a query on a database, as text.
fn query(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(plain(url), tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        let rows = client.simple_query(sql).await.expect(sql);
        let out = rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        drop(client);
        let _ = driver.await;
        out
    })
}

impl TestDb {
    fn new(admin: &str) -> TestDb {
        let name = format!("waform_test_{:016x}", fastrand::u64(..));
        admin_sql(admin, &format!("CREATE DATABASE {name}"));
        TestDb {
            admin: admin.to_owned(),
            url: with_db(admin, &name),
            name,
        }
    }

    /// The password of the URL.
    fn password(&self) -> String {
        let rest = self.url.split_once("://").expect("scheme").1;
        let info = rest.rsplit_once('@').expect("user info").0;
        info.split_once(':')
            .expect("a password in WAFORM_TEST_POSTGRES")
            .1
            .to_owned()
    }

    /// The user of the URL.
    fn user(&self) -> String {
        let rest = self.url.split_once("://").expect("scheme").1;
        let info = rest.rsplit_once('@').expect("user info").0;
        info.split(':').next().unwrap_or("").to_owned()
    }

    /// The URL as waform shows it: without the password and the query.
    fn shown(&self) -> String {
        let password = format!(":{}@", self.password());
        plain(&self.url).replacen(&password, "@", 1)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        for attempt in 1..=5 {
            match try_sql(&self.admin, &sql) {
                Ok(()) => return,
                Err(e) if attempt == 5 => eprintln!("warning: {sql}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

fn row<'a>(rows: &'a [serde_json::Value], campaign: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["campaign"] == campaign)
        .unwrap_or_else(|| panic!("no row for {campaign}: {rows:?}"))
}

fn report_rows(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("report")
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect()
}

/// A free loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Apply with `--state postgres://…` sends every recipient once, a second apply sends nothing, and status counts them.
#[test]
fn apply_sends_once_and_status_counts() {
    let Some(admin) = server("apply_sends_once_and_status_counts") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(12, 0), false, 5);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sandbox.accepted().len(), 24);
    assert!(
        !dir.path().join(".waform").exists(),
        "nothing is written to the folder"
    );
    let again = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--report", "again.ndjson"],
    ));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        sandbox.accepted().len(),
        24,
        "the second apply sends nothing"
    );
    let rows = report_rows(&dir.path().join("again.ndjson"));
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["campaign"] == "ready-mayten")
            .all(|r| r["tracking_number"]
                .as_str()
                .is_some_and(|t| t.starts_with("ORD-")))
    );
    let endpoint = |sender: &str| format!("{sender}={}", sandbox.url());
    let status = status_json(
        dir.path(),
        &[
            "--state",
            &db.url,
            "--endpoint",
            &endpoint("aldeamo-co"),
            "--endpoint",
            &endpoint("mayten-co"),
        ],
    );
    for campaign in ["ready-aldeamo", "ready-mayten"] {
        let r = row(&status, campaign);
        assert_eq!(r["sent"], 12, "{r}");
        assert_eq!(r["pending"], 0, "{r}");
        assert_eq!(r["uncertain"], 0, "{r}");
    }
    rt.block_on(sandbox.shutdown());
}

/// A run killed with SIGKILL mid-way and run again once its lease expired sends nobody twice, and every key has an outcome (those in flight are uncertain).
#[test]
fn a_killed_run_resumes_without_duplicates() {
    let Some(admin) = server("a_killed_run_resumes_without_duplicates") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(
        &rt,
        Faults {
            latency_ms: 40,
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(120, 0), false, 3);
    let mut child = waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--concurrency", "4", "--lease", "1s"],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("spawn");
    wait_for_accepted(&sandbox, 30);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The keys it had claimed and not sent are free once its lease expired.
    std::thread::sleep(Duration::from_millis(1500));
    let after_kill = sandbox.accepted().len();
    assert!(after_kill < 240, "killed before the end");
    let in_flight = query(
        &db.url,
        "SELECT count(*) FROM waform.recipients WHERE in_flight",
    );
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--report", "report.ndjson"],
    ));
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "the lock of the killed run is gone: {}",
        text(&out)
    );
    let counts = accepted_counts(&sandbox);
    assert!(counts.values().all(|c| *c == 1), "no recipient sent twice");
    let rows = report_rows(&dir.path().join("report.ndjson"));
    assert_eq!(rows.len(), 240, "every recipient has a row");
    let uncertain = rows.iter().filter(|r| r["status"] == "uncertain").count();
    for r in &rows {
        assert!(
            r["status"] == "sent" || r["status"] == "uncertain",
            "outcome recorded: {r}"
        );
    }
    assert_eq!(
        in_flight[0][0].as_deref(),
        Some(uncertain.to_string().as_str()),
        "the uncertain ones are the intents the kill left in flight"
    );
    rt.block_on(sandbox.shutdown());
}

/// Messages that could not connect are unsent; once the endpoint is up the next apply sends each exactly once.
#[test]
fn refused_connections_are_sent_once_when_reachable() {
    let Some(admin) = server("refused_connections_are_sent_once_when_reachable") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(4, 0), false, 2);
    let out = run(&mut waform(
        dir.path(),
        &url,
        API_KEY,
        &["--state", &db.url, "--max-attempts", "2"],
    ));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("0 sent, 0 failed, 4 unsent"),
        "{}",
        text(&out)
    );
    let sandbox = rt
        .block_on(Sandbox::start(port, config(Faults::default())))
        .expect("sandbox on the port that refused");
    let out = run(&mut waform(
        dir.path(),
        &url,
        API_KEY,
        &["--state", &db.url],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again = run(&mut waform(
        dir.path(),
        &url,
        API_KEY,
        &["--state", &db.url],
    ));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let counts = accepted_counts(&sandbox);
    assert_eq!(counts.len(), 8);
    assert!(
        counts.values().all(|c| *c == 1),
        "each sent exactly once: {counts:?}"
    );
    rt.block_on(sandbox.shutdown());
}

/// The password never appears in the output of apply, plan and status, in a report, or in any error.
#[test]
fn the_password_is_never_shown() {
    let Some(admin) = server("the_password_is_never_shown") else {
        return;
    };
    let db = TestDb::new(&admin);
    let password = db.password();
    assert!(password.len() >= 8, "a distinctive password");
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), false, 2);
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let apply = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--report", "report.csv", "-v"],
    ));
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    outputs.push(("apply".into(), apply));
    let bin = env!("CARGO_BIN_EXE_waform");
    let endpoint = format!("aldeamo-co={}", sandbox.url());
    for (name, args) in [
        (
            "plan",
            vec!["plan", ".", "--state", &db.url, "--endpoint", &endpoint],
        ),
        ("status", vec!["status", ".", "--state", &db.url]),
        (
            "status json",
            vec!["status", ".", "--format", "json", "--state", &db.url],
        ),
    ] {
        let out = Command::new(bin)
            .current_dir(dir.path())
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        outputs.push((name.into(), out));
    }
    let wrong_db = with_db(&db.url, "no_such_database");
    let closed = closed_port();
    let wrong_port = format!(
        "postgres://{}:{password}@127.0.0.1:{closed}/{}",
        db.user(),
        db.name
    );
    let bad_mode = format!("{}&sslmode=verify-ca", db.url);
    let bad_mode = if db.url.contains('?') {
        bad_mode
    } else {
        bad_mode.replacen('&', "?", 1)
    };
    for (name, url) in [
        ("wrong database", wrong_db.as_str()),
        ("wrong port", wrong_port.as_str()),
        ("bad sslmode", bad_mode.as_str()),
    ] {
        let out = Command::new(bin)
            .current_dir(dir.path())
            .args(["status", ".", "--state", url])
            .output()
            .expect("run");
        assert_ne!(out.status.code(), Some(0), "{name}: {}", text(&out));
        outputs.push((name.into(), out));
    }
    let env_status = Command::new(bin)
        .current_dir(dir.path())
        .args(["status", "."])
        .env("WAFORM_STATE", &wrong_port)
        .output()
        .expect("run");
    outputs.push(("WAFORM_STATE".into(), env_status));
    for (name, out) in &outputs {
        assert!(
            !text(out).contains(&password),
            "{name} shows the password: {}",
            text(out)
        );
    }
    assert!(
        text(&outputs[outputs.len() - 1].1).contains(&format!(
            "postgres://{}@127.0.0.1:{closed}/{}",
            db.user(),
            db.name
        )),
        "the error names the URL redacted: {}",
        text(&outputs[outputs.len() - 1].1)
    );
    let report = std::fs::read_to_string(dir.path().join("report.csv")).expect("report");
    assert!(!report.contains(&password));
    assert_eq!(report.lines().count(), 7, "{report}");
    rt.block_on(sandbox.shutdown());
}

/// PostgreSQL unreachable at start: a clear error naming the URL without its password, exit 5, nothing sent.
#[test]
fn an_unreachable_database_stops_before_sending() {
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(3, 0), false, 2);
    let port = closed_port();
    let url =
        format!("postgres://waform:Zebra-Quokka-7731@127.0.0.1:{port}/waform?sslmode=disable");
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &url],
    ));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!("postgres://waform@127.0.0.1:{port}/waform")),
        "{said}"
    );
    assert!(said.contains("cannot connect to PostgreSQL"), "{said}");
    assert!(
        said.contains("help: check that PostgreSQL is running"),
        "{said}"
    );
    assert!(!said.contains("Zebra-Quokka-7731"), "{said}");
    assert!(sandbox.received().is_empty(), "nothing was sent");
    rt.block_on(sandbox.shutdown());
}

/// `--state` and `--state-dir` together are a usage error, and so is an unsupported sslmode (without showing the password).
#[test]
fn state_flags_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(1, 0), false, 2);
    let bin = env!("CARGO_BIN_EXE_waform");
    let both = Command::new(bin)
        .current_dir(dir.path())
        .args(["status", ".", "--state", "x", "--state-dir", "y"])
        .output()
        .expect("run");
    assert_eq!(both.status.code(), Some(64), "{}", text(&both));
    let mode = Command::new(bin)
        .current_dir(dir.path())
        .args([
            "plan",
            ".",
            "--state",
            "postgres://ana:Zebra-Quokka-7731@h/d?sslmode=allow",
        ])
        .output()
        .expect("run");
    assert_eq!(mode.status.code(), Some(64), "{}", text(&mode));
    assert!(
        text(&mode).contains("postgres://ana@h/d"),
        "{}",
        text(&mode)
    );
    assert!(
        !text(&mode).contains("Zebra-Quokka-7731"),
        "{}",
        text(&mode)
    );
    let folder = Command::new(bin)
        .current_dir(dir.path())
        .args(["status", ".", "--state", "elsewhere"])
        .output()
        .expect("run");
    assert_eq!(folder.status.code(), Some(0), "{}", text(&folder));
}

/// Migrating twice is a no-op, and four first runs at once on an empty database all succeed with one schema.
#[test]
fn migrations_are_idempotent_and_safe_to_race() {
    let Some(admin) = server("migrations_are_idempotent_and_safe_to_race") else {
        return;
    };
    let db = TestDb::new(&admin);
    let Ok(Location::Postgres(location)) = Location::parse(&db.url) else {
        panic!("a PostgreSQL location");
    };
    let latest = waform::state::postgres::MIGRATIONS
        .last()
        .map(|m| m.0)
        .expect("migrations");
    let versions: Vec<i32> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| waform::state::postgres::migrate_at(&location)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().expect("thread").expect("migrate"))
            .collect()
    });
    assert!(versions.iter().all(|v| *v == latest), "{versions:?}");
    assert_eq!(
        waform::state::postgres::migrate_at(&location).expect("again"),
        latest
    );
    let applied = query(&db.url, "SELECT count(*) FROM waform.migrations");
    assert_eq!(
        applied[0][0].as_deref(),
        Some(
            waform::state::postgres::MIGRATIONS
                .len()
                .to_string()
                .as_str()
        )
    );
}

fn slot(campaign: &str, account: &str, key: Option<&str>) -> Slot {
    Slot {
        campaign: campaign.to_owned(),
        target: Some(Target {
            provider: "aldeamo".to_owned(),
            host: "http://127.0.0.1:1".to_owned(),
            account: account.to_owned(),
        }),
        key: key.map(str::to_owned),
        default_host: false,
    }
}

fn intent<'a>(key: &'a str, body: Option<&'a str>) -> Intent<'a> {
    Intent {
        slot: 0,
        key,
        to: key,
        tracking: Some("T-1"),
        digest: u64::MAX - 7,
        body,
        attempt: 1,
    }
}

fn outcome(key: &str, status: Status) -> Outcome {
    Outcome {
        slot: 0,
        key: key.to_owned(),
        to: key.to_owned(),
        tracking: None,
        digest: u64::MAX - 7,
        status,
        message_id: Some(format!("m-{key}")),
        track_uuid: None,
        error: None,
        attempts: 1,
        warning: None,
    }
}

/// The store keeps the folder's semantics: an intent without outcome reads as uncertain, outcomes and digests are kept, bodies and records are read back, counts follow.
#[test]
fn the_store_keeps_the_folders_semantics() {
    let Some(admin) = server("the_store_keeps_the_folders_semantics") else {
        return;
    };
    let db = TestDb::new(&admin);
    let location = Location::parse(&db.url).expect("location");
    {
        let mut store = location.open(vec![slot("c", "57", None)]).expect("open");
        let req = store.next_request_id().expect("id");
        store
            .intent(
                req,
                &[
                    intent("1", Some(r#"{"to":"1","b":"x"}"#)),
                    intent("2", None),
                ],
            )
            .expect("intent");
        store.syncer().expect("syncer")().expect("sync");
        store
            .outcome(req, &[outcome("1", Status::Sent)])
            .expect("outcome");
        assert_eq!(store.counts(0).sent, 1);
        let next = store.next_request_id().expect("id");
        assert!(next > req);
    }
    let store = location.read(vec![slot("c", "57", None)]).expect("read");
    let one = store.lookup(0, "1").expect("1");
    assert_eq!(one.status(), Status::Sent);
    assert!(!one.changed(u64::MAX - 7));
    assert!(one.changed(3));
    assert_eq!(
        store.lookup(0, "2").map(|e| e.status()),
        Some(Status::Uncertain)
    );
    assert_eq!(store.lookup(0, "3"), None);
    let counts = store.counts(0);
    assert_eq!((counts.sent, counts.uncertain), (1, 1));
    let mut records = Vec::new();
    store.records(0, &mut |r| records.push(r)).expect("records");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].key, "2", "in the order of their latest record");
    assert_eq!(
        records[0].error.as_deref(),
        Some(waform::state::local::IN_FLIGHT_ERROR)
    );
    assert_eq!(records[1].message_id.as_deref(), Some("m-1"));
    assert_eq!(
        records[1].tracking_number.as_deref(),
        Some("T-1"),
        "from the intent"
    );
    let bodies = store
        .sent_bodies(0, &["1".to_owned(), "2".to_owned()])
        .expect("bodies");
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies["1"], r#"{"to":"1","b":"x"}"#);
    assert_eq!(
        location.discover(&["c", "d"]).expect("discover"),
        vec![slot("c", "57", None)]
    );
    let moved = location.read(vec![slot("c", "58", None)]).expect("read");
    let conflicts = moved.conflicts(0);
    assert_eq!(conflicts.len(), 1, "a changed account is a conflict");
    assert_eq!(conflicts[0].other, slot("c", "57", None));
    assert_eq!(conflicts[0].outcomes, 2);
}

/// Writers of one slot split its keys by claims: a key another holds is not claimed, a worker that left frees its unsent claims, and one with other sources may not join.
#[test]
fn writers_of_a_slot_claim_each_key_once() {
    let Some(admin) = server("writers_of_a_slot_claim_each_key_once") else {
        return;
    };
    let db = TestDb::new(&admin);
    let location = Location::parse(&db.url).expect("location");
    let mut first = location.open(vec![slot("c", "57", None)]).expect("open");
    first.join(0, 7).expect("join");
    let mut second = location.open(vec![slot("c", "57", None)]).expect("open");
    second.join(0, 7).expect("the same sources join");
    let mut other = location.open(vec![slot("c", "57", None)]).expect("open");
    let refused = other.join(0, 8).expect_err("other sources");
    assert_eq!(refused.cause.kind(), std::io::ErrorKind::AlreadyExists);
    let said = refused.to_string();
    assert!(said.contains("from other sources"), "{said}");
    assert!(!said.contains(&db.password()), "{said}");
    drop(other);
    assert_eq!(first.claim(0, &["1", "2"]).expect("claim"), [true, true]);
    assert_eq!(
        second.claim(0, &["2", "3"]).expect("claim"),
        [false, true],
        "a key the first holds is not the second's"
    );
    let req = first.next_request_id().expect("id");
    first.intent(req, &[intent("1", None)]).expect("intent");
    first.syncer().expect("syncer")().expect("sync");
    drop(first);
    assert_eq!(
        second.claim(0, &["1", "2"]).expect("claim"),
        [false, true],
        "the first left: its unsent claim is free, the one with a durable intent is not"
    );
    let read = location.read(vec![slot("c", "57", None)]).expect("read");
    assert_eq!(
        read.lookup(0, "1").map(|e| e.status()),
        Some(Status::Uncertain)
    );
    assert_eq!(read.lookup(0, "2"), None, "a claim alone is no record");
    assert_eq!(read.counts(0).total(), 1);
}

/// The keys of a campaign run again by three workers together.
fn worker(dir: &Path, sandbox: &str, db: &str, lease: &str) -> std::process::Child {
    waform(
        dir,
        sandbox,
        API_KEY,
        &[
            "--state",
            db,
            "--concurrency",
            "8",
            "--lease",
            lease,
            "--quiet",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn")
}

/// Every key has exactly one row with an outcome, and the sandbox accepted none twice.
fn assert_each_once(db: &TestDb, sandbox: &Sandbox, keys: usize) -> HashMapCounts {
    let counts = accepted_counts(sandbox);
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    let rows = query(
        &db.url,
        "SELECT status, count(*) FROM waform.recipients GROUP BY status ORDER BY status",
    );
    let mut by_status = HashMapCounts::new();
    for r in rows {
        by_status.insert(
            r[0].clone().unwrap_or_else(|| "none".to_owned()),
            r[1].as_deref().unwrap_or("0").parse().expect("count"),
        );
    }
    assert_eq!(by_status.values().sum::<usize>(), keys, "{by_status:?}");
    assert!(
        !by_status.contains_key("none"),
        "every key has an outcome: {by_status:?}"
    );
    by_status
}

type HashMapCounts = std::collections::HashMap<String, usize>;

/// Three workers started together on one campaign of 3,000 recipients split it: each key sent exactly once, each with an outcome.
#[test]
fn three_workers_send_each_key_once() {
    let Some(admin) = server("three_workers_send_each_key_once") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(1500, 0), false, 1);
    let workers: Vec<_> = (0..3)
        .map(|_| worker(dir.path(), &sandbox.url(), &db.url, "10s"))
        .collect();
    for child in workers {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let by_status = assert_each_once(&db, &sandbox, 3000);
    assert_eq!(by_status.get("sent"), Some(&3000), "{by_status:?}");
    assert_eq!(sandbox.accepted().len(), 3000);
    let workers: Vec<String> = query(
        &db.url,
        "SELECT count(DISTINCT request_id / 1024) FROM waform.recipients",
    )
    .into_iter()
    .filter_map(|r| r[0].clone())
    .collect();
    assert!(
        workers[0].parse::<u32>().expect("count") >= 2,
        "more than one worker sent: {workers:?}"
    );
    rt.block_on(sandbox.shutdown());
}

/// A worker SIGKILLed mid-run: once its lease expired a re-run finishes, nobody is sent twice, every key has an outcome, and the killed one's intents in flight are uncertain.
#[test]
fn a_killed_worker_is_taken_over_without_duplicates() {
    let Some(admin) = server("a_killed_worker_is_taken_over_without_duplicates") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(
        &rt,
        Faults {
            latency_ms: 20,
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(1500, 0), false, 1);
    let mut workers: Vec<_> = (0..3)
        .map(|_| worker(dir.path(), &sandbox.url(), &db.url, "1s"))
        .collect();
    wait_for_accepted(&sandbox, 300);
    workers[0].kill().expect("SIGKILL");
    let _ = workers[0].wait();
    let killed = workers.remove(0);
    drop(killed);
    for child in workers {
        let out = child.wait_with_output().expect("wait");
        assert!(
            matches!(out.status.code(), Some(0) | Some(3)),
            "{}",
            text(&out)
        );
    }
    let in_flight: usize = query(
        &db.url,
        "SELECT count(*) FROM waform.recipients WHERE in_flight",
    )[0][0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .expect("count");
    std::thread::sleep(Duration::from_millis(1500));
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--lease", "1s"],
    ));
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        text(&out)
    );
    let by_status = assert_each_once(&db, &sandbox, 3000);
    assert_eq!(
        by_status.get("uncertain").copied().unwrap_or(0),
        in_flight,
        "the uncertain ones are the intents the kill left in flight: {by_status:?}"
    );
    assert_eq!(
        by_status.get("sent").copied().unwrap_or(0) + in_flight,
        3000,
        "{by_status:?}"
    );
    rt.block_on(sandbox.shutdown());
}

/// A worker whose sources differ from those of the workers sending a campaign refuses to join (exit 1) and sends nothing.
#[test]
fn a_worker_with_edited_sources_refuses_to_join() {
    let Some(admin) = server("a_worker_with_edited_sources_refuses_to_join") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(
        &rt,
        Faults {
            latency_ms: 50,
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(200, 0), false, 1);
    // The same campaign with another first parameter: other messages.
    let edited = tempfile::tempdir().expect("tempdir");
    project(edited.path(), &numbers(200, 0), false, 1);
    let yaml = std::fs::read_to_string(edited.path().join("project.yaml")).expect("yaml");
    std::fs::write(
        edited.path().join("project.yaml"),
        yaml.replace(r#"body: ["{{ name }}","#, r#"body: ["{{ name }}!","#),
    )
    .expect("edit");
    let mut first = worker(dir.path(), &sandbox.url(), &db.url, "10s");
    wait_for_accepted(&sandbox, 1);
    let before = sandbox.accepted().len();
    let out = run(&mut waform(
        edited.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("from other sources"), "{said}");
    assert!(!said.contains(&db.password()), "{said}");
    assert!(
        !said.contains("This run:"),
        "it stopped before sending: {said}"
    );
    let _ = first.kill();
    let _ = first.wait();
    assert!(sandbox.accepted().len() >= before);
    let counts = accepted_counts(&sandbox);
    assert!(counts.values().all(|c| *c == 1), "no recipient sent twice");
    rt.block_on(sandbox.shutdown());
}

/// TLS: `require` encrypts, `verify-full` checks the certificate against sslrootcert and the host, and fails against roots that did not sign it.
#[test]
fn tls_modes_connect_as_documented() {
    let Some(admin) = server("tls_modes_connect_as_documented") else {
        return;
    };
    let Some(root) = admin
        .split_once('?')
        .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("sslrootcert=")))
        .map(str::to_owned)
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "under CI the server has TLS (sslrootcert in WAFORM_TEST_POSTGRES)"
        );
        eprintln!("SKIPPED tls_modes_connect_as_documented: the server has no sslrootcert");
        return;
    };
    let db = TestDb::new(&admin);
    let base = plain(&db.url).to_owned();
    let open = |query: &str| {
        let location = Location::parse(&format!("{base}?{query}")).expect("location");
        location.read(vec![slot("c", "57", None)]).map(|_| ())
    };
    open("sslmode=disable").expect("disable");
    open("sslmode=require").expect("require");
    open(&format!("sslmode=verify-full&sslrootcert={root}")).expect("verify-full with its root");
    let localhost = base.replacen("127.0.0.1", "localhost", 1);
    Location::parse(&format!(
        "{localhost}?sslmode=verify-full&sslrootcert={root}"
    ))
    .expect("location")
    .read(vec![])
    .expect("verify-full by name");
    let err = open("sslmode=verify-full").expect_err("not signed by the web's roots");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

/// The password may come from PGPASSWORD or a password file instead of the URL.
#[test]
fn the_password_comes_from_pgpassword_or_pgpass() {
    let Some(admin) = server("the_password_comes_from_pgpassword_or_pgpass") else {
        return;
    };
    let db = TestDb::new(&admin);
    let password = db.password();
    let no_password = db.url.replacen(&format!(":{password}@"), "@", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(1, 0), false, 2);
    let bin = env!("CARGO_BIN_EXE_waform");
    let status = |envs: &[(&str, &str)]| {
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir.path())
            .args(["status", ".", "--state", &no_password])
            .env_remove("PGPASSWORD")
            .env("PGPASSFILE", dir.path().join("none"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    };
    let refused = status(&[]);
    assert_eq!(refused.status.code(), Some(5), "{}", text(&refused));
    let by_env = status(&[("PGPASSWORD", &password)]);
    assert_eq!(by_env.status.code(), Some(0), "{}", text(&by_env));
    let file = dir.path().join("pgpass");
    std::fs::write(
        &file,
        format!(
            "other:*:*:*:wrong\n127.0.0.1:*:{}:waform:{password}\n",
            db.name
        ),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let by_file = status(&[("PGPASSFILE", file.to_str().expect("path"))]);
    assert_eq!(by_file.status.code(), Some(0), "{}", text(&by_file));
}

/// The connection to PostgreSQL lost mid-run stops the run with exit 5, and the next run sends the rest with no recipient twice.
#[test]
fn a_lost_database_connection_stops_the_run() {
    let Some(admin) = server("a_lost_database_connection_stops_the_run") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(
        &rt,
        Faults {
            latency_ms: 40,
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &numbers(100, 0), false, 3);
    let child = waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--concurrency", "4"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn");
    wait_for_accepted(&sandbox, 20);
    admin_sql(
        &admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'waform'",
            db.name
        ),
    );
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("could not be written"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains(&db.shown()), "{}", text(&out));
    assert!(sandbox.accepted().len() < 200, "stopped before the end");
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url],
    ));
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        text(&out)
    );
    let counts = accepted_counts(&sandbox);
    assert!(counts.values().all(|c| *c == 1), "no recipient sent twice");
    let rows = query(&db.url, "SELECT count(*) FROM waform.recipients");
    assert_eq!(
        rows[0][0].as_deref(),
        Some("200"),
        "every recipient has a row"
    );
    rt.block_on(sandbox.shutdown());
}

/// The peak resident memory of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Opening a slot of a million recipients holds its index in well under 100 MiB (16 bytes a key, rows streamed).
#[cfg(target_os = "linux")]
#[test]
fn a_million_recipients_open_in_little_memory() {
    let Some(admin) = server("a_million_recipients_open_in_little_memory") else {
        return;
    };
    let db = TestDb::new(&admin);
    let location = Location::parse(&db.url).expect("location");
    drop(location.open(vec![slot("c", "57", None)]).expect("open"));
    admin_sql(
        &db.url,
        r#"INSERT INTO waform.recipients
               (slot_id, key, seq, request_id, "to", status, in_flight, attempts, digest, body)
           SELECT 1, '57300' || g, g, g, '57300' || g, 'sent', false, 1, g::bigint * 7919,
                  '{"to":"57300' || g || '","params":["Ana","ORD-1"]}'
           FROM generate_series(1, 1000000) g"#,
    );
    let before = vm_hwm_kib();
    let store = location.open(vec![slot("c", "57", None)]).expect("open");
    let grown = vm_hwm_kib().saturating_sub(before);
    assert_eq!(store.counts(0).sent, 1_000_000);
    assert!(store.lookup(0, "57300999999").is_some());
    assert!(grown < 64 * 1024, "opening took {grown} KiB more");
}

/// `waform state import` copies a folder's slots into PostgreSQL with their outcomes and bodies; again is a no-op; a key whose record moved on is refused with nothing written; apply then goes on from the database.
#[test]
fn a_folder_imports_into_postgres_once() {
    let Some(admin) = server("a_folder_imports_into_postgres_once") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let phones = numbers(6, 0);
    let sandbox = start(
        &rt,
        Faults {
            refuse: vec![phones[0].clone()],
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), &phones, false, 4);
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state-dir", "st", "--report", "folder.ndjson"],
    ));
    assert_eq!(out.status.code(), Some(3), "one refused: {}", text(&out));
    let bin = env!("CARGO_BIN_EXE_waform");
    let import = || {
        Command::new(bin)
            .current_dir(dir.path())
            .args(["state", "import", "--from", "st", "--to", &db.url])
            .output()
            .expect("run")
    };
    let first = import();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        text(&first).contains("(12 new, 0 already there)"),
        "{}",
        text(&first)
    );
    assert!(!text(&first).contains(&db.password()));
    let again = import();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains("(0 new, 12 already there)"),
        "{}",
        text(&again)
    );
    let bodies = query(
        &db.url,
        "SELECT count(*) FROM waform.recipients WHERE body IS NOT NULL AND digest IS NOT NULL",
    );
    assert_eq!(
        bodies[0][0].as_deref(),
        Some("12"),
        "digests and bodies kept"
    );
    let out = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state", &db.url, "--report", "db.ndjson"],
    ));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        sandbox.accepted().len(),
        11,
        "nothing sent again from the database"
    );
    let key = |r: &serde_json::Value| {
        (
            r["campaign"].to_string(),
            r["key"].to_string(),
            r["status"].to_string(),
            r["message_id"].to_string(),
            r["tracking_number"].to_string(),
            r["attempts"].to_string(),
        )
    };
    let mut from_folder: Vec<_> = report_rows(&dir.path().join("folder.ndjson"))
        .iter()
        .map(key)
        .collect();
    let mut from_db: Vec<_> = report_rows(&dir.path().join("db.ndjson"))
        .iter()
        .map(key)
        .collect();
    from_folder.sort();
    from_db.sort();
    assert_eq!(from_folder, from_db, "the same records");
    let retried = run(&mut waform(
        dir.path(),
        &sandbox.url(),
        API_KEY,
        &["--state-dir", "st", "--retry-failed"],
    ));
    assert_eq!(retried.status.code(), Some(3), "{}", text(&retried));
    let refused = import();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("1 key already has another record"),
        "{}",
        text(&refused)
    );
    let attempts = query(
        &db.url,
        &format!(
            "SELECT attempts FROM waform.recipients WHERE key = '{}' AND status = 'failed'",
            phones[0]
        ),
    );
    assert_eq!(
        attempts,
        vec![vec![Some("1".to_owned())]],
        "nothing was written"
    );
    rt.block_on(sandbox.shutdown());
}

/// A sender's `rate:` holds for the sender as a whole: three workers sharing the state send no more than the rate (within arrival jitter) in any one-second window, per provider.
#[test]
fn three_workers_hold_one_rate() {
    let Some(admin) = server("three_workers_hold_one_rate") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(&rt, Faults::default());
    let dir = tempfile::tempdir().expect("tempdir");
    // More recipients than one claim (256), so that every worker gets some to send.
    project(dir.path(), &numbers(600, 0), false, 1);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            waform(
                dir.path(),
                &sandbox.url(),
                API_KEY,
                &["--state", &db.url, "--rate", "60/s", "--quiet"],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
        })
        .collect();
    for child in workers {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_each_once(&db, &sandbox, 1200);
    let received = sandbox.received();
    for provider in ["/v1/", "/api/"] {
        let times: Vec<f64> = received
            .iter()
            .filter(|r| r.path.starts_with(provider))
            .map(|r| r.at_ms)
            .collect();
        assert_eq!(times.len(), 600, "{provider}");
        let busiest = times
            .iter()
            .map(|t| {
                times
                    .iter()
                    .filter(|u| **u >= *t && **u < t + 1000.0)
                    .count()
            })
            .max()
            .unwrap_or(0);
        eprintln!("busiest second to {provider}: {busiest} requests");
        // Sends are spaced 1.05 s / 60 apart when they leave; on 2 busy cores a few may still
        // arrive bunched. Three workers each pacing alone arrive at about 170 a second.
        assert!(
            busiest <= 66,
            "{busiest} requests to {provider} in one second"
        );
    }
    rt.block_on(sandbox.shutdown());
}

/// Workers of two different campaigns sharing one database never wait for each other: a short campaign finishes while a long one is still sending.
#[test]
fn two_campaigns_never_block_each_other() {
    let Some(admin) = server("two_campaigns_never_block_each_other") else {
        return;
    };
    let db = TestDb::new(&admin);
    let rt = runtime();
    let sandbox = start(
        &rt,
        Faults {
            latency_ms: 100,
            ..Faults::default()
        },
    );
    let long = tempfile::tempdir().expect("tempdir");
    project(long.path(), &numbers(40, 0), false, 1);
    let short = tempfile::tempdir().expect("tempdir");
    project(short.path(), &numbers(3, 100), false, 1);
    let yaml = short.path().join("project.yaml");
    let renamed = std::fs::read_to_string(&yaml)
        .expect("yaml")
        .replace("name: ready-", "name: other-");
    std::fs::write(&yaml, renamed).expect("yaml");
    let args = ["--state", db.url.as_str(), "--concurrency", "1", "--quiet"];
    let mut slow = waform(long.path(), &sandbox.url(), API_KEY, &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_accepted(&sandbox, 1);
    let quick = run(&mut waform(short.path(), &sandbox.url(), API_KEY, &args));
    assert_eq!(quick.status.code(), Some(0), "{}", text(&quick));
    assert!(
        slow.try_wait().expect("try_wait").is_none(),
        "the short campaign finished while the long one was still sending"
    );
    assert_eq!(slow.wait().expect("wait").code(), Some(0));
    assert_eq!(sandbox.accepted().len(), 2 * 40 + 2 * 3);
    rt.block_on(sandbox.shutdown());
}

/// A claim skips a row another transaction has locked instead of waiting for it (`FOR UPDATE SKIP LOCKED`).
#[test]
fn a_claim_skips_locked_rows() {
    let Some(admin) = server("a_claim_skips_locked_rows") else {
        return;
    };
    let db = TestDb::new(&admin);
    let location = Location::parse(&db.url).expect("location");
    let mut store = location.open(vec![slot("c", "57", None)]).expect("open");
    store.join(0, 7).expect("join");
    assert_eq!(store.claim(0, &["2"]).expect("claim"), [true]);
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        try_sql(
            &url,
            "BEGIN; SELECT 1 FROM waform.recipients WHERE key = '2' FOR UPDATE; \
             SELECT pg_sleep(3); COMMIT;",
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    let started = std::time::Instant::now();
    let claimed = store.claim(0, &["2", "4"]).expect("claim");
    let waited = started.elapsed();
    assert_eq!(
        claimed,
        [false, true],
        "the locked row is skipped, the new key taken"
    );
    assert!(
        waited < std::time::Duration::from_secs(2),
        "the claim did not wait for the lock: {waited:?}"
    );
    holder.join().expect("holder").expect("lock held");
    assert_eq!(store.claim(0, &["2"]).expect("claim"), [true], "free again");
}

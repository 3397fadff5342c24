//! Helpers shared by the tests that run `waform apply` against a real sandbox on loopback.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

use waform::sandbox::{Faults, Sandbox, SandboxConfig};

pub const API_KEY: &str = "test-key-3f9a";
pub const USER_ID: &str = "test-user-77";
pub const TOKEN: &str = "test-token-c0ffee";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn numbers(n: usize, offset: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("57300{:07}", 1_000_000 + offset + i))
        .collect()
}

/// Write a project with one Aldeamo and one Mayten campaign over the same CSV.
pub fn project(dir: &Path, phones: &[String], production: bool, mayten_batch: usize) {
    let env = if production { "production" } else { "test" };
    std::fs::write(
        dir.join("project.yaml"),
        format!(
            r#"kind: Sender
name: aldeamo-co
provider: aldeamo
environment: {env}
from: "573001112233"
api_key: {{ env: WAFORM_TEST_ALDEAMO_KEY }}
user_id: {{ env: WAFORM_TEST_ALDEAMO_USER }}
---
kind: Sender
name: mayten-co
provider: mayten
source_id: 5
batch_size: {mayten_batch}
token: {{ env: WAFORM_TEST_MAYTEN_TOKEN }}
---
kind: Template
name: reminder
language: es
body: "Hola {{{{1}}}}, tu pedido {{{{2}}}} está listo."
providers:
  aldeamo: {{ namespace: f29c496f_9a16_408b_bff7_379e57d1c8d5 }}
  mayten: {{ hsm_id: 10 }}
---
kind: Campaign
name: ready-aldeamo
sender: aldeamo-co
template: reminder
recipients: {{ csv: customers.csv }}
body: ["{{{{ name }}}}", "{{{{ order }}}}"]
---
kind: Campaign
name: ready-mayten
sender: mayten-co
template: reminder
recipients: {{ csv: customers.csv }}
tracking_number: "{{{{ order }}}}"
body: ["{{{{ name }}}}", "{{{{ order }}}}"]
"#
        ),
    )
    .expect("write project");
    let mut csv = String::from("phone,name,order\n");
    for (i, p) in phones.iter().enumerate() {
        csv.push_str(&format!("{p},Ana {i},ORD-{i}\n"));
    }
    std::fs::write(dir.join("customers.csv"), csv).expect("write csv");
}

pub fn waform(dir: &Path, sandbox: &str, key: &str, extra: &[&str]) -> Command {
    waform_for(dir, &["aldeamo-co", "mayten-co"], sandbox, key, extra)
}

pub fn waform_for(
    dir: &Path,
    senders: &[&str],
    sandbox: &str,
    key: &str,
    extra: &[&str],
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waform"));
    cmd.current_dir(dir)
        .env("WAFORM_TEST_ALDEAMO_KEY", key)
        .env("WAFORM_TEST_ALDEAMO_USER", USER_ID)
        .env("WAFORM_TEST_MAYTEN_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .args(["apply", "."]);
    for sender in senders {
        cmd.arg("--endpoint").arg(format!("{sender}={sandbox}"));
    }
    cmd.args(extra);
    cmd
}

/// `waform status . --format json` in `dir`: its rows, after checking the document's shape.
pub fn status_json(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir)
        .args(["status", ".", "--format", "json"])
        .args(extra)
        .output()
        .expect("status");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(doc["version"], 1);
    doc["campaigns"].as_array().cloned().unwrap_or_default()
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run waform")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn accepted_counts(sandbox: &Sandbox) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for a in sandbox.accepted() {
        *counts
            .entry((a.provider.to_owned(), a.to.clone()))
            .or_insert(0) += 1;
    }
    counts
}

pub fn config(faults: Faults) -> SandboxConfig {
    SandboxConfig {
        aldeamo_api_key: Some(API_KEY.to_owned()),
        aldeamo_user_id: Some(USER_ID.to_owned()),
        mayten_token: Some(TOKEN.to_owned()),
        faults,
        log: None,
    }
}

/// A sandbox on a free loopback port with these faults.
pub fn start(rt: &tokio::runtime::Runtime, faults: Faults) -> Sandbox {
    rt.block_on(Sandbox::start(0, config(faults)))
        .expect("sandbox")
}

/// Every file below `dir`.
pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Wait until the sandbox has accepted at least `n` messages (a minute at most).
pub fn wait_for_accepted(sandbox: &Sandbox, n: usize) {
    let started = std::time::Instant::now();
    while sandbox.accepted().len() < n && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

//! The requests `waform plan --emit -` writes: the providers' documented bodies, the exact
//! NDJSON of every example project, determinism, `--endpoint`, and Mayten batching.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const ALDEAMO_TEXT_URL: &str = "https://apitellitwatest.aldeamo.com/v1/apikey/text/bsp/send";
const ALDEAMO_TEMPLATE_URL: &str =
    "https://apitellitwatest.aldeamo.com/v1/apikey/template/bsp/send";
const MAYTEN_URL: &str = "https://mayten.cloud/api/Integration/MessageWpp";

/// The provider examples with the URL their requests go to.
const PROVIDER_EXAMPLES: [(&str, &str); 4] = [
    ("mayten-bulk", MAYTEN_URL),
    ("aldeamo-text", ALDEAMO_TEXT_URL),
    ("aldeamo-quick-reply", ALDEAMO_TEMPLATE_URL),
    ("aldeamo-call-to-action", ALDEAMO_TEMPLATE_URL),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `waform` run from the crate root.
fn waform() -> Command {
    let mut cmd = Command::cargo_bin("waform").expect("the waform binary");
    cmd.current_dir(root());
    cmd
}

/// Runs `waform plan ARGS --emit -`, asserts exit 0, returns stdout (the NDJSON).
fn emit(args: &[&str]) -> String {
    let output = waform()
        .arg("plan")
        .args(args)
        .args(["--emit", "-"])
        .output()
        .expect("run waform");
    assert_eq!(
        output.status.code(),
        Some(0),
        "waform plan {args:?} --emit - failed; stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// Runs `waform plan . --emit - --quiet ARGS` in `dir` with `env`, asserts exit 0, returns
/// stdout (the NDJSON).
fn emit_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::cargo_bin("waform")
        .expect("the waform binary")
        .current_dir(dir)
        .envs(env.iter().copied())
        .args(["plan", ".", "--emit", "-", "--quiet"])
        .args(args)
        .output()
        .expect("run waform");
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// Parses NDJSON into the request objects, checking each has exactly the four keys.
fn requests(ndjson: &str) -> Vec<Value> {
    ndjson
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let object = value.as_object().expect("each line is a JSON object");
            let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["body", "method", "sender", "url"], "keys of {line}");
            value
        })
        .collect()
}

/// The number of destinations in a Mayten request body.
fn mayten_destinations(body: &Value) -> usize {
    body["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["destinations"].as_array().expect("destinations").len())
        .sum()
}

/// Each provider example emits one POST whose body is the provider's documented request body.
#[test]
fn provider_examples_reproduce_documented_bodies() {
    for (name, url) in PROVIDER_EXAMPLES {
        let ndjson = emit(&[&format!("campaigns/provider-examples/{name}")]);
        let requests = requests(&ndjson);
        assert_eq!(requests.len(), 1, "{name}: one request expected:\n{ndjson}");
        let fixture = root().join(format!("tests/fixtures/provider-docs/{name}.json"));
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&fixture).expect("read fixture"))
                .expect("fixture is JSON");
        for request in &requests {
            assert_eq!(request["method"], "POST", "{name}: method");
            assert_eq!(request["url"], url, "{name}: url");
            assert_eq!(
                request["body"],
                expected,
                "{name}: body differs from {}",
                fixture.display()
            );
        }
    }
}

/// The full NDJSON of every provider example and of the demo is pinned by a snapshot.
#[test]
fn ndjson_snapshots() {
    for (name, _) in PROVIDER_EXAMPLES {
        let ndjson = emit(&[&format!("campaigns/provider-examples/{name}")]);
        insta::assert_snapshot!(format!("ndjson_{name}"), ndjson);
    }
    insta::assert_snapshot!("ndjson_demo", emit(&["campaigns/demo"]));
}

/// Planning the demo twice writes byte-identical NDJSON and summaries.
#[test]
fn plan_is_deterministic() {
    let run = || {
        let output = waform()
            .args(["plan", "campaigns/demo", "--emit", "-"])
            .output()
            .expect("run waform");
        assert!(output.status.success());
        (output.stdout, output.stderr)
    };
    let (first_out, first_err) = run();
    let (second_out, second_err) = run();
    assert!(!first_out.is_empty());
    assert!(first_out == second_out, "NDJSON differs between two runs");
    assert!(first_err == second_err, "summary differs between two runs");
}

/// `--endpoint SENDER=URL` moves that sender's requests to URL and leaves the others alone.
#[test]
fn endpoint_overrides_one_senders_base_url() {
    let default = requests(&emit(&["campaigns/demo"]));
    for base in [
        "http://127.0.0.1:8080/sandbox",
        "http://127.0.0.1:8080/sandbox/",
    ] {
        let moved = requests(&emit(&[
            "campaigns/demo",
            "--endpoint",
            &format!("aldeamo-co={base}"),
        ]));
        assert_eq!(moved.len(), default.len());
        let mut aldeamo = 0;
        for (m, d) in moved.iter().zip(&default) {
            assert_eq!(m["sender"], d["sender"]);
            assert_eq!(m["body"], d["body"], "--endpoint must not change bodies");
            if m["sender"] == "aldeamo-co" {
                aldeamo += 1;
                assert_eq!(
                    m["url"],
                    "http://127.0.0.1:8080/sandbox/v1/apikey/template/bsp/send"
                );
            } else {
                assert_eq!(m["url"], MAYTEN_URL);
            }
        }
        assert_eq!(aldeamo, 39);
    }

    let moved = requests(&emit(&[
        "campaigns/demo",
        "--endpoint",
        "mayten-ar=https://mock.test",
    ]));
    let mayten: Vec<_> = moved
        .iter()
        .filter(|r| r["sender"] == "mayten-ar")
        .collect();
    assert!(!mayten.is_empty());
    for r in mayten {
        assert_eq!(r["url"], "https://mock.test/api/Integration/MessageWpp");
    }
    for r in moved.iter().filter(|r| r["sender"] == "aldeamo-co") {
        assert_eq!(r["url"], ALDEAMO_TEMPLATE_URL);
    }
}

/// Mayten senders sharing a token are packed only while they share a base URL too.
#[test]
fn endpoint_on_one_packed_mayten_sender_splits_the_request() {
    let dir = "campaigns/provider-examples/mayten-bulk";
    let split = requests(&emit(&[
        dir,
        "--endpoint",
        "mayten-doc-source-6=http://127.0.0.1:9/",
    ]));
    let got: Vec<(&str, &str, usize)> = split
        .iter()
        .map(|r| {
            (
                r["sender"].as_str().unwrap(),
                r["url"].as_str().unwrap(),
                mayten_destinations(&r["body"]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("mayten-doc-source-5", MAYTEN_URL, 2),
            (
                "mayten-doc-source-6",
                "http://127.0.0.1:9/api/Integration/MessageWpp",
                2
            ),
        ]
    );

    let packed = requests(&emit(&[
        dir,
        "--endpoint",
        "mayten-doc-source-5=http://127.0.0.1:9",
        "--endpoint",
        "mayten-doc-source-6=http://127.0.0.1:9",
    ]));
    assert_eq!(packed.len(), 1, "same token and same URL: one request");
    assert_eq!(
        packed[0]["url"],
        "http://127.0.0.1:9/api/Integration/MessageWpp"
    );
    assert_eq!(mayten_destinations(&packed[0]["body"]), 4);
}

/// A 2,500-row CSV gives 2,500 Aldeamo requests and 3 Mayten requests of 1000, 1000 and 500.
#[test]
fn large_csv_is_batched_per_sender() {
    const ROWS: usize = 2_500;
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = root().join("campaigns/demo");
    for file in ["senders.yaml", "templates.yaml", "campaigns.yaml"] {
        let text = std::fs::read_to_string(demo.join(file)).expect("read demo file");
        let text: String = text
            .lines()
            .map(|line| {
                if line.starts_with("batch_size:") {
                    "batch_size: 1000\n".to_owned()
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(dir.path().join(file), text).expect("write yaml");
    }
    let senders = std::fs::read_to_string(dir.path().join("senders.yaml")).unwrap();
    assert!(senders.contains("batch_size: 1000"), "{senders}");

    let mut csv =
        String::from("phone,first_name,last_name,city,order_id,amount,currency,due_date,lang\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "5730012{i:05},Ana,Pérez,Bogotá,CO-{i:05},1000.50,COP,2027-01-15,es\n"
        ));
    }
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/customers.csv"), csv).unwrap();

    let requests = requests(&emit_in(dir.path(), &[], &[]));

    let aldeamo: Vec<_> = requests
        .iter()
        .filter(|r| r["sender"] == "aldeamo-co")
        .collect();
    assert_eq!(aldeamo.len(), ROWS);
    let mut to: Vec<&str> = aldeamo
        .iter()
        .map(|r| r["body"]["to"].as_str().unwrap())
        .collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), ROWS, "every row is sent once");

    let mayten: Vec<usize> = requests
        .iter()
        .filter(|r| r["sender"] == "mayten-ar")
        .map(|r| {
            assert_eq!(r["url"], MAYTEN_URL);
            mayten_destinations(&r["body"])
        })
        .collect();
    assert_eq!(mayten, [1000, 1000, 500]);
    assert_eq!(requests.len(), ROWS + 3);
}

/// Campaigns that read the same CSV are compiled in one pass, their requests still coming out
/// byte for byte as when they are compiled one after the other (which `--out` asks for):
/// Aldeamo requests in campaign order, Mayten batches filled and flushed at the same places,
/// also when a Mayten campaign shares its token with another and so cannot be interleaved.
#[test]
fn campaigns_sharing_a_csv_emit_as_one_after_the_other() {
    let senders = r#"
kind: Sender
name: al
provider: aldeamo
environment: test
from: "573001112233"
api_key: { env: T_AL_KEY }
user_id: { env: T_AL_USER }
---
kind: Sender
name: may
provider: mayten
source_id: 5
token: { env: T_MAY }
batch_size: 3
---
kind: Sender
name: may-other
provider: mayten
source_id: 6
token: { env: T_MAY_OTHER }
batch_size: 3
---
kind: Template
name: hello
language: es
body: "Hola {{1}}"
params: [text]
providers:
  aldeamo: { namespace: ns_1 }
  mayten: { hsm_id: 10 }
"#;
    let campaign = |name: &str, sender: &str, filter: &str| {
        format!(
            "---\nkind: Campaign\nname: {name}\nsender: {sender}\ntemplate: hello\n\
             recipients: {{ csv: data.csv }}\nto: \"{{{{ phone }}}}\"\n{filter}\
             body: [\"{{{{ name }}}} {name}\"]\n"
        )
    };
    let mut csv = String::from("phone,name\n");
    for i in 0..11 {
        csv.push_str(&format!("5730012{:05},N{i}\n", i % 10));
    }
    let projects = [
        vec![
            campaign("a", "al", ""),
            campaign("m", "may", ""),
            campaign("a2", "al", "where: \"name != 'N3'\"\n"),
            campaign("m2", "may-other", ""),
        ],
        vec![
            campaign("m", "may", ""),
            campaign("a", "al", ""),
            campaign("m2", "may", "where: \"name != 'N4'\"\n"),
            campaign("a2", "al", ""),
        ],
    ];
    for campaigns in projects {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = format!("{senders}{}", campaigns.concat());
        std::fs::write(dir.path().join("project.yaml"), yaml).unwrap();
        std::fs::write(dir.path().join("data.csv"), &csv).unwrap();
        let env = [
            ("T_AL_KEY", "k"),
            ("T_AL_USER", "u"),
            ("T_MAY", "t"),
            ("T_MAY_OTHER", "o"),
        ];
        let together = emit_in(dir.path(), &env, &[]);
        let one_by_one = emit_in(dir.path(), &env, &["--out", "plan.json"]);
        assert_eq!(together, one_by_one);
        let senders: Vec<String> = requests(&together)
            .iter()
            .map(|r| r["sender"].as_str().unwrap().to_owned())
            .collect();
        assert!(senders.len() > 20, "{senders:?}");
    }
}

/// With `key:`, duplicates are by key, not by number: one phone on two rows with two keys
/// gets two messages, the same key again is a duplicate warning that names the key; the
/// campaign without `key:` over the same rows sends that phone once.
#[test]
fn key_makes_recipients_unique_instead_of_the_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = r#"
kind: Sender
name: al
provider: aldeamo
from: "573001112233"
api_key: { env: T_AL_KEY }
user_id: { env: T_AL_USER }
---
kind: Template
name: hello
language: es
body: "Hola {{1}}"
providers:
  aldeamo: { namespace: ns_1 }
---
kind: Campaign
name: visits
sender: al
template: hello
recipients: { csv: data.csv }
key: "{{ phone }}-{{ appointment }}"
body: ["{{ appointment }}"]
---
kind: Campaign
name: by-number
sender: al
template: hello
recipients: { csv: data.csv }
body: ["{{ appointment }}"]
"#;
    std::fs::write(dir.path().join("project.yaml"), yaml).unwrap();
    std::fs::write(
        dir.path().join("data.csv"),
        "phone,appointment\n573001234567,A1\n573001234567,A2\n573001234567,A1\n",
    )
    .unwrap();
    let output = Command::cargo_bin("waform")
        .expect("the waform binary")
        .current_dir(dir.path())
        .envs([("T_AL_KEY", "k"), ("T_AL_USER", "u")])
        .args(["--format", "json", "plan", ".", "--emit", "-"])
        .output()
        .expect("run waform");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let texts: Vec<String> = requests(&String::from_utf8_lossy(&output.stdout))
        .iter()
        .map(|r| {
            let body = &r["body"];
            assert_eq!(body["to"], "573001234567");
            body["template"]["components"][0]["parameters"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        texts,
        ["A1", "A2", "A1"],
        "two for `visits`, one for `by-number`"
    );
    let report = stderr.lines().next().unwrap_or_default();
    let report: Value = serde_json::from_str(report).expect("the JSON report on stderr");
    let duplicates: Vec<(String, String, u64)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "duplicate-recipient")
        .map(|d| {
            let text = |field: &str| d[field].as_str().unwrap_or_default().to_owned();
            (
                text("message"),
                text("file"),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        duplicates,
        [
            (
                "key `573001234567-A1` is already a recipient of campaign `visits`; it is sent once"
                    .to_owned(),
                "project.yaml".to_owned(),
                21
            ),
            (
                "`573001234567` is already a recipient of campaign `by-number`; it is sent once"
                    .to_owned(),
                "data.csv".to_owned(),
                3
            ),
            (
                "`573001234567` is already a recipient of campaign `by-number`; it is sent once"
                    .to_owned(),
                "data.csv".to_owned(),
                4
            ),
        ]
    );
}

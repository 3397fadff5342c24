//! The command line as a user and CI see it: exit codes, `schema`, diagnostic formats,
//! `--emit FILE` atomicity, secrets never printed, and the plan summary.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const FORMATS: [&str; 4] = ["human", "json", "github", "sarif"];

/// A Sender with a field waform does not know (`colour`, line 7, column 1).
const UNKNOWN_FIELD: &str = "\
kind: Sender
name: aldeamo-co
provider: aldeamo
from: \"573001112233\"
api_key: { env: ALDEAMO_API_KEY }
user_id: { env: ALDEAMO_USER_ID }
colour: blue
";

/// A Sender whose `api_key` is written literally (line 5).
const LITERAL_SECRET: &str = "\
kind: Sender
name: aldeamo-co
provider: aldeamo
from: \"573001112233\"
api_key: \"abc123secret\"
user_id: { env: ALDEAMO_USER_ID }
";

/// A text campaign whose `where` filters out every recipient.
const ALL_FILTERED: &str = "\
kind: Sender
name: aldeamo-co
provider: aldeamo
from: \"573001112233\"
api_key: { env: ALDEAMO_API_KEY }
user_id: { env: ALDEAMO_USER_ID }
---
kind: Campaign
name: nobody
sender: aldeamo-co
text: \"Hola {{ name }}\"
recipients:
  inline:
    - { phone: \"573101234567\", name: Ana, amount: \"0\" }
    - { phone: \"573101234568\", name: Bo, amount: \"0.00\" }
where: \"amount | float > 0\"
";

/// A text campaign that loads but fails to render (undefined variable).
const RENDER_ERROR: &str = "\
kind: Sender
name: aldeamo-co
provider: aldeamo
from: \"573001112233\"
api_key: { env: ALDEAMO_API_KEY }
user_id: { env: ALDEAMO_USER_ID }
---
kind: Campaign
name: broken
sender: aldeamo-co
text: \"Hola {{ no_such_field }}\"
recipients:
  inline:
    - { phone: \"573101234567\" }
";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `waform` run from the crate root.
fn waform() -> Command {
    let mut cmd = Command::cargo_bin("waform").expect("the waform binary");
    cmd.current_dir(root());
    cmd
}

/// `waform` run from `dir`, so that paths on the command line are relative to it.
fn waform_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("waform").expect("the waform binary");
    cmd.current_dir(dir);
    cmd
}

/// A temporary folder holding `proj/project.yaml` with `yaml`.
fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("proj")).unwrap();
    std::fs::write(dir.path().join("proj/project.yaml"), yaml).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run waform")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts the exit code, showing both streams on failure.
fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `validate` exits 0 on the demo and 1 on a project with an unknown field.
#[test]
fn exit_codes_of_validate() {
    assert_code(&run(waform().args(["validate", "campaigns/demo"])), 0);
    let dir = project(UNKNOWN_FIELD);
    assert_code(&run(waform_in(dir.path()).args(["validate", "proj"])), 1);
}

/// Wrong command lines exit 64; `--help` and `--version` exit 0 and print to stdout.
#[test]
fn exit_codes_of_usage() {
    for args in [
        &["validate", "--no-such-flag", "campaigns/demo"][..],
        &["--no-such-flag"],
        &["validate", "--format", "xml", "campaigns/demo"],
        &["plan", "campaigns/demo", "--endpoint", "aldeamo-co"],
        &[
            "plan",
            "campaigns/demo",
            "--endpoint",
            "no-such-sender=http://x.test",
        ],
        &["no-such-command"],
    ] {
        let output = run(waform().args(args));
        assert_code(&output, 64);
        assert!(!stderr(&output).is_empty(), "{args:?}: says why on stderr");
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let output = run(waform().args(args));
        assert_code(&output, 0);
        assert!(!stdout(&output).is_empty(), "{args:?}: prints to stdout");
    }
    assert!(stdout(&run(waform().arg("--help"))).contains("Usage: waform"));
}

/// `plan --detailed-exitcode` exits 2 with messages to send, 0 with none, 1 on errors.
#[test]
fn exit_codes_of_plan_detailed_exitcode() {
    assert_code(&run(waform().args(["plan", "campaigns/demo"])), 0);
    assert_code(
        &run(waform().args(["plan", "--detailed-exitcode", "campaigns/demo"])),
        2,
    );
    let filtered = project(ALL_FILTERED);
    let output = run(waform_in(filtered.path()).args(["plan", "--detailed-exitcode", "proj"]));
    assert_code(&output, 0);
    assert!(
        stdout(&output).contains("0 messages"),
        "{}",
        stdout(&output)
    );
    let broken = project(UNKNOWN_FIELD);
    assert_code(
        &run(waform_in(broken.path()).args(["plan", "--detailed-exitcode", "proj"])),
        1,
    );
}

/// `waform schema` prints exactly schemas/waform.schema.json.
#[test]
fn schema_prints_the_schema_file() {
    let output = run(waform().arg("schema"));
    assert_code(&output, 0);
    let file = std::fs::read(root().join("schemas/waform.schema.json")).unwrap();
    assert!(output.stdout == file, "stdout differs from the schema file");
    assert!(output.stderr.is_empty());
}

/// `--format json` writes one JSON document to stderr: version 1, 1-based positions, relative paths.
#[test]
fn format_json_on_a_broken_project() {
    let dir = project(UNKNOWN_FIELD);
    for command in ["validate", "plan"] {
        let output = run(waform_in(dir.path()).args([command, "--format", "json", "proj"]));
        assert_code(&output, 1);
        assert!(stdout(&output).is_empty(), "{command}: nothing on stdout");
        let report: Value = serde_json::from_str(&stderr(&output))
            .unwrap_or_else(|e| panic!("{command}: stderr is not one JSON document ({e})"));
        assert_eq!(report["version"], 1);
        let diagnostics = report["diagnostics"].as_array().expect("diagnostics");
        assert!(!diagnostics.is_empty());
        let d = diagnostics
            .iter()
            .find(|d| d["code"] == "unknown-field")
            .expect("an unknown-field diagnostic");
        assert_eq!(d["severity"], "error");
        assert_eq!(d["file"], "proj/project.yaml");
        assert_eq!(d["line"], 7);
        assert_eq!(d["column"], 1);
        for d in diagnostics {
            assert!(d["line"].as_u64().unwrap() >= 1);
            assert!(d["column"].as_u64().unwrap() >= 1);
            assert!(d["message"].is_string());
        }
        assert!(report["summary"]["errors"].as_u64().unwrap() >= 1);
    }
}

/// `--format github` writes `::error file=…,line=…,col=…` workflow commands.
#[test]
fn format_github_on_a_broken_project() {
    let dir = project(UNKNOWN_FIELD);
    let output = run(waform_in(dir.path()).args(["validate", "--format", "github", "proj"]));
    assert_code(&output, 1);
    let text = stderr(&output);
    let line = text
        .lines()
        .find(|l| l.starts_with("::error file="))
        .unwrap_or_else(|| panic!("no ::error line in:\n{text}"));
    assert!(
        line.starts_with("::error file=proj/project.yaml,line=7,col=1"),
        "{line}"
    );
    assert!(line.contains("unknown-field"), "{line}");
}

/// `--format sarif` writes a SARIF 2.1.0 log with the required keys and one result per error.
#[test]
fn format_sarif_on_a_broken_project() {
    let dir = project(UNKNOWN_FIELD);
    let output = run(waform_in(dir.path()).args(["validate", "--format", "sarif", "proj"]));
    assert_code(&output, 1);
    let log: Value = serde_json::from_str(&stderr(&output)).expect("SARIF is JSON");
    assert!(log["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "waform");
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert!(r["ruleId"].is_string(), "{r}");
        assert!(r["message"]["text"].is_string(), "{r}");
        let location = &r["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].is_string(), "{r}");
        assert!(
            location["region"]["startLine"].as_u64().unwrap() >= 1,
            "{r}"
        );
    }
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "unknown-field")
        .expect("unknown-field result");
    let location = &r["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "proj/project.yaml");
    assert_eq!(location["region"]["startLine"], 7);
    assert_eq!(location["region"]["startColumn"], 1);
}

/// `plan --emit FILE` leaves FILE alone when there are errors and writes it when there are none.
#[test]
fn emit_file_is_written_only_on_success() {
    for yaml in [UNKNOWN_FIELD, RENDER_ERROR] {
        let dir = project(yaml);
        let file = dir.path().join("requests.ndjson");
        std::fs::write(&file, "old").unwrap();
        let output = run(waform_in(dir.path()).args(["plan", "proj", "--emit", "requests.ndjson"]));
        assert_code(&output, 1);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");

        std::fs::remove_file(&file).unwrap();
        let output = run(waform_in(dir.path()).args(["plan", "proj", "--emit", "requests.ndjson"]));
        assert_code(&output, 1);
        assert!(!file.exists(), "a failing plan must not create FILE");
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.ndjson");
    std::fs::write(&file, "old").unwrap();
    let output = run(waform()
        .args(["plan", "campaigns/demo", "--emit"])
        .arg(&file));
    assert_code(&output, 0);
    let written = std::fs::read_to_string(&file).unwrap();
    let stdout_emit = run(waform().args(["plan", "campaigns/demo", "--emit", "-"]));
    assert!(
        written.as_bytes() == stdout_emit.stdout,
        "FILE holds the same NDJSON as --emit -"
    );
    assert_eq!(written.lines().count(), 40);
    assert!(stdout(&output).contains("Plan: 78 messages in 40 requests"));
}

/// Secrets read from the environment never appear in any output of validate or plan.
#[test]
fn env_secrets_are_never_printed() {
    const SECRETS: [(&str, &str); 3] = [
        ("ALDEAMO_API_KEY", "sekrit-aldeamo-123"),
        ("ALDEAMO_USER_ID", "sekrit-user-456"),
        ("MAYTEN_TOKEN", "sekrit-token-789"),
    ];
    let broken = project(RENDER_ERROR);
    let emit_dir = tempfile::tempdir().unwrap();
    let emit_file = emit_dir.path().join("requests.ndjson");
    for format in FORMATS {
        let runs: [(&Path, Vec<&str>); 6] = [
            (root(), vec!["validate", "campaigns/demo"]),
            (root(), vec!["plan", "campaigns/demo"]),
            (root(), vec!["plan", "campaigns/demo", "--emit", "-"]),
            (
                root(),
                vec![
                    "plan",
                    "campaigns/demo",
                    "--emit",
                    emit_file.to_str().unwrap(),
                ],
            ),
            (broken.path(), vec!["validate", "proj"]),
            (broken.path(), vec!["plan", "proj", "--emit", "-"]),
        ];
        for (dir, args) in runs {
            let mut cmd = waform_in(dir);
            cmd.args(&args).args(["--format", format]);
            for (name, value) in SECRETS {
                cmd.env(name, value);
            }
            let output = run(&mut cmd);
            let mut all = stdout(&output) + &stderr(&output);
            if args.last() == emit_file.to_str().as_ref() {
                assert_code(&output, 0);
                all += &std::fs::read_to_string(&emit_file).unwrap();
                std::fs::remove_file(&emit_file).unwrap();
            }
            for (name, value) in SECRETS {
                assert!(
                    !all.contains(value),
                    "{args:?} --format {format} printed ${name}:\n{all}"
                );
            }
        }
    }
}

/// A literal `api_key` in YAML is a literal-secret error whose value is printed nowhere.
#[test]
fn literal_secret_is_an_error_and_is_not_echoed() {
    let dir = project(LITERAL_SECRET);
    for format in FORMATS {
        for args in [
            &["validate", "proj"][..],
            &["plan", "proj"],
            &["plan", "proj", "--emit", "-"],
        ] {
            let output = run(waform_in(dir.path()).args(args).args(["--format", format]));
            assert_code(&output, 1);
            let all = stdout(&output) + &stderr(&output);
            assert!(all.contains("literal-secret"), "{args:?} {format}:\n{all}");
            assert!(
                !all.contains("abc123secret"),
                "{args:?} --format {format} echoed the secret:\n{all}"
            );
        }
    }
    let output = run(waform_in(dir.path()).args(["validate", "--format", "json", "proj"]));
    let report: Value = serde_json::from_str(&stderr(&output)).unwrap();
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "literal-secret");
    assert_eq!(d["file"], "proj/project.yaml");
    assert_eq!(d["line"], 5);
}

/// The plan of the demo (summary and previews on stdout) is pinned by a snapshot.
#[test]
fn plan_demo_snapshot() {
    let output = run(waform().args(["plan", "campaigns/demo"]));
    assert_code(&output, 0);
    insta::assert_snapshot!("plan_demo", stdout(&output));
}

/// `-q` prints nothing on a clean run; `-v` adds per-campaign counts and timing.
#[test]
fn quiet_and_verbose() {
    let quiet = run(waform().args(["-q", "validate", "campaigns/demo"]));
    assert_code(&quiet, 0);
    assert!(stderr(&quiet).is_empty() && stdout(&quiet).is_empty());
    let verbose = run(waform().args(["-v", "validate", "campaigns/demo"]));
    assert_code(&verbose, 0);
    assert!(stderr(&verbose).contains("campaign reminders-aldeamo: 40 rows read"));
    assert!(stderr(&verbose).contains("took "));
    let quiet_plan = run(waform().args(["-q", "plan", "campaigns/demo"]));
    assert_code(&quiet_plan, 0);
    assert!(stdout(&quiet_plan).is_empty());
}

/// Colours follow `--color` and `NO_COLOR`; output to a pipe has none by default.
#[test]
fn colours_follow_the_terminal_and_no_color() {
    let dir = project(UNKNOWN_FIELD);
    let piped = run(waform_in(dir.path()).args(["validate", "proj"]));
    assert!(
        !stderr(&piped).contains('\u{1b}'),
        "no escape codes on a pipe"
    );
    let forced = run(waform_in(dir.path()).args(["--color", "always", "validate", "proj"]));
    assert!(
        stderr(&forced).contains('\u{1b}'),
        "escape codes when forced"
    );
    let no_color = run(waform_in(dir.path())
        .env("NO_COLOR", "1")
        .args(["validate", "proj"]));
    assert!(!stderr(&no_color).contains('\u{1b}'));
}

/// SARIF output validates against the SARIF 2.1.0 JSON Schema (vendored from the MIT-licensed
/// `@microsoft/jest-sarif` package, with its one malformed `language` pattern corrected as in
/// the final 2.1.0 schema).
#[test]
fn sarif_validates_against_its_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sarif-2.1.0-rtm.5.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    for yaml in [UNKNOWN_FIELD, RENDER_ERROR, LITERAL_SECRET] {
        let dir = project(yaml);
        let out = run(waform_in(dir.path()).args(["--format", "sarif", "validate", "proj"]));
        let sarif: Value = serde_json::from_str(&stderr(&out)).expect("SARIF is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

/// A project of 1,500 CSV rows for both providers, over several batches: repeated numbers and
/// tracking numbers, and with `errors` some bad numbers and amounts.
fn many_rows_project(errors: bool) -> tempfile::TempDir {
    let yaml = "\
kind: Sender
name: aldeamo-co
provider: aldeamo
from: \"573001112233\"
api_key: { env: ALDEAMO_API_KEY }
user_id: { env: ALDEAMO_USER_ID }
---
kind: Sender
name: mayten-ar
provider: mayten
source_id: 5
token: { env: MAYTEN_TOKEN }
batch_size: 100
---
kind: Template
name: reminder
language: [es]
body: \"Hola {{1}}, debes {{2}}.\"
params: [text, currency]
providers:
  aldeamo: { namespace: ns_1 }
  mayten: { hsm_id: 10 }
---
kind: Campaign
name: remind-co
sender: aldeamo-co
template: reminder
recipients: { csv: people.csv }
to: \"{{ phone }}\"
body:
  - \"{{ name | replace('_', ' ') | title }}\"
  - currency: { amount: \"{{ amount }}\", code: COP }
---
kind: Campaign
name: remind-ar
sender: mayten-ar
template: reminder
recipients: { csv: people.csv }
to: \"{{ phone }}\"
tracking_number: \"{{ order }}\"
body:
  - \"{{ name }}\"
  - currency: { amount: \"{{ amount }}\", code: ARS }
";
    let mut csv = String::from("phone,name,amount,order\n");
    for i in 0..1500u64 {
        let phone = match i % 97 {
            0 if errors => "12345".to_owned(),
            2 => format!("5731012{:05}", (i - 1) % 100_000),
            _ => format!("5731012{:05}", i % 100_000),
        };
        let amount = if errors && i % 211 == 5 {
            "12x".to_owned()
        } else {
            format!("{}.50", 1000 + i)
        };
        let order = if i % 113 == 7 {
            "ORD-1".to_owned()
        } else {
            format!("ORD-{i}")
        };
        csv.push_str(&format!("{phone},ana_maría_{i},{amount},{order}\n"));
    }
    let dir = project(yaml);
    std::fs::write(dir.path().join("proj/people.csv"), csv).unwrap();
    dir
}

/// `plan` prints, emits and reports the same bytes whatever the number of threads (`-j`).
#[test]
fn output_does_not_depend_on_jobs() {
    for errors in [false, true] {
        let dir = many_rows_project(errors);
        let mut runs = Vec::new();
        for jobs in ["1", "2", "5"] {
            let file = format!("requests-{jobs}.ndjson");
            let output = run(waform_in(dir.path())
                .env("ALDEAMO_API_KEY", "k")
                .env("ALDEAMO_USER_ID", "u")
                .env("MAYTEN_TOKEN", "t")
                .args([
                    "--color", "never", "-j", jobs, "plan", "proj", "--emit", &file,
                ]));
            let emitted = std::fs::read_to_string(dir.path().join(&file)).unwrap_or_default();
            runs.push((output, emitted));
        }
        let (first, first_emitted) = &runs[0];
        assert_code(first, i32::from(errors));
        let diagnostics = stderr(first);
        assert!(diagnostics.contains("duplicate-recipient"), "{diagnostics}");
        assert!(diagnostics.contains("tracking-number"));
        if errors {
            assert!(diagnostics.contains("invalid-phone"));
            assert!(diagnostics.contains("invalid-amount"));
        } else {
            // 1,500 rows less 16 repeated numbers: 1,484 Aldeamo requests, and 15 Mayten
            // requests of up to 100.
            assert_eq!(first_emitted.lines().count(), 1484 + 15);
        }
        for (output, emitted) in &runs[1..] {
            assert_eq!(stdout(output), stdout(first));
            assert_eq!(stderr(output), stderr(first));
            assert!(emitted == first_emitted, "the emitted requests differ");
        }
    }
}

/// A repeated tracking number is named in its warning even when the row fails later on.
#[test]
fn repeated_tracking_number_is_named_on_a_failing_row() {
    let dir = project(
        "\
kind: Sender
name: mayten-ar
provider: mayten
source_id: 5
token: { env: MAYTEN_TOKEN }
---
kind: Template
name: reminder
language: [es]
body: \"Hola {{1}}\"
params: [text]
providers:
  mayten: { hsm_id: 10 }
---
kind: Campaign
name: remind-ar
sender: mayten-ar
template: reminder
recipients: { csv: people.csv }
to: \"{{ phone }}\"
tracking_number: \"{{ order }}\"
body: [\"{{ count | int }}\"]
",
    );
    std::fs::write(
        dir.path().join("proj/people.csv"),
        "phone,count,order\n5493516723999,1,ORD-1\n5493516724000,x,ORD-1\n",
    )
    .unwrap();
    let output = run(waform_in(dir.path())
        .env("MAYTEN_TOKEN", "t")
        .args(["--color", "never", "validate", "proj"]));
    assert_code(&output, 1);
    let diagnostics = stderr(&output);
    assert!(diagnostics.contains("render-error"), "{diagnostics}");
    assert!(
        diagnostics.contains("tracking number `ORD-1` repeats an earlier one"),
        "{diagnostics}"
    );
}

//! Every diagnostic code has a failing fixture under `tests/fixtures/diagnostics/`, checked
//! through the real binary for its code, file, line, column and exit code; the human output
//! of a few representative fixtures is snapshotted.
//!
//! A fixture is a folder holding a small project and an `expected.json`:
//!
//! ```json
//! {"code":"unknown-field","file":"campaign.yaml","line":19,"column":1}
//! ```
//!
//! naming the first diagnostic with that code that must appear (`file` relative to the
//! folder). The folder is named after the code (`unknown-field/`); extra fixtures for the same
//! code are named `CODE--what/` (`data-error--ragged-row/`). Optional fields:
//!
//! - `paths`: what to pass to `validate` instead of `.` (only `read-error/` needs it: a file
//!   that cannot be read cannot be committed to git, so it names a path that does not exist);
//! - `message_contains`: a text the diagnostic's message must contain;
//! - `stderr_excludes`: texts that must not appear anywhere in stderr (file contents);
//! - `max_seconds`: how long the run may take.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;
use waform::diagnostics::{Code, Severity};

/// Longest any fixture may run before it is killed (the alias bomb is the slowest).
const TIMEOUT: Duration = Duration::from_secs(120);

/// What a fixture must report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    code: String,
    file: String,
    line: u64,
    column: u64,
    paths: Option<Vec<String>>,
    message_contains: Option<String>,
    #[serde(default)]
    stderr_excludes: Vec<String>,
    max_seconds: Option<u64>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics")
}

/// The fixture folders, sorted by name.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/diagnostics is readable")
        .map(|entry| entry.expect("a readable folder entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_expected(name: &str) -> Result<Expected, String> {
    let path = fixtures_dir().join(name).join("expected.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn code_named(name: &str) -> Option<Code> {
    Code::ALL.iter().copied().find(|c| c.as_str() == name)
}

/// Run `waform ARGS` inside a folder; returns the exit code, stderr and how long it took.
fn run_in(dir: &Path, args: &[&str]) -> Result<(i32, String, Duration), String> {
    let started = Instant::now();
    let output = Command::cargo_bin("waform")
        .map_err(|e| e.to_string())?
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .map_err(|e| format!("running waform failed (timeout {TIMEOUT:?}?): {e}"))?;
    let code = output
        .status
        .code()
        .ok_or("waform was killed by a signal")?;
    Ok((
        code,
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    ))
}

/// Run one fixture and check it; returns what is wrong with it, if anything.
fn check_fixture(name: &str) -> Result<(), String> {
    let expected = read_expected(name)?;
    let code = code_named(&expected.code)
        .ok_or_else(|| format!("`{}` is not a diagnostic code", expected.code))?;
    let folder_code = name.split_once("--").map_or(name, |(code, _)| code);
    if folder_code != expected.code {
        return Err(format!(
            "the folder is named for `{folder_code}` but expects `{}`",
            expected.code
        ));
    }
    let mut args = vec!["--format", "json", "validate"];
    match &expected.paths {
        Some(paths) => args.extend(paths.iter().map(String::as_str)),
        None => args.push("."),
    }
    let (exit, stderr, elapsed) = run_in(&fixtures_dir().join(name), &args)?;
    let report: Value = serde_json::from_str(&stderr)
        .map_err(|e| format!("stderr is not one JSON document ({e}):\n{stderr}"))?;
    if report["version"] != 1 {
        return Err(format!("the report is not version 1:\n{stderr}"));
    }
    let diagnostics = report["diagnostics"]
        .as_array()
        .ok_or_else(|| format!("the report has no diagnostics array:\n{stderr}"))?;
    let found = diagnostics.iter().find(|d| {
        d["code"] == expected.code.as_str()
            && d["file"] == expected.file.as_str()
            && d["line"] == expected.line
            && d["column"] == expected.column
    });
    let Some(found) = found else {
        let same_code: Vec<String> = diagnostics
            .iter()
            .filter(|d| d["code"] == expected.code.as_str())
            .map(|d| format!("{}:{}:{}", d["file"], d["line"], d["column"]))
            .collect();
        return Err(format!(
            "no `{}` at {}:{}:{} (that code was reported at {same_code:?}):\n{stderr}",
            expected.code, expected.file, expected.line, expected.column
        ));
    };
    if found["severity"] != code.severity().to_string().as_str() {
        return Err(format!(
            "`{}` was reported as {} instead of {}",
            expected.code,
            found["severity"],
            code.severity()
        ));
    }
    if let Some(text) = &expected.message_contains {
        let message = found["message"].as_str().unwrap_or_default();
        if !message.contains(text.as_str()) {
            return Err(format!("the message {message:?} does not contain {text:?}"));
        }
    }
    for text in &expected.stderr_excludes {
        if stderr.contains(text.as_str()) {
            return Err(format!("stderr contains {text:?}:\n{stderr}"));
        }
    }
    let want_exit = if code.severity() == Severity::Error {
        1
    } else {
        0
    };
    if exit != want_exit {
        return Err(format!(
            "exit code {exit}, expected {want_exit} for a {}:\n{stderr}",
            code.severity()
        ));
    }
    if let Some(max) = expected.max_seconds
        && elapsed > Duration::from_secs(max)
    {
        return Err(format!("took {elapsed:?}, more than {max} s"));
    }
    Ok(())
}

/// Every fixture reports its code at its expected file, line and column, and exits as its severity implies.
#[test]
fn every_fixture_reports_its_code_at_its_place() {
    let names = fixture_names();
    assert!(!names.is_empty(), "no fixtures found");
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(problem) = check_fixture(name) {
                        let mut failures = failures.lock().unwrap_or_else(|e| e.into_inner());
                        failures.push(format!("{name}: {problem}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

/// Every code in `Code::ALL` has a fixture folder named after it that expects it.
#[test]
fn every_code_has_a_fixture() {
    let names = fixture_names();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !names.iter().any(|n| n == code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture folder in tests/fixtures/diagnostics/: {missing:?}"
    );
    for code in Code::ALL {
        let expected = read_expected(code.as_str()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            expected.code,
            code.as_str(),
            "fixture `{code}` expects another code"
        );
    }
}

/// YAML nested 1,000 block mappings deep is refused as `yaml-limit`, quickly, not by a stack overflow.
#[test]
fn deep_block_nesting_is_a_yaml_limit() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut text = String::from("kind: Sender\nname: deep\nprovider: aldeamo\nnested:\n");
    for depth in 1..=1000 {
        text.push_str(&"  ".repeat(depth));
        text.push_str("k:\n");
    }
    std::fs::write(dir.path().join("campaign.yaml"), &text).expect("the file is written");
    let (exit, stderr, elapsed) = run_in(dir.path(), &["--format", "json", "validate", "."])
        .unwrap_or_else(|e| panic!("{e}"));
    let report: Value = serde_json::from_str(&stderr).expect("stderr is one JSON document");
    let limit = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["code"] == "yaml-limit")
        .unwrap_or_else(|| panic!("no yaml-limit:\n{stderr}"));
    assert_eq!(limit["file"], "campaign.yaml");
    let line = limit["line"].as_u64().unwrap_or(0);
    assert!(
        (5..=1004).contains(&line),
        "the limit should be reported inside the nesting, not at line {line}"
    );
    assert_eq!(exit, 1);
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert!(
        !stderr.contains(&dir.path().display().to_string()),
        "the report names the absolute path:\n{stderr}"
    );
}

/// The human report (`--color never`) of one fixture, as a user reads it on stderr.
fn human(name: &str) -> String {
    let (_, stderr, _) = run_in(
        &fixtures_dir().join(name),
        &["--color", "never", "validate", "."],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let real = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for absolute in [root, real.as_path()] {
        assert!(
            !stderr.contains(&absolute.display().to_string()),
            "the report of `{name}` holds an absolute path:\n{stderr}"
        );
    }
    stderr
}

/// An unknown field is shown at its key with the field it most likely meant.
#[test]
fn human_unknown_field_suggests_the_field() {
    insta::assert_snapshot!("human_unknown_field", human("unknown-field"));
}

/// A parameter count mismatch is shown at `body` with the template's body as a label.
#[test]
fn human_param_count_shows_the_template() {
    insta::assert_snapshot!("human_param_count", human("param-count"));
}

/// An invalid phone number is shown at its CSV cell, with the campaign line that reads it.
#[test]
fn human_invalid_phone_points_into_the_csv() {
    insta::assert_snapshot!("human_invalid_phone", human("invalid-phone"));
}

/// An empty recipient key is shown at its CSV cell, with the campaign's `key` expression.
#[test]
fn human_invalid_key_points_into_the_csv() {
    insta::assert_snapshot!("human_invalid_key", human("invalid-key"));
}

/// A literal secret is shown at its value with how to read it from the environment instead.
#[test]
fn human_literal_secret_shows_the_fix() {
    insta::assert_snapshot!("human_literal_secret", human("literal-secret"));
}

/// A field that is not a CSV column is shown at the expression, with the CSV header row.
#[test]
fn human_render_error_shows_the_columns() {
    insta::assert_snapshot!("human_render_error", human("render-error"));
}

//! The generated documents in `docs/` are current: each equals what `waform::docs` produces
//! from the schema, the diagnostic codes and their fixtures (run with `WAFORM_UPDATE_DOCS=1`
//! to rewrite them). The CI examples (`.pre-commit-hooks.yaml`, `docs/github-actions.yml`)
//! parse and use only flags the command line has.

use std::path::Path;

use clap::Parser;
use serde_json::Value;
use waform::cli::Cli;

/// Compare a checked-in document with its generated text, or rewrite it when asked to.
fn check(relative: &str, generated: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("WAFORM_UPDATE_DOCS").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, generated).expect("the docs folder is writable");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{relative} is stale: regenerate it with `WAFORM_UPDATE_DOCS=1 cargo test --test docs` \
         and commit the result"
    );
}

/// `docs/reference.md` is the field reference generated from the current schema.
#[test]
fn reference_is_current() {
    check("docs/reference.md", &waform::docs::reference_markdown());
}

/// `docs/diagnostics.md` lists every diagnostic code with its current fixture as example.
#[test]
fn diagnostics_is_current() {
    check("docs/diagnostics.md", &waform::docs::diagnostics_markdown());
}

/// Parse a YAML file of the repository into JSON.
fn yaml(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path).expect("the file exists");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The waform command lines in a shell `run:` script: each line's command up to `||` or a
/// redirection, split into words.
fn waform_commands(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(|line| line.split("||").next().unwrap_or(""))
        .map(|command| {
            command
                .split_whitespace()
                .take_while(|word| !word.contains('>'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|words| words.first().is_some_and(|w| w == "waform"))
        .collect()
}

/// The pre-commit hook runs `waform validate` on the whole project when YAML or data changes.
#[test]
fn pre_commit_hook_is_well_formed() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hooks.as_array().map(Vec::len), Some(1));
    assert_eq!(hook["id"], "waform-validate");
    assert_eq!(hook["entry"], "waform validate");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["files"], r"\.(ya?ml|csv|ndjson)$");
    assert_eq!(hook["pass_filenames"], false);
    let entry = hook["entry"].as_str().expect("entry");
    assert!(Cli::try_parse_from(entry.split_whitespace()).is_ok());
}

/// Every `waform` command of the example workflow parses with the real command line, the
/// workflow runs on pull requests, and it uploads the plan and the SARIF file.
#[test]
fn github_workflow_uses_real_commands() {
    let workflow = yaml("docs/github-actions.yml");
    assert!(workflow["on"].get("pull_request").is_some(), "{workflow}");
    let steps: Vec<&Value> = workflow["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_array().expect("steps"))
        .collect();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    for action in [
        "actions/checkout@v4",
        "dtolnay/rust-toolchain@stable",
        "actions/upload-artifact@v4",
        "github/codeql-action/upload-sarif@v3",
    ] {
        assert!(uses.contains(&action), "{action} missing: {uses:?}");
    }
    let commands: Vec<Vec<String>> = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(waform_commands)
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    for command in &commands {
        if let Err(err) = Cli::try_parse_from(command) {
            panic!("`{}` does not parse: {err}", command.join(" "));
        }
    }
    let artifact = steps
        .iter()
        .find(|s| s["uses"] == "actions/upload-artifact@v4")
        .expect("an upload step");
    let uploaded = artifact["with"]["path"].as_str().expect("path");
    assert!(uploaded.contains("plan.ndjson") && uploaded.contains("plan.json"));
}

//! `waform init`: the scaffold it writes validates and plans clean with the real compiler,
//! and it never overwrites a file (a second run lists what exists and changes nothing).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use assert_cmd::Command;
use serde_json::Value;

/// The scaffold's files, relative to the project folder, in the order `init` reports them.
const FILES: [&str; 6] = [
    "senders.yaml",
    "templates.yaml",
    "campaigns.yaml",
    "data/recipients.csv",
    ".gitignore",
    "README.md",
];

/// Run `waform ARGS` in `dir`; returns the exit code, stdout and stderr.
fn waform(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("waform")
        .expect("the waform binary is built")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ALDEAMO_API_KEY")
        .env_remove("ALDEAMO_USER_ID")
        .env_remove("MAYTEN_TOKEN")
        .args(args)
        .output()
        .expect("waform runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file of the project with its contents and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let meta = std::fs::metadata(&path).expect("metadata");
                let bytes = std::fs::read(&path).expect("readable file");
                out.push((path, bytes, meta.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}

/// `waform init DIR` lists every file it created, and the project validates with no
/// diagnostic at all and plans with exit code 0.
#[test]
fn init_then_validate_and_plan_clean() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = waform(tmp.path(), &["init", "proj"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for file in FILES {
        assert!(
            stdout.contains(&format!("created proj/{file}\n")),
            "`created proj/{file}` missing from:\n{stdout}"
        );
        assert!(tmp.path().join("proj").join(file).is_file(), "{file}");
    }
    assert!(!stdout.contains("exists, left untouched"), "{stdout}");

    let (code, stdout, stderr) = waform(tmp.path(), &["validate", "--format", "json", "proj"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report: Value = serde_json::from_str(stderr.trim()).expect("one JSON document on stderr");
    assert_eq!(report["summary"]["errors"], 0, "{stderr}");
    assert_eq!(report["summary"]["warnings"], 0, "{stderr}");
    assert_eq!(report["diagnostics"], Value::Array(Vec::new()), "{stderr}");

    let (code, stdout, stderr) = waform(tmp.path(), &["plan", "proj"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("order-shipped-aldeamo"), "{stdout}");
    assert!(stdout.contains("order-shipped-mayten"), "{stdout}");
}

/// The scaffold's only test sender is Aldeamo's; its Mayten sender, which can only send for
/// real, is named for its account, not `test`, and plans as `mayten production`.
#[test]
fn scaffold_calls_only_aldeamo_a_test_sender() {
    let tmp = tempfile::tempdir().expect("tempdir");
    waform::init::init(&tmp.path().join("proj")).expect("init");
    let senders = std::fs::read_to_string(tmp.path().join("proj/senders.yaml")).expect("read");
    assert_eq!(senders.matches("environment: test").count(), 1, "{senders}");
    assert!(!senders.contains("mayten-test"), "{senders}");
    assert!(senders.contains("every send through this sender is a real message"));
    let (code, stdout, stderr) = waform(tmp.path(), &["plan", "proj"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(
        stdout.contains("(sender mayten-ar · mayten production · template order_shipped)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(sender aldeamo-test · aldeamo test · template order_shipped)"),
        "{stdout}"
    );
}

/// The planned requests: five Aldeamo messages (one per recipient) and one Mayten request
/// holding the five destinations, with no secret in them.
#[test]
fn scaffold_plans_one_request_per_aldeamo_message_and_one_mayten_batch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    waform::init::init(&tmp.path().join("proj")).expect("init");
    let (code, stdout, stderr) = waform(tmp.path(), &["plan", "proj", "--emit", "-", "-q"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    let requests: Vec<Value> = stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("an NDJSON line"))
        .collect();
    let count = |sender: &str| requests.iter().filter(|r| r["sender"] == sender).count();
    assert_eq!(count("aldeamo-test"), 5, "{stdout}");
    assert_eq!(count("mayten-ar"), 1, "{stdout}");
}

/// Running `waform init` twice lists every file as existing, creates nothing and leaves every
/// file (including one the user edited) byte for byte and time for time as it was.
#[test]
fn init_twice_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = waform(tmp.path(), &["init", "proj"]);
    assert_eq!(code, 0, "{stderr}");
    let edited = tmp.path().join("proj/senders.yaml");
    std::fs::write(&edited, "# mine\n").expect("edit a file");
    let before = snapshot(&tmp.path().join("proj"));

    let (code, stdout, stderr) = waform(tmp.path(), &["init", "proj"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for file in FILES {
        assert!(
            stdout.contains(&format!("exists, left untouched: proj/{file}\n")),
            "`exists, left untouched: proj/{file}` missing from:\n{stdout}"
        );
    }
    assert!(!stdout.contains("created "), "{stdout}");
    assert_eq!(snapshot(&tmp.path().join("proj")), before);
    assert_eq!(std::fs::read_to_string(&edited).expect("read"), "# mine\n");
}

/// Through the library: files already there are reported as existing and kept; the rest
/// are created, and no temporary file is left behind.
#[test]
fn init_fills_in_only_missing_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("proj");
    std::fs::create_dir_all(dir.join("data")).expect("mkdir");
    std::fs::write(dir.join("README.md"), "my readme\n").expect("write");
    std::fs::write(dir.join("data/recipients.csv"), "phone\n").expect("write");

    let report = waform::init::init(&dir).expect("init");
    assert_eq!(
        report.existing,
        vec![dir.join("data/recipients.csv"), dir.join("README.md")]
    );
    let created: Vec<PathBuf> = FILES
        .iter()
        .filter(|f| !matches!(**f, "README.md" | "data/recipients.csv"))
        .map(|f| dir.join(f))
        .collect();
    assert_eq!(report.created, created);
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).expect("read"),
        "my readme\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("data/recipients.csv")).expect("read"),
        "phone\n"
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".gitignore",
            "README.md",
            "campaigns.yaml",
            "data",
            "senders.yaml",
            "templates.yaml"
        ]
    );
}

/// Every YAML file starts with the schema line, and `.gitignore` keeps `.waform/` out of git.
#[test]
fn yaml_files_name_the_schema_and_gitignore_keeps_the_journal_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    waform::init::init(tmp.path()).expect("init");
    let first_line = format!(
        "# yaml-language-server: $schema={}\n",
        waform::schema::SCHEMA_ID
    );
    for file in FILES.iter().filter(|f| f.ends_with(".yaml")) {
        let text = std::fs::read_to_string(tmp.path().join(file)).expect("read");
        assert!(text.starts_with(&first_line), "{file}:\n{text}");
    }
    let gitignore = std::fs::read_to_string(tmp.path().join(".gitignore")).expect("read");
    assert!(
        gitignore.lines().any(|line| line == ".waform/"),
        "{gitignore}"
    );
}

/// A dangling symlink where a file would go counts as existing: nothing is written through it.
#[cfg(unix)]
#[test]
fn dangling_symlink_is_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("elsewhere.yaml");
    std::os::unix::fs::symlink(&target, tmp.path().join("senders.yaml")).expect("symlink");
    let report = waform::init::init(tmp.path()).expect("init");
    assert_eq!(report.existing, vec![tmp.path().join("senders.yaml")]);
    assert!(!target.exists(), "init wrote through a symlink");
}

//! Hostile and random input: waform answers with diagnostics, never a panic, a hang or a leak.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use waform::compile;
use waform::diagnostics::{Code, Diagnostics, Sources};

const PROJECT: &str = r#"kind: Sender
name: s
provider: aldeamo
from: "573001112233"
api_key: { env: KEY }
user_id: { env: KEY }
---
kind: Template
name: t
language: [es, en]
header: { type: image }
body: "Hola {{1}}, pagas {{2}} el {{3}}."
params: [text, currency, date_time]
buttons:
  - { type: url, text: Ver, url: "https://x.example/o/{{1}}" }
  - { type: quick_reply, text: Ok }
providers: { aldeamo: { namespace: ns } }
---
kind: Campaign
name: c
sender: s
template: t
language: "{{ lang }}"
recipients: { csv: d.csv }
where: "amount | float > 0"
header: { image: "https://cdn.example/p.png" }
body:
  - "{{ name | title }}"
  - currency: { amount: "{{ amount }}", code: "{{ cur }}" }
  - date_time: "{{ due }}"
buttons: ["{{ id }}", { payload: "p-{{ id }}" }]
"#;

const CSV: &str = "phone,name,amount,cur,due,id,lang\n573001234567,ana,10.50,COP,2026-12-01,A1,es\n5493516723999,BEA,1,ARS,2027-02-28T10:30,B2,en\n";

/// Load, validate and render everything under `dir` in-process; returns the codes reported.
fn compile_dir(dir: &Path) -> Vec<Code> {
    let mut sources = Sources::default();
    let mut diags = Diagnostics::new();
    let loaded = compile::load(&[dir.to_path_buf()], &mut sources, &mut diags);
    if !diags.has_errors() {
        compile::run(
            &loaded,
            waform::compile::RunOptions {
                jobs: 2,
                keep: waform::compile::Keep::Encoded,
            },
            &mut sources,
            &mut diags,
            &mut |_| true,
        );
    }
    let mut out = Vec::new();
    let _ = waform::report::write_report(
        &diags,
        &sources,
        waform::report::Format::Human,
        &waform::report::RenderOptions::default(),
        &mut out,
    );
    diags.sorted().iter().map(|d| d.code).collect()
}

fn write(dir: &Path, yaml: &[u8], csv: &[u8]) -> PathBuf {
    std::fs::write(dir.join("p.yaml"), yaml).expect("yaml");
    std::fs::write(dir.join("d.csv"), csv).expect("csv");
    dir.to_path_buf()
}

fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, op, byte) in edits {
        if out.is_empty() {
            break;
        }
        let at = at % out.len();
        match op % 3 {
            0 => out[at] = *byte,
            1 => out.insert(at, *byte),
            _ => {
                out.remove(at);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("WAFORM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// Random edits of a valid project's YAML and CSV bytes give diagnostics, never a panic.
    #[test]
    fn mutated_projects_never_panic(
        yaml_edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..12),
        csv_edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..12),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), &mutate(PROJECT.as_bytes(), &yaml_edits), &mutate(CSV.as_bytes(), &csv_edits));
        compile_dir(&path);
    }

    /// Arbitrary bytes as YAML and as CSV give diagnostics, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        yaml in prop::collection::vec(any::<u8>(), 0..400),
        csv in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = PROJECT.as_bytes().to_vec();
        text.extend_from_slice(b"\n---\n");
        text.extend_from_slice(&yaml);
        let path = write(dir.path(), &text, &csv);
        compile_dir(&path);
    }
}

/// The unmutated fuzz base compiles clean, so that mutations start from a valid project.
#[test]
fn fuzz_base_is_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let codes = compile_dir(&write(dir.path(), PROJECT.as_bytes(), CSV.as_bytes()));
    assert!(codes.is_empty(), "{codes:?}");
}

/// A 100 MB YAML file is refused by its size, without being read.
#[test]
fn huge_yaml_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = std::fs::File::create(dir.path().join("big.yaml")).expect("create");
    file.set_len(100 * 1024 * 1024).expect("sparse 100 MB");
    let codes = compile_dir(dir.path());
    assert_eq!(codes, vec![Code::YamlLimit]);
}

/// A YAML line of 10 MB is read and reported on, not a crash.
#[test]
fn ten_megabyte_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "x".repeat(10 * 1024 * 1024);
    let yaml = PROJECT.replace("Hola {{1}}, pagas", &format!("{long} {{{{1}}}}, pagas"));
    let codes = compile_dir(&write(dir.path(), yaml.as_bytes(), CSV.as_bytes()));
    assert!(codes.contains(&Code::InvalidTemplate), "{codes:?}");
}

/// A CSV with NUL bytes is reported at its row.
#[test]
fn csv_with_nul_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = CSV.replace("ana", "a\0na");
    let codes = compile_dir(&write(dir.path(), PROJECT.as_bytes(), csv.as_bytes()));
    assert_eq!(codes, vec![Code::DataError]);
}

/// A CSV cell of 10 MB is rendered and reported as too long, not a crash.
#[test]
fn ten_megabyte_csv_cell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = CSV.replace("ana", &"a".repeat(10 * 1024 * 1024));
    let codes = compile_dir(&write(dir.path(), PROJECT.as_bytes(), csv.as_bytes()));
    assert!(codes.contains(&Code::ParamTooLong), "{codes:?}");
}

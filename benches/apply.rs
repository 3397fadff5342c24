//! `cargo bench --bench apply`: messages per second that `waform apply` sustains against the
//! sandbox on loopback (Aldeamo: one request per message; Mayten: batches), and how closely it
//! holds a configured rate (the highest count in any one-second window).
//!
//! Sizes can be set with `APPLY_BENCH_ALDEAMO`, `APPLY_BENCH_MAYTEN` and `APPLY_BENCH_RATED`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use waform::sandbox::{Faults, Sandbox, SandboxConfig};

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn project(dir: &Path, provider: &str, n: usize, extra: &str) {
    let sender = match provider {
        "aldeamo" => {
            "kind: Sender\nname: s\nprovider: aldeamo\nfrom: \"573001112233\"\napi_key: { env: BENCH_KEY }\nuser_id: { env: BENCH_KEY }\n"
        }
        _ => {
            "kind: Sender\nname: s\nprovider: mayten\nsource_id: 5\nbatch_size: 500\ntoken: { env: BENCH_KEY }\n"
        }
    };
    let yaml = format!(
        "{sender}{extra}---\nkind: Template\nname: t\nlanguage: es\nbody: \"Hola {{{{1}}}}\"\nproviders:\n  aldeamo: {{ namespace: ns }}\n  mayten: {{ hsm_id: 10 }}\n---\nkind: Campaign\nname: c\nsender: s\ntemplate: t\nrecipients: {{ csv: r.csv }}\ntracking_number: \"{{{{ phone }}}}\"\nbody: [\"{{{{ name }}}}\"]\n"
    );
    let yaml = if provider == "aldeamo" {
        yaml.replace("tracking_number: \"{{ phone }}\"\n", "")
    } else {
        yaml
    };
    std::fs::write(dir.join("b.yaml"), yaml).expect("yaml");
    let mut csv = String::from("phone,name\n");
    for i in 0..n {
        csv.push_str(&format!("57300{:07},Ana\n", 1_000_000 + i));
    }
    std::fs::write(dir.join("r.csv"), csv).expect("csv");
}

fn apply(dir: &Path, url: &str, args: &[&str]) -> f64 {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_waform"))
        .current_dir(dir)
        .env("BENCH_KEY", "k")
        .args(["apply", ".", "--quiet", "--endpoint"])
        .arg(format!("s={url}"))
        .args(args)
        .status()
        .expect("waform");
    assert!(status.success(), "apply failed");
    start.elapsed().as_secs_f64()
}

fn max_in_one_second(times_ms: &mut [f64]) -> usize {
    times_ms.sort_by(f64::total_cmp);
    let mut best = 0;
    let mut j = 0;
    for i in 0..times_ms.len() {
        while times_ms[i] - times_ms[j] >= 1000.0 {
            j += 1;
        }
        best = best.max(i - j + 1);
    }
    best
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = SandboxConfig {
        faults: Faults::default(),
        ..SandboxConfig::default()
    };
    let sandbox = runtime
        .block_on(Sandbox::start(0, config))
        .expect("sandbox");
    let url = sandbox.url();

    let n = size("APPLY_BENCH_ALDEAMO", 20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), "aldeamo", n, "");
    let secs = apply(dir.path(), &url, &["--concurrency", "64"]);
    println!(
        "aldeamo  {n:>8} messages  {secs:>7.2} s  {:>9.0} messages/s  (concurrency 64, one request each)",
        n as f64 / secs
    );

    let n = size("APPLY_BENCH_MAYTEN", 200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), "mayten", n, "");
    let secs = apply(dir.path(), &url, &["--concurrency", "8"]);
    println!(
        "mayten   {n:>8} messages  {secs:>7.2} s  {:>9.0} messages/s  (batches of 500, concurrency 8)",
        n as f64 / secs
    );

    let n = size("APPLY_BENCH_RATED", 1_000);
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), "aldeamo", n, "");
    let before = sandbox.received().len();
    let secs = apply(
        dir.path(),
        &url,
        &["--concurrency", "64", "--rate", "100/s"],
    );
    let mut times: Vec<f64> = sandbox.received()[before..]
        .iter()
        .map(|r| r.at_ms)
        .collect();
    let peak = max_in_one_second(&mut times);
    println!(
        "rated    {n:>8} messages  {secs:>7.2} s  {:>9.1} messages/s  rate 100/s: busiest one-second window {peak}",
        n as f64 / secs
    );
    runtime.block_on(sandbox.shutdown());
}

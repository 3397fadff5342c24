//! Generated files that are checked in: completions and the man page stay current.

use clap_complete::Shell;

fn check(path: &str, generated: &str) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("WAFORM_UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, generated).expect("write");
    }
    let current = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        current == generated,
        "{path} is stale: run WAFORM_UPDATE_GENERATED=1 cargo test --test generated"
    );
}

/// The checked-in shell completions are what `waform completions SHELL` prints.
#[test]
fn completions_are_current() {
    for (shell, file) in [
        (Shell::Bash, "completions/waform.bash"),
        (Shell::Zsh, "completions/_waform"),
        (Shell::Fish, "completions/waform.fish"),
        (Shell::PowerShell, "completions/_waform.ps1"),
        (Shell::Elvish, "completions/waform.elv"),
    ] {
        check(file, &waform::cli::completions(shell));
    }
}

/// The checked-in man page is what `waform man` prints.
#[test]
fn man_page_is_current() {
    check("man/waform.1", &waform::cli::man_page());
}

/// `waform completions bash` prints the same script as the library.
#[test]
fn completions_command_prints_the_script() {
    let out = assert_cmd::Command::cargo_bin("waform")
        .expect("binary")
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        waform::cli::completions(Shell::Bash)
    );
}

//! Placeholder until the scaffold lands.
use std::path::{Path, PathBuf};
/// What init did.
pub struct InitReport {
    /// Files written.
    pub created: Vec<PathBuf>,
    /// Files that existed.
    pub existing: Vec<PathBuf>,
}
/// Scaffold a project.
pub fn init(_dir: &Path) -> std::io::Result<InitReport> {
    Ok(InitReport {
        created: Vec::new(),
        existing: Vec::new(),
    })
}

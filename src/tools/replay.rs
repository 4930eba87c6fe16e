//! `skyindex replay`: serve a capture file as a subscribeRepos endpoint (being written).

use std::sync::atomic::AtomicBool;

use crate::cli::ReplayArgs;

pub fn serve(args: &ReplayArgs, _stop: &AtomicBool) -> Result<(), String> {
    Err(format!(
        "replay {}: not implemented yet",
        args.file.display()
    ))
}

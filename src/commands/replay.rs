//! `skyindex replay`: serve a capture file as a relay until a signal.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use log::info;

use super::CommandError;
use crate::cli::ReplayArgs;
use crate::replay::{Recording, ReplayOptions, ReplayServer};

pub fn run(args: &ReplayArgs) -> Result<ExitCode, CommandError> {
    let stop = crate::shutdown::install().map_err(CommandError::Signals)?;
    let recording = Arc::new(Recording::load(&args.file)?);
    let listener = TcpListener::bind(&args.listen).map_err(|source| CommandError::Listen {
        addr: args.listen.clone(),
        source,
    })?;
    let options = ReplayOptions {
        rate: args.rate,
        ..ReplayOptions::default()
    };
    let seqs = match (recording.first_seq(), recording.max_seq()) {
        (Some(first), Some(last)) => format!("seq {first}..{last}"),
        _ => "no seqs".to_owned(),
    };
    let mut server =
        ReplayServer::start(listener, recording.clone(), options).map_err(CommandError::Replay)?;
    info!(
        "replay: serving {} frames ({seqs}) of {} at {}/xrpc/com.atproto.sync.subscribeRepos",
        recording.len(),
        args.file.display(),
        server.url()
    );
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop();
    info!(
        "replay: stopped after {} connections, {} frames sent",
        server.connections(),
        server.frames_sent()
    );
    Ok(ExitCode::SUCCESS)
}

//! `skyindex capture`: record a relay to a capture file.

use std::process::ExitCode;

use super::CommandError;
use crate::cli::CaptureArgs;
use crate::config::parse_duration;
use crate::source::recorder::{self, Recording};
use crate::source::websocket;

pub fn run(args: &CaptureArgs) -> Result<ExitCode, CommandError> {
    let recording = Recording {
        endpoint: websocket::endpoint(&args.relay)?,
        out: args.out.clone(),
        cursor: args.cursor,
        max_frames: args.max_events,
        duration: args
            .duration
            .as_deref()
            .map(|d| parse_duration("--duration", d))
            .transpose()?,
    };
    // tungstenite's rustls needs a process-wide crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = crate::shutdown::install().map_err(CommandError::Signals)?;
    recorder::record(&recording, &stop)?;
    Ok(ExitCode::SUCCESS)
}

//! `skyindex capture`: record a relay to a capture file (being written).

use std::sync::atomic::AtomicBool;

use crate::cli::CaptureArgs;

pub fn run(args: &CaptureArgs, _stop: &AtomicBool) -> Result<(), String> {
    Err(format!(
        "capture {}: not implemented yet",
        args.out.display()
    ))
}

//! `skyindex inspect FILE`: a summary of a capture, or Jetstream-shaped JSON lines (being written).

use std::process::ExitCode;

use crate::cli::InspectArgs;

pub fn run(args: &InspectArgs) -> Result<ExitCode, String> {
    Err(format!(
        "inspect {}: not implemented yet",
        args.file.display()
    ))
}

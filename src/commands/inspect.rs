//! `skyindex inspect FILE [--json]`: the capture's summary or its JSON lines on stdout. A damaged
//! capture is reported with its byte offset, and the exit code is 1, so scripts notice.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use log::error;

use super::CommandError;
use crate::cli::InspectArgs;
use crate::inspect::{damage_offset, json_lines, summary};
use crate::source::capture::CaptureReader;

pub fn run(args: &InspectArgs) -> Result<ExitCode, CommandError> {
    let mut reader = CaptureReader::open(&args.file)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = if args.json {
        json_lines(&mut reader, &mut out)
    } else {
        summary(&args.file, &mut reader, &mut out)
    };
    let damage = match written.and_then(|damage| out.flush().map(|()| damage)) {
        Ok(damage) => damage,
        // The reader of our output went away (`| head`): what it wanted, it has.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(CommandError::Output(e)),
    };
    match damage {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            error!(
                "{}: {e}; everything before byte {} was read",
                args.file.display(),
                damage_offset(&e)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

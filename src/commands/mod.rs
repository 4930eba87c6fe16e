//! The commands, one thin file each over library code: parse what is left of the flags, call
//! the stage or the queries, print, and say how it went.

mod backfill;
mod capture;
mod error;
mod health;
mod inspect;
mod migrate;
mod replay;
mod resync;
mod run;
mod status;
mod track;

use std::process::ExitCode;

pub use error::CommandError;

use crate::cli::Command;

pub fn run(command: Command) -> Result<ExitCode, CommandError> {
    match command {
        Command::Run(args) => run::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Capture(args) => capture::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Health(args) => health::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Resync(args) => resync::run(&args),
        Command::Backfill(args) => backfill::run(&args),
        Command::Track(args) => track::run(&args),
    }
}

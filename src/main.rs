//! `skyindex`: parse the command line, set up logging, run the command, print the error chain
//! once and exit with the code it calls for.

use std::process::ExitCode;

use clap::Parser;
use skyindex::cli::Cli;
use skyindex::commands::{self, CommandError};
use skyindex::error_chain::chain;

// Events are decoded on one thread and freed on a writer's, by the million: glibc's allocator
// spent about a third of the writers' time there (BENCHMARKS.md, "Allocator").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logged = skyindex::logging::init(&cli.log_level, cli.log_file.as_deref());
    match logged
        .map_err(CommandError::from)
        .and_then(|()| commands::run(cli.command))
    {
        Ok(code) => code,
        Err(e) => {
            let message = chain(&e);
            log::error!("{message}");
            // The log may be a file, or not be set up at all: the terminal hears it too.
            if cli.log_file.is_some() || matches!(e, CommandError::Logging(_)) {
                eprintln!("skyindex: {message}");
            }
            e.exit_code()
        }
    }
}
